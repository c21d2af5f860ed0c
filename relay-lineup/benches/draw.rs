//! Benchmark of the relayer draw: a lineup of 3 from 10 000 staked relayers.

use bitverse_primitives::{AccountId, Amount, Hash};
use bitverse_relay_lineup::{RelayerCandidate, draw_lineup};
use criterion::{Criterion, criterion_main};

fn draw_from_ten_thousand(c: &mut Criterion) {
    let candidates: Vec<RelayerCandidate> = (0..10_000u32)
        .map(|i| RelayerCandidate {
            account: AccountId(Hash::digest(&i.to_le_bytes()).0),
            stake: Amount(1_000 + u128::from(i % 97) * 1_000_000),
            reputation_ppm: 500_000 + (i % 500_000),
        })
        .collect();
    let excluded = [candidates[0].account, candidates[1].account];
    let mut round = 0u64;
    c.bench_function("draw 3 of 10 000 relayers", |b| {
        b.iter(|| {
            round = round.wrapping_add(1);
            let seed = Hash::digest(&round.to_le_bytes());
            draw_lineup(&seed, &candidates, &excluded, 3)
        })
    });
    c.bench_function("draw 8 of 10 000 relayers", |b| {
        b.iter(|| {
            round = round.wrapping_add(1);
            let seed = Hash::digest(&round.to_le_bytes());
            draw_lineup(&seed, &candidates, &excluded, 8)
        })
    });
}

#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::draw_from_ten_thousand);
}

criterion_main!(harness::benches);
