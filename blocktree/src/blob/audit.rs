//! Audits by the chain (issue 19 §3, `docs/STORAGE.md` "Audits"): at the start of every root
//! block, up to [`AUDITS_PER_BLOCK_MAX`] confirmed shards of live blobs are selected, seeded by
//! the parent block's hash, and for each one 16 KiB chunk group of the shard; its storer
//! answers with `ProveShards` before `audit_deadline_blocks` have passed, with the group's bytes
//! and their path to the shard root (`bitverse_storage::prove_range`), which every node checks
//! against the manifest without holding the data. A proof records a success on the storer's
//! record; a missed deadline records a failure, burns `audit_slash_ppm` of its storer stake and
//! marks the shard for repair: the storer is let go and the shard drawn again, flagged so that
//! the next storer rebuilds it from k other shards, and is paid a repair fee when it confirms.
//!
//! Leaves (all on the root):
//! - [`audit_slot_key`]`(i)` for `i < AuditTotals::shards`: the confirmed shards of live blobs
//!   as a dense array, so a selection is one read of a uniform slot, whatever their number;
//!   a shard enters when confirmed and leaves (the last slot moved into its place) when its
//!   storer is let go for any reason; its slot is kept at `audit_position_key(blob, shard)`,
//!   so leaving is O(1) too;
//! - [`audit_key`]`(blob, shard)`: the pending audit of a shard, if any ([`PendingAudit`]'s
//!   fields);
//! - [`audit_deadlines_key`]`(height)`: the audits whose deadline is root block `height`, at
//!   most one block's [`AUDITS_PER_BLOCK_MAX`] (every audit of a block gets the same deadline);
//! - [`storer_audits_key`]`(account)`: the shards of `account` with a pending audit, so its
//!   node reads its audits with one leaf and one per audit;
//! - [`audit_totals_key`]: [`AuditTotals`], the slots in use and the audits' counts, with the
//!   stake burnt, which the conservation of money counts.

use std::ops::Range;

use bincode::{Decode, Encode};
use bitverse_pricing::TaskKind;
use bitverse_primitives::{AccountId, Amount, Hash, codec};
use bitverse_storage::{
    CHUNK_GROUP_PROOF_BYTES_MAX, chunk_group_count, chunk_group_range, verify_range,
};
use jmt::KeyHash;
use serde::Serialize;

use super::{
    Blob, PLACEMENT_QUEUE, PlacementTask, ShardReceipt, blob, blob_assigned_to, corrupt,
    list_remove, overflow, queue_push, record_event, release_shard, set_blob, shard_key, take_list,
};
use crate::error::{StorageError, StoreError, TxError};
use crate::params::ChainParams;
use crate::scripts::BlockContext;
use crate::state::{ApplyError, StateView};

/// The most audits one root block issues. Each costs the block a few state reads and writes
/// at its start and, when answered, one proof of at most [`SHARD_PROOF_BYTES_MAX`] bytes and a
/// chunk group's hashing: the root's audit load is constant whatever is stored.
pub const AUDITS_PER_BLOCK_MAX: usize = 8;

/// The most proofs one ProveShards carries: three of the longest proofs (17,585 bytes each
/// with their fields) fit in a transaction's [`crate::TX_SIZE_BYTES_MAX`] (68 KiB), four do not.
pub const SHARD_PROOFS_PER_TX_MAX: usize = 3;

/// The longest audit proof: one 16 KiB chunk group and its path in a shard of the largest
/// blob (4 GiB at 1-of-n: 2^18 groups, 18 hash pairs of 64 bytes), 17,536 bytes.
pub const SHARD_PROOF_BYTES_MAX: usize = CHUNK_GROUP_PROOF_BYTES_MAX as usize;

/// A ProveShards transaction's encoding around its proofs, at most: chain, sender, nonce, fee,
/// the variant's tag, the list's length and the signature.
const PROVE_SHARDS_TX_OVERHEAD_BYTES: usize = 256;

/// The fields of a [`ShardProof`] around its proof bytes: blob, shard, audit height and the
/// proof's length.
const SHARD_PROOF_FIELDS_BYTES: usize = 32 + 1 + 8 + 8;

const _: () = assert!(
    SHARD_PROOFS_PER_TX_MAX * (SHARD_PROOF_BYTES_MAX + SHARD_PROOF_FIELDS_BYTES)
        + PROVE_SHARDS_TX_OVERHEAD_BYTES
        <= crate::tx::TX_SIZE_BYTES_MAX,
    "a ProveShards of the most proofs, each the longest, fits in a transaction"
);

