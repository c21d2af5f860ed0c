//! Bitverse primitives: the hash, keys and signatures, accounts, amounts, chain ids and the
//! canonical codec that every other crate builds on.
//!
//! Invariant: this crate is the bottom of the dependency graph. It knows nothing of blocks,
//! keyspaces, scripts, storage, networks or RPC, and depends on no other Bitverse crate.
//!
//! Everything here is consensus: no `unwrap`, `expect`, panics, indexing or unchecked
//! arithmetic outside tests, for the whole crate.
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

mod amount;
mod chain_id;
pub mod codec;
mod hash;
mod keys;
#[cfg(feature = "schemars")]
mod schema;

pub use amount::{
    AMOUNT_TEXT_BYTES_MAX, Amount, AmountError, BASE_UNIT_SUFFIX, BASE_UNITS_PER_COIN,
    COIN_DECIMALS, COIN_SYMBOL, Coins,
};
pub use chain_id::{ChainId, ChainIdError, DEPTH_MAX};
pub use codec::{CodecError, decode, decode_with_limit, encode};
pub use hash::{Hash, HashParseError};
pub use keys::{AccountId, AccountParseError, KeyError, SecretKey, Signature};
