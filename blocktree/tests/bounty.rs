//! Integration tests of bounties on the root: PostBounty escrows and pins, LineupProof draws
//! the lineup, Settle pays the split and records successes, expiry refunds and records a
//! failure; money is conserved in every root block of a run that does all of it; every
//! refusal is named with its stable code; a bounty ends exactly once; a reorg undoes a settle;
//! a Dispute re-executes the transformation and burns the stake of whoever signed a wrong
//! result.

mod common;

use bitverse_blocktree::error::codes;
use bitverse_blocktree::{
    AccountError, BOUNTY_INPUTS_MAX, Block, Bounty, BountyError, BountyStatus, Chain, ChainError,
    ChainParams, EXPIRY_BLOCKS_MAX, KeyspaceError, OPEN_BOUNTIES_PER_ACCOUNT_MAX, Slash,
    StatelessError, Transaction, TxError, TxPayload, TxStatus, UnsignedTx,
};
use bitverse_pricing::{EVENT_WEIGHT, HOPS_MAX, TaskKind};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey};
use bitverse_relay_lineup::{Envelope, LineupError, LineupProof, settlement_shares};
use common::signed_on_root as signed;
use proptest::prelude::*;

const TRANSFORM: &str = "filters/bw";
const INPUT: &str = "photos/1";
/// The key of a transformation that never ends.
const LOOP: &str = "filters/loop";
/// A transformation that outputs its first input, then its arguments.
const ECHO_WAT: &str = r#"(module
  (import "bitverse_transform_v1" "input_len" (func $input_len (param i32) (result i32)))
  (import "bitverse_transform_v1" "input_read" (func $input_read (param i32 i32 i32 i32)))
  (import "bitverse_transform_v1" "args_len" (func $args_len (result i32)))
  (import "bitverse_transform_v1" "args_read" (func $args_read (param i32 i32 i32)))
  (import "bitverse_transform_v1" "output_write" (func $output_write (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "transform") (result i32)
    (call $input_read (i32.const 0) (i32.const 0) (i32.const 0) (call $input_len (i32.const 0)))
    (call $output_write (i32.const 0) (call $input_len (i32.const 0)))
    (call $args_read (i32.const 0) (i32.const 0) (call $args_len))
    (call $output_write (i32.const 0) (call $args_len))
    (i32.const 0)))"#;
/// A transformation that loops until its fuel runs out.
const LOOP_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "transform") (result i32) (loop $forever (br $forever)) (i32.const 0)))"#;
const ARGS: &[u8] = b"64";
const PHOTO: &[u8] = b"a photo's bytes";
const FUEL_BUDGET: u64 = 5_000_000;

/// alice requests, bob offers, carol, dave and erin relay, dave mines every block.
struct Market {
    chain: Chain,
    keys: Vec<SecretKey>,
}

fn key(name: &str) -> SecretKey {
    match name {
        "erin" => SecretKey::from_seed(b"erin"),
        _ => SecretKey::dev(name),
    }
}

fn account(name: &str) -> AccountId {
    key(name).account()
}

/// Every account that holds money here.
fn accounts() -> Vec<AccountId> {
    ["alice", "bob", "carol", "dave", "erin"]
        .iter()
        .map(|n| account(n))
        .collect()
}

impl Market {
    /// Block 1: alice buys `filters` and `photos` on the root and funds erin; bob stakes as
    /// offerer; carol, dave stake as relayers. Block 2: erin stakes as relayer; alice puts
    /// the module and the photo. Each block is checked for conservation.
    fn new(params: ChainParams) -> Market {
        let mut market = Market {
            chain: Chain::in_memory(params).unwrap(),
            keys: ["alice", "bob", "carol", "dave", "erin"]
                .iter()
                .map(|n| key(n))
                .collect(),
        };
        market.check_conservation();
        let price = market.chain.params().root.storage_price_per_byte;
        for name in ["filters", "photos"] {
            market.submit(
                "alice",
                TxPayload::BuyKeyspace {
                    name: name.into(),
                    owner: account("alice"),
                    quota_bytes: 4096,
                    prepaid: Amount(price.0 * 4096),
                    script: None,
                    depth: 0,
                },
            );
        }
        market.submit(
            "alice",
            TxPayload::Transfer {
                to: account("erin"),
                amount: Amount(10_000_000),
            },
        );
        market.submit("bob", stake(TaskKind::Offer, 1_000_000));
        market.submit("carol", stake(TaskKind::Relay, 400_000));
        market.submit("dave", stake(TaskKind::Relay, 300_000));
        market.seal();
        market.submit("erin", stake(TaskKind::Relay, 200_000));
        market.submit(
            "alice",
            TxPayload::Put {
                key: TRANSFORM.into(),
                value: wat::parse_str(ECHO_WAT).unwrap(),
            },
        );
        market.submit(
            "alice",
            TxPayload::Put {
                key: LOOP.into(),
                value: wat::parse_str(LOOP_WAT).unwrap(),
            },
        );
        market.submit(
            "alice",
            TxPayload::Put {
                key: INPUT.into(),
                value: PHOTO.to_vec(),
            },
        );
        market.seal();
        market
    }

    /// `who` disputes bounty `id` with the two envelopes; the block is sealed; returns who was
    /// slashed (panics if the bounty did not end disputed).
    /// `revealed` is the result hash `second` commits to.
    fn disputed(
        &mut self,
        who: &str,
        id: Hash,
        first: Envelope,
        second: Envelope,
        revealed: Hash,
    ) -> Vec<Slash> {
        self.submit(
            who,
            TxPayload::Dispute {
                bounty: id,
                first: Box::new(first),
                second: Box::new(second),
                result_hash: revealed,
            },
        );
        self.seal();
        match self.bounty(&id).status {
            BountyStatus::Disputed { slashed, .. } => slashed,
            other => panic!("not disputed: {other:?}"),
        }
    }

    fn key_of(&self, account: &AccountId) -> &SecretKey {
        self.keys.iter().find(|k| k.account() == *account).unwrap()
    }

    fn tx(&self, who: &str, payload: TxPayload) -> Transaction {
        signed(&self.chain, &key(who), payload)
    }

    fn submit(&mut self, who: &str, payload: TxPayload) -> Hash {
        let t = self.tx(who, payload);
        self.chain.submit_transaction(t).unwrap()
    }

