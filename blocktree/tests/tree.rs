//! The blocktree on one dev node: keyspaces bought at depths 0–3 live on their chains, writes
//! go to the key's chain and nowhere else, dev sealing anchors every write in the root at
//! once, proofs walk from the root down with one link per level and refuse any tampering,
//! the root's anchor bytes do not grow with live chains, and everything survives a restart.

mod common;

use bitverse_blocktree::block::merged_slot;
use bitverse_blocktree::{
    Block, Blocktree, ChainError, ChainParams, KeyspaceError, ProofError, StatelessError, Tracking,
    TxError, TxPayload, UnsignedTx, ValueProof, chain_of_keyspace,
};
use bitverse_primitives::{AccountId, Amount, ChainId, SecretKey};
use common::{buy, signed};

const START_MS: u64 = 1_800_000_000_000;

fn miner() -> AccountId {
    SecretKey::dev("miner").account()
}

fn put(tree: &Blocktree, key: &str, value: &[u8]) -> Result<(), ChainError> {
    let chain = tree.chain_of_key(key)?;
    let tx = signed(
        tree,
        chain,
        TxPayload::Put {
            key: key.into(),
            value: value.to_vec(),
        },
    );
    tree.submit(tx).map(|_| ())
}

fn seal(tree: &Blocktree, step: u64) -> Vec<Block> {
    tree.seal_dev(miner(), START_MS + step * 1_000).unwrap()
}

/// Keyspaces `d0`…`d3` at depths 0…3, each holding `KEY = value-D`.
fn four_levels(tree: &Blocktree) {
    for depth in 0..4u8 {
        buy(tree, &format!("d{depth}"), depth);
    }
    seal(tree, 1);
    for depth in 0..4u8 {
        put(
            tree,
            &format!("d{depth}/greeting"),
            format!("value-{depth}").as_bytes(),
        )
        .unwrap();
    }
    seal(tree, 2);
}

#[test]
fn keyspaces_at_every_depth_live_on_their_chains_and_prove_against_the_root() {
    let tree = Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap();
    four_levels(&tree);
    for depth in 0..4u8 {
        let key = format!("d{depth}/greeting");
        let chain = chain_of_keyspace(&format!("d{depth}"), depth).unwrap();
        assert_eq!(chain.depth(), depth);
        assert_eq!(tree.chain_of_key(&key).unwrap(), chain);
        assert_eq!(
            tree.value(&key).unwrap().as_deref(),
            Some(format!("value-{depth}").as_bytes())
        );
        let proof = tree.value_proof(&key).unwrap();
        assert_eq!(proof.links.len(), usize::from(depth), "one link per level");
        assert_eq!(proof.verify().unwrap(), chain);
        // Through the wire format, too.
        let back = ValueProof::from_bytes(&proof.to_bytes()).unwrap();
        assert_eq!(back.verify().unwrap(), chain);
        // The proof is against the root's tip, which anchors the write already.
        let root_tip = tree.root().lock().tip();
        assert_eq!(proof.header.hash(), root_tip.hash);
    }
    // Absent keys are proven absent at depth too.
    let proof = tree.value_proof("d3/nothing-here").unwrap();
    assert_eq!(proof.value, None);
    proof.verify().unwrap();
}

