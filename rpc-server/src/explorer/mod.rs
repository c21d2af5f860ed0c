//! The explorer: the web page the node serves on its RPC port at `/` (plain HTML, JS and CSS
//! embedded in the binary, nothing fetched from elsewhere; the page talks JSON-RPC over one
//! WebSocket and updates on `bv_newHead` notifications, never by polling), and the RPC methods
//! it and `bitverse browse` need beyond the rest of the API: `bv_browse`,
//! `bv_getRecentBlocks`, `bv_getBlockByHash` and `bv_getKeyspaceKeys`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bitverse_blocktree::{Block, ChainError, TxPayload, role_name};
use bitverse_primitives::{ChainId, Hash};
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};

use crate::context::{RpcContext, RpcResult, chain_error, invalid_params, parse_chain};
use bitverse_rpc_api::{
    AnchorResult, BROWSE_LIMIT_DEFAULT, BlockResult, BlockSummaryResult, BrowseKeyspaceResult,
    BrowseResult, BrowseTransformResult, IndexedChainResult, KeyEntryResult, KeyspaceKeysResult,
    RECENT_BLOCKS_PER_CALL_MAX, ReadCountResult, TxSummaryResult, WriteCountResult,
};
use bitverse_rpc_api::{BROWSE_RESULTS_MAX, SEARCH_TEXT_BYTES_MAX};

/// The page, its script and its style, served as they are.
const INDEX_HTML: &str = include_str!("index.html");
const EXPLORER_JS: &str = include_str!("explorer.js");
const EXPLORER_CSS: &str = include_str!("explorer.css");

/// The paths the explorer answers, with their content type and body.
const ASSETS: &[(&str, &str, &str)] = &[
    ("/", "text/html; charset=utf-8", INDEX_HTML),
    ("/index.html", "text/html; charset=utf-8", INDEX_HTML),
    (
        "/explorer.js",
        "text/javascript; charset=utf-8",
        EXPLORER_JS,
    ),
    ("/explorer.css", "text/css; charset=utf-8", EXPLORER_CSS),
];

/// What a plain `GET` of `path` answers: the asset, or none for anything else (JSON-RPC is
/// `POST /`, and a WebSocket upgrade is a `GET /` that the RPC server takes).
fn asset<B>(request: &HttpRequest<B>) -> Option<(&'static str, &'static str)> {
    if request.method() != http::Method::GET
        || request.headers().contains_key(http::header::UPGRADE)
    {
        return None;
    }
    let path = request.uri().path();
    ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, content_type, body)| (*content_type, *body))
}

fn asset_response(content_type: &'static str, body: &'static str) -> HttpResponse {
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, content_type)
        // The page may talk only to the node that served it, and loads nothing from elsewhere.
        .header(
            http::header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:",
        )
        .header(http::header::CACHE_CONTROL, "no-cache")
        .body(HttpBody::from(body))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot build an explorer response");
            jsonrpsee::server::http::response::internal_error()
        })
}

/// The HTTP middleware that answers the explorer's `GET`s and passes everything else on.
#[derive(Clone, Copy)]
pub(crate) struct ExplorerLayer;

impl<S> tower::Layer<S> for ExplorerLayer {
    type Service = ExplorerPages<S>;

    fn layer(&self, inner: S) -> ExplorerPages<S> {
        ExplorerPages { inner }
    }
}

/// See [`ExplorerLayer`].
#[derive(Clone)]
pub(crate) struct ExplorerPages<S> {
    inner: S,
}

impl<S, B> tower::Service<HttpRequest<B>> for ExplorerPages<S>
where
    S: tower::Service<HttpRequest<B>, Response = HttpResponse>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        if let Some((content_type, body)) = asset(&request) {
            return Box::pin(async move { Ok(asset_response(content_type, body)) });
        }
        let answer = self.inner.call(request);
        Box::pin(async move { answer.await.map_err(Into::into) })
    }
}

