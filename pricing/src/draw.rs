//! A generic weighted draw without replacement: given a seed, a domain tag and candidates
//! with weights, `count` distinct candidates, each pick weighted by what is left. The root's
//! placement of blob shards on storers uses it (`blocktree::blob`), weights being
//! [`crate::draw_weight`] of stake and reputation.
//!
//! **Canonical order.** Candidates are sorted by account first, so the draw is a function of
//! the *set* of candidates, whatever order they come in. A duplicate account is refused.
//!
//! **Randomness.** Pick `i` (from 0) draws a number below the remaining total weight `W` from
//! `x = H_tagged(tag, seed ‖ i ‖ attempt)` read as a little-endian `u128` (its first 16
//! bytes), rejected when `x < 2^128 mod W` (Lemire's rule) so that `x mod W` is exactly
//! uniform; a rejection retries with `attempt + 1`, at most [`WEIGHTED_DRAW_ATTEMPTS_MAX`]
//! times (probability below 2^-64 even at the largest weights), after which the draw fails,
//! deterministically for everyone. The number selects the candidate whose stretch of the
//! cumulative weights (in account order) contains it; its weight then leaves the total.
//!
//! Weight-zero candidates are never drawn. Pure and total: no panics on any input.

use bitverse_primitives::{AccountId, Hash};

/// Rejections in a row after which a draw fails.
pub const WEIGHTED_DRAW_ATTEMPTS_MAX: u32 = 64;

/// The most candidates a draw takes: a staked registry's bound (1,000) with room to spare.
/// Bounds the work of a draw at `count × WEIGHTED_DRAW_CANDIDATES_MAX` steps.
pub const WEIGHTED_DRAW_CANDIDATES_MAX: usize = 4_096;

/// Why a draw gave nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawError {
    /// Fewer candidates of positive weight than asked for.
    #[error("{requested} candidates asked for, {eligible} have a weight")]
    NotEnough {
        /// Asked for.
        requested: usize,
        /// Candidates of positive weight.
        eligible: usize,
    },
    /// More candidates than [`WEIGHTED_DRAW_CANDIDATES_MAX`].
    #[error("{count} candidates exceed the draw's limit of {max}")]
    TooManyCandidates {
        /// Given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The same account twice among the candidates.
    #[error("candidate {0} appears twice")]
    Duplicate(AccountId),
    /// The weights' sum does not fit in 128 bits.
    #[error("the candidates' weights overflow")]
    WeightOverflow,
    /// [`WEIGHTED_DRAW_ATTEMPTS_MAX`] rejections in a row.
    #[error("the draw was rejected {WEIGHTED_DRAW_ATTEMPTS_MAX} times in a row")]
    Exhausted,
}

/// A number uniform in `0..bound` for pick `index`, or `None` after
/// [`WEIGHTED_DRAW_ATTEMPTS_MAX`] rejections (or for `bound == 0`).
fn uniform_below(tag: &str, seed: &Hash, index: u32, bound: u128) -> Option<u128> {
    // 2^128 mod bound, as (2^128 − bound) mod bound in wrapping arithmetic.
    let rejected_below = bound.wrapping_neg().checked_rem(bound)?;
    (0..WEIGHTED_DRAW_ATTEMPTS_MAX)
        .map(|attempt| {
            let hash = Hash::tagged(
                tag,
                &[&seed.0, &index.to_le_bytes(), &attempt.to_le_bytes()],
            );
            hash.0
                .first_chunk::<16>()
                .map_or(0, |bytes| u128::from_le_bytes(*bytes))
        })
        .find(|x| *x >= rejected_below)
        .and_then(|x| x.checked_rem(bound))
}

