//! The blocktree: blocks and transactions, proof of work, fork choice and reorgs, the state
//! each chain commits to (a Jellyfish Merkle Tree), the mempool, light-client proofs, and the
//! storage underneath (RocksDB, or memory for tests).
//!
//! Today it runs the root chain; every type carries a `ChainId` so that data chains can follow.
//!
//! Invariant: this crate knows nothing of libp2p, RPC, clap or the clock. Time comes in as an
//! argument where the rules need it (the maximum-future-time rule), and nothing
//! consensus-critical reads a random source, a float, or a hash map's iteration order.

pub mod block;
mod chain;
pub mod error;
pub mod mempool;
pub mod params;
pub mod pow;
pub mod proof;
mod scripts;
pub mod state;
pub mod store;
pub mod tx;

pub use block::{Block, BlockHeader};
pub use chain::{
    Chain, DROPPED_TXS_REMEMBERED_MAX, ImportOutcome, TipInfo, TxStatus, genesis_block,
    genesis_hash_of,
};
pub use error::{BlockError, ChainError, StoreError, TxError};
pub use params::{ChainParams, DEV_ACCOUNT_NAMES};
pub use proof::{KeyspaceProof, ProofError, ValueProof, verify_header_chain};
pub use state::{AccountState, KeyspaceRecord};
pub use tx::{
    SCRIPT_SIZE_BYTES_MAX, TX_SIZE_BYTES_MAX, Transaction, TxPayload, UnsignedTx,
    VALUE_SIZE_BYTES_MAX,
};