/// `bv_browse([search[, limit]])`: the browse lists, after indexing what the chains gained
/// since the follower last looked (so a write just included is listed).
pub(crate) fn browse(
    ctx: &RpcContext,
    search: Option<String>,
    limit: Option<usize>,
) -> RpcResult<BrowseResult> {
    let search = search.unwrap_or_default();
    if search.len() > SEARCH_TEXT_BYTES_MAX {
        return Err(invalid_params(format!(
            "search text of {} bytes exceeds the maximum of {SEARCH_TEXT_BYTES_MAX}",
            search.len()
        )));
    }
    let limit = limit.unwrap_or(BROWSE_LIMIT_DEFAULT);
    if limit > BROWSE_RESULTS_MAX {
        return Err(invalid_params(format!(
            "limit {limit} exceeds the maximum of {BROWSE_RESULTS_MAX}"
        )));
    }
    if let Err(e) = ctx.browse.refresh(&ctx.tree) {
        // The lists as indexed so far are still worth answering with.
        tracing::error!(error = %e, "browse index refresh failed");
    }
    let lists = ctx.browse.lists(&search, limit);
    Ok(BrowseResult {
        keyspaces: lists
            .keyspaces
            .into_iter()
            .map(|k| BrowseKeyspaceResult {
                name: k.name,
                owner: k.owner,
                depth: k.depth,
                chain: k.chain,
                quota_bytes: k.quota_bytes,
                size_bytes: k.size_bytes,
                script_hash: k.script_hash,
                bought_height: k.bought_height,
                last_write_height: k.last_write_height,
            })
            .collect(),
        transformations: lists
            .transforms
            .into_iter()
            .map(|t| BrowseTransformResult {
                key: t.key,
                chain: t.chain,
                module_hash: t.module_hash,
                size_bytes: t.size_bytes,
                height: t.height,
            })
            .collect(),
        most_read: lists
            .most_read
            .into_iter()
            .map(|(key, count)| ReadCountResult { key, count })
            .collect(),
        most_written: lists
            .most_written
            .into_iter()
            .map(|(key, w)| WriteCountResult {
                key,
                count: w.count,
                chain: w.chain,
                last_write_height: w.last_write_height,
            })
            .collect(),
        indexed: lists
            .indexed
            .into_iter()
            .map(|(chain, cursor)| IndexedChainResult {
                chain,
                height: cursor.height,
                hash: cursor.hash,
            })
            .collect(),
    })
}

/// `bv_getRecentBlocks([chain[, count]])`: the chain's last `count` best blocks, newest first.
pub(crate) fn recent_blocks(
    ctx: &RpcContext,
    chain: Option<String>,
    count: Option<u64>,
) -> RpcResult<Vec<BlockSummaryResult>> {
    let chain_id = parse_chain(chain)?;
    let count = count.unwrap_or(10);
    if count > RECENT_BLOCKS_PER_CALL_MAX {
        return Err(invalid_params(format!(
            "count {count} exceeds the maximum of {RECENT_BLOCKS_PER_CALL_MAX} blocks per call"
        )));
    }
    let chain = ctx
        .tree
        .chain(chain_id)
        .ok_or(ChainError::NotTracked(chain_id))
        .map_err(chain_error)?;
    let chain = chain.lock();
    let tip = chain.tip().height;
    let mut blocks = Vec::new();
    for height in (0..=tip)
        .rev()
        .take(usize::try_from(count).unwrap_or(usize::MAX))
    {
        let Some(block) = chain.block_at(height).map_err(chain_error)? else {
            break;
        };
        blocks.push(BlockSummaryResult {
            chain: chain_id.to_string(),
            height,
            hash: block.hash(),
            time_ms: block.header.time_ms,
            miner: block.header.miner,
            tx_count: block.transactions.len(),
            anchor_count: block.header.anchors.len(),
        });
    }
    Ok(blocks)
}