    fn refusal(&mut self, who: &str, payload: TxPayload) -> TxError {
        let t = self.tx(who, payload);
        match self.chain.submit_transaction(t) {
            Err(ChainError::Tx(e)) => e,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// One block (mined by dave) one root interval after the tip, holding every pending
    /// transaction that applies; then the conservation check.
    fn seal_allowing_drops(&mut self) -> Block {
        let time_ms = self
            .chain
            .tip()
            .time_ms
            .max(self.chain.params().genesis_time_ms)
            + 1_000;
        let block = self
            .chain
            .produce_block(account("dave"), time_ms, true, u64::MAX)
            .unwrap()
            .expect("a block");
        self.check_conservation();
        block
    }

    /// [`Market::seal_allowing_drops`], asserting that every pending transaction went in.
    fn seal(&mut self) -> Block {
        let count = self.chain.mempool_len();
        let block = self.seal_allowing_drops();
        assert_eq!(
            block.transactions.len(),
            count,
            "every transaction included"
        );
        block
    }

    fn height(&self) -> u64 {
        self.chain.tip().height
    }

    /// Posts a bounty from alice over the module and the photo pinned at the tip, for bob;
    /// returns its id (the transaction's id).
    /// It expires `expiry_in_blocks` after the block it goes in (the next one).
    /// Bob accepted it, as the market's offers do.
    fn post(&mut self, amount: u128, hops: u8, expiry_in_blocks: u64) -> Hash {
        let payload = accepted(self.bounty_payload(amount, hops, expiry_in_blocks));
        self.submit("alice", payload)
    }

    /// A bounty from alice for bob, not yet accepted (see [`accepted`]).
    fn bounty_payload(&self, amount: u128, hops: u8, expiry_in_blocks: u64) -> TxPayload {
        TxPayload::PostBounty {
            amount: Amount(amount),
            transform: TRANSFORM.into(),
            inputs: vec![INPUT.into()],
            args: ARGS.to_vec(),
            pinned_height: self.height(),
            hops,
            offerer: account("bob"),
            fuel_budget: FUEL_BUDGET,
            // Counted from the block the bounty goes in, the one after the tip.
            expiry_height: self.height() + 1 + expiry_in_blocks,
            deep_values: Vec::new(),
            acceptance: None,
        }
    }

    fn bounty(&self, id: &Hash) -> Bounty {
        self.chain.bounty_at(id, self.height()).unwrap().unwrap()
    }

    /// A lineup proof over `id` found by `finder` at the network's difficulty.
    fn proof(&self, id: Hash, finder: &str) -> LineupProof {
        let difficulty = self.chain.params().lineup_difficulty;
        LineupProof::find(id, account(finder), difficulty, 0, difficulty * 64).unwrap()
    }

    /// The complete, honest envelope chain of bounty `id` as drawn.
    fn envelopes(&self, id: &Hash) -> Vec<Envelope> {
        let bounty = self.bounty(id);
        let (result, fuel_used) = honest_result();
        let mut chain = vec![Envelope::offer(
            self.key_of(&bounty.offerer),
            *id,
            result,
            fuel_used,
        )];
        let relayers = bounty.lineup.map(|l| l.relayers).unwrap_or_default();
        for relayer in relayers {
            let previous = *chain.last().unwrap();
            chain.push(Envelope::relay(
                self.key_of(&relayer),
                &previous,
                result,
                fuel_used,
            ));
        }
        chain
    }

    /// Balances, stakes, unbonding, the root's endowment pool and the bounties' escrow equal
    /// the genesis supply (dev pays no subsidy); the escrow total equals the open bounties'
    /// amounts, which the test lists itself.
    fn check_conservation(&self) {
        let height = self.height();
        let mut supply: u128 = 0;
        for a in accounts() {
            supply += self.chain.account(&a).unwrap().balance.0;
            supply += self
                .chain
                .stake_at(&a, height)
                .unwrap()
                .escrow_total()
                .unwrap()
                .0;
        }
        supply += self.chain.endowment_pool(&ChainId::ROOT).unwrap().held().0;
        let totals = self.chain.bounty_totals_at(height).unwrap();
        supply += totals.escrowed.0;
        // Burnt by disputes: out of the supply for good.
        supply += totals.burnt.0;
        let genesis: u128 = self
            .chain
            .params()
            .genesis_allocations
            .iter()
            .map(|(_, a)| a.0)
            .sum();
        let subsidies = self.chain.params().block_subsidy.0 * u128::from(height);
        assert_eq!(
            supply,
            genesis + subsidies,
            "money conserved at height {height}"
        );
    }
}

/// The result and fuel of the echo transformation over the photo, run here by the test's own
/// sandbox: the reference every honest participant computes.
/// `payload`, a bounty from alice, with its offerer's signature over its terms.
fn accepted(mut payload: TxPayload) -> TxPayload {
    let terms = payload.bounty_terms(account("alice")).expect("a bounty");
    let offerer_key = NAMES
        .iter()
        .map(|name| key(name))
        .find(|k| k.account() == terms.offerer)
        .expect("a named offerer");
    let signature = offerer_key.sign(&terms.acceptance_hash());
    if let TxPayload::PostBounty { acceptance, .. } = &mut payload {
        *acceptance = Some(signature);
    }
    payload
}

fn honest_result() -> (Hash, u64) {
    let runner = bitverse_compute::TransformRunner::new().unwrap();
    let outcome = runner
        .run(
            &wat::parse_str(ECHO_WAT).unwrap(),
            bitverse_compute::TransformRequest {
                inputs: vec![PHOTO.to_vec()],
                args: ARGS.to_vec(),
                fuel_max: FUEL_BUDGET,
            },
        )
        .unwrap();
    let output = outcome.result.unwrap();
    assert_eq!(
        output,
        [PHOTO, ARGS].concat(),
        "the echo transformation's output"
    );
    (Hash::digest(&output), outcome.fuel_used)
}

fn stake(role: TaskKind, amount: u128) -> TxPayload {
    TxPayload::Stake {
        amount: Amount(amount),
        role,
    }
}

fn open_escrow(market: &Market, ids: &[Hash]) -> u128 {
    ids.iter()
        .filter_map(|id| market.chain.bounty_at(id, market.height()).unwrap())
        .filter(|b| b.status == BountyStatus::Open)
        .map(|b| b.amount.0)
        .sum()
}

/// `who`'s estimated failure rate as an offerer at the tip, as a quote reads it.
fn offer_failure_ppm(market: &Market, who: &str) -> u32 {
    let height = market.height();
    market
        .chain
        .reliability_record_at(&account(who), TaskKind::Offer, height)
        .unwrap()
        .unwrap_or_default()
        .estimate_at(height, &market.chain.params().ledger)
        .unwrap()
        .failure_ppm
}

fn record(market: &Market, who: &str, kind: TaskKind) -> (u64, u64) {
    let r = market
        .chain
        .reliability_record_at(&account(who), kind, market.height())
        .unwrap()
        .unwrap_or_default();
    (r.successes / EVENT_WEIGHT, r.failures / EVENT_WEIGHT)
}

#[test]
fn posting_drawing_settling_and_expiring_conserve_money_in_every_root_block() {
    let mut m = Market::new(ChainParams::dev());
    let pinned = m.height();
    let alice_before = m.chain.account(&account("alice")).unwrap().balance.0;

    // Block 3: three bounties: 0 hops, 2 hops, and one left to expire.
    let solo = m.post(10_000, 0, 20);
    let relayed = m.post(90_001, 2, 20);
    let silent = m.post(7_000, 0, 4);
    m.seal();
    let ids = [solo, relayed, silent];
    let totals = m.chain.bounty_totals_at(m.height()).unwrap();
    assert_eq!(totals.open, 3);
    assert_eq!(totals.escrowed.0, 10_000 + 90_001 + 7_000);
    assert_eq!(open_escrow(&m, &ids), totals.escrowed.0);
    assert_eq!(
        m.chain.account(&account("alice")).unwrap().balance.0,
        alice_before
            - (10_000 + 90_001 + 7_000)
            - 9
            - m.chain.params().bounty_price_per_block.0 * (20 + 20 + 4),
        "the amounts, fees and holding (per block each may stay open) left alice's balance"
    );
    let posted = m.bounty(&relayed);
    assert_eq!(posted.pinned_height, pinned);
    assert_eq!(posted.posted_height, 3);
    assert_eq!(
        posted.transform.value_hash,
        Hash::digest(&wat::parse_str(ECHO_WAT).unwrap())
    );
    assert_eq!(posted.inputs[0].value_hash, Hash::digest(PHOTO));
    assert_eq!(posted.args, b"64".to_vec());
    assert_eq!(posted.status, BountyStatus::Open);
    assert_eq!(posted.lineup, None);
    assert_eq!(
        m.chain.open_bounties_of_at(&account("alice"), 3).unwrap(),
        3
    );

    // Block 4: erin publishes the lineup proof; the solo bounty settles.
    let proof = m.proof(relayed, "erin");
    m.submit("erin", TxPayload::LineupProof { proof });
    let chain = m.envelopes(&solo);
    m.submit(
        "carol",
        TxPayload::Settle {
            bounty: solo,
            result_hash: honest_result().0,
            chain,
        },
    );
    let bob_before = m.chain.account(&account("bob")).unwrap().balance.0;
    m.seal();
    let lineup = m.bounty(&relayed).lineup.expect("drawn");
    assert_eq!(lineup.finder, account("erin"));
    assert_eq!(lineup.seed, proof.hash());
    assert_eq!(lineup.relayers.len(), 2);
    assert!(!lineup.relayers.contains(&account("alice")));
    assert!(!lineup.relayers.contains(&account("bob")));
    assert_eq!(
        m.chain.account(&account("bob")).unwrap().balance.0,
        bob_before + 10_000,
        "a 0-hop bounty pays its offerer all of it"
    );
    assert!(matches!(
        m.bounty(&solo).status,
        BountyStatus::Settled { height: 4, .. }
    ));
    assert_eq!(record(&m, "bob", TaskKind::Offer), (1, 0));
    // latency: one block at the root's 1 s target.
    let bob_record = m
        .chain
        .reliability_record_at(&account("bob"), TaskKind::Offer, 4)
        .unwrap()
        .unwrap();
    assert_eq!(bob_record.latency_ms_total, 1_000);

    // Block 5: the relayed bounty settles, sent by someone outside it.
    let before: Vec<u128> = accounts()
        .iter()
        .map(|a| m.chain.account(a).unwrap().balance.0)
        .collect();
    let chain = m.envelopes(&relayed);
    assert_eq!(chain.len(), 3);
    let settle = m.tx(
        "alice",
        TxPayload::Settle {
            bounty: relayed,
            result_hash: honest_result().0,
            chain,
        },
    );
    m.chain.submit_transaction(settle).unwrap();
    m.seal();
    let shares =
        settlement_shares(Amount(90_001), 2, m.chain.params().quote.finder_share_ppm).unwrap();
    let after: Vec<u128> = accounts()
        .iter()
        .map(|a| m.chain.account(a).unwrap().balance.0)
        .collect();
    let gained = |name: &str| {
        let i = accounts().iter().position(|a| *a == account(name)).unwrap();
        after[i] as i128 - before[i] as i128
    };
    let dave_fees_and_release = {
        // dave mined block 5: its fee (3) and the pool's release are his besides any share.
        let share = if lineup.relayers.contains(&account("dave")) {
            shares.each_relayer.0
        } else {
            0
        };
        gained("dave") - share as i128
    };
    assert!(dave_fees_and_release >= 3);
    assert_eq!(gained("bob"), shares.offerer.0 as i128);
    assert_eq!(gained("alice"), -3, "alice paid the fee only");
    for relayer in ["carol", "erin"] {
        let expected = if lineup.relayers.contains(&account(relayer)) {
            shares.each_relayer.0
        } else {
            0
        } + if relayer == "erin" {
            shares.finder.0
        } else {
            0
        };
        assert_eq!(gained(relayer), expected as i128, "{relayer}'s share");
    }
    assert_eq!(record(&m, "bob", TaskKind::Offer), (2, 0));
    for relayer in &lineup.relayers {
        let r = m
            .chain
            .reliability_record_at(relayer, TaskKind::Relay, 5)
            .unwrap()
            .unwrap();
        assert_eq!(r.successes, EVENT_WEIGHT, "the relayer's success");
        assert_eq!(r.latency_ms_total, 2_000, "posted at 3, settled at 5");
    }

    // Blocks 6 and 7: nothing for the silent bounty; it expires at the start of block 7.
    assert_eq!(m.bounty(&silent).expiry_height, 7);
    let alice_at_6 = {
        m.submit(
            "carol",
            TxPayload::Transfer {
                to: account("erin"),
                amount: Amount(1),
            },
        );
        m.seal();
        m.chain.account(&account("alice")).unwrap().balance.0
    };
    assert_eq!(m.bounty(&silent).status, BountyStatus::Open);
    let failure_before_expiry = offer_failure_ppm(&m, "bob");
    m.submit(
        "carol",
        TxPayload::Transfer {
            to: account("erin"),
            amount: Amount(1),
        },
    );
    m.seal();
    assert_eq!(
        m.bounty(&silent).status,
        BountyStatus::Expired { height: 7 }
    );
    assert_eq!(
        m.chain.account(&account("alice")).unwrap().balance.0,
        alice_at_6 + 7_000,
        "refunded to the requester"
    );
    assert_eq!(
        record(&m, "bob", TaskKind::Offer),
        (2, 1),
        "a failure for the offerer"
    );
    // And the quotes move: bob's estimated failure rate, what every tier's bound starts from,
    // rose with it.
    assert!(
        offer_failure_ppm(&m, "bob") > failure_before_expiry,
        "{} after, {failure_before_expiry} before",
        offer_failure_ppm(&m, "bob")
    );
    let totals = m.chain.bounty_totals_at(m.height()).unwrap();
    assert_eq!(totals.open, 0);
    assert_eq!(totals.escrowed, Amount::ZERO);
    assert_eq!(open_escrow(&m, &ids), 0);
    assert_eq!(
        m.chain.open_bounties_of_at(&account("alice"), 7).unwrap(),
        0
    );
    assert!(m.chain.bounties_expiring_at(7, 7).unwrap().is_empty());
    // The settled bounties listed at their expiry height are skipped there: nothing moves.
    let alice_at_7 = m.chain.account(&account("alice")).unwrap().balance.0;
    while m.height() < 23 {
        m.submit(
            "carol",
            TxPayload::Transfer {
                to: account("erin"),
                amount: Amount(1),
            },
        );
        m.seal();
    }
    assert_eq!(
        m.chain.account(&account("alice")).unwrap().balance.0,
        alice_at_7
    );
    assert!(matches!(
        m.bounty(&solo).status,
        BountyStatus::Settled { height: 4, .. }
    ));
    assert!(matches!(
        m.bounty(&relayed).status,
        BountyStatus::Settled { height: 5, .. }
    ));
    assert_eq!(record(&m, "bob", TaskKind::Offer), (2, 1));
}

/// What a refusal must be.
type Refusal = dyn Fn(&TxError) -> bool;

#[test]
fn malformed_bounties_are_refused_with_their_codes() {
    let mut m = Market::new(ChainParams::dev());
    let good = accepted(m.bounty_payload(1_000, 0, 10));
    // Each case breaks one rule; bob's acceptance, which no longer matches, goes (a bounty
    // need not carry one).
    let with = |change: &dyn Fn(&mut TxPayload)| {
        let mut payload = good.clone();
        change(&mut payload);
        if let TxPayload::PostBounty { acceptance, .. } = &mut payload {
            *acceptance = None;
        }
        payload
    };
    let mut with_stale_acceptance = good.clone();
    if let TxPayload::PostBounty { amount, .. } = &mut with_stale_acceptance {
        *amount = Amount(999);
    }
    let cases: Vec<(TxPayload, i32, &Refusal)> = vec![
        // Issue 18 §5: an acceptance of other terms (here a higher amount) is no acceptance.
        (
            with_stale_acceptance,
            codes::BAD_ACCEPTANCE,
            &|e| matches!(e, TxError::Stateless(StatelessError::BadAcceptance { offerer }) if *offerer == account("bob")),
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { amount, .. } = p {
                    *amount = Amount::ZERO;
                }
            }),
            codes::ZERO_BOUNTY_AMOUNT,
            &|e| *e == TxError::Stateless(StatelessError::ZeroBountyAmount),
        ),
        // Issue 18 §5: a requester naming itself as offerer would farm successes.
        (
            with(&|p| {
                if let TxPayload::PostBounty { offerer, .. } = p {
                    *offerer = account("alice");
                }
            }),
            codes::OFFERER_IS_REQUESTER,
            &|e| matches!(e, TxError::Stateless(StatelessError::OffererIsRequester { account: a }) if *a == account("alice")),
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { inputs, .. } = p {
                    *inputs = vec![INPUT.into(); BOUNTY_INPUTS_MAX + 1];
                }
            }),
            codes::TOO_MANY_BOUNTY_INPUTS,
            &|e| matches!(e, TxError::Stateless(StatelessError::TooManyBountyInputs { count, .. }) if *count == BOUNTY_INPUTS_MAX + 1),
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { hops, .. } = p {
                    *hops = HOPS_MAX + 1;
                }
            }),
            codes::TOO_MANY_HOPS,
            &|e| matches!(e, TxError::Stateless(StatelessError::TooManyHops { .. })),
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { fuel_budget, .. } = p {
                    *fuel_budget = 0;
                }
            }),
            codes::FUEL_BUDGET_OUT_OF_RANGE,
            &|e| {
                matches!(
                    e,
                    TxError::Stateless(StatelessError::FuelBudgetOutOfRange { fuel_budget: 0, .. })
                )
            },
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { fuel_budget, .. } = p {
                    *fuel_budget = bitverse_compute::transform::FUEL_PER_TRANSFORM_MAX + 1;
                }
            }),
            codes::FUEL_BUDGET_OUT_OF_RANGE,
            &|e| {
                matches!(
                    e,
                    TxError::Stateless(StatelessError::FuelBudgetOutOfRange { .. })
                )
            },
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { args, .. } = p {
                    *args = vec![0; bitverse_compute::transform::ARGS_SIZE_BYTES_MAX + 1];
                }
            }),
            codes::BOUNTY_ARGS_TOO_LARGE,
            &|e| {
                matches!(
                    e,
                    TxError::Stateless(StatelessError::BountyArgsTooLarge { .. })
                )
            },
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { pinned_height, .. } = p {
                    *pinned_height = 3;
                }
            }),
            codes::PIN_HEIGHT_OUT_OF_RANGE,
            &|e| {
                matches!(
                    e,
                    TxError::Bounty(BountyError::PinHeightOutOfRange {
                        pinned_height: 3,
                        highest: 2,
                        ..
                    })
                )
            },
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { expiry_height, .. } = p {
                    *expiry_height = 3;
                }
            }),
            codes::EXPIRY_OUT_OF_RANGE,
            &|e| {
                matches!(
                    e,
                    TxError::Bounty(BountyError::ExpiryOutOfRange { lowest: 4, .. })
                )
            },
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { expiry_height, .. } = p {
                    *expiry_height = 3 + EXPIRY_BLOCKS_MAX + 1;
                }
            }),
            codes::EXPIRY_OUT_OF_RANGE,
            &|e| matches!(e, TxError::Bounty(BountyError::ExpiryOutOfRange { .. })),
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { inputs, .. } = p {
                    *inputs = vec!["photos/none".into()];
                }
            }),
            codes::PINNED_KEY_MISSING,
            &|e| matches!(e, TxError::Bounty(BountyError::PinnedKeyMissing { key, height: 2 }) if key == "photos/none"),
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { transform, .. } = p {
                    *transform = "nobody/bw".into();
                }
            }),
            codes::UNKNOWN_KEYSPACE,
            &|e| matches!(e, TxError::Keyspace(KeyspaceError::UnknownKeyspace(_))),
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { offerer, .. } = p {
                    *offerer = account("carol");
                }
            }),
            codes::OFFERER_NOT_STAKED,
            &|e| {
                matches!(
                    e,
                    TxError::Bounty(BountyError::OffererNotStaked { height: 2, .. })
                )
            },
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { hops, .. } = p {
                    *hops = 4;
                }
            }),
            codes::TIER_UNAVAILABLE,
            &|e| {
                *e == TxError::Bounty(BountyError::TierUnavailable {
                    hops: 4,
                    eligible: 3,
                })
            },
        ),
        (
            with(&|p| {
                if let TxPayload::PostBounty { amount, .. } = p {
                    *amount = Amount(u128::MAX / 2);
                }
            }),
            codes::INSUFFICIENT_BALANCE,
            &|e| {
                matches!(
                    e,
                    TxError::Account(AccountError::InsufficientBalance { .. })
                )
            },
        ),
    ];
    for (payload, code, is) in cases {
        let e = m.refusal("alice", payload.clone());
        assert!(is(&e), "{payload:?} refused as {e:?}");
        assert_eq!(e.code(), code, "{e}");
    }
    // A bounty on a data chain is refused before any state is read.
    let data = ChainId::new(1, 0).unwrap();
    let on_data = UnsignedTx {
        chain: data,
        sender: account("alice"),
        nonce: 0,
        fee: Amount::ZERO,
        payload: good.clone(),
    }
    .sign(&key("alice"));
    assert_eq!(
        on_data.check_stateless(data),
        Err(StatelessError::RootOnly { chain: data })
    );

    // An input changed after the pinned height is pinned to its value at that height.
    let pinned_at_2 = m.bounty_payload(1_000, 0, 10);
    m.submit(
        "alice",
        TxPayload::Put {
            key: INPUT.into(),
            value: b"another photo".to_vec(),
        },
    );
    m.seal();
    let id = m.submit("alice", pinned_at_2);
    m.seal();
    assert_eq!(m.bounty(&id).inputs[0].value_hash, Hash::digest(PHOTO));
    // A key put after the pinned height has no value there.
    let pinned_at_4 = m.bounty_payload(1_000, 0, 10);
    m.submit(
        "alice",
        TxPayload::Put {
            key: "photos/2".into(),
            value: PHOTO.to_vec(),
        },
    );
    m.seal();
    let mut early = pinned_at_4;
    if let TxPayload::PostBounty { inputs, .. } = &mut early {
        *inputs = vec!["photos/2".into()];
    }
    assert!(matches!(
        m.refusal("alice", early),
        TxError::Bounty(BountyError::PinnedKeyMissing { height: 4, .. })
    ));
    assert_eq!(m.chain.bounty_totals_at(m.height()).unwrap().open, 1);
}

