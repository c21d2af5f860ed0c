//! Stakes and the reliability ledger in root state: what `Stake` and `Unstake` change, the
//! release of unbonded amounts at the start of a root block, the registry of staked nodes per
//! role, and the reads of all of it at a root height (`docs/MARKET.md`, "What the chain
//! records").
//!
//! Leaves (all on the root, beside accounts and keyspaces):
//! - [`stake_key`]`(account)`: a [`StakeRecord`], the account's stake per role and its
//!   unbonding entries; absent when all are zero;
//! - [`staked_nodes_key`]`(role)`: the accounts with a stake in the role, sorted, each with
//!   that stake, at most [`STAKED_NODES_PER_ROLE_MAX`], so a quote or a draw lists them, and a
//!   full registry finds its smallest stake, without reading a record per account (before,
//!   every Stake refused by a full registry read all 1,000 records at admission, for free);
//! - [`releases_key`]`(height)`: the accounts with an unbonding entry released at the start of
//!   root block `height`, so a block releases exactly what matures in it without a scan. Every
//!   Unstake of block `h` lands in the list of `h + delay`, so a list holds at most one entry
//!   per transaction of one block (`BLOCK_TXS_MAX`);
//! - [`reliability_key`]`(account, kind)`: a `pricing::ReliabilityRecord`, written by Settle
//!   and expiry (`crate::bounty`); an absent record reads as the prior.
//! - [`duty_horizon_key`]`(account, role)`: the latest expiry height of the bounties that named
//!   the account in the role, before which nothing of its stake there unbonds.
//!
//! Staked and unbonding amounts are escrow: they leave the balance and come back, and the
//! conservation of money counts them (`blocktree/tests/stake.rs`).

use bincode::{Decode, Encode};
use bitverse_pricing::TaskKind;
use bitverse_primitives::{AccountId, Amount, Hash, codec};
use jmt::KeyHash;

use crate::error::{StakeError, StatelessError, StoreError, TxError};
use crate::scripts::BlockContext;
use crate::state::{ApplyError, StateView};

/// The most accounts staked in one role. Bounds the registry leaf (48 KiB: an account and its
/// stake each) that every Stake, Unstake and slash rewrites and every quote reads; far below
/// the quote's `RELAYERS_MAX`.
pub const STAKED_NODES_PER_ROLE_MAX: usize = 1_000;

/// The most unbonding entries one account holds at once (Unstakes of one role released at the
/// same height share an entry). Bounds its stake record.
pub const UNBONDING_ENTRIES_PER_ACCOUNT_MAX: usize = 16;

/// An amount on its way back from a stake to the balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Unbonding {
    /// The role it was staked for (a dispute may still slash it).
    pub role: TaskKind,
    /// The amount.
    pub amount: Amount,
    /// The root block at whose start it returns to the balance.
    pub release_height: u64,
}

/// An account's stakes: per role, and the amounts unbonding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct StakeRecord {
    /// Staked as an offerer (`TaskKind::Offer`).
    pub offerer: Amount,
    /// Staked as a relayer (`TaskKind::Relay`).
    pub relayer: Amount,
    /// Unbonding entries, by increasing release height then role; at most
    /// [`UNBONDING_ENTRIES_PER_ACCOUNT_MAX`].
    pub unbonding: Vec<Unbonding>,
    /// Staked as a storer (`TaskKind::Store`): locked while the root places shards on it
    /// (`crate::blob`).
    pub storer: Amount,
}

impl StakeRecord {
    /// The stake in `role`.
    pub fn stake(&self, role: TaskKind) -> Amount {
        match role {
            TaskKind::Offer => self.offerer,
            TaskKind::Relay => self.relayer,
            TaskKind::Store => self.storer,
        }
    }

