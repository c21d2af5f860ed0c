//! Blobs on the root (issue 19 §2 and §3, `docs/STORAGE.md`): storers and their capacity,
//! `RegisterBlob` (a key's manifest and its prepaid endowment), the placement of each shard on
//! a storer drawn by the chain, `ConfirmShards` (a storer's receipts), the deadline and redraw
//! of a shard nobody took, and the payment of storers per period from the endowment.
//!
//! A blob's life: `RegisterBlob` writes the manifest's canonical bytes as the key's value
//! (through the same path as a `Put`, so the keyspace's rule judges it), takes the placement
//! charge into the root's endowment pool and escrows the rest of the endowment in the blob;
//! [`PLACEMENT_DELAY_BLOCKS`] later, at the start of a root block, its n shards are drawn onto
//! n distinct storers, seeded by the hash of a block after the one holding the registration;
//! each storer confirms its shard within `confirm_deadline_blocks`, or the shard is drawn
//! again (at most [`REDRAWS_PER_SHARD_MAX`] times, then the blob fails and what is left of its
//! endowment goes back to its publisher); every `period_blocks` the endowment pays each storer
//! holding a confirmed shard its share, at a rate falling every year
//! (`bitverse_pricing::storage`), until the endowment cannot pay a whole period: then the
//! last of it is shared, and the blob expires.
//!
//! Leaves (all on the root):
//! - [`blob_key`]`(id)`: the [`Blob`], kept after it ends; its id is the id of the
//!   transaction that registered it;
//! - [`blob_of_key_key`]`(key)`: the id of the last blob registered at the key;
//! - [`storer_key`]`(account)`: a [`StorerRecord`], the capacity a storer declared and what
//!   the root has placed on it;
//! - [`blob_totals_key`]: [`BlobTotals`], the live blobs and the escrow they hold, which the
//!   conservation of money counts;
//! - two FIFO queues ([`QueueBounds`] and one leaf per entry): the placements waiting for
//!   their draw (at most [`PLACEMENT_QUEUE_MAX`]) and the live blobs in order of their next
//!   payment;
//! - [`deadlines_key`]`(height)`: the shards whose confirmation deadline is root block
//!   `height` (at most [`PLACEMENTS_PER_BLOCK_MAX`]: one block's placements).
//! - the audits' leaves (`audit`): the confirmed shards as a dense array, the pending audits,
//!   their deadlines per height, each storer's pending audits and [`AuditTotals`].
//!
//! Audits (`audit`, `docs/STORAGE.md` "Audits"): every root block audits up to
//! [`AUDITS_PER_BLOCK_MAX`] confirmed shards; a storer answers with `ProveShards`; one that
//! does not is slashed and let go, and the shard is marked for repair and drawn again
//! ([`Shard::repair`]), its new storer paid a repair fee when it confirms.
//!
//! Challenges (`challenge`, `docs/STORAGE.md` "Challenges"): a publisher's own check of a
//! storer, a payment only the holder of the whole shard can claim; unclaimed, it marks the
//! shard for repair as a failed audit does, without the slash.
//!
//! Leaving (`leave`, `docs/STORAGE.md` "Leaving"): an Unstake of a storer's whole stake while
//! it holds shards marks it leaving; its shards are marked for repair a few a block, then the
//! stake unbonds.
//!
//! Blobs are root keys only in this slice: a key whose keyspace lives on a data chain is
//! refused (`KeyOnOtherChain`); a deeper blob will keep its manifest on its key's chain.

use bincode::{Decode, Encode};
use bitverse_pricing::{
    DrawError, EVENT_WEIGHT, ReliabilityRecord, TaskKind, draw_weight, draw_weighted_distinct,
    shard_period_charge,
};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, codec};
use bitverse_storage::Manifest;
use jmt::KeyHash;
use serde::Serialize;

use crate::error::{StorageError, StoreError, TxError};
use crate::params::ChainParams;
use crate::scripts::BlockContext;
use crate::stake::{reliability_key, stake_record, staked_nodes};
use crate::state::{ApplyError, StateView};

mod audit;
mod challenge;
mod leave;

pub use audit::{
    AUDITS_PER_BLOCK_MAX, AuditTotals, PendingAudit, SHARD_PROOF_BYTES_MAX,
    SHARD_PROOFS_PER_TX_MAX, ShardProof, audit_deadlines_key, audit_key, audit_slot_key,
    audit_totals_key, storer_audits_key,
};
pub(crate) use audit::{audit_totals, pending_audits_of_storer, prove_shards};
pub use challenge::{
    CHALLENGE_AMOUNT_MIN, CHALLENGES_PER_BLOCK_MAX, CHALLENGES_PER_STORER_MAX, Challenge,
    ChallengeResult, ChallengeTotals, challenge_deadlines_key, challenge_key, challenge_totals_key,
    storer_challenges_key,
};
pub(crate) use challenge::{
    Posting, challenge_totals, challenges_of_storer, claim_challenge, open_challenge,
    post_challenge,
};
pub(crate) use leave::begin_leave;
pub use leave::{LEAVES_PER_BLOCK_MAX, LEAVING_STORERS_MAX, storer_shard_slot_key};

/// Root blocks between a blob's registration and the draw of its shards: the draw at the
/// start of block `r + 2` is seeded by the hash of block `r + 1`, which did not exist when the
/// publisher chose its transaction (`docs/STORAGE.md`, "Grinding the draw").
pub const PLACEMENT_DELAY_BLOCKS: u64 = 2;

/// The most shards one root block draws (first placements and redraws together): one blob of
/// the most shards, or several smaller. The rest waits for the next block.
pub const PLACEMENTS_PER_BLOCK_MAX: usize = 64;

/// The most placements waiting for their draw. A registration is refused when the queue holds
/// `PLACEMENT_QUEUE_MAX - PLACEMENT_REDRAW_RESERVE` or more, so that redraws find room.
pub const PLACEMENT_QUEUE_MAX: u64 = 16_384;

/// Room in the placement queue kept for redraws. A redraw that still finds it full fails its
/// blob (refunded), which only a queue of thousands of redraws can do.
pub const PLACEMENT_REDRAW_RESERVE: u64 = 1_024;

/// How many times one shard may be drawn again after a storer failed to confirm it; one more
/// failure fails the blob.
pub const REDRAWS_PER_SHARD_MAX: u8 = 4;

/// The most receipts one ConfirmShards carries.
pub const RECEIPTS_PER_TX_MAX: usize = 64;

/// The most blobs whose period one root block pays (each pays at most 64 storers). A backlog
/// waits for the next block, in the order the periods fell due.
pub const PAYMENTS_PER_BLOCK_MAX: usize = 64;

