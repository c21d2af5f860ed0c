//! Miners paid from keyspace endowments (DESIGN §2, §6): a purchase pays into its chain's
//! pool on the root; every block releases a share of what is left to its miner, on the root at
//! once and on a data chain as earnings there; the root pays a data chain's miner against a
//! proof through the anchors, once per earning, never more than the pool holds; and the supply
//! (balances plus what every pool holds) is conserved in every root block.

mod common;

use bitverse_blocktree::endowment::{EarningsProof, block_release};
use bitverse_blocktree::{
    Blocktree, ChainError, ChainParams, EarningsError, ProofError, Tracking, TxError, TxPayload,
    chain_of_keyspace,
};
use bitverse_primitives::{AccountId, Amount, ChainId, SecretKey};
use common::{buy_with_prepaid, signed, signed_by};

/// Bought at depth 2: a depth-1 chain carries its anchors without a pool of its own.
const DEEP: &str = "endowed-deep";
/// Bought at depth 1, on the other half of the tree from `DEEP` or not: either way its own pool.
const SHALLOW: &str = "endowed-shallow";
/// Bought on the root.
const ROOTED: &str = "endowed-root";

fn miners() -> [SecretKey; 2] {
    [
        SecretKey::from_seed(b"endowment miner one"),
        SecretKey::from_seed(b"endowment miner two"),
    ]
}

/// A write on `chain` (so that dev sealing makes a block there), then a dev seal at `step`.
fn write_and_seal(tree: &Blocktree, chain: ChainId, key: String, miner: AccountId, step: u64) {
    let put = signed(
        tree,
        chain,
        TxPayload::Put {
            key,
            value: b"v".to_vec(),
        },
    );
    tree.submit(put).unwrap();
    tree.seal_dev(miner, tree.params().genesis_time_ms + step * 1_000)
        .unwrap();
}

/// Every chain a pool may be kept for here: the keyspaces' chains and their ancestors.
fn pooled_chains() -> Vec<ChainId> {
    let mut chains: Vec<ChainId> = [(DEEP, 2), (SHALLOW, 1), (ROOTED, 0)]
        .iter()
        .flat_map(|(name, depth)| chain_of_keyspace(name, *depth).unwrap().path_to_root())
        .collect();
    chains.sort();
    chains.dedup();
    chains
}

/// Balances of every account that can hold money here, plus what every pool holds.
fn supply(tree: &Blocktree, accounts: &[AccountId]) -> u128 {
    let root = tree.root().lock();
    let balances: u128 = accounts
        .iter()
        .map(|a| root.account(a).unwrap().balance.0)
        .sum();
    let pools: u128 = pooled_chains()
        .iter()
        .map(|c| root.endowment_pool(c).unwrap().held().0)
        .sum();
    balances + pools
}

fn claim(tree: &Blocktree, proof: EarningsProof) -> Result<(), ChainError> {
    // Anyone may send a claim: the money goes to the miner the proof names.
    let sender = SecretKey::dev("bob");
    let tx = signed_by(
        tree,
        &sender,
        ChainId::ROOT,
        TxPayload::ClaimMinerReward {
            proof: Box::new(proof),
        },
    );
    tree.submit(tx).map(|_| ())
}

