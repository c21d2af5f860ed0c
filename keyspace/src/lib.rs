//! Keyspaces: names bought on the root chain, the keys they govern, where a key lives in the
//! address space, and (in `script`) the validation scripts that guard every write.
//!
//! Invariant: this crate knows nothing of blocks, chains, storage, networks or RPC. It answers
//! questions about names and keys as pure functions; the blocktree decides what is registered.
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

mod name;
pub mod script;

pub use name::{
    KEY_SIZE_BYTES_MAX, KEYSPACE_NAME_BYTES_MAX, KeyError, KeyspaceName, check_key,
    home_candidates, key_address,
};
