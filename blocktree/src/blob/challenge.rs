//! Challenge bounties (issue 19 §3, background text 001, `docs/STORAGE.md` "Challenges"): the
//! publisher's own check of its storers, on top of the chain's audits. `PostChallenge` locks
//! an amount to a public key whose secret only a holder of the whole shard can derive
//! (`bitverse_storage::challenge`); the shard's storer claims it with `ClaimChallenge`, signed
//! by that key over a message naming the storer, before `audit_deadline_blocks` have passed.
//! A challenge unclaimed at its deadline is refunded to its poster, records a failure on the
//! storer's record and marks the shard for repair (drawn again onto another storer, which
//! rebuilds it from k others); no stake is slashed, because the chain cannot tell a storer
//! that lost the shard from a poster that posted a key no shard gives.
//!
//! The attacks, and what stops each:
//! - A reader who fetched the shard once derives the key too: a claim must come from the
//!   shard's assigned storer, and the signature names the claimer.
//! - A storer that deleted the shard after hashing it: the hash is keyed by the nonce, which
//!   it learns only when the challenge is posted, so nothing can be hashed ahead.
//! - A storer that claims a shard it was let go of: the claim needs the shard placed on the
//!   sender when the claim is applied; a challenge whose shard moved is refunded at its
//!   deadline without a failure.
//! - A publisher posting a key no shard gives, to fail an honest storer: it is the only one
//!   who may post on its blob, it gets only its own amount back, and each failure it causes
//!   costs its own blob a repair fee when the shard is re-placed. It can record one failure
//!   per shard per deadline on the storers of its own blobs, no more (one open challenge a
//!   shard).
//! - Flooding the root: one open challenge per shard, at most [`CHALLENGES_PER_BLOCK_MAX`]
//!   posted per block (they share a deadline list) and at most
//!   [`CHALLENGES_PER_STORER_MAX`] open on one storer, each locking at least
//!   [`CHALLENGE_AMOUNT_MIN`] besides its fee.
//!
//! Leaves (all on the root):
//! - [`challenge_key`]`(blob, shard)`: the open challenge of a shard, if any ([`Challenge`]);
//! - [`challenge_deadlines_key`]`(height)`: the challenges whose deadline is root block
//!   `height`;
//! - [`storer_challenges_key`]`(account)`: the shards of `account` with an open challenge;
//! - [`challenge_totals_key`]: [`ChallengeTotals`], with the escrow the conservation of money
//!   counts.

use bincode::{Decode, Encode};
use bitverse_primitives::{AccountId, Amount, Hash, Signature, codec};
use bitverse_storage::claim_message;
use jmt::KeyHash;
use serde::Serialize;

use super::{
    ShardReceipt, blob, blob_assigned_to, corrupt, list_remove, live_shard, overflow, record_event,
    set_blob, shard_key, take_list,
};
use crate::error::{StorageError, StoreError, TxError};
use crate::params::ChainParams;
use crate::scripts::BlockContext;
use crate::state::{ApplyError, StateView};

/// The least amount a challenge locks besides its fee.
pub const CHALLENGE_AMOUNT_MIN: Amount = Amount(1_000);

/// The most challenges one root block takes: they share one deadline list.
pub const CHALLENGES_PER_BLOCK_MAX: usize = 64;

/// The most challenges open at once on one storer: its node reads them all every block.
pub const CHALLENGES_PER_STORER_MAX: usize = 64;

/// An open challenge, as state holds it under [`challenge_key`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct Challenge {
    /// The blob.
    pub blob: Hash,
    /// The shard.
    pub shard: u8,
    /// Who posted it and gets it back if it is not claimed: the blob's publisher.
    pub poster: AccountId,
    /// The shard's storer when it was posted: the only account that can claim it.
    pub storer: AccountId,
    /// The nonce the key is derived with, public from the moment it is posted.
    pub nonce: Hash,
    /// The public key the claim's signature must verify under.
    pub key: AccountId,
    /// What a claim pays.
    pub amount: Amount,
    /// The root height of the block that took it.
    pub posted_height: u64,
    /// The root block at whose start it is refunded if unclaimed; a claim must be in a block
    /// below it.
    pub deadline_height: u64,
}

