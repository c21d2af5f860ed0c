//! Anchors are claims checked by their work (DESIGN §2; issue 18 §1): a parent block that
//! anchors a child header carries the child's headers since the previous anchor, and the
//! parent's validators, who need not track the child, check them by the child's own rules.
//! The attack these tests replay: make up a depth-1 header nobody mined (a state root that
//! pays its author, a height of `u64::MAX`), mine one root block anchoring it, then claim the
//! endowment pool or pin a "deep value" through it.

mod common;

use bitverse_blocktree::{
    ANCHOR_HEADERS_MAX, Anchor, Block, BlockError, BlockHeader, Blocktree, ChainError, ChainParams,
    ChildAnchor, ImportOutcome, MergedWork, Tracking, chain_of_keyspace,
};
use bitverse_primitives::{AccountId, ChainId, Hash, SecretKey};
use common::buy;

/// Depth 1 demands this many hashes a block here (fixed, as on `dev`), the root one: a header
/// nobody mined fails it, one mined for real costs a few milliseconds.
const CHILD_DIFFICULTY: u64 = 1 << 12;

fn params() -> ChainParams {
    let mut params = ChainParams::dev();
    for depth in &mut params.deeper {
        depth.difficulty_min = CHILD_DIFFICULTY;
        depth.difficulty_initial = CHILD_DIFFICULTY;
    }
    params
}

fn miner(name: &str) -> AccountId {
    SecretKey::dev(name).account()
}

fn at(tree: &Blocktree, step: u64) -> u64 {
    tree.params().genesis_time_ms + step * 1_000
}

/// A validator's clock: past every block here, within the future-time rule.
fn now(tree: &Blocktree) -> u64 {
    at(tree, 100)
}

/// A node with the keyspace `anchored` bought at depth 1, its chain open: the chain the
/// attacks target.
fn node() -> (Blocktree, ChainId) {
    let tree = Blocktree::in_memory(params(), Tracking::All).unwrap();
    buy(&tree, "anchored", 1);
    tree.seal_dev(miner("a"), at(&tree, 1)).unwrap();
    let chain = chain_of_keyspace("anchored", 1).unwrap();
    assert!(tree.chain(chain).is_some());
    (tree, chain)
}

/// An empty block mined for real on `tree`'s tip of data chain `chain`, anchored nowhere.
fn child_block(tree: &Blocktree, chain: ChainId, step: u64) -> Block {
    let data = tree.chain(chain).unwrap();
    let mut data = data.lock();
    let root = tree.root().lock();
    data.produce_block_with(
        miner("a"),
        at(tree, step),
        true,
        u64::MAX,
        Some(&root),
        Vec::new(),
    )
    .unwrap()
    .unwrap()
}

/// A root block on `tree`'s root tip that carries `anchor` whatever it is: the candidate a
/// miner builds (which would leave a bad anchor out), with the anchor and its headers put in
/// afterwards and the proof of work found again. The state root is then stale too, but the
/// anchors are judged before it is compared.
fn root_block_forcing(tree: &Blocktree, anchor: Anchor, headers: Vec<BlockHeader>) -> Block {
    let mut block = tree
        .root()
        .lock()
        .candidate_with(miner("attacker"), at(tree, 50), true, None, Vec::new())
        .unwrap()
        .unwrap()
        .block;
    block.header.anchors = vec![anchor];
    block.anchor_headers = vec![headers];
    block.header.anchor_headers_hash =
        bitverse_blocktree::anchoring::anchor_headers_hash(&block.anchor_headers);
    while !block.header.meets_difficulty() {
        block.header.nonce += 1;
    }
    block
}

/// A child header nobody mined: it names the chain's genesis as parent and claims a state
/// root of the attacker's choosing (one that pays the attacker everything).
fn made_up_header(tree: &Blocktree, chain: ChainId, height: u64, difficulty: u64) -> BlockHeader {
    let genesis = bitverse_blocktree::genesis_block_of(tree.params(), chain)
        .unwrap()
        .header;
    BlockHeader {
        chain,
        parent: genesis.hash(),
        height,
        time_ms: at(tree, 40),
        difficulty,
        nonce: 0,
        merged: MergedWork::default(),
        miner: miner("attacker"),
        tx_root: Hash::ZERO,
        state_root: Hash::digest(b"earned = 2^64 for the attacker"),
        relay_parent: tree.root().lock().genesis_hash(),
        anchors: Vec::new(),
        anchor_headers_hash: Hash::ZERO,
    }
}