/// Issue 18 §5: a requester could burn any offerer's record by naming it in bounties it never
/// agreed to and letting them expire; and a record moved as much for a bounty of one base unit
/// as for a real one.
#[test]
fn only_an_accepted_bounty_counts_against_its_offerer_and_by_its_amount() {
    let mut m = Market::new(ChainParams::dev());
    let raw = |m: &Market| {
        m.chain
            .reliability_record_at(&account("bob"), TaskKind::Offer, m.height())
            .unwrap()
            .unwrap_or_default()
            .failures
    };
    // Named without bob's acceptance: it expires, and bob's record is untouched.
    let unaccepted = m.bounty_payload(1_000, 0, 2);
    let id = m.submit("alice", unaccepted);
    m.seal();
    assert!(!m.bounty(&id).accepted);
    for _ in 0..3 {
        m.seal();
    }
    assert!(matches!(m.bounty(&id).status, BountyStatus::Expired { .. }));
    assert_eq!(raw(&m), 0, "no failure for an offerer that never agreed");
    // Accepted at a quarter of a full event's amount: it counts, a quarter of a failure.
    let full = m.chain.params().ledger.full_event_amount.0;
    let id = m.post(full / 4, 0, 2);
    m.seal();
    assert!(m.bounty(&id).accepted);
    for _ in 0..3 {
        m.seal();
    }
    assert!(matches!(m.bounty(&id).status, BountyStatus::Expired { .. }));
    assert_eq!(raw(&m), EVENT_WEIGHT / 4);
}

