//! The relayer draw: given the lineup proof's hash as seed and the staked relayers, a
//! deterministic draw without replacement of `count` relayers, each pick weighted by
//! `stake × reputation_ppm` (`bitverse_pricing::draw_weight`).
//!
//! **Canonical order.** Candidates are sorted by account first, so the lineup is a function of
//! the *set* of relayers, whatever order root state lists them in. A duplicate is refused.
//!
//! **Eligibility.** A candidate is drawn only if it has stake and some reputation
//! (`bitverse_pricing::is_eligible_relayer`, the same rule the quote uses) and is not excluded
//! (the offerer and the requester: nobody checks their own work or pays themselves to).
//!
//! **Randomness.** Pick `i` (from 0) draws a number below the remaining total weight `W` from
//! `x = H_tagged("bitverse lineup draw v1", seed ‖ i ‖ attempt)` read as a little-endian
//! `u128` (its first 16 bytes): `x` is rejected when it falls in the short final stretch
//! `x < 2^128 mod W` (Lemire's rule), so `x mod W` is exactly uniform; a rejection retries with
//! `attempt + 1`. The chance of one rejection is below `W / 2^128`, negligible for any real
//! stake; after [`DRAW_ATTEMPTS_MAX`] rejections in a row (probability below 2^-64 even at the
//! largest weights) the draw fails, deterministically for everyone.
//!
//! **Pick.** The number selects the candidate whose stretch of the cumulative weights (in
//! account order) contains it; its weight is then removed from the total, so nobody is drawn
//! twice. The lineup's order is the draw's order: the first drawn relays first.

use bitverse_pricing::{
    HOPS_MAX, LedgerParams, RELAYERS_MAX, StakedNode, draw_weight, is_eligible_relayer,
};
use bitverse_primitives::{AccountId, Amount, Hash};

use crate::LineupError;

/// Rejections in a row after which a draw fails (see the module docs).
pub const DRAW_ATTEMPTS_MAX: u32 = 64;

/// A staked relayer as the draw sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayerCandidate {
    /// The relayer's account.
    pub account: AccountId,
    /// Its relayer stake.
    pub stake: Amount,
    /// Its reputation from the ledger at the bounty's height
    /// (`NodeEstimate::reputation_ppm` of its `TaskKind::Relay` record).
    pub reputation_ppm: u32,
}

impl RelayerCandidate {
    /// The candidate a staked relayer (as the quote sees it) is at `height`: its reputation is
    /// that of its record decayed to `height`, so the draw weighs exactly what the quote read.
    pub fn at_height(
        relayer: &StakedNode,
        height: u64,
        ledger: &LedgerParams,
    ) -> Result<RelayerCandidate, LineupError> {
        let estimate = relayer
            .record
            .estimate_at(height, ledger)
            .map_err(LineupError::Ledger)?;
        Ok(RelayerCandidate {
            account: relayer.account,
            stake: relayer.stake,
            reputation_ppm: estimate.reputation_ppm(),
        })
    }
}

/// A number uniform in `0..bound` (for `bound > 0`) for pick `index`, or `None` after
/// [`DRAW_ATTEMPTS_MAX`] rejections.
fn uniform_below(seed: &Hash, index: u32, bound: u128) -> Option<u128> {
    uniform_from(bound, |attempt| {
        let hash = Hash::tagged(
            "bitverse lineup draw v1",
            &[&seed.0, &index.to_le_bytes(), &attempt.to_le_bytes()],
        );
        hash.0
            .first_chunk::<16>()
            .map_or(0, |bytes| u128::from_le_bytes(*bytes))
    })
}

/// Lemire's rejection rule over the samples `sample(0), sample(1), …`: the first sample at or
/// above `2^128 mod bound`, reduced mod `bound`, or `None` after [`DRAW_ATTEMPTS_MAX`].
fn uniform_from(bound: u128, sample: impl Fn(u32) -> u128) -> Option<u128> {
    // 2^128 mod bound, computed as (2^128 − bound) mod bound in wrapping arithmetic.
    let rejected_below = bound.wrapping_neg().checked_rem(bound)?;
    (0..DRAW_ATTEMPTS_MAX)
        .map(sample)
        .find(|x| *x >= rejected_below)
        .and_then(|x| x.checked_rem(bound))
}