/// The most live blobs (placing or stored) on the root: bounds the payment queue.
pub const BLOBS_LIVE_MAX: u64 = 65_536;

/// The most capacity a storer may declare: 1 PiB.
pub const CAPACITY_BYTES_MAX: u64 = 1 << 50;

/// The longest peer id a storer may declare (a libp2p Ed25519 peer id is 52 characters).
pub const STORER_PEER_BYTES_MAX: usize = 64;

/// The longest content type a blob may carry.
pub const CONTENT_TYPE_BYTES_MAX: usize = 127;

/// Whether `peer` can be a storer's peer id as text: 1 to [`STORER_PEER_BYTES_MAX`] ASCII
/// letters and digits (base58, as libp2p writes them). The chain does not parse it further.
pub fn valid_storer_peer(peer: &str) -> bool {
    !peer.is_empty()
        && peer.len() <= STORER_PEER_BYTES_MAX
        && peer.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether `content_type` can be a blob's media type: empty, or `type/subtype` (parameters
/// after `;` allowed) of printable ASCII without spaces before the `;`, at most
/// [`CONTENT_TYPE_BYTES_MAX`] bytes, so a gateway can send it as a header as it is.
pub fn valid_content_type(content_type: &str) -> bool {
    if content_type.is_empty() {
        return true;
    }
    let essence = content_type.split(';').next().unwrap_or_default();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    content_type.len() <= CONTENT_TYPE_BYTES_MAX
        && content_type.bytes().all(|b| (0x20..0x7f).contains(&b))
        && token(kind)
        && token(sub)
}

const PLACEMENT_QUEUE: &str = "placements";
const PAYMENT_QUEUE: &str = "payments";

/// A storer's receipt: it holds shard `shard` of blob `blob`. The transaction's signature is
/// the storer's signature over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct ShardReceipt {
    /// The blob's id.
    pub blob: Hash,
    /// The shard's index (data shards first).
    pub shard: u8,
}

/// One shard's placement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct Shard {
    /// The storer drawn for it; `None` before the draw, and between a no-show and the redraw.
    pub storer: Option<AccountId>,
    /// The root height of the block that drew the storer.
    pub placed_height: u64,
    /// The root block at whose start an unconfirmed shard is drawn again.
    pub deadline_height: u64,
    /// The root height of the block that recorded the storer's receipt.
    pub confirmed_height: Option<u64>,
    /// How many times it was drawn again because its storer did not confirm it in time
    /// (repairs after a failed audit do not count).
    pub redraws: u8,
    /// The root height of the block that recorded its storer's last passed audit; `None`
    /// until its present storer passes one (a new storer starts with none).
    pub last_audit_height: Option<u64>,
    /// Marked for repair: its storer failed an audit and was let go, so the storer drawn next
    /// must rebuild it from k other shards (no upload will come). Cleared, and the new storer
    /// paid its repair fee, when the new storer confirms it.
    pub repair: bool,
    /// How its last challenge ended (`challenge`), if it was ever challenged.
    pub last_challenge: Option<ChallengeResult>,
}

/// Why a blob failed (its endowment refunded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum BlobFailure {
    /// Too few storers with room were staked at the draw.
    NotEnoughStorers {
        /// Shards to place.
        needed: u32,
        /// Storers that could take one.
        eligible: u32,
    },
    /// A shard was not confirmed after its last redraw.
    RedrawsExhausted {
        /// The shard.
        shard: u8,
    },
    /// A redraw found the placement queue full.
    PlacementQueueFull,
}

/// Where a blob stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BlobStatus {
    /// Registered; some shard is not drawn or not confirmed yet (the blob was never stored:
    /// a repair does not take a stored blob back here).
    Placing,
    /// Every shard confirmed by its storer. A blob stays stored while a shard is repaired
    /// (`Shard::repair`): it is readable as long as k shards are held.
    Stored,
    /// Ended before every shard was placed; the endowment left was refunded.
    Failed {
        /// The root height it failed at.
        height: u64,
        /// Why.
        #[serde(flatten)]
        failure: BlobFailure,
    },
    /// The endowment ran out: the storers were paid its last and let go.
    Expired {
        /// The root height it expired at.
        height: u64,
    },
}

impl BlobStatus {
    /// Placing or stored: it holds escrow and storers.
    pub fn is_live(&self) -> bool {
        matches!(self, BlobStatus::Placing | BlobStatus::Stored)
    }
}

/// A blob as the root keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Blob {
    /// The id of the transaction that registered it.
    pub id: Hash,
    /// Its key.
    pub key: String,
    /// Who registered it, and gets a refund.
    pub publisher: AccountId,
    /// The manifest, whose canonical bytes are the key's value.
    pub manifest: Manifest,
    /// The root height of the block that registered it.
    pub registered_height: u64,
    /// What is left of the endowment, escrowed on the root.
    pub endowment: Amount,
    /// What it has paid its storers so far.
    pub paid: Amount,
    /// Payment periods gone by since its placement: the index of the next period's rate.
    pub periods_elapsed: u64,
    /// Where it stands.
    pub status: BlobStatus,
    /// One placement per shard, n of them.
    pub shards: Vec<Shard>,
    /// Its media type as the publisher gave it; empty for bytes.
    pub content_type: String,
}

/// What a storer offers and what the root has placed on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct StorerRecord {
    /// The bytes of shards it offers to hold (`DeclareCapacity`).
    pub capacity_bytes: u64,
    /// The bytes of the shards placed on it, confirmed or not.
    pub assigned_bytes: u64,
    /// The shards placed on it: while any is, its storer stake stays locked.
    pub shards: u32,
    /// Leaving (`leave`): the storer stake it asked to unstake while holding shards, which
    /// unbonds once its last shard is re-placed; it takes no new shard meanwhile.
    pub leaving: Option<Amount>,
}

impl StorerRecord {
    /// Bytes it can still take: none while it is leaving.
    pub fn room_bytes(&self) -> u64 {
        if self.leaving.is_some() {
            return 0;
        }
        self.capacity_bytes.saturating_sub(self.assigned_bytes)
    }
}

/// The live blobs and their escrow, in total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct BlobTotals {
    /// Blobs placing or stored.
    pub live: u64,
    /// The endowments they hold.
    pub escrowed: Amount,
}

/// A FIFO queue's bounds: entries `head..tail` are present.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct QueueBounds {
    /// The first present entry.
    pub head: u64,
    /// One past the last.
    pub tail: u64,
}

impl QueueBounds {
    fn len(&self) -> u64 {
        self.tail.saturating_sub(self.head)
    }
}

