//! Importing a block: its header and body checks, storing it, applying it to the tip's state
//! and connecting it, rolling the tip back, and reorganising to another branch (marking a
//! branch that fails invalid).

use bitverse_primitives::{AccountId, Amount, Hash, codec};
use jmt::KeyHash;

use super::{
    BlockMeta, BlockStatus, Chain, ImportOutcome, IndexEntry, META_TIP, StateUpdate, StoredBody,
    TxLocation, apply_to_chain_error, compute_state_update, corrupt, write_state_update,
};
use crate::anchoring::apply_anchors;
use crate::block::{Block, BlockHeader};
use crate::error::{BlockError, ChainError};
use crate::headers::{self, HeaderRules};
use crate::state::{ApplyError, value_version_key, version_start};
use crate::store::{Column, WriteBatch};

impl Chain {
    /// The block `hash` and its ancestors, newest first, as many as the header rules look at
    /// (or down to genesis); empty if `hash` is not indexed.
    pub(super) fn rule_ancestors(&self, hash: &Hash) -> Result<Vec<&IndexEntry>, ChainError> {
        let depth = headers::depth_params(&self.params, self.chain_id)?;
        let needed = headers::ancestors_needed(&self.params, depth);
        let mut ancestors = Vec::with_capacity(needed.min(1024));
        let mut cursor = self.index.get(hash);
        while let Some(entry) = cursor {
            ancestors.push(entry);
            if ancestors.len() >= needed || entry.header.height == 0 {
                break;
            }
            cursor = self.index.get(&entry.header.parent);
        }
        Ok(ancestors)
    }

    /// The difficulty and minimum time (exclusive) of the block after `parent`.
    pub(super) fn rules_after(&self, parent: &Hash) -> Result<HeaderRules, ChainError> {
        let depth = headers::depth_params(&self.params, self.chain_id)?;
        let ancestors = self.rule_ancestors(parent)?;
        if ancestors.is_empty() {
            return Err(corrupt("parent not indexed").into());
        }
        Ok(headers::rules_after(
            &self.params,
            depth,
            ancestors.into_iter().map(|entry| &entry.header),
        ))
    }

    fn check_header(&self, header: &BlockHeader, now_ms: u64) -> Result<u128, ChainError> {
        if header.chain != self.chain_id {
            return Err(BlockError::WrongChain {
                expected: self.chain_id,
                got: header.chain,
            }
            .into());
        }
        let parent = self
            .index
            .get(&header.parent)
            .ok_or(BlockError::UnknownParent(header.parent))?;
        if parent.meta.status == BlockStatus::Invalid {
            return Err(BlockError::KnownInvalid(header.parent).into());
        }
        let rules = self.rules_after(&header.parent)?;
        let work = headers::check_header(&self.params, &rules, &parent.header, header, now_ms)?;
        Ok(parent.meta.cumulative_work.saturating_add(work))
    }

    /// Imports a root block received from anywhere. `now_ms` is the local clock, used only for
    /// the maximum-future-time rule.
    pub fn import_block(&mut self, block: Block, now_ms: u64) -> Result<ImportOutcome, ChainError> {
        self.import_block_with(block, now_ms, None)
    }

