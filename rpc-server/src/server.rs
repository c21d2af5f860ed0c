//! The node's JSON-RPC 2.0 server: binds the HTTP and WebSocket endpoint with explicit limits
//! and answers the `bv_*` methods from the chain, the `rpc.discover` document (see `openrpc`)
//! and the WebSocket subscriptions; it also serves `GET /metrics` (see `metrics`) and times
//! every call. Every error a caller can cause is a JSON-RPC error with a stable code
//! (docs/RPC.md); the node's own failures are -32603 and logged.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bitverse_blocktree::{Blocktree, ChainError, Transaction, TxStatus};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash};
use jsonrpsee::core::{BoxError, SubscriptionResult};
use jsonrpsee::server::middleware::rpc::{
    Batch, BatchEntry, Notification, Request, RpcServiceBuilder, RpcServiceT,
};
use jsonrpsee::server::{
    BatchRequestConfig, BatchResponseBuilder, HttpBody, HttpRequest, HttpResponse, MethodResponse,
    PendingSubscriptionSink, RpcModule, Server, ServerConfig, ServerHandle,
};
use jsonrpsee::types::ErrorObjectOwned;
use tokio::sync::broadcast;

use crate::blobs;
use crate::context::{RpcContext, RpcResult, chain_error, invalid_params, parse_chain, tx_error};
use crate::earnings;
use crate::explorer;
use crate::forward;
use crate::market;
use bitverse_metrics::{METRICS_CONTENT_TYPE, METRICS_PATH, NodeMetrics, ScrapeSample};
use bitverse_p2p::{P2pHandle, WireTxStatus};
use bitverse_rpc_api::{
    AccountResult, BannedPeerResult, BitverseRpcServer, BitverseSubscriptionsServer, BlobResult,
    BlockResult, BlockSummaryResult, BountyResult, BrowseResult, CODE_NOT_TRACKED, ChainResult,
    EarningsProofResult, EarningsResult, HEADERS_PER_CALL_MAX, KeyChainResult, KeyspaceKeysResult,
    KeyspaceResult, LedgerResult, MarketRequestParams, MarketRequestResult, NetworkStatusResult,
    OfferResult, PeerResult, ProofResult, QuoteResult, REQUEST_BODY_BYTES_MAX,
    RESPONSE_BODY_BYTES_MAX, ResultChainResult, SEND_TRANSACTIONS_TXS_MAX, SendItemError,
    SendItemResult, StakeResult, StatusResult, StorerResult, TransactionResult, TxStatusName,
    ValueResult,
};
use bitverse_rpc_api::{OpenRpcDocument, openrpc};

/// Most simultaneous RPC connections, HTTP and WebSocket together. Each may hold a blocking
/// thread while it waits for the chain lock, so this also bounds the threads RPC can occupy.
const RPC_CONNECTIONS_MAX: u32 = 64;
/// Most calls in one JSON-RPC batch. 1000 small puts fit in [`REQUEST_BODY_BYTES_MAX`]; the
/// bound keeps one request from holding the chain lock through an unbounded list.
const RPC_BATCH_CALLS_MAX: u32 = 1000;
/// Most subscriptions one WebSocket connection may hold; with [`RPC_CONNECTIONS_MAX`] this
/// bounds the subscription tasks the node runs.
const RPC_SUBSCRIPTIONS_PER_CONNECTION_MAX: u32 = 32;
/// Messages (answers and notifications) buffered per connection for a slow reader; past it
/// the connection's subscriptions wait, and fall behind the heads feed until dropped.
const RPC_MESSAGE_BUFFER_MAX: u32 = 256;
/// How often a transaction subscription looks at its transaction besides each new head: a
/// transaction can be admitted, or dropped at block building, without the tip moving.
const TX_SUBSCRIPTION_RECHECK_MS: u64 = 1_000;

/// Binds `addr` and serves the RPC methods (HTTP and WebSocket) and `GET /metrics` until the
/// handle is stopped. Returns the address actually bound (which differs from `addr` for
/// port 0).
pub async fn start(
    addr: SocketAddr,
    context: RpcContext,
) -> anyhow::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(REQUEST_BODY_BYTES_MAX)
        .max_response_body_size(RESPONSE_BODY_BYTES_MAX)
        .max_connections(RPC_CONNECTIONS_MAX)
        .max_subscriptions_per_connection(RPC_SUBSCRIPTIONS_PER_CONNECTION_MAX)
        .set_message_buffer_capacity(RPC_MESSAGE_BUFFER_MAX)
        .set_batch_request_config(BatchRequestConfig::Limit(RPC_BATCH_CALLS_MAX))
        .build();
    let scrape = Arc::new(MetricsScrape {
        tree: context.tree.clone(),
        p2p: context.p2p.clone(),
        metrics: context.metrics.clone(),
    });
    let timing_metrics = context.metrics.clone();
    let context = Arc::new(context);
    let gateway = crate::gateway::BlobGatewayLayer {
        context: context.clone(),
        transfers: Arc::default(),
    };
    let server = Server::builder()
        .set_config(config)
        .set_http_middleware(
            tower::ServiceBuilder::new()
                .layer(gateway)
                .layer(MetricsEndpointLayer { scrape })
                .layer(explorer::ExplorerLayer),
        )
        .set_rpc_middleware(RpcServiceBuilder::new().layer_fn(move |inner| RpcTiming {
            inner,
            metrics: timing_metrics.clone(),
        }))
        .build(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind RPC address {addr}: {e}"))?;
    let bound = server.local_addr()?;
    let handle = server.start(methods(context)?);
    Ok((bound, handle))
}

