//! Keyspaces: names bought on the root chain, the keys they govern, where a key lives in the
//! address space, and (in `script`) the validation scripts that guard every write.
//!
//! Invariant: this crate knows nothing of blocks, chains, storage, networks or RPC. It answers
//! questions about names and keys as pure functions; the blocktree decides what is registered.

mod name;
pub mod script;

pub use name::{
    KEY_SIZE_BYTES_MAX, KEYSPACE_NAME_BYTES_MAX, KeyError, KeyspaceName, check_key,
    home_candidates, key_address,
};
