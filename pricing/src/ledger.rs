//! The reliability ledger: per (node account, [`TaskKind`]) a [`ReliabilityRecord`] of
//! successes, failures and latency, kept on the root.
//!
//! **Fixed point.** One event weighs [`EVENT_WEIGHT`] (10^6) units, so that forgetting can
//! shrink it smoothly while staying an integer.
//!
//! **Forgetting.** Time is cut into periods of `decay_period_blocks` root blocks, aligned to
//! absolute heights (period `⌊height / decay_period_blocks⌋`). When a record is touched at a
//! height `k` periods after its last update, every count in it is multiplied by
//! `forgetting_factor_ppm^k` (computed by square and multiply in a 10^18 scale, floored), then
//! the new event is added. Decay is lazy: nothing has to sweep the ledger every block, and a
//! reader decays a copy to the height it reads at ([`ReliabilityRecord::decayed`]). With a
//! factor `λ`, an event's weight halves every `ln 2 / -ln λ` periods, and a node's counts stay
//! below `1 / (1 − λ)` times its events per period.
//!
//! **Estimate.** A record becomes a [`NodeEstimate`] through a Beta-style prior of
//! `prior_successes` and `prior_failures` whole events, so that a new node is neither trusted
//! nor worthless:
//! `failure_ppm = ⌈10^6 · (failures + prior_failures) / (successes + failures + priors)⌉`
//! (rounded up: a bound stays a bound), and the latency is the mean latency of its successes,
//! pulled toward `prior_latency_ms` with the weight of `prior_successes`. The reputation that
//! weighs the relay draw is `10^6 − failure_ppm`.
//!
//! **Weight by amount.** An event weighs in proportion to the bounty it is about, one whole
//! event at `full_event_amount` and above, at least one unit below it
//! ([`LedgerParams::event_weight`]): a record farmed with bounties of one base unit, or
//! burnt with them, moves a millionth as fast as one earned on real work.
//!
//! What counts as a success or a failure is the chain's business (see `docs/MARKET.md`); this
//! module only keeps the counts.

use bincode::{Decode, Encode};
use bitverse_primitives::{Amount, codec};

use crate::PricingError;
use crate::fixed::{PPM_ONE, retain, retention_fixed};

/// The fixed-point weight of one event: a fresh success adds this to `successes`.
pub const EVENT_WEIGHT: u64 = 1_000_000;

/// The largest encoded record: its four fixed-width integers. Decoding refuses anything longer.
pub const RECORD_SIZE_BYTES_MAX: usize = 32;

/// The kind of task a record is about. A node is judged separately as an offerer (does its
/// result hold up, does it deliver before expiry), as a relayer (does it check and
/// countersign honestly and in time) and as a storer (does it take and keep the shards the
/// chain places on it). New kinds are added at the end, so old encodings keep their meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Encode, Decode)]
pub enum TaskKind {
    /// Computing a transformation as the bounty's offerer.
    Offer,
    /// Recomputing and countersigning as a relayer of a lineup.
    Relay,
    /// Holding the shards of blobs the root placed on it (`docs/STORAGE.md`).
    Store,
}

/// The ledger's parameters, part of the network's parameters (encoded into the genesis hash,
/// hence `Encode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode)]
pub struct LedgerParams {
    /// Root blocks per forgetting period (at least 1).
    pub decay_period_blocks: u64,
    /// Share of every count kept per period, in parts per million (at most [`PPM_ONE`]).
    pub forgetting_factor_ppm: u32,
    /// Whole successes every node is credited with before any record (at least 1).
    pub prior_successes: u32,
    /// Whole failures every node is debited with before any record.
    pub prior_failures: u32,
    /// The latency assumed of a node with no successes yet, in milliseconds.
    pub prior_latency_ms: u32,
    /// The bounty amount at and above which an event weighs one whole event (at least 1).
    pub full_event_amount: Amount,
}

impl LedgerParams {
    /// The defaults: a period of 100 root blocks keeping 98 % (an event's weight halves in about
    /// 34 periods), a prior of 4 successes and 1 failure (a new node fails with probability
    /// 0.2), one second of prior latency, and a whole event from a bounty of 1,000 base units
    /// (the market's quotes for the sample transformations start at a few thousand).
    pub const DEFAULT: LedgerParams = LedgerParams {
        decay_period_blocks: 100,
        forgetting_factor_ppm: 980_000,
        prior_successes: 4,
        prior_failures: 1,
        prior_latency_ms: 1_000,
        full_event_amount: Amount(1_000),
    };