/// Two miners take turns mining merged rounds over the root, two data chains with pools and
/// the ancestor between. Claims go in every few rounds. After every root block, the supply is
/// what genesis and the subsidies made it; at the end each miner was paid on the root exactly
/// what it earned on each data chain up to the anchored block its last claim proved.
#[test]
fn supply_is_conserved_in_every_root_block_while_miners_claim_their_endowment_pay() {
    let params = ChainParams::local();
    let at = |round: u64| params.genesis_time_ms + round * params.root.block_interval_target_ms;
    let tree = Blocktree::in_memory(params.clone(), Tracking::All).unwrap();
    let prepaid = Amount(1 << 30);
    buy_with_prepaid(&tree, DEEP, 2, prepaid);
    buy_with_prepaid(&tree, SHALLOW, 1, prepaid);
    buy_with_prepaid(&tree, ROOTED, 0, prepaid);
    let miners = miners();
    let mut accounts: Vec<AccountId> = params.genesis_allocations.iter().map(|(a, _)| *a).collect();
    accounts.extend(miners.iter().map(SecretKey::account));
    let genesis_supply: u128 = params.genesis_allocations.iter().map(|(_, a)| a.0).sum();
    let deep = chain_of_keyspace(DEEP, 2).unwrap();
    let shallow = chain_of_keyspace(SHALLOW, 1).unwrap();
    let mut claims_paid = 0;
    for round in 1..=40u64 {
        let miner = &miners[usize::try_from(round % 2).unwrap()];
        let blocks = tree
            .mine_round(miner.account(), at(round), u64::MAX)
            .unwrap();
        assert!(!blocks.is_empty());
        let root_height = tree.root().lock().tip().height;
        assert_eq!(
            supply(&tree, &accounts),
            genesis_supply + u128::from(root_height) * params.block_subsidy.0,
            "after root block {root_height}"
        );
        if round % 7 == 0 {
            for chain in [deep, shallow] {
                for miner in &miners {
                    let claimed = tree
                        .root()
                        .lock()
                        .miner_claimed(&chain, &miner.account())
                        .unwrap();
                    // Nothing new anchored since the last claim is a refusal: skip it.
                    match tree.earnings_proof(chain, miner.account()) {
                        Ok(proof) if proof.earned > claimed => {
                            claim(&tree, proof).unwrap();
                            claims_paid += 1;
                        }
                        Ok(_) => {}
                        Err(e) => panic!("no proof for {chain}: {e}"),
                    }
                }
            }
        }
    }
    assert!(claims_paid >= 4, "{claims_paid} claims");
    // Settle the last claims, then check each miner's pay against its proven earnings.
    tree.mine_round(miners[0].account(), at(41), u64::MAX)
        .unwrap();
    let root = tree.root().lock();
    for chain in [deep, shallow] {
        let pool = root.endowment_pool(&chain).unwrap();
        assert_eq!(
            pool.deposited, prepaid,
            "{chain}: the purchase paid into its pool"
        );
        let mut paid = Amount::ZERO;
        for miner in &miners {
            let claimed = root.miner_claimed(&chain, &miner.account()).unwrap();
            assert!(claimed > Amount::ZERO, "{chain}: every miner was paid");
            paid = paid.checked_add(claimed).unwrap();
        }
        assert_eq!(
            pool.paid, paid,
            "{chain}: the pool paid what the miners claimed"
        );
    }
    // The depth-1 ancestor of the deep chain holds no keyspace: its miners earn nothing.
    let between = deep.parent().unwrap();
    if between != shallow {
        assert_eq!(
            root.endowment_pool(&between).unwrap().deposited,
            Amount::ZERO
        );
    }
    // The root's own pool paid its miners in their blocks.
    let root_pool = root.endowment_pool(&ChainId::ROOT).unwrap();
    assert_eq!(root_pool.deposited, prepaid);
    assert!(root_pool.paid > Amount::ZERO);
}

/// Each block takes a fixed fraction of what is left, so the pay per block falls as the pool
/// is spent; a data chain's blocks count it as the miner's earnings there.
#[test]
fn a_data_chain_block_earns_its_miner_a_falling_share_of_the_pool() {
    let mut params = ChainParams::dev();
    // A quick release, to see it fall within a few blocks.
    params.endowment_release_shift = 2;
    let tree = Blocktree::in_memory(params.clone(), Tracking::All).unwrap();
    let prepaid = Amount(1 << 20);
    buy_with_prepaid(&tree, SHALLOW, 1, prepaid);
    let miner = miners()[0].account();
    let chain = chain_of_keyspace(SHALLOW, 1).unwrap();
    tree.seal_dev(miner, params.genesis_time_ms + 1_000)
        .unwrap();
    let mut releases = Vec::new();
    for step in 2..=7u64 {
        write_and_seal(&tree, chain, format!("{SHALLOW}/k{step}"), miner, step);
        let data = tree.chain(chain).unwrap();
        let data = data.lock();
        let height = data.tip().height;
        assert_eq!(height, step - 1, "one block on the chain each step");
        releases.push(data.released_by_block(height).unwrap());
        assert_eq!(
            data.miner_earned(&miner, height).unwrap(),
            releases
                .iter()
                .fold(Amount::ZERO, |s, r| s.checked_add(*r).unwrap()),
            "earnings are the sum of the releases"
        );
    }
    assert!(releases.len() >= 4, "{releases:?}");
    assert_eq!(releases[0], block_release(prepaid, Amount::ZERO, 2));
    for pair in releases.windows(2) {
        assert!(pair[1] < pair[0], "the share falls: {releases:?}");
    }
}