    /// What a dispute takes in `role` (`slash`): the stake and the unbonding entries of the
    /// role. `None` on overflow (impossible with a supply that fits in an `Amount`).
    pub fn slashable(&self, role: TaskKind) -> Option<Amount> {
        self.unbonding
            .iter()
            .filter(|entry| entry.role == role)
            .try_fold(self.stake(role), |sum, entry| {
                sum.checked_add(entry.amount).ok()
            })
    }

    fn stake_mut(&mut self, role: TaskKind) -> &mut Amount {
        match role {
            TaskKind::Offer => &mut self.offerer,
            TaskKind::Relay => &mut self.relayer,
            TaskKind::Store => &mut self.storer,
        }
    }

    /// Everything this record holds in escrow: every role's stake and every unbonding entry.
    /// `None` on overflow (impossible with a supply that fits in an `Amount`).
    pub fn escrow_total(&self) -> Option<Amount> {
        let mut total = self
            .offerer
            .checked_add(self.relayer)
            .ok()?
            .checked_add(self.storer)
            .ok()?;
        for entry in &self.unbonding {
            total = total.checked_add(entry.amount).ok()?;
        }
        Some(total)
    }

    fn is_empty(&self) -> bool {
        self.offerer == Amount::ZERO
            && self.relayer == Amount::ZERO
            && self.storer == Amount::ZERO
            && self.unbonding.is_empty()
    }
}

/// Where an account's [`StakeRecord`] lives in the root's state tree.
pub fn stake_key(account: &AccountId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state stake v1", &[&account.0]).0)
}

/// Where the sorted list of accounts staked in `role` lives in the root's state tree.
pub fn staked_nodes_key(role: TaskKind) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state staked nodes v2", &[&codec::encode(&role)]).0)
}

/// Where the accounts whose unbonding is released at the start of root block `height` are
/// listed.
pub fn releases_key(height: u64) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state releases v1", &[&height.to_le_bytes()]).0)
}

/// Where the root keeps the latest expiry height of the bounties that named `account` in
/// `role` (as offerer, or drawn as relayer): its stake in the role backs them until then.
pub fn duty_horizon_key(account: &AccountId, role: TaskKind) -> KeyHash {
    KeyHash(
        Hash::tagged(
            "bitverse state duty horizon v1",
            &[&account.0, &codec::encode(&role)],
        )
        .0,
    )
}

/// The latest expiry height of the bounties that named `account` in `role` (0 for none).
pub(crate) fn duty_horizon(
    view: &StateView<'_>,
    account: &AccountId,
    role: TaskKind,
) -> Result<u64, StoreError> {
    Ok(view
        .get_decoded(&duty_horizon_key(account, role))?
        .unwrap_or(0))
}

/// Records that a bounty expiring at `expiry_height` names `account` in `role`: its stake in
/// the role may be slashed by a dispute until then, so nothing of it unbonds before
/// (issue 18 §5: unstaking while a bounty was open, then lying with nothing left to slash).
pub(crate) fn extend_duty(
    view: &mut StateView<'_>,
    account: &AccountId,
    role: TaskKind,
    expiry_height: u64,
) -> Result<(), StoreError> {
    if duty_horizon(view, account, role)? < expiry_height {
        view.set_pending(
            duty_horizon_key(account, role),
            Some(codec::encode(&expiry_height)),
        );
    }
    Ok(())
}

/// Where an account's reliability record for `kind` lives in the root's state tree.
pub fn reliability_key(account: &AccountId, kind: TaskKind) -> KeyHash {
    KeyHash(
        Hash::tagged(
            "bitverse state reliability v1",
            &[&account.0, &codec::encode(&kind)],
        )
        .0,
    )
}

pub(crate) fn stake_record(
    view: &StateView<'_>,
    account: &AccountId,
) -> Result<StakeRecord, StoreError> {
    Ok(view.get_decoded(&stake_key(account))?.unwrap_or_default())
}

fn set_stake_record(view: &mut StateView<'_>, account: &AccountId, record: &StakeRecord) {
    let value = (!record.is_empty()).then(|| codec::encode(record));
    view.set_pending(stake_key(account), value);
}