fn anchor_of(header: &BlockHeader) -> Anchor {
    Anchor {
        chain: header.chain,
        height: header.height,
        hash: header.hash(),
    }
}

fn refused_anchor(tree: &Blocktree, block: Block) -> String {
    match tree.import(block, now(tree)) {
        Err(ChainError::Block(BlockError::BadAnchor(why))) => why,
        other => panic!("expected the anchor refused, got {other:?}"),
    }
}

#[test]
fn a_made_up_child_header_cannot_be_anchored() {
    let (tree, chain) = node();
    let pool_before = tree.root().lock().endowment_pool(&chain).unwrap();
    let root_tip = tree.root().lock().tip().hash;

    // At height u64::MAX, which would also freeze the chain's honest anchoring for ever.
    let far = made_up_header(&tree, chain, u64::MAX, CHILD_DIFFICULTY);
    let why = refused_anchor(&tree, root_block_forcing(&tree, anchor_of(&far), vec![far]));
    assert!(why.contains("height"), "{why}");

    // Linked to genesis, but stating an easy difficulty: the child's rule demands its own.
    let mut easy = made_up_header(&tree, chain, 1, 1);
    while !easy.meets_difficulty() {
        easy.nonce += 1;
    }
    let why = refused_anchor(
        &tree,
        root_block_forcing(&tree, anchor_of(&easy), vec![easy]),
    );
    assert!(why.contains("difficulty"), "{why}");

    // The right difficulty, without the work.
    let mut unmined = made_up_header(&tree, chain, 1, CHILD_DIFFICULTY);
    while unmined.meets_difficulty() {
        unmined.nonce += 1;
    }
    let why = refused_anchor(
        &tree,
        root_block_forcing(&tree, anchor_of(&unmined), vec![unmined]),
    );
    assert!(why.contains("proof of work"), "{why}");

    // Nothing was anchored, so nothing can be claimed or pinned through it; the pool is whole.
    let root = tree.root().lock();
    assert_eq!(root.tip().hash, root_tip);
    assert_eq!(root.anchor_at(&chain, root.tip().height).unwrap(), None);
    assert_eq!(root.endowment_pool(&chain).unwrap(), pool_before);
}

#[test]
fn a_mined_child_header_is_anchored_and_the_next_anchor_must_extend_it() {
    let (tree, chain) = node();
    let (other, _) = node();
    // Two branches of the child from genesis, each mined for real.
    let x = child_block(&tree, chain, 2);
    let y: Vec<Block> = (2..4)
        .map(|step| child_block(&other, chain, step))
        .collect();

    // The root anchors x: its header carries its own work.
    let anchors = tree.fresh_anchors(ChainId::ROOT).unwrap();
    assert_eq!(anchors.len(), 1);
    assert_eq!(anchors[0].headers, vec![x.header.clone()]);
    let anchoring = tree
        .root()
        .lock()
        .produce_block_with(miner("a"), at(&tree, 4), true, u64::MAX, None, anchors)
        .unwrap()
        .unwrap();
    assert_eq!(anchoring.header.anchors, vec![anchor_of(&x.header)]);
    // A validator that does not track the child takes it from the headers alone.
    let validator = Blocktree::in_memory(params(), Tracking::Prefixes(Vec::new())).unwrap();
    let root_height = tree.root().lock().tip().height;
    for height in 1..=root_height {
        let block = tree.root().lock().block_at(height).unwrap().unwrap();
        assert!(matches!(
            validator.import(block, now(&tree)).unwrap(),
            ImportOutcome::NewTip { .. }
        ));
    }

    // The other branch, heavier and mined for real, does not extend x: a root block that
    // anchors it is refused, and a miner leaves such an anchor out.
    let headers: Vec<BlockHeader> = y.iter().map(|b| b.header.clone()).collect();
    let switch = anchor_of(&y[1].header);
    let why = refused_anchor(
        &validator,
        root_block_forcing(&tree, switch.clone(), headers.clone()),
    );
    assert!(why.contains("does not follow its anchored branch"), "{why}");
    let left_out = tree
        .root()
        .lock()
        .produce_block_with(
            miner("a"),
            at(&tree, 5),
            true,
            u64::MAX,
            None,
            vec![ChildAnchor {
                anchor: switch,
                headers,
            }],
        )
        .unwrap()
        .unwrap();
    assert!(left_out.header.anchors.is_empty());
}

