//! The JSON-RPC wire format shared by the node's server and the CLI client: the `#[rpc]` traits
//! both are generated from (`api`), method names, the JSON shapes of results (with their JSON
//! schemas), error codes that are not transaction errors, the size limits both sides enforce,
//! and the OpenRPC document generated from all of them (`openrpc`). Documented for outside callers in `docs/RPC.md`; a change here is a change of
//! the public API.

use bitverse_blocktree::{TX_SIZE_BYTES_MAX, block::BLOCK_SIZE_BYTES_MAX};
use bitverse_primitives::{AccountId, Amount, Hash};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod api;
pub mod openrpc;

pub use api::{
    BitverseRpcClient, BitverseRpcServer, BitverseSubscriptionsClient, BitverseSubscriptionsServer,
};

/// Most entries one list of a `bv_browse` or `bv_getKeyspaceKeys` answer holds.
pub const BROWSE_RESULTS_MAX: usize = 200;
/// Longest `bv_browse` search text, in bytes.
pub const SEARCH_TEXT_BYTES_MAX: usize = 256;

/// `bv_status` → [`StatusResult`].
pub const METHOD_STATUS: &str = "bv_status";
/// `bv_getAccount(address[, chain])` → [`AccountResult`]; `chain` (default `root`) is where
/// the nonce is counted: each chain counts its own.
pub const METHOD_GET_ACCOUNT: &str = "bv_getAccount";
/// `bv_sendTransaction(tx_hex)` → transaction hash.
pub const METHOD_SEND_TRANSACTION: &str = "bv_sendTransaction";
/// `bv_sendTransactions(txs_hex)` → one [`SendItemResult`] per transaction, in order: many
/// transactions admitted in one call, their signatures checked in parallel, each chain's lock
/// taken once. At most [`SEND_TRANSACTIONS_TXS_MAX`] a call.
pub const METHOD_SEND_TRANSACTIONS: &str = "bv_sendTransactions";
/// Most transactions one `bv_sendTransactions` call carries: 1000 small puts (about 500 hex
/// characters each) fit in [`REQUEST_BODY_BYTES_MAX`]; a longer list is refused whole, with
/// [`CODE_INVALID_PARAMS`], so no call holds a chain's lock through an unbounded list.
pub const SEND_TRANSACTIONS_TXS_MAX: usize = 1000;
/// `bv_getTransaction(hash[, chain])` → [`TransactionResult`]; without `chain`, every chain
/// the node has open is searched, the root first.
pub const METHOD_GET_TRANSACTION: &str = "bv_getTransaction";
/// `bv_getKeyspace(name)` → [`KeyspaceResult`] or null.
pub const METHOD_GET_KEYSPACE: &str = "bv_getKeyspace";
/// `bv_getValue(key)` → [`ValueResult`].
pub const METHOD_GET_VALUE: &str = "bv_getValue";
/// `bv_getProof(key)` → [`ProofResult`].
pub const METHOD_GET_PROOF: &str = "bv_getProof";
/// `bv_getHeaders(from_height, count)` → array of header hex.
pub const METHOD_GET_HEADERS: &str = "bv_getHeaders";
/// `bv_getBlock(height)` → block hex or null.
pub const METHOD_GET_BLOCK: &str = "bv_getBlock";
/// `bv_chains` → array of [`ChainResult`].
pub const METHOD_CHAINS: &str = "bv_chains";
/// `bv_networkStatus` → [`NetworkStatusResult`].
pub const METHOD_NETWORK_STATUS: &str = "bv_networkStatus";
/// `bv_getKeyChain(key)` → [`KeyChainResult`]: the chain a key's writes go to.
pub const METHOD_GET_KEY_CHAIN: &str = "bv_getKeyChain";

/// `bv_getEarnings(miner[, chain])` → array of [`EarningsResult`]: what `miner` earned from
/// keyspace endowments on each data chain this node has open (or on `chain` alone), what the
/// root paid it, and what a claim would pay now.
pub const METHOD_GET_EARNINGS: &str = "bv_getEarnings";
/// `bv_getEarningsProof(miner, chain)` → [`EarningsProofResult`]: the proof a
/// `ClaimMinerReward` transaction carries, as of the block the root's tip anchors.
pub const METHOD_GET_EARNINGS_PROOF: &str = "bv_getEarningsProof";
/// `bv_getStake(address[, height])` → [`StakeResult`]: an account's stakes and unbonding
/// entries in the root's state at `height` (default: the tip).
pub const METHOD_GET_STAKE: &str = "bv_getStake";
/// `bv_getLedger(address[, height])` → [`LedgerResult`]: an account's stakes and its
/// reliability record per task kind, decayed to `height` (default: the tip), with the
/// estimates `pricing` draws from them.
pub const METHOD_GET_LEDGER: &str = "bv_getLedger";
/// `bv_quote(transform, inputs, fuel_budget[, height[, requester]])` → [`QuoteResult`]: the
/// tier table of every staked offerer at root height `height` (default: the tip).
pub const METHOD_QUOTE: &str = "bv_quote";
/// `bv_getBounty(id[, height])` → [`BountyResult`] or null: a bounty as the root's state holds
/// it at `height` (default: the tip), null when it was not posted by then.
pub const METHOD_GET_BOUNTY: &str = "bv_getBounty";
/// `bv_getBlob(key[, height])` → [`BlobResult`] or null: the last blob registered at a root
/// key as the root's state holds it at `height` (default: the tip): its manifest, each
/// shard's storer, confirmation and deadline, and the endowment left (`docs/STORAGE.md`).
pub const METHOD_GET_BLOB: &str = "bv_getBlob";
/// `bv_getStorers([height])` → [`StorerResult`]s: the registry of staked storers at `height`
/// (default: the tip), with stake, reputation, capacity and what is placed on each.
pub const METHOD_GET_STORERS: &str = "bv_getStorers";
/// `bv_marketRequest(request)` → [`MarketRequestResult`]: gossips a requester's request on
/// the market topic so that staked offerers answer it.
pub const METHOD_MARKET_REQUEST: &str = "bv_marketRequest";
/// `bv_getOffers(request_id)` → [`OfferResult`]s: the signed answers this node heard.
pub const METHOD_GET_OFFERS: &str = "bv_getOffers";
/// `bv_getResult(bounty_id)` → [`ResultChainResult`] or null: the longest envelope chain this
/// node heard for a bounty and, once settled, the result revealed.
pub const METHOD_GET_RESULT: &str = "bv_getResult";

