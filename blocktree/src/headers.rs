//! The header rules a full node, headers-first sync and a light client apply alike: linkage,
//! height, the difficulty the retarget rule demands (never the one a header states), proof of
//! work, median time past and the future-time limit. One copy, so that what a light client
//! accepts is exactly what a node would.

use std::collections::VecDeque;

use bitverse_primitives::{ChainId, Hash};

use crate::block::header::BlockHeader;
use crate::error::BlockError;
use crate::params::{ChainParams, DepthParams};
use crate::pow::{PastBlock, median_time_ms, next_difficulty};

/// What the block after a given parent must meet, derived from the parent's ancestors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRules {
    /// The difficulty retargeting demands.
    pub difficulty: u64,
    /// The median time past: the block's time must be later.
    pub median_time_ms: u64,
}

/// The parameters of `chain`'s depth, or the error for a depth the network does not have.
pub fn depth_params(params: &ChainParams, chain: ChainId) -> Result<&DepthParams, BlockError> {
    params
        .depth(chain.depth())
        .ok_or(BlockError::DepthNotAllowed {
            depth: chain.depth(),
            depth_max: params.depth_max(),
        })
}

/// How many headers, the parent first, [`rules_after`] looks at for a chain at `depth`.
pub fn ancestors_needed(params: &ChainParams, depth: &DepthParams) -> usize {
    let window = usize::try_from(depth.retarget_window_blocks).unwrap_or(usize::MAX);
    let median = usize::try_from(params.median_time_blocks).unwrap_or(usize::MAX);
    window.saturating_add(1).max(median)
}

/// The rules for the block after `ancestors[0]`: `ancestors` is the parent and its ancestors,
/// newest first, at least [`ancestors_needed`] of them or down to genesis.
pub fn rules_after<'a>(
    params: &ChainParams,
    depth: &DepthParams,
    ancestors: impl IntoIterator<Item = &'a BlockHeader>,
) -> HeaderRules {
    let past: Vec<PastBlock> = ancestors
        .into_iter()
        .take(ancestors_needed(params, depth))
        .map(PastBlock::of)
        .collect();
    rules_after_past(params, depth, &past)
}

/// [`rules_after`] from what the rules read of each ancestor (height, time, difficulty),
/// newest first: what a parent chain keeps of a child's anchored branch
/// (`crate::anchoring`) instead of whole headers.
pub fn rules_after_past(
    params: &ChainParams,
    depth: &DepthParams,
    past: &[PastBlock],
) -> HeaderRules {
    let median_blocks = usize::try_from(params.median_time_blocks).unwrap_or(usize::MAX);
    let needed = ancestors_needed(params, depth);
    let past = past.get(..needed.min(past.len())).unwrap_or(past);
    let times = past
        .iter()
        .take(median_blocks)
        .map(|block| block.time_ms)
        .collect();
    HeaderRules {
        difficulty: next_difficulty(depth, params.difficulty_fixed, past),
        median_time_ms: median_time_ms(times),
    }
}

/// Checks `header` as the child of `parent` under `rules`; `now_ms` is the checker's clock,
/// used only for the future-time limit. Returns the header's work (its difficulty).
pub fn check_header(
    params: &ChainParams,
    rules: &HeaderRules,
    parent: &BlockHeader,
    header: &BlockHeader,
    now_ms: u64,
) -> Result<u128, BlockError> {
    check_header_after(params, rules, &HeaderLink::of(parent), header, now_ms)
}

/// What a header's check needs of its parent: the chain, the hash it must name and the height
/// it must follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderLink {
    /// The parent's chain, which the header must be of.
    pub chain: ChainId,
    /// The parent's hash.
    pub hash: Hash,
    /// The parent's height.
    pub height: u64,
}

impl HeaderLink {
    /// What a child of `header` is checked against.
    pub fn of(header: &BlockHeader) -> HeaderLink {
        HeaderLink {
            chain: header.chain,
            hash: header.hash(),
            height: header.height,
        }
    }
}

