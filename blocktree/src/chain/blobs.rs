//! What a chain answers about blobs in root state (the reads of `crate::blob`'s leaves), at a
//! root height.

use bitverse_primitives::{AccountId, Amount, Hash};

use super::{Chain, apply_to_chain_error};
use crate::blob::{
    Blob, BlobTotals, StorerCandidate, StorerRecord, blob, blob_of_key, storer_candidates,
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

    /// The least endowment a blob of `manifest` may be registered with on this network.
    pub fn blob_endowment_min(&self, manifest: &bitverse_storage::Manifest) -> Option<Amount> {
        crate::blob::endowment_min(manifest, &self.params)
    }
}