#[test]
fn open_bounties_per_requester_are_bounded() {
    let mut m = Market::new(ChainParams::dev());
    for _ in 0..OPEN_BOUNTIES_PER_ACCOUNT_MAX {
        m.post(100, 0, 50);
    }
    m.seal();
    let payload = m.bounty_payload(100, 0, 50);
    let e = m.refusal("alice", payload);
    assert_eq!(
        e,
        TxError::Bounty(BountyError::TooManyOpenBounties {
            account: account("alice"),
            max: OPEN_BOUNTIES_PER_ACCOUNT_MAX
        })
    );
    assert_eq!(e.code(), codes::TOO_MANY_OPEN_BOUNTIES);
    // Another requester is not held back by alice's bounties.
    let payload = m.bounty_payload(100, 0, 50);
    m.submit("carol", payload);
    m.seal();
    assert_eq!(
        m.chain.bounty_totals_at(m.height()).unwrap().open,
        OPEN_BOUNTIES_PER_ACCOUNT_MAX as u64 + 1
    );
}

#[test]
fn lineups_and_settlements_that_do_not_check_are_refused_with_their_codes() {
    let mut params = ChainParams::dev();
    params.lineup_difficulty = 1 << 10;
    let mut m = Market::new(params);
    let solo = m.post(5_000, 0, 30);
    let relayed = m.post(9_000, 2, 30);
    m.seal();

    let unknown = Hash::digest(b"no such bounty");
    let e = m.refusal(
        "carol",
        TxPayload::Settle {
            bounty: unknown,
            result_hash: Hash::ZERO,
            chain: vec![],
        },
    );
    assert_eq!(
        (e.clone(), e.code()),
        (
            TxError::Bounty(BountyError::UnknownBounty(unknown)),
            codes::UNKNOWN_BOUNTY
        )
    );
    let e = m.refusal(
        "carol",
        TxPayload::LineupProof {
            proof: m.proof(solo, "carol"),
        },
    );
    assert_eq!(
        (e.clone(), e.code()),
        (
            TxError::Bounty(BountyError::NoLineupForTier(solo)),
            codes::NO_LINEUP_FOR_TIER
        )
    );
    let chain = vec![Envelope::offer(&key("bob"), relayed, Hash::ZERO, 1)];
    let e = m.refusal(
        "carol",
        TxPayload::Settle {
            bounty: relayed,
            result_hash: Hash::ZERO,
            chain,
        },
    );
    assert_eq!(
        (e.clone(), e.code()),
        (
            TxError::Bounty(BountyError::LineupNotDrawn(relayed)),
            codes::LINEUP_NOT_DRAWN
        )
    );

    // A proof below the difficulty.
    let weak = (0u64..)
        .map(|nonce| LineupProof {
            bounty: relayed,
            finder: account("erin"),
            nonce,
        })
        .find(|p| !p.meets(1 << 10))
        .unwrap();
    let e = m.refusal("erin", TxPayload::LineupProof { proof: weak });
    assert_eq!(
        (e.clone(), e.code()),
        (
            TxError::Bounty(BountyError::BadLineupProof(
                LineupError::ProofBelowDifficulty {
                    difficulty: 1 << 10
                }
            )),
            codes::BAD_LINEUP_PROOF
        )
    );
    let first = m.proof(relayed, "erin");
    m.submit("erin", TxPayload::LineupProof { proof: first });
    m.seal();
    let second = LineupProof::find(relayed, account("carol"), 1 << 10, 0, 1 << 20).unwrap();
    let e = m.refusal("carol", TxPayload::LineupProof { proof: second });
    assert_eq!(
        (e.clone(), e.code()),
        (
            TxError::Bounty(BountyError::LineupAlreadyDrawn(relayed)),
            codes::LINEUP_ALREADY_DRAWN
        )
    );
    assert_eq!(m.bounty(&relayed).lineup.unwrap().seed, first.hash());

    // Envelope chains that do not check: each refused, nothing paid.
    let honest = m.envelopes(&relayed);
    let lineup = m.bounty(&relayed).lineup.unwrap().relayers;
    let mut forged = honest.clone();
    forged[2] = Envelope::relay(
        &key("alice"),
        &honest[1],
        honest_result().0,
        honest[0].fuel_used,
    );
    let mut lying = honest.clone();
    lying[1] = Envelope::relay(
        m.key_of(&lineup[0]),
        &honest[0],
        Hash::digest(b"else"),
        honest[0].fuel_used,
    );
    lying[2] = Envelope::relay(
        m.key_of(&lineup[1]),
        &lying[1],
        honest_result().0,
        honest[0].fuel_used,
    );
    let mut over_budget = vec![Envelope::offer(
        &key("bob"),
        relayed,
        Hash::ZERO,
        FUEL_BUDGET + 1,
    )];
    for relayer in &lineup {
        let previous = *over_budget.last().unwrap();
        over_budget.push(Envelope::relay(
            m.key_of(relayer),
            &previous,
            Hash::ZERO,
            FUEL_BUDGET + 1,
        ));
    }
    let cases: Vec<(Vec<Envelope>, LineupError)> = vec![
        (vec![], LineupError::EmptyChain),
        (
            honest[..2].to_vec(),
            LineupError::ChainIncomplete {
                length: 2,
                expected: 3,
            },
        ),
        (
            forged,
            LineupError::WrongSigner {
                position: 2,
                expected: lineup[1],
                found: account("alice"),
            },
        ),
        (
            over_budget,
            LineupError::FuelOverBudget {
                position: 0,
                fuel_used: FUEL_BUDGET + 1,
                fuel_budget: FUEL_BUDGET,
            },
        ),
        (
            m.envelopes(&solo),
            LineupError::ChainTooLong { length: 1, max: 3 },
        ),
    ];
    for (chain, why) in cases {
        let e = m.refusal(
            "carol",
            TxPayload::Settle {
                bounty: relayed,
                result_hash: honest_result().0,
                chain,
            },
        );
        if let LineupError::ChainTooLong { .. } = why {
            // The solo bounty's chain names the solo bounty: refused at its first envelope.
            assert_eq!(
                e,
                TxError::Bounty(BountyError::BadEnvelopeChain(LineupError::WrongBounty {
                    position: 0
                }))
            );
        } else {
            assert_eq!(e, TxError::Bounty(BountyError::BadEnvelopeChain(why)));
        }
        assert_eq!(e.code(), codes::BAD_ENVELOPE_CHAIN);
    }
    // A relayer that signed another result (or a commitment it copied): the chain checks in
    // itself, but not against the result the Settle reveals, whichever that is; a refusal of
    // its own.
    for (revealed, position) in [(honest_result().0, 1), (Hash::digest(b"else"), 0)] {
        let e = m.refusal(
            "carol",
            TxPayload::Settle {
                bounty: relayed,
                result_hash: revealed,
                chain: lying.clone(),
            },
        );
        assert_eq!(
            (e.clone(), e.code()),
            (
                TxError::Bounty(BountyError::ResultNotCommitted {
                    bounty: relayed,
                    position
                }),
                codes::RESULT_NOT_COMMITTED
            )
        );
    }
    // The honest chain, with another result revealed than the one it commits to.
    let e = m.refusal(
        "carol",
        TxPayload::Settle {
            bounty: relayed,
            result_hash: Hash::digest(b"not the result"),
            chain: honest.clone(),
        },
    );
    assert_eq!(e.code(), codes::RESULT_NOT_COMMITTED);
    // A chain longer than any lineup is refused before any state is read.
    let long = vec![honest[0]; bitverse_relay_lineup::ENVELOPE_CHAIN_LEN_MAX + 1];
    let t = m.tx(
        "carol",
        TxPayload::Settle {
            bounty: relayed,
            result_hash: honest_result().0,
            chain: long,
        },
    );
    assert!(matches!(
        t.check_stateless(ChainId::ROOT),
        Err(StatelessError::EnvelopeChainTooLong { .. })
    ));
    assert_eq!(m.bounty(&relayed).status, BountyStatus::Open);
    assert_eq!(
        m.chain.bounty_totals_at(m.height()).unwrap().escrowed.0,
        14_000
    );
}