/// A draw waiting in the placement queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
struct PlacementTask {
    blob: Hash,
    /// `None`: every shard not drawn yet (the first placement); `Some`: a redraw.
    shard: Option<u8>,
    /// The root block from whose start it may be drawn.
    due_height: u64,
    /// A storer the draw may not pick unless nobody else can take the shard: the one that
    /// did not confirm it (a redraw), or that lost it (a repair).
    exclude: Option<AccountId>,
}

/// A live blob's next payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
struct PaymentDue {
    blob: Hash,
    due_height: u64,
}

/// Where blob `id` lives.
pub fn blob_key(id: &Hash) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state blob v1", &[&id.0]).0)
}

/// Where the id of the last blob registered at `key` lives.
pub fn blob_of_key_key(key: &str) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state blob of key v1", &[key.as_bytes()]).0)
}

/// Where `account`'s [`StorerRecord`] lives.
pub fn storer_key(account: &AccountId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state storer v1", &[&account.0]).0)
}

/// Where storer `account`'s declared peer id lives.
pub fn storer_peer_key(account: &AccountId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state storer peer v1", &[&account.0]).0)
}

/// Where the [`BlobTotals`] live.
pub fn blob_totals_key() -> KeyHash {
    KeyHash(Hash::tagged("bitverse state blob totals v1", &[]).0)
}

/// Where the shards whose deadline is root block `height` are listed.
pub fn deadlines_key(height: u64) -> KeyHash {
    KeyHash(
        Hash::tagged(
            "bitverse state shard deadlines v1",
            &[&height.to_le_bytes()],
        )
        .0,
    )
}

/// A leaf about shard `shard` of `blob`, under `tag`.
fn shard_key(tag: &str, blob: &Hash, shard: u8) -> KeyHash {
    KeyHash(Hash::tagged(tag, &[&blob.0, &[shard]]).0)
}

fn queue_bounds_key(queue: &str) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state queue bounds v1", &[queue.as_bytes()]).0)
}

fn queue_entry_key(queue: &str, seq: u64) -> KeyHash {
    KeyHash(
        Hash::tagged(
            "bitverse state queue entry v1",
            &[queue.as_bytes(), &seq.to_le_bytes()],
        )
        .0,
    )
}

fn corrupt(what: String) -> ApplyError {
    StoreError::Corrupt(what).into()
}

fn overflow<E>(_: E) -> ApplyError {
    TxError::Overflow.into()
}

/// Takes the list of shards at `key` (a deadline's: every entry is handled in the block that
/// reads it), clearing the leaf; `None` when there is none.
fn take_list(
    view: &mut StateView<'_>,
    key: KeyHash,
) -> Result<Option<Vec<ShardReceipt>>, ApplyError> {
    let due = view.get_decoded::<Vec<ShardReceipt>>(&key)?;
    if due.is_some() {
        view.set_pending(key, None);
    }
    Ok(due)
}

/// Removes `entry` from the list of shards at `key` (a storer's audits or challenges); the
/// leaf goes when the list empties.
fn list_remove(
    view: &mut StateView<'_>,
    key: KeyHash,
    entry: &ShardReceipt,
) -> Result<(), ApplyError> {
    let mut listed: Vec<ShardReceipt> = view.get_decoded(&key)?.unwrap_or_default();
    listed.retain(|e| e != entry);
    let value = (!listed.is_empty()).then(|| codec::encode(&listed));
    view.set_pending(key, value);
    Ok(())
}

fn queue_bounds(view: &StateView<'_>, queue: &str) -> Result<QueueBounds, StoreError> {
    Ok(view
        .get_decoded(&queue_bounds_key(queue))?
        .unwrap_or_default())
}

fn queue_push<T: Encode>(
    view: &mut StateView<'_>,
    queue: &str,
    entry: &T,
) -> Result<(), ApplyError> {
    let mut bounds = queue_bounds(view, queue)?;
    view.set_pending(
        queue_entry_key(queue, bounds.tail),
        Some(codec::encode(entry)),
    );
    bounds.tail = bounds.tail.checked_add(1).ok_or(TxError::Overflow)?;
    view.set_pending(queue_bounds_key(queue), Some(codec::encode(&bounds)));
    Ok(())
}

fn queue_peek<T: Decode<()>>(view: &StateView<'_>, queue: &str) -> Result<Option<T>, ApplyError> {
    let bounds = queue_bounds(view, queue)?;
    if bounds.len() == 0 {
        return Ok(None);
    }
    match view.get_decoded(&queue_entry_key(queue, bounds.head))? {
        Some(entry) => Ok(Some(entry)),
        None => Err(corrupt(format!(
            "entry {} of queue {queue} is missing",
            bounds.head
        ))),
    }
}

fn queue_pop(view: &mut StateView<'_>, queue: &str) -> Result<(), ApplyError> {
    let mut bounds = queue_bounds(view, queue)?;
    if bounds.len() == 0 {
        return Ok(());
    }
    view.set_pending(queue_entry_key(queue, bounds.head), None);
    bounds.head = bounds.head.checked_add(1).ok_or(TxError::Overflow)?;
    // An empty queue keeps its position: entries are never renumbered.
    view.set_pending(queue_bounds_key(queue), Some(codec::encode(&bounds)));
    Ok(())
}

/// Blob `id` in `view`.
pub(crate) fn blob(view: &StateView<'_>, id: &Hash) -> Result<Option<Blob>, StoreError> {
    view.get_decoded(&blob_key(id))
}

fn set_blob(view: &mut StateView<'_>, blob: &Blob) {
    view.set_pending(blob_key(&blob.id), Some(codec::encode(blob)));
}

/// The last blob registered at `key`, if any.
pub(crate) fn blob_of_key(view: &StateView<'_>, key: &str) -> Result<Option<Blob>, StoreError> {
    match view.get_decoded::<Hash>(&blob_of_key_key(key))? {
        Some(id) => blob(view, &id),
        None => Ok(None),
    }
}

/// `account`'s storer record (the default for none).
pub(crate) fn storer_record(
    view: &StateView<'_>,
    account: &AccountId,
) -> Result<StorerRecord, StoreError> {
    Ok(view.get_decoded(&storer_key(account))?.unwrap_or_default())
}

fn set_storer_record(view: &mut StateView<'_>, account: &AccountId, record: &StorerRecord) {
    let value = (*record != StorerRecord::default()).then(|| codec::encode(record));
    view.set_pending(storer_key(account), value);
}

/// The totals.
pub(crate) fn totals(view: &StateView<'_>) -> Result<BlobTotals, StoreError> {
    Ok(view.get_decoded(&blob_totals_key())?.unwrap_or_default())
}

