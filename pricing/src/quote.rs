//! Quotes: the table of reliability tiers a requester chooses from, as a deterministic function
//! of the reliability ledger at a root height and of the staked relayers.
//!
//! **Probability that a wrong result passes unnoticed.** A bounty's result is wrong and
//! unnoticed only if the offerer computes a wrong result *and* every relayer of the lineup
//! fails to catch it (each relayer recomputes and countersigns only a result equal to its own).
//! Assuming nodes fail independently, and a node fails a task with at most the probability its
//! record estimates (`NodeEstimate::failure_ppm`, which includes the prior), a lineup `L` lets
//! a wrong result through with probability `p_offerer · Π_{r ∈ L} q_r`. The lineup is drawn
//! only after the bounty is posted, so the quote cannot know it; it states the *bound over
//! every lineup the draw could produce*: `p_offerer` times the product of the `h` largest
//! relayer failure estimates among the eligible relayers (staked, with some reputation, neither
//! the offerer nor the requester). Products are rounded up at every step, so the bound holds
//! in integers too. It falls (or stays) with every added hop, with every success on any record,
//! and rises with every failure.
//!
//! **Expected latency.** Relayers compute in parallel with the offerer, then countersign in
//! turn: `h = 0` costs the offerer's expected latency; `h > 0` costs the larger of the
//! offerer's and the typical relayer's (the lower median of the eligible relayers' expected
//! latencies), plus `lineup_latency_ms` to find and publish the lineup proof, plus
//! `hop_latency_ms` per hop.
//!
//! **Price.** Each of the `1 + h` executions is paid
//! `execution_base_price + ⌈fuel_budget · price_per_mega_fuel / 10^6⌉`; with a lineup the total
//! is grossed up by the finder's share, `⌈executions · 10^6 / (10^6 − finder_share_ppm)⌉`, so
//! that after the finder's share every executor still receives at least one execution's price
//! under `relay-lineup`'s settlement split.
//!
//! A tier is offered only for hop counts the eligible relayers can fill.

use std::collections::BTreeSet;

use bincode::{Decode, Encode};
use bitverse_primitives::{AccountId, Amount, codec};

use crate::PricingError;
use crate::fixed::{PPM_ONE, ppm_mul_ceil};
use crate::ledger::{LedgerParams, NodeEstimate, ReliabilityRecord, is_eligible_relayer};

/// The most relayers any lineup (and so any tier) can have.
pub const HOPS_MAX: u8 = 8;

/// The most staked relayers a quote (or a draw) considers: the relayer set is root state, but
/// every bound is named.
pub const RELAYERS_MAX: usize = 100_000;

/// The decode limit of a quote: a length and [`HOPS_MAX`] + 1 tiers. bincode charges a vector
/// against the limit at its elements' in-memory size (32 bytes a tier, above the 25 it encodes
/// to), so that is the size counted here.
pub const QUOTE_SIZE_BYTES_MAX: usize =
    8 + (HOPS_MAX as usize + 1) * std::mem::size_of::<ReliabilityTier>();

/// The quote's parameters, part of the network's parameters (encoded into the genesis hash,
/// hence `Encode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode)]
pub struct QuoteParams {
    /// The most hops a quote offers (at most [`HOPS_MAX`]).
    pub hops_max: u8,
    /// The price of one execution before fuel.
    pub execution_base_price: Amount,
    /// The price of a million units of fuel of the request's budget, per execution.
    pub price_per_mega_fuel: Amount,
    /// The lineup proof finder's share of a bounty with hops, in parts per million (below
    /// [`PPM_ONE`]). The settlement split in `relay-lineup` takes the same number.
    pub finder_share_ppm: u32,
    /// Time for one relayer to check and countersign once it has computed, in milliseconds.
    pub hop_latency_ms: u32,
    /// Time to find and publish a lineup proof, in milliseconds.
    pub lineup_latency_ms: u32,
}