/// How a shard's last challenge ended, kept on the shard ([`super::Shard::last_challenge`])
/// so that its poster can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct ChallengeResult {
    /// The challenge's nonce.
    pub nonce: Hash,
    /// The root height of the block that claimed it, or at whose start it was refunded.
    pub height: u64,
    /// Claimed by the storer; refunded unclaimed otherwise.
    pub claimed: bool,
}

/// The challenges in total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct ChallengeTotals {
    /// Open now.
    pub open: u64,
    /// What the open ones lock: counted by the conservation of money.
    pub escrowed: Amount,
    /// Claimed by their storers.
    pub claimed: u64,
    /// Refunded at their deadline unclaimed.
    pub unclaimed: u64,
}

/// Where the open challenge of shard `shard` of `blob` lives.
pub fn challenge_key(blob: &Hash, shard: u8) -> KeyHash {
    shard_key("bitverse state challenge v1", blob, shard)
}

/// Where the challenges whose deadline is root block `height` are listed.
pub fn challenge_deadlines_key(height: u64) -> KeyHash {
    KeyHash(
        Hash::tagged(
            "bitverse state challenge deadlines v1",
            &[&height.to_le_bytes()],
        )
        .0,
    )
}

/// Where the shards of storer `account` with an open challenge are listed.
pub fn storer_challenges_key(account: &AccountId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state storer challenges v1", &[&account.0]).0)
}

/// Where the [`ChallengeTotals`] live.
pub fn challenge_totals_key() -> KeyHash {
    KeyHash(Hash::tagged("bitverse state challenge totals v1", &[]).0)
}

/// The totals.
pub(crate) fn challenge_totals(view: &StateView<'_>) -> Result<ChallengeTotals, StoreError> {
    Ok(view
        .get_decoded(&challenge_totals_key())?
        .unwrap_or_default())
}

fn set_challenge_totals(view: &mut StateView<'_>, totals: &ChallengeTotals) {
    view.set_pending(challenge_totals_key(), Some(codec::encode(totals)));
}

/// The open challenge of shard `shard` of `blob`, if any.
pub(crate) fn open_challenge(
    view: &StateView<'_>,
    blob: &Hash,
    shard: u8,
) -> Result<Option<Challenge>, StoreError> {
    view.get_decoded(&challenge_key(blob, shard))
}

/// The open challenges on storer `account`, in the order they were posted.
pub(crate) fn challenges_of_storer(
    view: &StateView<'_>,
    account: &AccountId,
) -> Result<Vec<Challenge>, StoreError> {
    let listed: Vec<ShardReceipt> = view
        .get_decoded(&storer_challenges_key(account))?
        .unwrap_or_default();
    let mut open = Vec::with_capacity(listed.len());
    for entry in &listed {
        match open_challenge(view, &entry.blob, entry.shard)? {
            Some(challenge) => open.push(challenge),
            None => {
                return Err(StoreError::Corrupt(format!(
                    "challenge of shard {} of blob {} is listed and missing",
                    entry.shard, entry.blob
                )));
            }
        }
    }
    Ok(open)
}

/// What a PostChallenge asks for, as its payload carries it.
pub(crate) struct Posting<'p> {
    pub(crate) poster: AccountId,
    pub(crate) blob: &'p Hash,
    pub(crate) shard: u8,
    pub(crate) nonce: &'p Hash,
    pub(crate) key: &'p AccountId,
    /// Already taken from the poster's balance.
    pub(crate) amount: Amount,
}