/// Draws `count` distinct accounts from `candidates` (account, weight), each pick weighted by
/// the weights left (see the module docs), in draw order.
pub fn draw_weighted_distinct(
    tag: &str,
    seed: &Hash,
    candidates: &[(AccountId, u128)],
    count: usize,
) -> Result<Vec<AccountId>, DrawError> {
    if candidates.len() > WEIGHTED_DRAW_CANDIDATES_MAX {
        return Err(DrawError::TooManyCandidates {
            count: candidates.len(),
            max: WEIGHTED_DRAW_CANDIDATES_MAX,
        });
    }
    let mut pool: Vec<(AccountId, u128)> = candidates
        .iter()
        .filter(|(_, weight)| *weight > 0)
        .copied()
        .collect();
    pool.sort_unstable_by_key(|(account, _)| *account);
    for pair in pool.windows(2) {
        if let [a, b] = pair
            && a.0 == b.0
        {
            return Err(DrawError::Duplicate(a.0));
        }
    }
    if pool.len() < count {
        return Err(DrawError::NotEnough {
            requested: count,
            eligible: pool.len(),
        });
    }
    let mut total: u128 = 0;
    for (_, weight) in &pool {
        total = total
            .checked_add(*weight)
            .ok_or(DrawError::WeightOverflow)?;
    }
    let mut drawn = Vec::with_capacity(count);
    for index in 0..count {
        let index = u32::try_from(index).map_err(|_| DrawError::Exhausted)?;
        let target = uniform_below(tag, seed, index, total).ok_or(DrawError::Exhausted)?;
        let mut cumulative: u128 = 0;
        let mut picked = None;
        for (position, (account, weight)) in pool.iter().enumerate() {
            let end = cumulative.saturating_add(*weight);
            if target < end {
                picked = Some((position, *account, *weight));
                break;
            }
            cumulative = end;
        }
        // The target is below the sum of the weights left, so a pick exists.
        let (position, account, weight) = picked.ok_or(DrawError::Exhausted)?;
        if let Some(slot) = pool.get_mut(position) {
            slot.1 = 0;
        }
        total = total.saturating_sub(weight);
        drawn.push(account);
    }
    Ok(drawn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const TAG: &str = "bitverse test draw v1";

    fn account(n: u16) -> AccountId {
        let mut bytes = [0u8; 32];
        bytes[..2].copy_from_slice(&n.to_be_bytes());
        AccountId(bytes)
    }

    #[test]
    fn a_heavier_candidate_is_drawn_about_as_often_as_its_weight_says() {
        // 3 : 1 weights, one pick, 4,000 seeds: the heavy one about 3,000 times.
        let candidates = [(account(1), 3u128), (account(2), 1u128)];
        let heavy = (0u32..4_000)
            .filter(|i| {
                let seed = Hash::digest(&i.to_le_bytes());
                draw_weighted_distinct(TAG, &seed, &candidates, 1).unwrap() == [account(1)]
            })
            .count();
        assert!((2_850..=3_150).contains(&heavy), "{heavy}");
    }

    #[test]
    fn too_few_weighted_candidates_or_a_duplicate_are_refused() {
        let seed = Hash::digest(b"seed");
        let candidates = [(account(1), 5), (account(2), 0)];
        assert_eq!(
            draw_weighted_distinct(TAG, &seed, &candidates, 2),
            Err(DrawError::NotEnough {
                requested: 2,
                eligible: 1
            })
        );
        assert_eq!(
            draw_weighted_distinct(TAG, &seed, &[(account(1), 5), (account(1), 6)], 1),
            Err(DrawError::Duplicate(account(1)))
        );
        assert_eq!(
            draw_weighted_distinct(TAG, &seed, &[(account(1), u128::MAX), (account(2), 1)], 1),
            Err(DrawError::WeightOverflow)
        );
        let many: Vec<_> = (0..=WEIGHTED_DRAW_CANDIDATES_MAX as u16)
            .map(|n| (account(n), 1))
            .collect();
        assert!(matches!(
            draw_weighted_distinct(TAG, &seed, &many, 1),
            Err(DrawError::TooManyCandidates { .. })
        ));
    }

    proptest! {
        #[test]
        fn a_draw_is_distinct_deterministic_order_free_and_never_panics(
            weights in proptest::collection::vec(0u128..1u128 << 100, 0..80),
            count in 0usize..70,
            seed in any::<[u8; 32]>(),
            rotate in any::<usize>(),
        ) {
            let seed = Hash(seed);
            let candidates: Vec<_> = weights
                .iter()
                .enumerate()
                .map(|(i, w)| (account(i as u16), *w))
                .collect();
            let first = draw_weighted_distinct(TAG, &seed, &candidates, count);
            let mut shuffled = candidates.clone();
            if !shuffled.is_empty() {
                let by = rotate % shuffled.len();
                shuffled.rotate_left(by);
            }
            prop_assert_eq!(&first, &draw_weighted_distinct(TAG, &seed, &shuffled, count));
            let eligible = weights.iter().filter(|w| **w > 0).count();
            match first {
                Ok(drawn) => {
                    prop_assert_eq!(drawn.len(), count);
                    let distinct: BTreeSet<_> = drawn.iter().collect();
                    prop_assert_eq!(distinct.len(), count);
                    for account in &drawn {
                        let weight = candidates.iter().find(|(a, _)| a == account).unwrap().1;
                        prop_assert!(weight > 0);
                    }
                }
                Err(e) => prop_assert_eq!(
                    e,
                    DrawError::NotEnough { requested: count, eligible }
                ),
            }
        }
    }
}