/// The chain named is not one this node stores (not tracked, or not live yet). The node's own
/// codes are 9xxx, beside the transactions' 1xxx to 8xxx (`bitverse_blocktree::error::codes`);
/// this one was -32016 before 2026-12.
pub const CODE_NOT_TRACKED: i32 = 9001;
/// A data-chain write or proof cannot be judged yet: its relay parent or anchor is not
/// there yet on this node; retry shortly. It was -32017 before 2026-12.
pub const CODE_NOT_ANCHORED_YET: i32 = 9002;

/// `rpc.discover` → the OpenRPC document describing every method (see `openrpc`).
pub const METHOD_DISCOVER: &str = "rpc.discover";
/// `bv_subscribeNewHeads(chain)` (WebSocket) → a subscription id; notifications
/// `bv_newHead` carry a [`NewHeadResult`] for each block that becomes part of the best chain.
pub const METHOD_SUBSCRIBE_NEW_HEADS: &str = "bv_subscribeNewHeads";
/// The notification method of [`METHOD_SUBSCRIBE_NEW_HEADS`].
pub const NOTIFICATION_NEW_HEAD: &str = "bv_newHead";
/// Ends a [`METHOD_SUBSCRIBE_NEW_HEADS`] subscription.
pub const METHOD_UNSUBSCRIBE_NEW_HEADS: &str = "bv_unsubscribeNewHeads";
/// `bv_subscribeTransaction(hash)` (WebSocket) → a subscription id; notifications
/// `bv_transaction` carry a [`TransactionResult`] each time the transaction's status changes,
/// ending with `included` or `dropped`.
pub const METHOD_SUBSCRIBE_TRANSACTION: &str = "bv_subscribeTransaction";
/// The notification method of [`METHOD_SUBSCRIBE_TRANSACTION`].
pub const NOTIFICATION_TRANSACTION: &str = "bv_transaction";
/// Ends a [`METHOD_SUBSCRIBE_TRANSACTION`] subscription.
pub const METHOD_UNSUBSCRIBE_TRANSACTION: &str = "bv_unsubscribeTransaction";

/// JSON-RPC 2.0 "invalid params".
pub const CODE_INVALID_PARAMS: i32 = -32602;
/// JSON-RPC 2.0 "internal error": the node failed, not the caller.
pub const CODE_INTERNAL_ERROR: i32 = -32603;

/// The stable code of a blocktree error, as every answer gives it (RPC, and a forwarded
/// transaction's refusal): a transaction's own, an untracked chain, a data-chain write or proof
/// not judgeable yet; anything else is the node's.
pub fn chain_error_code(e: &bitverse_blocktree::ChainError) -> i32 {
    use bitverse_blocktree::ChainError;
    match e {
        ChainError::Tx(e) => e.code(),
        // A read at a height the root has not reached is the caller's mistake.
        ChainError::HeightAboveTip { .. } => CODE_INVALID_PARAMS,
        ChainError::NotTracked(_) => CODE_NOT_TRACKED,
        ChainError::RelayPending(_) => CODE_NOT_ANCHORED_YET,
        _ => CODE_INTERNAL_ERROR,
    }
}

/// Most headers one `bv_getHeaders` call returns: a page of 1000 headers is about 400 KB of
/// JSON, well under [`RESPONSE_BODY_BYTES_MAX`], and a light client pages through longer chains.
pub const HEADERS_PER_CALL_MAX: u64 = 1000;