#[test]
fn a_write_sent_to_the_wrong_chain_is_refused_with_the_right_one() {
    let tree = Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap();
    four_levels(&tree);
    let home = tree.chain_of_key("d2/x").unwrap();
    let wrong = signed(
        &tree,
        ChainId::ROOT,
        TxPayload::Put {
            key: "d2/x".into(),
            value: b"v".to_vec(),
        },
    );
    match tree.submit(wrong) {
        Err(ChainError::Tx(TxError::Keyspace(KeyspaceError::KeyOnOtherChain {
            home: got,
            ..
        }))) => assert_eq!(got, home),
        other => panic!("expected KeyOnOtherChain, got {other:?}"),
    }
    // Root-only transactions never reach a data chain.
    let transfer = signed(
        &tree,
        home,
        TxPayload::Transfer {
            to: miner(),
            amount: Amount(1),
        },
    );
    assert!(matches!(
        tree.submit(transfer),
        Err(ChainError::Tx(TxError::Stateless(
            StatelessError::RootOnly { .. }
        )))
    ));
    // Quota and ownership still hold at depth, judged by the root's registry.
    let bob = SecretKey::dev("bob");
    let by_bob = UnsignedTx {
        chain: home,
        sender: bob.account(),
        nonce: 0,
        fee: Amount::ZERO,
        payload: TxPayload::Put {
            key: "d2/x".into(),
            value: b"v".to_vec(),
        },
    }
    .sign(&bob);
    assert!(matches!(
        tree.submit(by_bob),
        Err(ChainError::Tx(TxError::Keyspace(
            KeyspaceError::NotOwner { .. }
        )))
    ));
    let too_big = put(&tree, "d2/big", &vec![7u8; 5000]);
    assert!(
        matches!(
            too_big,
            Err(ChainError::Tx(TxError::Keyspace(
                KeyspaceError::QuotaExceeded { .. }
            )))
        ),
        "{too_big:?}"
    );
}

#[test]
fn tampered_proofs_are_refused() {
    let tree = Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap();
    four_levels(&tree);
    let proof = tree.value_proof("d3/greeting").unwrap();
    proof.verify().unwrap();

    let mut changed_value = proof.clone();
    changed_value.value = Some(b"forged".to_vec());
    assert!(changed_value.verify().is_err(), "changed value");

    let mut changed_header = proof.clone();
    changed_header.links[2].header.state_root.0[0] ^= 1;
    assert!(changed_header.verify().is_err(), "changed link header");

    let mut changed_anchor = proof.clone();
    let last = changed_anchor.links[1].anchor_proof.len() - 1;
    changed_anchor.links[1].anchor_proof[last] ^= 1;
    assert!(changed_anchor.verify().is_err(), "changed anchor proof");

    let mut dropped_link = proof.clone();
    dropped_link.links.pop();
    assert!(
        matches!(dropped_link.verify(), Err(ProofError::Link(_))),
        "dropped link"
    );

    let mut swapped = proof.clone();
    swapped.links.swap(0, 1);
    assert!(swapped.verify().is_err(), "links out of order");

    let mut other_root = proof.clone();
    other_root.header.state_root.0[5] ^= 1;
    assert!(other_root.verify().is_err(), "changed root header");
}

/// Names of keyspaces at `depth` whose chains spread over both halves of the tree, until at
/// least `chains_min` chains are live.
fn spread_keyspaces(depth: u8, chains_min: usize) -> Vec<String> {
    let mut live = std::collections::BTreeSet::new();
    let mut names = Vec::new();
    for i in 0.. {
        let name = format!("k{i}");
        let chain = chain_of_keyspace(&name, depth).unwrap();
        let path: Vec<ChainId> = chain.path_to_root();
        if path.iter().all(|c| c.is_root() || live.contains(c)) {
            continue;
        }
        live.extend(path.into_iter().filter(|c| !c.is_root()));
        names.push(name);
        let both_halves = [0, 1]
            .iter()
            .all(|p| live.contains(&ChainId::new(1, *p).unwrap()));
        if live.len() >= chains_min && both_halves {
            break;
        }
    }
    names
}

#[test]
fn root_anchor_bytes_do_not_grow_with_live_chains() {
    let root_header_bytes_with = |depth: u8, chains_min: usize| {
        let tree = Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap();
        let names = spread_keyspaces(depth, chains_min);
        for name in &names {
            buy(&tree, name, depth);
        }
        seal(&tree, 1);
        for name in &names {
            put(&tree, &format!("{name}/v"), b"x").unwrap();
        }
        let blocks = seal(&tree, 2);
        let root_blocks: Vec<&Block> = blocks.iter().filter(|b| b.header.chain.is_root()).collect();
        assert_eq!(root_blocks.len(), 1, "one root block anchors everything");
        assert_eq!(root_blocks[0].header.anchors.len(), 2);
        (
            tree.data_chains().len(),
            root_blocks[0].header.to_bytes().len(),
        )
    };
    let (few_live, few_bytes) = root_header_bytes_with(2, 4);
    let (many_live, many_bytes) = root_header_bytes_with(8, 64);
    assert!(
        few_live <= 6 && many_live >= 64,
        "{few_live} and {many_live} live chains"
    );
    assert_eq!(few_bytes, many_bytes, "root header bytes");
}

