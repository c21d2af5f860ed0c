//! Integration tests of stakes on the root: Stake and Unstake move money between balance,
//! stake and unbonding, the unbonding delay returns it, money is conserved in every block, the
//! registry of staked nodes and the unbonding entries are bounded, a reorg undoes a losing
//! branch's unstakes and releases, a replica that imports the blocks agrees, and reads at a
//! past height see that height's state.

mod common;

use bitverse_blocktree::{
    AccountError, Block, Chain, ChainError, ChainParams, STAKED_NODES_PER_ROLE_MAX, StakeError,
    StakeRecord, Transaction, TxError, TxPayload, UNBONDING_ENTRIES_PER_ACCOUNT_MAX, Unbonding,
};
use bitverse_pricing::TaskKind;
use bitverse_primitives::{AccountId, Amount, SecretKey};
use common::signed_on_root as signed;

fn key(name: &str) -> SecretKey {
    SecretKey::dev(name)
}

fn stake(chain: &Chain, who: &str, role: TaskKind, amount: u128) -> Transaction {
    signed(
        chain,
        &key(who),
        TxPayload::Stake {
            amount: Amount(amount),
            role,
        },
    )
}

fn unstake(chain: &Chain, who: &str, role: TaskKind, amount: u128) -> Transaction {
    signed(
        chain,
        &key(who),
        TxPayload::Unstake {
            amount: Amount(amount),
            role,
        },
    )
}

fn transfer(chain: &Chain, who: &str, to: AccountId, amount: u128) -> Transaction {
    signed(
        chain,
        &key(who),
        TxPayload::Transfer {
            to,
            amount: Amount(amount),
        },
    )
}

/// Submits `txs` and produces one block with them (mined by dave), one root interval after the
/// tip, every pending transaction included.
fn block_with(chain: &mut Chain, txs: Vec<Transaction>) -> Block {
    for t in txs {
        submit(chain, t);
    }
    seal(chain)
}

fn submit(chain: &mut Chain, t: Transaction) {
    chain.submit_transaction(t).unwrap();
}

/// Produces one block (mined by dave), one root interval after the tip, holding every pending
/// transaction.
fn seal(chain: &mut Chain) -> Block {
    let count = chain.mempool_len();
    let time_ms = chain.tip().time_ms.max(chain.params().genesis_time_ms) + 3_000;
    let block = chain
        .produce_block(key("dave").account(), time_ms, true, u64::MAX)
        .unwrap()
        .expect("a block");
    assert_eq!(
        block.transactions.len(),
        count,
        "every transaction included"
    );
    block
}

