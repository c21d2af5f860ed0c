//! Fixed-point arithmetic for the ledger and quotes: parts per million for probabilities, and
//! a 10^18 scale for the forgetting factor raised to a power. Integers only, total on every
//! input (no panics, no overflow: every operation is checked or provably bounded).

/// One, in parts per million: probabilities and shares are integers in `0..=PPM_ONE`.
pub const PPM_ONE: u32 = 1_000_000;

/// One, in the 10^18 scale used for powers of the forgetting factor. Two such numbers of at most
/// one multiply to at most 10^36 < 2^128, so products never overflow.
pub(crate) const FIXED_ONE: u128 = 1_000_000_000_000_000_000;

/// [`FIXED_ONE`] units per part per million.
const FIXED_PER_PPM: u128 = 1_000_000_000_000;

/// `a * b / FIXED_ONE`, floored, for `a, b <= FIXED_ONE`.
fn mul_fixed(a: u128, b: u128) -> u128 {
    a.saturating_mul(b).checked_div(FIXED_ONE).unwrap_or(0)
}

/// `factor_ppm ^ periods` in [`FIXED_ONE`] units, floored at each step (square and multiply, so
/// at most 128 multiplications whatever `periods` is). `factor_ppm` above [`PPM_ONE`] is read as
/// [`PPM_ONE`]: retention never grows a record.
pub(crate) fn retention_fixed(factor_ppm: u32, periods: u64) -> u128 {
    let factor_ppm = factor_ppm.min(PPM_ONE);
    let mut base = u128::from(factor_ppm).saturating_mul(FIXED_PER_PPM);
    let mut result = FIXED_ONE;
    let mut remaining = periods;
    while remaining > 0 && result > 0 {
        if remaining & 1 == 1 {
            result = mul_fixed(result, base);
        }
        base = mul_fixed(base, base);
        remaining >>= 1;
    }
    result
}

/// `value * retention / FIXED_ONE`, floored, for `retention <= FIXED_ONE`: the result is at most
/// `value`, so it fits where `value` did.
pub(crate) fn retain(value: u64, retention: u128) -> u64 {
    let retained = u128::from(value)
        .saturating_mul(retention.min(FIXED_ONE))
        .checked_div(FIXED_ONE)
        .unwrap_or(0);
    u64::try_from(retained).unwrap_or(value)
}

/// `ceil(a * b / PPM_ONE)` for two probabilities in parts per million: the product of the
/// probabilities of two independent events, rounded up (so bounds built from it stay bounds).
pub(crate) fn ppm_mul_ceil(a: u32, b: u32) -> u32 {
    let product = u64::from(a.min(PPM_ONE)).saturating_mul(u64::from(b.min(PPM_ONE)));
    let rounded = product.div_ceil(u64::from(PPM_ONE));
    u32::try_from(rounded).unwrap_or(PPM_ONE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn retention_of_zero_periods_is_one_and_of_factor_one_stays_one() {
        assert_eq!(retention_fixed(900_000, 0), FIXED_ONE);
        assert_eq!(retention_fixed(PPM_ONE, u64::MAX), FIXED_ONE);
        assert_eq!(retention_fixed(0, 1), 0);
    }

    #[test]
    fn retention_matches_repeated_multiplication_for_small_powers() {
        // 0.9^3 = 0.729 exactly in this scale.
        assert_eq!(retention_fixed(900_000, 3), 729_000_000_000_000_000);
        // 0.5^10 = 1/1024.
        assert_eq!(retention_fixed(500_000, 10), FIXED_ONE / 1024);
    }

    #[test]
    fn retention_over_huge_period_counts_reaches_zero_without_looping_long() {
        assert_eq!(retention_fixed(999_999, u64::MAX), 0);
    }

    #[test]
    fn ppm_product_rounds_up() {
        assert_eq!(ppm_mul_ceil(PPM_ONE, 123), 123);
        assert_eq!(ppm_mul_ceil(1, 1), 1);
        assert_eq!(ppm_mul_ceil(0, PPM_ONE), 0);
        assert_eq!(ppm_mul_ceil(500_000, 500_000), 250_000);
    }

    proptest! {
        #[test]
        fn retention_is_monotone_in_periods(factor in 0u32..=PPM_ONE, periods in 0u64..10_000) {
            prop_assert!(retention_fixed(factor, periods + 1) <= retention_fixed(factor, periods));
        }

        #[test]
        fn retained_value_never_exceeds_value(value in any::<u64>(), factor in 0u32..=PPM_ONE, periods in any::<u64>()) {
            prop_assert!(retain(value, retention_fixed(factor, periods)) <= value);
        }

        #[test]
        fn ppm_product_is_at_most_each_factor(a in 0u32..=PPM_ONE, b in 0u32..=PPM_ONE) {
            let product = ppm_mul_ceil(a, b);
            prop_assert!(product <= a && product <= b);
        }
    }
}
