//! Header chains as headers-first sync and the light client check them
//! (`verify_header_chain` and `HeaderChainChecker`, the retarget rule `next_difficulty` and the
//! median time past): headers built step by step from the input (each linked, numbered, at the
//! demanded difficulty and mined, or not, as the input says; times and anchors as it says) on
//! a fixed-difficulty network and on one that retargets every few blocks, plus headers decoded
//! raw from the input's bytes after genesis. Nothing panics; an accepted chain's work is the
//! sum of its headers' difficulties, the checker agrees with `verify_header_chain` header by
//! header, and the retarget rule never demands less than the minimum.
#![no_main]

use arbitrary::Arbitrary;
use bitverse_blocktree::block::{HEADER_SIZE_BYTES_MAX, merged_slot};
use bitverse_blocktree::headers::{ancestors_needed, rules_after};
use bitverse_blocktree::params::DepthParams;
use bitverse_blocktree::pow::{PastBlock, median_time_ms, next_difficulty};
use bitverse_blocktree::{
    Anchor, BlockHeader, ChainParams, HeaderChainChecker, MergedWork, genesis_block,
    verify_header_chain,
};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, codec};

/// Most headers one input builds: past a retarget window and the median's span.
const STEPS_MAX: usize = 40;
/// Most a step mines for: a retargeting network's difficulty can climb past what a fuzzer
/// should spend; such a header is left unmined (and refused).
const MINED_DIFFICULTY_MAX: u64 = 1 << 10;

#[derive(Arbitrary, Debug)]
struct Step {
    time_step_ms: i32,
    honest_link: bool,
    honest_height: bool,
    honest_difficulty: bool,
    mine: bool,
    stated_difficulty: u64,
    height_skew: i8,
    anchors: u8,
    leaves_log2: u8,
    miner: u8,
}

#[derive(Arbitrary, Debug)]
struct Input {
    retargets: bool,
    now_offset_ms: u32,
    steps: Vec<Step>,
    raw_headers: Vec<u8>,
    past: Vec<(u64, u64, u64)>,
    depth: (u64, u64, u64, u64),
}

fn params(retargets: bool) -> ChainParams {
    if !retargets {
        return ChainParams::dev();
    }
    let mut params = ChainParams::local();
    params.root = DepthParams {
        block_interval_target_ms: 1_000,
        difficulty_min: 1,
        difficulty_initial: 4,
        retarget_window_blocks: 6,
        storage_price_per_byte: Amount(256),
    };
    params.median_time_blocks = 5;
    params
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    // The retarget rule and the median alone, over any past and any parameters.
    let depth = DepthParams {
        block_interval_target_ms: input.depth.0,
        difficulty_min: input.depth.1,
        difficulty_initial: input.depth.2,
        retarget_window_blocks: input.depth.3 % 1_000,
        storage_price_per_byte: Amount(1),
    };
    let past: Vec<PastBlock> = input
        .past
        .iter()
        .take(64)
        .map(|&(height, time_ms, difficulty)| PastBlock {
            height,
            time_ms,
            difficulty,
        })
        .collect();
    for fixed in [false, true] {
        assert!(next_difficulty(&depth, fixed, &past) >= depth.difficulty_min);
    }
    let times: Vec<u64> = past.iter().map(|p| p.time_ms).collect();
    let median = median_time_ms(times.clone());
    assert!(times.is_empty() || times.contains(&median));

    let params = params(input.retargets);
    let Ok(genesis) = genesis_block(&params) else {
        return;
    };
    let genesis = genesis.header;
    let mut headers = vec![genesis.clone()];
    let mut time_ms = genesis.time_ms;
    for step in input.steps.iter().take(STEPS_MAX) {
        let Some(parent) = headers.last().cloned() else {
            break;
        };
        let ancestors: Vec<&BlockHeader> = headers.iter().rev().collect();
        let rules = rules_after(&params, &params.root, ancestors);
        time_ms = time_ms.saturating_add_signed(i64::from(step.time_step_ms));
        let leaves = 1u32 << (step.leaves_log2 % 8);
        let mut header = BlockHeader {
            chain: ChainId::ROOT,
            parent: if step.honest_link {
                parent.hash()
            } else {
                Hash::digest(&[step.miner])
            },
            height: if step.honest_height {
                parent.height.saturating_add(1)
            } else {
                parent
                    .height
                    .saturating_add_signed(i64::from(step.height_skew))
            },
            time_ms,
            difficulty: if step.honest_difficulty {
                rules.difficulty
            } else {
                step.stated_difficulty
            },
            nonce: 0,
            merged: MergedWork {
                index: merged_slot(ChainId::ROOT, leaves),
                leaves,
                path: vec![Hash::digest(&[step.miner]); (step.leaves_log2 % 8) as usize],
            },
            miner: AccountId([step.miner; 32]),
            tx_root: Hash::ZERO,
            state_root: Hash::digest(&time_ms.to_le_bytes()),
            relay_parent: Hash::ZERO,
            anchors: (0..step.anchors % 4)
                .map(|i| Anchor {
                    chain: ChainId::new(1, u64::from(i % 2)).unwrap_or(ChainId::ROOT),
                    height: u64::from(i),
                    hash: Hash::ZERO,
                })
                .collect(),
            anchor_headers_hash: Hash::ZERO,
        };
        if step.mine && header.difficulty <= MINED_DIFFICULTY_MAX {
            while !header.meets_difficulty() && header.nonce < MINED_DIFFICULTY_MAX * 64 {
                header.nonce = header.nonce.saturating_add(1);
            }
        }
        headers.push(header);
    }
    let now_ms = time_ms.saturating_add(u64::from(input.now_offset_ms));
    check(&params, &headers, now_ms);

    // Raw headers from the input's bytes, after genesis.
    if let Ok(raw) = codec::decode_with_limit::<Vec<BlockHeader>, { 16 * HEADER_SIZE_BYTES_MAX }>(
        &input.raw_headers,
    ) {
        let mut chain = vec![genesis];
        chain.extend(raw);
        check(&params, &chain, now_ms);
    }
});

/// `verify_header_chain` over `headers`, and the checker pushed header by header, agree; an
/// accepted chain's work is the sum of its difficulties after genesis.
fn check(params: &ChainParams, headers: &[BlockHeader], now_ms: u64) {
    let verdict = verify_header_chain(params, headers, now_ms);
    let Some((genesis, rest)) = headers.split_first() else {
        return;
    };
    let mut checker = match HeaderChainChecker::resume(params, [genesis.clone()], 0) {
        Ok(checker) => checker,
        Err(e) => panic!("genesis does not start a checker: {e}"),
    };
    let mut pushed = Ok(0u128);
    for header in rest {
        pushed = checker.push(header.clone(), now_ms);
        if pushed.is_err() {
            break;
        }
        assert!(checker.recent().count() <= ancestors_needed(params, &params.root));
    }
    assert_eq!(verdict.is_ok(), pushed.is_ok(), "{verdict:?} / {pushed:?}");
    if let Ok(work) = verdict {
        let sum = rest
            .iter()
            .fold(0u128, |sum, h| sum.saturating_add(u128::from(h.difficulty)));
        assert_eq!(work, sum);
        assert_eq!(checker.tip(), headers.last());
    }
}