/// Draws `count` relayers from `candidates` (see the module docs), never one in `excluded`.
/// The lineup comes back in relay order.
pub fn draw_lineup(
    seed: &Hash,
    candidates: &[RelayerCandidate],
    excluded: &[AccountId],
    count: usize,
) -> Result<Vec<AccountId>, LineupError> {
    if count > usize::from(HOPS_MAX) {
        return Err(LineupError::LineupTooLong {
            requested: count,
            max: usize::from(HOPS_MAX),
        });
    }
    if candidates.len() > RELAYERS_MAX {
        return Err(LineupError::TooManyCandidates {
            count: candidates.len(),
            max: RELAYERS_MAX,
        });
    }
    let mut sorted: Vec<&RelayerCandidate> = candidates.iter().collect();
    sorted.sort_unstable_by_key(|candidate| candidate.account);
    for pair in sorted.windows(2) {
        if let [a, b] = pair
            && a.account == b.account
        {
            return Err(LineupError::DuplicateCandidate(a.account));
        }
    }

    let mut pool: Vec<(AccountId, u128)> = Vec::new();
    let mut total: u128 = 0;
    for candidate in sorted {
        if excluded.contains(&candidate.account)
            || !is_eligible_relayer(candidate.stake, candidate.reputation_ppm)
        {
            continue;
        }
        let weight = draw_weight(candidate.stake, candidate.reputation_ppm)
            .ok_or(LineupError::WeightOverflow)?;
        total = total
            .checked_add(weight)
            .ok_or(LineupError::WeightOverflow)?;
        pool.push((candidate.account, weight));
    }
    if pool.len() < count {
        return Err(LineupError::NotEnoughRelayers {
            requested: count,
            eligible: pool.len(),
        });
    }

    let mut lineup = Vec::with_capacity(count);
    for index in 0..count {
        let index = u32::try_from(index).map_err(|_| LineupError::DrawExhausted)?;
        let target = uniform_below(seed, index, total).ok_or(LineupError::DrawExhausted)?;
        // The candidate whose stretch [cumulative, cumulative + weight) holds the target.
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
        // The target is below the total, the sum of the remaining weights, so a pick exists.
        let (position, account, weight) = picked.ok_or(LineupError::DrawExhausted)?;
        if let Some(slot) = pool.get_mut(position) {
            slot.1 = 0;
        }
        total = total.saturating_sub(weight);
        lineup.push(account);
    }
    Ok(lineup)
}

