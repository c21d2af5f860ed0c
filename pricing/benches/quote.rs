//! Benchmark of a quote over 10 000 staked relayers: every record decayed and estimated.

use bitverse_pricing::{
    EVENT_WEIGHT, LedgerParams, QuoteParams, QuoteRequest, ReliabilityRecord, StakedNode, quote,
};
use bitverse_primitives::{AccountId, Amount, Hash};
use criterion::{Criterion, criterion_main};

fn quote_over_ten_thousand(c: &mut Criterion) {
    let relayers: Vec<StakedNode> = (0..10_000u64)
        .map(|i| StakedNode {
            account: AccountId(Hash::digest(&i.to_le_bytes()).0),
            stake: Amount(1_000 + u128::from(i)),
            record: ReliabilityRecord {
                successes: (i % 300) * EVENT_WEIGHT,
                failures: (i % 7) * EVENT_WEIGHT,
                latency_ms_total: (i % 300) * 450,
                updated_at_height: i % 5_000,
            },
        })
        .collect();
    let request = QuoteRequest {
        height: 100_000,
        fuel_budget: 10_000_000,
        requester: AccountId([1; 32]),
        offerer: AccountId([2; 32]),
        offerer_record: ReliabilityRecord::default(),
        relayers: &relayers,
    };
    c.bench_function("quote over 10 000 relayers", |b| {
        b.iter(|| quote(&LedgerParams::DEFAULT, &QuoteParams::DEFAULT, &request))
    });
}

// criterion's macros generate undocumented public items.
#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::quote_over_ten_thousand);
}
criterion_main!(harness::benches);