fn set_totals(view: &mut StateView<'_>, totals: &BlobTotals) {
    view.set_pending(blob_totals_key(), Some(codec::encode(totals)));
}

/// Refuses a write (Put, Delete; `crate::apply` asks before either) of a key that holds a live
/// blob: its value is the blob's manifest, which its storers and readers rely on, for as long
/// as the blob lives.
pub(crate) fn check_key_free(view: &StateView<'_>, key: &str) -> Result<(), ApplyError> {
    if !view.chain().is_root() {
        return Ok(());
    }
    match blob_of_key(view, key)? {
        Some(found) if found.status.is_live() => Err(StorageError::BlobKeyHeld {
            key: key.to_owned(),
            blob: found.id,
        }
        .into()),
        _ => Ok(()),
    }
}

/// `DeclareCapacity`: sets the bytes a storer offers. The sender must hold storer stake; a
/// capacity below what is placed on it only stops new placements.
pub(crate) fn declare_capacity(
    view: &mut StateView<'_>,
    sender: &AccountId,
    capacity_bytes: u64,
    peer: &str,
) -> Result<(), ApplyError> {
    if !valid_storer_peer(peer) {
        return Err(StorageError::BadPeer {
            length: peer.len(),
            length_max: STORER_PEER_BYTES_MAX,
        }
        .into());
    }
    if capacity_bytes > CAPACITY_BYTES_MAX {
        return Err(StorageError::CapacityTooLarge {
            capacity_bytes,
            capacity_bytes_max: CAPACITY_BYTES_MAX,
        }
        .into());
    }
    if stake_record(view, sender)?.stake(TaskKind::Store) == Amount::ZERO {
        return Err(StorageError::NotStorer { account: *sender }.into());
    }
    let mut record = storer_record(view, sender)?;
    record.capacity_bytes = capacity_bytes;
    set_storer_record(view, sender, &record);
    view.set_pending(
        storer_peer_key(sender),
        Some(codec::encode(&peer.to_owned())),
    );
    Ok(())
}

/// What a blob of `manifest` must prepay at least: its first period for every shard, and the
/// placement charge of every shard.
pub fn endowment_min(manifest: &Manifest, params: &ChainParams) -> Option<Amount> {
    endowment_min_for(
        manifest.shard_size_bytes,
        manifest.shares.total_shards,
        params,
    )
}

/// [`endowment_min`] of a blob whose `total_shards` shards are `shard_size_bytes` each: what a
/// quote needs before any manifest exists.
pub fn endowment_min_for(
    shard_size_bytes: u64,
    total_shards: u8,
    params: &ChainParams,
) -> Option<Amount> {
    let n = u128::from(total_shards);
    let first = shard_period_charge(shard_size_bytes, 0, &params.storage)?;
    let per_shard = first
        .checked_add(params.storage.placement_price_per_shard)
        .ok()?;
    per_shard.0.checked_mul(n).map(Amount)
}

/// A storer as a draw sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorerCandidate {
    /// Its account.
    pub account: AccountId,
    /// Its storer stake.
    pub stake: Amount,
    /// Its reputation as a storer at the draw's height.
    pub reputation_ppm: u32,
    /// Bytes it can still take.
    pub room_bytes: u64,
}

impl StorerCandidate {
    /// Its weight in a draw: stake × reputation.
    pub fn weight(&self) -> Option<u128> {
        draw_weight(self.stake, self.reputation_ppm)
    }
}

/// Every registered storer (at most `STAKED_NODES_PER_ROLE_MAX`) with its stake, reputation
/// at `height` and room.
pub(crate) fn storer_candidates(
    view: &StateView<'_>,
    params: &ChainParams,
    height: u64,
) -> Result<Vec<StorerCandidate>, ApplyError> {
    let mut candidates = Vec::new();
    for (account, stake) in staked_nodes(view, TaskKind::Store)? {
        let reputation_ppm = reliability(view, &account)?
            .estimate_at(height, &params.ledger)
            .map_err(StorageError::Ledger)?
            .reputation_ppm();
        candidates.push(StorerCandidate {
            account,
            stake,
            reputation_ppm,
            room_bytes: storer_record(view, &account)?.room_bytes(),
        });
    }
    Ok(candidates)
}