/// [`check_header`] against a parent known by its [`HeaderLink`] only.
pub fn check_header_after(
    params: &ChainParams,
    rules: &HeaderRules,
    parent: &HeaderLink,
    header: &BlockHeader,
    now_ms: u64,
) -> Result<u128, BlockError> {
    if header.chain != parent.chain {
        return Err(BlockError::WrongChain {
            expected: parent.chain,
            got: header.chain,
        });
    }
    header.check_tree_fields()?;
    if header.parent != parent.hash {
        return Err(BlockError::UnknownParent(header.parent));
    }
    let expected_height = parent.height.saturating_add(1);
    if header.height != expected_height {
        return Err(BlockError::BadHeight {
            expected: expected_height,
            got: header.height,
        });
    }
    if header.difficulty != rules.difficulty {
        return Err(BlockError::BadDifficulty {
            expected: rules.difficulty,
            got: header.difficulty,
        });
    }
    if !header.meets_difficulty() {
        return Err(BlockError::InsufficientWork);
    }
    if header.time_ms <= rules.median_time_ms {
        return Err(BlockError::TimeTooOld {
            time_ms: header.time_ms,
            median_ms: rules.median_time_ms,
        });
    }
    if header.time_ms > now_ms.saturating_add(params.future_time_ms_max) {
        return Err(BlockError::TimeTooNew {
            time_ms: header.time_ms,
            now_ms,
            future_time_ms_max: params.future_time_ms_max,
        });
    }
    Ok(u128::from(header.difficulty))
}

/// A run of headers checked one after another by the full rules, keeping only the ancestors
/// the next check needs: what headers-first sync and a light client hold while they verify.
#[derive(Clone, Debug)]
pub struct HeaderChainChecker {
    params: ChainParams,
    depth: DepthParams,
    /// The newest headers, oldest first, at most [`ancestors_needed`].
    recent: VecDeque<BlockHeader>,
    cumulative_work: u128,
}

impl HeaderChainChecker {
    /// Starts from a header already trusted (genesis, or the tip of a chain checked before),
    /// with its ancestors: `trusted` is oldest first and ends at that header;
    /// `cumulative_work` is the work up to and including it.
    pub fn resume(
        params: &ChainParams,
        trusted: impl IntoIterator<Item = BlockHeader>,
        cumulative_work: u128,
    ) -> Result<HeaderChainChecker, BlockError> {
        let mut recent: VecDeque<BlockHeader> = trusted.into_iter().collect();
        let chain = recent
            .back()
            .map(|tip| tip.chain)
            .ok_or_else(|| BlockError::Malformed("no trusted header to start from".into()))?;
        let depth = depth_params(params, chain)?.clone();
        let needed = ancestors_needed(params, &depth);
        while recent.len() > needed {
            recent.pop_front();
        }
        Ok(HeaderChainChecker {
            params: params.clone(),
            depth,
            recent,
            cumulative_work,
        })
    }

    /// Checks `header` as the next one and keeps it; returns the cumulative work with it.
    pub fn push(&mut self, header: BlockHeader, now_ms: u64) -> Result<u128, BlockError> {
        let parent = self
            .recent
            .back()
            .ok_or_else(|| BlockError::Malformed("no header to extend".into()))?;
        let rules = rules_after(&self.params, &self.depth, self.recent.iter().rev());
        let work = check_header(&self.params, &rules, parent, &header, now_ms)?;
        self.cumulative_work = self.cumulative_work.saturating_add(work);
        self.recent.push_back(header);
        if self.recent.len() > ancestors_needed(&self.params, &self.depth) {
            self.recent.pop_front();
        }
        Ok(self.cumulative_work)
    }

    /// The newest header checked (or the trusted one, before any).
    pub fn tip(&self) -> Option<&BlockHeader> {
        self.recent.back()
    }

    /// The work of the chain up to [`Self::tip`].
    pub fn cumulative_work(&self) -> u128 {
        self.cumulative_work
    }

    /// The headers kept for the next check, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &BlockHeader> {
        self.recent.iter()
    }
}
