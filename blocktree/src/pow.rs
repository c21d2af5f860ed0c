//! Proof-of-work rules that depend on past blocks: difficulty retargeting and median time past.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

use crate::params::ChainParams;

/// A retargeting step may change difficulty by at most this factor either way, so that a burst
/// of odd timestamps cannot swing it wildly.
pub const RETARGET_FACTOR_MAX: u64 = 4;

/// The difficulty the block after `parent` must have.
///
/// `window_start` is the ancestor `retarget_window_blocks` before the parent (or genesis if the
/// chain is shorter), as `(height, time_ms)`; `parent` likewise with its difficulty. The new
/// difficulty scales the parent's by how much faster or slower than the target interval the
/// window's blocks came, clamped to [`RETARGET_FACTOR_MAX`] and to the minimum. Integers only.
pub fn next_difficulty(
    params: &ChainParams,
    parent_height: u64,
    parent_time_ms: u64,
    parent_difficulty: u64,
    window_start: (u64, u64),
) -> u64 {
    if params.difficulty_fixed {
        return params.difficulty_min;
    }
    let (start_height, start_time_ms) = window_start;
    let blocks = parent_height.saturating_sub(start_height);
    if blocks == 0 {
        return params.difficulty_initial.max(params.difficulty_min);
    }
    let expected_ms =
        u128::from(params.block_interval_target_ms).saturating_mul(u128::from(blocks));
    let expected_ms = expected_ms.max(1);
    let actual_ms = u128::from(parent_time_ms.saturating_sub(start_time_ms)).clamp(
        expected_ms
            .checked_div(u128::from(RETARGET_FACTOR_MAX))
            .unwrap_or(0),
        expected_ms.saturating_mul(u128::from(RETARGET_FACTOR_MAX)),
    );
    let actual_ms = actual_ms.max(1);
    let scaled = u128::from(parent_difficulty)
        .saturating_mul(expected_ms)
        .checked_div(actual_ms)
        .unwrap_or(u128::MAX);
    u64::try_from(scaled)
        .unwrap_or(u64::MAX)
        .max(params.difficulty_min)
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

    #[test]
    fn retarget_steers_toward_the_interval_within_bounds() {
        let params = ChainParams::local();
        let window = params.retarget_window_blocks;
        let interval = params.block_interval_target_ms;
        // Blocks twice as fast as targeted: difficulty doubles.
        let fast = next_difficulty(&params, window, window * interval / 2, 1000, (0, 0));
        assert_eq!(fast, 2000);
        // Twice as slow: halves.
        let slow = next_difficulty(&params, window, window * interval * 2, 1000, (0, 0));
        assert_eq!(slow, 500);
        // Absurdly fast: clamped to 4x. Absurdly slow: clamped to 1/4, never below the minimum.
        assert_eq!(next_difficulty(&params, window, 1, 1000, (0, 0)), 4000);
        assert_eq!(
            next_difficulty(&params, window, u64::MAX, 1000, (0, 0)),
            250
        );
        assert_eq!(next_difficulty(&params, window, u64::MAX, 1, (0, 0)), 1);
        // On target: unchanged.
        assert_eq!(
            next_difficulty(&params, window, window * interval, 1000, (0, 0)),
            1000
        );
    }

    #[test]
    fn dev_difficulty_is_fixed_at_the_minimum() {
        let params = ChainParams::dev();
        assert_eq!(
            next_difficulty(&params, 100, 1, 77, (0, 0)),
            params.difficulty_min
        );
    }

    #[test]
    fn median_is_order_independent() {
        assert_eq!(median_time_ms(vec![5, 1, 3]), 3);
        assert_eq!(median_time_ms(vec![4, 1, 3, 2]), 2);
        assert_eq!(median_time_ms(vec![]), 0);
    }
}