    /// Checks the ranges documented on each field.
    pub fn validate(&self) -> Result<(), PricingError> {
        if self.decay_period_blocks == 0 {
            return Err(PricingError::InvalidParams(
                "decay_period_blocks must be at least 1",
            ));
        }
        if self.forgetting_factor_ppm > PPM_ONE {
            return Err(PricingError::InvalidParams(
                "forgetting_factor_ppm must be at most 1 000 000",
            ));
        }
        if self.prior_successes == 0 {
            return Err(PricingError::InvalidParams(
                "prior_successes must be at least 1",
            ));
        }
        if self.full_event_amount == Amount::ZERO {
            return Err(PricingError::InvalidParams(
                "full_event_amount must be at least 1",
            ));
        }
        Ok(())
    }

    /// What an event about a bounty of `amount` weighs, in [`EVENT_WEIGHT`] units:
    /// `EVENT_WEIGHT · amount / full_event_amount`, floored, between 1 and [`EVENT_WEIGHT`].
    pub fn event_weight(&self, amount: Amount) -> u64 {
        let full = self.full_event_amount.0.max(1);
        let weight = amount
            .0
            .min(full)
            .saturating_mul(u128::from(EVENT_WEIGHT))
            .checked_div(full)
            .unwrap_or(0);
        u64::try_from(weight)
            .unwrap_or(EVENT_WEIGHT)
            .clamp(1, EVENT_WEIGHT)
    }

    fn prior_successes_weight(&self) -> u64 {
        u64::from(self.prior_successes).saturating_mul(EVENT_WEIGHT)
    }

    fn prior_failures_weight(&self) -> u64 {
        u64::from(self.prior_failures).saturating_mul(EVENT_WEIGHT)
    }
}

impl Default for LedgerParams {
    fn default() -> Self {
        LedgerParams::DEFAULT
    }
}

/// One node's record for one task kind. All counts are in [`EVENT_WEIGHT`] units and already
/// decayed to `updated_at_height`. Counts saturate rather than wrap (a record would need
/// 10^13 undecayed events to reach the top).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct ReliabilityRecord {
    /// Decayed successes.
    pub successes: u64,
    /// Decayed failures.
    pub failures: u64,
    /// Decayed sum of the latencies of the successes, in milliseconds: each success adds its
    /// latency once and decays like `successes`, so the mean is
    /// `latency_ms_total · EVENT_WEIGHT / successes`.
    pub latency_ms_total: u64,
    /// The root height the counts are decayed to.
    pub updated_at_height: u64,
}

/// What a record says of a node: the estimated probability that it fails a task, and the
/// latency to expect of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeEstimate {
    /// Probability of failure, in parts per million, rounded up: never 0 with a prior failure,
    /// and [`PPM_ONE`] only for a node whose failures outweigh its successes and prior
    /// successes about a million to one.
    pub failure_ppm: u32,
    /// Expected latency in milliseconds.
    pub latency_ms: u32,
}

impl NodeEstimate {
    /// The reputation that weighs the relay draw: the estimated probability of success.
    pub fn reputation_ppm(&self) -> u32 {
        PPM_ONE.saturating_sub(self.failure_ppm)
    }
}

impl ReliabilityRecord {
    /// The record as it stands at `height`: every count decayed by the periods that began
    /// since its last update. A height before the last update is refused.
    pub fn decayed(&self, height: u64, params: &LedgerParams) -> Result<Self, PricingError> {
        params.validate()?;
        if height < self.updated_at_height {
            return Err(PricingError::HeightBeforeRecord {
                height,
                record_height: self.updated_at_height,
            });
        }
        let period = params.decay_period_blocks;
        let periods = height
            .checked_div(period)
            .unwrap_or(0)
            .saturating_sub(self.updated_at_height.checked_div(period).unwrap_or(0));
        let retention = retention_fixed(params.forgetting_factor_ppm, periods);
        Ok(ReliabilityRecord {
            successes: retain(self.successes, retention),
            failures: retain(self.failures, retention),
            latency_ms_total: retain(self.latency_ms_total, retention),
            updated_at_height: height,
        })
    }

    /// Decays the record to `height` in place (see [`ReliabilityRecord::decayed`]).
    pub fn decay_to(&mut self, height: u64, params: &LedgerParams) -> Result<(), PricingError> {
        *self = self.decayed(height, params)?;
        Ok(())
    }

