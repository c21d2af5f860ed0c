//! Bounties in root state (DESIGN §4, `docs/MARKET.md` "What the chain records"): what
//! `PostBounty`, `LineupProof` and `Settle` change, the refund of expired bounties at the start
//! of a root block, and the reads of all of it at a root height.
//!
//! A bounty's life: `PostBounty` escrows the amount and pins the transformation and inputs to
//! the hashes of their values at a root height; for a tier with hops, the first valid
//! `LineupProof` draws its lineup; `Settle` with the complete envelope chain pays the offerer,
//! relayers and finder and records their successes. A bounty still open at the start of its
//! expiry block is refunded to its requester and counts as a failure for its offerer. It ends
//! exactly once: its status leaves `Open` once and never returns. A `Dispute` with two
//! conflicting signed results ends it too: the root re-executes the transformation over the
//! pinned values, burns the stake of whoever signed a wrong result, and refunds the bounty.
//!
//! Leaves (all on the root):
//! - [`bounty_key`]`(id)`: the [`Bounty`], kept after it ends so that a second Settle is
//!   refused by name and a reader can see how it ended;
//! - [`open_bounties_key`]`(account)`: how many open bounties the account has posted (at most
//!   [`OPEN_BOUNTIES_PER_ACCOUNT_MAX`]);
//! - [`bounty_totals_key`]: the open bounties and the escrow they hold, in total (at most
//!   [`OPEN_BOUNTIES_MAX`]), which the conservation of money counts;
//! - [`expiries_key`]`(height)`: the ids of the bounties expiring at the start of root block
//!   `height` (at most [`BOUNTIES_EXPIRING_PER_HEIGHT_MAX`]), so a block refunds exactly what
//!   expires in it without a scan. Bounties that ended before stay listed and are skipped.
//!
//! A bounty's id is the id of the transaction that posted it (`Transaction::hash`, signature
//! included): the requester knows it before sending, and a bounty posted on another branch of
//! a fork is another bounty, so envelopes signed for one never settle the other.
//!
//! Inputs are root keys only for now: a key whose keyspace lives on a data chain is refused
//! (`KeyOnOtherChain`) until bounties carry proofs of deeper values.

use std::sync::atomic::Ordering;

use bincode::{Decode, Encode};
use bitverse_compute::{TransformError, TransformRequest};
use bitverse_pricing::{HOPS_MAX, ReliabilityRecord, StakedNode, TaskKind, is_eligible_relayer};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, codec};
use bitverse_relay_lineup::{
    Envelope, ExpectedChain, LineupError, LineupProof, RelayerCandidate, check_conflict,
    draw_lineup, settlement_shares, verify_envelope_chain,
};
use jmt::KeyHash;
use serde::Serialize;

use crate::error::{
    BountyEnd, BountyError, DeepValueFault, SandboxFailure, StatelessError, StoreError, TxError,
};
use crate::params::ChainParams;
use crate::scripts::{BlockContext, Verdict};
use crate::stake::{reliability_key, stake_record, staked_nodes};
use crate::state::{ApplyError, StateView};

/// The most input keys one bounty pins: as many as a transformation takes
/// (`bitverse_compute::INPUTS_MAX`). Bounds the bounty record and the reads a PostBounty makes
/// (each input one lookup at the pinned height).
pub const BOUNTY_INPUTS_MAX: usize = bitverse_compute::transform::INPUTS_MAX;

/// The furthest ahead of its block a bounty may expire: about three hours of 1 s root
/// blocks. Bounds how long escrow and a per-height expiry list stay in state.
pub const EXPIRY_BLOCKS_MAX: u64 = 10_000;

/// The oldest root height a bounty may pin, counted back from its block. A bounty pins recent
/// state: every party fetches the inputs as of that height, and a node that keeps only recent
/// history can still serve them.
pub const PIN_AGE_BLOCKS_MAX: u64 = 1_000;

/// The most open bounties one requester may have. Bounds what one account can lock in the
/// expiry lists.
pub const OPEN_BOUNTIES_PER_ACCOUNT_MAX: usize = 16;

/// The most open bounties on the root in total.
pub const OPEN_BOUNTIES_MAX: usize = 10_000;

/// The most bounties that may expire at one root height. Bounds the expiry list a block reads
/// at its start (32 KiB of ids) and the refunds it makes there.
pub const BOUNTIES_EXPIRING_PER_HEIGHT_MAX: usize = 1_000;

/// The most fuel the Disputes of one root block may re-execute, summed over their bounties'
/// fuel budgets: one dispute of the largest budget a bounty may name, or several smaller. A
/// block's validation re-executes at most this much, however many Disputes are sent; block
/// building leaves the rest for the next block.
pub const DISPUTE_FUEL_PER_BLOCK_MAX: u64 = bitverse_compute::transform::FUEL_PER_TRANSFORM_MAX;

pub use crate::scripts::DISPUTE_VERDICTS_CACHED_MAX;

/// What [`crate::scripts::DisputeVerdicts`] remembers `bounty`'s verdict under: a hash of
/// what its re-execution is a function of (the transformation and input pins, arguments and
/// fuel budget).
fn verdict_key(bounty: &Bounty) -> Hash {
    Hash::tagged(
        "bitverse dispute verdict v1",
        &[&codec::encode(&(
            &bounty.id,
            &bounty.transform,
            &bounty.inputs,
            &bounty.args,
            bounty.fuel_budget,
        ))],
    )
}

/// A key pinned to the hash of its value at the bounty's pinned height.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct PinnedKey {
    /// The key (`filters/bw`).
    pub key: String,
    /// `Hash::digest` (plain BLAKE3) of the value's bytes.
    pub value_hash: Hash,
}

/// The lineup drawn for a bounty from its lineup proof.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct Lineup {
    /// Who published the proof, and earns the finder's share.
    pub finder: AccountId,
    /// The proof's hash, the draw's seed.
    pub seed: Hash,
    /// The relayers, in draw order: the relay order.
    pub relayers: Vec<AccountId>,
    /// The root height of the block that recorded it.
    pub drawn_height: u64,
}