/// `PostChallenge`: the blob's publisher locks `amount` for the storer of a confirmed shard
/// of its live blob, which has no open challenge.
pub(crate) fn post_challenge(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    posting: &Posting<'_>,
) -> Result<(), ApplyError> {
    let Posting {
        poster,
        blob: blob_id,
        shard,
        nonce,
        key,
        amount,
    } = *posting;
    if amount < CHALLENGE_AMOUNT_MIN {
        return Err(StorageError::ChallengeTooSmall {
            amount,
            amount_min: CHALLENGE_AMOUNT_MIN,
        }
        .into());
    }
    let (found, placed) = live_shard(view, blob_id, shard)?;
    if found.publisher != poster {
        return Err(StorageError::NotPublisher {
            blob: *blob_id,
            account: poster,
        }
        .into());
    }
    let (Some(storer), Some(_)) = (placed.storer, placed.confirmed_height) else {
        return Err(StorageError::ShardNotHeld {
            blob: *blob_id,
            shard,
        }
        .into());
    };
    if open_challenge(view, blob_id, shard)?.is_some() {
        return Err(StorageError::ChallengeOpen {
            blob: *blob_id,
            shard,
        }
        .into());
    }
    let deadline_height = ctx
        .height
        .checked_add(ctx.params.storage.audit_deadline_blocks)
        .ok_or(TxError::Overflow)?;
    let entry = ShardReceipt {
        blob: *blob_id,
        shard,
    };
    let deadlines = challenge_deadlines_key(deadline_height);
    let mut due: Vec<ShardReceipt> = view.get_decoded(&deadlines)?.unwrap_or_default();
    let storer_list = storer_challenges_key(&storer);
    let mut on_storer: Vec<ShardReceipt> = view.get_decoded(&storer_list)?.unwrap_or_default();
    if due.len() >= CHALLENGES_PER_BLOCK_MAX || on_storer.len() >= CHALLENGES_PER_STORER_MAX {
        return Err(StorageError::ChallengesFull {
            in_block: due.len(),
            in_block_max: CHALLENGES_PER_BLOCK_MAX,
            on_storer: on_storer.len(),
            on_storer_max: CHALLENGES_PER_STORER_MAX,
        }
        .into());
    }
    due.push(entry);
    on_storer.push(entry);
    view.set_pending(deadlines, Some(codec::encode(&due)));
    view.set_pending(storer_list, Some(codec::encode(&on_storer)));
    let challenge = Challenge {
        blob: *blob_id,
        shard,
        poster,
        storer,
        nonce: *nonce,
        key: *key,
        amount,
        posted_height: ctx.height,
        deadline_height,
    };
    view.set_pending(
        challenge_key(blob_id, shard),
        Some(codec::encode(&challenge)),
    );
    let mut sums = challenge_totals(view)?;
    sums.open = sums.open.checked_add(1).ok_or(TxError::Overflow)?;
    sums.escrowed = sums.escrowed.checked_add(amount).map_err(overflow)?;
    set_challenge_totals(view, &sums);
    Ok(())
}

/// `ClaimChallenge`: the storer of a shard with an open challenge, still holding the shard's
/// placement, proves it can derive the challenge's key by a signature over
/// [`claim_message`] naming itself; it is paid the amount and its record gets a success. The
/// state is checked before the signature, the costly part.
pub(crate) fn claim_challenge(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    sender: &AccountId,
    blob_id: &Hash,
    shard: u8,
    signature: &Signature,
) -> Result<(), ApplyError> {
    let Some(challenge) = open_challenge(view, blob_id, shard)? else {
        return Err(StorageError::NoOpenChallenge {
            blob: *blob_id,
            shard,
        }
        .into());
    };
    let mut found = blob_assigned_to(view, blob_id, shard, sender)?;
    if challenge.storer != *sender || ctx.height >= challenge.deadline_height {
        return Err(StorageError::NoOpenChallenge {
            blob: *blob_id,
            shard,
        }
        .into());
    }
    let message = claim_message(blob_id, shard, &challenge.nonce, sender);
    if challenge.key.verify(&message, signature).is_err() {
        return Err(StorageError::BadChallengeClaim {
            blob: *blob_id,
            shard,
        }
        .into());
    }
    close(view, &challenge)?;
    view.credit(sender, challenge.amount)?;
    if let Some(placed) = found.shards.get_mut(usize::from(shard)) {
        placed.last_challenge = Some(ChallengeResult {
            nonce: challenge.nonce,
            height: ctx.height,
            claimed: true,
        });
    }
    set_blob(view, &found);
    let blocks = ctx.height.saturating_sub(challenge.posted_height);
    let latency_ms = blocks.saturating_mul(ctx.params.root.block_interval_target_ms);
    record_event(
        view,
        ctx.params,
        sender,
        ctx.height,
        Some(u32::try_from(latency_ms).unwrap_or(u32::MAX)),
    )?;
    let mut sums = challenge_totals(view)?;
    sums.claimed = sums.claimed.checked_add(1).ok_or(TxError::Overflow)?;
    set_challenge_totals(view, &sums);
    Ok(())
}

