//! Proof-of-work rules that depend on past blocks: difficulty retargeting and median time past.

use crate::params::DepthParams;

/// A window's elapsed time counts as at least a quarter and at most four times what its blocks
/// should have taken, so that a burst of odd timestamps cannot swing difficulty wildly.
pub const RETARGET_FACTOR_MAX: u64 = 4;

/// One past block as retargeting sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct PastBlock {
    /// Its height.
    pub height: u64,
    /// Its time, as its miner claimed.
    pub time_ms: u64,
    /// Its difficulty.
    pub difficulty: u64,
}

impl PastBlock {
    /// What retargeting reads of `header`.
    pub fn of(header: &crate::block::header::BlockHeader) -> PastBlock {
        PastBlock {
            height: header.height,
            time_ms: header.time_ms,
            difficulty: header.difficulty,
        }
    }
}

/// The difficulty the block after `recent[0]` must have, by the window-average rule.
///
/// `recent` is the parent and its ancestors, newest first: at least
/// `retarget_window_blocks + 1` of them, or down to genesis. The window is the last
/// `n ≤ retarget_window_blocks` blocks after genesis (genesis's time is a constant of the
/// network, not a block's solve time, so it never starts a window). The next difficulty is the
/// window's mean difficulty scaled by how much faster or slower than the target interval its
/// blocks came: `Σ difficulty × target / elapsed`, the elapsed time clamped to
/// [`RETARGET_FACTOR_MAX`] either way. Each block's difficulty follows from the window's blocks,
/// not from the parent's difficulty alone, so errors never compound block over block. Before
/// there are two blocks after genesis, `difficulty_initial`. Integers only.
pub fn next_difficulty(depth: &DepthParams, fixed: bool, recent: &[PastBlock]) -> u64 {
    if fixed {
        return depth.difficulty_min;
    }
    let initial = depth.difficulty_initial.max(depth.difficulty_min);
    let window_blocks = usize::try_from(depth.retarget_window_blocks).unwrap_or(usize::MAX);
    // The parent back to the window's start, never genesis: at most window + 1 blocks.
    let window: Vec<&PastBlock> = recent
        .iter()
        .take_while(|block| block.height > 0)
        .take(window_blocks.saturating_add(1))
        .collect();
    let (Some(newest), Some(oldest)) = (window.first(), window.last()) else {
        return initial;
    };
    let intervals = window.len().saturating_sub(1);
    if intervals == 0 {
        return initial;
    }
    // Every block but the window's start was found in one of the window's intervals.
    let difficulty_sum = window.iter().take(intervals).fold(0u128, |sum, block| {
        sum.saturating_add(u128::from(block.difficulty))
    });
    let blocks = u64::try_from(intervals).unwrap_or(u64::MAX);
    let (newest_ms, oldest_ms) = (newest.time_ms, oldest.time_ms);
    let target_ms = u128::from(depth.block_interval_target_ms).max(1);
    let expected_ms = target_ms.saturating_mul(u128::from(blocks));
    let factor = u128::from(RETARGET_FACTOR_MAX);
    let elapsed_ms = u128::from(newest_ms.saturating_sub(oldest_ms))
        .clamp(
            expected_ms.checked_div(factor).unwrap_or(0),
            expected_ms.saturating_mul(factor),
        )
        .max(1);
    let next = difficulty_sum
        .saturating_mul(target_ms)
        .checked_div(elapsed_ms)
        .unwrap_or(u128::MAX);
    u64::try_from(next)
        .unwrap_or(u64::MAX)
        .max(depth.difficulty_min)
}

/// The median of block times (the lower median for an even count); 0 for none.
pub fn median_time_ms(mut times_ms: Vec<u64>) -> u64 {
    times_ms.sort_unstable();
    let middle = times_ms.len().saturating_sub(1) / 2;
    times_ms.get(middle).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ChainParams;

    /// `count` blocks after genesis, newest first, each `interval_ms` apart at `difficulty`.
    fn steady(count: u64, interval_ms: u64, difficulty: u64) -> Vec<PastBlock> {
        let genesis = PastBlock {
            height: 0,
            time_ms: 7,
            difficulty: 1,
        };
        let mut blocks: Vec<PastBlock> = (1..=count)
            .rev()
            .map(|height| PastBlock {
                height,
                time_ms: 1_000_000 + height * interval_ms,
                difficulty,
            })
            .collect();
        blocks.push(genesis);
        blocks
    }

    #[test]
    fn retarget_steers_toward_the_interval_within_bounds() {
        let params = ChainParams::local();
        let depth = &params.root;
        let window = depth.retarget_window_blocks;
        let interval = depth.block_interval_target_ms;
        // Blocks twice as fast as targeted: difficulty doubles.
        assert_eq!(
            next_difficulty(depth, false, &steady(window + 1, interval / 2, 1000)),
            2000
        );
        // Twice as slow: halves.
        assert_eq!(
            next_difficulty(depth, false, &steady(window + 1, interval * 2, 1000)),
            500
        );
        // All at once: clamped to 4x. Absurdly slow: 1/4, never below the minimum.
        assert_eq!(
            next_difficulty(depth, false, &steady(window + 1, 0, 1000)),
            4000
        );
        assert_eq!(
            next_difficulty(depth, false, &steady(window + 1, u64::MAX / 1000, 1000)),
            250
        );
        assert_eq!(
            next_difficulty(depth, false, &steady(window + 1, u64::MAX / 1000, 1)),
            1
        );
        // On target: unchanged; a shorter chain uses what it has.
        assert_eq!(
            next_difficulty(depth, false, &steady(window + 1, interval, 1000)),
            1000
        );
        assert_eq!(
            next_difficulty(depth, false, &steady(5, interval / 2, 1000)),
            2000
        );
    }

    #[test]
    fn genesis_time_never_starts_a_window() {
        // Genesis is months before the first block: counting that as a solve time would drive
        // difficulty to its floor (it did: 16 at height 19 on a fresh `local` network).
        let params = ChainParams::local();
        let depth = &params.root;
        assert_eq!(
            next_difficulty(depth, false, &steady(0, 0, 0)),
            depth.difficulty_initial
        );
        assert_eq!(
            next_difficulty(depth, false, &steady(1, 10, 4096)),
            depth.difficulty_initial
        );
        assert_eq!(
            next_difficulty(
                depth,
                false,
                &steady(2, depth.block_interval_target_ms, 4096)
            ),
            4096
        );
    }

    #[test]
    fn dev_difficulty_is_fixed_at_the_minimum() {
        let params = ChainParams::dev();
        assert_eq!(
            next_difficulty(&params.root, true, &steady(100, 1, 77)),
            params.root.difficulty_min
        );
    }

    #[test]
    fn median_is_order_independent() {
        assert_eq!(median_time_ms(vec![5, 1, 3]), 3);
        assert_eq!(median_time_ms(vec![4, 1, 3, 2]), 2);
        assert_eq!(median_time_ms(vec![]), 0);
    }
}