/// How far a bounty has come.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BountyStatus {
    /// Escrowed, waiting for its lineup (with hops) or its Settle.
    Open,
    /// Paid out by a Settle.
    Settled {
        /// The root height of the Settle's block.
        height: u64,
        /// The result's hash every envelope attested.
        result_hash: Hash,
        /// The fuel every envelope attested.
        fuel_used: u64,
    },
    /// Refunded to the requester at the start of its expiry block.
    Expired {
        /// That block's height.
        height: u64,
    },
    /// Refunded to the requester by a Dispute, whose signers of a wrong result were slashed.
    Disputed {
        /// The root height of the Dispute's block.
        height: u64,
        /// The hash of the result re-execution gave; `None` when the transformation gave no
        /// output (it refused its input, trapped, ran out of fuel), so every attested result
        /// was wrong.
        result_hash: Option<Hash>,
        /// Who was slashed, as what, of how much (burnt).
        slashed: Vec<Slash>,
    },
}

/// One slashing by a Dispute.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct Slash {
    /// The signer of a wrong result.
    pub account: AccountId,
    /// The role it signed in (`Offer` for the offerer, `Relay` for a relayer); `offerer` or
    /// `relayer` in JSON.
    #[serde(serialize_with = "role_word")]
    pub role: TaskKind,
    /// Its stake and unbonding in that role, all of it, burnt.
    pub amount: Amount,
}

impl BountyStatus {
    /// How the bounty ended, once it left `Open` (`None` while open).
    pub fn end(&self) -> Option<BountyEnd> {
        match self {
            BountyStatus::Open => None,
            BountyStatus::Settled { height, .. } => Some(BountyEnd::Settled { height: *height }),
            BountyStatus::Expired { height } => Some(BountyEnd::Expired { height: *height }),
            BountyStatus::Disputed { height, .. } => Some(BountyEnd::Disputed { height: *height }),
        }
    }
}

impl std::fmt::Display for BountyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BountyStatus::Open => write!(f, "open"),
            BountyStatus::Settled { height, .. } => write!(f, "settled at root height {height}"),
            BountyStatus::Expired { height } => write!(f, "expired at root height {height}"),
            BountyStatus::Disputed { height, .. } => write!(f, "disputed at root height {height}"),
        }
    }
}

fn role_word<S: serde::Serializer>(role: &TaskKind, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(crate::error::role_name(*role))
}

/// A bounty as root state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct Bounty {
    /// Its id: the id of the PostBounty transaction.
    pub id: Hash,
    /// Who posted and funded it, and gets it back at expiry.
    pub requester: AccountId,
    /// The offerer that computes the result.
    pub offerer: AccountId,
    /// The escrowed amount.
    pub amount: Amount,
    /// The transformation's module.
    pub transform: PinnedKey,
    /// The inputs, in order.
    pub inputs: Vec<PinnedKey>,
    /// The argument bytes passed to the transformation.
    pub args: Vec<u8>,
    /// The root height whose values are pinned, and whose stakes and ledger the lineup is
    /// drawn from.
    pub pinned_height: u64,
    /// The root height of the block that posted it.
    pub posted_height: u64,
    /// Relayers in its lineup.
    pub hops: u8,
    /// The most fuel a computation may use.
    pub fuel_budget: u64,
    /// The root height at whose start it is refunded if still open.
    pub expiry_height: u64,
    /// Its lineup, once drawn (never for 0 hops).
    pub lineup: Option<Lineup>,
    /// Open, settled or expired.
    pub status: BountyStatus,
    /// Whether its offerer signed its terms: only then does its expiry count against the
    /// offerer's record.
    pub accepted: bool,
}

impl Bounty {
    /// What its envelope chain must match: its id, offerer and fuel budget, and the lineup
    /// as drawn (none yet, or none for 0 hops, is an empty lineup).
    pub fn expected_chain(&self) -> ExpectedChain<'_> {
        ExpectedChain {
            bounty: self.id,
            offerer: self.offerer,
            lineup: self.lineup.as_ref().map_or(&[], |l| l.relayers.as_slice()),
            fuel_budget: self.fuel_budget,
        }
    }
}

/// The open bounties on the root and the escrow they hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct BountyTotals {
    /// Open bounties.
    pub open: u64,
    /// The sum of their amounts: money out of every balance until they end.
    pub escrowed: Amount,
    /// Everything Disputes have slashed, in total: burnt, out of the supply for good.
    pub burnt: Amount,
}

/// What a PostBounty asks for, as its payload carries it.
pub(crate) struct PostBounty<'p> {
    pub(crate) id: Hash,
    pub(crate) requester: AccountId,
    pub(crate) amount: Amount,
    /// What holding it until its expiry costs ([`holding_charge`]), paid into the root's pool
    /// besides the amount.
    pub(crate) holding: Amount,
    pub(crate) transform: &'p str,
    pub(crate) inputs: &'p [String],
    pub(crate) args: &'p [u8],
    pub(crate) pinned_height: u64,
    pub(crate) hops: u8,
    pub(crate) offerer: AccountId,
    pub(crate) fuel_budget: u64,
    pub(crate) expiry_height: u64,
    pub(crate) deep_values: &'p [DeepValue],
    /// Whether the offerer signed the terms (checked statelessly).
    pub(crate) accepted: bool,
}

/// The terms an offerer accepts by signing them ([`BountyTerms::acceptance_hash`], carried by
/// a PostBounty as its `acceptance`): everything the bounty asks of it and pays. A bounty
/// whose offerer signed its terms counts against the offerer's record when it expires
/// unserved; one the offerer never saw does not (issue 18 §5: a requester could burn any
/// offerer's record by naming it in bounties it could not serve, say with a fuel budget of
/// one, and letting them expire).
#[derive(Debug, Clone, Copy, Encode)]
pub struct BountyTerms<'t> {
    /// Who posts and funds it.
    pub requester: AccountId,
    /// Who computes it.
    pub offerer: AccountId,
    /// The amount escrowed.
    pub amount: Amount,
    /// The transformation's key.
    pub transform: &'t str,
    /// The input keys, in order.
    pub inputs: &'t [String],
    /// The argument bytes.
    pub args: &'t [u8],
    /// The root height whose values are pinned.
    pub pinned_height: u64,
    /// Relayers in its lineup.
    pub hops: u8,
    /// The most fuel a computation may use.
    pub fuel_budget: u64,
    /// The root height at whose start it is refunded if still open.
    pub expiry_height: u64,
}

