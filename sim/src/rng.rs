//! The simulator's one random source: ChaCha8 from the run's seed, and the draws the
//! simulator makes from it in integers only (a float's rounding is no part of a replay).

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// `ln 2` in 32.32 fixed point: `round(0.693147180559945 · 2^32)`.
const LN_2_Q32: u128 = 2_977_044_472;

/// The run's random source. Every choice of the simulator (latencies, losses, mining times,
/// faults) is drawn from it in event order, so a seed names a run.
pub(crate) struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The stream of `seed`, under a label, so two streams of one seed differ.
    pub(crate) fn new(seed: u64, stream: u64) -> SimRng {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream);
        SimRng { inner }
    }

    /// A uniform `u64`.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform integer in `0..bound` (0 when `bound` is 0), without modulo bias: Lemire's
    /// multiply-and-reject.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let wide = u128::from(self.next_u64()) * u128::from(bound);
            if (wide as u64) >= threshold {
                return (wide >> 64) as u64;
            }
        }
    }

    /// A uniform integer in `low..=high` (`low` when `high < low`).
    pub(crate) fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.below(high - low + 1)
    }

    /// True with probability `ppm` parts per million.
    pub(crate) fn chance_ppm(&mut self, ppm: u32) -> bool {
        self.below(1_000_000) < u64::from(ppm)
    }

    /// An exponentially distributed delay of mean `mean_ms` (the gap between two events of a
    /// Poisson process), rounded down, computed as `mean · −ln U` in fixed point.
    pub(crate) fn exponential_ms(&mut self, mean_ms: u64) -> u64 {
        // U in (0, 1] as `u / 2^32` with u in 1..=2^32.
        let u = (self.next_u64() >> 32) + 1;
        let neg_ln_q32 = (neg_log2_q32(u) * LN_2_Q32) >> 32;
        let delay = (u128::from(mean_ms) * neg_ln_q32) >> 32;
        u64::try_from(delay).unwrap_or(u64::MAX)
    }
}

/// `−log2(u / 2^32)` in 32.32 fixed point, for `u` in `1..=2^32`, by the bit-by-bit squaring
/// method: exact to the last of its 32 fraction bits but for truncation.
fn neg_log2_q32(u: u64) -> u128 {
    debug_assert!((1..=1u64 << 32).contains(&u));
    // Integer part of log2(u), then u normalised to [1, 2) in 32.32.
    let whole = 63 - u64::from(u.leading_zeros());
    let mut y: u128 = (u128::from(u) << 32) >> whole;
    let mut fraction: u128 = 0;
    for bit in (0..32).rev() {
        y = (y * y) >> 32;
        if y >= 2u128 << 32 {
            y >>= 1;
            fraction |= 1 << bit;
        }
    }
    let log2_q32 = (u128::from(whole) << 32) | fraction;
    (32u128 << 32) - log2_q32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_stream_draw_the_same_numbers_and_others_do_not() {
        let draw = |seed, stream| {
            let mut rng = SimRng::new(seed, stream);
            (0..8).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, 0), draw(7, 0));
        assert_ne!(draw(7, 0), draw(8, 0));
        assert_ne!(draw(7, 0), draw(7, 1));
    }

    #[test]
    fn negative_log2_is_exact_at_powers_of_two_and_close_between() {
        assert_eq!(neg_log2_q32(1 << 32), 0);
        assert_eq!(neg_log2_q32(1 << 31), 1 << 32);
        assert_eq!(neg_log2_q32(1), 32 << 32);
        // −log2(0.75) = 0.415037…
        let got = neg_log2_q32(3 << 30);
        let want = (0.415_037_499_278_843_8_f64 * 4_294_967_296.0) as u128;
        assert!(got.abs_diff(want) < 4, "{got} vs {want}");
    }

    #[test]
    fn exponential_delays_have_about_the_mean_asked() {
        let mut rng = SimRng::new(1, 0);
        let draws = 20_000u64;
        let total: u64 = (0..draws).map(|_| rng.exponential_ms(1_000)).sum();
        let mean = total / draws;
        assert!((950..=1_050).contains(&mean), "mean {mean} ms");
    }

    #[test]
    fn bounded_draws_stay_in_their_range() {
        let mut rng = SimRng::new(3, 0);
        for _ in 0..1_000 {
            assert!(rng.below(7) < 7);
            assert!((20..=200).contains(&rng.between(20, 200)));
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.between(5, 5), 5);
    }
}
