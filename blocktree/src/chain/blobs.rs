//! What a chain answers about blobs in root state (the reads of `crate::blob`'s leaves), at a
//! root height.

use bitverse_primitives::{AccountId, Amount, Hash};

use super::{Chain, apply_to_chain_error};
use crate::blob::{
    AuditTotals, Blob, BlobTotals, Challenge, ChallengeTotals, PendingAudit, ShardReceipt,
    StorerCandidate, StorerRecord, audit_totals, blob, blob_of_key, challenge_totals,
    challenges_of_storer, open_challenge, pending_audits_of_storer, storer_candidates,
    storer_record, totals,
};
use crate::error::ChainError;

impl Chain {
    /// Blob `id` as root state held it at `height` (at most the tip's).
    pub fn blob_at(&self, id: &Hash, height: u64) -> Result<Option<Blob>, ChainError> {
        let view = self.view_at(height)?;
        Ok(blob(&view, id)?)
    }

    /// The last blob registered at `key` (live or ended), at root height `height`.
    pub fn blob_of_key_at(&self, key: &str, height: u64) -> Result<Option<Blob>, ChainError> {
        let view = self.view_at(height)?;
        Ok(blob_of_key(&view, key)?)
    }

    /// The peer id storer `account` declared, as of root height `height`.
    pub fn storer_peer_at(
        &self,
        account: &AccountId,
        height: u64,
    ) -> Result<Option<String>, ChainError> {
        let view = self.view_at(height)?;
        Ok(view.get_decoded(&crate::blob::storer_peer_key(account))?)
    }

    /// `account`'s storer record (capacity and placed shards) at root height `height`.
    pub fn storer_at(&self, account: &AccountId, height: u64) -> Result<StorerRecord, ChainError> {
        let view = self.view_at(height)?;
        Ok(storer_record(&view, account)?)
    }

    /// The live blobs and their escrow at root height `height`: with balances, stakes and
    /// pools, what the conservation of money counts.
    pub fn blob_totals_at(&self, height: u64) -> Result<BlobTotals, ChainError> {
        let view = self.view_at(height)?;
        Ok(totals(&view)?)
    }

    /// Every registered storer at root height `height`, in account order, as the draw sees it:
    /// stake, reputation at that height, room.
    pub fn storers_at(&self, height: u64) -> Result<Vec<StorerCandidate>, ChainError> {
        let view = self.view_at(height)?;
        storer_candidates(&view, &self.params, height).map_err(apply_to_chain_error)
    }

    /// The audits pending for storer `account` at root height `height`, in the order they were
    /// issued: what its node must answer with `ProveShards` before each one's deadline. One
    /// read of the storer's list and one per audit (a storer has at most a block's audits,
    /// 8, times `audit_deadline_blocks` pending; usually none or a few).
    pub fn pending_audits_of_storer_at(
        &self,
        account: &AccountId,
        height: u64,
    ) -> Result<Vec<PendingAudit>, ChainError> {
        let view = self.view_at(height)?;
        Ok(pending_audits_of_storer(&view, account)?)
    }

    /// The audits in total at root height `height`: the confirmed shards they select from,
    /// audits issued, passed and failed, the storer stake burnt for them (which the
    /// conservation of money counts) and the repairs paid.
    pub fn audit_totals_at(&self, height: u64) -> Result<AuditTotals, ChainError> {
        let view = self.view_at(height)?;
        Ok(audit_totals(&view)?)
    }

    /// The open challenges on storer `account` at root height `height`, in the order they
    /// were posted: what its node claims before each one's deadline. One read of the storer's
    /// list and one per challenge (at most `CHALLENGES_PER_STORER_MAX`).
    pub fn challenges_of_storer_at(
        &self,
        account: &AccountId,
        height: u64,
    ) -> Result<Vec<Challenge>, ChainError> {
        let view = self.view_at(height)?;
        Ok(challenges_of_storer(&view, account)?)
    }

    /// The open challenge of shard `shard` of blob `blob` at root height `height`, if any.
    pub fn challenge_at(
        &self,
        blob: &Hash,
        shard: u8,
        height: u64,
    ) -> Result<Option<Challenge>, ChainError> {
        let view = self.view_at(height)?;
        Ok(open_challenge(&view, blob, shard)?)
    }

    /// The challenges in total at root height `height`, with the escrow the conservation of
    /// money counts.
    pub fn challenge_totals_at(&self, height: u64) -> Result<ChallengeTotals, ChainError> {
        let view = self.view_at(height)?;
        Ok(challenge_totals(&view)?)
    }

    /// The shards root block `placed_height` drew a storer for (first placements, redraws and
    /// repairs alike), as root state held them at `height`, while their confirmation deadline
    /// has not passed (after it, the list is gone): one leaf. A storer's node reads it for each
    /// new block to find the repairs placed on it, which nobody uploads.
    pub fn shards_placed_at(
        &self,
        placed_height: u64,
        height: u64,
    ) -> Result<Vec<ShardReceipt>, ChainError> {
        let Some(deadline_height) =
            placed_height.checked_add(self.params.storage.confirm_deadline_blocks)
        else {
            return Ok(Vec::new());
        };
        let view = self.view_at(height)?;
        Ok(view
            .get_decoded(&crate::blob::deadlines_key(deadline_height))?
            .unwrap_or_default())
    }

    /// The least endowment a blob of `manifest` may be registered with on this network.
    pub fn blob_endowment_min(&self, manifest: &bitverse_storage::Manifest) -> Option<Amount> {
        crate::blob::endowment_min(manifest, &self.params)
    }
}