/// The registry of `role`: the accounts staked in it, sorted, each with its stake in the role
/// (always equal to its [`StakeRecord`]'s: every change of a listed stake writes both).
pub(crate) fn staked_nodes(
    view: &StateView<'_>,
    role: TaskKind,
) -> Result<Vec<(AccountId, Amount)>, StoreError> {
    Ok(view
        .get_decoded(&staked_nodes_key(role))?
        .unwrap_or_default())
}

fn set_staked_nodes(view: &mut StateView<'_>, role: TaskKind, nodes: &[(AccountId, Amount)]) {
    let value = (!nodes.is_empty()).then(|| codec::encode(&nodes.to_vec()));
    view.set_pending(staked_nodes_key(role), value);
}

/// Sets `account`'s stake in `role`'s registry to `stake`, leaving the registry at zero; a
/// listed account only (entering it is [`stake`]'s, which may evict).
fn update_listed(
    view: &mut StateView<'_>,
    account: &AccountId,
    role: TaskKind,
    stake: Amount,
) -> Result<(), StoreError> {
    let mut nodes = staked_nodes(view, role)?;
    if let Ok(at) = nodes.binary_search_by_key(account, |(node, _)| *node) {
        if stake == Amount::ZERO {
            nodes.remove(at);
        } else if let Some(entry) = nodes.get_mut(at) {
            entry.1 = stake;
        }
        set_staked_nodes(view, role, &nodes);
    }
    Ok(())
}

/// The checks `Transaction::check_stateless` makes already, made again where the state
/// depends on them: a stake on a data chain, or a stake of zero (which would leave an empty
/// record to delete), must never reach the state whatever path applied it.
fn check_stake(view: &StateView<'_>, amount: Amount) -> Result<(), StatelessError> {
    if !view.chain().is_root() {
        return Err(StatelessError::RootOnly {
            chain: view.chain(),
        });
    }
    if amount == Amount::ZERO {
        return Err(StatelessError::ZeroStakeAmount);
    }
    Ok(())
}

/// Adds `amount` (already taken from the balance) to `account`'s stake in `role`, entering
/// the account in the role's registry if it is not listed there. A full registry takes a new
/// account only if its stake in the role is larger than the smallest listed, which leaves the
/// registry (keeping its stake, which it may unstake or raise to come back): otherwise a
/// thousand accounts staking one base unit each would lock every other node out for ever
/// (issue 18 §5), where now they must each outbid the stake of whoever comes next.
pub(crate) fn stake(
    view: &mut StateView<'_>,
    account: &AccountId,
    role: TaskKind,
    amount: Amount,
) -> Result<(), ApplyError> {
    check_stake(view, amount)?;
    let mut record = stake_record(view, account)?;
    let staked = record.stake_mut(role);
    *staked = staked.checked_add(amount).map_err(|_| TxError::Overflow)?;
    let total = *staked;
    let mut nodes = staked_nodes(view, role)?;
    match nodes.binary_search_by_key(account, |(node, _)| *node) {
        Ok(at) => {
            if let Some(entry) = nodes.get_mut(at) {
                entry.1 = total;
            }
        }
        Err(mut at) => {
            if nodes.len() >= STAKED_NODES_PER_ROLE_MAX {
                let (smallest_stake, smallest) = smallest_listed(&nodes)?;
                if total <= smallest_stake {
                    return Err(StakeError::StakedNodesFull {
                        role,
                        nodes_max: STAKED_NODES_PER_ROLE_MAX,
                        smallest: smallest_stake,
                    }
                    .into());
                }
                nodes.retain(|(node, _)| *node != smallest);
                at = nodes
                    .binary_search_by_key(account, |(node, _)| *node)
                    .unwrap_or_else(|at| at);
            }
            nodes.insert(at, (*account, total));
        }
    }
    set_staked_nodes(view, role, &nodes);
    set_stake_record(view, account, &record);
    Ok(())
}

