//! Tests of the read accessors that headers-first sync is built on: best-chain locators,
//! headers after a locator, headers and blocks by hash, and known-invalid branches; and a sync
//! in miniature between two chains that uses nothing else.

use bitverse_blocktree::{Block, Chain, ChainParams, ImportOutcome};
use bitverse_primitives::{AccountId, Hash, SecretKey};

fn miner(name: &str) -> AccountId {
    SecretKey::dev(name).account()
}

fn time(i: u64) -> u64 {
    ChainParams::dev().genesis_time_ms + i * 1_000
}

/// Produces `count` empty blocks on `chain`, paid to `who`, starting at time slot `first`.
fn extend(chain: &mut Chain, who: &str, first: u64, count: u64) -> Vec<Block> {
    (first..first + count)
        .map(|i| {
            chain
                .produce_block(miner(who), time(i), true, u64::MAX)
                .unwrap()
                .expect("difficulty 1 always seals")
        })
        .collect()
}

fn dev_chain() -> Chain {
    Chain::in_memory(ChainParams::dev()).unwrap()
}

#[test]
fn locator_of_a_fresh_chain_is_its_genesis() {
    let chain = dev_chain();
    assert_eq!(chain.best_chain_locator(64), vec![chain.genesis_hash()]);
    assert!(chain.best_chain_locator(0).is_empty());
}

#[test]
fn locator_is_dense_near_the_tip_sparse_below_and_ends_at_genesis() {
    let mut chain = dev_chain();
    extend(&mut chain, "miner", 1, 100);
    let locator = chain.best_chain_locator(64);
    let height = |hash: &Hash| chain.header_by_hash(hash).unwrap().height;
    let heights: Vec<u64> = locator.iter().map(height).collect();
    assert_eq!(&heights[..10], &[100, 99, 98, 97, 96, 95, 94, 93, 92, 91]);
    assert_eq!(heights.last(), Some(&0));
    assert!(heights.windows(2).all(|w| w[0] > w[1]), "{heights:?}");
    assert!(heights.len() < 20, "exponential steps: {heights:?}");
    for hash in &locator {
        let h = height(hash);
        assert_eq!(chain.header_at(h).unwrap().unwrap().hash(), *hash);
    }
}

#[test]
fn locator_keeps_tip_and_genesis_within_its_maximum() {
    let mut chain = dev_chain();
    extend(&mut chain, "miner", 1, 30);
    let tip = chain.tip().hash;
    assert_eq!(chain.best_chain_locator(2), vec![tip, chain.genesis_hash()]);
    assert_eq!(chain.best_chain_locator(1), vec![chain.genesis_hash()]);
    assert_eq!(chain.best_chain_locator(5).len(), 5);
}

#[test]
fn headers_after_locator_start_after_the_fork_point() {
    let mut long = dev_chain();
    let shared = extend(&mut long, "miner", 1, 40);
    extend(&mut long, "miner", 41, 60);
    let mut short = dev_chain();
    for block in &shared {
        short.import_block(block.clone(), time(200)).unwrap();
    }
    extend(&mut short, "alice", 41, 5);

    let headers = long.headers_after_locator(&short.best_chain_locator(64), 1000);
    assert_eq!(headers.len(), 60);
    assert_eq!(headers[0].height, 41);
    assert_eq!(headers[0].parent, shared[39].hash());
    assert!(headers.windows(2).all(|w| w[1].parent == w[0].hash()));
    assert_eq!(headers.last().unwrap().hash(), long.tip().hash);

    let capped = long.headers_after_locator(&short.best_chain_locator(64), 7);
    assert_eq!(capped.len(), 7);
    assert_eq!(capped[0].height, 41);
}

#[test]
fn headers_after_an_unknown_locator_start_after_genesis() {
    let mut chain = dev_chain();
    extend(&mut chain, "miner", 1, 5);
    let headers = chain.headers_after_locator(&[Hash::digest(b"nobody's block")], 100);
    assert_eq!(headers.len(), 5);
    assert_eq!(headers[0].height, 1);
    assert!(
        chain
            .headers_after_locator(&[chain.tip().hash], 100)
            .is_empty()
    );
}

#[test]
fn headers_and_blocks_are_found_by_hash_on_any_branch() {
    let mut main = dev_chain();
    let main_blocks = extend(&mut main, "miner", 1, 3);
    let mut other = dev_chain();
    let side = extend(&mut other, "alice", 1, 1).remove(0);
    assert_eq!(
        main.import_block(side.clone(), time(10)).unwrap(),
        ImportOutcome::SideChain
    );
    for block in main_blocks.iter().chain([&side]) {
        let hash = block.hash();
        assert!(main.knows_block(&hash));
        assert_eq!(main.header_by_hash(&hash).as_ref(), Some(&block.header));
        assert_eq!(main.block_by_hash(&hash).unwrap().as_ref(), Some(block));
        assert!(!main.is_known_invalid(&hash));
    }
    assert_eq!(main.cumulative_work_of(&side.hash()), Some(1));
    assert_eq!(main.cumulative_work_of(&main.tip().hash), Some(3));
    let unknown = Hash::digest(b"unknown");
    assert!(!main.knows_block(&unknown));
    assert!(main.header_by_hash(&unknown).is_none());
    assert!(main.block_by_hash(&unknown).unwrap().is_none());
    assert!(main.cumulative_work_of(&unknown).is_none());
}

#[test]
fn a_branch_that_fails_on_reorg_is_known_invalid() {
    let mut main = dev_chain();
    extend(&mut main, "miner", 1, 2);
    let mut other = dev_chain();
    let branch = extend(&mut other, "alice", 1, 3);
    main.import_block(branch[0].clone(), time(10)).unwrap();
    // The second block claims a state root its transactions do not give; the third builds on
    // it, so importing the third makes the branch heavier and forces a reorg that fails.
    let mut bad = branch[1].clone();
    bad.header.state_root = Hash::digest(b"a lie");
    let mut child = branch[2].clone();
    child.header.parent = bad.hash();
    assert_eq!(
        main.import_block(bad.clone(), time(10)).unwrap(),
        ImportOutcome::SideChain
    );
    assert!(main.import_block(child.clone(), time(10)).is_err());
    assert!(main.is_known_invalid(&bad.hash()));
    assert!(main.is_known_invalid(&child.hash()));
    assert!(!main.is_known_invalid(&branch[0].hash()));
    assert_eq!(main.tip().height, 2);
}

#[test]
fn a_fresh_chain_catches_up_headers_first_through_the_accessors() {
    let mut source = dev_chain();
    extend(&mut source, "miner", 1, 250);
    let mut fresh = dev_chain();
    loop {
        let headers = source.headers_after_locator(&fresh.best_chain_locator(64), 100);
        if headers.is_empty() {
            break;
        }
        for header in headers {
            let block = source.block_by_hash(&header.hash()).unwrap().unwrap();
            fresh.import_block(block, time(1_000)).unwrap();
        }
    }
    assert_eq!(fresh.tip(), source.tip());
}