/// A storer's answer to an audit of one of its shards.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ShardProof {
    /// The blob's id.
    pub blob: Hash,
    /// The shard's index.
    pub shard: u8,
    /// The root height of the block that issued the audit.
    pub audit_height: u64,
    /// `bitverse_storage::prove_range` of exactly the audited range of the shard: the chunk
    /// group's bytes and their path to the shard root, at most [`SHARD_PROOF_BYTES_MAX`].
    pub proof: Vec<u8>,
}

/// An audit waiting for its storer's proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingAudit {
    /// The blob's id.
    pub blob: Hash,
    /// The shard's index.
    pub shard: u8,
    /// The root height of the block that issued it: what the proof names.
    pub audit_height: u64,
    /// The root block at whose start it fails if not answered; a proof must be in a block
    /// below it.
    pub deadline_height: u64,
    /// The audited bytes of the shard: one chunk group (the last may be shorter).
    pub range: Range<u64>,
}

/// A pending audit as state holds it, under [`audit_key`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
struct Audit {
    storer: AccountId,
    audit_height: u64,
    deadline_height: u64,
    start: u64,
    end: u64,
}

impl Audit {
    fn pending(&self, entry: &ShardReceipt) -> PendingAudit {
        PendingAudit {
            blob: entry.blob,
            shard: entry.shard,
            audit_height: self.audit_height,
            deadline_height: self.deadline_height,
            range: self.start..self.end,
        }
    }
}

/// The audits in total, and the shards they select from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct AuditTotals {
    /// Confirmed shards of live blobs: the slots a selection draws from.
    pub shards: u64,
    /// Audits issued.
    pub issued: u64,
    /// Audits answered with a valid proof.
    pub passed: u64,
    /// Audits whose deadline passed unanswered.
    pub failed: u64,
    /// Storer stake burnt for failed audits: out of the supply for good.
    pub slashed: Amount,
    /// Repaired shards confirmed by their new storers.
    pub repaired: u64,
    /// The repair fees those storers were paid from the blobs' endowments.
    pub repair_fees: Amount,
}

/// Where slot `slot` of the audited shards lives.
pub fn audit_slot_key(slot: u64) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state audit slot v1", &[&slot.to_le_bytes()]).0)
}

fn audit_position_key(blob: &Hash, shard: u8) -> KeyHash {
    shard_key("bitverse state audit position v1", blob, shard)
}

/// Where the pending audit of shard `shard` of `blob` lives.
pub fn audit_key(blob: &Hash, shard: u8) -> KeyHash {
    shard_key("bitverse state audit v1", blob, shard)
}

/// Where the audits whose deadline is root block `height` are listed.
pub fn audit_deadlines_key(height: u64) -> KeyHash {
    KeyHash(
        Hash::tagged(
            "bitverse state audit deadlines v1",
            &[&height.to_le_bytes()],
        )
        .0,
    )
}

/// Where the shards of storer `account` with a pending audit are listed.
pub fn storer_audits_key(account: &AccountId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state storer audits v1", &[&account.0]).0)
}

/// Where the [`AuditTotals`] live.
pub fn audit_totals_key() -> KeyHash {
    KeyHash(Hash::tagged("bitverse state audit totals v1", &[]).0)
}

/// The totals.
pub(crate) fn audit_totals(view: &StateView<'_>) -> Result<AuditTotals, StoreError> {
    Ok(view.get_decoded(&audit_totals_key())?.unwrap_or_default())
}

fn set_audit_totals(view: &mut StateView<'_>, totals: &AuditTotals) {
    view.set_pending(audit_totals_key(), Some(codec::encode(totals)));
}

/// The pending audits of storer `account`, in the order they were issued.
pub(crate) fn pending_audits_of_storer(
    view: &StateView<'_>,
    account: &AccountId,
) -> Result<Vec<PendingAudit>, StoreError> {
    let listed: Vec<ShardReceipt> = view
        .get_decoded(&storer_audits_key(account))?
        .unwrap_or_default();
    let mut audits = Vec::with_capacity(listed.len());
    for entry in &listed {
        match view.get_decoded::<Audit>(&audit_key(&entry.blob, entry.shard))? {
            Some(audit) => audits.push(audit.pending(entry)),
            None => {
                return Err(StoreError::Corrupt(format!(
                    "audit of shard {} of blob {} is listed and missing",
                    entry.shard, entry.blob
                )));
            }
        }
    }
    Ok(audits)
}

