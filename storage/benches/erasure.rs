//! Blob encode and decode throughput on a 100 MB file at 3-of-10 (docs/BENCHMARKS.md): encode
//! hashes the file and every shard and writes the ten shards to a sink; decode rebuilds the file
//! from recovery shards only (7, 8, 9: the worst case, every stripe through Reed-Solomon) and
//! from the three data shards (the best case, copying), checking every hash.

use std::io;

use bitverse_storage::{Shares, decode_blob, encode_blob};
use criterion::{Criterion, Throughput, criterion_main};

const FILE_BYTES: usize = 100_000_000;

fn file() -> Vec<u8> {
    let mut bytes = vec![0; FILE_BYTES];
    blake3::Hasher::new()
        .update(b"bench")
        .finalize_xof()
        .fill(&mut bytes);
    bytes
}

fn throughput(c: &mut Criterion) {
    let data = file();
    let shares = Shares::default();
    let mut group = c.benchmark_group("blob_100MB_3_of_10");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(FILE_BYTES as u64));
    group.bench_function("encode", |b| {
        b.iter(|| {
            let mut sinks: Vec<io::Sink> = (0..10).map(|_| io::sink()).collect();
            encode_blob(data.as_slice(), shares, &mut sinks).unwrap()
        })
    });
    let mut shards = vec![Vec::new(); 10];
    let manifest = encode_blob(data.as_slice(), shares, &mut shards).unwrap();
    let keep = |which: &[usize]| -> Vec<Option<&[u8]>> {
        (0..10)
            .map(|i| which.contains(&i).then(|| shards[i].as_slice()))
            .collect()
    };
    group.bench_function("decode_from_recovery_shards", |b| {
        b.iter(|| decode_blob(&manifest, keep(&[7, 8, 9]), io::sink()).unwrap())
    });
    group.bench_function("decode_from_data_shards", |b| {
        b.iter(|| decode_blob(&manifest, keep(&[0, 1, 2]), io::sink()).unwrap())
    });
    group.finish();
}

#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::throughput);
}
criterion_main!(harness::benches);