impl QuoteParams {
    /// The defaults: tiers up to 3 hops, 1 000 base units per execution plus 100 per million
    /// fuel, 5 % to the finder, 200 ms per hop and 2 s for the lineup proof.
    pub const DEFAULT: QuoteParams = QuoteParams {
        hops_max: 3,
        execution_base_price: Amount(1_000),
        price_per_mega_fuel: Amount(100),
        finder_share_ppm: 50_000,
        hop_latency_ms: 200,
        lineup_latency_ms: 2_000,
    };

    /// Checks the ranges documented on each field.
    pub fn validate(&self) -> Result<(), PricingError> {
        if self.hops_max > HOPS_MAX {
            return Err(PricingError::InvalidParams(
                "hops_max must be at most HOPS_MAX",
            ));
        }
        if self.finder_share_ppm >= PPM_ONE {
            return Err(PricingError::InvalidParams(
                "finder_share_ppm must be below 1 000 000",
            ));
        }
        Ok(())
    }
}

impl Default for QuoteParams {
    fn default() -> Self {
        QuoteParams::DEFAULT
    }
}

/// A staked node as root state holds it: its account, its stake in the role, and its ledger
/// record for the matching task kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StakedNode {
    /// The node's account.
    pub account: AccountId,
    /// Its stake in the role.
    pub stake: Amount,
    /// Its record (for relayers, the `TaskKind::Relay` record).
    pub record: ReliabilityRecord,
}

/// What a quote is for.
#[derive(Clone, Copy, Debug)]
pub struct QuoteRequest<'a> {
    /// The root height whose ledger the quote reads; records are decayed to it.
    pub height: u64,
    /// The fuel budget the request names for each execution.
    pub fuel_budget: u64,
    /// The requester, who may not relay its own bounty.
    pub requester: AccountId,
    /// The offerer the bounty would name, who may not relay its own result.
    pub offerer: AccountId,
    /// The offerer's `TaskKind::Offer` record (`ReliabilityRecord::default()` quotes for a node
    /// with no record: the prior).
    pub offerer_record: ReliabilityRecord,
    /// Every staked relayer, in any order.
    pub relayers: &'a [StakedNode],
}

/// One row of a quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ReliabilityTier {
    /// Relayers that recompute and countersign the result.
    pub hops: u8,
    /// Upper bound on the probability that a wrong result passes unnoticed, in parts per
    /// million (rounded up).
    pub undetected_error_ppm: u32,
    /// Expected time to a result, in milliseconds.
    pub latency_ms: u32,
    /// The bounty the tier costs.
    pub price: Amount,
}

impl ReliabilityTier {
    /// The probability that the result is right or a wrong one is caught, in parts per
    /// million: `PPM_ONE − undetected_error_ppm`.
    pub fn reliability_ppm(&self) -> u32 {
        PPM_ONE.saturating_sub(self.undetected_error_ppm)
    }
}

/// A quote: one tier per hop count from 0 up to the most the relayers can fill, cheapest (and
/// least checked) first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct PriceQuote {
    /// The tiers, by increasing hops.
    pub tiers: Vec<ReliabilityTier>,
}

