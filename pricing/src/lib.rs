//! Pricing: the reliability ledger, and the quote of reliability tiers it prices (§4 of the
//! design; the model is written out in `docs/MARKET.md`, "Quotes and the reliability ledger").
//!
//! - [`ledger`]: per (node account, [`TaskKind`]) a [`ReliabilityRecord`] of successes,
//!   failures and latency, in fixed point, forgotten geometrically per period of blocks.
//! - [`quote`]: a deterministic function of ledger records and the staked relayers that gives,
//!   per number of hops, an upper bound on the probability that a wrong result passes
//!   unnoticed, the expected latency and the price.
//! - [`draw`]: a weighted draw of distinct accounts from a seed (the placement of shards).
//! - [`storage`]: the storage endowment model, what a shard costs per period at a rate that
//!   falls every year (`docs/STORAGE.md`).
//!
//! Invariant: pricing is consensus. Every function here is a pure, total function of its
//! arguments in integer or fixed-point arithmetic: no floats, no clock, no randomness, no hash
//! map iteration, no panics on any input. The crate knows nothing of blocks, storage, networks
//! or RPC, and depends only on `primitives`.
//!
//! All of it is consensus: no `unwrap`, `expect`, panics, indexing or unchecked arithmetic
//! outside tests, for the whole crate (the one block below; `bitverse/tests/architecture.rs`
//! checks that every consensus crate carries it, at its root and nowhere else).
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

pub mod draw;
pub mod fixed;
pub mod ledger;
pub mod quote;
pub mod storage;

pub use draw::{DrawError, WEIGHTED_DRAW_CANDIDATES_MAX, draw_weighted_distinct};
pub use fixed::PPM_ONE;
pub use ledger::{
    EVENT_WEIGHT, LedgerParams, NodeEstimate, RECORD_SIZE_BYTES_MAX, ReliabilityRecord, TaskKind,
    draw_weight, is_eligible_relayer,
};
pub use quote::{
    HOPS_MAX, PriceQuote, QUOTE_SIZE_BYTES_MAX, QuoteParams, QuoteRequest, RELAYERS_MAX,
    ReliabilityTier, StakedNode, quote, tier_price,
};
pub use storage::{StorageParams, prepaid_for_years, shard_base_charge, shard_period_charge};

use bitverse_primitives::{AccountId, CodecError};

/// Why a ledger operation or a quote could not be computed. Every variant names something the
/// caller passed; none depends on anything but the arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// A parameter is outside its valid range (the message names it).
    #[error("invalid market parameter: {0}")]
    InvalidParams(&'static str),
    /// A record was asked to move back in time: records only ever decay forward.
    #[error("height {height} is before the record's last update at height {record_height}")]
    HeightBeforeRecord {
        /// The height asked for.
        height: u64,
        /// The height the record was last updated at.
        record_height: u64,
    },
    /// More relayers than a quote considers.
    #[error("{count} relayers exceed the limit of {max}")]
    TooManyRelayers {
        /// Relayers passed.
        count: usize,
        /// [`RELAYERS_MAX`].
        max: usize,
    },
    /// The same relayer appears twice in the staked set.
    #[error("relayer {0} appears twice")]
    DuplicateRelayer(AccountId),
    /// A price does not fit in an `Amount` (absurd fuel budget or price parameters).
    #[error("price overflows the amount range")]
    PriceOverflow,
    /// Bytes that are not a canonical record or quote.
    #[error("malformed encoding: {0}")]
    Malformed(CodecError),
}
