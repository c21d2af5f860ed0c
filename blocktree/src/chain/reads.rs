//! What a chain answers about its state and its best chain: accounts, keyspaces, values and
//! their proofs, endowments and earnings, anchors, headers and blocks by height.

use bitverse_keyspace::home_candidates;
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, codec};
use jmt::{JellyfishMerkleTree, KeyHash};

use super::{Chain, Relay, apply_to_chain_error, corrupt};
use crate::block::{Anchor, Block, BlockHeader};
use crate::endowment::EndowmentPool;
use crate::error::{ChainError, KeyspaceError, StatelessError};
use crate::proof::{KeyspaceProof, ValueProof, encode_proof};
use crate::state::{
    AccountState, Blake3Jmt, KeyspaceRecord, StateView, StoreTreeReader, keyspace_key, value_key,
};

impl Chain {
    /// An account's state at the tip.
    pub fn account(&self, account: &AccountId) -> Result<AccountState, ChainError> {
        Ok(self.tip_view().account(account)?)
    }

    /// The next nonce `account` may use, counting its transactions in the mempool.
    pub fn pending_nonce(&self, account: &AccountId) -> Result<u64, ChainError> {
        let state_nonce = self.account(account)?.nonce;
        Ok(self.mempool.pending_nonce(account, state_nonce))
    }

    /// A key's home keyspace on the root's registry at the tip: its name and record. No
    /// proofs: what routing a key to its chain needs.
    pub fn home_of(&self, key: &str) -> Result<(String, KeyspaceRecord), ChainError> {
        let (name, record) = self.tip_view().home_of(key).map_err(apply_to_chain_error)?;
        Ok((name.to_string(), record))
    }

    /// A keyspace's record at the tip.
    pub fn keyspace(&self, name: &str) -> Result<Option<KeyspaceRecord>, ChainError> {
        Ok(self.tip_view().keyspace(name)?)
    }

    /// `chain`'s endowment pool as this chain's tip holds it: on the root, what was paid in
    /// and paid out; ask the root.
    pub fn endowment_pool(&self, chain: &ChainId) -> Result<EndowmentPool, ChainError> {
        Ok(self.tip_view().pool(chain)?)
    }

    /// What the root has paid `miner` for blocks of `chain`, as of this (root) chain's tip.
    pub fn miner_claimed(&self, chain: &ChainId, miner: &AccountId) -> Result<Amount, ChainError> {
        Ok(self.tip_view().claimed(chain, miner)?)
    }

    /// What `miner` has earned on this data chain as of its best block at `height`.
    pub fn miner_earned(&self, miner: &AccountId, height: u64) -> Result<Amount, ChainError> {
        Ok(self.view_at(height)?.earned(miner)?)
    }

    /// What the best block at `height` released from the chain's endowment pool to its
    /// miner: paid on the root, counted as earnings on a data chain.
    pub fn released_by_block(&self, height: u64) -> Result<Amount, ChainError> {
        let Some(before) = height.checked_sub(1) else {
            return Ok(Amount::ZERO);
        };
        let released = |height: u64| -> Result<Amount, ChainError> {
            let view = self.view_at(height)?;
            if self.chain_id.is_root() {
                Ok(view.pool(&ChainId::ROOT)?.paid)
            } else {
                Ok(view.released()?)
            }
        };
        Ok(Amount(
            released(height)?.0.saturating_sub(released(before)?.0),
        ))
    }

    /// A key's value at the tip of the root chain.
    pub fn value(&self, key: &str) -> Result<Option<Vec<u8>>, ChainError> {
        self.value_with(key, None)
    }

    /// A key's value at this chain's tip; a data chain finds the key's keyspace in `root`'s
    /// registry at the root's tip. A key whose keyspace lives on another chain is
    /// [`KeyspaceError::KeyOnOtherChain`].
    pub fn value_with(
        &self,
        key: &str,
        root: Option<&Chain>,
    ) -> Result<Option<Vec<u8>>, ChainError> {
        let relay = match root {
            Some(root) if !self.chain_id.is_root() => Some(Relay {
                root,
                hash: root.tip_hash(),
                height: root.tip_height(),
            }),
            Some(_) => None,
            None if self.chain_id.is_root() => None,
            None => return Err(self.root_missing()),
        };
        self.tip_view_with(relay)
            .value(key)
            .map_err(apply_to_chain_error)
    }