impl PriceQuote {
    /// The tier with `hops` relayers, if the quote offers it.
    pub fn tier(&self, hops: u8) -> Option<&ReliabilityTier> {
        self.tiers.iter().find(|tier| tier.hops == hops)
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a quote from exactly `bytes`, refusing more than [`QUOTE_SIZE_BYTES_MAX`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PricingError> {
        codec::decode_with_limit::<PriceQuote, QUOTE_SIZE_BYTES_MAX>(bytes)
            .map_err(PricingError::Malformed)
    }
}

/// The price of a tier with `hops` relayers for a request of `fuel_budget` (see the module
/// docs). A bounty for the tier must escrow at least this.
pub fn tier_price(
    params: &QuoteParams,
    fuel_budget: u64,
    hops: u8,
) -> Result<Amount, PricingError> {
    params.validate()?;
    let fuel_price = params
        .price_per_mega_fuel
        .0
        .checked_mul(u128::from(fuel_budget))
        .ok_or(PricingError::PriceOverflow)?
        .div_ceil(u128::from(PPM_ONE));
    let execution = params
        .execution_base_price
        .0
        .checked_add(fuel_price)
        .ok_or(PricingError::PriceOverflow)?;
    let executions = u128::from(hops)
        .checked_add(1)
        .and_then(|count| execution.checked_mul(count))
        .ok_or(PricingError::PriceOverflow)?;
    if hops == 0 {
        return Ok(Amount(executions));
    }
    // ⌈executions · 10^6 / executors_ppm⌉ without the intermediate product: with
    // executions = q · executors_ppm + r, it is q · 10^6 + ⌈r · 10^6 / executors_ppm⌉, and
    // r · 10^6 < 10^12. Only a price that does not fit itself overflows.
    let executors_ppm = u128::from(PPM_ONE.saturating_sub(params.finder_share_ppm));
    let quotient = executions
        .checked_div(executors_ppm)
        .ok_or(PricingError::PriceOverflow)?;
    let remainder = executions
        .checked_rem(executors_ppm)
        .ok_or(PricingError::PriceOverflow)?;
    let remainder_part = remainder
        .saturating_mul(u128::from(PPM_ONE))
        .div_ceil(executors_ppm);
    quotient
        .checked_mul(u128::from(PPM_ONE))
        .and_then(|whole| whole.checked_add(remainder_part))
        .map(Amount)
        .ok_or(PricingError::PriceOverflow)
}

/// The quote for `request` (see the module docs for the model). Fails only on invalid
/// parameters, a relayer set above [`RELAYERS_MAX`] or with a duplicate, a record updated
/// after `request.height`, or a price beyond the amount range.
pub fn quote(
    ledger: &LedgerParams,
    params: &QuoteParams,
    request: &QuoteRequest<'_>,
) -> Result<PriceQuote, PricingError> {
    ledger.validate()?;
    params.validate()?;
    if request.relayers.len() > RELAYERS_MAX {
        return Err(PricingError::TooManyRelayers {
            count: request.relayers.len(),
            max: RELAYERS_MAX,
        });
    }
    let offerer = request.offerer_record.estimate_at(request.height, ledger)?;

    let mut seen = BTreeSet::new();
    let mut eligible: Vec<NodeEstimate> = Vec::new();
    for relayer in request.relayers {
        if !seen.insert(relayer.account) {
            return Err(PricingError::DuplicateRelayer(relayer.account));
        }
        let estimate = relayer.record.estimate_at(request.height, ledger)?;
        let excluded = relayer.account == request.offerer || relayer.account == request.requester;
        if !excluded && is_eligible_relayer(relayer.stake, estimate.reputation_ppm()) {
            eligible.push(estimate);
        }
    }

    let mut latencies: Vec<u32> = eligible.iter().map(|e| e.latency_ms).collect();
    latencies.sort_unstable();
    let median_index = latencies
        .len()
        .saturating_sub(1)
        .checked_div(2)
        .unwrap_or(0);
    let relayer_latency_ms = latencies.get(median_index).copied().unwrap_or(0);

    let mut failures: Vec<u32> = eligible.iter().map(|e| e.failure_ppm).collect();
    failures.sort_unstable_by(|a, b| b.cmp(a));

    let mut tiers = Vec::new();
    let mut undetected_error_ppm = offerer.failure_ppm;
    let hops_max = usize::from(params.hops_max).min(failures.len());
    for hops in 0..=hops_max {
        let hops_u8 = u8::try_from(hops).unwrap_or(u8::MAX);
        if hops > 0 {
            let worst = failures
                .get(hops.saturating_sub(1))
                .copied()
                .unwrap_or(PPM_ONE);
            undetected_error_ppm = ppm_mul_ceil(undetected_error_ppm, worst);
        }
        let latency_ms = if hops == 0 {
            offerer.latency_ms
        } else {
            offerer
                .latency_ms
                .max(relayer_latency_ms)
                .saturating_add(params.lineup_latency_ms)
                .saturating_add(params.hop_latency_ms.saturating_mul(u32::from(hops_u8)))
        };
        tiers.push(ReliabilityTier {
            hops: hops_u8,
            undetected_error_ppm,
            latency_ms,
            price: tier_price(params, request.fuel_budget, hops_u8)?,
        });
    }
    Ok(PriceQuote { tiers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::EVENT_WEIGHT;
    use proptest::prelude::*;

    const LEDGER: LedgerParams = LedgerParams::DEFAULT;
    const PARAMS: QuoteParams = QuoteParams::DEFAULT;

    fn account(n: u8) -> AccountId {
        AccountId([n; 32])
    }

    fn record(successes: u64, failures: u64, latency_ms: u64) -> ReliabilityRecord {
        ReliabilityRecord {
            successes: successes * EVENT_WEIGHT,
            failures: failures * EVENT_WEIGHT,
            latency_ms_total: successes * latency_ms,
            updated_at_height: 0,
        }
    }

    fn relayer(n: u8, successes: u64, failures: u64) -> StakedNode {
        StakedNode {
            account: account(n),
            stake: Amount(1_000),
            record: record(successes, failures, 400),
        }
    }

    fn request(relayers: &[StakedNode], offerer_record: ReliabilityRecord) -> QuoteRequest<'_> {
        QuoteRequest {
            height: 10,
            fuel_budget: 5_000_000,
            requester: account(200),
            offerer: account(201),
            offerer_record,
            relayers,
        }
    }

    #[test]
    fn tiers_multiply_the_offerer_bound_by_the_worst_relayers_first() {
        // Offerer: (0 + 1) / (95 + 5) → 10 000 ppm. Relayers: 200 000 (new), 10 000, 9 901.
        let relayers = [relayer(1, 0, 0), relayer(2, 95, 0), relayer(3, 96, 0)];
        let quote = quote(&LEDGER, &PARAMS, &request(&relayers, record(95, 0, 300))).unwrap();
        let bounds: Vec<u32> = quote.tiers.iter().map(|t| t.undetected_error_ppm).collect();
        // 10 000 · 0.2 = 2 000; · 0.01 = 20; · 0.009901 = 0.198 → 1 (rounded up).
        assert_eq!(bounds, vec![10_000, 2_000, 20, 1]);
        assert_eq!(quote.tiers[0].reliability_ppm(), 990_000);
    }

    #[test]
    fn the_worked_example_of_docs_market_md_holds() {
        let relayers = [relayer(1, 0, 0), relayer(2, 95, 0), relayer(3, 96, 0)];
        let quote = quote(&LEDGER, &PARAMS, &request(&relayers, record(95, 0, 300))).unwrap();
        let table: Vec<(u8, u32, u32, u128)> = quote
            .tiers
            .iter()
            .map(|t| (t.hops, t.undetected_error_ppm, t.latency_ms, t.price.0))
            .collect();
        assert_eq!(
            table,
            vec![
                (0, 10_000, 328, 1_500),
                (1, 2_000, 2_624, 3_158),
                (2, 20, 2_824, 4_737),
                (3, 1, 3_024, 6_316),
            ]
        );
    }

    #[test]
    fn prices_pay_each_execution_and_gross_up_for_the_finder() {
        // One execution: 1 000 + 5 000 000 · 100 / 10^6 = 1 500.
        assert_eq!(tier_price(&PARAMS, 5_000_000, 0), Ok(Amount(1_500)));
        // Two executions, over 95 %: ⌈3 000 / 0.95⌉ = 3 158.
        assert_eq!(tier_price(&PARAMS, 5_000_000, 1), Ok(Amount(3_158)));
        assert_eq!(
            tier_price(&PARAMS, u64::MAX, 0).map(|a| a.0),
            Ok(1_000 + (u128::from(u64::MAX) * 100).div_ceil(1_000_000))
        );
        let absurd = QuoteParams {
            execution_base_price: Amount(u128::MAX),
            ..PARAMS
        };
        assert_eq!(tier_price(&absurd, 1, 0), Err(PricingError::PriceOverflow));
    }

    #[test]
    fn latency_adds_lineup_and_hops_to_the_slower_of_offerer_and_median_relayer() {
        let relayers = [relayer(1, 96, 0), relayer(2, 96, 0)];
        let quote = quote(&LEDGER, &PARAMS, &request(&relayers, record(96, 0, 300))).unwrap();
        // Offerer: (96 · 300 + 4 · 1 000) / 100 = 328; relayers: (96 · 400 + 4 000) / 100 = 424.
        let latencies: Vec<u32> = quote.tiers.iter().map(|t| t.latency_ms).collect();
        assert_eq!(latencies, vec![328, 424 + 2_000 + 200, 424 + 2_000 + 400]);
    }

    #[test]
    fn tiers_stop_at_the_relayers_that_can_be_drawn() {
        let mut unstaked = relayer(3, 50, 0);
        unstaked.stake = Amount::ZERO;
        let mut offerer_as_relayer = relayer(201, 50, 0);
        offerer_as_relayer.stake = Amount(5);
        let relayers = [
            relayer(1, 10, 0),
            unstaked,
            offerer_as_relayer,
            relayer(200, 9, 0),
        ];
        let quote = quote(&LEDGER, &PARAMS, &request(&relayers, record(0, 0, 0))).unwrap();
        assert_eq!(quote.tiers.len(), 2, "{quote:?}");
        let none = quote_without_relayers();
        assert_eq!(none.tiers.len(), 1);
        assert_eq!(none.tiers[0].hops, 0);
    }

    fn quote_without_relayers() -> PriceQuote {
        quote(&LEDGER, &PARAMS, &request(&[], record(0, 0, 0))).unwrap()
    }

    #[test]
    fn duplicate_relayers_and_oversized_sets_are_refused() {
        let relayers = [relayer(1, 1, 0), relayer(1, 2, 0)];
        assert_eq!(
            quote(&LEDGER, &PARAMS, &request(&relayers, record(0, 0, 0))),
            Err(PricingError::DuplicateRelayer(account(1)))
        );
        let many = vec![relayer(1, 0, 0); RELAYERS_MAX + 1];
        assert!(matches!(
            quote(&LEDGER, &PARAMS, &request(&many, record(0, 0, 0))),
            Err(PricingError::TooManyRelayers { .. })
        ));
    }

    #[test]
    fn a_quote_at_a_height_before_a_record_is_refused() {
        let mut late = relayer(1, 1, 0);
        late.record.updated_at_height = 11;
        assert!(matches!(
            quote(&LEDGER, &PARAMS, &request(&[late], record(0, 0, 0))),
            Err(PricingError::HeightBeforeRecord { .. })
        ));
    }

    #[test]
    fn the_largest_quote_encodes_within_its_limit() {
        let tier = ReliabilityTier {
            hops: HOPS_MAX,
            undetected_error_ppm: u32::MAX,
            latency_ms: u32::MAX,
            price: Amount(u128::MAX),
        };
        let quote = PriceQuote {
            tiers: vec![tier; usize::from(HOPS_MAX) + 1],
        };
        assert!(quote.to_bytes().len() <= QUOTE_SIZE_BYTES_MAX);
        assert_eq!(PriceQuote::from_bytes(&quote.to_bytes()), Ok(quote.clone()));
        let mut longer = quote;
        longer.tiers.push(tier);
        assert!(PriceQuote::from_bytes(&longer.to_bytes()).is_err());
    }

    fn relayers() -> impl Strategy<Value = Vec<StakedNode>> {
        proptest::collection::vec(
            (0u64..1_000, 0u64..1_000, 0u128..1_000_000, 0u64..5_000),
            0..12,
        )
        .prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (successes, failures, stake, latency))| StakedNode {
                    account: account(u8::try_from(i).unwrap()),
                    stake: Amount(stake),
                    record: record(successes, failures, latency),
                })
                .collect()
        })
    }

    fn tier_params() -> impl Strategy<Value = QuoteParams> {
        (
            0u8..=HOPS_MAX,
            0u128..1 << 40,
            0u128..1 << 40,
            0u32..PPM_ONE,
            any::<u32>(),
            any::<u32>(),
        )
            .prop_map(
                |(hops_max, base, per_fuel, finder, hop, lineup)| QuoteParams {
                    hops_max,
                    execution_base_price: Amount(base),
                    price_per_mega_fuel: Amount(per_fuel),
                    finder_share_ppm: finder,
                    hop_latency_ms: hop,
                    lineup_latency_ms: lineup,
                },
            )
    }

    proptest! {
        #[test]
        fn more_hops_never_raise_the_bound_nor_lower_price_or_latency(
            relayers in relayers(), params in tier_params(), offerer in (0u64..1_000, 0u64..1_000),
            fuel in any::<u64>(),
        ) {
            let mut req = request(&relayers, record(offerer.0, offerer.1, 300));
            req.fuel_budget = fuel;
            let quote = quote(&LEDGER, &params, &req).unwrap();
            prop_assert!(!quote.tiers.is_empty());
            for (i, pair) in quote.tiers.windows(2).enumerate() {
                prop_assert_eq!(usize::from(pair[0].hops), i);
                prop_assert_eq!(pair[1].hops, pair[0].hops + 1);
                prop_assert!(pair[1].undetected_error_ppm <= pair[0].undetected_error_ppm);
                prop_assert!(pair[1].price >= pair[0].price);
                prop_assert!(pair[1].latency_ms >= pair[0].latency_ms);
            }
        }

        #[test]
        fn better_records_never_raise_the_bound(
            relayers in relayers(), offerer in (0u64..1_000, 0u64..1_000),
            improved in any::<proptest::sample::Index>(), gained in 1u64..100, lost in 0u64..100,
        ) {
            let base = quote(&LEDGER, &PARAMS, &request(&relayers, record(offerer.0, offerer.1, 300))).unwrap();

            // A better offerer record: more successes, fewer failures.
            let better_offerer = record(offerer.0 + gained, offerer.1.saturating_sub(lost), 300);
            let q = quote(&LEDGER, &PARAMS, &request(&relayers, better_offerer)).unwrap();
            prop_assert_eq!(q.tiers.len(), base.tiers.len());
            for (a, b) in q.tiers.iter().zip(&base.tiers) {
                prop_assert!(a.undetected_error_ppm <= b.undetected_error_ppm);
            }

            // A better record for one relayer: every tier the base quote had is still offered,
            // with a bound no higher.
            if !relayers.is_empty() {
                let mut better = relayers.clone();
                let r = &mut better[improved.index(relayers.len())];
                r.record.successes += gained * EVENT_WEIGHT;
                r.record.failures = r.record.failures.saturating_sub(lost * EVENT_WEIGHT);
                let q = quote(&LEDGER, &PARAMS, &request(&better, record(offerer.0, offerer.1, 300))).unwrap();
                prop_assert!(q.tiers.len() >= base.tiers.len());
                for (a, b) in q.tiers.iter().zip(&base.tiers) {
                    prop_assert!(a.undetected_error_ppm <= b.undetected_error_ppm);
                }
            }
        }

        #[test]
        fn the_quote_does_not_depend_on_relayer_order(relayers in relayers(), seed in any::<u64>()) {
            let mut shuffled = relayers.clone();
            // A deterministic permutation: rotate by the seed and reverse.
            if !shuffled.is_empty() {
                let by = usize::try_from(seed % shuffled.len() as u64).unwrap();
                shuffled.rotate_left(by);
                shuffled.reverse();
            }
            let a = quote(&LEDGER, &PARAMS, &request(&relayers, record(3, 1, 300)));
            let b = quote(&LEDGER, &PARAMS, &request(&shuffled, record(3, 1, 300)));
            prop_assert_eq!(a, b);
        }

        #[test]
        fn quote_codec_round_trips(relayers in relayers(), params in tier_params(), fuel in any::<u64>()) {
            let mut req = request(&relayers, record(3, 1, 300));
            req.fuel_budget = fuel;
            let quote = quote(&LEDGER, &params, &req).unwrap();
            prop_assert_eq!(PriceQuote::from_bytes(&quote.to_bytes()), Ok(quote));
        }

        #[test]
        fn quote_decoding_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = PriceQuote::from_bytes(&bytes);
        }
    }
}
