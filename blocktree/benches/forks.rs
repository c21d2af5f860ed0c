//! What following the root costs a data chain: after a root reorg every open data chain
//! re-checks the relay parents of its tip and scans its block index for a heavier branch that
//! may be best (`Chain::settle`), so the cost grows with the blocks the chain has stored.
//! Measured against the chain's length, beside building and importing one root block, in the
//! same run, on one in-process dev blocktree (memory store).
//!
//! `cargo bench --workspace --bench forks --profile dev`

use bitverse_blocktree::{
    Blocktree, ChainParams, Tracking, TxPayload, UnsignedTx, chain_of_keyspace,
};
use bitverse_primitives::{Amount, ChainId, Hash, SecretKey};
use criterion::{Criterion, criterion_main};

const START_MS: u64 = 1_800_000_000_000;

/// A dev blocktree whose depth-1 chain holds `blocks` empty blocks above genesis.
fn tree_with_data_chain(blocks: u64) -> (Blocktree, ChainId) {
    let tree = Blocktree::in_memory(ChainParams::dev(), Tracking::All).expect("blocktree");
    let alice = SecretKey::dev("alice");
    let price = tree
        .params()
        .depth(1)
        .expect("depth")
        .storage_price_per_byte;
    let buy = UnsignedTx {
        chain: ChainId::ROOT,
        sender: alice.account(),
        nonce: 0,
        fee: Amount(1),
        payload: TxPayload::BuyKeyspace {
            name: "fork".into(),
            owner: alice.account(),
            quota_bytes: 4096,
            prepaid: Amount(price.0 * 4096),
            script: None,
            depth: 1,
        },
    }
    .sign(&alice);
    tree.submit(buy).expect("buy");
    tree.seal_dev(alice.account(), START_MS).expect("seal");
    let chain = chain_of_keyspace("fork", 1).expect("chain");
    let data = tree.chain(chain).expect("open");
    for height in 1..=blocks {
        let mut data = data.lock();
        let root = tree.root().lock();
        data.produce_block_with(
            alice.account(),
            START_MS + height,
            true,
            u64::MAX,
            Some(&root),
            Vec::new(),
        )
        .expect("produce")
        .expect("block");
    }
    (tree, chain)
}

fn settle_after_root_reorg(c: &mut Criterion) {
    let mut group = c.benchmark_group("settle_after_root_reorg");
    group.sample_size(20);
    for blocks in [1_000u64, 10_000] {
        let (tree, chain) = tree_with_data_chain(blocks);
        assert_eq!(tree.chain(chain).expect("open").lock().tip().height, blocks);
        group.bench_function(format!("{blocks}_data_blocks"), |b| {
            // A previous tip the root never had reads as a reorg: the full settle.
            b.iter(|| tree.root_tip_moved(&Hash::ZERO).expect("settle"));
        });
    }
    group.finish();
}

fn root_block(c: &mut Criterion) {
    let (tree, _) = tree_with_data_chain(0);
    let miner = SecretKey::dev("miner").account();
    let mut time_ms = START_MS + 1_000;
    c.bench_function("root_block_built_and_imported", |b| {
        b.iter(|| {
            time_ms += 1;
            tree.root()
                .lock()
                .produce_block(miner, time_ms, true, u64::MAX)
                .expect("produce")
        });
    });
}

mod harness {
    criterion::criterion_group!(benches, super::settle_after_root_reorg, super::root_block);
}
criterion_main!(harness::benches);