fn refusal(chain: &mut Chain, t: Transaction) -> TxError {
    match chain.submit_transaction(t) {
        Err(ChainError::Tx(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Balances, stakes and unbonding amounts of `accounts` at the tip: the whole supply when
/// they are every account that ever held money (no keyspace is bought here).
fn supply(chain: &Chain, accounts: &[AccountId]) -> u128 {
    let height = chain.tip().height;
    accounts
        .iter()
        .map(|a| {
            let balance = chain.account(a).unwrap().balance;
            let escrow = chain.stake_at(a, height).unwrap().escrow_total().unwrap();
            balance.0 + escrow.0
        })
        .sum()
}

#[test]
fn stakes_unstakes_and_releases_conserve_money_in_every_block() {
    let params = ChainParams::local();
    let delay = params.unbonding_delay_blocks;
    let mut chain = Chain::in_memory(params.clone()).unwrap();
    let outsider = SecretKey::from_seed(b"outsider").account();
    let mut accounts: Vec<AccountId> = ["alice", "bob", "carol", "dave"]
        .iter()
        .map(|n| key(n).account())
        .collect();
    accounts.push(outsider);
    let genesis_supply: u128 = params.genesis_allocations.iter().map(|(_, a)| a.0).sum();
    assert_eq!(supply(&chain, &accounts), genesis_supply);
    let bob = key("bob").account();
    let mut blocks = Vec::new();
    let mut bob_balance_before_release = None;
    let rounds = delay + 6;
    for round in 1..=rounds {
        let t = transfer(&chain, "alice", outsider, 1_000 + u128::from(round));
        submit(&mut chain, t);
        match round {
            1 => {
                let t = stake(&chain, "bob", TaskKind::Offer, 500_000);
                submit(&mut chain, t);
                let t = stake(&chain, "carol", TaskKind::Relay, 300_000);
                submit(&mut chain, t);
            }
            2 => {
                let t = stake(&chain, "bob", TaskKind::Relay, 200_000);
                submit(&mut chain, t);
                let t = unstake(&chain, "bob", TaskKind::Offer, 100_000);
                submit(&mut chain, t);
            }
            3 => {
                let t = unstake(&chain, "carol", TaskKind::Relay, 300_000);
                submit(&mut chain, t);
            }
            4 => {
                let t = stake(&chain, "carol", TaskKind::Offer, 7);
                submit(&mut chain, t);
            }
            _ => {
                let t = transfer(&chain, "carol", bob, 5);
                submit(&mut chain, t);
            }
        }
        // Before the release block is sealed.
        if round == 2 + delay {
            bob_balance_before_release = Some(chain.account(&bob).unwrap().balance);
        }
        blocks.push(seal(&mut chain));
        let expected = genesis_supply + u128::from(round) * params.block_subsidy.0;
        assert_eq!(supply(&chain, &accounts), expected, "after block {round}");
    }

    let tip = chain.tip().height;
    // Bob unstaked 100 000 of his offerer stake at height 2: released at the start of
    // height 2 + delay, spendable there, and nothing left unbonding.
    let bob_record = chain.stake_at(&bob, tip).unwrap();
    assert_eq!(
        bob_record,
        StakeRecord {
            offerer: Amount(400_000),
            relayer: Amount(200_000),
            unbonding: Vec::new(),
            storer: Amount::ZERO,
        }
    );
    let before = bob_balance_before_release.unwrap();
    let after = chain.account(&bob).unwrap().balance;
    let bob_at = |h| chain.stake_at(&bob, h).unwrap();
    assert_eq!(
        bob_at(2 + delay - 1).unbonding,
        vec![Unbonding {
            role: TaskKind::Offer,
            amount: Amount(100_000),
            release_height: 2 + delay,
        }]
    );
    assert!(bob_at(2 + delay).unbonding.is_empty());
    // From the release block to the tip bob received carol's transfers of 5 and paid no fee:
    // the 100 000 came back.
    let transfers_received = u128::from(rounds - (2 + delay - 1)) * 5;
    assert_eq!(after.0, before.0 + 100_000 + transfers_received);
    // Carol left the relayers entirely; the registry lists who is staked at each height.
    let carol = key("carol").account();
    assert_eq!(
        chain.staked_nodes_at(TaskKind::Relay, 1).unwrap(),
        vec![(carol, Amount(300_000))]
    );
    assert_eq!(
        chain.staked_nodes_at(TaskKind::Relay, 2).unwrap(),
        sorted(vec![(carol, Amount(300_000)), (bob, Amount(200_000))])
    );
    assert_eq!(
        chain.staked_nodes_at(TaskKind::Relay, tip).unwrap(),
        vec![(bob, Amount(200_000))]
    );
    assert_eq!(
        chain.staked_nodes_at(TaskKind::Offer, tip).unwrap(),
        sorted(vec![(bob, Amount(400_000)), (carol, Amount(7))])
    );
    assert_eq!(chain.stake_at(&bob, 0).unwrap(), StakeRecord::default());
    assert!(matches!(
        chain.stake_at(&bob, tip + 1),
        Err(ChainError::HeightAboveTip { height, tip: t }) if height == tip + 1 && t == tip
    ));
    // Nothing writes the ledger yet: every node reads as the prior.
    for kind in [TaskKind::Offer, TaskKind::Relay] {
        assert_eq!(chain.reliability_record_at(&bob, kind, tip).unwrap(), None);
    }

    // A replica that imports the blocks (so applies them, releases included) agrees.
    let mut replica = Chain::in_memory(params).unwrap();
    for block in blocks {
        replica.import_block(block, u64::MAX / 2).unwrap();
    }
    assert_eq!(replica.tip().state_root, chain.tip().state_root);
    assert_eq!(supply(&replica, &accounts), supply(&chain, &accounts));
}

fn sorted(mut nodes: Vec<(AccountId, Amount)>) -> Vec<(AccountId, Amount)> {
    nodes.sort();
    nodes
}

#[test]
fn unstaking_more_than_staked_or_paying_more_than_held_is_refused() {
    let mut chain = Chain::in_memory(ChainParams::dev()).unwrap();
    let t = stake(&chain, "alice", TaskKind::Relay, 1_000);
    block_with(&mut chain, vec![t]);
    let t = unstake(&chain, "alice", TaskKind::Relay, 1_001);
    assert!(matches!(
        refusal(&mut chain, t),
        TxError::Stake(StakeError::InsufficientStake { staked, needed, role: TaskKind::Relay, .. })
            if staked == Amount(1_000) && needed == Amount(1_001)
    ));
    let t = unstake(&chain, "alice", TaskKind::Offer, 1);
    assert!(matches!(
        refusal(&mut chain, t),
        TxError::Stake(StakeError::InsufficientStake { .. })
    ));
    let balance = chain.account(&key("bob").account()).unwrap().balance;
    let t = stake(&chain, "bob", TaskKind::Offer, balance.0);
    assert!(matches!(
        refusal(&mut chain, t),
        TxError::Account(AccountError::InsufficientBalance { .. })
    ));
    // The refusals named the codes the RPC answers with.
    assert_eq!(
        TxError::Stake(StakeError::InsufficientStake {
            account: key("bob").account(),
            role: TaskKind::Offer,
            staked: Amount::ZERO,
            needed: Amount(1),
        })
        .code(),
        bitverse_blocktree::error::codes::INSUFFICIENT_STAKE
    );
}

#[test]
fn unbonding_entries_per_account_are_bounded() {
    let params = ChainParams {
        unbonding_delay_blocks: 1_000,
        ..ChainParams::dev()
    };
    let mut chain = Chain::in_memory(params).unwrap();
    let t = stake(&chain, "alice", TaskKind::Offer, 1_000);
    block_with(&mut chain, vec![t]);
    // Two unstakes of one role in one block share an entry; another role is another entry.
    let a = unstake(&chain, "alice", TaskKind::Offer, 1);
    submit(&mut chain, a);
    let b = unstake(&chain, "alice", TaskKind::Offer, 1);
    block_with(&mut chain, vec![b]);
    let alice = key("alice").account();
    let record = chain.stake_at(&alice, chain.tip().height).unwrap();
    assert_eq!(record.unbonding.len(), 1);
    assert_eq!(record.unbonding[0].amount, Amount(2));
    for _ in 1..UNBONDING_ENTRIES_PER_ACCOUNT_MAX {
        let t = unstake(&chain, "alice", TaskKind::Offer, 1);
        block_with(&mut chain, vec![t]);
    }
    let record = chain.stake_at(&alice, chain.tip().height).unwrap();
    assert_eq!(record.unbonding.len(), UNBONDING_ENTRIES_PER_ACCOUNT_MAX);
    let t = unstake(&chain, "alice", TaskKind::Offer, 1);
    assert_eq!(
        refusal(&mut chain, t),
        TxError::Stake(StakeError::TooManyUnbonding {
            account: alice,
            entries_max: UNBONDING_ENTRIES_PER_ACCOUNT_MAX
        })
    );
}

/// `STAKED_NODES_PER_ROLE_MAX + 1` keys named `PREFIX i`, each funded with 1 000 at genesis,
/// and the chain.
fn one_more_staker_than_the_registry_holds(prefix: &str) -> (Vec<SecretKey>, Chain) {
    let keys: Vec<SecretKey> = (0..=STAKED_NODES_PER_ROLE_MAX)
        .map(|i| SecretKey::from_seed(format!("{prefix} {i}").as_bytes()))
        .collect();
    let mut params = ChainParams::dev();
    params
        .genesis_allocations
        .extend(keys.iter().map(|k| (k.account(), Amount(1_000))));
    (keys, Chain::in_memory(params).unwrap())
}

#[test]
fn the_registry_of_staked_nodes_refuses_one_more_than_its_maximum_at_the_same_stake() {
    let (keys, mut chain) = one_more_staker_than_the_registry_holds("staker");
    let (last, first) = keys.split_last().unwrap();
    let txs: Vec<Transaction> = first
        .iter()
        .map(|k| {
            signed(
                &chain,
                k,
                TxPayload::Stake {
                    amount: Amount(10),
                    role: TaskKind::Relay,
                },
            )
        })
        .collect();
    block_with(&mut chain, txs);
    let tip = chain.tip().height;
    let staked = chain.staked_nodes_at(TaskKind::Relay, tip).unwrap();
    assert_eq!(staked.len(), STAKED_NODES_PER_ROLE_MAX);
    assert!(staked.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
    let one_more = |chain: &Chain, role| {
        signed(
            chain,
            last,
            TxPayload::Stake {
                amount: Amount(10),
                role,
            },
        )
    };
    let t = one_more(&chain, TaskKind::Relay);
    assert_eq!(
        refusal(&mut chain, t),
        TxError::Stake(StakeError::StakedNodesFull {
            role: TaskKind::Relay,
            nodes_max: STAKED_NODES_PER_ROLE_MAX,
            smallest: Amount(10),
        })
    );
    // A staked node may add to its stake, and the other role has room.
    let more = signed(
        &chain,
        &first[0],
        TxPayload::Stake {
            amount: Amount(1),
            role: TaskKind::Relay,
        },
    );
    submit(&mut chain, more);
    let t = one_more(&chain, TaskKind::Offer);
    block_with(&mut chain, vec![t]);
    // Once a node leaves entirely, there is room again.
    let leave = signed(
        &chain,
        &first[1],
        TxPayload::Unstake {
            amount: Amount(10),
            role: TaskKind::Relay,
        },
    );
    block_with(&mut chain, vec![leave]);
    let t = one_more(&chain, TaskKind::Relay);
    block_with(&mut chain, vec![t]);
    let staked = chain
        .staked_nodes_at(TaskKind::Relay, chain.tip().height)
        .unwrap();
    assert_eq!(staked.len(), STAKED_NODES_PER_ROLE_MAX);
    assert!(staked.iter().any(|(a, _)| *a == last.account()));
    assert!(!staked.iter().any(|(a, _)| *a == first[1].account()));
}

/// Issue 18 §5: squatters staking the least cannot lock others out of a full registry: a
/// larger stake takes the smallest one's place; the evicted keeps its stake, may unstake it,
/// and comes back by outbidding in turn.
#[test]
fn a_larger_stake_evicts_the_smallest_from_a_full_registry() {
    let (keys, mut chain) = one_more_staker_than_the_registry_holds("squatter");
    let (newcomer, squatters) = keys.split_last().unwrap();
    // Every squatter stakes 10 but one, which stakes 9: the smallest.
    let txs: Vec<Transaction> = squatters
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let amount = if i == 7 { Amount(9) } else { Amount(10) };
            signed(
                &chain,
                k,
                TxPayload::Stake {
                    amount,
                    role: TaskKind::Relay,
                },
            )
        })
        .collect();
    block_with(&mut chain, txs);
    let stake_of = |chain: &Chain, amount| {
        signed(
            chain,
            newcomer,
            TxPayload::Stake {
                amount: Amount(amount),
                role: TaskKind::Relay,
            },
        )
    };
    // Not above the smallest: refused, naming what it must exceed.
    let t = stake_of(&chain, 9);
    assert_eq!(
        refusal(&mut chain, t),
        TxError::Stake(StakeError::StakedNodesFull {
            role: TaskKind::Relay,
            nodes_max: STAKED_NODES_PER_ROLE_MAX,
            smallest: Amount(9),
        })
    );
    let t = stake_of(&chain, 11);
    block_with(&mut chain, vec![t]);
    let tip = chain.tip().height;
    let listed: Vec<AccountId> = chain
        .staked_nodes_at(TaskKind::Relay, tip)
        .unwrap()
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(listed.len(), STAKED_NODES_PER_ROLE_MAX);
    assert!(listed.contains(&newcomer.account()));
    let evicted = squatters[7].account();
    assert!(!listed.contains(&evicted), "the smallest left");
    assert_eq!(
        chain
            .stake_at(&evicted, tip)
            .unwrap()
            .stake(TaskKind::Relay),
        Amount(9),
        "its stake is still its own"
    );
    // It comes back by raising its stake above the smallest listed (10 now).
    let back = signed(
        &chain,
        &squatters[7],
        TxPayload::Stake {
            amount: Amount(2),
            role: TaskKind::Relay,
        },
    );
    block_with(&mut chain, vec![back]);
    let listed = chain
        .staked_nodes_at(TaskKind::Relay, chain.tip().height)
        .unwrap();
    assert!(listed.iter().any(|(a, _)| *a == evicted));
    assert_eq!(listed.len(), STAKED_NODES_PER_ROLE_MAX);
}

#[test]
fn a_reorg_undoes_unstakes_and_releases_of_the_losing_branch() {
    let params = ChainParams::dev();
    let mut a = Chain::in_memory(params.clone()).unwrap();
    let mut b = Chain::in_memory(params.clone()).unwrap();
    let bob = key("bob").account();
    let outsider = SecretKey::from_seed(b"outsider").account();
    // Both branches share block 1: bob stakes.
    let t = stake(&a, "bob", TaskKind::Offer, 1_000);
    let shared = block_with(&mut a, vec![t]);
    b.import_block(shared, u64::MAX / 2).unwrap();
    // Branch A: bob unstakes at 2, released at 2 + delay; one block more.
    let t = unstake(&a, "bob", TaskKind::Offer, 1_000);
    block_with(&mut a, vec![t]);
    let release_height = 2 + params.unbonding_delay_blocks;
    while a.tip().height <= release_height {
        let t = transfer(&a, "alice", outsider, 1);
        block_with(&mut a, vec![t]);
    }
    let a_tip = a.tip().height;
    assert_eq!(a.stake_at(&bob, a_tip).unwrap(), StakeRecord::default());
    assert!(
        a.staked_nodes_at(TaskKind::Offer, a_tip)
            .unwrap()
            .is_empty()
    );
    // Branch B: no unstake, and one block longer, so more work.
    let mut b_blocks = Vec::new();
    while b.tip().height <= a_tip {
        let t = transfer(&b, "carol", outsider, 2);
        b_blocks.push(block_with(&mut b, vec![t]));
    }
    for block in b_blocks {
        a.import_block(block, u64::MAX / 2).unwrap();
    }
    assert_eq!(a.tip().hash, b.tip().hash, "the heavier branch won");
    assert_eq!(a.tip().state_root, b.tip().state_root);
    let tip = a.tip().height;
    assert_eq!(
        a.stake_at(&bob, tip).unwrap(),
        StakeRecord {
            offerer: Amount(1_000),
            ..StakeRecord::default()
        }
    );
    assert_eq!(
        a.staked_nodes_at(TaskKind::Offer, tip).unwrap(),
        vec![(bob, Amount(1_000))]
    );
    assert_eq!(
        a.account(&bob).unwrap().balance,
        b.account(&bob).unwrap().balance
    );
}

#[test]
fn a_spend_of_an_amount_released_in_the_next_block_is_admitted_and_included_there() {
    let params = ChainParams::dev();
    let mut chain = Chain::in_memory(params.clone()).unwrap();
    let bob = key("bob").account();
    let outsider = SecretKey::from_seed(b"outsider").account();
    let all_but_fees = chain.account(&bob).unwrap().balance.0 - 100;
    let t = stake(&chain, "bob", TaskKind::Relay, all_but_fees);
    block_with(&mut chain, vec![t]);
    let t = unstake(&chain, "bob", TaskKind::Relay, all_but_fees);
    let unstaked = block_with(&mut chain, vec![t]).header.height;
    let release_height = unstaked + params.unbonding_delay_blocks;
    // Blocks up to the one before the release: bob cannot spend the unbonding amount yet.
    while chain.tip().height + 1 < release_height {
        let early = transfer(&chain, "bob", outsider, all_but_fees);
        assert!(matches!(
            refusal(&mut chain, early),
            TxError::Account(AccountError::InsufficientBalance { .. })
        ));
        let t = transfer(&chain, "alice", outsider, 1);
        block_with(&mut chain, vec![t]);
    }
    // The next block is the release block: the spend is admitted and included in it.
    let spend = transfer(&chain, "bob", outsider, all_but_fees);
    let block = block_with(&mut chain, vec![spend]);
    assert_eq!(block.header.height, release_height);
    assert_eq!(
        chain.account(&outsider).unwrap().balance.0,
        all_but_fees + u128::from(release_height - unstaked - 1)
    );
}

/// One step of a random run: who does what.
#[derive(Clone, Debug)]
enum Op {
    Transfer(usize, usize, u128),
    Stake(usize, bool, u128),
    Unstake(usize, bool, u128),
}

const NAMES: [&str; 3] = ["alice", "bob", "carol"];

fn role_of(offer: bool) -> TaskKind {
    if offer {
        TaskKind::Offer
    } else {
        TaskKind::Relay
    }
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        (0..3usize, 0..3usize, 1..5_000u128).prop_map(|(a, b, x)| Op::Transfer(a, b, x)),
        (0..3usize, any::<bool>(), 1..5_000u128).prop_map(|(a, r, x)| Op::Stake(a, r, x)),
        (0..3usize, any::<bool>(), 1..5_000u128).prop_map(|(a, r, x)| Op::Unstake(a, r, x)),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Any run of transfers, stakes and unstakes (some refused, at admission or at block
    /// building) conserves money in every block, and a replica that imports the blocks reaches
    /// the same state.
    #[test]
    fn any_run_of_stakes_unstakes_and_transfers_conserves_money(
        blocks in proptest::collection::vec(proptest::collection::vec(op(), 0..4), 1..10)
    ) {
        let params = ChainParams::dev();
        let mut chain = Chain::in_memory(params.clone()).unwrap();
        let mut accounts: Vec<AccountId> = NAMES.iter().map(|n| key(n).account()).collect();
        accounts.push(key("dave").account());
        let genesis_supply: u128 = params.genesis_allocations.iter().map(|(_, a)| a.0).sum();
        let mut produced = Vec::new();
        for ops in &blocks {
            for op in ops {
                let t = match *op {
                    Op::Transfer(a, b, x) => transfer(&chain, NAMES[a], accounts[b], x),
                    Op::Stake(a, r, x) => stake(&chain, NAMES[a], role_of(r), x),
                    Op::Unstake(a, r, x) => unstake(&chain, NAMES[a], role_of(r), x),
                };
                // A refusal (unstaking more than staked) leaves the state as it was.
                let _ = chain.submit_transaction(t);
            }
            let time_ms = chain.tip().time_ms.max(params.genesis_time_ms) + 1_000;
            let block = chain
                .produce_block(key("dave").account(), time_ms, true, u64::MAX)
                .unwrap()
                .expect("a block");
            produced.push(block);
            proptest::prop_assert_eq!(supply(&chain, &accounts), genesis_supply);
            let height = chain.tip().height;
            for role in [TaskKind::Offer, TaskKind::Relay] {
                let listed = chain.staked_nodes_at(role, height).unwrap();
                let staked: Vec<(AccountId, Amount)> = accounts
                    .iter()
                    .map(|a| (*a, chain.stake_at(a, height).unwrap().stake(role)))
                    .filter(|(_, s)| *s > Amount::ZERO)
                    .collect();
                proptest::prop_assert_eq!(listed, sorted(staked), "the registry lists the staked");
            }
        }
        let mut replica = Chain::in_memory(params).unwrap();
        for block in produced {
            replica.import_block(block, u64::MAX / 2).unwrap();
        }
        proptest::prop_assert_eq!(replica.tip().state_root, chain.tip().state_root);
    }
}
