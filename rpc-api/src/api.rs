//! The RPC surface as one definition: jsonrpsee's `#[rpc]` traits, from which the server's
//! registration (`BitverseRpcServer`, `BitverseSubscriptionsServer`), the typed client
//! (`BitverseRpcClient`, `BitverseSubscriptionsClient`) and, through `openrpc`'s table, the
//! `rpc.discover` document's parameter and result schemas are all generated.
//!
//! Parameters are the JSON the wire carries (an address or a hash as its text): each handler
//! parses them itself, so that a bad one is refused with a message naming what is wrong. The
//! method names are literals here (the macro takes no constant); `openrpc`'s tests check that
//! they are the `METHOD_*` names, and the server's that it registers exactly the table.

use bitverse_primitives::Hash;
use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;

use crate::{
    AccountResult, BlobResult, BlockResult, BlockSummaryResult, BountyResult, BrowseResult,
    ChainResult, EarningsProofResult, EarningsResult, KeyChainResult, KeyspaceKeysResult,
    KeyspaceResult, LedgerResult, MarketRequestParams, MarketRequestResult, NetworkStatusResult,
    NewHeadResult, OfferResult, OpenRpcDocument, ProofResult, QuoteResult, ResultChainResult,
    SendItemResult, StakeResult, StatusResult, StorerResult, TransactionResult, ValueResult,
};

/// The node's request-answer methods, over HTTP and WebSocket alike. Every one but
/// `rpc.discover` reads a chain under its lock, which may wait behind a block being sealed:
/// they run on the blocking pool, never on the async workers.
#[rpc(server, client)]
pub trait BitverseRpc {
    /// `rpc.discover`: the OpenRPC document of this API.
    #[method(name = "rpc.discover")]
    fn discover(&self) -> RpcResult<OpenRpcDocument>;

    /// `bv_status`: the node's network and the root chain's tip.
    #[method(name = "bv_status", blocking)]
    fn status(&self) -> RpcResult<StatusResult>;

    /// `bv_getAccount`: an account's balance and nonces; `chain` (default `root`) is where
    /// the nonce is counted, each chain counting its own.
    #[method(name = "bv_getAccount", blocking)]
    fn get_account(&self, address: String, chain: Option<String>) -> RpcResult<AccountResult>;

    /// `bv_getStake`: an account's stakes and unbonding entries at a root height.
    #[method(name = "bv_getStake", blocking)]
    fn get_stake(&self, address: String, height: Option<u64>) -> RpcResult<StakeResult>;

    /// `bv_getLedger`: an account's stakes and reliability records at a root height.
    #[method(name = "bv_getLedger", blocking)]
    fn get_ledger(&self, address: String, height: Option<u64>) -> RpcResult<LedgerResult>;

    /// `bv_quote`: the tier table of every staked offerer at a root height.
    #[method(name = "bv_quote", blocking)]
    fn quote(
        &self,
        transform: String,
        inputs: Vec<String>,
        fuel_budget: u64,
        height: Option<u64>,
        requester: Option<String>,
    ) -> RpcResult<QuoteResult>;

    /// `bv_getBounty`: a bounty at a root height; null if not posted by then.
    #[method(name = "bv_getBounty", blocking)]
    fn get_bounty(&self, id: String, height: Option<u64>) -> RpcResult<Option<BountyResult>>;

    /// `bv_getBlob`: the last blob registered at a root key, at a root height; null if none.
    #[method(name = "bv_getBlob", blocking)]
    fn get_blob(&self, key: String, height: Option<u64>) -> RpcResult<Option<BlobResult>>;

    /// `bv_getStorers`: the registry of staked storers at a root height.
    #[method(name = "bv_getStorers", blocking)]
    fn get_storers(&self, height: Option<u64>) -> RpcResult<Vec<StorerResult>>;

    /// `bv_marketRequest`: gossips a requester's request on the market topic.
    #[method(name = "bv_marketRequest", blocking)]
    fn market_request(&self, request: MarketRequestParams) -> RpcResult<MarketRequestResult>;

    /// `bv_getOffers`: the signed offers this node heard for a request.
    #[method(name = "bv_getOffers", blocking)]
    fn get_offers(&self, request_id: String) -> RpcResult<Vec<OfferResult>>;

    /// `bv_getResult`: the longest envelope chain heard for a bounty and, once the root
    /// settled it, the result revealed.
    #[method(name = "bv_getResult", blocking)]
    fn get_result(&self, bounty_id: String) -> RpcResult<Option<ResultChainResult>>;

    /// `bv_sendTransaction`: admits a signed transaction; its hash.
    #[method(name = "bv_sendTransaction", blocking)]
    fn send_transaction(&self, tx_hex: String) -> RpcResult<Hash>;

    /// `bv_sendTransactions`: admits many signed transactions at once, answering each.
    #[method(name = "bv_sendTransactions", blocking)]
    fn send_transactions(&self, txs_hex: Vec<String>) -> RpcResult<Vec<SendItemResult>>;

