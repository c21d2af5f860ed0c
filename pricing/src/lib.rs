//! Pricing: turning the reliability ledger into a quote of reliability tiers and their prices
//! (§4 of the design). The computation comes with the compute marketplace; today the crate
//! holds the types a quote is made of, so that the shape is settled.
//!
//! Invariant: pricing is a deterministic function of ledger state (integers only, no floats, no
//! clock); it knows nothing of blocks, storage, networks or RPC, and depends only on
//! `primitives`.

use bitverse_primitives::Amount;

/// One row of a price quote: a reliability, how many relayers cross-check, the latency to
/// expect, and the price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReliabilityTier {
    /// Probability that the result is right, in parts per million (integers: consensus-safe).
    pub reliability_ppm: u32,
    /// Relayers that recompute and countersign the result.
    pub hops: u8,
    /// Expected time to a result.
    pub latency_ms: u32,
    /// Price of the tier.
    pub price: Amount,
}

/// A quote: the tiers offered for one request, cheapest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriceQuote {
    /// The tiers.
    pub tiers: Vec<ReliabilityTier>,
}