    /// A root key's value at the tip with the proof that it is there (or is not), against
    /// the tip's header: inclusion of the home keyspace's record, non-inclusion of every
    /// longer candidate keyspace, and inclusion (or non-inclusion) of the value at the key's
    /// address. A key of a deeper keyspace needs the chains below: see
    /// [`crate::Blocktree::value_proof`].
    pub fn value_proof(&self, key: &str) -> Result<ValueProof, ChainError> {
        let (mut proof, record, slot) = self.registry_proof(key)?;
        if record.depth != 0 {
            let home = record.chain().unwrap_or(self.chain_id);
            return Err(KeyspaceError::KeyOnOtherChain {
                key: key.to_owned(),
                home,
                here: self.chain_id,
            }
            .into());
        }
        let (value, value_proof) = self.prove_leaf(slot, self.tip_height())?;
        proof.value = value;
        proof.value_proof = value_proof;
        Ok(proof)
    }

    /// The top half of a value proof, on the root at its tip: the header and the keyspace
    /// proofs that establish the key's home; with the home's record and the key's slot. The
    /// value and the links are left for the caller to fill.
    pub(crate) fn registry_proof(
        &self,
        key: &str,
    ) -> Result<(ValueProof, KeyspaceRecord, KeyHash), ChainError> {
        let version = self.tip_height();
        let header = self.tip_entry()?.header.clone();
        let candidates = home_candidates(key).map_err(StatelessError::InvalidKey)?;
        let mut keyspaces = Vec::new();
        let mut home = None;
        for name in candidates {
            let (record, proof) = self.prove_leaf(keyspace_key(name.as_str()), version)?;
            let found = record.clone();
            keyspaces.push(KeyspaceProof {
                name: name.to_string(),
                record,
                proof,
            });
            if let Some(bytes) = found {
                let record: KeyspaceRecord = codec::decode(&bytes).map_err(corrupt)?;
                home = Some((name, record));
                break;
            }
        }
        let Some((home, record)) = home else {
            return Err(KeyspaceError::UnknownKeyspace(key.to_owned()).into());
        };
        let slot = value_key(&home, key);
        let proof = ValueProof {
            key: key.to_owned(),
            value: None,
            header,
            keyspaces,
            links: Vec::new(),
            value_proof: Vec::new(),
        };
        Ok((proof, record, slot))
    }

    /// A leaf of this chain's state at `version` (a best-chain height) and its sparse Merkle
    /// proof.
    pub(crate) fn prove_leaf(
        &self,
        key_hash: KeyHash,
        version: u64,
    ) -> Result<(Option<Vec<u8>>, Vec<u8>), ChainError> {
        let reader = StoreTreeReader {
            store: self.store.as_ref(),
        };
        let tree = JellyfishMerkleTree::<_, Blake3Jmt>::new(&reader);
        let (value, proof) = tree
            .get_with_proof(key_hash, version)
            .map_err(|e| corrupt(format!("state proof: {e}")))?;
        Ok((value, encode_proof(&proof)?))
    }

    /// The latest anchor of `child` in this chain's state as of best-chain height `version`.
    pub fn anchor_at(&self, child: &ChainId, version: u64) -> Result<Option<Anchor>, ChainError> {
        Ok(StateView::new(self.store.as_ref(), Some(version)).anchor(child)?)
    }

    /// The header of block `hash` if it is on the best chain at `height`.
    pub fn best_header(&self, hash: &Hash, height: u64) -> Option<BlockHeader> {
        (self.best_hash_at(height) == Some(hash))
            .then(|| self.header_by_hash(hash))
            .flatten()
    }

    /// The best chain's header at `height`.
    pub fn header_at(&self, height: u64) -> Result<Option<BlockHeader>, ChainError> {
        Ok(self
            .best_hash_at(height)
            .and_then(|hash| self.header_by_hash(hash)))
    }

    /// The best chain's block at `height`, read back from storage and checked.
    pub fn block_at(&self, height: u64) -> Result<Option<Block>, ChainError> {
        match self.best_hash_at(height) {
            Some(hash) => self.block_by_hash(hash),
            None => Ok(None),
        }
    }
}