/// The RPC traits' implementation: every method answers from the shared context. The traits
/// (`bitverse_rpc_api::api`) name the methods and their types; this only calls the handlers.
#[derive(Clone)]
struct Api(Arc<RpcContext>);

/// The document `rpc.discover` answers, built once.
fn discover_document() -> &'static OpenRpcDocument {
    static DOCUMENT: OnceLock<OpenRpcDocument> = OnceLock::new();
    DOCUMENT.get_or_init(|| OpenRpcDocument(openrpc::document()))
}

impl BitverseRpcServer for Api {
    fn discover(&self) -> RpcResult<OpenRpcDocument> {
        Ok(discover_document().clone())
    }

    fn status(&self) -> RpcResult<StatusResult> {
        status(&self.0)
    }

    fn get_account(&self, address: String, chain: Option<String>) -> RpcResult<AccountResult> {
        get_account(&self.0, &address, chain)
    }

    fn get_stake(&self, address: String, height: Option<u64>) -> RpcResult<StakeResult> {
        market::get_stake(&self.0, &address, height)
    }

    fn get_ledger(&self, address: String, height: Option<u64>) -> RpcResult<LedgerResult> {
        market::get_ledger(&self.0, &address, height)
    }

    fn quote(
        &self,
        transform: String,
        inputs: Vec<String>,
        fuel_budget: u64,
        height: Option<u64>,
        requester: Option<String>,
    ) -> RpcResult<QuoteResult> {
        market::quote(&self.0, transform, inputs, fuel_budget, height, requester)
    }

    fn get_bounty(&self, id: String, height: Option<u64>) -> RpcResult<Option<BountyResult>> {
        market::get_bounty(&self.0, &id, height)
    }

    fn get_blob(&self, key: String, height: Option<u64>) -> RpcResult<Option<BlobResult>> {
        blobs::get_blob(&self.0, &key, height)
    }

    fn get_storers(&self, height: Option<u64>) -> RpcResult<Vec<StorerResult>> {
        blobs::get_storers(&self.0, height)
    }

    fn market_request(&self, request: MarketRequestParams) -> RpcResult<MarketRequestResult> {
        market::market_request(&self.0, request)
    }

    fn get_offers(&self, request_id: String) -> RpcResult<Vec<OfferResult>> {
        market::get_offers(&self.0, &request_id)
    }

    fn get_result(&self, bounty_id: String) -> RpcResult<Option<ResultChainResult>> {
        market::get_result(&self.0, &bounty_id)
    }

    fn send_transaction(&self, tx_hex: String) -> RpcResult<Hash> {
        send_transaction(&self.0, &tx_hex)
    }

    fn send_transactions(&self, txs_hex: Vec<String>) -> RpcResult<Vec<SendItemResult>> {
        send_transactions(&self.0, &txs_hex)
    }

    fn get_transaction(&self, hash: String, chain: Option<String>) -> RpcResult<TransactionResult> {
        get_transaction(&self.0, &hash, chain)
    }

    fn get_keyspace(&self, name: String) -> RpcResult<Option<KeyspaceResult>> {
        get_keyspace(&self.0, &name)
    }

    fn get_value(&self, key: String) -> RpcResult<ValueResult> {
        get_value(&self.0, &key)
    }

    fn get_proof(&self, key: String) -> RpcResult<ProofResult> {
        get_proof(&self.0, &key)
    }

    fn get_key_chain(&self, key: String) -> RpcResult<KeyChainResult> {
        get_key_chain(&self.0, &key)
    }

    fn get_headers(&self, from_height: u64, count: u64) -> RpcResult<Vec<String>> {
        get_headers(&self.0, from_height, count)
    }

    fn get_block(&self, height: u64) -> RpcResult<Option<String>> {
        get_block(&self.0, height)
    }

    fn chains(&self) -> RpcResult<Vec<ChainResult>> {
        chains(&self.0)
    }

    fn get_earnings(&self, miner: String, chain: Option<String>) -> RpcResult<Vec<EarningsResult>> {
        earnings::earnings(&self.0, miner, chain)
    }

    fn get_earnings_proof(&self, miner: String, chain: String) -> RpcResult<EarningsProofResult> {
        earnings::earnings_proof(&self.0, miner, chain)
    }

    fn network_status(&self) -> RpcResult<NetworkStatusResult> {
        network_status(&self.0)
    }

    fn browse(&self, search: Option<String>, limit: Option<usize>) -> RpcResult<BrowseResult> {
        explorer::browse(&self.0, search, limit)
    }

    fn get_recent_blocks(
        &self,
        chain: Option<String>,
        count: Option<u64>,
    ) -> RpcResult<Vec<BlockSummaryResult>> {
        explorer::recent_blocks(&self.0, chain, count)
    }

    fn get_block_by_hash(
        &self,
        hash: String,
        chain: Option<String>,
    ) -> RpcResult<Option<BlockResult>> {
        explorer::block_by_hash(&self.0, &hash, chain)
    }

    fn get_keyspace_keys(
        &self,
        name: String,
        after: Option<String>,
        limit: Option<usize>,
    ) -> RpcResult<KeyspaceKeysResult> {
        explorer::keyspace_keys(&self.0, name, after, limit)
    }
}