/// Adds shard `shard` of `blob`, just confirmed, to the audited shards (the last slot).
pub(super) fn index_shard(
    view: &mut StateView<'_>,
    blob: &Hash,
    shard: u8,
) -> Result<(), ApplyError> {
    let position = audit_position_key(blob, shard);
    if view.get_raw(&position)?.is_some() {
        return Ok(());
    }
    let mut sums = audit_totals(view)?;
    let slot = sums.shards;
    view.set_pending(
        audit_slot_key(slot),
        Some(codec::encode(&ShardReceipt { blob: *blob, shard })),
    );
    view.set_pending(position, Some(codec::encode(&slot)));
    sums.shards = slot.checked_add(1).ok_or(TxError::Overflow)?;
    set_audit_totals(view, &sums);
    Ok(())
}

/// Takes shard `shard` of `blob` out of the audited shards (the last slot moves into its
/// place) and drops its pending audit, if it has either: its storer is being let go.
pub(super) fn forget_shard(
    view: &mut StateView<'_>,
    blob: &Hash,
    shard: u8,
) -> Result<(), ApplyError> {
    let entry = ShardReceipt { blob: *blob, shard };
    if let Some(audit) = view.get_decoded::<Audit>(&audit_key(blob, shard))? {
        drop_audit(view, &entry, &audit.storer)?;
    }
    let position = audit_position_key(blob, shard);
    let Some(slot) = view.get_decoded::<u64>(&position)? else {
        return Ok(());
    };
    let mut sums = audit_totals(view)?;
    let last = sums
        .shards
        .checked_sub(1)
        .ok_or_else(|| corrupt(format!("shard {shard} of blob {blob} has a slot of none")))?;
    if slot != last {
        let Some(moved) = view.get_decoded::<ShardReceipt>(&audit_slot_key(last))? else {
            return Err(corrupt(format!("audit slot {last} is missing")));
        };
        view.set_pending(audit_slot_key(slot), Some(codec::encode(&moved)));
        view.set_pending(
            audit_position_key(&moved.blob, moved.shard),
            Some(codec::encode(&slot)),
        );
    }
    view.set_pending(audit_slot_key(last), None);
    view.set_pending(position, None);
    sums.shards = last;
    set_audit_totals(view, &sums);
    Ok(())
}

/// Removes the pending audit of `entry` and its line in its storer's list (its line in the
/// deadline's list stays: the deadline finds no audit and passes over it).
fn drop_audit(
    view: &mut StateView<'_>,
    entry: &ShardReceipt,
    storer: &AccountId,
) -> Result<(), ApplyError> {
    view.set_pending(audit_key(&entry.blob, entry.shard), None);
    list_remove(view, storer_audits_key(storer), entry)
}

/// Counts a repaired shard confirmed, and the fee its new storer was paid.
pub(super) fn count_repair(view: &mut StateView<'_>, fee: Amount) -> Result<(), ApplyError> {
    let mut sums = audit_totals(view)?;
    sums.repaired = sums.repaired.checked_add(1).ok_or(TxError::Overflow)?;
    sums.repair_fees = sums.repair_fees.checked_add(fee).map_err(overflow)?;
    set_audit_totals(view, &sums);
    Ok(())
}

/// The seed of the `pick`-th selection of the block whose parent is `parent`.
fn selection_seed(parent: &Hash, pick: u64) -> Hash {
    Hash::tagged(
        "bitverse audit selection v1",
        &[&parent.0, &pick.to_le_bytes()],
    )
}

/// The chunk group audited in shard `shard` of `blob` by the selection seeded `seed`.
fn segment_seed(seed: &Hash, blob: &Hash, shard: u8) -> Hash {
    Hash::tagged("bitverse audit segment v1", &[&seed.0, &blob.0, &[shard]])
}

/// A number below `n` (> 0) from `seed`: the high word of its first eight bytes times `n`
/// (Lemire's reduction without rejection; its bias, under n / 2^64, is nothing a miner can
/// use). `None` for `n` = 0.
fn below(seed: &Hash, n: u64) -> Option<u64> {
    if n == 0 {
        return None;
    }
    let word = u64::from_le_bytes(*seed.0.first_chunk::<8>()?);
    let wide = u128::from(word).checked_mul(u128::from(n))?;
    u64::try_from(wide.checked_shr(64)?).ok()
}