/// Largest HTTP request body the server reads. The largest legitimate request is one
/// transaction as hex (2 × [`TX_SIZE_BYTES_MAX`], about 140 KB) plus the JSON around it; 1 MiB
/// leaves room for batches of small transactions while bounding what a caller can make the
/// node buffer.
pub const REQUEST_BODY_BYTES_MAX: u32 = 1024 * 1024;
/// Largest HTTP response body: one maximal block as hex (2 × `BLOCK_SIZE_BYTES_MAX`) plus the
/// JSON around it, so that `bv_getBlock` can always answer.
pub const RESPONSE_BODY_BYTES_MAX: u32 = (2 * BLOCK_SIZE_BYTES_MAX + 64 * 1024) as u32;

// The request limit must admit the largest transaction, or some valid writes could never be sent.
const _: () = assert!(2 * TX_SIZE_BYTES_MAX + 1024 < REQUEST_BODY_BYTES_MAX as usize);

/// What `rpc.discover` answers: the document `openrpc::document` builds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpenRpcDocument(pub serde_json::Value);

impl JsonSchema for OpenRpcDocument {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "OpenRpcDocument".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "An OpenRPC 1.3 document",
            "required": ["openrpc", "info", "methods"]
        })
    }
}

/// What `bv_status` answers: the node's network and the root chain's tip.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct StatusResult {
    /// Network name (`dev`, `local`).
    pub network: String,
    /// Hash of the genesis block the node runs.
    pub genesis_hash: Hash,
    /// Whether the node seals blocks in dev mode.
    pub dev: bool,
    /// Height of the best block.
    pub height: u64,
    /// Hash of the best block.
    pub tip: Hash,
    /// State root after the best block.
    pub state_root: Hash,
    /// The best block's time, ms since the Unix epoch.
    pub time_ms: u64,
    /// The best block's difficulty.
    pub difficulty: u64,
    /// Transactions waiting in the mempool.
    pub mempool_size: usize,
    /// Connected peers (0 for a node run without --p2p-addr).
    pub peers: usize,
    /// Price of one byte of keyspace quota on the root.
    pub storage_price_per_byte: Amount,
    /// Price of one byte of keyspace quota at each depth, the root's first; the deepest
    /// depth a keyspace may be bought at is the list's length less one.
    #[serde(default)]
    pub storage_price_per_byte_by_depth: Vec<Amount>,
    /// The account this node's blocks pay (`--miner`): its own account in the market.
    #[serde(default)]
    pub miner: AccountId,
}

/// What `bv_getAccount` answers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct AccountResult {
    /// Balance at the tip.
    pub balance: Amount,
    /// Transactions of this sender included in the best chain.
    pub nonce: u64,
    /// The nonce the sender's next transaction should carry, counting the mempool.
    pub pending_nonce: u64,
}

/// Where a transaction is, as `bv_getTransaction` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TxStatusName {
    /// The node has never seen it, or forgot it (the mempool does not survive a restart).
    Unknown,
    /// In the mempool.
    Pending,
    /// In a block of the best chain.
    Included,
    /// Refused after admission, e.g. when a reorg made it invalid.
    Dropped,
}

/// One transaction's fate in a `bv_sendTransactions` call: its hash once admitted, or the
/// error `bv_sendTransaction` would have answered for it alone (same code, message, data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SendItemResult {
    /// The transaction's hash, when admitted; otherwise null.
    pub hash: Option<Hash>,
    /// Why it was refused; null when admitted.
    pub error: Option<SendItemError>,
}

/// A refused item's JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SendItemError {
    /// The stable code (docs/RPC.md), as `bv_sendTransaction` gives it.
    pub code: i32,
    /// What went wrong.
    pub message: String,
    /// Structured detail, when the error has some (a script's rejection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// What `bv_getTransaction` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TransactionResult {
    /// Where the transaction is.
    pub status: TxStatusName,
    /// Height of the including block, when included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Hash of the including block, when included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<Hash>,
    /// Position in the including block, when included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Why it was dropped, when dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The stable code of the reason it was dropped, when dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i32>,
    /// The script's reason code, when a validation script rejected it (error code -32013).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_reason_code: Option<u32>,
}

/// The `data` of a -32013 error: which script rejected the write, and its reason code.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ScriptRejectionData {
    /// The keyspace whose script ran.
    pub keyspace: String,
    /// The script's reason code.
    pub reason_code: u32,
}

/// What `bv_getKeyspace` answers for a registered keyspace.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct KeyspaceResult {
    /// The keyspace's name.
    pub name: String,
    /// Who may write in it.
    pub owner: AccountId,
    /// Bytes of keys and values it may hold.
    pub quota_bytes: u64,
    /// Bytes it holds.
    pub used_bytes: u64,
    /// Its prepaid endowment.
    pub endowment: Amount,
    /// Hash of its validation script; null when owner-only.
    pub script_hash: Option<Hash>,
    /// Depth of the chain its keys live on (0: the root).
    pub depth: u8,
    /// That chain: `root` or a bit string.
    pub chain: String,
}

/// What `bv_getKeyChain` answers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct KeyChainResult {
    /// The key's home keyspace.
    pub keyspace: String,
    /// The chain its writes go to: `root` or a bit string.
    pub chain: String,
    /// That chain's depth.
    pub depth: u8,
}