    /// Records a success at `height` that took `latency_ms`, weighing `weight` units (see
    /// [`LedgerParams::event_weight`]; its latency counts with the same weight, floored to a
    /// whole millisecond, so a tiny event's latency may count for nothing).
    pub fn record_success(
        &mut self,
        height: u64,
        latency_ms: u32,
        weight: u64,
        params: &LedgerParams,
    ) -> Result<(), PricingError> {
        let mut next = self.decayed(height, params)?;
        next.successes = next.successes.saturating_add(weight);
        let latency = u128::from(latency_ms)
            .saturating_mul(u128::from(weight))
            .checked_div(u128::from(EVENT_WEIGHT))
            .unwrap_or(0);
        next.latency_ms_total = next
            .latency_ms_total
            .saturating_add(u64::try_from(latency).unwrap_or(u64::MAX));
        *self = next;
        Ok(())
    }

    /// Records a failure at `height` weighing `weight` units.
    pub fn record_failure(
        &mut self,
        height: u64,
        weight: u64,
        params: &LedgerParams,
    ) -> Result<(), PricingError> {
        let mut next = self.decayed(height, params)?;
        next.failures = next.failures.saturating_add(weight);
        *self = next;
        Ok(())
    }

    /// The estimate of the record as it stands (decay it to the height of interest first).
    pub fn estimate(&self, params: &LedgerParams) -> NodeEstimate {
        let successes = u128::from(self.successes);
        let failures = u128::from(self.failures);
        let prior_successes = u128::from(params.prior_successes_weight());
        let prior_failures = u128::from(params.prior_failures_weight());

        // Every term is below 2^66 and PPM_ONE below 2^20: no product or sum here overflows.
        let bad = failures.saturating_add(prior_failures);
        let all = successes
            .saturating_add(prior_successes)
            .saturating_add(bad);
        let failure_ppm = bad
            .saturating_mul(u128::from(PPM_ONE))
            .checked_div(all)
            .map_or(PPM_ONE, |floor| {
                let exact = floor.saturating_mul(all) == bad.saturating_mul(u128::from(PPM_ONE));
                let ceil = if exact {
                    floor
                } else {
                    floor.saturating_add(1)
                };
                u32::try_from(ceil).unwrap_or(PPM_ONE).min(PPM_ONE)
            });

        let latency_weighted = u128::from(self.latency_ms_total)
            .saturating_mul(u128::from(EVENT_WEIGHT))
            .saturating_add(u128::from(params.prior_latency_ms).saturating_mul(prior_successes));
        let latency_ms = latency_weighted
            .checked_div(successes.saturating_add(prior_successes))
            .map_or(params.prior_latency_ms, |mean| {
                u32::try_from(mean).unwrap_or(u32::MAX)
            });

        NodeEstimate {
            failure_ppm,
            latency_ms,
        }
    }

    /// The estimate at `height`: [`ReliabilityRecord::decayed`], then
    /// [`ReliabilityRecord::estimate`].
    pub fn estimate_at(
        &self,
        height: u64,
        params: &LedgerParams,
    ) -> Result<NodeEstimate, PricingError> {
        Ok(self.decayed(height, params)?.estimate(params))
    }

    /// The canonical bytes, as stored in root state.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a record from exactly `bytes`, refusing more than [`RECORD_SIZE_BYTES_MAX`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PricingError> {
        codec::decode_with_limit::<ReliabilityRecord, RECORD_SIZE_BYTES_MAX>(bytes)
            .map_err(PricingError::Malformed)
    }
}

/// Whether a staked relayer can be drawn at all: it has stake and some reputation. The quote
/// and the draw (`relay-lineup`) both use this, so a quote's tiers are exactly those a draw can
/// fill.
pub fn is_eligible_relayer(stake: Amount, reputation_ppm: u32) -> bool {
    stake > Amount::ZERO && reputation_ppm > 0
}