/// A claim pays once; the same proof again, or one that overstates the earnings, names
/// another miner, or starts from a header the root never anchored, is refused.
#[test]
fn a_claim_pays_once_and_a_false_proof_pays_nothing() {
    let (tree, miner, deep) = deep_tree_mined(3);
    let params = tree.params().clone();
    let proof = tree.earnings_proof(deep, miner).unwrap();
    assert!(proof.earned > Amount::ZERO);
    assert_eq!(proof.links.len(), 1, "one link below depth 1");
    proof.verify().unwrap();
    // Through the wire format, too.
    assert_eq!(EarningsProof::from_bytes(&proof.to_bytes()).unwrap(), proof);

    let refused = |proof: EarningsProof| match claim(&tree, proof) {
        Err(ChainError::Tx(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let mut inflated = proof.clone();
    inflated.earned = Amount(inflated.earned.0 + 1);
    assert!(matches!(
        refused(inflated),
        TxError::Earnings(EarningsError::BadProof(ProofError::Mismatch { .. }))
    ));
    let mut other_miner = proof.clone();
    other_miner.miner = miners()[1].account();
    assert!(matches!(
        refused(other_miner),
        TxError::Earnings(EarningsError::BadProof(ProofError::Mismatch { .. }))
    ));
    let mut unanchored = proof.clone();
    unanchored.top.time_ms += 1;
    assert!(matches!(
        refused(unanchored),
        TxError::Earnings(EarningsError::NotAnchored { .. })
    ));
    let mut root_claim = proof.clone();
    root_claim.chain = ChainId::ROOT;
    assert!(matches!(
        refused(root_claim),
        TxError::Earnings(EarningsError::BadProof(ProofError::Link(_)))
    ));

    let before = tree.root().lock().account(&miner).unwrap().balance;
    claim(&tree, proof.clone()).unwrap();
    // Another miner seals the claim, so the fee is not part of the first one's pay.
    tree.seal_dev(miners()[1].account(), params.genesis_time_ms + 10_000)
        .unwrap();
    let after = tree.root().lock().account(&miner).unwrap().balance;
    assert_eq!(after.0 - before.0, proof.earned.0, "paid what it earned");
    assert!(matches!(
        refused(proof),
        TxError::Earnings(EarningsError::NothingToClaim { .. })
    ));
}

/// A dev tree where keyspace `DEEP` (depth 2) was bought, then written `writes` times, each
/// write sealed by the first miner: its tree, the miner and the deep chain.
fn deep_tree_mined(writes: u64) -> (Blocktree, AccountId, ChainId) {
    let params = ChainParams::dev();
    let tree = Blocktree::in_memory(params.clone(), Tracking::All).unwrap();
    buy_with_prepaid(&tree, DEEP, 2, Amount(1 << 30));
    let miner = miners()[0].account();
    let deep = chain_of_keyspace(DEEP, 2).unwrap();
    // The purchase first; then a write on the deep chain each step.
    tree.seal_dev(miner, params.genesis_time_ms + 1_000)
        .unwrap();
    for step in 2..=writes + 1 {
        write_and_seal(&tree, deep, format!("{DEEP}/k{step}"), miner, step);
    }
    (tree, miner, deep)
}

/// A proof for a miner at depth 2 from a dev tree: the fixture the property test tampers with.
fn deep_proof() -> (EarningsProof, bitverse_blocktree::Anchor) {
    let (tree, miner, deep) = deep_tree_mined(2);
    let proof = tree.earnings_proof(deep, miner).unwrap();
    let anchor = proof.verify().unwrap();
    (proof, anchor)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
    /// Changing any byte of a proof's encoding breaks it (it no longer decodes or checks),
    /// or changes the top header, whose hash the root then never anchored (the root's half of
    /// the check), or leaves a proof of the very same claim: the same chain, miner and
    /// earnings. A forger cannot move pay to another miner or raise it.
    #[test]
    fn a_changed_byte_never_proves_another_claim(position in 0usize..1_000_000, flip in 1u8..=255) {
        let (proof, anchor) = deep_proof();
        let mut bytes = proof.to_bytes();
        let at = position % bytes.len();
        bytes[at] ^= flip;
        if let Ok(changed) = EarningsProof::from_bytes(&bytes)
            && let Ok(changed_anchor) = changed.verify()
            && changed_anchor == anchor
        {
            proptest::prop_assert_eq!(changed.chain, proof.chain);
            proptest::prop_assert_eq!(changed.miner, proof.miner);
            proptest::prop_assert_eq!(changed.earned, proof.earned);
        }
    }
}