#[jsonrpsee::core::async_trait]
impl BitverseSubscriptionsServer for Api {
    async fn subscribe_new_heads(
        &self,
        pending: PendingSubscriptionSink,
        chain: Option<String>,
    ) -> SubscriptionResult {
        follow_new_heads(chain, pending, self.0.clone()).await
    }

    async fn subscribe_transaction(
        &self,
        pending: PendingSubscriptionSink,
        hash: String,
    ) -> SubscriptionResult {
        follow_transaction(&hash, pending, self.0.clone()).await
    }
}

/// Every method of the two traits, answering from `context`.
fn methods(context: Arc<RpcContext>) -> anyhow::Result<RpcModule<Api>> {
    let api = Api(context);
    let mut module = BitverseRpcServer::into_rpc(api.clone());
    module.merge(BitverseSubscriptionsServer::into_rpc(api))?;
    Ok(module)
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
        miner: ctx.miner,
        storage_price_per_byte_by_depth: std::iter::once(&chain.params().root)
            .chain(&chain.params().deeper)
            .map(|d| d.storage_price_per_byte)
            .collect(),
    })
}

fn get_account(ctx: &RpcContext, text: &str, chain: Option<String>) -> RpcResult<AccountResult> {
    let chain_id = parse_chain(chain)?;
    let account: AccountId = text.parse().map_err(|e| invalid_params(format!("{e}")))?;
    if forward::is_forwarded(&ctx.tree, chain_id) {
        let (balance, nonce, pending_nonce) =
            forward::account(ctx.p2p.as_ref(), chain_id, &account)?;
        return Ok(AccountResult {
            balance: Amount(balance),
            nonce,
            pending_nonce,
        });
    }
    let Some(chain) = ctx.tree.chain(chain_id) else {
        // A chain this node tracks but has not opened has no block yet (or its purchase is
        // being noted this instant, as the dev sealer does just after the block is visible):
        // no account on it has sent anything. Its first write opens it.
        return Ok(AccountResult {
            balance: Amount::ZERO,
            nonce: 0,
            pending_nonce: 0,
        });
    };
    let chain = chain.lock();
    let state = chain.account(&account).map_err(chain_error)?;
    let pending_nonce = chain.pending_nonce(&account).map_err(chain_error)?;
    Ok(AccountResult {
        balance: state.balance,
        nonce: state.nonce,
        pending_nonce,
    })
}

fn send_transaction(ctx: &RpcContext, tx_hex: &str) -> RpcResult<Hash> {
    let (tx, bytes) = decode_tx_hex(tx_hex)?;
    let chain = tx.body.chain;
    if forward::is_forwarded(&ctx.tree, chain) {
        return forward::submit(ctx.p2p.as_ref(), chain, bytes, tx.hash());
    }
    let hash = ctx.tree.submit(tx).map_err(chain_error)?;
    ctx.tx_admitted.notify_one();
    publish_admitted(ctx, chain, bytes);
    tracing::debug!(%hash, "transaction admitted");
    Ok(hash)
}

/// Decodes a `tx_hex` parameter (size-limited) and makes the stateless checks, which need no
/// lock: garbage is turned away without making honest callers wait. Returns the bytes too,
/// for the network.
fn decode_tx_hex(tx_hex: &str) -> RpcResult<(Transaction, Vec<u8>)> {
    let bytes = hex::decode(tx_hex.trim_start_matches("0x"))
        .map_err(|e| invalid_params(format!("tx_hex is not hexadecimal: {e}")))?;
    let tx = Transaction::from_bytes(&bytes).map_err(|e| tx_error(&e.into()))?;
    tx.check_stateless(tx.body.chain)
        .map_err(|e| tx_error(&e.into()))?;
    Ok((tx, bytes))
}

/// Hands an admitted transaction to the network, on its chain's topic.
fn publish_admitted(ctx: &RpcContext, chain: ChainId, bytes: Vec<u8>) {
    if let Some(p2p) = &ctx.p2p {
        p2p.publish_transaction(chain, bytes);
    }
}

/// `bv_sendTransactions`: decodes every item, admits the good ones together through
/// [`Blocktree::submit_batch`], and answers each item with its hash or the error
/// `bv_sendTransaction` would have given it. Only a list over [`SEND_TRANSACTIONS_TXS_MAX`]
/// (or not a list of strings) fails the whole call.
fn send_transactions(ctx: &RpcContext, txs_hex: &[String]) -> RpcResult<Vec<SendItemResult>> {
    if txs_hex.len() > SEND_TRANSACTIONS_TXS_MAX {
        return Err(invalid_params(format!(
            "{} transactions in one call; at most {SEND_TRANSACTIONS_TXS_MAX}",
            txs_hex.len()
        )));
    }
    // (item index, answer): refusals at decoding now, the rest once the batch is admitted.
    let mut answers: Vec<(usize, RpcResult<Hash>)> = Vec::with_capacity(txs_hex.len());
    let mut decoded = Vec::new();
    for (index, tx_hex) in txs_hex.iter().enumerate() {
        match decode_tx_hex(tx_hex) {
            // A chain this node does not track: forwarded alone, as bv_sendTransaction would.
            Ok((tx, bytes)) if forward::is_forwarded(&ctx.tree, tx.body.chain) => {
                let hash = tx.hash();
                let forwarded = forward::submit(ctx.p2p.as_ref(), tx.body.chain, bytes, hash);
                answers.push((index, forwarded));
            }
            Ok((tx, bytes)) => decoded.push((index, tx, bytes)),
            Err(error) => answers.push((index, Err(error))),
        }
    }
    let txs: Vec<Transaction> = decoded.iter().map(|(_, tx, _)| tx.clone()).collect();
    let outcomes = ctx.tree.submit_batch(txs);
    let mut admitted = 0usize;
    for ((index, tx, bytes), outcome) in decoded.into_iter().zip(outcomes) {
        if outcome.is_ok() {
            admitted += 1;
            publish_admitted(ctx, tx.body.chain, bytes);
        }
        answers.push((index, outcome.map_err(chain_error)));
    }
    if admitted > 0 {
        ctx.tx_admitted.notify_one();
    }
    tracing::debug!(admitted, sent = txs_hex.len(), "transactions admitted");
    answers.sort_by_key(|(index, _)| *index);
    Ok(answers
        .into_iter()
        .map(|(_, answer)| send_item_result(answer))
        .collect())
}

