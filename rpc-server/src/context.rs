//! What every RPC method's handler shares: the [`RpcContext`] it answers from, and how a
//! chain's refusal or a bad parameter becomes a JSON-RPC error with its stable code.

use std::sync::Arc;

use bitverse_blocktree::{Blocktree, Chain, ChainError, KeyspaceError, TxError};
use bitverse_index::BrowseIndex;
use bitverse_market_agent::Exchange;
use bitverse_metrics::NodeMetrics;
use bitverse_p2p::P2pHandle;
use bitverse_primitives::{AccountId, ChainId};
use bitverse_rpc_api::{CODE_INTERNAL_ERROR, CODE_INVALID_PARAMS, ScriptRejectionData};
use jsonrpsee::types::ErrorObjectOwned;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// What the RPC methods share: the blocktree, the sealer's doorbell, the network and the
/// metrics.
pub struct RpcContext {
    /// The root chain (the blocktree's); every access goes through this lock, from blocking
    /// threads.
    pub chain: Arc<Mutex<Chain>>,
    /// The root and the data chains this node tracks.
    pub tree: Arc<Blocktree>,
    /// Rung after each admitted transaction so a dev sealer seals at once.
    pub tx_admitted: Arc<Notify>,
    /// Whether the node runs in dev mode.
    pub dev: bool,
    /// The network, when the node runs one: admitted transactions are published to it.
    pub p2p: Option<P2pHandle>,
    /// The node's metrics and heads feed.
    pub metrics: Arc<NodeMetrics>,
    /// The browse index: `bv_browse` reads it, `bv_getValue` counts reads in it.
    pub browse: Arc<BrowseIndex>,
    /// The account this node's blocks pay: its own account, whose ledger `bitverse ledger`
    /// shows when no account is named.
    pub miner: AccountId,
    /// The compute market as this node heard it, and the way to speak on it.
    pub exchange: Arc<Exchange>,
}

/// What a handler returns: its result, or the JSON-RPC error the caller gets.
pub(crate) type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// A parameter the caller got wrong, with what is wrong in the message.
pub(crate) fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(CODE_INVALID_PARAMS, message, None::<()>)
}

/// A refused transaction's error, with its code; a script's refusal carries its reason code
/// as data, for programs.
pub(crate) fn tx_error(e: &TxError) -> ErrorObjectOwned {
    match e {
        // The reason code is in the message too; `data` is for programs.
        TxError::Keyspace(KeyspaceError::ScriptRejected {
            keyspace,
            reason_code,
            ..
        }) => ErrorObjectOwned::owned(
            e.code(),
            e.to_string(),
            Some(ScriptRejectionData {
                keyspace: keyspace.clone(),
                reason_code: *reason_code,
            }),
        ),
        _ => ErrorObjectOwned::owned(e.code(), e.to_string(), None::<()>),
    }
}

/// A transaction error is the caller's and keeps its stable code, as do an untracked chain
/// and a data chain not anchored yet; anything else is the node's.
pub(crate) fn chain_error(e: ChainError) -> ErrorObjectOwned {
    if let ChainError::Tx(e) = &e {
        return tx_error(e);
    }
    let code = bitverse_rpc_api::chain_error_code(&e);
    if code == CODE_INTERNAL_ERROR {
        tracing::error!(error = %e, "RPC call failed inside the node");
    }
    ErrorObjectOwned::owned(code, e.to_string(), None::<()>)
}

/// A chain named by a caller: `root` when absent.
pub(crate) fn parse_chain(text: Option<String>) -> RpcResult<ChainId> {
    match text {
        None => Ok(ChainId::ROOT),
        Some(text) => text.parse().map_err(|e| invalid_params(format!("{e}"))),
    }
}