/// One store that outlives the trees opened on it, as a node's database outlives its process
/// (RocksDB's own durability: `bitverse-store-rocks`'s tests).
fn shared_store() -> std::sync::Arc<dyn bitverse_blocktree::store::KvStore> {
    std::sync::Arc::new(bitverse_blocktree::store::MemoryStore::default())
}

#[test]
fn every_chain_resumes_after_a_restart() {
    let store = shared_store();
    {
        let tree = Blocktree::in_store(store.clone(), ChainParams::dev(), Tracking::All).unwrap();
        four_levels(&tree);
    }
    let tree = Blocktree::in_store(store.clone(), ChainParams::dev(), Tracking::All).unwrap();
    // Reopened: every chain on the paths of d1, d2 and d3.
    let mut expected: Vec<ChainId> = (1..4u8)
        .flat_map(|depth| {
            chain_of_keyspace(&format!("d{depth}"), depth)
                .unwrap()
                .path_to_root()
        })
        .filter(|c| !c.is_root())
        .collect();
    expected.sort_by_key(|c| (c.depth(), c.prefix()));
    expected.dedup();
    assert_eq!(tree.data_chains(), expected);
    for depth in 0..4u8 {
        let key = format!("d{depth}/greeting");
        assert_eq!(
            tree.value(&key).unwrap().as_deref(),
            Some(format!("value-{depth}").as_bytes())
        );
        tree.value_proof(&key).unwrap().verify().unwrap();
    }
    // And keeps going.
    put(&tree, "d3/after", b"restart").unwrap();
    seal(&tree, 3);
    assert_eq!(
        tree.value("d3/after").unwrap().as_deref(),
        Some(&b"restart"[..])
    );
}

#[test]
fn a_node_tracking_one_branch_opens_only_its_path() {
    let deep = chain_of_keyspace("d3", 3).unwrap();
    let path = deep.path_to_root();
    let tree = Blocktree::in_memory(ChainParams::dev(), Tracking::Prefixes(vec![deep])).unwrap();
    for depth in 0..4u8 {
        buy(&tree, &format!("d{depth}"), depth);
    }
    seal(&tree, 1);
    let open = tree.data_chains();
    assert_eq!(
        open.len(),
        3,
        "the tracked chain and the two above it: {open:?}"
    );
    assert!(open.iter().all(|chain| path.contains(chain)));
    // A write is taken exactly when its chain is on the tracked path.
    for depth in 0..4u8 {
        let name = format!("d{depth}");
        let tracked = path.contains(&chain_of_keyspace(&name, depth).unwrap());
        match put(&tree, &format!("{name}/greeting"), b"v") {
            Ok(()) => assert!(tracked, "{name} was written though untracked"),
            Err(ChainError::NotTracked(_)) => assert!(!tracked, "{name} refused though tracked"),
            Err(e) => panic!("{name}: {e}"),
        }
    }
    seal(&tree, 2);
    assert_eq!(
        tree.value("d3/greeting").unwrap().as_deref(),
        Some(&b"v"[..])
    );
    tree.value_proof("d3/greeting").unwrap().verify().unwrap();
}

#[test]
fn the_chain_summary_reports_anchored_and_final_heights() {
    let tree = Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap();
    four_levels(&tree);
    let summaries = tree.summaries().unwrap();
    assert!(summaries[0].chain.is_root());
    for summary in &summaries[1..] {
        // Dev seals ancestors at once and final depth is 0: everything is anchored and final.
        assert_eq!(summary.anchored_height, summary.height, "{summary:?}");
        assert_eq!(summary.final_height, summary.height, "{summary:?}");
        let parent = summary.chain.parent().unwrap();
        let parent_index = summaries.iter().position(|s| s.chain == parent).unwrap();
        let index = summaries
            .iter()
            .position(|s| s.chain == summary.chain)
            .unwrap();
        assert!(parent_index < index, "parents come first");
    }
}

