//! Fork choice: the branch with the most work among those that may be best — on a data chain,
//! those extending the header its parent anchors last and naming relay parents on the root's
//! best chain — and re-evaluating the tip when the anchor floor or the root moves.

use bitverse_primitives::Hash;

use super::{BlockStatus, Chain, REEVALUATE_ATTEMPTS_MAX};
use crate::block::{Anchor, BlockHeader};
use crate::error::ChainError;

impl Chain {
    /// How many blocks were connected to or rolled back from the best chain since this chain
    /// was opened. A child reading its anchor from this chain's state passes it along with
    /// the anchor to [`Chain::settle`], so an older read never overwrites a newer one.
    pub fn best_changes(&self) -> u64 {
        self.best_changes
    }

    /// The header of this chain its parent's best chain anchors last, as last given to
    /// [`Chain::settle`].
    pub fn anchor_floor(&self) -> Option<Anchor> {
        self.anchor_floor.clone()
    }

    /// The anchor floor when this node does not hold the anchored block: fork choice cannot
    /// follow the parent until the block arrives, and sync must fetch it even from a branch
    /// lighter than this node's (whose own blocks nobody anchored).
    pub fn anchor_floor_missing(&self) -> Option<Anchor> {
        self.anchor_floor
            .as_ref()
            .filter(|floor| !self.index.contains_key(&floor.hash))
            .cloned()
    }

    /// Takes `floor`, this chain's anchor in its parent's best chain (read when the parent's
    /// [`Chain::best_changes`] was `parent_seq`), and moves the tip if the fork choice now
    /// wants another: the tip must extend the anchored header, then most work. With
    /// `root_reorged`, blocks whose relay parent left the root's best chain are also orphaned,
    /// and branches whose relay parents came back are reconsidered. Returns the blocks rolled
    /// back if the tip moved.
    pub fn settle(
        &mut self,
        floor: Option<Anchor>,
        parent_seq: u64,
        root: Option<&Chain>,
        root_reorged: bool,
    ) -> Result<Option<u64>, ChainError> {
        if self.chain_id.is_root() {
            return Ok(None);
        }
        let old = self.usable_floor(root);
        if parent_seq >= self.anchor_floor_seq {
            self.anchor_floor = floor;
            self.anchor_floor_seq = parent_seq;
        }
        let new = self.usable_floor(root);
        if !root_reorged {
            if old == new {
                return Ok(None);
            }
            // The floor moved forward along the best chain: the tip was the heaviest of a
            // larger set of branches that may be best and is in the smaller one, so it stays.
            let tip = self.tip_entry()?;
            let forward = new.is_some_and(|(_, new_height)| {
                old.is_none_or(|(old_hash, old_height)| {
                    new_height >= old_height && self.best_hash_at(old_height) == Some(&old_hash)
                })
            });
            if forward && self.may_be_best(&self.tip_hash(), &tip.header, root) {
                return Ok(None);
            }
        }
        self.reevaluate(root)
    }

    /// The anchor floor as `(hash, height)` when it can bind: the anchored block is stored
    /// here, not known invalid, and on the best chain or naming a relay parent on the root's
    /// best chain. Otherwise the floor is pending, and fork choice is by most work alone until
    /// the block arrives (its import re-evaluates the tip).
    fn usable_floor(&self, root: Option<&Chain>) -> Option<(Hash, u64)> {
        let floor = self.anchor_floor.as_ref()?;
        let entry = self.index.get(&floor.hash)?;
        if entry.meta.status == BlockStatus::Invalid || entry.header.height != floor.height {
            return None;
        }
        (self.best_hash_at(floor.height) == Some(&floor.hash)
            || self.relay_on_root_best(root, &entry.header))
        .then_some((floor.hash, floor.height))
    }

    /// Whether `header` names a relay parent on the root's best chain (always, for the root;
    /// and when the root is not given, which only a caller that connects nothing does).
    fn relay_on_root_best(&self, root: Option<&Chain>, header: &BlockHeader) -> bool {
        if self.chain_id.is_root() {
            return true;
        }
        let Some(root) = root else {
            return true;
        };
        root.index.get(&header.relay_parent).is_some_and(|entry| {
            root.best_hash_at(entry.header.height) == Some(&header.relay_parent)
        })
    }