/// What `bv_getValue` answers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ValueResult {
    /// The value's bytes as hex, or null when the key holds no value.
    pub value_hex: Option<String>,
    /// The height of the state the value was read from, on `chain`.
    pub height: u64,
    /// The chain the value lives on: `root` or a bit string.
    pub chain: String,
}

/// What `bv_getProof` answers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ProofResult {
    /// The canonical bytes of a `ValueProof`, as hex.
    pub proof_hex: String,
}

/// One chain of the blocktree, as `bv_chains` lists it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChainResult {
    /// The chain id: `root`, or a bit string such as `0110`.
    pub chain: String,
    /// Depth in the tree; 0 for the root.
    pub depth: u8,
    /// Best height on this node; for a chain it does not track, the highest a peer announced.
    pub height: u64,
    /// Best block on this node (zero for a chain it does not track).
    pub tip: Hash,
    /// Height the parent's best chain anchors (the root's own height for the root); null
    /// before the first anchor.
    pub anchored_height: Option<u64>,
    /// Height up to which the chain is final (its anchors buried deep enough on the root,
    /// through every level); null before then.
    pub final_height: Option<u64>,
    /// Whether this node stores and validates it.
    pub tracked: bool,
    /// How many connected peers track it (their status names it).
    pub peers: u32,
}

/// One connected peer, as `bv_networkStatus` lists it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PeerResult {
    /// Its libp2p peer id.
    pub peer_id: String,
    /// The remote address of the connection.
    pub addr: Option<String>,
    /// The height of the tip it announced, once it has.
    pub height: Option<u64>,
    /// The tip it announced.
    pub tip: Option<Hash>,
    /// The cumulative work it announced, as a decimal string (a `u128`).
    pub cumulative_work: Option<String>,
    /// Invalid messages it sent so far.
    pub rejected_messages: u32,
    /// Blocks it gave this node through sync since the connection began.
    pub synced_blocks: u64,
    /// Its gossipsub score, when gossipsub tracks it.
    pub gossip_score: Option<f64>,
}

/// One banned peer, as `bv_networkStatus` lists it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct BannedPeerResult {
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Why it was banned.
    pub reason: String,
    /// Invalid messages it had sent.
    pub rejected_messages: u32,
    /// Milliseconds until the ban is lifted.
    pub remaining_ms: u64,
}

/// What `bv_networkStatus` answers: peers and sync progress.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct NetworkStatusResult {
    /// Whether the node runs the peer-to-peer network (`--p2p-addr`).
    pub enabled: bool,
    /// This node's peer id, when enabled.
    pub peer_id: Option<String>,
    /// Addresses it listens on, each ending in `/p2p/PEER_ID`.
    pub listen_addrs: Vec<String>,
    /// Connected peers.
    pub peer_count: usize,
    /// The connected peers, by peer id.
    pub peers: Vec<PeerResult>,
    /// Peers banned for sending invalid data.
    pub banned_peers: Vec<BannedPeerResult>,
    /// Height of this node's best block.
    pub height: u64,
    /// The highest tip a connected peer announced.
    pub best_peer_height: Option<u64>,
    /// Whether the node is fetching blocks from a peer now.
    pub syncing: bool,
    /// The peer it syncs from.
    pub sync_peer: Option<String>,
    /// Blocks imported through sync since the node started.
    pub synced_blocks: u64,
}

/// One block that joined the best chain, as a `bv_newHead` notification carries it. After a
/// reorganisation the new branch's blocks are sent from the fork point on, so a height may be
/// seen twice; the later header is the best chain's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NewHeadResult {
    /// The chain: `root` today.
    pub chain: String,
    /// The block's height.
    pub height: u64,
    /// The block's hash.
    pub hash: Hash,
    /// Its parent's hash.
    pub parent: Hash,
    /// The block's time, ms since the Unix epoch.
    pub time_ms: u64,
    /// The block's difficulty.
    pub difficulty: u64,
    /// Who was paid its subsidy and fees.
    pub miner: AccountId,
    /// State root after the block.
    pub state_root: Hash,
    /// The canonical bytes of its `BlockHeader`, as hex, for clients that check proof of work.
    pub header_hex: String,
}

/// `bv_browse([search[, limit]])` → [`BrowseResult`]: the node's browse index (`browse`).
pub const METHOD_BROWSE: &str = "bv_browse";
/// `bv_getRecentBlocks([chain[, count]])` → array of [`BlockSummaryResult`], newest first.
pub const METHOD_GET_RECENT_BLOCKS: &str = "bv_getRecentBlocks";
/// `bv_getBlockByHash(hash[, chain])` → [`BlockResult`] or null.
pub const METHOD_GET_BLOCK_BY_HASH: &str = "bv_getBlockByHash";
/// `bv_getKeyspaceKeys(name[, after[, limit]])` → [`KeyspaceKeysResult`].
pub const METHOD_GET_KEYSPACE_KEYS: &str = "bv_getKeyspaceKeys";
/// Most blocks one `bv_getRecentBlocks` call lists.
pub const RECENT_BLOCKS_PER_CALL_MAX: u64 = 100;
/// Entries per list when a browse call names no limit.
pub const BROWSE_LIMIT_DEFAULT: usize = 20;