impl BountyTerms<'_> {
    /// What the offerer signs to accept these terms.
    pub fn acceptance_hash(&self) -> Hash {
        Hash::tagged("bitverse bounty acceptance v1", &[&codec::encode(self)])
    }
}

/// What a PostBounty in root block `height` pays, beyond its amount, for being held until its
/// expiry: `bounty_price_per_block` for every block it may stay open, and its deep values'
/// bytes at the root's storage price (the root keeps them in state until the bounty ends),
/// paid into the root's endowment pool, which pays the root's miners. Before (issue 18 §5),
/// holding 64 KiB of root state or a place in the open table for 10 000 blocks cost a fee.
pub(crate) fn holding_charge(
    params: &ChainParams,
    height: u64,
    expiry_height: u64,
    deep_values: &[DeepValue],
) -> Result<Amount, TxError> {
    let blocks_open = expiry_height.saturating_sub(height);
    let holding = params
        .bounty_price_per_block
        .0
        .checked_mul(u128::from(blocks_open))
        .ok_or(TxError::Overflow)?;
    let bytes = deep_values.iter().fold(0u128, |sum, deep| {
        sum.saturating_add(u128::try_from(deep.value.len()).unwrap_or(u128::MAX))
    });
    bytes
        .checked_mul(params.root.storage_price_per_byte.0)
        .and_then(|storage| storage.checked_add(holding))
        .map(Amount)
        .ok_or(TxError::Overflow)
}

/// A value on a data chain, proven to the root: what a PostBounty brings for an input whose
/// keyspace lives below the root, which the root cannot read. The proof is an earnings
/// proof's shape: the key's depth-1 ancestor header that the root anchored (any it ever
/// anchored: [`crate::endowment::anchored_key`]), one anchor link per level below it, and the
/// value's leaf in the last header's state. The bounty pins the value's hash, and root state
/// keeps the value itself until the bounty ends, for the offerer, the relayers and a dispute's
/// re-execution to read.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct DeepValue {
    /// The value.
    pub value: Vec<u8>,
    /// The header of the key's depth-1 ancestor chain (or its own, at depth 1) that the root
    /// anchored.
    pub top: crate::block::header::BlockHeader,
    /// Depth 2 down to the key's chain: each header and the proof of its anchor above.
    pub links: Vec<crate::proof::AnchorLink>,
    /// Sparse Merkle proof of the value at the key's address in the last header's state.
    pub value_proof: Vec<u8>,
}

impl DeepValue {
    /// The proven value a PostBounty brings for a key on a data chain, from that key's
    /// [`crate::ValueProof`] (whose first link is the depth-1 header the root anchored); `None`
    /// for a root key or a key without a value.
    pub fn from_value_proof(proof: crate::proof::ValueProof) -> Option<DeepValue> {
        let value = proof.value?;
        let mut links = proof.links.into_iter();
        let top = links.next()?.header;
        Some(DeepValue {
            value,
            top,
            links: links.collect(),
            value_proof: proof.value_proof,
        })
    }

    /// Checks the proof for `key`, whose address is `slot` on `home` (a data chain): returns
    /// the anchor of the top header, which the root must have anchored.
    fn verify(
        &self,
        slot: KeyHash,
        home: ChainId,
    ) -> Result<crate::block::header::Anchor, DeepValueFault> {
        let depth = home.depth();
        if self.links.len() != usize::from(depth).saturating_sub(1) {
            return Err(DeepValueFault::LinkCount {
                links: self.links.len(),
                depth,
            });
        }
        let mut path = home.path_to_root();
        path.reverse();
        let mut levels = path.into_iter().skip(1);
        let top_chain = levels.next().ok_or(DeepValueFault::NoTopChain)?;
        if self.top.chain != top_chain {
            return Err(DeepValueFault::TopOnOtherChain {
                got: self.top.chain,
                expected: top_chain,
            });
        }
        let state_root = crate::proof::walk_links(self.top.state_root, levels, &self.links)
            .map_err(DeepValueFault::Proof)?;
        crate::proof::check_leaf(
            &state_root,
            slot,
            Some(&self.value),
            &self.value_proof,
            || format!("value on chain {home}"),
        )
        .map_err(DeepValueFault::Proof)?;
        Ok(crate::block::header::Anchor {
            chain: top_chain,
            height: self.top.height,
            hash: self.top.hash(),
        })
    }
}

/// Where root state keeps a bounty's proven value of input `index` while the bounty is open.
pub fn deep_value_key(bounty: &Hash, index: usize) -> KeyHash {
    let index = u64::try_from(index).unwrap_or(u64::MAX);
    KeyHash(
        Hash::tagged(
            "bitverse state bounty deep value v1",
            &[&bounty.0, &index.to_le_bytes()],
        )
        .0,
    )
}

/// The bounds a request's arguments and fuel budget must keep: those of one transformation
/// run, so that every bounty can be computed.
pub(crate) fn check_request_bounds(args: &[u8], fuel_budget: u64) -> Result<(), StatelessError> {
    if args.len() > bitverse_compute::transform::ARGS_SIZE_BYTES_MAX {
        return Err(StatelessError::BountyArgsTooLarge {
            size_bytes: args.len(),
            max: bitverse_compute::transform::ARGS_SIZE_BYTES_MAX,
        });
    }
    if fuel_budget == 0 || fuel_budget > bitverse_compute::transform::FUEL_PER_TRANSFORM_MAX {
        return Err(StatelessError::FuelBudgetOutOfRange {
            fuel_budget,
            max: bitverse_compute::transform::FUEL_PER_TRANSFORM_MAX,
        });
    }
    Ok(())
}

/// Where a bounty lives in the root's state tree.
pub fn bounty_key(id: &Hash) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state bounty v1", &[&id.0]).0)
}

/// Where the count of an account's open bounties lives.
pub fn open_bounties_key(account: &AccountId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state open bounties v1", &[&account.0]).0)
}

/// Where the [`BountyTotals`] live.
pub fn bounty_totals_key() -> KeyHash {
    KeyHash(Hash::tagged("bitverse state bounty totals v1", &[]).0)
}