fn send_item_result(item: RpcResult<Hash>) -> SendItemResult {
    match item {
        Ok(hash) => SendItemResult {
            hash: Some(hash),
            error: None,
        },
        Err(error) => SendItemResult {
            hash: None,
            error: Some(SendItemError {
                code: error.code(),
                message: error.message().to_string(),
                data: error
                    .data()
                    .and_then(|raw| serde_json::from_str(raw.get()).ok()),
            }),
        },
    }
}

fn get_transaction(
    ctx: &RpcContext,
    text: &str,
    named: Option<String>,
) -> RpcResult<TransactionResult> {
    let hash: Hash = text.parse().map_err(|e| invalid_params(format!("{e}")))?;
    let chain = match named {
        Some(_) => Some(parse_chain(named)?),
        None => None,
    };
    if let Some(chain) = chain
        && forward::is_forwarded(&ctx.tree, chain)
    {
        let status = forward::tx_status(ctx.p2p.as_ref(), chain, &hash)?;
        return Ok(wire_result(status));
    }
    transaction_result(&ctx.tree, chain, &hash)
}

/// Where the transaction `hash` is, as `bv_getTransaction` and `bv_transaction` tell it: on
/// `chain`, or without one on the first open chain that knows it, the root first.
fn transaction_result(
    tree: &Blocktree,
    chain: Option<ChainId>,
    hash: &Hash,
) -> RpcResult<TransactionResult> {
    let chains = match chain {
        Some(chain) => vec![chain],
        None => std::iter::once(ChainId::ROOT)
            .chain(tree.data_chains())
            .collect(),
    };
    let mut status = TxStatus::Unknown;
    for chain in chains {
        status = tree.tx_status(chain, hash).map_err(chain_error)?;
        if status != TxStatus::Unknown {
            break;
        }
    }
    Ok(wire_result(bitverse_p2p::wire_tx_status(status)))
}

/// A transaction's status as `bv_getTransaction` shows it, whether this node knows it or a
/// peer tracking its chain told it.
fn wire_result(status: WireTxStatus) -> TransactionResult {
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
        WireTxStatus::Unknown => {}
        WireTxStatus::Pending => result.status = TxStatusName::Pending,
        WireTxStatus::Included {
            height,
            block,
            index,
        } => {
            result.status = TxStatusName::Included;
            result.height = Some(height);
            result.block = Some(block);
            result.index = Some(index);
        }
        WireTxStatus::Dropped {
            code,
            message,
            script_reason_code,
        } => {
            result.status = TxStatusName::Dropped;
            result.error_code = Some(code);
            result.script_reason_code = script_reason_code;
            result.error = Some(message);
        }
    }
    result
}