fn reliability(view: &StateView<'_>, account: &AccountId) -> Result<ReliabilityRecord, StoreError> {
    view.get_raw(&reliability_key(account, TaskKind::Store))?
        .map(|bytes| {
            ReliabilityRecord::from_bytes(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Records a success (`latency_ms = Some`) or a failure on `account`'s storer record, as a
/// whole event.
fn record_event(
    view: &mut StateView<'_>,
    params: &ChainParams,
    account: &AccountId,
    height: u64,
    latency_ms: Option<u32>,
) -> Result<(), ApplyError> {
    let mut record = reliability(view, account)?;
    match latency_ms {
        Some(latency_ms) => record.record_success(height, latency_ms, EVENT_WEIGHT, &params.ledger),
        None => record.record_failure(height, EVENT_WEIGHT, &params.ledger),
    }
    .map_err(StorageError::Ledger)?;
    view.set_pending(
        reliability_key(account, TaskKind::Store),
        Some(record.to_bytes()),
    );
    Ok(())
}

/// Storers that could take a shard of `shard_bytes` not already holding one of `exclude`:
/// account and weight, for the draw.
fn eligible(
    candidates: &[StorerCandidate],
    shard_bytes: u64,
    exclude: &[AccountId],
) -> Result<Vec<(AccountId, u128)>, ApplyError> {
    let mut pool = Vec::new();
    for candidate in candidates {
        if candidate.room_bytes < shard_bytes || exclude.contains(&candidate.account) {
            continue;
        }
        let weight = candidate.weight().ok_or(TxError::Overflow)?;
        if weight > 0 {
            pool.push((candidate.account, weight));
        }
    }
    Ok(pool)
}

/// What a RegisterBlob asks for, as its payload carries it.
pub(crate) struct Registration<'r> {
    pub(crate) id: Hash,
    pub(crate) publisher: AccountId,
    pub(crate) key: &'r str,
    pub(crate) manifest: &'r Manifest,
    /// Already taken from the publisher's balance.
    pub(crate) endowment: Amount,
    pub(crate) content_type: &'r str,
}

/// `RegisterBlob`: checks the manifest, the key's rule (as a Put of the manifest's bytes),
/// the room the root has, the endowment and the storers, then escrows the endowment (less
/// the placement charge, paid into the root's pool) and queues the blob's draw.
pub(crate) fn register(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    registration: &Registration<'_>,
) -> Result<(), ApplyError> {
    let manifest = registration.manifest;
    manifest.validate().map_err(StorageError::BadManifest)?;
    if !valid_content_type(registration.content_type) {
        return Err(StorageError::BadContentType {
            length: registration.content_type.len(),
            length_max: CONTENT_TYPE_BYTES_MAX,
        }
        .into());
    }
    check_key_free(view, registration.key)?;
    if blob(view, &registration.id)?.is_some() {
        return Err(StorageError::BlobKeyHeld {
            key: registration.key.to_owned(),
            blob: registration.id,
        }
        .into());
    }
    crate::keyspace::put(
        view,
        ctx,
        registration.publisher,
        registration.key,
        &manifest.encode(),
    )?;

    let mut sums = totals(view)?;
    let placements = queue_bounds(view, PLACEMENT_QUEUE)?.len();
    let payments = queue_bounds(view, PAYMENT_QUEUE)?.len();
    if sums.live >= BLOBS_LIVE_MAX
        || payments >= BLOBS_LIVE_MAX
        || placements >= PLACEMENT_QUEUE_MAX.saturating_sub(PLACEMENT_REDRAW_RESERVE)
    {
        return Err(StorageError::BlobsFull {
            live: sums.live,
            live_max: BLOBS_LIVE_MAX,
            placements_pending: placements,
        }
        .into());
    }

    let needed = endowment_min(manifest, ctx.params).ok_or(TxError::Overflow)?;
    if registration.endowment < needed {
        return Err(StorageError::EndowmentTooLow {
            endowment: registration.endowment,
            needed,
        }
        .into());
    }

    let total_shards = manifest.shares.total_shards;
    let candidates = storer_candidates(view, ctx.params, ctx.height)?;
    let eligible = eligible(&candidates, manifest.shard_size_bytes, &[])?.len();
    if eligible < usize::from(total_shards) {
        return Err(StorageError::NotEnoughStorers {
            needed: total_shards,
            eligible: u32::try_from(eligible).unwrap_or(u32::MAX),
        }
        .into());
    }

    let placement = ctx
        .params
        .storage
        .placement_price_per_shard
        .0
        .checked_mul(u128::from(total_shards))
        .map(Amount)
        .ok_or(TxError::Overflow)?;
    crate::endowment::deposit(view, &ChainId::ROOT, placement)?;
    let escrow = registration
        .endowment
        .checked_sub(placement)
        .map_err(overflow)?;
    sums.live = sums.live.checked_add(1).ok_or(TxError::Overflow)?;
    sums.escrowed = sums.escrowed.checked_add(escrow).map_err(overflow)?;
    set_totals(view, &sums);

    let found = Blob {
        id: registration.id,
        key: registration.key.to_owned(),
        publisher: registration.publisher,
        manifest: manifest.clone(),
        registered_height: ctx.height,
        endowment: escrow,
        paid: Amount::ZERO,
        periods_elapsed: 0,
        status: BlobStatus::Placing,
        shards: vec![Shard::default(); usize::from(total_shards)],
        content_type: registration.content_type.to_owned(),
    };
    set_blob(view, &found);
    view.set_pending(
        blob_of_key_key(registration.key),
        Some(codec::encode(&registration.id)),
    );
    queue_push(
        view,
        PLACEMENT_QUEUE,
        &PlacementTask {
            blob: registration.id,
            shard: None,
            due_height: ctx
                .height
                .checked_add(PLACEMENT_DELAY_BLOCKS)
                .ok_or(TxError::Overflow)?,
            exclude: None,
        },
    )
}

/// Live blob `blob_id` and its shard `shard`, refused with the first rule broken (unknown
/// blob, ended, no such shard).
pub(crate) fn live_shard(
    view: &StateView<'_>,
    blob_id: &Hash,
    shard: u8,
) -> Result<(Blob, Shard), ApplyError> {
    let Some(found) = blob(view, blob_id)? else {
        return Err(StorageError::UnknownBlob(*blob_id).into());
    };
    if !found.status.is_live() {
        return Err(StorageError::BlobEnded(*blob_id).into());
    }
    let Some(placed) = found.shards.get(usize::from(shard)).copied() else {
        return Err(StorageError::NoSuchShard {
            blob: *blob_id,
            shard,
            total_shards: found.manifest.shares.total_shards,
        }
        .into());
    };
    Ok((found, placed))
}

/// Live blob `blob_id` whose shard `shard` is placed on `sender`: what a receipt and an audit
/// proof both claim, refused with the first rule broken (unknown blob, ended, no such shard,
/// not placed on the sender).
pub(crate) fn blob_assigned_to(
    view: &StateView<'_>,
    blob_id: &Hash,
    shard: u8,
    sender: &AccountId,
) -> Result<Blob, ApplyError> {
    let (found, placed) = live_shard(view, blob_id, shard)?;
    if placed.storer != Some(*sender) {
        return Err(StorageError::NotAssigned {
            blob: *blob_id,
            shard,
            account: *sender,
        }
        .into());
    }
    Ok(found)
}

/// `ConfirmShards`: the sender, the storer drawn for each shard named, receipts them. Each
/// shard once, by its storer only, before its deadline.
pub(crate) fn confirm_shards(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    sender: &AccountId,
    receipts: &[ShardReceipt],
) -> Result<(), ApplyError> {
    if receipts.is_empty() || receipts.len() > RECEIPTS_PER_TX_MAX {
        return Err(StorageError::ReceiptCount {
            count: receipts.len(),
            count_max: RECEIPTS_PER_TX_MAX,
        }
        .into());
    }
    for receipt in receipts {
        let mut found = blob_assigned_to(view, &receipt.blob, receipt.shard, sender)?;
        let Some(shard) = found.shards.get_mut(usize::from(receipt.shard)) else {
            return Err(corrupt(format!(
                "blob {} lost shard {} while it was read",
                receipt.blob, receipt.shard
            )));
        };
        if ctx.height >= shard.deadline_height {
            return Err(StorageError::NotAssigned {
                blob: receipt.blob,
                shard: receipt.shard,
                account: *sender,
            }
            .into());
        }
        if shard.confirmed_height.is_some() {
            return Err(StorageError::ShardConfirmed {
                blob: receipt.blob,
                shard: receipt.shard,
            }
            .into());
        }
        shard.confirmed_height = Some(ctx.height);
        let repaired = std::mem::take(&mut shard.repair);
        let blocks = ctx.height.saturating_sub(shard.placed_height);
        let latency_ms = blocks.saturating_mul(ctx.params.root.block_interval_target_ms);
        record_event(
            view,
            ctx.params,
            sender,
            ctx.height,
            Some(u32::try_from(latency_ms).unwrap_or(u32::MAX)),
        )?;
        if repaired {
            pay_repair_fee(view, ctx.params, &mut found, sender)?;
        }
        audit::index_shard(view, &receipt.blob, receipt.shard)?;
        if found.shards.iter().all(|s| s.confirmed_height.is_some()) {
            found.status = BlobStatus::Stored;
        }
        set_blob(view, &found);
    }
    Ok(())
}

/// Pays `storer`, which has just confirmed a repaired shard of `found`, its repair fee from
/// the blob's endowment: one period's charge for the shard at the blob's current rate (what
/// holding it for a period is worth; the rebuild reads k shards' worth of bytes once), or
/// what is left of the endowment if less.
fn pay_repair_fee(
    view: &mut StateView<'_>,
    params: &ChainParams,
    found: &mut Blob,
    storer: &AccountId,
) -> Result<(), ApplyError> {
    let charge = shard_period_charge(
        found.manifest.shard_size_bytes,
        found.periods_elapsed,
        &params.storage,
    )
    .ok_or(TxError::Overflow)?;
    let fee = charge.min(found.endowment);
    view.credit(storer, fee)?;
    found.endowment = found.endowment.checked_sub(fee).map_err(overflow)?;
    found.paid = found.paid.checked_add(fee).map_err(overflow)?;
    let mut sums = totals(view)?;
    sums.escrowed = sums.escrowed.checked_sub(fee).map_err(overflow)?;
    set_totals(view, &sums);
    audit::count_repair(view, fee)
}

/// Lets go of the storer of shard `index` of blob `blob` (its bytes and count), leaving the
/// shard unassigned, out of the audited shards and without a pending audit.
fn release_shard(
    view: &mut StateView<'_>,
    blob: &Hash,
    index: u8,
    shard: &mut Shard,
    shard_bytes: u64,
) -> Result<(), ApplyError> {
    audit::forget_shard(view, blob, index)?;
    if let Some(storer) = shard.storer.take() {
        let mut record = storer_record(view, &storer)?;
        leave::forget_placement(view, &storer, record.shards, blob, index)?;
        record.assigned_bytes = record.assigned_bytes.saturating_sub(shard_bytes);
        record.shards = record.shards.saturating_sub(1);
        set_storer_record(view, &storer, &record);
    }
    shard.confirmed_height = None;
    Ok(())
}

/// Ends a live blob: lets go of every storer, refunds what is left of its endowment to its
/// publisher (`refund`) or pays it to the root's pool (an expiry's dust), and sets `status`.
fn end_blob(
    view: &mut StateView<'_>,
    found: &mut Blob,
    status: BlobStatus,
    refund: bool,
) -> Result<(), ApplyError> {
    let shard_bytes = found.manifest.shard_size_bytes;
    let id = found.id;
    for (shard, index) in found.shards.iter_mut().zip(0u8..) {
        release_shard(view, &id, index, shard, shard_bytes)?;
    }
    let left = found.endowment;
    if refund {
        view.credit(&found.publisher, left)?;
    } else {
        crate::endowment::deposit(view, &ChainId::ROOT, left)?;
    }
    let mut sums = totals(view)?;
    sums.escrowed = sums.escrowed.checked_sub(left).map_err(overflow)?;
    sums.live = sums.live.saturating_sub(1);
    set_totals(view, &sums);
    found.endowment = Amount::ZERO;
    found.status = status;
    set_blob(view, found);
    Ok(())
}

/// Whether the root block at `height` should be sealed for blobs even without transactions:
/// a draw is due at it or at the block after (whose seed is this block's hash). A dev sealer
/// seals an empty block for it, so that a blob registered on an idle dev node is placed
/// without waiting for some other write; a deadline, by contrast, never makes blocks on its
/// own, so idle blocks cannot run a storer's time out.
pub(crate) fn work_due(view: &StateView<'_>, height: u64) -> Result<bool, ApplyError> {
    let next = queue_peek::<PlacementTask>(view, PLACEMENT_QUEUE)?;
    Ok(next.is_some_and(|task| task.due_height <= height.saturating_add(1)))
}

/// What every root block does for blobs at its start, before its transactions and after the
/// releases and expiries of stakes and bounties: the shards whose confirmation deadline it
/// is, the audits whose deadline it is (failed: slashed and marked for repair), then the
/// draws due (seeded by `parent`, the hash of the block before), then the payments due, then
/// this block's audits (seeded by `parent` too). Does nothing on a data chain.
pub(crate) fn start_root_block(
    view: &mut StateView<'_>,
    params: &ChainParams,
    height: u64,
    parent: &Hash,
) -> Result<(), ApplyError> {
    if !view.chain().is_root() {
        return Ok(());
    }
    view.clear_pending();
    expire_deadlines(view, params, height)?;
    audit::expire_audits(view, params, height)?;
    challenge::expire_challenges(view, params, height)?;
    leave::process_leaves(view, params, height)?;
    draw_due(view, params, height, parent)?;
    pay_due(view, params, height)?;
    audit::issue_audits(view, params, height, parent)?;
    view.flush_pending();
    Ok(())
}

/// Shards not confirmed by the start of their deadline block: the storer's record gets a
/// failure and lets go of the shard, which is drawn again, or the blob fails after
/// [`REDRAWS_PER_SHARD_MAX`] redraws.
fn expire_deadlines(
    view: &mut StateView<'_>,
    params: &ChainParams,
    height: u64,
) -> Result<(), ApplyError> {
    let Some(due) = take_list(view, deadlines_key(height))? else {
        return Ok(());
    };
    for entry in due.iter().take(PLACEMENTS_PER_BLOCK_MAX) {
        let Some(mut found) = blob(view, &entry.blob)? else {
            return Err(corrupt(format!(
                "blob {} of a deadline is missing",
                entry.blob
            )));
        };
        if !found.status.is_live() {
            continue;
        }
        let shard_bytes = found.manifest.shard_size_bytes;
        let index = usize::from(entry.shard);
        let Some(mut shard) = found.shards.get(index).copied() else {
            continue;
        };
        let Some(storer) = shard.storer else {
            continue;
        };
        if shard.deadline_height != height || shard.confirmed_height.is_some() {
            continue;
        }
        record_event(view, params, &storer, height, None)?;
        release_shard(view, &found.id, entry.shard, &mut shard, shard_bytes)?;
        let exhausted = shard.redraws >= REDRAWS_PER_SHARD_MAX;
        shard.redraws = shard.redraws.saturating_add(1);
        if let Some(slot) = found.shards.get_mut(index) {
            *slot = shard;
        }
        let failure = if exhausted {
            Some(BlobFailure::RedrawsExhausted { shard: entry.shard })
        } else if queue_bounds(view, PLACEMENT_QUEUE)?.len() >= PLACEMENT_QUEUE_MAX {
            Some(BlobFailure::PlacementQueueFull)
        } else {
            None
        };
        if let Some(failure) = failure {
            end_blob(
                view,
                &mut found,
                BlobStatus::Failed { height, failure },
                true,
            )?;
            continue;
        }
        queue_push(
            view,
            PLACEMENT_QUEUE,
            &PlacementTask {
                blob: found.id,
                shard: Some(entry.shard),
                due_height: height.checked_add(1).ok_or(TxError::Overflow)?,
                exclude: Some(storer),
            },
        )?;
        set_blob(view, &found);
    }
    Ok(())
}

/// The seed of the draw of `shard` (`None`: the first placement) of `blob`, from the hash of
/// the block before the one drawing.
fn draw_seed(parent: &Hash, blob: &Hash, shard: Option<u8>, redraws: u8) -> Hash {
    let shard = shard.map_or([0, 0], |s| [1, s]);
    Hash::tagged(
        "bitverse shard placement seed v1",
        &[&parent.0, &blob.0, &shard, &[redraws]],
    )
}

/// Draws the placements due, in queue order, at most [`PLACEMENTS_PER_BLOCK_MAX`] shards.
fn draw_due(
    view: &mut StateView<'_>,
    params: &ChainParams,
    height: u64,
    parent: &Hash,
) -> Result<(), ApplyError> {
    let mut drawn_here: usize = 0;
    let mut candidates: Option<Vec<StorerCandidate>> = None;
    let mut deadlines: Vec<ShardReceipt> = Vec::new();
    let deadline_height = height
        .checked_add(params.storage.confirm_deadline_blocks.max(1))
        .ok_or(TxError::Overflow)?;
    // Each pass pops one task; a task costs at least one shard of the budget, or is dropped.
    for _ in 0..PLACEMENTS_PER_BLOCK_MAX {
        let Some(task) = queue_peek::<PlacementTask>(view, PLACEMENT_QUEUE)? else {
            break;
        };
        if task.due_height > height {
            break;
        }
        let Some(mut found) = blob(view, &task.blob)? else {
            return Err(corrupt(format!(
                "blob {} of a placement is missing",
                task.blob
            )));
        };
        if !found.status.is_live() {
            queue_pop(view, PLACEMENT_QUEUE)?;
            continue;
        }
        let indices: Vec<u8> = match task.shard {
            Some(index) => vec![index],
            None => (0..found.manifest.shares.total_shards)
                .filter(|i| {
                    found
                        .shards
                        .get(usize::from(*i))
                        .is_some_and(|s| s.storer.is_none())
                })
                .collect(),
        };
        if drawn_here.saturating_add(indices.len()) > PLACEMENTS_PER_BLOCK_MAX {
            break;
        }
        queue_pop(view, PLACEMENT_QUEUE)?;
        drawn_here = drawn_here.saturating_add(indices.len());
        let pool = match &candidates {
            Some(pool) => pool,
            None => candidates.insert(storer_candidates(view, params, height)?),
        };
        let mut holding: Vec<AccountId> = found.shards.iter().filter_map(|s| s.storer).collect();
        let shard_bytes = found.manifest.shard_size_bytes;
        let mut weights = Vec::new();
        // A redraw keeps the storer that did not take the shard, and a repair the one that
        // lost it, out of its draw, unless nobody else could take it: the blob must not fail
        // because its storers were audited out.
        if let Some(excluded) = task.exclude {
            holding.push(excluded);
            weights = eligible(pool, shard_bytes, &holding)?;
            holding.pop();
        }
        if weights.len() < indices.len() {
            weights = eligible(pool, shard_bytes, &holding)?;
        }
        let redraws = task
            .shard
            .and_then(|i| found.shards.get(usize::from(i)))
            .map_or(0, |s| s.redraws);
        let seed = draw_seed(parent, &found.id, task.shard, redraws);
        let storers = match draw_weighted_distinct(
            "bitverse shard placement draw v1",
            &seed,
            &weights,
            indices.len(),
        ) {
            Ok(storers) => storers,
            Err(DrawError::NotEnough {
                requested,
                eligible,
            }) => {
                let failure = BlobFailure::NotEnoughStorers {
                    needed: u32::try_from(requested).unwrap_or(u32::MAX),
                    eligible: u32::try_from(eligible).unwrap_or(u32::MAX),
                };
                end_blob(
                    view,
                    &mut found,
                    BlobStatus::Failed { height, failure },
                    true,
                )?;
                continue;
            }
            Err(e) => return Err(StorageError::Draw(e).into()),
        };
        let first_placement = found.shards.iter().all(|s| s.placed_height == 0);
        let placed = Placed {
            height,
            deadline_height,
        };
        for (index, storer) in indices.iter().zip(&storers) {
            assign(view, &mut found, *index, storer, &placed)?;
            if let Some(candidate) = candidates
                .as_mut()
                .and_then(|pool| pool.iter_mut().find(|c| c.account == *storer))
            {
                candidate.room_bytes = candidate.room_bytes.saturating_sub(shard_bytes);
            }
            deadlines.push(ShardReceipt {
                blob: found.id,
                shard: *index,
            });
        }
        if first_placement {
            queue_push(
                view,
                PAYMENT_QUEUE,
                &PaymentDue {
                    blob: found.id,
                    due_height: height
                        .checked_add(params.storage.period_blocks.max(1))
                        .ok_or(TxError::Overflow)?,
                },
            )?;
        }
        set_blob(view, &found);
    }
    if !deadlines.is_empty() {
        view.set_pending(
            deadlines_key(deadline_height),
            Some(codec::encode(&deadlines)),
        );
    }
    Ok(())
}

/// When a draw placed shards: its block and the deadline it gives them.
struct Placed {
    height: u64,
    deadline_height: u64,
}

/// Places shard `index` of `found` on `storer`, counting its bytes against the storer's room.
fn assign(
    view: &mut StateView<'_>,
    found: &mut Blob,
    index: u8,
    storer: &AccountId,
    placed: &Placed,
) -> Result<(), ApplyError> {
    let shard_bytes = found.manifest.shard_size_bytes;
    let Some(shard) = found.shards.get_mut(usize::from(index)) else {
        return Err(corrupt(format!("blob {} has no shard {index}", found.id)));
    };
    shard.storer = Some(*storer);
    shard.placed_height = placed.height;
    shard.deadline_height = placed.deadline_height;
    shard.confirmed_height = None;
    shard.last_audit_height = None;
    let mut record = storer_record(view, storer)?;
    leave::index_placement(view, storer, record.shards, &found.id, index);
    record.assigned_bytes = record
        .assigned_bytes
        .checked_add(shard_bytes)
        .ok_or(TxError::Overflow)?;
    record.shards = record.shards.checked_add(1).ok_or(TxError::Overflow)?;
    set_storer_record(view, storer, &record);
    Ok(())
}

/// Pays the periods due, in the order they fell due, at most [`PAYMENTS_PER_BLOCK_MAX`].
fn pay_due(view: &mut StateView<'_>, params: &ChainParams, height: u64) -> Result<(), ApplyError> {
    for _ in 0..PAYMENTS_PER_BLOCK_MAX {
        let Some(due) = queue_peek::<PaymentDue>(view, PAYMENT_QUEUE)? else {
            break;
        };
        if due.due_height > height {
            break;
        }
        queue_pop(view, PAYMENT_QUEUE)?;
        let Some(mut found) = blob(view, &due.blob)? else {
            return Err(corrupt(format!(
                "blob {} of a payment is missing",
                due.blob
            )));
        };
        if !found.status.is_live() {
            continue;
        }
        pay_period(view, params, &mut found, height)?;
        if found.status.is_live() {
            queue_push(
                view,
                PAYMENT_QUEUE,
                &PaymentDue {
                    blob: found.id,
                    due_height: due
                        .due_height
                        .checked_add(params.storage.period_blocks.max(1))
                        .ok_or(TxError::Overflow)?,
                },
            )?;
        }
    }
    Ok(())
}

/// Pays one period of `found` to the storers of its confirmed shards, each its shard's
/// charge; an endowment that cannot pay them all shares what is left equally (the dust to the
/// root's pool) and the blob expires.
fn pay_period(
    view: &mut StateView<'_>,
    params: &ChainParams,
    found: &mut Blob,
    height: u64,
) -> Result<(), ApplyError> {
    let holders: Vec<AccountId> = found
        .shards
        .iter()
        .filter(|s| s.confirmed_height.is_some())
        .filter_map(|s| s.storer)
        .collect();
    let charge = shard_period_charge(
        found.manifest.shard_size_bytes,
        found.periods_elapsed,
        &params.storage,
    )
    .ok_or(TxError::Overflow)?;
    found.periods_elapsed = found.periods_elapsed.saturating_add(1);
    let count = u128::try_from(holders.len()).map_err(overflow)?;
    let needed = charge.0.checked_mul(count).ok_or(TxError::Overflow)?;
    let (share, expires) = if found.endowment.0 >= needed {
        (charge, false)
    } else {
        (
            Amount(found.endowment.0.checked_div(count).unwrap_or(0)),
            true,
        )
    };
    let mut paid = Amount::ZERO;
    for storer in &holders {
        view.credit(storer, share)?;
        paid = paid.checked_add(share).map_err(overflow)?;
    }
    found.endowment = found.endowment.checked_sub(paid).map_err(overflow)?;
    found.paid = found.paid.checked_add(paid).map_err(overflow)?;
    let mut sums = totals(view)?;
    sums.escrowed = sums.escrowed.checked_sub(paid).map_err(overflow)?;
    set_totals(view, &sums);
    if expires {
        end_blob(view, found, BlobStatus::Expired { height }, false)?;
    } else {
        set_blob(view, found);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_and_content_types_are_checked_as_headers_and_text_need() {
        assert!(valid_storer_peer(
            "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
        ));
        for bad in ["", "12D3 Koo", "12D3/Koo", &"a".repeat(65)] {
            assert!(!valid_storer_peer(bad), "{bad:?}");
        }
        for good in [
            "",
            "image/png",
            "text/plain; charset=utf-8",
            "application/vnd.api+json",
        ] {
            assert!(valid_content_type(good), "{good:?}");
        }
        for bad in [
            "png",
            "image/",
            "/png",
            "image /png",
            "image/png\r\nX-Evil: 1",
            &format!("a/{}", "b".repeat(126)),
        ] {
            assert!(!valid_content_type(bad), "{bad:?}");
        }
    }

    #[test]
    fn state_keys_of_different_things_differ() {
        let id = Hash([1; 32]);
        let keys = [
            blob_key(&id),
            blob_key(&Hash([2; 32])),
            blob_of_key_key("a/b"),
            blob_of_key_key("a/c"),
            storer_key(&AccountId([1; 32])),
            blob_totals_key(),
            deadlines_key(0),
            deadlines_key(1),
            queue_bounds_key(PLACEMENT_QUEUE),
            queue_bounds_key(PAYMENT_QUEUE),
            queue_entry_key(PLACEMENT_QUEUE, 0),
            queue_entry_key(PAYMENT_QUEUE, 0),
            queue_entry_key(PLACEMENT_QUEUE, 1),
        ];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn a_draw_seed_depends_on_the_block_the_blob_the_shard_and_the_redraw() {
        let parent = Hash([1; 32]);
        let blob = Hash([2; 32]);
        let seeds = [
            draw_seed(&parent, &blob, None, 0),
            draw_seed(&Hash([3; 32]), &blob, None, 0),
            draw_seed(&parent, &Hash([3; 32]), None, 0),
            draw_seed(&parent, &blob, Some(0), 0),
            draw_seed(&parent, &blob, Some(1), 0),
            draw_seed(&parent, &blob, Some(0), 1),
        ];
        for (i, x) in seeds.iter().enumerate() {
            for y in &seeds[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn a_queue_is_first_in_first_out_and_empties() {
        let store = crate::store::MemoryStore::default();
        let mut view = StateView::new(&store, None);
        for n in 0..3u64 {
            queue_push(&mut view, PAYMENT_QUEUE, &n).unwrap();
        }
        let mut seen = Vec::new();
        while let Some(n) = queue_peek::<u64>(&view, PAYMENT_QUEUE).unwrap() {
            seen.push(n);
            queue_pop(&mut view, PAYMENT_QUEUE).unwrap();
        }
        assert_eq!(seen, [0, 1, 2]);
        assert_eq!(queue_bounds(&view, PAYMENT_QUEUE).unwrap().len(), 0);
        queue_pop(&mut view, PAYMENT_QUEUE).unwrap();
        queue_push(&mut view, PAYMENT_QUEUE, &7u64).unwrap();
        assert_eq!(queue_peek::<u64>(&view, PAYMENT_QUEUE).unwrap(), Some(7));
    }
}