/// Where the ids of the bounties expiring at the start of root block `height` are listed.
pub fn expiries_key(height: u64) -> KeyHash {
    KeyHash(
        Hash::tagged(
            "bitverse state bounty expiries v1",
            &[&height.to_le_bytes()],
        )
        .0,
    )
}

pub(crate) fn bounty(view: &StateView<'_>, id: &Hash) -> Result<Option<Bounty>, StoreError> {
    view.get_decoded(&bounty_key(id))
}

fn set_bounty(view: &mut StateView<'_>, bounty: &Bounty) {
    view.set_pending(bounty_key(&bounty.id), Some(codec::encode(bounty)));
}

pub(crate) fn totals(view: &StateView<'_>) -> Result<BountyTotals, StoreError> {
    Ok(view.get_decoded(&bounty_totals_key())?.unwrap_or_default())
}

pub(crate) fn open_count(view: &StateView<'_>, account: &AccountId) -> Result<u32, StoreError> {
    Ok(view.get_decoded(&open_bounties_key(account))?.unwrap_or(0))
}

fn set_open_count(view: &mut StateView<'_>, account: &AccountId, count: u32) {
    let value = (count > 0).then(|| codec::encode(&count));
    view.set_pending(open_bounties_key(account), value);
}

/// An open bounty, or the refusal that names why it is not one.
fn open_bounty(view: &StateView<'_>, id: &Hash) -> Result<Bounty, ApplyError> {
    let found = bounty(view, id)?.ok_or(BountyError::UnknownBounty(*id))?;
    if let Some(status) = found.status.end() {
        return Err(BountyError::BountyClosed {
            bounty: *id,
            status,
        }
        .into());
    }
    Ok(found)
}

/// Takes one bounty of `amount` off the open counts and the escrow, its status having left
/// `Open`.
fn close(
    view: &mut StateView<'_>,
    requester: &AccountId,
    amount: Amount,
) -> Result<(), ApplyError> {
    let count = open_count(view, requester)?;
    set_open_count(view, requester, count.saturating_sub(1));
    let mut sums = totals(view)?;
    sums.open = sums.open.checked_sub(1).ok_or(TxError::Overflow)?;
    sums.escrowed = sums
        .escrowed
        .checked_sub(amount)
        .map_err(|_| TxError::Overflow)?;
    view.set_pending(bounty_totals_key(), Some(codec::encode(&sums)));
    Ok(())
}

/// The hash of `key`'s value in `pinned`, refusing a key with no value there (or a key that
/// lives on a data chain: `KeyOnOtherChain`).
fn pin(pinned: &StateView<'_>, key: &str, height: u64) -> Result<PinnedKey, ApplyError> {
    let value = pinned
        .value(key)?
        .ok_or_else(|| BountyError::PinnedKeyMissing {
            key: key.to_owned(),
            height,
        })?;
    Ok(PinnedKey {
        key: key.to_owned(),
        value_hash: Hash::digest(&value),
    })
}

/// The staked relayers of `view` (root state at `height`) as the draw sees them: their stake
/// and their `Relay` record decayed to `height`.
fn relayer_candidates(
    view: &StateView<'_>,
    height: u64,
    params: &ChainParams,
) -> Result<Vec<RelayerCandidate>, ApplyError> {
    let accounts = staked_nodes(view, TaskKind::Relay)?;
    let mut candidates = Vec::with_capacity(accounts.len());
    for (account, stake) in accounts {
        let node = StakedNode {
            account,
            stake,
            record: record(view, &account, TaskKind::Relay)?,
        };
        candidates.push(
            RelayerCandidate::at_height(&node, height, &params.ledger)
                .map_err(BountyError::BadLineupProof)?,
        );
    }
    Ok(candidates)
}

