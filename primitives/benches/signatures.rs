//! BIP-340 verification throughput on one core: the bound for signed writes.

use bitverse_primitives::{Hash, SecretKey};
use criterion::{Criterion, Throughput, criterion_main};

fn verify(c: &mut Criterion) {
    let key = SecretKey::dev("alice");
    let account = key.account();
    let messages: Vec<Hash> = (0u32..256)
        .map(|i| Hash::digest(&i.to_le_bytes()))
        .collect();
    let signatures: Vec<_> = messages.iter().map(|m| key.sign(m)).collect();
    let mut group = c.benchmark_group("bip340");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % messages.len();
            account.verify(&messages[i], &signatures[i]).is_ok()
        })
    });
    group.bench_function("sign", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % messages.len();
            key.sign(&messages[i])
        })
    });
    group.finish();
}

// criterion's macros generate undocumented public items.
#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::verify);
}
criterion_main!(harness::benches);