/// What `bv_browse` answers: each list filtered by the search text and cut to the limit.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct BrowseResult {
    /// Keyspaces, newest purchase first.
    pub keyspaces: Vec<BrowseKeyspaceResult>,
    /// Published transformations, newest first.
    pub transformations: Vec<BrowseTransformResult>,
    /// The keys this node served most reads of, most first.
    pub most_read: Vec<ReadCountResult>,
    /// The keys written most, most first.
    pub most_written: Vec<WriteCountResult>,
    /// How far the index has read each chain.
    pub indexed: Vec<IndexedChainResult>,
}

/// One keyspace in `bv_browse`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct BrowseKeyspaceResult {
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner: AccountId,
    /// Depth of the chain its keys live on.
    pub depth: u8,
    /// That chain.
    pub chain: String,
    /// Its quota.
    pub quota_bytes: u64,
    /// Bytes of keys and values it holds (for a deeper keyspace, the sum over the keys the
    /// index lists).
    pub size_bytes: u64,
    /// Its validation script's hash; null when owner-only.
    pub script_hash: Option<Hash>,
    /// Root height of the block that bought it.
    pub bought_height: u64,
    /// Height, on its chain, of the last block that wrote in it; null before any write.
    pub last_write_height: Option<u64>,
}

/// One published transformation in `bv_browse`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct BrowseTransformResult {
    /// The key holding the module.
    pub key: String,
    /// The chain the key lives on.
    pub chain: String,
    /// The module's hash.
    pub module_hash: Hash,
    /// The module's size.
    pub size_bytes: u64,
    /// Height of the block that wrote it.
    pub height: u64,
}

/// A key's read count in `bv_browse`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReadCountResult {
    /// The key.
    pub key: String,
    /// Reads served (an upper bound once the counter table was full).
    pub count: u64,
}

/// A key's write count in `bv_browse`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct WriteCountResult {
    /// The key.
    pub key: String,
    /// Puts and deletes (an upper bound once the counter table was full).
    pub count: u64,
    /// The chain the key lives on.
    pub chain: String,
    /// Height of the last block that wrote it.
    pub last_write_height: u64,
}

/// How far the browse index has read one chain.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct IndexedChainResult {
    /// The chain.
    pub chain: String,
    /// The last block indexed: its height.
    pub height: u64,
    /// Its hash.
    pub hash: Hash,
}

/// One block in `bv_getRecentBlocks`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct BlockSummaryResult {
    /// Its chain.
    pub chain: String,
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: Hash,
    /// Its time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Who was paid for it.
    pub miner: AccountId,
    /// How many transactions it holds.
    pub tx_count: usize,
    /// How many child tips it anchors.
    pub anchor_count: usize,
}

/// A block with its transactions, as `bv_getBlockByHash` answers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct BlockResult {
    /// Its chain.
    pub chain: String,
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: Hash,
    /// Its parent's hash.
    pub parent: Hash,
    /// Its time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Its difficulty.
    pub difficulty: u64,
    /// Who was paid for it.
    pub miner: AccountId,
    /// State root after it.
    pub state_root: Hash,
    /// The root block whose state it was judged against (data chains; genesis's for the root).
    pub relay_parent: Hash,
    /// Whether it is on its chain's best chain on this node.
    pub on_best_chain: bool,
    /// The child tips it anchors.
    pub anchors: Vec<AnchorResult>,
    /// Its transactions, in order.
    pub transactions: Vec<TxSummaryResult>,
}

/// A child tip a block anchors.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct AnchorResult {
    /// The child chain.
    pub chain: String,
    /// The anchored block's height.
    pub height: u64,
    /// Its hash.
    pub hash: Hash,
}

/// A transaction in a [`BlockResult`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct TxSummaryResult {
    /// Its hash.
    pub hash: Hash,
    /// Who signed it.
    pub sender: AccountId,
    /// Its nonce.
    pub nonce: u64,
    /// Its fee.
    pub fee: Amount,
    /// `transfer`, `buy_keyspace`, `set_script`, `put`, `delete`, `stake`, `unstake`,
    /// `claim_miner_reward`, `post_bounty`, `lineup_proof`, `settle`, `dispute`,
    /// `declare_capacity`, `register_blob`, `confirm_shards`, `prove_shards`,
    /// `post_challenge` or `claim_challenge`.
    pub kind: String,
    /// The key a put, delete or register_blob writes; null for other kinds.
    pub key: Option<String>,
    /// The keyspace bought or whose script is set; null for other kinds.
    pub keyspace: Option<String>,
    /// The recipient of a transfer; null for other kinds.
    pub to: Option<AccountId>,
    /// The amount a transfer moves, a purchase prepays, a stake or unstake moves, a bounty
    /// escrows, a blob's registration endows, or a challenge locks; null for other kinds.
    pub amount: Option<Amount>,
    /// The size of a put's value, or of a registered blob's manifest; null for other kinds.
    pub value_bytes: Option<u64>,
    /// The role (`offerer`, `relayer`, `storer`) a stake or unstake is for; null for other
    /// kinds.
    pub role: Option<String>,
}