/// The smallest stake among `nodes` and its account (of equal stakes, the greatest account:
/// any fixed rule will do, every node applies the same). Read from the registry itself.
fn smallest_listed(nodes: &[(AccountId, Amount)]) -> Result<(Amount, AccountId), ApplyError> {
    let (stake, std::cmp::Reverse(account)) = nodes
        .iter()
        .map(|(node, stake)| (*stake, std::cmp::Reverse(*node)))
        .min()
        .ok_or(TxError::Overflow)?;
    Ok((stake, account))
}

/// Moves `amount` of `account`'s stake in `role` into an unbonding entry released at the
/// start of root block `ctx.height + unbonding_delay_blocks`; an account left with no stake
/// in the role leaves its registry.
pub(crate) fn unstake(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    account: &AccountId,
    role: TaskKind,
    amount: Amount,
) -> Result<(), ApplyError> {
    unstake_at(view, ctx.params, ctx.height, account, role, amount)
}

/// [`unstake`] in root block `height` of a chain with `params`, outside a transaction: a
/// leaving storer's stake, unbonded once its last shard is re-placed (`crate::blob`).
pub(crate) fn unstake_at(
    view: &mut StateView<'_>,
    params: &crate::params::ChainParams,
    height: u64,
    account: &AccountId,
    role: TaskKind,
    amount: Amount,
) -> Result<(), ApplyError> {
    check_stake(view, amount)?;
    let mut record = stake_record(view, account)?;
    let staked = record.stake(role);
    let left = staked
        .checked_sub(amount)
        .map_err(|_| StakeError::InsufficientStake {
            account: *account,
            role,
            staked,
            needed: amount,
        })?;
    *record.stake_mut(role) = left;
    // A delay of 0 would release at the start of the block holding the Unstake, which has
    // already begun: the earliest release is the next block. And never before the last
    // bounty the stake backs has expired: until then a dispute may slash the entry.
    let release_height = height
        .checked_add(params.unbonding_delay_blocks.max(1))
        .ok_or(TxError::Overflow)?
        .max(duty_horizon(view, account, role)?.saturating_add(1));
    match record
        .unbonding
        .iter_mut()
        .find(|e| e.role == role && e.release_height == release_height)
    {
        Some(entry) => {
            entry.amount = entry
                .amount
                .checked_add(amount)
                .map_err(|_| TxError::Overflow)?;
        }
        None => {
            if record.unbonding.len() >= UNBONDING_ENTRIES_PER_ACCOUNT_MAX {
                return Err(StakeError::TooManyUnbonding {
                    account: *account,
                    entries_max: UNBONDING_ENTRIES_PER_ACCOUNT_MAX,
                }
                .into());
            }
            record.unbonding.push(Unbonding {
                role,
                amount,
                release_height,
            });
            record.unbonding.sort_by_key(|e| (e.release_height, e.role));
            let key = releases_key(release_height);
            let mut releases: Vec<AccountId> = view.get_decoded(&key)?.unwrap_or_default();
            if let Err(at) = releases.binary_search(account) {
                releases.insert(at, *account);
                view.set_pending(key, Some(codec::encode(&releases)));
            }
        }
    }
    update_listed(view, account, role, left)?;
    set_stake_record(view, account, &record);
    Ok(())
}

/// Takes everything `account` holds in `role` — its stake and its unbonding entries of that
/// role — out of state (a dispute's slashing), leaving the registry if it was in it. Returns
/// the amount taken, which the caller burns or pays.
pub(crate) fn slash(
    view: &mut StateView<'_>,
    account: &AccountId,
    role: TaskKind,
) -> Result<Amount, ApplyError> {
    let mut record = stake_record(view, account)?;
    let taken = record.slashable(role).ok_or(TxError::Overflow)?;
    *record.stake_mut(role) = Amount::ZERO;
    record.unbonding.retain(|e| e.role != role);
    update_listed(view, account, role, Amount::ZERO)?;
    set_stake_record(view, account, &record);
    Ok(taken)
}