#[test]
fn a_bounty_ends_exactly_once() {
    let mut m = Market::new(ChainParams::dev());
    let settled = m.post(5_000, 0, 4);
    let expiring = m.post(6_000, 0, 3);
    m.seal();
    // Two Settles of one bounty, both admitted against the tip: the block takes one.
    let chain = m.envelopes(&settled);
    let first = m.tx(
        "carol",
        TxPayload::Settle {
            bounty: settled,
            result_hash: honest_result().0,
            chain: chain.clone(),
        },
    );
    let second = m.tx(
        "erin",
        TxPayload::Settle {
            bounty: settled,
            result_hash: honest_result().0,
            chain: chain.clone(),
        },
    );
    let ids = [first.hash(), second.hash()];
    m.chain.submit_transaction(first).unwrap();
    m.chain.submit_transaction(second).unwrap();
    let bob_before = m.chain.account(&account("bob")).unwrap().balance.0;
    let block = m.seal_allowing_drops();
    assert_eq!(block.transactions.len(), 1);
    assert_eq!(
        m.chain.account(&account("bob")).unwrap().balance.0,
        bob_before + 5_000,
        "paid once"
    );
    // Whichever the block took first, the other is dropped as closed.
    let dropped: Vec<TxError> = ids
        .iter()
        .filter_map(|id| match m.chain.tx_status(id).unwrap() {
            TxStatus::Dropped { error } => Some(error),
            TxStatus::Included { height: 4, .. } => None,
            other => panic!("a Settle neither included nor dropped: {other:?}"),
        })
        .collect();
    assert!(
        matches!(dropped.as_slice(), [TxError::Bounty(BountyError::BountyClosed { bounty, .. })] if *bounty == settled),
        "{dropped:?}"
    );
    // A third, after the block.
    let e = m.refusal(
        "carol",
        TxPayload::Settle {
            bounty: settled,
            result_hash: honest_result().0,
            chain: chain.clone(),
        },
    );
    assert_eq!(e.code(), codes::BOUNTY_CLOSED);
    assert_eq!(
        e.to_string(),
        format!("bounty {settled} is closed: settled at root height 4")
    );

    // The other expires at the start of block 6: a Settle meant for block 6 is refused at
    // admission already (the next block's start refunds it first).
    assert_eq!(m.height(), 4);
    m.submit(
        "carol",
        TxPayload::Transfer {
            to: account("erin"),
            amount: Amount(1),
        },
    );
    m.seal();
    let late = m.envelopes(&expiring);
    let e = m.refusal(
        "carol",
        TxPayload::Settle {
            bounty: expiring,
            result_hash: honest_result().0,
            chain: late.clone(),
        },
    );
    assert_eq!(e.code(), codes::BOUNTY_CLOSED);
    assert!(e.to_string().ends_with("expired at root height 6"), "{e}");
    let alice_before = m.chain.account(&account("alice")).unwrap().balance.0;
    m.submit(
        "carol",
        TxPayload::Transfer {
            to: account("erin"),
            amount: Amount(1),
        },
    );
    m.seal();
    assert_eq!(
        m.chain.account(&account("alice")).unwrap().balance.0,
        alice_before + 6_000
    );
    assert_eq!(record(&m, "bob", TaskKind::Offer), (1, 1));
    // Expired once: later blocks (including the settled one's expiry, 7) change nothing more.
    for _ in 0..3 {
        m.submit(
            "carol",
            TxPayload::Transfer {
                to: account("erin"),
                amount: Amount(1),
            },
        );
        m.seal();
    }
    assert_eq!(
        m.chain.account(&account("alice")).unwrap().balance.0,
        alice_before + 6_000
    );
    assert_eq!(record(&m, "bob", TaskKind::Offer), (1, 1));
    assert_eq!(
        m.bounty(&expiring).status,
        BountyStatus::Expired { height: 6 }
    );
    let e = m.refusal(
        "carol",
        TxPayload::Settle {
            bounty: expiring,
            result_hash: honest_result().0,
            chain: late,
        },
    );
    assert_eq!(e.code(), codes::BOUNTY_CLOSED);
}

#[test]
fn a_reorg_undoes_a_settle_of_the_losing_branch() {
    let params = ChainParams::dev();
    let mut a = Market::new(params.clone());
    let mut b = Market {
        chain: Chain::in_memory(params).unwrap(),
        keys: a.keys.clone(),
    };
    for height in 1..=a.height() {
        let block = a.chain.block_at(height).unwrap().unwrap();
        b.chain.import_block(block, u64::MAX / 2).unwrap();
    }
    // Shared block 3: the bounty is posted.
    let id = a.post(8_000, 0, 20);
    let shared = a.seal();
    b.chain.import_block(shared, u64::MAX / 2).unwrap();
    // Branch A settles it at 4.
    let chain = a.envelopes(&id);
    a.submit(
        "carol",
        TxPayload::Settle {
            bounty: id,
            result_hash: honest_result().0,
            chain,
        },
    );
    a.seal();
    assert!(matches!(a.bounty(&id).status, BountyStatus::Settled { .. }));
    // Branch B does not, and is longer.
    let mut b_blocks = Vec::new();
    while b.height() <= a.height() {
        b.submit(
            "erin",
            TxPayload::Transfer {
                to: account("carol"),
                amount: Amount(2),
            },
        );
        b_blocks.push(b.seal());
    }
    for block in b_blocks {
        a.chain.import_block(block, u64::MAX / 2).unwrap();
    }
    assert_eq!(
        a.chain.tip().hash,
        b.chain.tip().hash,
        "the heavier branch won"
    );
    assert_eq!(a.chain.tip().state_root, b.chain.tip().state_root);
    a.check_conservation();
    assert_eq!(
        a.bounty(&id).status,
        BountyStatus::Open,
        "the settle is undone"
    );
    assert_eq!(
        a.chain.bounty_totals_at(a.height()).unwrap().escrowed.0,
        8_000
    );
    assert_eq!(record(&a, "bob", TaskKind::Offer), (0, 0));
    for who in accounts() {
        assert_eq!(
            a.chain.account(&who).unwrap(),
            b.chain.account(&who).unwrap()
        );
    }
    // The undone Settle went back to the mempool, and settles on the winning branch.
    assert_eq!(a.chain.mempool_len(), 1);
    a.seal();
    assert!(matches!(
        a.bounty(&id).status,
        BountyStatus::Settled { height: 6, .. }
    ));
}