/// What `bv_getKeyspaceKeys` answers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct KeyspaceKeysResult {
    /// The keyspace.
    pub keyspace: String,
    /// Its keys in key order, after the `after` key when one was named.
    pub keys: Vec<KeyEntryResult>,
    /// Whether the index lists only part of its keys (more than it keeps per keyspace).
    pub truncated: bool,
}

/// One key of a keyspace.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct KeyEntryResult {
    /// The key.
    pub key: String,
    /// Bytes of key and value it holds.
    pub size_bytes: u64,
}

/// One data chain's line of `bv_getEarnings`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct EarningsResult {
    /// The chain (bit string).
    pub chain: String,
    /// What the miner earned there in total, as of the chain's tip.
    pub earned: Amount,
    /// What it earned as of the block the root's tip anchors (through every level): what a
    /// claim can prove now; `null` while the chain is not anchored that far.
    pub provable: Option<Amount>,
    /// What the root has paid it for the chain's blocks so far.
    pub claimed: Amount,
    /// What a claim sent now would pay: `provable` less `claimed`, at most what the pool holds.
    pub claimable: Amount,
    /// Everything ever paid into the chain's endowment pool by its keyspaces.
    pub pool_deposited: Amount,
    /// What the pool has paid the chain's miners.
    pub pool_paid: Amount,
}

impl EarningsResult {
    /// What the chain's pool still holds.
    pub fn pool_held(&self) -> Amount {
        Amount(self.pool_deposited.0.saturating_sub(self.pool_paid.0))
    }
}

/// What `bv_getEarningsProof` answers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct EarningsProofResult {
    /// The chain (bit string).
    pub chain: String,
    /// The miner.
    pub miner: AccountId,
    /// What the proof shows the miner earned there in total.
    pub earned: Amount,
    /// The canonical bytes of the proof (`EarningsProof`), hex.
    pub proof: String,
}

/// What `bv_getBounty` answers: a bounty at one root height (`docs/MARKET.md`, "Bounties").
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct BountyResult {
    /// Its id, the id of the PostBounty transaction.
    pub id: Hash,
    /// The root height read.
    pub height: u64,
    /// Who posted and funded it.
    pub requester: AccountId,
    /// Its offerer.
    pub offerer: AccountId,
    /// The escrowed amount.
    pub amount: Amount,
    /// The transformation's key and pinned value hash.
    pub transform: PinnedKeyResult,
    /// The inputs' keys and pinned value hashes, in order.
    pub inputs: Vec<PinnedKeyResult>,
    /// The argument bytes passed to the transformation, in hex.
    pub args_hex: String,
    /// The root height its values are pinned at.
    pub pinned_height: u64,
    /// The root height of the block that posted it.
    pub posted_height: u64,
    /// Relayers in its lineup.
    pub hops: u8,
    /// The most fuel a computation may use.
    pub fuel_budget: u64,
    /// The root height at whose start it is refunded if still open.
    pub expiry_height: u64,
    /// Whether its offerer signed its terms: only then does its expiry count against the
    /// offerer's record (`docs/MARKET.md`, "Acceptance").
    pub accepted: bool,
    /// Its lineup once drawn; null before, and always for 0 hops.
    pub lineup: Option<LineupResult>,
    /// `open`, `settled`, `expired` or `disputed`.
    pub status: String,
    /// The root height it ended at; null while open.
    pub ended_height: Option<u64>,
    /// The result hash the settling chain attested, or the one a dispute's re-execution gave
    /// (null when it gave no output); null while open or expired.
    pub result_hash: Option<Hash>,
    /// The fuel the settling chain attested; null unless settled.
    pub fuel_used: Option<u64>,
    /// Who a dispute slashed (burnt); empty unless disputed.
    pub slashed: Vec<SlashResult>,
}

/// What `bv_getBlob` answers: a blob at one root height (`docs/STORAGE.md`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct BlobResult {
    /// Its id, the id of the RegisterBlob transaction.
    pub id: Hash,
    /// The root height read.
    pub height: u64,
    /// Its key.
    pub key: String,
    /// Who registered it.
    pub publisher: AccountId,
    /// The blob's length in bytes.
    pub size_bytes: u64,
    /// BLAKE3 of its bytes.
    pub content_hash: Hash,
    /// k: the shards a reader needs.
    pub data_shards: u8,
    /// n: the shards stored.
    pub total_shards: u8,
    /// The width of a full stripe's piece.
    pub piece_bytes: u32,
    /// Every shard's length.
    pub shard_size_bytes: u64,
    /// The manifest's canonical bytes (the key's value), hex.
    pub manifest_hex: String,
    /// Its media type as the publisher gave it (`image/png`); empty for bytes.
    pub content_type: String,
    /// The root height of the block that registered it.
    pub registered_height: u64,
    /// `placing`, `stored`, `failed` or `expired`.
    pub status: String,
    /// The root height it failed or expired at; null while live.
    pub ended_height: Option<u64>,
    /// Why it failed (`not_enough_storers`, `redraws_exhausted`, `placement_queue_full`);
    /// null unless failed.
    pub failure: Option<String>,
    /// The endowment left in escrow.
    pub endowment_remaining: Amount,
    /// What it has paid its storers.
    pub paid: Amount,
    /// Payment periods gone by since its placement.
    pub periods_elapsed: u64,
    /// One entry a shard, in shard order.
    pub shards: Vec<ShardResult>,
}