/// `bv_getBlockByHash(hash[, chain])`: a stored block on any branch, with its transactions;
/// without `chain`, every open chain is searched, the root first.
pub(crate) fn block_by_hash(
    ctx: &RpcContext,
    text: &str,
    named: Option<String>,
) -> RpcResult<Option<BlockResult>> {
    let hash: Hash = text.parse().map_err(|e| invalid_params(format!("{e}")))?;
    let chains: Vec<ChainId> = match named {
        Some(named) => vec![parse_chain(Some(named))?],
        None => std::iter::once(ChainId::ROOT)
            .chain(ctx.tree.data_chains())
            .collect(),
    };
    for chain_id in chains {
        let chain = ctx
            .tree
            .chain(chain_id)
            .ok_or(ChainError::NotTracked(chain_id))
            .map_err(chain_error)?;
        let chain = chain.lock();
        let Some(block) = chain.block_by_hash(&hash).map_err(chain_error)? else {
            continue;
        };
        let on_best_chain = chain
            .header_at(block.header.height)
            .map_err(chain_error)?
            .is_some_and(|h| h.hash() == hash);
        return Ok(Some(block_result(&block, on_best_chain)));
    }
    Ok(None)
}

fn block_result(block: &Block, on_best_chain: bool) -> BlockResult {
    let header = &block.header;
    BlockResult {
        chain: header.chain.to_string(),
        height: header.height,
        hash: block.hash(),
        parent: header.parent,
        time_ms: header.time_ms,
        difficulty: header.difficulty,
        miner: header.miner,
        state_root: header.state_root,
        relay_parent: header.relay_parent,
        on_best_chain,
        anchors: header
            .anchors
            .iter()
            .map(|a| AnchorResult {
                chain: a.chain.to_string(),
                height: a.height,
                hash: a.hash,
            })
            .collect(),
        transactions: block
            .transactions
            .iter()
            .map(|tx| {
                let mut summary = TxSummaryResult {
                    hash: tx.hash(),
                    sender: tx.body.sender,
                    nonce: tx.body.nonce,
                    fee: tx.body.fee,
                    kind: String::new(),
                    key: None,
                    keyspace: None,
                    to: None,
                    amount: None,
                    value_bytes: None,
                    role: None,
                };
                match &tx.body.payload {
                    TxPayload::Transfer { to, amount } => {
                        summary.kind = "transfer".into();
                        summary.to = Some(*to);
                        summary.amount = Some(*amount);
                    }
                    TxPayload::BuyKeyspace { name, prepaid, .. } => {
                        summary.kind = "buy_keyspace".into();
                        summary.keyspace = Some(name.clone());
                        summary.amount = Some(*prepaid);
                    }
                    TxPayload::SetScript { keyspace, .. } => {
                        summary.kind = "set_script".into();
                        summary.keyspace = Some(keyspace.clone());
                    }
                    TxPayload::Put { key, value } => {
                        summary.kind = "put".into();
                        summary.key = Some(key.clone());
                        summary.value_bytes = Some(value.len() as u64);
                    }
                    TxPayload::Delete { key } => {
                        summary.kind = "delete".into();
                        summary.key = Some(key.clone());
                    }
                    TxPayload::ClaimMinerReward { proof } => {
                        summary.kind = "claim_miner_reward".into();
                        summary.to = Some(proof.miner);
                        summary.amount = Some(proof.earned);
                    }
                    TxPayload::Stake { amount, role } => {
                        summary.kind = "stake".into();
                        summary.amount = Some(*amount);
                        summary.role = Some(role_name(*role).into());
                    }
                    TxPayload::Unstake { amount, role } => {
                        summary.kind = "unstake".into();
                        summary.amount = Some(*amount);
                        summary.role = Some(role_name(*role).into());
                    }
                    TxPayload::PostBounty { amount, .. } => {
                        summary.kind = "post_bounty".into();
                        summary.amount = Some(*amount);
                    }
                    TxPayload::LineupProof { .. } => {
                        summary.kind = "lineup_proof".into();
                    }
                    TxPayload::Settle { .. } => {
                        summary.kind = "settle".into();
                    }
                    TxPayload::Dispute { .. } => {
                        summary.kind = "dispute".into();
                    }
                    TxPayload::DeclareCapacity { .. } => {
                        summary.kind = "declare_capacity".into();
                    }
                    TxPayload::RegisterBlob {
                        key,
                        manifest,
                        endowment,
                        ..
                    } => {
                        summary.kind = "register_blob".into();
                        summary.key = Some(key.clone());
                        summary.amount = Some(*endowment);
                        summary.value_bytes = Some(manifest.encode().len() as u64);
                    }
                    TxPayload::ConfirmShards { .. } => {
                        summary.kind = "confirm_shards".into();
                    }
                    TxPayload::ProveShards { .. } => {
                        summary.kind = "prove_shards".into();
                    }
                    TxPayload::PostChallenge { amount, .. } => {
                        summary.kind = "post_challenge".into();
                        summary.amount = Some(*amount);
                    }
                    TxPayload::ClaimChallenge { .. } => {
                        summary.kind = "claim_challenge".into();
                    }
                }
                summary
            })
            .collect(),
    }
}