    /// Whether the branch ending at block `hash` (with `header`, stored or not) may be this
    /// chain's best: with no usable anchor floor, any (connecting it judges the rest); with
    /// one, the branch contains it, and each of its stored blocks between the best chain (or
    /// the floor) and `hash` names a relay parent on the root's best chain and is not known
    /// invalid. The block's own relay parent is left to connecting it, which says why it
    /// cannot be judged yet. Walks back to the best chain or the floor's height, whichever
    /// comes first.
    pub(super) fn may_be_best(
        &self,
        hash: &Hash,
        header: &BlockHeader,
        root: Option<&Chain>,
    ) -> bool {
        let Some((floor_hash, floor_height)) = self.usable_floor(root) else {
            return true;
        };
        let mut at = *hash;
        let mut header = header;
        let mut first = true;
        loop {
            let height = header.height;
            if height < floor_height {
                return false;
            }
            if height == floor_height {
                return at == floor_hash;
            }
            if self.best_hash_at(height) == Some(&at) {
                return self.best_hash_at(floor_height) == Some(&floor_hash);
            }
            if !first && !self.relay_on_root_best(root, header) {
                return false;
            }
            first = false;
            let Some(parent) = self.index.get(&header.parent) else {
                return false;
            };
            if parent.meta.status == BlockStatus::Invalid {
                return false;
            }
            at = header.parent;
            header = &parent.header;
        }
    }

    /// Moves the tip to the best branch the rules allow now. First the best chain's blocks
    /// whose relay parent left the root's best chain are rolled back: orphaned, their writes
    /// offered to the mempool again (admitted if still valid against the new relay parent).
    /// Then the heaviest stored block that may be best is connected; if connecting fails, the
    /// next, at most [`REEVALUATE_ATTEMPTS_MAX`] times. With none, the tip stays. Returns the
    /// blocks rolled back if the tip moved.
    pub(super) fn reevaluate(&mut self, root: Option<&Chain>) -> Result<Option<u64>, ChainError> {
        let before = self.tip_hash();
        let mut orphaned = Vec::new();
        while self.tip_height() > 0 && !self.relay_on_root_best(root, &self.tip_entry()?.header) {
            orphaned.push(self.disconnect_tip()?);
        }
        let tip_hash = self.tip_hash();
        let tip = self.tip_entry()?;
        let tip_work = tip.meta.cumulative_work;
        let tip_may_be_best = self.may_be_best(&tip_hash, &tip.header, root);
        // The index is a hash map: collected, then ordered by work and hash, so every node
        // tries the same candidates in the same order.
        #[expect(
            clippy::disallowed_methods,
            reason = "collected, then sorted by work and hash"
        )]
        let mut candidates: Vec<(u128, Hash)> = self
            .index
            .iter()
            .filter(|(hash, entry)| {
                **hash != tip_hash
                    && entry.meta.status != BlockStatus::Invalid
                    && (!tip_may_be_best || entry.meta.cumulative_work > tip_work)
            })
            .map(|(hash, entry)| (entry.meta.cumulative_work, *hash))
            .collect();
        candidates.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut rolled_back = orphaned.len() as u64;
        let mut attempts = 0usize;
        let mut failure = None;
        for (_, candidate) in candidates {
            if attempts >= REEVALUATE_ATTEMPTS_MAX {
                break;
            }
            let Some(entry) = self.index.get(&candidate) else {
                continue;
            };
            if entry.meta.status == BlockStatus::Invalid
                || !self.relay_on_root_best(root, &entry.header)
                || !self.may_be_best(&candidate, &entry.header, root)
            {
                continue;
            }
            attempts = attempts.saturating_add(1);
            match self.reorg_to(candidate, root) {
                Ok(count) => {
                    rolled_back = rolled_back.saturating_add(count);
                    break;
                }
                // The branch was invalid (now marked so) or cannot be judged yet; the old tip
                // is back either way: try the next.
                Err(ChainError::Block(_) | ChainError::RelayPending(_)) => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        // Even when the store failed: the orphaned blocks are rolled back already.
        for (block, _) in orphaned {
            for tx in block.transactions {
                // A write the new branch holds, or no longer valid, is refused: that is fine.
                let _ = self.submit_transaction_with(tx, root);
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        Ok((self.tip_hash() != before).then_some(rolled_back))
    }

    /// The height of the last block `hash` shares with the best chain (its own height when it
    /// is on it), if `hash` is stored: how much of the best chain a header anchored above
    /// vouches for.
    pub fn best_ancestor_height(&self, hash: &Hash) -> Option<u64> {
        let mut at = *hash;
        loop {
            let entry = self.index.get(&at)?;
            if self.best_hash_at(entry.header.height) == Some(&at) {
                return Some(entry.header.height);
            }
            at = entry.header.parent;
        }
    }
}
