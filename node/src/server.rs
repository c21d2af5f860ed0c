//! The node's JSON-RPC 2.0 server: binds the HTTP endpoint with explicit limits and answers
//! the `bv_*` methods from the chain. Every error a caller can cause is a JSON-RPC error with a
//! stable code (docs/RPC.md); the node's own failures are -32603 and logged.

use std::net::SocketAddr;
use std::sync::Arc;

use bitverse_blocktree::{Blocktree, Chain, ChainError, Transaction, TxError, TxStatus};
use bitverse_primitives::{AccountId, ChainId, Hash};
use jsonrpsee::server::{BatchRequestConfig, RpcModule, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::p2p::P2pHandle;
use crate::rpc_api::{
    AccountResult, BannedPeerResult, CODE_INTERNAL_ERROR, CODE_INVALID_PARAMS,
    CODE_NOT_ANCHORED_YET, CODE_NOT_TRACKED, ChainResult, HEADERS_PER_CALL_MAX, KeyChainResult,
    KeyspaceResult, METHOD_CHAINS, METHOD_GET_ACCOUNT, METHOD_GET_BLOCK, METHOD_GET_HEADERS,
    METHOD_GET_KEY_CHAIN, METHOD_GET_KEYSPACE, METHOD_GET_PROOF, METHOD_GET_TRANSACTION,
    METHOD_GET_VALUE, METHOD_NETWORK_STATUS, METHOD_SEND_TRANSACTION, METHOD_STATUS,
    NetworkStatusResult, PeerResult, ProofResult, REQUEST_BODY_BYTES_MAX, RESPONSE_BODY_BYTES_MAX,
    ScriptRejectionData, StatusResult, TransactionResult, TxStatusName, ValueResult,
};

/// Most simultaneous RPC connections. Each may hold a blocking thread while it waits for the
/// chain lock, so this also bounds the threads RPC can occupy.
const RPC_CONNECTIONS_MAX: u32 = 64;
/// Most calls in one JSON-RPC batch. 1000 small puts fit in [`REQUEST_BODY_BYTES_MAX`]; the
/// bound keeps one request from holding the chain lock through an unbounded list.
const RPC_BATCH_CALLS_MAX: u32 = 1000;

/// What the RPC methods share: the blocktree and the sealer's doorbell.
pub(crate) struct RpcContext {
    /// The root chain (the blocktree's); every access goes through this lock, from blocking
    /// threads.
    pub(crate) chain: Arc<Mutex<Chain>>,
    /// The root and the data chains this node tracks.
    pub(crate) tree: Arc<Blocktree>,
    /// Rung after each admitted transaction so a dev sealer seals at once.
    pub(crate) tx_admitted: Arc<Notify>,
    /// Whether the node runs in dev mode.
    pub(crate) dev: bool,
    /// The network, when the node runs one: admitted transactions are published to it.
    pub(crate) p2p: Option<P2pHandle>,
}

/// Binds `addr` and serves the RPC methods until the handle is stopped. Returns the address
/// actually bound (which differs from `addr` for port 0).
pub(crate) async fn start(
    addr: SocketAddr,
    context: RpcContext,
) -> anyhow::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(REQUEST_BODY_BYTES_MAX)
        .max_response_body_size(RESPONSE_BODY_BYTES_MAX)
        .max_connections(RPC_CONNECTIONS_MAX)
        .set_batch_request_config(BatchRequestConfig::Limit(RPC_BATCH_CALLS_MAX))
        .http_only()
        .build();
    let server = Server::builder()
        .set_config(config)
        .build(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind RPC address {addr}: {e}"))?;
    let bound = server.local_addr()?;
    let handle = server.start(methods(context)?);
    Ok((bound, handle))
}

fn methods(context: RpcContext) -> anyhow::Result<RpcModule<RpcContext>> {
    let mut module = RpcModule::new(context);
    // Every method reads the chain under its lock, which may wait behind a block being
    // sealed: blocking methods run on tokio's blocking pool, never on the async workers.
    module.register_blocking_method(METHOD_STATUS, |_, ctx, _| status(&ctx))?;
    module.register_blocking_method(METHOD_GET_ACCOUNT, |params, ctx, _| {
        get_account(&params, &ctx)
    })?;
    module.register_blocking_method(METHOD_SEND_TRANSACTION, |params, ctx, _| {
        send_transaction(&params, &ctx)
    })?;
    module.register_blocking_method(METHOD_GET_TRANSACTION, |params, ctx, _| {
        get_transaction(&params, &ctx)
    })?;
    module.register_blocking_method(METHOD_GET_KEYSPACE, |params, ctx, _| {
        get_keyspace(&params, &ctx)
    })?;
    module.register_blocking_method(METHOD_GET_VALUE, |params, ctx, _| get_value(&params, &ctx))?;
    module.register_blocking_method(METHOD_GET_PROOF, |params, ctx, _| get_proof(&params, &ctx))?;
    module.register_blocking_method(METHOD_GET_HEADERS, |params, ctx, _| {
        get_headers(&params, &ctx)
    })?;
    module.register_blocking_method(METHOD_GET_BLOCK, |params, ctx, _| get_block(&params, &ctx))?;
    module.register_blocking_method(METHOD_CHAINS, |_, ctx, _| chains(&ctx))?;
    module.register_blocking_method(METHOD_NETWORK_STATUS, |_, ctx, _| network_status(&ctx))?;
    module.register_blocking_method(METHOD_GET_KEY_CHAIN, |params, ctx, _| {
        get_key_chain(&params, &ctx)
    })?;
    Ok(module)
}

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(CODE_INVALID_PARAMS, message, None::<()>)
}

