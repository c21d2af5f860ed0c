//! A storer leaving (issue 19 §3, `docs/STORAGE.md` "Leaving"): an Unstake of a storer's whole
//! storer stake while shards are placed on it does not unbond at once. The storer is marked
//! leaving (no room for new shards), and from the next root block on its shards are marked for
//! repair, at most [`LEAVES_PER_BLOCK_MAX`] a block, each drawn again onto another storer that
//! rebuilds it from k others; when none is left, the stake it asked for enters unbonding as an
//! Unstake's would. Until then the stake stays where audits can slash it.
//!
//! The attacks, and what stops each:
//! - *Leaving to dodge an audit or a challenge of a shard it lost.* A shard with a pending
//!   audit or an open challenge is not let go by the leave: the leave waits for the audit to be
//!   answered or to fail (slashing the stake, still locked) and for the challenge to end.
//! - *Leaving part of the stake while holding shards.* Refused (`StorerHoldsShards`): the
//!   stake backs every shard placed; a storer leaves whole.
//! - *Unbounded work.* A storer may hold any number of shards; each block lets go of at most
//!   [`LEAVES_PER_BLOCK_MAX`] (of all leaving storers together), each one O(1) through a dense
//!   array of every storer's shards kept as they are placed and let go.
//!
//! Leaves (all on the root):
//! - [`storer_shard_slot_key`]`(account, i)` for `i < StorerRecord::shards`: the shards placed
//!   on `account`, as a dense array (the last slot moves into a freed one);
//! - `storer_shard_position_key(blob, shard)`: the slot of a placed shard in its storer's
//!   array (a shard has one storer at a time);
//! - the leaving storers, a FIFO queue of at most [`LEAVING_STORERS_MAX`].

use bitverse_pricing::TaskKind;
use bitverse_primitives::{AccountId, Amount, Hash, codec};
use jmt::KeyHash;

use super::{
    ShardReceipt, blob, corrupt, queue_bounds, queue_peek, queue_pop, queue_push,
    set_storer_record, shard_key, storer_record,
};
use crate::error::{StorageError, TxError};
use crate::params::ChainParams;
use crate::state::{ApplyError, StateView};

/// The most shards of leaving storers marked for repair in one root block.
pub const LEAVES_PER_BLOCK_MAX: usize = 8;

/// The most storers leaving at once.
pub const LEAVING_STORERS_MAX: u64 = 1_024;

const LEAVING_QUEUE: &str = "leaving storers";

/// Where slot `slot` of the shards placed on `account` lives.
pub fn storer_shard_slot_key(account: &AccountId, slot: u32) -> KeyHash {
    KeyHash(
        Hash::tagged(
            "bitverse state storer shard slot v1",
            &[&account.0, &slot.to_le_bytes()],
        )
        .0,
    )
}

fn storer_shard_position_key(blob: &Hash, shard: u8) -> KeyHash {
    shard_key("bitverse state storer shard position v1", blob, shard)
}

/// Adds shard `shard` of `blob` to `account`'s array, at `slot` (its count of placed shards
/// before this one).
pub(super) fn index_placement(
    view: &mut StateView<'_>,
    account: &AccountId,
    slot: u32,
    blob: &Hash,
    shard: u8,
) {
    view.set_pending(
        storer_shard_slot_key(account, slot),
        Some(codec::encode(&ShardReceipt { blob: *blob, shard })),
    );
    view.set_pending(
        storer_shard_position_key(blob, shard),
        Some(codec::encode(&slot)),
    );
}

/// Takes shard `shard` of `blob` out of `account`'s array of `count` shards (the last slot
/// moves into its place).
pub(super) fn forget_placement(
    view: &mut StateView<'_>,
    account: &AccountId,
    count: u32,
    blob: &Hash,
    shard: u8,
) -> Result<(), ApplyError> {
    let position = storer_shard_position_key(blob, shard);
    let Some(slot) = view.get_decoded::<u32>(&position)? else {
        return Err(corrupt(format!(
            "shard {shard} of blob {blob} is placed without a slot"
        )));
    };
    let last = count
        .checked_sub(1)
        .ok_or_else(|| corrupt(format!("{account} has a slot and no shard")))?;
    if slot != last {
        let Some(moved) =
            view.get_decoded::<ShardReceipt>(&storer_shard_slot_key(account, last))?
        else {
            return Err(corrupt(format!(
                "slot {last} of {account}'s shards is missing"
            )));
        };
        view.set_pending(
            storer_shard_slot_key(account, slot),
            Some(codec::encode(&moved)),
        );
        view.set_pending(
            storer_shard_position_key(&moved.blob, moved.shard),
            Some(codec::encode(&slot)),
        );
    }
    view.set_pending(storer_shard_slot_key(account, last), None);
    view.set_pending(position, None);
    Ok(())
}