#[test]
fn anchor_headers_are_committed_and_bounded() {
    let (tree, chain) = node();
    child_block(&tree, chain, 2);
    let anchors = tree.fresh_anchors(ChainId::ROOT).unwrap();
    let honest = tree
        .root()
        .lock()
        .candidate_with(miner("a"), at(&tree, 3), true, None, anchors)
        .unwrap()
        .unwrap()
        .block;
    let mut honest = honest;
    while !honest.header.meets_difficulty() {
        honest.header.nonce += 1;
    }
    let validator = Blocktree::in_memory(params(), Tracking::Prefixes(Vec::new())).unwrap();
    let root_height = tree.root().lock().tip().height;
    for height in 1..=root_height {
        let block = tree.root().lock().block_at(height).unwrap().unwrap();
        validator.import(block, now(&tree)).unwrap();
    }

    // A peer strips the headers, or swaps in others: refused before anything is stored, so
    // the honest block is still taken afterwards (its hash was never marked invalid).
    let mut stripped = honest.clone();
    stripped.anchor_headers = Vec::new();
    assert!(matches!(
        validator.import(stripped, now(&tree)),
        Err(ChainError::Block(BlockError::BadAnchor(_)))
    ));
    let mut swapped = honest.clone();
    swapped.anchor_headers[0][0].nonce ^= 1;
    assert!(validator.import(swapped, now(&tree)).is_err());
    assert!(matches!(
        validator.import(honest, now(&tree)).unwrap(),
        ImportOutcome::NewTip { .. }
    ));

    // More than ANCHOR_HEADERS_MAX headers for one anchor are refused unread.
    let genesis = bitverse_blocktree::genesis_block_of(tree.params(), chain)
        .unwrap()
        .header;
    let mut too_many = Vec::new();
    let mut parent = genesis;
    for _ in 0..=ANCHOR_HEADERS_MAX {
        let mut header = made_up_header(&tree, chain, parent.height + 1, CHILD_DIFFICULTY);
        header.parent = parent.hash();
        too_many.push(header.clone());
        parent = header;
    }
    let block = root_block_forcing(&tree, anchor_of(&parent), too_many);
    let why = refused_anchor(&validator, block);
    assert!(why.contains(&format!("1 to {ANCHOR_HEADERS_MAX}")), "{why}");
}

#[test]
fn a_child_far_ahead_is_anchored_part_of_the_way_each_block() {
    let (tree, chain) = node();
    let ahead = u64::try_from(ANCHOR_HEADERS_MAX).unwrap() + 6;
    for step in 0..ahead {
        child_block(&tree, chain, 2 + step);
    }
    let step = 2 + ahead;
    let anchors = tree.fresh_anchors(ChainId::ROOT).unwrap();
    let first = tree
        .root()
        .lock()
        .produce_block_with(miner("a"), at(&tree, step), true, u64::MAX, None, anchors)
        .unwrap()
        .unwrap();
    assert_eq!(first.anchor_headers[0].len(), ANCHOR_HEADERS_MAX);
    assert_eq!(first.header.anchors[0].height, ahead - 6);
    let anchors = tree.fresh_anchors(ChainId::ROOT).unwrap();
    let second = tree
        .root()
        .lock()
        .produce_block_with(
            miner("a"),
            at(&tree, step + 1),
            true,
            u64::MAX,
            None,
            anchors,
        )
        .unwrap()
        .unwrap();
    assert_eq!(second.anchor_headers[0].len(), 6);
    assert_eq!(second.header.anchors[0].height, ahead);
}