/// A 2-hop bounty with its lineup drawn; returns its id and lineup.
fn drawn_bounty(m: &mut Market, amount: u128) -> (Hash, Vec<AccountId>) {
    let id = m.post(amount, 2, 20);
    m.seal();
    let proof = m.proof(id, "erin");
    m.submit("erin", TxPayload::LineupProof { proof });
    m.seal();
    let lineup = m.bounty(&id).lineup.unwrap().relayers;
    (id, lineup)
}

fn staked(m: &Market, who: &AccountId, role: TaskKind) -> (Amount, bool) {
    let height = m.height();
    let stake = m.chain.stake_at(who, height).unwrap().stake(role);
    let listed = m
        .chain
        .staked_nodes_at(role, height)
        .unwrap()
        .iter()
        .any(|(a, _)| a == who);
    (stake, listed)
}

#[test]
fn a_dispute_burns_a_lying_offerers_stake_and_refunds_the_bounty() {
    let mut m = Market::new(ChainParams::dev());
    let (id, lineup) = drawn_bounty(&mut m, 50_000);
    let (honest, fuel) = honest_result();
    // bob flips his result; the first relayer computes its own and signs it on top.
    let lie = Envelope::offer(&key("bob"), id, Hash::digest(b"flipped"), fuel);
    let catch = Envelope::relay(m.key_of(&lineup[0]), &lie, honest, fuel);
    // The lie cannot settle, even completed by the second relayer: the envelopes commit to
    // different results, so no revealed hash opens them all.
    let last = Envelope::relay(m.key_of(&lineup[1]), &catch, honest, fuel);
    for revealed in [honest, Hash::digest(b"flipped")] {
        let e = m.refusal(
            "carol",
            TxPayload::Settle {
                bounty: id,
                result_hash: revealed,
                chain: vec![lie, catch, last],
            },
        );
        assert_eq!(e.code(), codes::RESULT_NOT_COMMITTED, "{e}");
    }
    let alice_before = m.chain.account(&account("alice")).unwrap().balance.0;
    let relayer_record_before = m
        .chain
        .reliability_record_at(&lineup[0], TaskKind::Relay, m.height())
        .unwrap()
        .unwrap_or_default();
    m.submit(
        "erin",
        TxPayload::Dispute {
            bounty: id,
            first: Box::new(lie),
            second: Box::new(catch),
            result_hash: honest,
        },
    );
    m.seal();
    let height = m.height();
    assert_eq!(
        m.bounty(&id).status,
        BountyStatus::Disputed {
            height,
            result_hash: Some(honest),
            slashed: vec![Slash {
                account: account("bob"),
                role: TaskKind::Offer,
                amount: Amount(1_000_000),
            }],
        }
    );
    assert_eq!(
        staked(&m, &account("bob"), TaskKind::Offer),
        (Amount::ZERO, false)
    );
    let totals = m.chain.bounty_totals_at(height).unwrap();
    assert_eq!(totals.burnt, Amount(1_000_000));
    assert_eq!(totals.open, 0);
    assert_eq!(
        m.chain.account(&account("alice")).unwrap().balance.0,
        alice_before + 50_000,
        "the bounty is refunded"
    );
    assert_eq!(record(&m, "bob", TaskKind::Offer), (0, 1));
    let relayer_record = m
        .chain
        .reliability_record_at(&lineup[0], TaskKind::Relay, height)
        .unwrap()
        .unwrap();
    assert_eq!(
        relayer_record.successes,
        relayer_record_before.successes + EVENT_WEIGHT,
        "the relayer that caught it"
    );
    // Ended once: a second dispute or a settle is refused.
    let e = m.refusal(
        "erin",
        TxPayload::Dispute {
            bounty: id,
            first: Box::new(lie),
            second: Box::new(catch),
            result_hash: honest,
        },
    );
    assert_eq!(e.code(), codes::BOUNTY_CLOSED);
    assert!(
        e.to_string()
            .ends_with(&format!("disputed at root height {height}"))
    );
    // bob, slashed out of the offerer registry, cannot be named by a new bounty.
    let payload = m.bounty_payload(1_000, 0, 10);
    assert!(matches!(
        m.refusal("alice", payload),
        TxError::Bounty(BountyError::OffererNotStaked { .. })
    ));
}

/// bob's whole offerer stake, burnt by a dispute he lost.
fn bob_slashed() -> Vec<Slash> {
    vec![Slash {
        account: account("bob"),
        role: TaskKind::Offer,
        amount: Amount(1_000_000),
    }]
}

/// Issue 18 §4: an offerer that sent its relayer a wrong result front-runs the relayer's
/// dispute with evidence of its own, its right envelope first: it signed a wrong result, so it
/// is slashed whatever the order.
#[test]
fn an_offerer_that_signed_two_results_is_slashed_whatever_the_evidence_order() {
    for right_first in [true, false] {
        let mut m = Market::new(ChainParams::dev());
        let (id, _) = drawn_bounty(&mut m, 50_000);
        let (honest, fuel) = honest_result();
        let right = Envelope::offer(&key("bob"), id, honest, fuel);
        let wrong = Envelope::offer(&key("bob"), id, Hash::digest(b"sent to the relayer"), fuel);
        let (first, second, revealed) = if right_first {
            (right, wrong, Hash::digest(b"sent to the relayer"))
        } else {
            (wrong, right, honest)
        };
        assert_eq!(
            m.disputed("bob", id, first, second, revealed),
            bob_slashed(),
            "right envelope first: {right_first}"
        );
        assert_eq!(record(&m, "bob", TaskKind::Offer), (0, 1));
    }
}

/// Issue 18 §3: the same evidence sent many times costs one re-execution. Admission makes
/// only the cheap checks; the block re-executes once; the losing copies end on the closed
/// bounty; and a dispute whose signers have nothing left to burn is refused before it runs.
#[test]
fn a_dispute_is_re_executed_once_and_never_at_admission() {
    let mut m = Market::new(ChainParams::dev());
    let (id, lineup) = drawn_bounty(&mut m, 50_000);
    // A second bounty for bob, open while he is still staked.
    let other = m.post(1_000, 0, 20);
    m.seal();
    let (honest, fuel) = honest_result();
    let lie = Envelope::offer(&key("bob"), id, Hash::digest(b"flipped"), fuel);
    let catch = Envelope::relay(m.key_of(&lineup[0]), &lie, honest, fuel);
    let dispute = || TxPayload::Dispute {
        bounty: id,
        first: Box::new(lie),
        second: Box::new(catch),
        result_hash: honest,
    };
    for who in ["erin", "carol", "dave"] {
        m.submit(who, dispute());
    }
    assert_eq!(m.chain.dispute_re_executions(), 0, "admission runs nothing");
    let block = m.seal_allowing_drops();
    assert_eq!(block.transactions.len(), 1, "one copy ends the bounty");
    assert_eq!(
        m.chain.dispute_re_executions(),
        1,
        "built and imported on one verdict"
    );
    assert!(matches!(
        m.bounty(&id).status,
        BountyStatus::Disputed { .. }
    ));

    // bob is slashed to nothing: two of his envelopes over the other bounty would burn
    // nothing, so they are refused at once.
    let right = Envelope::offer(&key("bob"), other, honest, fuel);
    let wrong = Envelope::offer(&key("bob"), other, Hash::digest(b"again"), fuel);
    let e = m.refusal(
        "erin",
        TxPayload::Dispute {
            bounty: other,
            first: Box::new(right),
            second: Box::new(wrong),
            result_hash: Hash::digest(b"again"),
        },
    );
    assert_eq!(
        e,
        TxError::Bounty(BountyError::DisputeBurnsNothing { bounty: other })
    );
    assert_eq!(e.code(), codes::DISPUTE_BURNS_NOTHING);
    assert_eq!(m.chain.dispute_re_executions(), 1);
}