/// Issues this block's audits: up to [`AUDITS_PER_BLOCK_MAX`] slots of the audited shards,
/// each drawn uniformly by a seed from `parent` (the hash of the block before). A draw that
/// lands on a shard with a pending audit, or one that passed an audit less than
/// `audit_deadline_blocks` ago, issues nothing (so a block issues fewer when the shards are
/// few). Each audit asks for one chunk group of its shard, drawn by the same seed.
pub(super) fn issue_audits(
    view: &mut StateView<'_>,
    params: &ChainParams,
    height: u64,
    parent: &Hash,
) -> Result<(), ApplyError> {
    let window = params.storage.audit_deadline_blocks.max(1);
    let deadline_height = height.checked_add(window).ok_or(TxError::Overflow)?;
    let mut issued: Vec<ShardReceipt> = Vec::new();
    for pick in 0..AUDITS_PER_BLOCK_MAX {
        let shards = audit_totals(view)?.shards;
        if shards == 0 {
            break;
        }
        let seed = selection_seed(parent, u64::try_from(pick).map_err(overflow)?);
        let slot = below(&seed, shards).ok_or(TxError::Overflow)?;
        let Some(entry) = view.get_decoded::<ShardReceipt>(&audit_slot_key(slot))? else {
            return Err(corrupt(format!("audit slot {slot} is missing")));
        };
        if view
            .get_raw(&audit_key(&entry.blob, entry.shard))?
            .is_some()
        {
            continue;
        }
        let Some(found) = blob(view, &entry.blob)? else {
            return Err(corrupt(format!("audited blob {} is missing", entry.blob)));
        };
        let held = found
            .shards
            .get(usize::from(entry.shard))
            .filter(|shard| shard.confirmed_height.is_some() && found.status.is_live())
            .and_then(|shard| shard.storer.map(|storer| (storer, shard)));
        let Some((storer, shard)) = held else {
            // Not a confirmed shard of a live blob (every path that lets a storer go takes
            // its shard out, so this should not happen): out of the slots, and on.
            forget_shard(view, &entry.blob, entry.shard)?;
            continue;
        };
        if shard
            .last_audit_height
            .is_some_and(|last| last.saturating_add(window) > height)
        {
            continue;
        }
        let size_bytes = found.manifest.shard_size_bytes;
        let group = below(
            &segment_seed(&seed, &entry.blob, entry.shard),
            chunk_group_count(size_bytes),
        )
        .ok_or(TxError::Overflow)?;
        let Some(range) = chunk_group_range(size_bytes, group) else {
            return Err(TxError::Overflow.into());
        };
        let audit = Audit {
            storer,
            audit_height: height,
            deadline_height,
            start: range.start,
            end: range.end,
        };
        view.set_pending(
            audit_key(&entry.blob, entry.shard),
            Some(codec::encode(&audit)),
        );
        let key = storer_audits_key(&storer);
        let mut listed: Vec<ShardReceipt> = view.get_decoded(&key)?.unwrap_or_default();
        listed.push(entry);
        view.set_pending(key, Some(codec::encode(&listed)));
        issued.push(entry);
    }
    if !issued.is_empty() {
        view.set_pending(
            audit_deadlines_key(deadline_height),
            Some(codec::encode(&issued)),
        );
        let mut sums = audit_totals(view)?;
        let count = u64::try_from(issued.len()).map_err(overflow)?;
        sums.issued = sums.issued.checked_add(count).ok_or(TxError::Overflow)?;
        set_audit_totals(view, &sums);
    }
    Ok(())
}

