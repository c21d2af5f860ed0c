//! What headers-first sync needs of a chain (issue 4): reads of headers, blocks and work by
//! hash on any branch, and locators. Importing still goes through `import_block`, which
//! replays and validates everything.

use bitverse_primitives::Hash;

use super::{BlockStatus, Chain};
use crate::block::{Block, BlockHeader};
use crate::error::{BlockError, ChainError};
use crate::headers::HeaderChainChecker;

impl Chain {
    /// A checker of headers extending the block `hash` (on any branch), holding the ancestors
    /// the header rules need: what headers-first sync checks a peer's headers with.
    pub fn header_checker_from(&self, hash: &Hash) -> Result<HeaderChainChecker, ChainError> {
        let ancestors = self.rule_ancestors(hash)?;
        let entry = ancestors.first().ok_or(BlockError::UnknownParent(*hash))?;
        let work = entry.meta.cumulative_work;
        let oldest_first = ancestors.iter().rev().map(|entry| entry.header.clone());
        Ok(HeaderChainChecker::resume(
            &self.params,
            oldest_first,
            work,
        )?)
    }

    /// Whether the block index holds `hash`, on any branch, valid or not.
    pub fn knows_block(&self, hash: &Hash) -> bool {
        self.index.contains_key(hash)
    }

    /// Whether `hash` is stored and known to be invalid (it, or an ancestor, failed validation).
    pub fn is_known_invalid(&self, hash: &Hash) -> bool {
        self.index
            .get(hash)
            .is_some_and(|e| e.meta.status == BlockStatus::Invalid)
    }

    /// A stored header by hash, on any branch.
    pub fn header_by_hash(&self, hash: &Hash) -> Option<BlockHeader> {
        self.index.get(hash).map(|e| e.header.clone())
    }

    /// The total work of the branch ending at `hash`, if it is stored.
    pub fn cumulative_work_of(&self, hash: &Hash) -> Option<u128> {
        self.index.get(hash).map(|e| e.meta.cumulative_work)
    }

    /// A stored block by hash, on any branch, read back from storage and checked.
    pub fn block_by_hash(&self, hash: &Hash) -> Result<Option<Block>, ChainError> {
        if !self.index.contains_key(hash) {
            return Ok(None);
        }
        Ok(Some(self.read_block(hash)?.0))
    }

    /// A best-chain locator, newest first: the tip and the 9 blocks before it, then hashes
    /// at exponentially growing distances, and genesis last. At most `hashes_max` hashes
    /// (at least the tip and genesis when `hashes_max >= 2`). A peer finds in it the last block
    /// both share, however far the two best chains have diverged.
    pub fn best_chain_locator(&self, hashes_max: usize) -> Vec<Hash> {
        let mut locator = Vec::new();
        if hashes_max == 0 {
            return locator;
        }
        let mut height = self.tip_height();
        let mut step = 1u64;
        loop {
            if height == 0 || locator.len().saturating_add(1) >= hashes_max {
                break;
            }
            if let Some(hash) = self.best_hash_at(height) {
                locator.push(*hash);
            }
            if locator.len() >= 10 {
                step = step.saturating_mul(2);
            }
            height = height.saturating_sub(step);
        }
        locator.push(self.genesis);
        locator
    }

    /// Up to `count_max` best-chain headers, oldest first, after the first hash of `locator`
    /// that is on this node's best chain (after genesis if none is).
    pub fn headers_after_locator(&self, locator: &[Hash], count_max: usize) -> Vec<BlockHeader> {
        let fork_height = locator
            .iter()
            .find_map(|hash| {
                let entry = self.index.get(hash)?;
                let height = usize::try_from(entry.header.height).ok()?;
                (self.best.get(height) == Some(hash)).then_some(height)
            })
            .unwrap_or(0);
        self.best
            .iter()
            .skip(fork_height.saturating_add(1))
            .take(count_max)
            .filter_map(|hash| self.index.get(hash).map(|e| e.header.clone()))
            .collect()
    }
}