/// An Unstake of storer stake by `account`: `Ok(false)` when no shard is placed on it (the
/// Unstake unbonds now, as any); `Ok(true)` when it holds shards and asks for its whole storer
/// stake: it is marked leaving, and the stake unbonds once its shards are re-placed.
/// Refused for part of the stake while it holds shards, and while it is leaving already.
pub(crate) fn begin_leave(
    view: &mut StateView<'_>,
    account: &AccountId,
    amount: Amount,
) -> Result<bool, ApplyError> {
    let mut record = storer_record(view, account)?;
    if record.leaving.is_some() {
        return Err(StorageError::StorerLeaving { account: *account }.into());
    }
    if record.shards == 0 {
        return Ok(false);
    }
    let staked = crate::stake::stake_record(view, account)?.stake(TaskKind::Store);
    if amount != staked {
        return Err(StorageError::StorerHoldsShards {
            account: *account,
            shards: record.shards,
        }
        .into());
    }
    if queue_bounds(view, LEAVING_QUEUE)?.len() >= LEAVING_STORERS_MAX {
        return Err(StorageError::LeavingFull {
            leaving_max: LEAVING_STORERS_MAX,
        }
        .into());
    }
    record.leaving = Some(amount);
    set_storer_record(view, account, &record);
    queue_push(view, LEAVING_QUEUE, account)?;
    Ok(true)
}

/// At the start of root block `height`: marks for repair up to [`LEAVES_PER_BLOCK_MAX`] shards
/// of leaving storers, first come first served (a storer whose last shard has a pending audit
/// or an open challenge waits at the back of the queue until it ends), and unbonds the stake of
/// each storer whose last shard is gone.
pub(super) fn process_leaves(
    view: &mut StateView<'_>,
    params: &ChainParams,
    height: u64,
) -> Result<(), ApplyError> {
    let mut released = 0;
    // Each turn lets go of a shard, finishes a leave or sends a waiting storer to the back:
    // bounded by the shards' budget and by one pass over the queue.
    let waiting_max = queue_bounds(view, LEAVING_QUEUE)?.len();
    let mut waited = 0u64;
    while released < LEAVES_PER_BLOCK_MAX && waited < waiting_max {
        let Some(account) = queue_peek::<AccountId>(view, LEAVING_QUEUE)? else {
            break;
        };
        let mut record = storer_record(view, &account)?;
        let Some(last) = record.shards.checked_sub(1) else {
            queue_pop(view, LEAVING_QUEUE)?;
            let asked = record.leaving.take().unwrap_or(Amount::ZERO);
            set_storer_record(view, &account, &record);
            // Slashes while leaving may have left less than it asked for.
            let staked = crate::stake::stake_record(view, &account)?.stake(TaskKind::Store);
            let amount = asked.min(staked);
            if amount > Amount::ZERO {
                crate::stake::unstake_at(view, params, height, &account, TaskKind::Store, amount)?;
            }
            continue;
        };
        let Some(entry) =
            view.get_decoded::<ShardReceipt>(&storer_shard_slot_key(&account, last))?
        else {
            return Err(corrupt(format!(
                "slot {last} of {account}'s shards is missing"
            )));
        };
        let audited = view
            .get_raw(&super::audit::audit_key(&entry.blob, entry.shard))?
            .is_some();
        let challenged = super::open_challenge(view, &entry.blob, entry.shard)?.is_some();
        if audited || challenged {
            queue_pop(view, LEAVING_QUEUE)?;
            queue_push(view, LEAVING_QUEUE, &account)?;
            waited = waited.checked_add(1).ok_or(TxError::Overflow)?;
            continue;
        }
        let Some(mut found) = blob(view, &entry.blob)? else {
            return Err(corrupt(format!(
                "blob {} of a placement is missing",
                entry.blob
            )));
        };
        super::audit::mark_for_repair(view, &mut found, entry.shard, &account, height)?;
        // mark_for_repair let go of the shard, so the array is one shorter.
        if storer_record(view, &account)?.shards != last {
            return Err(corrupt(format!(
                "shard {} of blob {} was not let go of {account}",
                entry.shard, entry.blob
            )));
        }
        released = released.saturating_add(1);
    }
    Ok(())
}
