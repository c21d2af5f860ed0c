//! The blocktree: blocks and transactions, proof of work, fork choice and reorgs, the state
//! each chain commits to (a Jellyfish Merkle Tree), the mempool, light-client proofs, and the
//! storage underneath (RocksDB, or memory for tests).
//!
//! A [`Blocktree`] holds the root chain and the data chains below it, each a [`Chain`] with
//! its own lock, in one store.
//!
//! Invariant: this crate knows nothing of libp2p, RPC, clap or the clock. Time comes in as an
//! argument where the rules need it (the maximum-future-time rule), and nothing
//! consensus-critical reads a random source, a float, or a hash map's iteration order.
//!
//! All of it is consensus or feeds it: no `unwrap`, `expect`, panics, indexing or unchecked
//! arithmetic outside tests, for the whole crate (one attribute here rather than one a module).
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

pub mod anchoring;
mod apply;
pub mod blob;
pub mod block;
pub mod bounty;
mod chain;
pub mod endowment;
pub mod error;
mod genesis;
pub mod headers;
mod keyspace;
pub mod mempool;
pub mod params;
pub mod pow;
pub mod proof;
mod scripts;
pub mod stake;
pub mod state;
pub mod store;
pub mod tree;
pub mod tx;

pub use anchoring::{ANCHOR_HEADERS_MAX, ChildAnchor};
pub use blob::{
    AUDITS_PER_BLOCK_MAX, AuditTotals, BLOBS_LIVE_MAX, Blob, BlobFailure, BlobStatus, BlobTotals,
    CAPACITY_BYTES_MAX, CHALLENGE_AMOUNT_MIN, CHALLENGES_PER_BLOCK_MAX, CHALLENGES_PER_STORER_MAX,
    Challenge, ChallengeResult, ChallengeTotals, PLACEMENT_DELAY_BLOCKS, PLACEMENT_QUEUE_MAX,
    PLACEMENTS_PER_BLOCK_MAX, PendingAudit, RECEIPTS_PER_TX_MAX, REDRAWS_PER_SHARD_MAX,
    SHARD_PROOF_BYTES_MAX, SHARD_PROOFS_PER_TX_MAX, Shard, ShardProof, ShardReceipt, StorerRecord,
};
pub use block::{Anchor, Block, BlockHeader, MergedWork};
pub use bounty::{
    BOUNTIES_EXPIRING_PER_HEIGHT_MAX, BOUNTY_INPUTS_MAX, Bounty, BountyStatus, BountyTerms,
    BountyTotals, DeepValue, EXPIRY_BLOCKS_MAX, Lineup, OPEN_BOUNTIES_MAX,
    OPEN_BOUNTIES_PER_ACCOUNT_MAX, PIN_AGE_BLOCKS_MAX, PinnedKey, Slash, deep_value_key,
};
pub use chain::{
    Candidate, Chain, DROPPED_TXS_REMEMBERED_MAX, ImportOutcome, REEVALUATE_ATTEMPTS_MAX, TipInfo,
    TxStatus, genesis_block, genesis_block_of, genesis_hash_of,
};
pub use endowment::{EarningsProof, EndowmentPool};
pub use error::{
    AccountError, AdmissionError, BlockError, BountyEnd, BountyError, ChainError, DeepValueFault,
    ERROR_CODES, EarningsError, ErrorCode, ErrorStage, KeyspaceError, SandboxFailure, StakeError,
    StatelessError, StorageError, StoreError, TxError, codes, role_name,
};
pub use headers::{HeaderChainChecker, HeaderRules};
pub use params::{ChainParams, DEV_ACCOUNT_NAMES, DepthParams};
pub use proof::{AnchorLink, KeyspaceProof, ProofError, ValueProof, verify_header_chain};
pub use stake::{
    STAKED_NODES_PER_ROLE_MAX, StakeRecord, UNBONDING_ENTRIES_PER_ACCOUNT_MAX, Unbonding,
};
pub use state::{AccountState, KeyspaceRecord};
pub use tree::{Blocktree, ChainSummary, Tracking, chain_of_keyspace};
pub use tx::{
    SCRIPT_SIZE_BYTES_MAX, TX_SIZE_BYTES_MAX, Transaction, TxPayload, UnsignedTx,
    VALUE_SIZE_BYTES_MAX, VerifiedTx,
};
