//! Bitverse blobs: files larger than a value, kept off chain as erasure-coded shards that a
//! reader checks as they stream in. This crate is the codec only: no network, node or chain.
//!
//! - [`manifest`]: what a key's on-chain value holds for a blob (size, content hash, k-of-n,
//!   the stripe layout, one root per shard, a version byte), its canonical encoding, bounded
//!   decode and the validation the chain runs on it.
//! - [`erasure`]: a file streamed into n shards (k data, n − k recovery) stripe by stripe, and
//!   rebuilt from any k of them, in memory bounded by the stripe, never by the file.
//! - [`challenge`]: keys only a holder of a whole shard can derive, for the publisher's
//!   challenge bounties.
//! - [`verified`]: each shard's BLAKE3 outboard tree (`bao-tree`, 16 KiB chunk groups), range
//!   proofs against the shard root, and their verification chunk group by chunk group.
//!
//! What a manifest leaves out, because it needs the chain: the storers that hold each shard
//! and the storage payment (endowment, audits, challenges). Those live beside the manifest in
//! the chain's own records, where placement is drawn by the chain and not by the publisher.
//!
//! Invariant: this crate depends on `primitives` only among Bitverse crates. The manifest's
//! validation is consensus (every node runs it on a blob write), so the whole crate keeps the
//! consensus lints: no `unwrap`, `expect`, panics, indexing or unchecked arithmetic outside tests.
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

pub mod challenge;
pub mod erasure;
pub mod manifest;
pub mod verified;

pub use challenge::{ChallengeKeyer, challenge_nonce, challenge_secret, claim_message};
pub use erasure::{BlobDecoder, BlobEncoder, DecodeError, EncodeError, decode_blob, encode_blob};
pub use manifest::{
    BLOB_SIZE_BYTES_MAX, Layout, MANIFEST_BYTES_MAX, MANIFEST_VERSION, Manifest, ManifestError,
    PIECE_BYTES_DEFAULT, PIECE_BYTES_MAX, SHARDS_MAX, Shares, SharesParseError, Stripe,
};
pub use verified::{
    CHUNK_GROUP_BYTES, CHUNK_GROUP_PROOF_BYTES_MAX, ShardOutboard, VerifyError, chunk_group_count,
    chunk_group_proof_bytes_max, chunk_group_range, encode_outboard, prove_range, verify_range,
};