/// Checks that `claimed` is exactly the lineup the draw gives for these arguments (in order).
pub fn check_lineup(
    seed: &Hash,
    candidates: &[RelayerCandidate],
    excluded: &[AccountId],
    claimed: &[AccountId],
) -> Result<(), LineupError> {
    let drawn = draw_lineup(seed, candidates, excluded, claimed.len())?;
    if drawn == claimed {
        Ok(())
    } else {
        Err(LineupError::LineupMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn candidate(n: u16, stake: u128, reputation_ppm: u32) -> RelayerCandidate {
        let mut account = [0u8; 32];
        account[..2].copy_from_slice(&n.to_be_bytes());
        RelayerCandidate {
            account: AccountId(account),
            stake: Amount(stake),
            reputation_ppm,
        }
    }

    fn candidates() -> impl Strategy<Value = Vec<RelayerCandidate>> {
        proptest::collection::vec((0u128..1_000, 0u32..=1_000_000), 0..40).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (stake, rep))| candidate(u16::try_from(i).unwrap(), stake, rep))
                .collect()
        })
    }

    #[test]
    fn the_draw_is_the_same_whatever_the_candidates_order() {
        let pool: Vec<_> = (0..50)
            .map(|i| candidate(i, 100 + u128::from(i), 900_000))
            .collect();
        let mut reversed = pool.clone();
        reversed.reverse();
        let seed = Hash::digest(b"seed");
        let a = draw_lineup(&seed, &pool, &[], 3).unwrap();
        assert_eq!(a, draw_lineup(&seed, &reversed, &[], 3).unwrap());
        assert_eq!(check_lineup(&seed, &reversed, &[], &a), Ok(()));
        let mut other = a.clone();
        other.swap(0, 1);
        assert_eq!(
            check_lineup(&seed, &pool, &[], &other),
            Err(LineupError::LineupMismatch)
        );
    }

    #[test]
    fn excluded_unstaked_and_reputationless_relayers_are_never_drawn() {
        let pool = [
            candidate(1, 100, 500_000),
            candidate(2, 0, 1_000_000),
            candidate(3, 100, 0),
            candidate(4, 100, 500_000),
        ];
        let excluded = [pool[0].account];
        for i in 0..200u32 {
            let seed = Hash::digest(&i.to_le_bytes());
            assert_eq!(
                draw_lineup(&seed, &pool, &excluded, 1).unwrap(),
                vec![pool[3].account]
            );
        }
        assert_eq!(
            draw_lineup(&Hash::ZERO, &pool, &excluded, 2),
            Err(LineupError::NotEnoughRelayers {
                requested: 2,
                eligible: 1
            })
        );
    }

    #[test]
    fn duplicates_oversized_sets_long_lineups_and_overflowing_weights_are_refused() {
        let dup = [candidate(1, 1, 1), candidate(1, 2, 2)];
        assert_eq!(
            draw_lineup(&Hash::ZERO, &dup, &[], 1),
            Err(LineupError::DuplicateCandidate(dup[0].account))
        );
        assert!(matches!(
            draw_lineup(&Hash::ZERO, &[], &[], usize::from(HOPS_MAX) + 1),
            Err(LineupError::LineupTooLong { .. })
        ));
        let many = vec![candidate(1, 1, 1); RELAYERS_MAX + 1];
        assert!(matches!(
            draw_lineup(&Hash::ZERO, &many, &[], 1),
            Err(LineupError::TooManyCandidates { .. })
        ));
        let huge = [
            candidate(1, u128::MAX / 1_000_000, 1_000_000),
            candidate(2, u128::MAX / 1_000_000, 1_000_000),
        ];
        assert_eq!(
            draw_lineup(&Hash::ZERO, &huge, &[], 1),
            Err(LineupError::WeightOverflow)
        );
    }

    #[test]
    fn picks_follow_the_weights() {
        // Weights 1 : 3 : 6 (stake × reputation). Over 3 000 seeds the first pick should land
        // near 300 : 900 : 1 800; a bias of the draw toward order or stake alone would not.
        let pool = [
            candidate(1, 1, 1_000_000),
            candidate(2, 6, 500_000),
            candidate(3, 6, 1_000_000),
        ];
        let mut counts = [0u32; 3];
        for i in 0..3_000u32 {
            let seed = Hash::digest(&i.to_le_bytes());
            let first = draw_lineup(&seed, &pool, &[], 1).unwrap()[0];
            let slot = pool.iter().position(|c| c.account == first).unwrap();
            counts[slot] += 1;
        }
        // Binomial standard deviations are about 16, 25 and 27: allow five of them.
        assert!((220..=380).contains(&counts[0]), "{counts:?}");
        assert!((775..=1_025).contains(&counts[1]), "{counts:?}");
        assert!((1_665..=1_935).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn candidates_take_their_reputation_from_the_decayed_record() {
        use bitverse_pricing::{EVENT_WEIGHT, ReliabilityRecord};
        let ledger = LedgerParams::DEFAULT;
        let relayer = StakedNode {
            account: AccountId([5; 32]),
            stake: Amount(77),
            record: ReliabilityRecord {
                successes: 95 * EVENT_WEIGHT,
                failures: 0,
                latency_ms_total: 0,
                updated_at_height: 10,
            },
        };
        let candidate = RelayerCandidate::at_height(&relayer, 10, &ledger).unwrap();
        // (0 + 1) / (95 + 5) failing: reputation 990 000.
        assert_eq!(candidate.reputation_ppm, 990_000);
        assert_eq!(candidate.stake, Amount(77));
        assert!(matches!(
            RelayerCandidate::at_height(&relayer, 9, &ledger),
            Err(LineupError::Ledger(_))
        ));
    }

    #[test]
    fn the_uniform_sampler_rejects_the_final_stretch() {
        // With a bound of 2^127 + 1, 2^128 mod bound = 2^127 - 1: half the outputs are
        // rejected, and what remains maps uniformly.
        let bound = (1u128 << 127) + 1;
        for i in 0..100 {
            let x = uniform_below(&Hash::digest(&[i]), 0, bound).unwrap();
            assert!(x < bound);
        }
        assert_eq!(uniform_below(&Hash::ZERO, 0, 1), Some(0));
    }

    #[test]
    fn the_sampler_gives_up_after_its_attempts_and_accepts_the_first_good_sample() {
        let bound = (1u128 << 127) + 1;
        let rejected_below = (1u128 << 127) - 1;
        let calls = std::cell::Cell::new(0u32);
        let always_rejected = |_| {
            calls.set(calls.get() + 1);
            rejected_below - 1
        };
        assert_eq!(uniform_from(bound, always_rejected), None);
        assert_eq!(calls.get(), DRAW_ATTEMPTS_MAX);
        // The last attempt still counts.
        let last_good = |attempt| {
            if attempt == DRAW_ATTEMPTS_MAX - 1 {
                bound + 5
            } else {
                0
            }
        };
        assert_eq!(uniform_from(bound, last_good), Some(5));
        assert_eq!(uniform_from(0, |_| 7), None);
    }

    proptest! {
        #[test]
        fn the_draw_is_deterministic_and_a_subset_without_repeats_of_the_eligible(
            pool in candidates(), seed in any::<[u8; 32]>(), count in 0usize..=8, excluded_index in any::<proptest::sample::Index>(),
        ) {
            let seed = Hash(seed);
            let excluded: Vec<AccountId> = if pool.is_empty() { vec![] } else { vec![pool[excluded_index.index(pool.len())].account] };
            let eligible: BTreeSet<AccountId> = pool
                .iter()
                .filter(|c| c.stake.0 > 0 && c.reputation_ppm > 0 && !excluded.contains(&c.account))
                .map(|c| c.account)
                .collect();
            let drawn = draw_lineup(&seed, &pool, &excluded, count);
            prop_assert_eq!(&drawn, &draw_lineup(&seed, &pool, &excluded, count));
            match drawn {
                Ok(lineup) => {
                    prop_assert_eq!(lineup.len(), count);
                    let distinct: BTreeSet<AccountId> = lineup.iter().copied().collect();
                    prop_assert_eq!(distinct.len(), count);
                    prop_assert!(distinct.is_subset(&eligible));
                }
                Err(error) => prop_assert_eq!(error, LineupError::NotEnoughRelayers { requested: count, eligible: eligible.len() }),
            }
        }

        #[test]
        fn drawing_everyone_is_a_permutation_of_the_eligible(pool in candidates(), seed in any::<[u8; 32]>()) {
            let eligible: BTreeSet<AccountId> = pool.iter().filter(|c| c.stake.0 > 0 && c.reputation_ppm > 0).map(|c| c.account).collect();
            let count = eligible.len().min(usize::from(HOPS_MAX));
            let lineup = draw_lineup(&Hash(seed), &pool, &[], count).unwrap();
            let drawn: BTreeSet<AccountId> = lineup.iter().copied().collect();
            prop_assert_eq!(drawn.len(), count);
            if eligible.len() <= usize::from(HOPS_MAX) {
                prop_assert_eq!(drawn, eligible);
            }
        }

        #[test]
        fn a_shorter_lineup_is_a_prefix_of_a_longer_one(pool in candidates(), seed in any::<[u8; 32]>(), count in 0usize..8) {
            if let (Ok(short), Ok(long)) = (draw_lineup(&Hash(seed), &pool, &[], count), draw_lineup(&Hash(seed), &pool, &[], count + 1)) {
                prop_assert_eq!(&long[..count], &short[..]);
            }
        }
    }
}