    /// Imports a block of this chain; a data-chain block is validated against `root` as of
    /// its relay parent.
    pub fn import_block_with(
        &mut self,
        block: Block,
        now_ms: u64,
        root: Option<&Chain>,
    ) -> Result<ImportOutcome, ChainError> {
        let hash = block.hash();
        if let Some(entry) = self.index.get(&hash) {
            return Err(if entry.meta.status == BlockStatus::Invalid {
                BlockError::KnownInvalid(hash)
            } else {
                BlockError::AlreadyKnown(hash)
            }
            .into());
        }
        let cumulative_work = self.check_header(&block.header, now_ms)?;
        let tx_hashes = block.check_body()?;
        self.check_transactions(&hash, &block, &tx_hashes)?;
        // Stored before it is connected, so that a reorg can reach it; not yet trusted.
        let meta = BlockMeta {
            cumulative_work,
            status: BlockStatus::HeaderValid,
        };
        let mut batch = WriteBatch::default();
        batch.put(Column::Headers, hash.0, block.header.to_bytes());
        batch.put(
            Column::Bodies,
            hash.0,
            StoredBody::bytes(&block.transactions, &block.anchor_headers),
        );
        batch.put(Column::BlockMeta, hash.0, codec::encode(&meta));
        let parent = block.header.parent;
        let height = block.header.height;
        // Fork choice: most work among the branches that may be best (on a data chain, those
        // that extend the header its parent anchors and whose relay parents are on the root's
        // best chain). Judged only for a block that could take the tip: the walk is not paid
        // for the lighter side blocks a long sync brings.
        let contends = parent == self.tip_hash() || cumulative_work > self.tip().cumulative_work;
        let may_be_best = contends && self.may_be_best(&hash, &block.header, root);
        if parent == self.tip_hash() && may_be_best {
            // The common case: connect in the same batch as the store.
            self.connect(&block, &tx_hashes, batch, root)?;
            self.index.insert(
                hash,
                IndexEntry {
                    header: block.header,
                    meta: BlockMeta {
                        cumulative_work,
                        status: BlockStatus::Valid,
                    },
                },
            );
            return Ok(ImportOutcome::NewTip {
                height,
                reorged_blocks: 0,
            });
        }
        self.store.write(batch)?;
        self.index.insert(
            hash,
            IndexEntry {
                header: block.header,
                meta,
            },
        );
        if may_be_best && cumulative_work > self.tip().cumulative_work {
            let reorged_blocks = self.reorg_to(hash, root)?;
            return Ok(ImportOutcome::NewTip {
                height,
                reorged_blocks,
            });
        }
        // The anchored header arriving after its anchor: the tip may have to move to it.
        if self
            .anchor_floor
            .as_ref()
            .is_some_and(|floor| floor.hash == hash)
            && let Some(reorged_blocks) = self.reevaluate(root)?
        {
            return Ok(ImportOutcome::NewTip {
                height: self.tip_height(),
                reorged_blocks,
            });
        }
        Ok(ImportOutcome::SideChain)
    }

    /// The stateless checks and signatures of `block`'s transactions (`hash`, with
    /// `tx_hashes`). A block built here holds only mempool transactions, whose signatures were
    /// checked on admission: checking them again would halve a node's write throughput.
    fn check_transactions(
        &self,
        hash: &Hash,
        block: &Block,
        tx_hashes: &[Hash],
    ) -> Result<(), BlockError> {
        if matches!(&self.prepared, Some((h, _)) if h == hash) {
            return Ok(());
        }
        for (index, (tx, tx_hash)) in block.transactions.iter().zip(tx_hashes).enumerate() {
            tx.check_stateless(self.chain_id)
                .and_then(|()| tx.verify_signature())
                .map_err(|error| BlockError::InvalidTransaction {
                    index,
                    hash: *tx_hash,
                    error: Box::new(error.into()),
                })?;
        }
        Ok(())
    }

    /// Applies `block`'s anchors and transactions to the tip's state and returns the state
    /// update. The signatures have been checked by the caller.
    fn apply_block(&self, block: &Block, root: Option<&Chain>) -> Result<StateUpdate, ChainError> {
        let relay = self.relay(root, &block.header.relay_parent)?;
        if let Some(relay) = relay {
            // A chain's view of the root only moves forward.
            let parent_relay = self.tip_entry()?.header.relay_parent;
            let floor = relay.root.index.get(&parent_relay).map(|e| e.header.height);
            if floor.is_some_and(|floor| relay.height < floor) {
                return Err(BlockError::BadRelayParent(format!(
                    "root block {} is older than the parent block's relay parent",
                    relay.hash
                ))
                .into());
            }
        }
        let context = self.context_on_tip(block.header.time_ms, relay);
        let mut view = self.tip_view_with(relay);
        apply_anchors(
            &mut view,
            &self.params,
            block.header.height,
            block.header.time_ms,
            &block.header.anchors,
            &block.anchor_headers,
        )?;
        crate::bounty::start_root_block(
            &mut view,
            &self.params,
            block.header.height,
            &block.header.parent,
        )
        .map_err(apply_to_chain_error)?;
        let mut fees = Amount::ZERO;
        for (index, tx) in block.transactions.iter().enumerate() {
            let fee = view
                .try_apply_transaction(tx, &context)
                .map_err(|e| match e {
                    ApplyError::Tx(error) => ChainError::Block(BlockError::InvalidTransaction {
                        index,
                        hash: tx.hash(),
                        error: Box::new(error),
                    }),
                    ApplyError::Store(e) => ChainError::Store(e),
                    ApplyError::Sandbox(e) => ChainError::Sandbox(e),
                })?;
            fees = fees.checked_add(fee).map_err(|_| BlockError::Overflow)?;
        }
        view.pay_block_miner(&self.params, &block.header.miner, fees)
            .map_err(|e| match e {
                ApplyError::Tx(_) => ChainError::Block(BlockError::Overflow),
                ApplyError::Store(e) => ChainError::Store(e),
                ApplyError::Sandbox(e) => ChainError::Sandbox(e),
            })?;
        Ok(compute_state_update(
            self.store.as_ref(),
            view.into_changes(),
            block.header.height,
        )?)
    }

