//! What a chain answers about the market in root state: stakes, staked nodes and reliability
//! records, bounties and their pinned values, at a root height (the reads of `crate::stake`'s
//! and `crate::bounty`'s leaves).

use std::sync::atomic::Ordering;

use bitverse_pricing::{ReliabilityRecord, StakedNode, TaskKind};
use bitverse_primitives::{AccountId, Amount, Hash};

use super::{Chain, apply_to_chain_error};
use crate::bounty::{
    Bounty, BountyTotals, bounty, expiries_key, open_count, pinned_values, totals,
};
use crate::error::{ChainError, StoreError};
use crate::stake::{StakeRecord, reliability_key, stake_record, staked_nodes};

impl Chain {
    /// `account`'s stakes and unbonding entries in the root's state at `height` (at most the
    /// tip's: [`ChainError::HeightAboveTip`] otherwise).
    pub fn stake_at(&self, account: &AccountId, height: u64) -> Result<StakeRecord, ChainError> {
        let view = self.view_at(height)?;
        Ok(stake_record(&view, account)?)
    }

    /// The accounts staked in `role` at root height `height`, sorted, with their stakes.
    pub fn staked_nodes_at(
        &self,
        role: TaskKind,
        height: u64,
    ) -> Result<Vec<(AccountId, Amount)>, ChainError> {
        let view = self.view_at(height)?;
        Ok(staked_nodes(&view, role)?)
    }

    /// The accounts staked in `role` at root height `height`, sorted, each with its stake in
    /// the role and its reliability record for that task kind (the prior,
    /// `ReliabilityRecord::default()`, when it has none): what a quote or a draw takes, a pure
    /// function of root state at that height.
    pub fn staked_with_records_at(
        &self,
        role: TaskKind,
        height: u64,
    ) -> Result<Vec<StakedNode>, ChainError> {
        let mut nodes = Vec::new();
        for (account, stake) in self.staked_nodes_at(role, height)? {
            let record = self
                .reliability_record_at(&account, role, height)?
                .unwrap_or_default();
            nodes.push(StakedNode {
                account,
                stake,
                record,
            });
        }
        Ok(nodes)
    }

    /// `account`'s reliability record for `kind` as stored at root height `height`, not
    /// decayed (decay it to the height read with `ReliabilityRecord::decayed`); `None` when it
    /// has none, which `pricing` reads as the prior (`ReliabilityRecord::default()`).
    pub fn reliability_record_at(
        &self,
        account: &AccountId,
        kind: TaskKind,
        height: u64,
    ) -> Result<Option<ReliabilityRecord>, ChainError> {
        let view = self.view_at(height)?;
        view.get_raw(&reliability_key(account, kind))?
            .map(|bytes| {
                ReliabilityRecord::from_bytes(&bytes)
                    .map_err(|e| ChainError::Store(StoreError::Corrupt(e.to_string())))
            })
            .transpose()
    }
}

impl Chain {
    /// How many times this chain re-executed a disputed bounty's transformation since it was
    /// opened (verdicts remembered are not counted again): what a Dispute cost this node.
    pub fn dispute_re_executions(&self) -> u64 {
        self.scripts_runner()
            .dispute_verdicts
            .runs
            .load(Ordering::Relaxed)
    }

    /// The bounty `id` as root state holds it at `height` (at most the tip's), `None` if it
    /// was not posted by then.
    pub fn bounty_at(&self, id: &Hash, height: u64) -> Result<Option<Bounty>, ChainError> {
        let view = self.view_at(height)?;
        Ok(bounty(&view, id)?)
    }

    /// The values `bounty` pinned (the module, then the inputs in order), read at its pinned
    /// height and checked against their hashes: what its offerer and relayers compute over.
    pub fn bounty_values(&self, bounty: &Bounty) -> Result<(Vec<u8>, Vec<Vec<u8>>), ChainError> {
        let view = self.view_at(self.tip_height())?;
        pinned_values(&view, bounty).map_err(apply_to_chain_error)
    }

    /// A root key's value as root state held it at `height` (at most the tip's): what a
    /// bounty posted at that pinned height would pin. A key whose keyspace lives on a data
    /// chain is `KeyOnOtherChain`.
    pub fn value_at(&self, key: &str, height: u64) -> Result<Option<Vec<u8>>, ChainError> {
        let view = self.view_at(height)?;
        view.value(key).map_err(apply_to_chain_error)
    }

    /// The open bounties and the escrow they hold at root height `height`.
    pub fn bounty_totals_at(&self, height: u64) -> Result<BountyTotals, ChainError> {
        let view = self.view_at(height)?;
        Ok(totals(&view)?)
    }

    /// How many open bounties `account` has posted, at root height `height`.
    pub fn open_bounties_of_at(&self, account: &AccountId, height: u64) -> Result<u32, ChainError> {
        let view = self.view_at(height)?;
        Ok(open_count(&view, account)?)
    }

    /// The ids listed to expire at the start of root block `expiry_height`, as state holds
    /// them at `height` (ended ones included until that block removes the list).
    pub fn bounties_expiring_at(
        &self,
        expiry_height: u64,
        height: u64,
    ) -> Result<Vec<Hash>, ChainError> {
        let view = self.view_at(height)?;
        Ok(view
            .get_decoded(&expiries_key(expiry_height))?
            .unwrap_or_default())
    }
}