fn record(
    view: &StateView<'_>,
    account: &AccountId,
    kind: TaskKind,
) -> Result<ReliabilityRecord, StoreError> {
    view.get_raw(&reliability_key(account, kind))?
        .map(|bytes| {
            ReliabilityRecord::from_bytes(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Records a success (`latency_ms = Some`) or a failure (`None`) at `height` on `account`'s
/// record for `kind`, about `bounty`: weighed by its amount, so that farming a record (or
/// burning one) with tiny bounties moves it as little as they are worth.
fn record_event(
    view: &mut StateView<'_>,
    params: &ChainParams,
    bounty: &Bounty,
    account: &AccountId,
    kind: TaskKind,
    height: u64,
    latency_ms: Option<u32>,
) -> Result<(), ApplyError> {
    let mut updated = record(view, account, kind)?;
    let weight = params.ledger.event_weight(bounty.amount);
    match latency_ms {
        Some(latency_ms) => updated.record_success(height, latency_ms, weight, &params.ledger),
        None => updated.record_failure(height, weight, &params.ledger),
    }
    .map_err(BountyError::Ledger)?;
    view.set_pending(reliability_key(account, kind), Some(updated.to_bytes()));
    Ok(())
}

/// Records a new bounty; its amount and holding charge have already left the requester's
/// balance. The request is checked in the order of the steps below (a refusal names the
/// first rule broken): its bounds, the values it pins, its parties, then the room the root
/// has for one more open bounty.
pub(crate) fn post_bounty(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    post: &PostBounty<'_>,
) -> Result<(), ApplyError> {
    check_request(view, ctx, post)?;
    // Everything the bounty names is read as of the pinned height.
    let pinned = view.committed_at(post.pinned_height);
    let (transform, inputs) = pin_inputs(view, &pinned, post)?;
    check_parties(view, &pinned, ctx, post)?;
    let Room {
        count,
        mut sums,
        expiries,
        mut expiring,
    } = room_for(view, post)?;

    expiring.push(post.id);
    view.set_pending(expiries, Some(codec::encode(&expiring)));
    // Only an offerer that accepted the bounty is bound to it until its expiry: a bounty that
    // merely names it must not hold its stake (a requester could otherwise keep any offerer
    // from unbonding for the holding charge alone). One that serves a bounty it did not
    // accept backs it with what it holds then, stake or unbonding entry.
    if post.accepted {
        crate::stake::extend_duty(view, &post.offerer, TaskKind::Offer, post.expiry_height)?;
    }
    set_open_count(view, &post.requester, count.saturating_add(1));
    sums.open = sums.open.checked_add(1).ok_or(TxError::Overflow)?;
    sums.escrowed = sums
        .escrowed
        .checked_add(post.amount)
        .map_err(|_| TxError::Overflow)?;
    view.set_pending(bounty_totals_key(), Some(codec::encode(&sums)));
    set_bounty(
        view,
        &Bounty {
            id: post.id,
            requester: post.requester,
            offerer: post.offerer,
            amount: post.amount,
            transform,
            inputs,
            args: post.args.to_vec(),
            pinned_height: post.pinned_height,
            posted_height: ctx.height,
            hops: post.hops,
            fuel_budget: post.fuel_budget,
            expiry_height: post.expiry_height,
            lineup: None,
            status: BountyStatus::Open,
            accepted: post.accepted,
        },
    );
    // Holding the bounty open, and its deep values in root state, until its expiry: paid
    // into the root's pool, which pays its miners.
    if post.holding > Amount::ZERO {
        crate::endowment::deposit(view, &ChainId::ROOT, post.holding)?;
    }
    Ok(())
}

/// A PostBounty's bounds: on the root, the checks `check_stateless` makes again (where the
/// state depends on them), and a pinned height and an expiry within reach of block
/// `ctx.height`.
fn check_request(
    view: &StateView<'_>,
    ctx: &BlockContext<'_>,
    post: &PostBounty<'_>,
) -> Result<(), ApplyError> {
    if !view.chain().is_root() {
        return Err(StatelessError::RootOnly {
            chain: view.chain(),
        }
        .into());
    }
    if post.amount == Amount::ZERO {
        return Err(StatelessError::ZeroBountyAmount.into());
    }
    if post.offerer == post.requester {
        return Err(StatelessError::OffererIsRequester {
            account: post.requester,
        }
        .into());
    }
    if post.inputs.len() > BOUNTY_INPUTS_MAX {
        return Err(StatelessError::TooManyBountyInputs {
            count: post.inputs.len(),
            max: BOUNTY_INPUTS_MAX,
        }
        .into());
    }
    check_request_bounds(post.args, post.fuel_budget)?;
    if post.hops > HOPS_MAX {
        return Err(StatelessError::TooManyHops {
            hops: post.hops,
            max: HOPS_MAX,
        }
        .into());
    }
    let highest = ctx.height.checked_sub(1).ok_or(TxError::Overflow)?;
    let lowest = ctx.height.saturating_sub(PIN_AGE_BLOCKS_MAX);
    if post.pinned_height < lowest || post.pinned_height > highest {
        return Err(BountyError::PinHeightOutOfRange {
            pinned_height: post.pinned_height,
            lowest,
            highest,
        }
        .into());
    }
    let earliest_expiry = ctx.height.checked_add(1).ok_or(TxError::Overflow)?;
    let latest_expiry = ctx
        .height
        .checked_add(EXPIRY_BLOCKS_MAX)
        .ok_or(TxError::Overflow)?;
    if post.expiry_height < earliest_expiry || post.expiry_height > latest_expiry {
        return Err(BountyError::ExpiryOutOfRange {
            expiry_height: post.expiry_height,
            lowest: earliest_expiry,
            highest: latest_expiry,
        }
        .into());
    }
    Ok(())
}

/// Pins the transformation and the inputs to the hashes of their values in `pinned` (root
/// state at the pinned height): a root key's value read there, a data chain's value from its
/// proof ([`DeepValue`], one per such input in order), which is checked and kept in root
/// state while the bounty is open.
fn pin_inputs(
    view: &mut StateView<'_>,
    pinned: &StateView<'_>,
    post: &PostBounty<'_>,
) -> Result<(PinnedKey, Vec<PinnedKey>), ApplyError> {
    let transform = pin(pinned, post.transform, post.pinned_height)?;
    let mut inputs = Vec::with_capacity(post.inputs.len());
    let mut deep_values = post.deep_values.iter();
    for (index, key) in post.inputs.iter().enumerate() {
        let (home, record) = pinned.home_of(key)?;
        let slot = crate::state::value_key(&home, key);
        let home_chain = ChainId::of_address(&slot.0, record.depth).ok_or(TxError::Overflow)?;
        if home_chain.is_root() {
            inputs.push(pin(pinned, key, post.pinned_height)?);
            continue;
        }
        let refused = |reason: DeepValueFault| BountyError::BadDeepValue {
            key: key.clone(),
            reason,
        };
        let deep = deep_values
            .next()
            .ok_or_else(|| refused(DeepValueFault::Missing { chain: home_chain }))?;
        let anchor = deep.verify(slot, home_chain).map_err(refused)?;
        if view
            .get_raw(&crate::endowment::anchored_key(&anchor))?
            .is_none()
        {
            return Err(refused(DeepValueFault::NotAnchored {
                chain: anchor.chain,
                hash: anchor.hash,
                height: anchor.height,
            })
            .into());
        }
        view.set_pending(deep_value_key(&post.id, index), Some(deep.value.clone()));
        inputs.push(PinnedKey {
            key: key.clone(),
            value_hash: Hash::digest(&deep.value),
        });
    }
    if deep_values.next().is_some() {
        return Err(BountyError::BadDeepValue {
            key: String::new(),
            reason: DeepValueFault::Extra,
        }
        .into());
    }
    Ok((transform, inputs))
}

/// A PostBounty's parties: an offerer staked at the pinned height and still now, and enough
/// eligible relayers at the pinned height for its tier.
fn check_parties(
    view: &StateView<'_>,
    pinned: &StateView<'_>,
    ctx: &BlockContext<'_>,
    post: &PostBounty<'_>,
) -> Result<(), ApplyError> {
    // Staked at the pinned height, and still now: a stake left since (unbonding, released
    // perhaps before this bounty expires) backs no new bounty.
    for (state, height) in [(pinned, post.pinned_height), (view, ctx.height)] {
        if stake_record(state, &post.offerer)?.stake(TaskKind::Offer) == Amount::ZERO {
            return Err(BountyError::OffererNotStaked {
                offerer: post.offerer,
                height,
            }
            .into());
        }
    }
    if post.hops > 0 {
        // The lineup is drawn later from the same state, so a tier that cannot be drawn now
        // never can: refuse it rather than escrow a bounty bound to expire.
        let eligible = relayer_candidates(pinned, post.pinned_height, ctx.params)?
            .iter()
            .filter(|c| {
                c.account != post.requester
                    && c.account != post.offerer
                    && is_eligible_relayer(c.stake, c.reputation_ppm)
            })
            .count();
        if eligible < usize::from(post.hops) {
            return Err(BountyError::TierUnavailable {
                hops: post.hops,
                eligible,
            }
            .into());
        }
    }
    Ok(())
}

/// What [`room_for`] read, for recording the new bounty.
struct Room {
    /// The requester's open bounties.
    count: u32,
    /// The root's open bounties and escrow.
    sums: BountyTotals,
    /// Where the bounties expiring with this one are listed, and the list.
    expiries: KeyHash,
    expiring: Vec<Hash>,
}

/// Whether the root has room for one more open bounty: below the requester's, the root's and
/// the expiry height's limits, and under an id not taken.
fn room_for(view: &StateView<'_>, post: &PostBounty<'_>) -> Result<Room, ApplyError> {
    let count = open_count(view, &post.requester)?;
    if usize::try_from(count).unwrap_or(usize::MAX) >= OPEN_BOUNTIES_PER_ACCOUNT_MAX {
        return Err(BountyError::TooManyOpenBounties {
            account: post.requester,
            max: OPEN_BOUNTIES_PER_ACCOUNT_MAX,
        }
        .into());
    }
    let sums = totals(view)?;
    if usize::try_from(sums.open).unwrap_or(usize::MAX) >= OPEN_BOUNTIES_MAX {
        return Err(BountyError::OpenBountiesFull {
            max: OPEN_BOUNTIES_MAX,
            at_height: None,
        }
        .into());
    }
    let expiries = expiries_key(post.expiry_height);
    let expiring: Vec<Hash> = view.get_decoded(&expiries)?.unwrap_or_default();
    if expiring.len() >= BOUNTIES_EXPIRING_PER_HEIGHT_MAX {
        return Err(BountyError::OpenBountiesFull {
            max: BOUNTIES_EXPIRING_PER_HEIGHT_MAX,
            at_height: Some(post.expiry_height),
        }
        .into());
    }
    if bounty(view, &post.id)?.is_some() {
        // A transaction id names one transaction, applied once: only a hash collision gets
        // here.
        return Err(BountyError::AlreadyPosted(post.id).into());
    }
    Ok(Room {
        count,
        sums,
        expiries,
        expiring,
    })
}

/// Draws an open bounty's lineup from the first valid proof over its id.
pub(crate) fn publish_lineup(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    proof: &LineupProof,
) -> Result<(), ApplyError> {
    let mut found = open_bounty(view, &proof.bounty)?;
    if found.hops == 0 {
        return Err(BountyError::NoLineupForTier(found.id).into());
    }
    if found.lineup.is_some() {
        return Err(BountyError::LineupAlreadyDrawn(found.id).into());
    }
    let seed = proof
        .check(&found.id, ctx.params.lineup_difficulty)
        .map_err(BountyError::BadLineupProof)?;
    let pinned = view.committed_at(found.pinned_height);
    // Drawn as staked at the pinned height, among those still staked now: a relayer that left
    // since has no stake this bounty could slash.
    let mut candidates = Vec::new();
    for candidate in relayer_candidates(&pinned, found.pinned_height, ctx.params)? {
        if stake_record(view, &candidate.account)?.stake(TaskKind::Relay) > Amount::ZERO {
            candidates.push(candidate);
        }
    }
    let relayers = draw_lineup(
        &seed,
        &candidates,
        &[found.requester, found.offerer],
        usize::from(found.hops),
    )
    .map_err(BountyError::BadLineupProof)?;
    for relayer in &relayers {
        crate::stake::extend_duty(view, relayer, TaskKind::Relay, found.expiry_height)?;
    }
    found.lineup = Some(Lineup {
        finder: proof.finder,
        seed,
        relayers,
        drawn_height: ctx.height,
    });
    set_bounty(view, &found);
    Ok(())
}

/// Settles an open bounty with its complete envelope chain, every envelope committing to the
/// revealed `result_hash`: pays the split, records the successes, closes it.
pub(crate) fn settle(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    id: &Hash,
    result_hash: &Hash,
    chain: &[Envelope],
) -> Result<(), ApplyError> {
    let mut found = open_bounty(view, id)?;
    let (relayers, finder) = match &found.lineup {
        Some(lineup) => (lineup.relayers.clone(), lineup.finder),
        None if found.hops == 0 => (Vec::new(), found.offerer),
        None => return Err(BountyError::LineupNotDrawn(found.id).into()),
    };
    let verified = verify_envelope_chain(chain, &found.expected_chain(), result_hash).map_err(
        |e| match e {
            LineupError::CommitmentMismatch { position } => BountyError::ResultNotCommitted {
                bounty: found.id,
                position,
            },
            other => BountyError::BadEnvelopeChain(other),
        },
    )?;
    let shares = settlement_shares(
        found.amount,
        relayers.len(),
        ctx.params.quote.finder_share_ppm,
    )
    .map_err(BountyError::BadEnvelopeChain)?;
    for (account, amount) in shares
        .payouts(found.offerer, &relayers, finder)
        .map_err(BountyError::BadEnvelopeChain)?
    {
        view.credit(&account, amount)?;
    }
    // Latency in the ledger's unit: the blocks from post to settle at the root's target
    // interval, the only clock every node reads alike.
    let blocks = ctx.height.saturating_sub(found.posted_height);
    let latency_ms = u32::try_from(blocks.saturating_mul(ctx.params.root.block_interval_target_ms))
        .unwrap_or(u32::MAX);
    record_event(
        view,
        ctx.params,
        &found,
        &found.offerer,
        TaskKind::Offer,
        ctx.height,
        Some(latency_ms),
    )?;
    for relayer in &relayers {
        record_event(
            view,
            ctx.params,
            &found,
            relayer,
            TaskKind::Relay,
            ctx.height,
            Some(latency_ms),
        )?;
    }
    found.status = BountyStatus::Settled {
        height: ctx.height,
        result_hash: *result_hash,
        fuel_used: verified.fuel_used,
    };
    forget_deep_values(view, &found)?;
    close(view, &found.requester, found.amount)?;
    set_bounty(view, &found);
    Ok(())
}

/// The participants' role: the offerer computes as `Offer`, relayers as `Relay`.
fn role_of(bounty: &Bounty, signer: &AccountId) -> TaskKind {
    if *signer == bounty.offerer {
        TaskKind::Offer
    } else {
        TaskKind::Relay
    }
}

/// The values a bounty pinned, read at its pinned height: the module, then the inputs in
/// order. State keeps every height's values, so one missing or changed is corruption.
pub(crate) fn pinned_values(
    view: &StateView<'_>,
    bounty: &Bounty,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), ApplyError> {
    let pinned = view.committed_at(bounty.pinned_height);
    let read = |pin: &PinnedKey| -> Result<Vec<u8>, ApplyError> {
        match pinned.value(&pin.key)? {
            Some(value) if Hash::digest(&value) == pin.value_hash => Ok(value),
            _ => Err(StoreError::Corrupt(format!(
                "the value bounty {} pinned under {:?} is gone from height {}",
                bounty.id, pin.key, bounty.pinned_height
            ))
            .into()),
        }
    };
    let module = read(&bounty.transform)?;
    let mut inputs = Vec::with_capacity(bounty.inputs.len());
    for (index, pin) in bounty.inputs.iter().enumerate() {
        // A data chain's value, proven when posted, is in root state while the bounty is open.
        match view.get_raw(&deep_value_key(&bounty.id, index))? {
            Some(value) if Hash::digest(&value) == pin.value_hash => inputs.push(value),
            Some(_) => {
                return Err(StoreError::Corrupt(format!(
                    "bounty {}'s proven value of {:?} does not match its pin",
                    bounty.id, pin.key
                ))
                .into());
            }
            None => inputs.push(read(pin)?),
        }
    }
    Ok((module, inputs))
}

/// Forgets the proven values of an ending bounty: they were kept only for its computations.
fn forget_deep_values(view: &mut StateView<'_>, bounty: &Bounty) -> Result<(), ApplyError> {
    for index in 0..bounty.inputs.len() {
        let key = deep_value_key(&bounty.id, index);
        if view.get_raw(&key)?.is_some() {
            view.set_pending(key, None);
        }
    }
    Ok(())
}

/// Re-executes the bounty's transformation over its pinned values: `Some((result hash, fuel
/// used))`, or `None` when it gives no output. Every node gets the same answer (fuel is
/// deterministic); a node that cannot run the sandbox at all fails as the node
/// (`ApplyError::Sandbox`), never with a verdict.
fn re_execute(
    view: &StateView<'_>,
    ctx: &BlockContext<'_>,
    bounty: &Bounty,
) -> Result<Verdict, ApplyError> {
    let verdicts = &ctx.scripts.dispute_verdicts;
    let key = verdict_key(bounty);
    if let Some(verdict) = verdicts.get(&key) {
        return Ok(verdict);
    }
    verdicts.runs.fetch_add(1, Ordering::Relaxed);
    let verdict = run_transform(view, ctx, bounty)?;
    verdicts.remember(key, verdict);
    Ok(verdict)
}

/// Runs the bounty's transformation over its pinned values (see [`re_execute`]).
fn run_transform(
    view: &StateView<'_>,
    ctx: &BlockContext<'_>,
    bounty: &Bounty,
) -> Result<Verdict, ApplyError> {
    let (module, inputs) = pinned_values(view, bounty)?;
    let runner = ctx.scripts.transforms()?;
    let request = TransformRequest {
        inputs,
        args: bounty.args.clone(),
        fuel_max: bounty.fuel_budget,
    };
    match runner.run(&module, request) {
        Ok(outcome) => Ok(outcome
            .result
            .ok()
            .map(|output| (Hash::digest(&output), outcome.fuel_used))),
        Err(TransformError::Node(e)) => Err(SandboxFailure::Run(e).into()),
        // A module that fails upload checks, or a request beyond the sandbox's bounds, has
        // no result: nothing anyone attested for it is right.
        Err(_) => Ok(None),
    }
}

/// Ends an open bounty on two conflicting signed results (`revealed` is the result hash the
/// second commits to, which the first does not): re-executes, slashes (burns) every signer of
/// a wrong result in its role and records its failure, records a success for a signer of the
/// right one, and refunds the requester. A signer is right when its envelope commits to the
/// result re-execution gives, with the fuel it used.
pub(crate) fn dispute(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    id: &Hash,
    evidence: [&Envelope; 2],
    revealed: &Hash,
) -> Result<(), ApplyError> {
    let mut found = open_bounty(view, id)?;
    let [first, second] = evidence;
    check_conflict(first, second, revealed, &found.expected_chain())
        .map_err(BountyError::BadDisputeEvidence)?;
    // The cheap checks, before anything runs: someone must have a stake (or an unbonding
    // one) to lose.
    let mut at_stake = Amount::ZERO;
    for signer in [first.signer, second.signer] {
        let stake = stake_record(view, &signer)?
            .slashable(role_of(&found, &signer))
            .ok_or(TxError::Overflow)?;
        at_stake = at_stake.checked_add(stake).map_err(|_| TxError::Overflow)?;
    }
    if at_stake == Amount::ZERO {
        return Err(BountyError::DisputeBurnsNothing { bounty: found.id }.into());
    }
    if ctx.admission {
        return Ok(());
    }
    let used = ctx.dispute_fuel_used.load(Ordering::Relaxed);
    let fuel = used
        .checked_add(found.fuel_budget)
        .filter(|total| *total <= DISPUTE_FUEL_PER_BLOCK_MAX)
        .ok_or(BountyError::DisputeFuelFull {
            used,
            budget: found.fuel_budget,
            max: DISPUTE_FUEL_PER_BLOCK_MAX,
        })?;
    ctx.dispute_fuel_used.store(fuel, Ordering::Relaxed);
    let correct = re_execute(view, ctx, &found)?;
    let blocks = ctx.height.saturating_sub(found.posted_height);
    let latency_ms = u32::try_from(blocks.saturating_mul(ctx.params.root.block_interval_target_ms))
        .unwrap_or(u32::MAX);
    let mut slashed: Vec<Slash> = Vec::new();
    let mut judged: Vec<AccountId> = Vec::new();
    let is_right = |envelope: &Envelope| {
        correct.is_some_and(|(hash, fuel)| envelope.commits_to(&hash) && envelope.fuel_used == fuel)
    };
    for envelope in [first, second] {
        // A signer is judged once, on every envelope of it here: one wrong result slashes it,
        // whatever the evidence's order, so one that signed both (conflicting) results always
        // is.
        if judged.contains(&envelope.signer) {
            continue;
        }
        judged.push(envelope.signer);
        let role = role_of(&found, &envelope.signer);
        let signed_only_right = [first, second]
            .into_iter()
            .filter(|other| other.signer == envelope.signer)
            .all(&is_right);
        if signed_only_right {
            record_event(
                view,
                ctx.params,
                &found,
                &envelope.signer,
                role,
                ctx.height,
                Some(latency_ms),
            )?;
        } else {
            let amount = crate::stake::slash(view, &envelope.signer, role)?;
            record_event(
                view,
                ctx.params,
                &found,
                &envelope.signer,
                role,
                ctx.height,
                None,
            )?;
            slashed.push(Slash {
                account: envelope.signer,
                role,
                amount,
            });
        }
    }
    view.credit(&found.requester, found.amount)?;
    forget_deep_values(view, &found)?;
    close(view, &found.requester, found.amount)?;
    let mut sums = totals(view)?;
    for slash in &slashed {
        sums.burnt = sums
            .burnt
            .checked_add(slash.amount)
            .map_err(|_| TxError::Overflow)?;
    }
    view.set_pending(bounty_totals_key(), Some(codec::encode(&sums)));
    found.status = BountyStatus::Disputed {
        height: ctx.height,
        result_hash: correct.map(|(hash, _)| hash),
        slashed,
    };
    set_bounty(view, &found);
    Ok(())
}

/// Refunds every bounty still open whose expiry is root block `height`, at its start and
/// outside any transaction (before the block's transactions, which may spend the refund), and
/// records a failure for each one's offerer that accepted it. Does nothing on a data chain.
pub(crate) fn expire_bounties(
    view: &mut StateView<'_>,
    params: &ChainParams,
    height: u64,
) -> Result<(), ApplyError> {
    if !view.chain().is_root() {
        return Ok(());
    }
    let key = expiries_key(height);
    let Some(ids) = view.get_decoded::<Vec<Hash>>(&key)? else {
        return Ok(());
    };
    for id in &ids {
        let Some(mut found) = bounty(view, id)? else {
            return Err(StoreError::Corrupt(format!("expiring bounty {id} is missing")).into());
        };
        if found.status != BountyStatus::Open {
            continue;
        }
        view.credit(&found.requester, found.amount)?;
        if found.accepted {
            record_event(
                view,
                params,
                &found,
                &found.offerer,
                TaskKind::Offer,
                height,
                None,
            )?;
        }
        found.status = BountyStatus::Expired { height };
        forget_deep_values(view, &found)?;
        close(view, &found.requester, found.amount)?;
        set_bounty(view, &found);
    }
    view.set_pending(key, None);
    view.flush_pending();
    Ok(())
}

/// What every root block does at its start, before its transactions: releases unbonded
/// stakes, refunds expired bounties, then the blobs' deadlines, draws and payments
/// (`crate::blob`), whose draws are seeded by `parent`, the hash of the block before.
pub(crate) fn start_root_block(
    view: &mut StateView<'_>,
    params: &ChainParams,
    height: u64,
    parent: &Hash,
) -> Result<(), ApplyError> {
    crate::stake::release_unbonded(view, height)?;
    expire_bounties(view, params, height)?;
    crate::blob::start_root_block(view, params, height, parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_of_different_things_differ() {
        let id = Hash([1; 32]);
        let account = AccountId([1; 32]);
        let keys = [
            bounty_key(&id),
            bounty_key(&Hash([2; 32])),
            open_bounties_key(&account),
            bounty_totals_key(),
            expiries_key(0),
            expiries_key(1),
            crate::stake::stake_key(&account),
            crate::state::account_key(&account),
        ];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn a_request_is_bounded_as_one_sandbox_run() {
        use bitverse_compute::transform::{ARGS_SIZE_BYTES_MAX, FUEL_PER_TRANSFORM_MAX};
        assert_eq!(check_request_bounds(&[0; ARGS_SIZE_BYTES_MAX], 1), Ok(()));
        assert_eq!(check_request_bounds(&[], FUEL_PER_TRANSFORM_MAX), Ok(()));
        assert_eq!(
            check_request_bounds(&[0; ARGS_SIZE_BYTES_MAX + 1], 1),
            Err(StatelessError::BountyArgsTooLarge {
                size_bytes: ARGS_SIZE_BYTES_MAX + 1,
                max: ARGS_SIZE_BYTES_MAX
            })
        );
        for fuel_budget in [0, FUEL_PER_TRANSFORM_MAX + 1] {
            assert_eq!(
                check_request_bounds(&[], fuel_budget),
                Err(StatelessError::FuelBudgetOutOfRange {
                    fuel_budget,
                    max: FUEL_PER_TRANSFORM_MAX
                })
            );
        }
    }

    #[test]
    fn a_status_says_how_the_bounty_ended() {
        assert_eq!(BountyStatus::Open.to_string(), "open");
        assert_eq!(
            BountyStatus::Expired { height: 40 }.to_string(),
            "expired at root height 40"
        );
        assert_eq!(
            BountyStatus::Settled {
                height: 12,
                result_hash: Hash::ZERO,
                fuel_used: 5
            }
            .to_string(),
            "settled at root height 12"
        );
    }

    #[test]
    fn a_closed_bounty_is_refused_with_the_text_of_its_status() {
        assert_eq!(BountyStatus::Open.end(), None);
        for status in [
            BountyStatus::Settled {
                height: 12,
                result_hash: Hash::ZERO,
                fuel_used: 5,
            },
            BountyStatus::Expired { height: 40 },
            BountyStatus::Disputed {
                height: 7,
                result_hash: None,
                slashed: Vec::new(),
            },
        ] {
            let end = status.end().unwrap();
            assert_eq!(end.to_string(), status.to_string());
        }
    }
}