    /// Connects `block`, a child of the tip, writing `batch` with it in one atomic write.
    fn connect(
        &mut self,
        block: &Block,
        tx_hashes: &[Hash],
        mut batch: WriteBatch,
        root: Option<&Chain>,
    ) -> Result<(), ChainError> {
        let hash = block.hash();
        let update = match self.prepared.take() {
            Some((prepared_hash, update)) if prepared_hash == hash => update,
            _ => self.apply_block(block, root)?,
        };
        if update.root != block.header.state_root {
            return Err(BlockError::StateRootMismatch {
                header: block.header.state_root,
                computed: update.root,
            }
            .into());
        }
        let height = block.header.height;
        write_state_update(&mut batch, &update)?;
        let undo: Vec<[u8; 32]> = update.changed.iter().map(|k| k.0).collect();
        batch.put(Column::Undo, hash.0, codec::encode(&undo));
        for (index, tx_hash) in tx_hashes.iter().enumerate() {
            let at = TxLocation {
                block: hash,
                height,
                index: u32::try_from(index).unwrap_or(u32::MAX),
            };
            batch.put(Column::TxIndex, tx_hash.0, codec::encode(&at));
        }
        let cumulative_work = self
            .index
            .get(&block.header.parent)
            .map(|p| {
                p.meta
                    .cumulative_work
                    .saturating_add(u128::from(block.header.difficulty))
            })
            .unwrap_or(0);
        let meta = BlockMeta {
            cumulative_work,
            status: BlockStatus::Valid,
        };
        batch.put(Column::BlockMeta, hash.0, codec::encode(&meta));
        batch.put(Column::BestChain, height.to_be_bytes(), hash.0);
        batch.put(Column::Meta, META_TIP, hash.0);
        self.store.write(batch)?;
        self.best.push(hash);
        self.best_changes = self.best_changes.wrapping_add(1);
        if let Some(entry) = self.index.get_mut(&hash) {
            entry.meta.status = BlockStatus::Valid;
        }
        let mut senders: Vec<AccountId> =
            block.transactions.iter().map(|t| t.body.sender).collect();
        senders.sort_unstable();
        senders.dedup();
        let mut nonces = Vec::with_capacity(senders.len());
        let view = self.tip_view();
        for sender in senders {
            nonces.push((sender, view.account(&sender)?.nonce));
        }
        for (sender, nonce) in nonces {
            self.mempool.prune_sender(&sender, nonce);
        }
        Ok(())
    }