/// Takes `share_ppm` parts per million of `account`'s stake in `role` (rounded down) out of
/// state (a missed audit's slashing), lowering its registry entry, or taking it out of the
/// registry if nothing is left. Its unbonding entries are left alone: for the storer role they
/// can only have begun while it held no shard (a storer holding shards cannot unstake part of
/// its stake, and a leaving one unbonds only after its last shard is let go), so they never
/// backed the shard it failed. Returns the amount taken, which the
/// caller burns.
pub(crate) fn slash_share(
    view: &mut StateView<'_>,
    account: &AccountId,
    role: TaskKind,
    share_ppm: u32,
) -> Result<Amount, ApplyError> {
    let mut record = stake_record(view, account)?;
    let staked = record.stake(role);
    let ppm = u128::from(share_ppm.min(bitverse_pricing::PPM_ONE));
    let one = u128::from(bitverse_pricing::PPM_ONE);
    // (q·one + r)·ppm / one = q·ppm + r·ppm / one, without overflowing for any stake.
    let whole = staked
        .0
        .checked_div(one)
        .and_then(|q| q.checked_mul(ppm))
        .ok_or(TxError::Overflow)?;
    let part = staked
        .0
        .checked_rem(one)
        .and_then(|r| r.checked_mul(ppm))
        .and_then(|p| p.checked_div(one))
        .ok_or(TxError::Overflow)?;
    let taken = Amount(whole.checked_add(part).ok_or(TxError::Overflow)?);
    if taken == Amount::ZERO {
        return Ok(taken);
    }
    let left = staked.checked_sub(taken).map_err(|_| TxError::Overflow)?;
    *record.stake_mut(role) = left;
    update_listed(view, account, role, left)?;
    set_stake_record(view, account, &record);
    Ok(taken)
}