/// A relayer's weight in the lineup draw: stake times reputation (in parts per million), or
/// `None` if that does not fit in 128 bits. Doubling either doubles the chance to be drawn.
pub fn draw_weight(stake: Amount, reputation_ppm: u32) -> Option<u128> {
    stake.0.checked_mul(u128::from(reputation_ppm.min(PPM_ONE)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PARAMS: LedgerParams = LedgerParams::DEFAULT;

    fn record() -> impl Strategy<Value = ReliabilityRecord> {
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(successes, failures, latency_ms_total, updated_at_height)| ReliabilityRecord {
                successes,
                failures,
                latency_ms_total,
                updated_at_height,
            },
        )
    }

    fn params() -> impl Strategy<Value = LedgerParams> {
        (
            1u64..1_000,
            0u32..=PPM_ONE,
            1u32..20,
            0u32..20,
            0u32..100_000,
        )
            .prop_map(
                |(
                    decay_period_blocks,
                    forgetting_factor_ppm,
                    prior_successes,
                    prior_failures,
                    prior_latency_ms,
                )| {
                    LedgerParams {
                        decay_period_blocks,
                        forgetting_factor_ppm,
                        prior_successes,
                        prior_failures,
                        prior_latency_ms,
                        ..LedgerParams::DEFAULT
                    }
                },
            )
    }

    /// A record built from `successes` and `failures` events at height 0 (no decay).
    fn history(successes: u32, failures: u32, latency_ms: u32) -> ReliabilityRecord {
        let mut record = ReliabilityRecord::default();
        for _ in 0..successes {
            record
                .record_success(0, latency_ms, EVENT_WEIGHT, &PARAMS)
                .unwrap();
        }
        for _ in 0..failures {
            record.record_failure(0, EVENT_WEIGHT, &PARAMS).unwrap();
        }
        record
    }

    #[test]
    fn new_node_gets_the_prior_failure_probability_and_latency() {
        let estimate = ReliabilityRecord::default().estimate(&PARAMS);
        assert_eq!(estimate.failure_ppm, 200_000);
        assert_eq!(estimate.latency_ms, 1_000);
        assert_eq!(estimate.reputation_ppm(), 800_000);
    }

    #[test]
    fn successes_lower_and_failures_raise_the_failure_estimate() {
        // (0 + 1) / (96 + 0 + 5) = 0.990 % → 9 901 ppm rounded up.
        assert_eq!(history(96, 0, 500).estimate(&PARAMS).failure_ppm, 9_901);
        // (10 + 1) / (0 + 10 + 5) = 73.3 % → 733 334 ppm rounded up.
        assert_eq!(history(0, 10, 500).estimate(&PARAMS).failure_ppm, 733_334);
    }

    #[test]
    fn latency_is_the_mean_of_successes_pulled_toward_the_prior() {
        // (96 · 500 + 4 · 1 000) / 100 = 520.
        assert_eq!(history(96, 0, 500).estimate(&PARAMS).latency_ms, 520);
    }

    #[test]
    fn decay_multiplies_counts_by_the_factor_once_per_period_boundary() {
        let mut record = history(10, 0, 100);
        // Height 99 is still period 0: nothing decays.
        record.decay_to(99, &PARAMS).unwrap();
        assert_eq!(record.successes, 10 * EVENT_WEIGHT);
        // Height 250 is period 2: two periods at 98 %.
        record.decay_to(250, &PARAMS).unwrap();
        assert_eq!(record.successes, 9_604_000);
        assert_eq!(record.latency_ms_total, 960);
        assert_eq!(record.updated_at_height, 250);
    }

    #[test]
    fn old_failures_are_forgotten_and_the_estimate_returns_toward_the_prior() {
        let bad = history(0, 20, 100);
        let later = bad.decayed(1_000_000, &PARAMS).unwrap();
        assert_eq!(later.failures, 0);
        assert_eq!(later.estimate(&PARAMS).failure_ppm, 200_000);
    }

    #[test]
    fn moving_a_record_back_in_time_is_refused() {
        let mut record = ReliabilityRecord::default();
        record.record_failure(500, EVENT_WEIGHT, &PARAMS).unwrap();
        assert_eq!(
            record.record_success(499, 10, EVENT_WEIGHT, &PARAMS),
            Err(PricingError::HeightBeforeRecord {
                height: 499,
                record_height: 500
            })
        );
    }

    #[test]
    fn invalid_params_are_refused_before_any_arithmetic() {
        let zero_period = LedgerParams {
            decay_period_blocks: 0,
            ..PARAMS
        };
        assert!(matches!(
            ReliabilityRecord::default().decayed(1, &zero_period),
            Err(PricingError::InvalidParams(_))
        ));
        let growing = LedgerParams {
            forgetting_factor_ppm: PPM_ONE + 1,
            ..PARAMS
        };
        assert!(growing.validate().is_err());
        let no_prior_success = LedgerParams {
            prior_successes: 0,
            ..PARAMS
        };
        assert!(no_prior_success.validate().is_err());
        let no_full_event = LedgerParams {
            full_event_amount: Amount::ZERO,
            ..PARAMS
        };
        assert!(no_full_event.validate().is_err());
    }

    #[test]
    fn an_event_weighs_in_proportion_to_its_bounty_up_to_one_whole_event() {
        let weight = |units| PARAMS.event_weight(Amount(units));
        assert_eq!(weight(0), 1, "never nothing: a failure always counts");
        assert_eq!(weight(1), EVENT_WEIGHT / 1_000);
        assert_eq!(weight(250), EVENT_WEIGHT / 4);
        assert_eq!(weight(1_000), EVENT_WEIGHT);
        assert_eq!(weight(u128::MAX), EVENT_WEIGHT);
        // The farming attack: a thousand one-unit bounties move a record as one real one.
        let mut farmed = ReliabilityRecord::default();
        for _ in 0..1_000 {
            farmed.record_success(0, 500, weight(1), &PARAMS).unwrap();
        }
        assert_eq!(farmed.successes, EVENT_WEIGHT);
        assert_eq!(
            farmed.estimate(&PARAMS).failure_ppm,
            history(1, 0, 500).estimate(&PARAMS).failure_ppm
        );
    }

    #[test]
    fn record_encoding_is_exactly_its_limit_and_longer_input_is_refused() {
        let bytes = history(3, 1, 7).to_bytes();
        assert_eq!(bytes.len(), RECORD_SIZE_BYTES_MAX);
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            ReliabilityRecord::from_bytes(&longer),
            Err(PricingError::Malformed(_))
        ));
    }

    #[test]
    fn draw_weight_is_stake_times_reputation_and_overflow_is_none() {
        assert_eq!(draw_weight(Amount(3), 500_000), Some(1_500_000));
        assert_eq!(draw_weight(Amount(u128::MAX), 2), None);
        assert!(!is_eligible_relayer(Amount::ZERO, PPM_ONE));
        assert!(!is_eligible_relayer(Amount(1), 0));
        assert!(is_eligible_relayer(Amount(1), 1));
    }

    proptest! {
        #[test]
        fn record_codec_round_trips(record in record()) {
            prop_assert_eq!(ReliabilityRecord::from_bytes(&record.to_bytes()), Ok(record));
        }

        #[test]
        fn record_decoding_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let decoded = ReliabilityRecord::from_bytes(&bytes);
            // Any 32 bytes are four integers; anything else is refused.
            prop_assert_eq!(decoded.is_ok(), bytes.len() == RECORD_SIZE_BYTES_MAX);
        }

        #[test]
        fn task_kind_codec_round_trips_and_refuses_unknown_tags(tag in any::<u32>()) {
            let decoded = bitverse_primitives::decode::<TaskKind>(&tag.to_le_bytes());
            prop_assert_eq!(decoded.is_ok(), tag < 3);
            if let Ok(kind) = decoded {
                prop_assert_eq!(bitverse_primitives::encode(&kind), tag.to_le_bytes().to_vec());
            }
        }

        #[test]
        fn ledger_operations_never_panic_and_estimates_stay_in_range(
            record in record(), params in params(), height in any::<u64>(), latency in any::<u32>(),
            weight in 1..=EVENT_WEIGHT,
        ) {
            let mut updated = record;
            let success = updated.record_success(height, latency, weight, &params);
            prop_assert_eq!(success.is_ok(), height >= record.updated_at_height);
            let mut failed = record;
            let _ = failed.record_failure(height, weight, &params);
            for r in [record, updated, failed] {
                let estimate = r.estimate(&params);
                prop_assert!(estimate.failure_ppm <= PPM_ONE);
                prop_assert!(estimate.failure_ppm > 0 || params.prior_failures == 0);
            }
        }

        #[test]
        fn decay_never_grows_a_count(record in record(), params in params(), ahead in any::<u64>()) {
            let height = record.updated_at_height.saturating_add(ahead);
            let later = record.decayed(height, &params).unwrap();
            prop_assert!(later.successes <= record.successes);
            prop_assert!(later.failures <= record.failures);
            prop_assert!(later.latency_ms_total <= record.latency_ms_total);
        }

        #[test]
        fn a_success_never_raises_and_a_failure_never_lowers_the_failure_estimate(
            record in record(), params in params(), latency in any::<u32>(), weight in 1..=EVENT_WEIGHT,
        ) {
            let height = record.updated_at_height;
            let before = record.estimate(&params).failure_ppm;
            let mut succeeded = record;
            succeeded.record_success(height, latency, weight, &params).unwrap();
            let mut failed = record;
            failed.record_failure(height, weight, &params).unwrap();
            prop_assert!(succeeded.estimate(&params).failure_ppm <= before);
            prop_assert!(failed.estimate(&params).failure_ppm >= before);
        }
    }
}