/// The audits whose deadline is root block `height` and are still pending: each storer
/// records a failure, loses `audit_slash_ppm` of its storer stake (burnt) and is let go of the
/// shard, which is marked for repair and queued for a draw in the next block.
pub(super) fn expire_audits(
    view: &mut StateView<'_>,
    params: &ChainParams,
    height: u64,
) -> Result<(), ApplyError> {
    let Some(due) = take_list(view, audit_deadlines_key(height))? else {
        return Ok(());
    };
    for entry in due.iter().take(AUDITS_PER_BLOCK_MAX) {
        let Some(audit) = view.get_decoded::<Audit>(&audit_key(&entry.blob, entry.shard))? else {
            continue;
        };
        if audit.deadline_height != height {
            continue;
        }
        drop_audit(view, entry, &audit.storer)?;
        record_event(view, params, &audit.storer, height, None)?;
        let slashed = crate::stake::slash_share(
            view,
            &audit.storer,
            TaskKind::Store,
            params.storage.audit_slash_ppm,
        )?;
        let mut sums = audit_totals(view)?;
        sums.failed = sums.failed.checked_add(1).ok_or(TxError::Overflow)?;
        sums.slashed = sums.slashed.checked_add(slashed).map_err(overflow)?;
        set_audit_totals(view, &sums);
        let Some(mut found) = blob(view, &entry.blob)? else {
            return Err(corrupt(format!("audited blob {} is missing", entry.blob)));
        };
        mark_for_repair(view, &mut found, entry.shard, &audit.storer, height)?;
    }
    Ok(())
}

/// Lets the storer of shard `index` of `found` go and queues the shard's draw for the next
/// block, marked for repair. Not counted as a redraw: a blob does not fail because its
/// storers were audited out (`docs/STORAGE.md`, "Repairs").
pub(super) fn mark_for_repair(
    view: &mut StateView<'_>,
    found: &mut Blob,
    index: u8,
    storer: &AccountId,
    height: u64,
) -> Result<(), ApplyError> {
    let shard_bytes = found.manifest.shard_size_bytes;
    let id = found.id;
    let Some(shard) = found.shards.get_mut(usize::from(index)) else {
        return Err(corrupt(format!("blob {id} has no shard {index}")));
    };
    if !found.status.is_live() || shard.storer != Some(*storer) {
        return Ok(());
    }
    release_shard(view, &id, index, shard, shard_bytes)?;
    shard.repair = true;
    shard.last_audit_height = None;
    // A repair enters the placement queue even when it is full: at most a block's audits
    // (8) enter a block, while a block draws 64, so repairs cannot grow the queue for long.
    queue_push(
        view,
        PLACEMENT_QUEUE,
        &PlacementTask {
            blob: id,
            shard: Some(index),
            due_height: height.checked_add(1).ok_or(TxError::Overflow)?,
            exclude: Some(*storer),
        },
    )?;
    set_blob(view, found);
    Ok(())
}