fn get_keyspace(ctx: &RpcContext, name: &str) -> RpcResult<Option<KeyspaceResult>> {
    let record = ctx.chain.lock().keyspace(name).map_err(chain_error)?;
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

fn get_value(ctx: &RpcContext, key: &str) -> RpcResult<ValueResult> {
    let chain_id = ctx.tree.chain_of_key(key).map_err(chain_error)?;
    if forward::is_forwarded(&ctx.tree, chain_id) {
        // Fetched with its proof and checked here before it is answered.
        let proof = forward::value_proof(&ctx.tree, ctx.p2p.as_ref(), key, chain_id)?;
        let height = proof
            .links
            .last()
            .map_or(proof.header.height, |link| link.header.height);
        return Ok(ValueResult {
            value_hex: proof.value.map(hex::encode),
            height,
            chain: chain_id.to_string(),
        });
    }
    let chain = ctx
        .tree
        .chain(chain_id)
        .ok_or(ChainError::NotTracked(chain_id))
        .map_err(chain_error)?;
    // Value and height from one tip: the chain's lock is held across both (the root's too,
    // for a data chain, inside `value_with`).
    let chain = chain.lock();
    let value = if chain_id.is_root() {
        chain.value(key)
    } else {
        chain.value_with(key, Some(&ctx.chain.lock()))
    }
    .map_err(chain_error)?;
    if value.is_some() {
        ctx.browse.count_read(key);
    }
    Ok(ValueResult {
        value_hex: value.map(hex::encode),
        height: chain.tip().height,
        chain: chain_id.to_string(),
    })
}

fn get_proof(ctx: &RpcContext, key: &str) -> RpcResult<ProofResult> {
    let chain_id = ctx.tree.chain_of_key(key).map_err(chain_error)?;
    let proof = if forward::is_forwarded(&ctx.tree, chain_id) {
        forward::value_proof(&ctx.tree, ctx.p2p.as_ref(), key, chain_id)?
    } else {
        ctx.tree.value_proof(key).map_err(chain_error)?
    };
    Ok(ProofResult {
        proof_hex: hex::encode(proof.to_bytes()),
    })
}

fn get_headers(ctx: &RpcContext, from_height: u64, count: u64) -> RpcResult<Vec<String>> {
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

fn get_block(ctx: &RpcContext, height: u64) -> RpcResult<Option<String>> {
    let block = ctx.chain.lock().block_at(height).map_err(chain_error)?;
    Ok(block.map(|b| hex::encode(b.to_bytes())))
}

/// The tree as this node knows it: the chains it has open, and the chains its peers say they
/// track (with the highest height announced, and the anchor its own parent chain holds when it
/// has that parent open), each with how many connected peers track it.
fn chains(ctx: &RpcContext) -> RpcResult<Vec<ChainResult>> {
    let summaries = ctx.tree.summaries().map_err(chain_error)?;
    let peers = ctx
        .p2p
        .as_ref()
        .map(|p| p.snapshot().peers)
        .unwrap_or_default();
    // Peers tracking each chain, and the highest height one of them announced.
    let mut announced: BTreeMap<ChainId, (u32, u64)> = BTreeMap::new();
    for (chain, height) in peers.iter().flat_map(|p| p.chains.iter().copied()) {
        let entry = announced.entry(chain).or_insert((0, 0));
        entry.0 = entry.0.saturating_add(1);
        entry.1 = entry.1.max(height);
    }
    let mut results: Vec<ChainResult> = summaries
        .into_iter()
        .map(|s| ChainResult {
            chain: s.chain.to_string(),
            depth: s.chain.depth(),
            height: s.height.unwrap_or(0),
            tip: s.tip.unwrap_or(Hash::ZERO),
            anchored_height: s.anchored_height,
            final_height: s.final_height,
            tracked: s.tracked,
            peers: announced.get(&s.chain).map_or(0, |a| a.0),
        })
        .collect();
    for (chain, (peers, height)) in announced {
        if ctx.tree.chain(chain).is_some() {
            continue;
        }
        let anchored_height = match chain.parent().and_then(|p| ctx.tree.chain(p)) {
            Some(parent) => {
                let parent = parent.lock();
                parent
                    .anchor_at(&chain, parent.tip().height)
                    .map_err(chain_error)?
                    .map(|a| a.height)
            }
            None => None,
        };
        results.push(ChainResult {
            chain: chain.to_string(),
            depth: chain.depth(),
            height,
            tip: Hash::ZERO,
            anchored_height,
            final_height: None,
            tracked: false,
            peers,
        });
    }
    // Depth-first, each chain under its parent: bit strings in text order are preorder.
    results.sort_by(|a, b| (a.depth > 0, &a.chain).cmp(&(b.depth > 0, &b.chain)));
    Ok(results)
}

fn get_key_chain(ctx: &RpcContext, key: &str) -> RpcResult<KeyChainResult> {
    let chain = ctx.tree.chain_of_key(key).map_err(chain_error)?;
    let keyspace = ctx.tree.home_keyspace(key).map_err(chain_error)?;
    Ok(KeyChainResult {
        keyspace,
        chain: chain.to_string(),
        depth: chain.depth(),
    })
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
                synced_blocks: p.synced_blocks,
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

/// `bv_subscribeNewHeads(chain?)`: sends each block that joins the chain's best chain, until
/// the client unsubscribes or falls [`bitverse_metrics::NEW_HEADS_BUFFER_MAX`] heads behind.
async fn follow_new_heads(
    chain: Option<String>,
    pending: PendingSubscriptionSink,
    ctx: Arc<RpcContext>,
) -> SubscriptionResult {
    let chain = match parse_chain_param(chain, &ctx.tree) {
        Ok(chain) => chain,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    // Subscribed before accepting, so no head between the answer and the first wait is lost.
    let mut heads = ctx.metrics.subscribe_heads();
    let sink = pending.accept().await?;
    let chain_name = chain.to_string();
    loop {
        tokio::select! {
            head = heads.recv() => match head {
                Ok(head) => {
                    if head.chain != chain_name {
                        continue;
                    }
                    let message = serde_json::value::to_raw_value(head.as_ref())?;
                    if sink.send(message).await.is_err() {
                        return Ok(());
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Err(format!(
                        "the subscriber fell {missed} heads behind; resubscribe and read the \
                         missed headers with bv_getHeaders"
                    )
                    .into());
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            () = sink.closed() => return Ok(()),
        }
    }
}

/// The optional chain parameter of `bv_subscribeNewHeads`: the root when absent; a chain this
/// node does not have open is refused (its heads never reach it).
fn parse_chain_param(chain: Option<String>, tree: &Blocktree) -> RpcResult<ChainId> {
    let chain = parse_chain(chain)?;
    if tree.chain(chain).is_none() {
        return Err(ErrorObjectOwned::owned(
            CODE_NOT_TRACKED,
            format!("chain {chain} is not tracked by this node: its new heads never reach it"),
            None::<()>,
        ));
    }
    Ok(chain)
}

/// `bv_subscribeTransaction(hash)`: sends the transaction's status now and on every change,
/// ending after `included` or `dropped`. It looks again at each new head and every
/// [`TX_SUBSCRIPTION_RECHECK_MS`].
async fn follow_transaction(
    text: &str,
    pending: PendingSubscriptionSink,
    ctx: Arc<RpcContext>,
) -> SubscriptionResult {
    let hash = match text
        .parse::<Hash>()
        .map_err(|e| invalid_params(format!("{e}")))
    {
        Ok(hash) => hash,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    let mut heads = ctx.metrics.subscribe_heads();
    let sink = pending.accept().await?;
    let mut last_sent: Option<TransactionResult> = None;
    loop {
        let tree = ctx.tree.clone();
        let result = tokio::task::spawn_blocking(move || transaction_result(&tree, None, &hash))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.message().to_owned())?;
        if last_sent.as_ref() != Some(&result) {
            let message = serde_json::value::to_raw_value(&result)?;
            if sink.send(message).await.is_err() {
                return Ok(());
            }
            let done = matches!(
                result.status,
                TxStatusName::Included | TxStatusName::Dropped
            );
            if done {
                return Ok(());
            }
            last_sent = Some(result);
        }
        tokio::select! {
            // A lagging receiver only means heads were missed: the status is read anew anyway.
            _ = heads.recv() => {}
            () = tokio::time::sleep(Duration::from_millis(TX_SUBSCRIPTION_RECHECK_MS)) => {}
            () = sink.closed() => return Ok(()),
        }
    }
}

/// What `GET /metrics` reads: the chains and network for the gauges, and the metrics.
struct MetricsScrape {
    tree: Arc<Blocktree>,
    p2p: Option<P2pHandle>,
    metrics: Arc<NodeMetrics>,
}

impl MetricsScrape {
    /// The metrics as an HTTP response; the chains are read on the blocking pool, since a lock
    /// may be held by a block being built, each chain locked alone for its height.
    async fn respond(self: Arc<Self>) -> HttpResponse {
        let scrape = self.clone();
        let rendered = tokio::task::spawn_blocking(move || {
            let mut sample = {
                let root = scrape.tree.root().lock();
                ScrapeSample {
                    chain_heights: vec![(ChainId::ROOT, root.tip().height)],
                    mempool_txs: root.mempool_len(),
                    peers: 0,
                    script_fuel_used_total: root.script_fuel_used_total(),
                }
            };
            for id in scrape.tree.data_chains() {
                if let Some(chain) = scrape.tree.chain(id) {
                    sample.chain_heights.push((id, chain.lock().tip().height));
                }
            }
            let sample = ScrapeSample {
                peers: scrape.p2p.as_ref().map_or(0, |p| p.snapshot().peers.len()),
                ..sample
            };
            scrape.metrics.render(&sample)
        })
        .await;
        let response = match rendered {
            Ok(Ok(text)) => http::Response::builder()
                .status(http::StatusCode::OK)
                .header(http::header::CONTENT_TYPE, METRICS_CONTENT_TYPE)
                .body(HttpBody::from(text)),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot encode the metrics");
                return jsonrpsee::server::http::response::internal_error();
            }
            Err(e) => {
                tracing::error!(error = %e, "metrics task failed");
                return jsonrpsee::server::http::response::internal_error();
            }
        };
        response.unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot build the metrics response");
            jsonrpsee::server::http::response::internal_error()
        })
    }
}

/// The HTTP middleware that answers `GET /metrics` and passes everything else (JSON-RPC over
/// HTTP, WebSocket upgrades) to the JSON-RPC service.
#[derive(Clone)]
struct MetricsEndpointLayer {
    scrape: Arc<MetricsScrape>,
}

impl<S> tower::Layer<S> for MetricsEndpointLayer {
    type Service = MetricsEndpoint<S>;

    fn layer(&self, inner: S) -> MetricsEndpoint<S> {
        MetricsEndpoint {
            inner,
            scrape: self.scrape.clone(),
        }
    }
}

/// See [`MetricsEndpointLayer`].
#[derive(Clone)]
struct MetricsEndpoint<S> {
    inner: S,
    scrape: Arc<MetricsScrape>,
}

impl<S, B> tower::Service<HttpRequest<B>> for MetricsEndpoint<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        if request.uri().path() == METRICS_PATH && request.method() == http::Method::GET {
            let scrape = self.scrape.clone();
            return Box::pin(async move { Ok(scrape.respond().await) });
        }
        let answer = self.inner.call(request.map(HttpBody::new));
        Box::pin(async move { answer.await.map_err(Into::into) })
    }
}

/// The RPC middleware that times every call by method, batched calls one by one.
#[derive(Clone)]
struct RpcTiming<S> {
    inner: S,
    metrics: Arc<NodeMetrics>,
}

impl<S> RpcServiceT for RpcTiming<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let method = openrpc::method_label(request.method_name());
        let inner = self.inner.clone();
        let metrics = self.metrics.clone();
        async move {
            let started = Instant::now();
            let response = inner.call(request).await;
            metrics.rpc_answered(method, started.elapsed());
            response
        }
    }

    /// As jsonrpsee's own batch handling, but each call goes through [`RpcTiming::call`].
    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let service = self.clone();
        async move {
            let mut responses =
                BatchResponseBuilder::new_with_limit(RESPONSE_BODY_BYTES_MAX as usize);
            let mut got_notification = false;
            for entry in batch {
                let response = match entry {
                    Ok(BatchEntry::Call(request)) => service.call(request).await,
                    Ok(BatchEntry::Notification(notification)) => {
                        got_notification = true;
                        let _ = service.notification(notification).await;
                        continue;
                    }
                    Err(error) => {
                        let (error, id) = error.into_parts();
                        MethodResponse::error(id, error)
                    }
                };
                if let Err(too_large) = responses.append(response) {
                    return too_large;
                }
            }
            if responses.is_empty() && got_notification {
                MethodResponse::notification()
            } else {
                MethodResponse::from_batch(responses.finish())
            }
        }
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(notification)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use bitverse_blocktree::{Chain, ChainParams, TxPayload, UnsignedTx};
    use bitverse_index::BrowseIndex;
    use bitverse_market_agent::Exchange;
    use bitverse_primitives::{Amount, SecretKey};
    use jsonrpsee::core::EmptyServerParams;
    use jsonrpsee::rpc_params;
    use parking_lot::Mutex;
    use tokio::sync::Notify;

    use bitverse_index::BrowseLimits;
    use bitverse_rpc_api::{
        METHOD_DISCOVER, METHOD_SUBSCRIBE_NEW_HEADS, METHOD_SUBSCRIBE_TRANSACTION, NewHeadResult,
    };

    /// How long a test waits for a subscription's next message.
    const NOTIFICATION_TIMEOUT_MS: u64 = 10_000;

    fn context() -> RpcContext {
        let tree = Arc::new(
            Blocktree::in_memory(ChainParams::dev(), bitverse_blocktree::Tracking::All).unwrap(),
        );
        let chain = tree.root().clone();
        let metrics = Arc::new(NodeMetrics::new(chain.lock().tip().hash));
        RpcContext {
            chain,
            tree,
            tx_admitted: Arc::new(Notify::new()),
            dev: true,
            p2p: None,
            metrics,
            browse: Arc::new(BrowseIndex::in_memory(BrowseLimits::default())),
            miner: SecretKey::dev("miner").account(),
            exchange: Exchange::new(None).0,
        }
    }

    fn transfer(nonce: u64) -> Transaction {
        let alice = SecretKey::dev("alice");
        UnsignedTx {
            chain: ChainId::ROOT,
            sender: alice.account(),
            nonce,
            fee: Amount(1),
            payload: TxPayload::Transfer {
                to: SecretKey::dev("bob").account(),
                amount: Amount(5),
            },
        }
        .sign(&alice)
    }

    /// Seals a block on the shared chain as the dev sealer does, and tells the metrics.
    fn seal(chain: &Mutex<Chain>, metrics: &NodeMetrics) -> bitverse_blocktree::Block {
        let mut chain = chain.lock();
        let time_ms = chain.tip().time_ms + 1_000;
        let block = chain
            .seal_dev_block(SecretKey::dev("miner").account(), time_ms)
            .unwrap()
            .unwrap();
        metrics.tip_may_have_moved(&chain);
        block
    }

    async fn next<T: serde::de::DeserializeOwned>(
        subscription: &mut jsonrpsee::core::server::Subscription,
    ) -> Option<T> {
        tokio::time::timeout(
            Duration::from_millis(NOTIFICATION_TIMEOUT_MS),
            subscription.next::<T>(),
        )
        .await
        .expect("a notification in time")
        .map(|item| item.unwrap().0)
    }

    #[test]
    fn the_server_registers_exactly_the_methods_of_the_openrpc_table() {
        let module = methods(Arc::new(context())).unwrap();
        let registered: BTreeSet<&str> = module.method_names().collect();
        let table: BTreeSet<&str> = openrpc::METHODS.iter().map(|m| m.name).collect();
        assert_eq!(registered, table);
    }

    #[tokio::test]
    async fn rpc_discover_answers_the_openrpc_document() {
        let module = methods(Arc::new(context())).unwrap();
        let document: serde_json::Value = module
            .call(METHOD_DISCOVER, EmptyServerParams::new())
            .await
            .unwrap();
        assert_eq!(document, openrpc::document());
        assert_eq!(
            document["methods"].as_array().unwrap().len(),
            openrpc::METHODS.len()
        );
    }

    #[tokio::test]
    async fn a_new_heads_subscriber_receives_each_sealed_block() {
        let context = context();
        let chain = context.chain.clone();
        let metrics = context.metrics.clone();
        let module = methods(Arc::new(context)).unwrap();
        let mut heads = module
            .subscribe_unbounded(METHOD_SUBSCRIBE_NEW_HEADS, rpc_params!["root"])
            .await
            .unwrap();
        chain.lock().submit_transaction(transfer(0)).unwrap();
        let block = seal(&chain, &metrics);
        let head: NewHeadResult = next(&mut heads).await.unwrap();
        assert_eq!((head.height, head.hash), (1, block.hash()));
        assert_eq!(head.chain, "root");
        assert_eq!(head.header_hex, hex::encode(block.header.to_bytes()));
    }

    #[tokio::test]
    async fn a_data_chain_subscriber_receives_that_chains_blocks_only() {
        let context = context();
        let tree = context.tree.clone();
        let metrics = context.metrics.clone();
        let module = methods(Arc::new(context)).unwrap();
        let alice = SecretKey::dev("alice");
        let price = tree.params().depth(1).unwrap().storage_price_per_byte;
        let buy = UnsignedTx {
            chain: ChainId::ROOT,
            sender: alice.account(),
            nonce: 0,
            fee: Amount(1),
            payload: TxPayload::BuyKeyspace {
                name: "heads".into(),
                owner: alice.account(),
                quota_bytes: 100,
                prepaid: Amount(price.0 * 100),
                script: None,
                depth: 1,
            },
        }
        .sign(&alice);
        tree.submit(buy).unwrap();
        // As the dev sealer does: seal, then report each block with its chain locked.
        let seal_all = |at: u64| {
            let blocks = tree
                .seal_dev(SecretKey::dev("miner").account(), at)
                .unwrap();
            for block in &blocks {
                let chain = tree.chain(block.header.chain).unwrap();
                metrics.produced(
                    &chain.lock(),
                    block,
                    bitverse_metrics::BlockSource::Sealed,
                    Duration::ZERO,
                );
            }
            blocks
        };
        let start = tree.params().genesis_time_ms;
        seal_all(start + 1_000);
        let data_chain = bitverse_blocktree::chain_of_keyspace("heads", 1).unwrap();
        let mut heads = module
            .subscribe_unbounded(
                METHOD_SUBSCRIBE_NEW_HEADS,
                rpc_params![data_chain.to_string()],
            )
            .await
            .unwrap();
        let put = UnsignedTx {
            chain: data_chain,
            sender: alice.account(),
            nonce: 0,
            fee: Amount::ZERO,
            payload: TxPayload::Put {
                key: "heads/x".into(),
                value: b"v".to_vec(),
            },
        }
        .sign(&alice);
        tree.submit(put).unwrap();
        let sealed = seal_all(start + 2_000);
        let data_block = sealed
            .iter()
            .find(|b| b.header.chain == data_chain)
            .expect("a data-chain block");
        let head: NewHeadResult = next(&mut heads).await.unwrap();
        assert_eq!(head.chain, data_chain.to_string());
        assert_eq!((head.height, head.hash), (1, data_block.hash()));
        assert!(
            tokio::time::timeout(Duration::from_millis(200), heads.next::<NewHeadResult>())
                .await
                .is_err(),
            "the root's blocks are not on this feed"
        );
    }

    #[tokio::test]
    async fn a_new_heads_subscription_for_an_untracked_chain_is_refused() {
        let module = methods(Arc::new(context())).unwrap();
        let refused = module
            .subscribe_unbounded(METHOD_SUBSCRIBE_NEW_HEADS, rpc_params!["0110"])
            .await;
        assert!(refused.is_err());
        let garbage = module
            .subscribe_unbounded(METHOD_SUBSCRIBE_NEW_HEADS, rpc_params!["leaf"])
            .await;
        assert!(garbage.is_err());
    }

    #[tokio::test]
    async fn a_transaction_subscriber_sees_pending_then_included_and_the_end() {
        let context = context();
        let chain = context.chain.clone();
        let metrics = context.metrics.clone();
        let module = methods(Arc::new(context)).unwrap();
        let hash = chain.lock().submit_transaction(transfer(0)).unwrap();
        let mut fate = module
            .subscribe_unbounded(METHOD_SUBSCRIBE_TRANSACTION, rpc_params![hash.to_string()])
            .await
            .unwrap();
        let pending: TransactionResult = next(&mut fate).await.unwrap();
        assert_eq!(pending.status, TxStatusName::Pending);
        let block = seal(&chain, &metrics);
        let included: TransactionResult = next(&mut fate).await.unwrap();
        assert_eq!(included.status, TxStatusName::Included);
        assert_eq!(
            (included.height, included.block),
            (Some(1), Some(block.hash()))
        );
        assert!(
            next::<TransactionResult>(&mut fate).await.is_none(),
            "the subscription ends once the transaction is included"
        );
    }

    #[tokio::test]
    async fn a_transaction_subscriber_learns_why_its_transaction_was_dropped() {
        let context = context();
        let chain = context.chain.clone();
        let metrics = context.metrics.clone();
        let module = methods(Arc::new(context)).unwrap();
        // Nonce 0 spends everything; nonce 1 was admitted against the tip's state, where it
        // was affordable, and fails when the block is built.
        let alice = SecretKey::dev("alice");
        let balance = chain.lock().account(&alice.account()).unwrap().balance;
        let spend_all = UnsignedTx {
            chain: ChainId::ROOT,
            sender: alice.account(),
            nonce: 0,
            fee: Amount(1),
            payload: TxPayload::Transfer {
                to: SecretKey::dev("bob").account(),
                amount: Amount(balance.0 - 1),
            },
        }
        .sign(&alice);
        chain.lock().submit_transaction(spend_all).unwrap();
        let doomed = chain.lock().submit_transaction(transfer(1)).unwrap();
        let mut fate = module
            .subscribe_unbounded(
                METHOD_SUBSCRIBE_TRANSACTION,
                rpc_params![doomed.to_string()],
            )
            .await
            .unwrap();
        let pending: TransactionResult = next(&mut fate).await.unwrap();
        assert_eq!(pending.status, TxStatusName::Pending);
        seal(&chain, &metrics);
        let dropped: TransactionResult = next(&mut fate).await.unwrap();
        assert_eq!(dropped.status, TxStatusName::Dropped);
        assert_eq!(
            dropped.error_code,
            Some(bitverse_blocktree::error::codes::INSUFFICIENT_BALANCE),
            "{dropped:?}"
        );
        assert!(next::<TransactionResult>(&mut fate).await.is_none());
    }

    #[tokio::test]
    async fn a_transaction_subscription_with_a_bad_hash_is_refused() {
        let module = methods(Arc::new(context())).unwrap();
        let refused = module
            .subscribe_unbounded(METHOD_SUBSCRIBE_TRANSACTION, rpc_params!["not a hash"])
            .await;
        assert!(refused.is_err());
    }
}