/// Issue 18 §3: a block re-executes at most `DISPUTE_FUEL_PER_BLOCK_MAX` of disputes; the
/// block builder leaves a dispute that does not fit (and its sender's later transactions) in
/// the mempool for the next block.
#[test]
fn dispute_fuel_is_capped_per_block() {
    let mut m = Market::new(ChainParams::dev());
    let budget = bitverse_blocktree::bounty::DISPUTE_FUEL_PER_BLOCK_MAX / 2 + 1;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut payload = m.bounty_payload(20_000, 2, 20);
        if let TxPayload::PostBounty { fuel_budget, .. } = &mut payload {
            *fuel_budget = budget;
        }
        ids.push(m.submit("alice", payload));
    }
    m.seal();
    for (id, finder) in ids.iter().zip(["erin", "carol"]) {
        let proof = m.proof(*id, finder);
        m.submit(finder, TxPayload::LineupProof { proof });
    }
    m.seal();
    let (honest, fuel) = honest_result();
    for (id, who) in ids.iter().zip(["bob", "alice"]) {
        let lineup = m.bounty(id).lineup.unwrap().relayers;
        let offer = Envelope::offer(&key("bob"), *id, honest, fuel);
        let lie = Envelope::relay(m.key_of(&lineup[0]), &offer, Hash::digest(b"wrong"), fuel);
        m.submit(
            who,
            TxPayload::Dispute {
                bounty: *id,
                first: Box::new(lie),
                second: Box::new(offer),
                result_hash: honest,
            },
        );
    }
    let first = m.seal_allowing_drops();
    assert_eq!(first.transactions.len(), 1, "one dispute fits a block");
    assert_eq!(m.chain.mempool_len(), 1, "the other waits");
    let second = m.seal();
    assert_eq!(second.transactions.len(), 1);
    for id in &ids {
        assert!(matches!(m.bounty(id).status, BountyStatus::Disputed { .. }));
    }
}

/// Issue 18 §5, the unbonding dodge: an offerer (or a drawn relayer) that unstakes while a
/// bounty naming it is open gets its stake back only after that bounty expires, so a lie told
/// after unstaking is still slashed; and a stake that has left backs no new bounty.
#[test]
fn a_stake_backing_an_open_bounty_unbonds_only_after_it_expires() {
    let mut m = Market::new(ChainParams::dev());
    let (id, lineup) = drawn_bounty(&mut m, 50_000);
    let expiry = m.bounty(&id).expiry_height;
    let relayer = ["carol", "dave", "erin"]
        .into_iter()
        .find(|name| account(name) == lineup[0])
        .unwrap();
    let (relayer_stake, _) = staked(&m, &lineup[0], TaskKind::Relay);
    m.submit(
        "bob",
        TxPayload::Unstake {
            amount: Amount(1_000_000),
            role: TaskKind::Offer,
        },
    );
    m.submit(
        relayer,
        TxPayload::Unstake {
            amount: relayer_stake,
            role: TaskKind::Relay,
        },
    );
    m.seal();
    assert!(m.height() + m.chain.params().unbonding_delay_blocks < expiry);
    for who in [account("bob"), lineup[0]] {
        let record = m.chain.stake_at(&who, m.height()).unwrap();
        assert_eq!(
            record
                .unbonding
                .iter()
                .map(|e| e.release_height)
                .collect::<Vec<_>>(),
            vec![expiry + 1],
            "released after the bounty it backs expires, not after the delay"
        );
    }
    // Past the unbonding delay, bob lies; the relayer catches it; bob's unbonding stake burns.
    for _ in 0..3 {
        m.seal_allowing_drops();
    }
    let (honest, fuel) = honest_result();
    let lie = Envelope::offer(&key("bob"), id, Hash::digest(b"told after unstaking"), fuel);
    let catch = Envelope::relay(m.key_of(&lineup[0]), &lie, honest, fuel);
    assert_eq!(m.disputed("erin", id, lie, catch, honest), bob_slashed());
    // bob holds no offerer stake now: a bounty pinning a height when he did is refused.
    let mut payload = m.bounty_payload(1_000, 0, 10);
    if let TxPayload::PostBounty { pinned_height, .. } = &mut payload {
        *pinned_height -= 6;
    }
    assert!(matches!(
        m.refusal("alice", payload),
        TxError::Bounty(BountyError::OffererNotStaked { .. })
    ));
}

/// Issue 18 §5, the other side of the duty horizon: a bounty that names an offerer without
/// its acceptance binds it to nothing, so it must not hold the offerer's stake either (else
/// any requester could keep any offerer from unbonding for the holding charge alone).
#[test]
fn a_bounty_the_offerer_did_not_accept_does_not_delay_its_unbonding() {
    let mut m = Market::new(ChainParams::dev());
    let payload = m.bounty_payload(1_000, 0, 20);
    let id = m.submit("alice", payload);
    m.seal();
    let expiry = m.bounty(&id).expiry_height;
    assert!(!m.bounty(&id).accepted);
    m.submit(
        "bob",
        TxPayload::Unstake {
            amount: Amount(1_000_000),
            role: TaskKind::Offer,
        },
    );
    let unstaked_at = m.seal().header.height;
    let release = unstaked_at + m.chain.params().unbonding_delay_blocks;
    assert!(release < expiry);
    let record = m.chain.stake_at(&account("bob"), m.height()).unwrap();
    assert_eq!(
        record
            .unbonding
            .iter()
            .map(|e| e.release_height)
            .collect::<Vec<_>>(),
        vec![release],
        "released after the network's delay, not held until the unaccepted bounty expires"
    );
    // The same bounty accepted holds the stake until it expires.
    let mut m = Market::new(ChainParams::dev());
    let id = m.post(1_000, 0, 20);
    m.seal();
    let expiry = m.bounty(&id).expiry_height;
    m.submit(
        "bob",
        TxPayload::Unstake {
            amount: Amount(1_000_000),
            role: TaskKind::Offer,
        },
    );
    m.seal();
    let record = m.chain.stake_at(&account("bob"), m.height()).unwrap();
    assert_eq!(
        record
            .unbonding
            .iter()
            .map(|e| e.release_height)
            .collect::<Vec<_>>(),
        vec![expiry + 1]
    );
}

#[test]
fn a_dispute_burns_a_lying_relayers_stake_and_credits_the_honest_offerer() {
    let mut m = Market::new(ChainParams::dev());
    let (id, lineup) = drawn_bounty(&mut m, 20_000);
    let (honest, fuel) = honest_result();
    let offer = Envelope::offer(&key("bob"), id, honest, fuel);
    let lie = Envelope::relay(m.key_of(&lineup[0]), &offer, Hash::digest(b"wrong"), fuel);
    let (relayer_stake, _) = staked(&m, &lineup[0], TaskKind::Relay);
    assert_eq!(
        m.disputed("bob", id, lie, offer, honest),
        vec![Slash {
            account: lineup[0],
            role: TaskKind::Relay,
            amount: relayer_stake,
        }]
    );
    assert_eq!(
        staked(&m, &lineup[0], TaskKind::Relay),
        (Amount::ZERO, false)
    );
    assert_eq!(
        staked(&m, &account("bob"), TaskKind::Offer),
        (Amount(1_000_000), true)
    );
    assert_eq!(record(&m, "bob", TaskKind::Offer), (1, 0));
}

#[test]
fn a_module_that_loops_has_no_result_so_both_signers_are_slashed() {
    let mut m = Market::new(ChainParams::dev());
    let mut payload = m.bounty_payload(3_000, 0, 10);
    if let TxPayload::PostBounty {
        transform,
        fuel_budget,
        ..
    } = &mut payload
    {
        *transform = LOOP.into();
        *fuel_budget = 100_000;
    }
    let id = m.submit("alice", payload);
    m.seal();
    // The offerer signs two different results: its own contradiction is the evidence.
    let one = Envelope::offer(&key("bob"), id, Hash::digest(b"one"), 100_000);
    let two = Envelope::offer(&key("bob"), id, Hash::digest(b"two"), 100_000);
    m.submit(
        "carol",
        TxPayload::Dispute {
            bounty: id,
            first: Box::new(one),
            second: Box::new(two),
            result_hash: Hash::digest(b"two"),
        },
    );
    m.seal();
    assert_eq!(
        m.bounty(&id).status,
        BountyStatus::Disputed {
            height: m.height(),
            result_hash: None,
            slashed: vec![Slash {
                account: account("bob"),
                role: TaskKind::Offer,
                amount: Amount(1_000_000),
            }],
        },
        "slashed once though it signed both"
    );
    assert_eq!(record(&m, "bob", TaskKind::Offer), (0, 1));
}

#[test]
fn dispute_evidence_that_does_not_conflict_is_refused() {
    let mut m = Market::new(ChainParams::dev());
    let (id, lineup) = drawn_bounty(&mut m, 20_000);
    let (honest, fuel) = honest_result();
    let offer = Envelope::offer(&key("bob"), id, honest, fuel);
    let agree = Envelope::relay(m.key_of(&lineup[0]), &offer, honest, fuel);
    let outsider = Envelope::offer(&key("alice"), id, Hash::digest(b"x"), fuel);
    let other = Envelope::relay(m.key_of(&lineup[0]), &offer, Hash::digest(b"y"), fuel);
    let mut forged = other;
    forged.fuel_used += 1;
    let y = Hash::digest(b"y");
    for (second, revealed, why) in [
        // Two honest envelopes differ in commitment (each is bound to its signer), yet both
        // open to the result revealed: no conflict, nothing re-executed.
        (agree, honest, LineupError::NoConflict),
        (outsider, y, LineupError::NotAParticipant(account("alice"))),
        (forged, y, LineupError::BadSignature { position: 1 }),
        // The disputer must reveal what its own envelope commits to.
        (
            other,
            honest,
            LineupError::CommitmentMismatch { position: 1 },
        ),
    ] {
        let e = m.refusal(
            "carol",
            TxPayload::Dispute {
                bounty: id,
                first: Box::new(offer),
                second: Box::new(second),
                result_hash: revealed,
            },
        );
        assert_eq!(e, TxError::Bounty(BountyError::BadDisputeEvidence(why)));
        assert_eq!(e.code(), codes::BAD_DISPUTE_EVIDENCE);
    }
    let unknown = Hash::digest(b"none");
    let e = m.refusal(
        "carol",
        TxPayload::Dispute {
            bounty: unknown,
            first: Box::new(offer),
            second: Box::new(agree),
            result_hash: honest,
        },
    );
    assert_eq!(e, TxError::Bounty(BountyError::UnknownBounty(unknown)));
    assert_eq!(m.bounty(&id).status, BountyStatus::Open);
}