/// One shard of a blob: where the chain placed it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ShardResult {
    /// Its index (data shards first).
    pub index: u8,
    /// BLAKE3 of its bytes, from the manifest.
    pub root: Hash,
    /// The storer drawn for it; null before the draw or between a no-show and the redraw.
    pub storer: Option<AccountId>,
    /// Whether its storer confirmed it.
    pub confirmed: bool,
    /// The root height of the receipt; null unless confirmed.
    pub confirmed_height: Option<u64>,
    /// The root height of the draw; 0 before.
    pub placed_height: u64,
    /// The root block at whose start it is drawn again unless confirmed; 0 before the draw.
    pub deadline_height: u64,
    /// How many times it was drawn again because its storer did not confirm it in time.
    pub redraws: u8,
    /// The root height of the block that recorded its present storer's last passed audit;
    /// null until that storer passes one.
    #[serde(default)]
    pub last_audit_height: Option<u64>,
    /// Marked for repair: its storer failed an audit and was let go, so the storer drawn next
    /// rebuilds it from k other shards rather than waiting for an upload; false again once
    /// that storer confirms it.
    #[serde(default)]
    pub repair: bool,
    /// Its open challenge (`docs/STORAGE.md` "Challenges"); null when none is open.
    #[serde(default)]
    pub challenge: Option<ChallengeShown>,
    /// How its last challenge ended; null if it was never challenged.
    #[serde(default)]
    pub last_challenge: Option<ChallengeEnd>,
}

/// An open challenge of a shard, as `bv_getBlob` shows it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChallengeShown {
    /// The storer that must claim it.
    pub storer: AccountId,
    /// The nonce its key is derived with.
    pub nonce: Hash,
    /// The public key a claim must be signed with.
    pub key: AccountId,
    /// What a claim pays.
    pub amount: Amount,
    /// The root height of the block that took it.
    pub posted_height: u64,
    /// The root block at whose start it is refunded if unclaimed.
    pub deadline_height: u64,
}

/// How a shard's last challenge ended, as `bv_getBlob` shows it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChallengeEnd {
    /// The challenge's nonce.
    pub nonce: Hash,
    /// The root height of the block that claimed it or refunded it.
    pub height: u64,
    /// Claimed by the storer (true), or refunded unclaimed (false: a failure on the storer's
    /// record, the shard re-placed).
    pub claimed: bool,
}

/// One storer of `bv_getStorers`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct StorerResult {
    /// The storer.
    pub address: AccountId,
    /// Its storer stake.
    pub stake: Amount,
    /// Its reputation as a storer at the height read, in parts per million.
    pub reputation_ppm: u32,
    /// The bytes it offers (`DeclareCapacity`).
    pub capacity_bytes: u64,
    /// The bytes of the shards placed on it.
    pub assigned_bytes: u64,
    /// The shards placed on it.
    pub shards: u32,
    /// The libp2p peer id it declared, where uploaders and readers reach it; null if it
    /// declared none.
    pub peer: Option<String>,
    /// Leaving (`docs/STORAGE.md` "Leaving"): the stake it unstakes once its shards are
    /// re-placed, during which it takes no new shard; null when not leaving.
    #[serde(default)]
    pub leaving: Option<Amount>,
}

/// A key pinned by a bounty.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PinnedKeyResult {
    /// The key.
    pub key: String,
    /// BLAKE3 of its value at the pinned height.
    pub value_hash: Hash,
}

/// A bounty's drawn lineup.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct LineupResult {
    /// Who published the lineup proof.
    pub finder: AccountId,
    /// The proof's hash, the draw's seed.
    pub seed: Hash,
    /// The relayers in relay order.
    pub relayers: Vec<AccountId>,
    /// The root height that recorded it.
    pub drawn_height: u64,
}

/// One slashing by a dispute.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SlashResult {
    /// The signer of a wrong result.
    pub address: AccountId,
    /// `offerer` or `relayer`: the role it signed in.
    pub role: String,
    /// The amount burnt.
    pub amount: Amount,
}

/// What `bv_getStake` answers: an account's stakes at one root height.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct StakeResult {
    /// The account.
    pub address: AccountId,
    /// The root height read.
    pub height: u64,
    /// Staked as an offerer.
    pub offerer: Amount,
    /// Staked as a relayer.
    pub relayer: Amount,
    /// Staked as a storer: locked while the root places shards on it (`docs/STORAGE.md`).
    pub storer: Amount,
    /// Amounts on their way back to the balance, by release height.
    pub unbonding: Vec<UnbondingResult>,
}

/// One unbonding entry in a [`StakeResult`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct UnbondingResult {
    /// `offerer`, `relayer` or `storer`.
    pub role: String,
    /// The amount.
    pub amount: Amount,
    /// The root block at whose start it returns to the balance.
    pub release_height: u64,
}