fn tx_error(e: &TxError) -> ErrorObjectOwned {
    match e {
        // The reason code is in the message too; `data` is for programs.
        TxError::ScriptRejected {
            keyspace,
            reason_code,
            ..
        } => ErrorObjectOwned::owned(
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
fn chain_error(e: ChainError) -> ErrorObjectOwned {
    match e {
        ChainError::Tx(e) => tx_error(&e),
        ChainError::NotTracked(_) => {
            ErrorObjectOwned::owned(CODE_NOT_TRACKED, e.to_string(), None::<()>)
        }
        ChainError::RelayPending(_) => {
            ErrorObjectOwned::owned(CODE_NOT_ANCHORED_YET, e.to_string(), None::<()>)
        }
        other => {
            tracing::error!(error = %other, "RPC call failed inside the node");
            ErrorObjectOwned::owned(CODE_INTERNAL_ERROR, other.to_string(), None::<()>)
        }
    }
}

fn status(ctx: &RpcContext) -> RpcResult<StatusResult> {
    let chain = ctx.chain.lock();
    let tip = chain.tip();
    Ok(StatusResult {
        network: chain.params().network.clone(),
        genesis_hash: chain.genesis_hash(),
        dev: ctx.dev,
        height: tip.height,
        tip: tip.hash,
        state_root: tip.state_root,
        time_ms: tip.time_ms,
        difficulty: tip.difficulty,
        mempool_size: chain.mempool_len(),
        peers: ctx.p2p.as_ref().map_or(0, |p| p.snapshot().peers.len()),
        storage_price_per_byte: chain.params().root.storage_price_per_byte,
        storage_price_per_byte_by_depth: std::iter::once(&chain.params().root)
            .chain(&chain.params().deeper)
            .map(|d| d.storage_price_per_byte)
            .collect(),
    })
}

fn get_account(params: &Params<'_>, ctx: &RpcContext) -> RpcResult<AccountResult> {
    let mut args = params.sequence();
    let text: String = args.next()?;
    let chain_id = parse_chain(args.optional_next()?)?;
    let account: AccountId = text.parse().map_err(|e| invalid_params(format!("{e}")))?;
    let chain = ctx
        .tree
        .chain(chain_id)
        .ok_or(ChainError::NotTracked(chain_id))
        .map_err(chain_error)?;
    let chain = chain.lock();
    let state = chain.account(&account).map_err(chain_error)?;
    let pending_nonce = chain.pending_nonce(&account).map_err(chain_error)?;
    Ok(AccountResult {
        balance: state.balance,
        nonce: state.nonce,
        pending_nonce,
    })
}

fn send_transaction(params: &Params<'_>, ctx: &RpcContext) -> RpcResult<Hash> {
    let tx_hex: String = params.one()?;
    let bytes = hex::decode(tx_hex.trim_start_matches("0x"))
        .map_err(|e| invalid_params(format!("tx_hex is not hexadecimal: {e}")))?;
    // Decoding (size-limited) and the stateless checks need no lock: garbage is turned away
    // without making honest callers wait.
    let tx = Transaction::from_bytes(&bytes).map_err(|e| tx_error(&e))?;
    let chain = tx.body.chain;
    tx.check_stateless(chain).map_err(|e| tx_error(&e))?;
    let hash = ctx.tree.submit(tx).map_err(chain_error)?;
    ctx.tx_admitted.notify_one();
    // The network carries the root's transactions today; data chains' join it with
    // per-chain topics.
    if let (Some(p2p), true) = (&ctx.p2p, chain.is_root()) {
        p2p.publish_transaction(bytes);
    }
    tracing::debug!(%hash, "transaction admitted");
    Ok(hash)
}

fn get_transaction(params: &Params<'_>, ctx: &RpcContext) -> RpcResult<TransactionResult> {
    let mut args = params.sequence();
    let text: String = args.next()?;
    let named: Option<String> = args.optional_next()?;
    let hash: Hash = text.parse().map_err(|e| invalid_params(format!("{e}")))?;
    let chains = match named {
        Some(_) => vec![parse_chain(named)?],
        None => std::iter::once(ChainId::ROOT)
            .chain(ctx.tree.data_chains())
            .collect(),
    };
    let mut status = TxStatus::Unknown;
    for chain in chains {
        status = ctx.tree.tx_status(chain, &hash).map_err(chain_error)?;
        if status != TxStatus::Unknown {
            break;
        }
    }
    let mut result = TransactionResult {
        status: TxStatusName::Unknown,
        height: None,
        block: None,
        index: None,
        error: None,
        error_code: None,
        script_reason_code: None,
    };
    match status {
        TxStatus::Unknown => {}
        TxStatus::Pending => result.status = TxStatusName::Pending,
        TxStatus::Included {
            height,
            block,
            index,
        } => {
            result.status = TxStatusName::Included;
            result.height = Some(height);
            result.block = Some(block);
            result.index = Some(index);
        }
        TxStatus::Dropped { error } => {
            result.status = TxStatusName::Dropped;
            result.error_code = Some(error.code());
            if let TxError::ScriptRejected { reason_code, .. } = &error {
                result.script_reason_code = Some(*reason_code);
            }
            result.error = Some(error.to_string());
        }
    }
    Ok(result)
}

fn get_keyspace(params: &Params<'_>, ctx: &RpcContext) -> RpcResult<Option<KeyspaceResult>> {
    let name: String = params.one()?;
    let record = ctx.chain.lock().keyspace(&name).map_err(chain_error)?;
    Ok(record.map(|r| KeyspaceResult {
        chain: r.chain().map_or_else(String::new, |c| c.to_string()),
        name: r.name,
        owner: r.owner,
        quota_bytes: r.quota_bytes,
        used_bytes: r.used_bytes,
        endowment: r.endowment,
        script_hash: r.script_hash,
        depth: r.depth,
    }))
}

fn get_value(params: &Params<'_>, ctx: &RpcContext) -> RpcResult<ValueResult> {
    let key: String = params.one()?;
    let chain_id = ctx.tree.chain_of_key(&key).map_err(chain_error)?;
    let chain = ctx
        .tree
        .chain(chain_id)
        .ok_or(ChainError::NotTracked(chain_id))
        .map_err(chain_error)?;
    // Value and height from one tip: the chain's lock is held across both (the root's too,
    // for a data chain, inside `value_with`).
    let chain = chain.lock();
    let value = if chain_id.is_root() {
        chain.value(&key)
    } else {
        chain.value_with(&key, Some(&ctx.chain.lock()))
    }
    .map_err(chain_error)?;
    Ok(ValueResult {
        value_hex: value.map(hex::encode),
        height: chain.tip().height,
        chain: chain_id.to_string(),
    })
}

fn get_proof(params: &Params<'_>, ctx: &RpcContext) -> RpcResult<ProofResult> {
    let key: String = params.one()?;
    let proof = ctx.tree.value_proof(&key).map_err(chain_error)?;
    Ok(ProofResult {
        proof_hex: hex::encode(proof.to_bytes()),
    })
}

fn get_headers(params: &Params<'_>, ctx: &RpcContext) -> RpcResult<Vec<String>> {
    let (from_height, count): (u64, u64) = params.parse()?;
    if count > HEADERS_PER_CALL_MAX {
        return Err(invalid_params(format!(
            "count {count} exceeds the maximum of {HEADERS_PER_CALL_MAX} headers per call"
        )));
    }
    let chain = ctx.chain.lock();
    let end_height = from_height
        .saturating_add(count)
        .min(chain.tip().height.saturating_add(1));
    let mut headers = Vec::new();
    for height in from_height..end_height {
        match chain.header_at(height).map_err(chain_error)? {
            Some(header) => headers.push(hex::encode(header.to_bytes())),
            None => break,
        }
    }
    Ok(headers)
}

fn get_block(params: &Params<'_>, ctx: &RpcContext) -> RpcResult<Option<String>> {
    let height: u64 = params.one()?;
    let block = ctx.chain.lock().block_at(height).map_err(chain_error)?;
    Ok(block.map(|b| hex::encode(b.to_bytes())))
}

fn chains(ctx: &RpcContext) -> RpcResult<Vec<ChainResult>> {
    let summaries = ctx.tree.summaries().map_err(chain_error)?;
    Ok(summaries
        .into_iter()
        .map(|s| ChainResult {
            chain: s.chain.to_string(),
            depth: s.chain.depth(),
            height: s.height.unwrap_or(0),
            tip: s.tip.unwrap_or(Hash::ZERO),
            anchored_height: s.anchored_height,
            final_height: s.final_height,
            tracked: s.tracked,
        })
        .collect())
}

fn get_key_chain(params: &Params<'_>, ctx: &RpcContext) -> RpcResult<KeyChainResult> {
    let key: String = params.one()?;
    let chain = ctx.tree.chain_of_key(&key).map_err(chain_error)?;
    let keyspace = ctx.tree.home_keyspace(&key).map_err(chain_error)?;
    Ok(KeyChainResult {
        keyspace,
        chain: chain.to_string(),
        depth: chain.depth(),
    })
}

/// A chain named by a caller: `root` when absent.
fn parse_chain(text: Option<String>) -> RpcResult<ChainId> {
    match text {
        None => Ok(ChainId::ROOT),
        Some(text) => text.parse().map_err(|e| invalid_params(format!("{e}"))),
    }
}

fn network_status(ctx: &RpcContext) -> RpcResult<NetworkStatusResult> {
    let height = ctx.chain.lock().tip().height;
    let Some(p2p) = &ctx.p2p else {
        return Ok(NetworkStatusResult {
            enabled: false,
            peer_id: None,
            listen_addrs: Vec::new(),
            peer_count: 0,
            peers: Vec::new(),
            banned_peers: Vec::new(),
            height,
            best_peer_height: None,
            syncing: false,
            sync_peer: None,
            synced_blocks: 0,
        });
    };
    let snapshot = p2p.snapshot();
    Ok(NetworkStatusResult {
        enabled: true,
        peer_id: Some(snapshot.peer_id),
        listen_addrs: snapshot.listen_addrs,
        peer_count: snapshot.peers.len(),
        peers: snapshot
            .peers
            .into_iter()
            .map(|p| PeerResult {
                peer_id: p.peer_id,
                addr: p.addr,
                height: p.height,
                tip: p.tip,
                cumulative_work: p.cumulative_work.map(|w| w.to_string()),
                rejected_messages: p.rejected_messages,
                gossip_score: p.gossip_score,
            })
            .collect(),
        banned_peers: snapshot
            .banned
            .into_iter()
            .map(|b| BannedPeerResult {
                peer_id: b.peer_id,
                reason: b.reason,
                rejected_messages: b.rejected_messages,
                remaining_ms: b.remaining_ms,
            })
            .collect(),
        height,
        best_peer_height: snapshot.best_peer_height,
        syncing: snapshot.syncing,
        sync_peer: snapshot.sync_peer,
        synced_blocks: snapshot.synced_blocks,
    })
}