#[test]
fn a_requesters_bounty_and_its_lineup_proof_land_in_one_block() {
    let mut m = Market::new(ChainParams::dev());
    let id = m.post(9_000, 2, 20);
    // Anyone else's proof for a bounty still waiting is judged against the tip: refused.
    let early = m.proof(id, "erin");
    let refused = m.refusal("erin", TxPayload::LineupProof { proof: early });
    assert!(
        matches!(refused, TxError::Bounty(BountyError::UnknownBounty(b)) if b == id),
        "{refused:?}"
    );
    // The requester's own, right behind its PostBounty, waits with it and lands in its block.
    let proof = m.proof(id, "alice");
    m.submit("alice", TxPayload::LineupProof { proof });
    let block = m.seal();
    assert_eq!(block.transactions.len(), 2);
    let lineup = m
        .bounty(&id)
        .lineup
        .expect("drawn in the bounty's own block");
    assert_eq!(lineup.finder, account("alice"));
    assert_eq!(lineup.drawn_height, m.height());
    assert_eq!(m.bounty(&id).posted_height, m.height());
}

/// One step of a random market run (see the property below).
#[derive(Clone, Debug)]
enum Step {
    Transfer {
        from: usize,
        to: usize,
        amount: u128,
    },
    Stake {
        who: usize,
        relay: bool,
        amount: u128,
    },
    Unstake {
        who: usize,
        relay: bool,
        amount: u128,
    },
    Post {
        amount: u128,
        relayed: bool,
        expiry_in_blocks: u64,
    },
    Lineup {
        bounty: usize,
    },
    Settle {
        bounty: usize,
    },
    Dispute {
        bounty: usize,
    },
    Seal,
    /// A heavier branch from `depth` blocks back, mined empty elsewhere by `miner`, replaces
    /// the tip.
    Reorg {
        depth: u64,
        miner: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let who = 0usize..5;
    prop_oneof![
        (who.clone(), 0usize..5, 1u128..20_000).prop_map(|(from, to, amount)| Step::Transfer {
            from,
            to,
            amount
        }),
        (who.clone(), any::<bool>(), 1u128..200_000).prop_map(|(who, relay, amount)| Step::Stake {
            who,
            relay,
            amount
        }),
        (who, any::<bool>(), 1u128..500_000).prop_map(|(who, relay, amount)| Step::Unstake {
            who,
            relay,
            amount
        }),
        (1u128..60_000, any::<bool>(), 2u64..12).prop_map(|(amount, relayed, expiry_in_blocks)| {
            Step::Post {
                amount,
                relayed,
                expiry_in_blocks,
            }
        }),
        (0usize..8).prop_map(|bounty| Step::Lineup { bounty }),
        (0usize..8).prop_map(|bounty| Step::Settle { bounty }),
        (0usize..8).prop_map(|bounty| Step::Dispute { bounty }),
        Just(Step::Seal),
        Just(Step::Seal),
        (1u64..4, 0usize..5).prop_map(|(depth, miner)| Step::Reorg { depth, miner }),
    ]
}

const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

impl Market {
    /// Submits whatever `payload` is; a refusal at admission is part of the run, not a
    /// failure.
    fn try_submit(&mut self, who: &str, payload: TxPayload) {
        let t = self.tx(who, payload);
        let _ = self.chain.submit_transaction(t);
    }

    /// Replaces the tip: a second node with the same history up to `depth` blocks back mines
    /// `depth + 1` empty blocks there, and this chain imports them (more work: a reorg), its
    /// abandoned transactions going back to the mempool. Then the conservation check.
    fn reorg(&mut self, depth: u64, miner: &str) {
        let fork_height = self.height().saturating_sub(depth).max(2);
        if fork_height >= self.height() {
            return;
        }
        let mut other = Market::new(self.chain.params().clone());
        for height in 3..=fork_height {
            let block = self.chain.block_at(height).unwrap().unwrap();
            other.chain.import_block(block, u64::MAX / 2).unwrap();
        }
        let branch: Vec<Block> = (0..=self.height() - fork_height)
            .map(|_| {
                let time_ms = other.chain.tip().time_ms + 1_000;
                other
                    .chain
                    .produce_block(account(miner), time_ms, true, u64::MAX)
                    .unwrap()
                    .unwrap()
            })
            .collect();
        for block in branch {
            // An earlier reorg's branch may be this one again (same history, same miner).
            match self.chain.import_block(block, u64::MAX / 2) {
                Ok(_) | Err(ChainError::Block(bitverse_blocktree::BlockError::AlreadyKnown(_))) => {
                }
                Err(e) => panic!("the branch did not import: {e}"),
            }
            self.check_conservation();
        }
        assert_eq!(self.chain.tip().hash, other.chain.tip().hash, "reorged");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// Issue 18 §7: money is conserved in every root block of any run of transfers, stakes,
    /// unstakes, bounties posted (with their holding charge), lineups, settlements, disputes
    /// (slashing stakes and unbonding entries), expiries and reorgs that undo any of them:
    /// balances, stakes, unbonding, pools, escrow and what disputes burnt sum to the genesis
    /// supply after every block.
    #[test]
    fn any_market_run_with_reorgs_conserves_money(steps in proptest::collection::vec(step(), 1..24)) {
        let mut m = Market::new(ChainParams::dev());
        let mut posted: Vec<Hash> = Vec::new();
        let (honest, fuel) = honest_result();
        for step in steps {
            match step {
                Step::Transfer { from, to, amount } => m.try_submit(
                    NAMES[from],
                    TxPayload::Transfer { to: account(NAMES[to]), amount: Amount(amount) },
                ),
                Step::Stake { who, relay, amount } => {
                    let role = if relay { TaskKind::Relay } else { TaskKind::Offer };
                    m.try_submit(NAMES[who], stake(role, amount));
                }
                Step::Unstake { who, relay, amount } => {
                    let role = if relay { TaskKind::Relay } else { TaskKind::Offer };
                    m.try_submit(NAMES[who], TxPayload::Unstake { amount: Amount(amount), role });
                }
                Step::Post { amount, relayed, expiry_in_blocks } => {
                    let payload = m.bounty_payload(amount, if relayed { 2 } else { 0 }, expiry_in_blocks);
                    let t = m.tx("alice", payload);
                    if let Ok(id) = m.chain.submit_transaction(t) {
                        posted.push(id);
                    }
                }
                Step::Lineup { bounty } => {
                    if let Some(id) = posted.get(bounty).copied() {
                        let proof = m.proof(id, "erin");
                        m.try_submit("erin", TxPayload::LineupProof { proof });
                    }
                }
                Step::Settle { bounty } => {
                    if let Some(id) = posted.get(bounty).copied()
                        && m.chain.bounty_at(&id, m.height()).unwrap().is_some()
                    {
                        let chain = m.envelopes(&id);
                        m.try_submit(
                            "carol",
                            TxPayload::Settle { bounty: id, result_hash: honest, chain },
                        );
                    }
                }
                Step::Dispute { bounty } => {
                    if let Some(id) = posted.get(bounty).copied()
                        && let Some(found) = m.chain.bounty_at(&id, m.height()).unwrap()
                    {
                        let lie = Envelope::offer(&key("bob"), id, Hash::digest(b"a lie"), fuel);
                        let other = match found.lineup.and_then(|l| l.relayers.first().copied()) {
                            Some(relayer) => Envelope::relay(m.key_of(&relayer), &lie, honest, fuel),
                            None => Envelope::offer(&key("bob"), id, honest, fuel),
                        };
                        m.try_submit(
                            "dave",
                            TxPayload::Dispute {
                                bounty: id,
                                first: Box::new(lie),
                                second: Box::new(other),
                                result_hash: honest,
                            },
                        );
                    }
                }
                Step::Seal => {
                    m.seal_allowing_drops();
                }
                Step::Reorg { depth, miner } => m.reorg(depth, NAMES[miner]),
            }
        }
        m.seal_allowing_drops();
    }
}