/// What `bv_getLedger` answers: an account's stakes and its ledger at one root height.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct LedgerResult {
    /// Its stakes, as `bv_getStake` gives them at the same height.
    pub stake: StakeResult,
    /// One record per task kind: `offerer`, then `relayer`.
    pub records: Vec<LedgerRecordResult>,
}

/// One reliability record in a [`LedgerResult`], decayed to the height read.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct LedgerRecordResult {
    /// `offerer` (the `Offer` task kind) or `relayer` (`Relay`).
    pub role: String,
    /// Whether root state holds a record; without one the node reads as the prior.
    pub recorded: bool,
    /// Decayed successes, in fixed point (one event weighs 10^6).
    pub successes: u64,
    /// Decayed failures, in fixed point.
    pub failures: u64,
    /// Decayed sum of the successes' latencies, in milliseconds.
    pub latency_ms_total: u64,
    /// Estimated probability of failure, in parts per million (prior included).
    pub failure_ppm: u32,
    /// Reputation, `10^6 − failure_ppm`: what weighs the relay draw.
    pub reputation_ppm: u32,
    /// Expected latency in milliseconds (prior included).
    pub latency_ms: u32,
}

/// What `bv_quote` answers: for each staked offerer, the tiers a bounty could buy.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct QuoteResult {
    /// The root height whose ledger and stakes the quote reads.
    pub height: u64,
    /// The transformation's key.
    pub transform: String,
    /// The input keys.
    pub inputs: Vec<String>,
    /// The fuel budget of each execution.
    pub fuel_budget: u64,
    /// The requester excluded from the lineups, if one was named.
    pub requester: Option<AccountId>,
    /// Relayers staked at that height (eligible or not).
    pub relayers_staked: u64,
    /// One quote per staked offerer, by account.
    pub offers: Vec<OfferQuoteResult>,
}

/// One offerer's quote in a [`QuoteResult`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct OfferQuoteResult {
    /// The offerer.
    pub offerer: AccountId,
    /// Its offerer stake.
    pub stake: Amount,
    /// Its tiers, by increasing hops.
    pub tiers: Vec<TierResult>,
}

/// One tier of a quote.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct TierResult {
    /// Relayers that recompute and countersign.
    pub hops: u8,
    /// Bound on the probability that a wrong result passes unnoticed, parts per million.
    pub undetected_error_ppm: u32,
    /// `10^6 − undetected_error_ppm`.
    pub reliability_ppm: u32,
    /// Expected time to a result, in milliseconds.
    pub latency_ms: u32,
    /// The bounty the tier costs.
    pub price: Amount,
}

/// `bv_marketRequest`'s parameter: what a requester asks offerers for (`docs/MARKET.md`,
/// "Across nodes").
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct MarketRequestParams {
    /// Who will post the bounty.
    pub requester: AccountId,
    /// The transformation's key.
    pub transform: String,
    /// The input keys.
    pub inputs: Vec<String>,
    /// The argument bytes, hex.
    pub args_hex: String,
    /// Fuel per execution.
    pub fuel_budget: u64,
    /// Relayers in the lineup.
    pub hops: u8,
    /// The root height the bounty will pin.
    pub pinned_height: u64,
    /// The root height at whose start the bounty will be refunded if still open; offerers
    /// accept the bounty's terms with it.
    pub expiry_height: u64,
    /// Tells equal requests apart.
    pub nonce: u64,
}

/// What `bv_marketRequest` answers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct MarketRequestResult {
    /// The request's id, which offers name.
    pub id: Hash,
    /// Whether the network took it (false on a node without peers: only its own roles hear).
    pub gossiped: bool,
}

/// One offer as `bv_getOffers` shows it: priced, or declined with a reason.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct OfferResult {
    /// The offerer.
    pub offerer: AccountId,
    /// The bounty it asks (null when declined).
    pub price: Option<Amount>,
    /// Its expected latency (null when declined).
    pub latency_ms: Option<u64>,
    /// Why it declined (null when priced).
    pub declined: Option<String>,
    /// The offer's canonical bytes, hex, for a requester to check the signature itself.
    pub offer_hex: String,
}

/// What `bv_getResult` answers: a bounty's envelope chain as heard and, once the root settled
/// the bounty, the result hash it settled with and the result's bytes as revealed.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ResultChainResult {
    /// The bounty.
    pub bounty: Hash,
    /// The signers so far, offerer first.
    pub signers: Vec<AccountId>,
    /// The fuel every envelope attests.
    pub fuel_used: u64,
    /// The chain's canonical bytes (`encode_envelope_chain`), hex: what `Settle` carries. Its
    /// envelopes commit to the result under each signer; none carries the result's hash.
    pub envelopes_hex: String,
    /// The result hash the root settled the bounty with (its Settle revealed it), and every
    /// envelope of the chain shown commits to; null while the bounty is not settled.
    pub result_hash: Option<Hash>,
    /// The result's bytes, hex, as revealed on the market topic after the settlement, checked
    /// here against `result_hash`; null until the bounty is settled and its result revealed.
    pub result_hex: Option<String>,
}