/// Returns to their balances every unbonding entry released at the start of root block
/// `height`, outside any transaction (before the block's transactions, which may spend it).
/// Does nothing on a data chain: stakes live on the root.
pub(crate) fn release_unbonded(view: &mut StateView<'_>, height: u64) -> Result<(), ApplyError> {
    if !view.chain().is_root() {
        return Ok(());
    }
    let key = releases_key(height);
    let Some(accounts) = view.get_decoded::<Vec<AccountId>>(&key)? else {
        return Ok(());
    };
    for account in &accounts {
        let mut record = stake_record(view, account)?;
        let (released, kept): (Vec<Unbonding>, Vec<Unbonding>) = record
            .unbonding
            .iter()
            .partition(|e| e.release_height <= height);
        let mut total = Amount::ZERO;
        for entry in &released {
            total = total
                .checked_add(entry.amount)
                .map_err(|_| TxError::Overflow)?;
        }
        record.unbonding = kept;
        set_stake_record(view, account, &record);
        let mut state = view.account(account)?;
        state.balance = state
            .balance
            .checked_add(total)
            .map_err(|_| TxError::Overflow)?;
        view.set_account(account, &state);
    }
    view.set_pending(key, None);
    view.flush_pending();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use bitverse_primitives::ChainId;

    fn refusal(result: Result<(), ApplyError>) -> TxError {
        match result {
            Err(ApplyError::Tx(e)) => e,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_state_refuses_a_stake_on_a_data_chain_or_of_zero_whatever_path_applied_it() {
        let store = MemoryStore::default();
        let data = ChainId::new(1, 0).unwrap();
        let account = AccountId([7; 32]);
        let mut on_data = StateView::of_chain(&store, None, data, None);
        assert_eq!(
            refusal(stake(&mut on_data, &account, TaskKind::Offer, Amount(1))),
            TxError::Stateless(StatelessError::RootOnly { chain: data })
        );
        let mut on_root = StateView::new(&store, None);
        assert_eq!(
            refusal(stake(&mut on_root, &account, TaskKind::Relay, Amount::ZERO)),
            TxError::Stateless(StatelessError::ZeroStakeAmount)
        );
        stake(&mut on_root, &account, TaskKind::Relay, Amount(5)).unwrap();
        on_root.flush_pending();
        let changes = on_root.into_changes();
        assert!(changes.contains_key(&stake_key(&account)));
        assert!(changes.contains_key(&staked_nodes_key(TaskKind::Relay)));
    }

    #[test]
    fn state_keys_of_different_things_differ() {
        let a = AccountId([1; 32]);
        let b = AccountId([2; 32]);
        let keys = [
            stake_key(&a),
            stake_key(&b),
            staked_nodes_key(TaskKind::Offer),
            staked_nodes_key(TaskKind::Relay),
            releases_key(0),
            releases_key(1),
            reliability_key(&a, TaskKind::Offer),
            reliability_key(&a, TaskKind::Relay),
            reliability_key(&b, TaskKind::Offer),
            staked_nodes_key(TaskKind::Store),
            reliability_key(&a, TaskKind::Store),
        ];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn a_share_of_a_stake_is_taken_rounded_down_and_the_registry_follows() {
        let store = MemoryStore::default();
        let mut view = StateView::new(&store, None);
        let account = AccountId([3; 32]);
        stake(&mut view, &account, TaskKind::Store, Amount(1_000_099)).unwrap();
        stake(&mut view, &account, TaskKind::Relay, Amount(50)).unwrap();
        // 1 % of 1,000,099 is 10,000.99: 10,000 taken.
        let taken = slash_share(&mut view, &account, TaskKind::Store, 10_000).unwrap();
        assert_eq!(taken, Amount(10_000));
        let record = stake_record(&view, &account).unwrap();
        assert_eq!(record.storer, Amount(990_099));
        assert_eq!(record.relayer, Amount(50), "other roles untouched");
        assert_eq!(
            staked_nodes(&view, TaskKind::Store).unwrap(),
            vec![(account, Amount(990_099))]
        );
        // Nothing to take from a tiny stake; all of it at 100 %, leaving the registry.
        let tiny = AccountId([4; 32]);
        stake(&mut view, &tiny, TaskKind::Store, Amount(99)).unwrap();
        assert_eq!(
            slash_share(&mut view, &tiny, TaskKind::Store, 10_000).unwrap(),
            Amount::ZERO
        );
        assert_eq!(
            slash_share(&mut view, &tiny, TaskKind::Store, 1_000_000).unwrap(),
            Amount(99)
        );
        assert_eq!(
            staked_nodes(&view, TaskKind::Store).unwrap(),
            vec![(account, Amount(990_099))]
        );
        // No overflow for the largest stake.
        let whale = AccountId([5; 32]);
        stake(&mut view, &whale, TaskKind::Store, Amount(u128::MAX)).unwrap();
        let taken = slash_share(&mut view, &whale, TaskKind::Store, 999_999).unwrap();
        assert!(taken.0 < u128::MAX && taken.0 > u128::MAX / 10 * 9);
    }

    #[test]
    fn escrow_total_counts_stakes_and_unbonding() {
        let record = StakeRecord {
            offerer: Amount(5),
            relayer: Amount(7),
            unbonding: vec![
                Unbonding {
                    role: TaskKind::Offer,
                    amount: Amount(11),
                    release_height: 3,
                },
                Unbonding {
                    role: TaskKind::Relay,
                    amount: Amount(13),
                    release_height: 4,
                },
            ],
            storer: Amount(17),
        };
        assert_eq!(record.escrow_total(), Some(Amount(53)));
        let overflowing = StakeRecord {
            offerer: Amount(u128::MAX),
            relayer: Amount(1),
            unbonding: Vec::new(),
            storer: Amount::ZERO,
        };
        assert_eq!(overflowing.escrow_total(), None);
    }
}