    /// `bv_getTransaction`: where a transaction is; without `chain`, every open chain is
    /// searched, the root first.
    #[method(name = "bv_getTransaction", blocking)]
    fn get_transaction(&self, hash: String, chain: Option<String>) -> RpcResult<TransactionResult>;

    /// `bv_getKeyspace`: a registered keyspace, or null.
    #[method(name = "bv_getKeyspace", blocking)]
    fn get_keyspace(&self, name: String) -> RpcResult<Option<KeyspaceResult>>;

    /// `bv_getValue`: a key's value at its chain's tip, on the node's word.
    #[method(name = "bv_getValue", blocking)]
    fn get_value(&self, key: String) -> RpcResult<ValueResult>;

    /// `bv_getProof`: a proof of a key's value (or absence) against the root's tip.
    #[method(name = "bv_getProof", blocking)]
    fn get_proof(&self, key: String) -> RpcResult<ProofResult>;

    /// `bv_getKeyChain`: the chain a key's writes go to.
    #[method(name = "bv_getKeyChain", blocking)]
    fn get_key_chain(&self, key: String) -> RpcResult<KeyChainResult>;

    /// `bv_getHeaders`: up to `count` best-chain headers from `from_height` on, as hex.
    #[method(name = "bv_getHeaders", blocking)]
    fn get_headers(&self, from_height: u64, count: u64) -> RpcResult<Vec<String>>;

    /// `bv_getBlock`: the best chain's block at a height, as hex, or null.
    #[method(name = "bv_getBlock", blocking)]
    fn get_block(&self, height: u64) -> RpcResult<Option<String>>;

    /// `bv_chains`: the chains the node has open or hears of.
    #[method(name = "bv_chains", blocking)]
    fn chains(&self) -> RpcResult<Vec<ChainResult>>;

    /// `bv_getEarnings`: what a miner earned on each data chain open here (or on `chain`).
    #[method(name = "bv_getEarnings", blocking)]
    fn get_earnings(&self, miner: String, chain: Option<String>) -> RpcResult<Vec<EarningsResult>>;

    /// `bv_getEarningsProof`: the proof a `ClaimMinerReward` transaction carries.
    #[method(name = "bv_getEarningsProof", blocking)]
    fn get_earnings_proof(&self, miner: String, chain: String) -> RpcResult<EarningsProofResult>;

    /// `bv_networkStatus`: peers, bans and sync progress.
    #[method(name = "bv_networkStatus", blocking)]
    fn network_status(&self) -> RpcResult<NetworkStatusResult>;

    /// `bv_browse`: the browse index's lists, filtered by `search` and cut to `limit`.
    #[method(name = "bv_browse", blocking)]
    fn browse(&self, search: Option<String>, limit: Option<usize>) -> RpcResult<BrowseResult>;

    /// `bv_getRecentBlocks`: a chain's last best blocks, newest first.
    #[method(name = "bv_getRecentBlocks", blocking)]
    fn get_recent_blocks(
        &self,
        chain: Option<String>,
        count: Option<u64>,
    ) -> RpcResult<Vec<BlockSummaryResult>>;

    /// `bv_getBlockByHash`: a stored block with its transactions, or null.
    #[method(name = "bv_getBlockByHash", blocking)]
    fn get_block_by_hash(
        &self,
        hash: String,
        chain: Option<String>,
    ) -> RpcResult<Option<BlockResult>>;

    /// `bv_getKeyspaceKeys`: a keyspace's keys, in key order, a page at a time.
    #[method(name = "bv_getKeyspaceKeys", blocking)]
    fn get_keyspace_keys(
        &self,
        name: String,
        after: Option<String>,
        limit: Option<usize>,
    ) -> RpcResult<KeyspaceKeysResult>;
}

/// The node's subscriptions: WebSocket only (over HTTP a subscribe call is refused), so a
/// trait of their own, which an HTTP client need not implement.
#[rpc(server, client)]
pub trait BitverseSubscriptions {
    /// `bv_subscribeNewHeads`: a `bv_newHead` notification for each block that joins the
    /// best chain of `chain` (default `root`), until `bv_unsubscribeNewHeads`.
    #[subscription(
        name = "bv_subscribeNewHeads" => "bv_newHead",
        unsubscribe = "bv_unsubscribeNewHeads",
        item = NewHeadResult
    )]
    async fn subscribe_new_heads(&self, chain: Option<String>) -> SubscriptionResult;

    /// `bv_subscribeTransaction`: a `bv_transaction` notification with the transaction's
    /// status now and on each change, ending after `included` or `dropped`.
    #[subscription(
        name = "bv_subscribeTransaction" => "bv_transaction",
        unsubscribe = "bv_unsubscribeTransaction",
        item = TransactionResult
    )]
    async fn subscribe_transaction(&self, hash: String) -> SubscriptionResult;
}