/// `ProveShards`: the sender answers audits of shards placed on it. Every proof is checked
/// for its bounds, its shard, its storer and its pending audit before any is hashed; then each
/// must verify as exactly the audited chunk group against the shard's root in the manifest.
/// A valid one clears the audit, records a success on the storer's record and sets the shard's
/// `last_audit_height`; one invalid proof refuses the whole transaction.
pub(crate) fn prove_shards(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    sender: &AccountId,
    proofs: &[ShardProof],
) -> Result<(), ApplyError> {
    if proofs.is_empty() || proofs.len() > SHARD_PROOFS_PER_TX_MAX {
        return Err(StorageError::ProofCount {
            count: proofs.len(),
            count_max: SHARD_PROOFS_PER_TX_MAX,
        }
        .into());
    }
    // The cheap checks of every proof, before any hashing.
    let mut checked: Vec<(Hash, u64, Audit)> = Vec::with_capacity(proofs.len());
    for (at, proof) in proofs.iter().enumerate() {
        if proof.proof.len() > SHARD_PROOF_BYTES_MAX {
            return Err(StorageError::ProofTooLarge {
                blob: proof.blob,
                shard: proof.shard,
                proof_bytes: proof.proof.len(),
                proof_bytes_max: SHARD_PROOF_BYTES_MAX,
            }
            .into());
        }
        let found = blob_assigned_to(view, &proof.blob, proof.shard, sender)?;
        let no_audit = || StorageError::NoPendingAudit {
            blob: proof.blob,
            shard: proof.shard,
            audit_height: proof.audit_height,
        };
        let repeated = proofs
            .iter()
            .take(at)
            .any(|p| p.blob == proof.blob && p.shard == proof.shard);
        let audit = view.get_decoded::<Audit>(&audit_key(&proof.blob, proof.shard))?;
        let Some(audit) = audit.filter(|a| {
            !repeated
                && a.audit_height == proof.audit_height
                && a.storer == *sender
                && ctx.height < a.deadline_height
        }) else {
            return Err(no_audit().into());
        };
        let Some(root) = found.manifest.shard_roots.get(usize::from(proof.shard)) else {
            return Err(corrupt(format!(
                "blob {} has no root for shard {}",
                found.id, proof.shard
            )));
        };
        checked.push((*root, found.manifest.shard_size_bytes, audit));
    }
    // Then the hashing, proof by proof.
    for (proof, (root, size_bytes, audit)) in proofs.iter().zip(checked) {
        let bad = |reason: String| StorageError::BadAuditProof {
            blob: proof.blob,
            shard: proof.shard,
            start: audit.start,
            end: audit.end,
            reason,
        };
        let verified = verify_range(
            root,
            size_bytes,
            audit.start..audit.end,
            proof.proof.as_slice(),
            |_, _| {},
        )
        .map_err(|e| bad(e.to_string()))?;
        let expected = audit.end.saturating_sub(audit.start);
        if verified != expected {
            return Err(bad(format!("{verified} bytes verified of {expected}")).into());
        }
        let entry = ShardReceipt {
            blob: proof.blob,
            shard: proof.shard,
        };
        drop_audit(view, &entry, sender)?;
        let blocks = ctx.height.saturating_sub(audit.audit_height);
        let latency_ms = blocks.saturating_mul(ctx.params.root.block_interval_target_ms);
        record_event(
            view,
            ctx.params,
            sender,
            ctx.height,
            Some(u32::try_from(latency_ms).unwrap_or(u32::MAX)),
        )?;
        // Read again: an earlier proof of this transaction may have written the blob.
        let Some(mut found) = blob(view, &proof.blob)? else {
            return Err(StorageError::UnknownBlob(proof.blob).into());
        };
        if let Some(shard) = found.shards.get_mut(usize::from(proof.shard)) {
            shard.last_audit_height = Some(ctx.height);
        }
        set_blob(view, &found);
        let mut sums = audit_totals(view)?;
        sums.passed = sums.passed.checked_add(1).ok_or(TxError::Overflow)?;
        set_audit_totals(view, &sums);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn state_keys_of_different_things_differ() {
        let blob = Hash([1; 32]);
        let keys = [
            audit_slot_key(0),
            audit_slot_key(1),
            audit_position_key(&blob, 0),
            audit_position_key(&blob, 1),
            audit_position_key(&Hash([2; 32]), 0),
            audit_key(&blob, 0),
            audit_key(&blob, 1),
            audit_deadlines_key(0),
            audit_deadlines_key(1),
            storer_audits_key(&AccountId([1; 32])),
            storer_audits_key(&AccountId([2; 32])),
            audit_totals_key(),
            super::super::deadlines_key(0),
            super::super::blob_key(&blob),
        ];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn a_draw_below_n_is_below_n_and_spreads() {
        assert_eq!(below(&Hash([7; 32]), 0), None);
        let mut seen = [0u32; 10];
        for pick in 0..10_000u64 {
            let n = below(&selection_seed(&Hash([3; 32]), pick), 10).unwrap();
            seen[n as usize] += 1;
        }
        for count in seen {
            assert!((850..1150).contains(&count), "{seen:?}");
        }
        assert_eq!(below(&Hash([0xff; 32]), u64::MAX), Some(u64::MAX - 1));
    }

    #[test]
    fn the_audited_shards_stay_dense_as_they_come_and_go() {
        let store = MemoryStore::default();
        let mut view = StateView::new(&store, None);
        let blob = Hash([5; 32]);
        for shard in 0..5 {
            index_shard(&mut view, &blob, shard).unwrap();
        }
        // Twice is once.
        index_shard(&mut view, &blob, 2).unwrap();
        assert_eq!(audit_totals(&view).unwrap().shards, 5);
        for shard in [1, 4, 7, 0] {
            forget_shard(&mut view, &blob, shard).unwrap();
        }
        let sums = audit_totals(&view).unwrap();
        assert_eq!(sums.shards, 2);
        let mut held: Vec<u8> = (0..sums.shards)
            .map(|slot| {
                let entry: ShardReceipt = view.get_decoded(&audit_slot_key(slot)).unwrap().unwrap();
                let back: u64 = view
                    .get_decoded(&audit_position_key(&entry.blob, entry.shard))
                    .unwrap()
                    .unwrap();
                assert_eq!(back, slot);
                entry.shard
            })
            .collect();
        held.sort();
        assert_eq!(held, [2, 3]);
        assert_eq!(view.get_raw(&audit_slot_key(2)).unwrap(), None);
        assert_eq!(view.get_raw(&audit_position_key(&blob, 4)).unwrap(), None);
    }
}