/// Removes an open challenge, its line in its storer's list and its escrow from the totals
/// (the caller pays the amount out). Its line in the deadline's list stays: the deadline finds
/// no challenge and passes over it.
fn close(view: &mut StateView<'_>, challenge: &Challenge) -> Result<(), ApplyError> {
    let entry = ShardReceipt {
        blob: challenge.blob,
        shard: challenge.shard,
    };
    view.set_pending(challenge_key(&entry.blob, entry.shard), None);
    list_remove(view, storer_challenges_key(&challenge.storer), &entry)?;
    let mut sums = challenge_totals(view)?;
    sums.open = sums.open.saturating_sub(1);
    sums.escrowed = sums
        .escrowed
        .checked_sub(challenge.amount)
        .map_err(overflow)?;
    set_challenge_totals(view, &sums);
    Ok(())
}

/// The challenges whose deadline is root block `height` and are still open: each is refunded
/// to its poster; if the shard is still placed on the storer it was posted for, that storer's
/// record gets a failure and the shard is marked for repair (no stake is slashed).
pub(super) fn expire_challenges(
    view: &mut StateView<'_>,
    params: &ChainParams,
    height: u64,
) -> Result<(), ApplyError> {
    let Some(due) = take_list(view, challenge_deadlines_key(height))? else {
        return Ok(());
    };
    for entry in due.iter().take(CHALLENGES_PER_BLOCK_MAX) {
        let Some(challenge) = open_challenge(view, &entry.blob, entry.shard)? else {
            continue;
        };
        if challenge.deadline_height != height {
            continue;
        }
        close(view, &challenge)?;
        view.credit(&challenge.poster, challenge.amount)?;
        let mut sums = challenge_totals(view)?;
        sums.unclaimed = sums.unclaimed.checked_add(1).ok_or(TxError::Overflow)?;
        set_challenge_totals(view, &sums);
        let Some(mut found) = blob(view, &entry.blob)? else {
            return Err(corrupt(format!(
                "challenged blob {} is missing",
                entry.blob
            )));
        };
        let Some(placed) = found.shards.get_mut(usize::from(entry.shard)) else {
            return Err(corrupt(format!(
                "challenged blob {} has no shard {}",
                entry.blob, entry.shard
            )));
        };
        placed.last_challenge = Some(ChallengeResult {
            nonce: challenge.nonce,
            height,
            claimed: false,
        });
        let still_placed = placed.storer == Some(challenge.storer);
        if found.status.is_live() && still_placed {
            record_event(view, params, &challenge.storer, height, None)?;
            super::audit::mark_for_repair(
                view,
                &mut found,
                entry.shard,
                &challenge.storer,
                height,
            )?;
        }
        set_blob(view, &found);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_of_different_things_differ() {
        let blob = Hash::digest(b"blob");
        let account = AccountId([3; 32]);
        let keys = [
            challenge_key(&blob, 0),
            challenge_key(&blob, 1),
            challenge_deadlines_key(0),
            challenge_deadlines_key(1),
            storer_challenges_key(&account),
            challenge_totals_key(),
            super::super::audit::audit_key(&blob, 0),
            super::super::audit::storer_audits_key(&account),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in keys.iter().skip(i + 1) {
                assert_ne!(a, b);
            }
        }
    }
}