/// `bv_getKeyspaceKeys(name[, after[, limit]])`: a keyspace's keys as the browse index lists
/// them, in key order, a page at a time.
pub(crate) fn keyspace_keys(
    ctx: &RpcContext,
    name: String,
    after: Option<String>,
    limit: Option<usize>,
) -> RpcResult<KeyspaceKeysResult> {
    let limit = limit.unwrap_or(BROWSE_RESULTS_MAX);
    if limit > BROWSE_RESULTS_MAX {
        return Err(invalid_params(format!(
            "limit {limit} exceeds the maximum of {BROWSE_RESULTS_MAX}"
        )));
    }
    if let Err(e) = ctx.browse.refresh(&ctx.tree) {
        tracing::error!(error = %e, "browse index refresh failed");
    }
    let (keys, truncated) = ctx.browse.keyspace_keys(&name, after.as_deref(), limit);
    Ok(KeyspaceKeysResult {
        keyspace: name,
        keys: keys
            .into_iter()
            .map(|(key, size_bytes)| KeyEntryResult { key, size_bytes })
            .collect(),
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: http::Method, path: &str, upgrade: bool) -> HttpRequest<()> {
        let mut builder = http::Request::builder().method(method).uri(path);
        if upgrade {
            builder = builder
                .header(http::header::CONNECTION, "Upgrade")
                .header(http::header::UPGRADE, "websocket");
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn plain_gets_of_the_assets_are_served_and_everything_else_goes_to_the_rpc_server() {
        let page = asset(&request(http::Method::GET, "/", false)).unwrap();
        assert!(page.0.starts_with("text/html") && page.1.contains("/explorer.js"));
        assert!(asset(&request(http::Method::GET, "/explorer.js", false)).is_some());
        assert!(asset(&request(http::Method::GET, "/explorer.css", false)).is_some());
        // JSON-RPC over HTTP, a WebSocket upgrade, and other paths are the RPC server's.
        assert!(asset(&request(http::Method::POST, "/", false)).is_none());
        assert!(asset(&request(http::Method::GET, "/", true)).is_none());
        assert!(asset(&request(http::Method::GET, "/metrics", false)).is_none());
        assert!(asset(&request(http::Method::GET, "/secret.txt", false)).is_none());
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for (path, _, body) in ASSETS {
            // The SVG namespace is a name, not an address anything is fetched from.
            let body = body.replace("http://www.w3.org/2000/svg", "");
            for outside in ["http://", "https://", "//cdn", "@import"] {
                assert!(!body.contains(outside), "{path} mentions {outside}");
            }
        }
    }
}