#[test]
fn a_chain_bought_just_before_a_crash_is_opened_at_restart() {
    let store = shared_store();
    let deep = chain_of_keyspace("crashy", 2).unwrap();
    {
        let tree = Blocktree::in_store(store.clone(), ChainParams::dev(), Tracking::All).unwrap();
        buy(&tree, "crashy", 2);
        // The root block is committed, and the process dies before the purchase is noted.
        let block = tree
            .root()
            .lock()
            .seal_dev_block(miner(), START_MS)
            .unwrap()
            .expect("sealed");
        assert_eq!(block.transactions.len(), 1);
        assert!(tree.chain(deep).is_none());
    }
    let tree = Blocktree::in_store(store.clone(), ChainParams::dev(), Tracking::All).unwrap();
    assert!(
        tree.chain(deep).is_some(),
        "the purchase was noted at start"
    );
    put(&tree, "crashy/x", b"after").unwrap();
    seal(&tree, 2);
    tree.value_proof("crashy/x").unwrap().verify().unwrap();
}

/// Merged mining on the `local` network: one round builds a candidate on the root and on each
/// open data chain, and one work hash seals every candidate whose target it meets — here all
/// of them, at their equal initial difficulty — each through its own place in the commitment.
/// The blocks carry one work hash, and another node imports them through its ordinary path;
/// a block moved to another place in the commitment has no proof of work.
#[test]
fn one_merged_proof_of_work_seals_a_block_on_every_chain_a_miner_tracks() {
    let params = ChainParams::local();
    let at = |round: u64| params.genesis_time_ms + round * params.root.block_interval_target_ms;
    let tree = Blocktree::in_memory(params.clone(), Tracking::All).unwrap();
    buy(&tree, "merged", 2);
    let first = tree.mine_round(miner(), at(1), u64::MAX).unwrap();
    assert_eq!(first.len(), 1, "only the root is open before the purchase");
    assert_eq!(
        tree.data_chains().len(),
        2,
        "the purchase opened depths 1 and 2"
    );

    let second = tree.mine_round(miner(), at(2), u64::MAX).unwrap();
    let chains: Vec<ChainId> = second.iter().map(|b| b.header.chain).collect();
    let deep = chain_of_keyspace("merged", 2).unwrap();
    assert_eq!(
        chains,
        vec![ChainId::ROOT, deep.parent().unwrap(), deep],
        "one work sealed the root and both data chains"
    );
    let work = second[0].header.work_hash().expect("a valid merged place");
    let leaves = second[0].header.merged.leaves;
    assert!(leaves.is_power_of_two() && leaves >= 4, "{leaves}");
    for block in &second {
        assert!(block.header.meets_difficulty());
        assert_eq!(
            block.header.work_hash(),
            Some(work),
            "the same proof of work"
        );
        assert_eq!(block.header.merged.leaves, leaves);
        assert_eq!(
            block.header.merged.index,
            merged_slot(block.header.chain, leaves),
            "each at its chain's slot"
        );
    }
    let mut moved = second[1].header.clone();
    moved.merged.index = (moved.merged.index + 1) % leaves;
    assert!(
        !moved.meets_difficulty(),
        "another leaf's place proves nothing"
    );

    let follower = Blocktree::in_memory(params.clone(), Tracking::All).unwrap();
    for block in first.into_iter().chain(second) {
        follower.import(block, at(3)).unwrap();
    }
    for chain in [ChainId::ROOT, deep.parent().unwrap(), deep] {
        let tip = |t: &Blocktree| t.chain(chain).unwrap().lock().tip().hash;
        assert_eq!(tip(&follower), tip(&tree), "chain {chain}");
    }
}