    /// Rolls the tip back to its parent: deletes the state versions and indexes it wrote.
    /// Returns the block with its transactions' hashes, for reconnecting it.
    pub(super) fn disconnect_tip(&mut self) -> Result<(Block, Vec<Hash>), ChainError> {
        let hash = self.tip_hash();
        let (block, tx_hashes) = self.read_block(&hash)?;
        let height = block.header.height;
        if height == 0 {
            return Err(corrupt("cannot roll back genesis").into());
        }
        let undo_bytes = self
            .store
            .get(Column::Undo, &hash.0)?
            .ok_or_else(|| corrupt("missing undo"))?;
        let undo: Vec<[u8; 32]> = codec::decode(&undo_bytes).map_err(corrupt)?;
        let mut batch = WriteBatch::default();
        batch.delete_range(
            Column::StateNodes,
            version_start(height),
            version_start(height.saturating_add(1)),
        );
        for key in undo {
            batch.delete(
                Column::StateValues,
                value_version_key(&KeyHash(key), height),
            );
        }
        batch.delete(Column::Undo, hash.0);
        for tx_hash in &tx_hashes {
            batch.delete(Column::TxIndex, tx_hash.0);
        }
        batch.delete(Column::BestChain, height.to_be_bytes());
        batch.put(Column::Meta, META_TIP, block.header.parent.0);
        self.store.write(batch)?;
        self.best.pop();
        self.best_changes = self.best_changes.wrapping_add(1);
        Ok((block, tx_hashes))
    }

    /// Makes `new_tip` the tip: rolls back to the fork point and connects its branch. If a
    /// block of the branch turns out invalid, the branch from it on is marked invalid and the
    /// previous best chain is restored. Returns how many blocks were rolled back.
    pub(super) fn reorg_to(
        &mut self,
        new_tip: Hash,
        root: Option<&Chain>,
    ) -> Result<u64, ChainError> {
        let mut branch = Vec::new();
        let mut cursor = new_tip;
        loop {
            let entry = self
                .index
                .get(&cursor)
                .ok_or_else(|| corrupt("branch not indexed"))?;
            let h = usize::try_from(entry.header.height).map_err(|_| corrupt("height"))?;
            if self.best.get(h) == Some(&cursor) {
                break;
            }
            branch.push(cursor);
            cursor = entry.header.parent;
        }
        branch.reverse();
        let fork = cursor;
        let mut rolled_back = Vec::new();
        while self.tip_hash() != fork {
            rolled_back.push(self.disconnect_tip()?);
        }
        let mut failure = None;
        let mut pending = None;
        for hash in &branch {
            let (block, tx_hashes) = self.read_block(hash)?;
            match self.connect(&block, &tx_hashes, WriteBatch::default(), root) {
                Ok(()) => {}
                Err(ChainError::Block(e)) => {
                    failure = Some((*hash, Some(e)));
                    break;
                }
                // Not the branch's fault (its relay parent is not usable now, or the store
                // failed): back to the old tip, nothing marked invalid.
                Err(e) => {
                    failure = Some((*hash, None));
                    pending = Some(e);
                    break;
                }
            }
        }
        if let Some((bad, error)) = failure {
            if error.is_some() {
                self.mark_invalid_from(bad)?;
            }
            while self.tip_hash() != fork {
                self.disconnect_tip()?;
            }
            for (block, tx_hashes) in rolled_back.iter().rev() {
                self.connect(block, tx_hashes, WriteBatch::default(), root)?;
            }
            return Err(match (error, pending) {
                (Some(e), _) => e.into(),
                (None, Some(e)) => e,
                (None, None) => corrupt("a failed reorg without an error").into(),
            });
        }
        let count = rolled_back.len() as u64;
        // Transactions of the abandoned branch go back to the mempool if still valid there.
        for (block, _) in rolled_back {
            for tx in block.transactions {
                let _ = self.submit_transaction_with(tx, root);
            }
        }
        Ok(count)
    }

    /// Marks `bad` and every indexed descendant invalid, in memory and on disk.
    fn mark_invalid_from(&mut self, bad: Hash) -> Result<(), ChainError> {
        let mut doomed = vec![bad];
        let mut frontier = vec![bad];
        while let Some(parent) = frontier.pop() {
            #[expect(clippy::disallowed_methods, reason = "collected, then sorted")]
            let mut children: Vec<Hash> = self
                .index
                .iter()
                .filter(|(_, e)| e.header.parent == parent)
                .map(|(h, _)| *h)
                .collect();
            children.sort_unstable();
            frontier.extend(&children);
            doomed.extend(children);
        }
        let mut batch = WriteBatch::default();
        for hash in doomed {
            if let Some(entry) = self.index.get_mut(&hash) {
                entry.meta.status = BlockStatus::Invalid;
                batch.put(Column::BlockMeta, hash.0, codec::encode(&entry.meta));
            }
        }
        self.store.write(batch)?;
        Ok(())
    }
}
