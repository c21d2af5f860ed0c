//! What a node does for blobs over the network (issue 19): as a storer, answer the shard
//! protocol from its shard store once the chain says a shard is placed on it; for a client,
//! push a file's shards to their storers as the file streams through the erasure coder, and
//! read a blob back from any k storers, every chunk verified against its shard root as it
//! arrives and a failing storer replaced by another shard's at once.
//!
//! - [`upload`]: one sender a storer, fed pieces through a short queue by the encoder.
//! - [`fetch`]: stripe by stripe from k shards, prefetched a piece ahead, verified.
//! - [`repair`]: a shard rebuilt from k others and written into this storer's store.
//! - [`storer`]: the [`bitverse_p2p::ShardService`] of a storing node.
//! - [`role`]: the storer's role as a node runs it: the store, placement read from the root
//!   chain, and the keeper that declares capacity, confirms shards and drops ended ones.
//!
//! Everything here blocks: run it on a blocking thread. The network is reached through
//! [`ShardTransport`], which the p2p handle implements (and tests may implement in process).
//!
//! Invariant: knows nothing of the RPC server, the CLI or HTTP; `upload`, `fetch` and
//! `storer` read the chain only through what their caller hands them (the manifest, the
//! placement, a [`storer::ShardPlacement`]); only `role` reads and writes the root chain.

pub mod fetch;
pub mod repair;
pub mod role;
pub mod storer;
pub mod upload;

use bitverse_p2p::{P2pHandle, PeerRef, ShardRequest, ShardResponse};

/// How long one shard request may take before the storer counts as failed.
pub const SHARD_REQUEST_TIMEOUT_MS: u64 = 30_000;

/// The network as the blob agent uses it: one shard request to one storer, answered or
/// failed. Blocks the calling thread.
pub trait ShardTransport: Sync {
    /// Sends `request` to `storer` and waits for its answer, at most `timeout_ms`.
    fn request(
        &self,
        storer: PeerRef,
        request: ShardRequest,
        timeout_ms: u64,
    ) -> Result<ShardResponse, String>;
}

impl ShardTransport for P2pHandle {
    fn request(
        &self,
        storer: PeerRef,
        request: ShardRequest,
        timeout_ms: u64,
    ) -> Result<ShardResponse, String> {
        self.shard_request_blocking(storer, request, timeout_ms)
    }
}

/// Attempts at one request before its storer counts as failed: a busy storer or a lost
/// answer is tried again after a pause that doubles from [`RETRY_PAUSE_MS`].
const REQUEST_ATTEMPTS: u32 = 4;
/// The first pause between attempts.
const RETRY_PAUSE_MS: u64 = 50;

/// Sends `request` to `storer`, trying again on a transport failure or a busy answer; a
/// storer's own answer (including a refusal) is returned as it is.
fn request_with_retries(
    transport: &dyn ShardTransport,
    storer: PeerRef,
    request: &ShardRequest,
    timeout_ms: u64,
) -> Result<ShardResponse, String> {
    let mut pause_ms = RETRY_PAUSE_MS;
    let mut last = String::new();
    for attempt in 1..=REQUEST_ATTEMPTS {
        match transport.request(storer, request.clone(), timeout_ms) {
            Ok(ShardResponse::Busy) => last = format!("storer {storer} stayed busy"),
            Ok(response) => return Ok(response),
            Err(e) => last = e,
        }
        if attempt < REQUEST_ATTEMPTS {
            std::thread::sleep(std::time::Duration::from_millis(pause_ms));
            pause_ms = pause_ms.saturating_mul(2);
        }
    }
    Err(last)
}

/// An answer the protocol does not allow at this step, as text for a failure.
fn unexpected(response: &ShardResponse) -> String {
    match response {
        ShardResponse::Refused { reason } => format!("refused: {reason}"),
        ShardResponse::Begun { .. } => "answered `begun` out of turn".to_owned(),
        ShardResponse::Written { .. } => "answered `written` out of turn".to_owned(),
        ShardResponse::Stored => "answered `stored` out of turn".to_owned(),
        ShardResponse::Proof { .. } => "answered a proof out of turn".to_owned(),
        ShardResponse::Busy => "stayed busy".to_owned(),
    }
}
