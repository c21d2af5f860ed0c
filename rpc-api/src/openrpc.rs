//! The OpenRPC description of the node's JSON-RPC API, served by `rpc.discover`: one table
//! ([`METHODS`]) names every method the server registers with its parameters, result schema
//! and error codes, and one ([`ERRORS`]) every error code a caller can see. The document is
//! built from these tables; tests check that the server registers exactly the methods of the
//! table, that every error code a transaction can fail with is in it, and that `docs/RPC.md`
//! documents the same methods and codes.

use serde_json::{Map, Value, json};

use crate::{
    BROWSE_RESULTS_MAX, CODE_INTERNAL_ERROR, CODE_INVALID_PARAMS, CODE_NOT_ANCHORED_YET,
    CODE_NOT_TRACKED, HEADERS_PER_CALL_MAX, METHOD_CHAINS, METHOD_DISCOVER, METHOD_GET_ACCOUNT,
    METHOD_GET_BLOCK, METHOD_GET_HEADERS, METHOD_GET_KEY_CHAIN, METHOD_GET_KEYSPACE,
    METHOD_GET_PROOF, METHOD_GET_TRANSACTION, METHOD_GET_VALUE, METHOD_NETWORK_STATUS,
    METHOD_SEND_TRANSACTION, METHOD_SEND_TRANSACTIONS, METHOD_STATUS, METHOD_SUBSCRIBE_NEW_HEADS,
    METHOD_SUBSCRIBE_TRANSACTION, METHOD_UNSUBSCRIBE_NEW_HEADS, METHOD_UNSUBSCRIBE_TRANSACTION,
    NOTIFICATION_NEW_HEAD, NOTIFICATION_TRANSACTION, SEARCH_TEXT_BYTES_MAX,
};
use crate::{
    METHOD_BROWSE, METHOD_GET_BLOCK_BY_HASH, METHOD_GET_BOUNTY, METHOD_GET_EARNINGS,
    METHOD_GET_EARNINGS_PROOF, METHOD_GET_KEYSPACE_KEYS, METHOD_GET_LEDGER, METHOD_GET_OFFERS,
    METHOD_GET_RECENT_BLOCKS, METHOD_GET_RESULT, METHOD_GET_STAKE, METHOD_MARKET_REQUEST,
    METHOD_QUOTE, RECENT_BLOCKS_PER_CALL_MAX,
};

/// The OpenRPC version the document follows.
const OPENRPC_VERSION: &str = "1.3.2";
/// The label RPC metrics give a method name that is not in [`METHODS`], so that callers
/// cannot grow the label set.
pub const UNKNOWN_METHOD_LABEL: &str = "unknown";
/// Most methods the API may have: bounds the RPC latency metric's label set.
pub const RPC_METHODS_MAX: usize = 64;

/// A JSON schema, written once, referenced by name.
type SchemaFn = fn() -> Value;

/// One positional parameter.
pub struct ParamSpec {
    /// Its name in the document.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// The name of its schema in [`SCHEMAS`].
    pub schema: &'static str,
    /// Whether it must be given.
    pub required: bool,
}

/// What a subscription method sends.
pub struct SubscriptionSpec {
    /// The notifications' method name.
    pub notification: &'static str,
    /// The method that ends the subscription.
    pub unsubscribe: &'static str,
    /// The name of the notifications' schema in [`SCHEMAS`].
    pub item_schema: &'static str,
}

/// One method of the API.
pub struct MethodSpec {
    /// Its name.
    pub name: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Its parameters, in order.
    pub params: &'static [ParamSpec],
    /// The name of its result's schema in [`SCHEMAS`].
    pub result: &'static str,
    /// The error codes it can answer with (each in [`ERRORS`]).
    pub errors: &'static [i32],
    /// For a subscription: what it sends (WebSocket only).
    pub subscription: Option<SubscriptionSpec>,
}

/// One error code.
pub struct ErrorSpec {
    /// The code; stable.
    pub code: i32,
    /// Its name in the document.
    pub name: &'static str,
    /// What it means.
    pub meaning: &'static str,
}

const NO_PARAMS: &[ParamSpec] = &[];
const INTERNAL: &[i32] = &[CODE_INTERNAL_ERROR];
/// An account and an optional root height: the market's reads.
const ADDRESS_AND_HEIGHT: &[ParamSpec] = &[
    ParamSpec {
        name: "address",
        description: "A bech32m address `bv1…`",
        schema: "Address",
        required: true,
    },
    ParamSpec {
        name: "height",
        description: "The root height read (default: the tip); above the tip is -32602",
        schema: "Height",
        required: false,
    },
];
const PARAMS_OR_INTERNAL: &[i32] = &[CODE_INVALID_PARAMS, CODE_INTERNAL_ERROR];
const KEY_ERRORS: &[i32] = &[CODE_INVALID_PARAMS, -32009, -32001, CODE_INTERNAL_ERROR];
const SEND_ERRORS: &[i32] = &[
    CODE_INVALID_PARAMS,
    -32001,
    -32002,
    -32003,
    -32004,
    -32005,
    -32006,
    -32007,
    -32008,
    -32009,
    -32011,
    -32012,
    -32013,
    -32014,
    -32015,
    CODE_NOT_TRACKED,
    CODE_NOT_ANCHORED_YET,
    -32018,
    -32019,
    -32020,
    -32021,
    -32022,
    -32023,
    -32024,
    -32025,
    -32026,
    -32027,
    -32028,
    -32029,
    -32030,
    -32031,
    -32032,
    CODE_INTERNAL_ERROR,
];
/// Reads of a miner's earnings: a bad address or chain, a chain not open here or not
/// anchored down to yet.
const EARNINGS_ERRORS: &[i32] = &[
    CODE_INVALID_PARAMS,
    CODE_NOT_TRACKED,
    CODE_NOT_ANCHORED_YET,
    CODE_INTERNAL_ERROR,
];
/// Reads of a key at any depth: a chain this node does not track, or not anchored yet.
const DEEP_KEY_ERRORS: &[i32] = &[
    CODE_INVALID_PARAMS,
    -32009,
    -32001,
    CODE_NOT_TRACKED,
    CODE_NOT_ANCHORED_YET,
    CODE_INTERNAL_ERROR,
];
const CHAIN_PARAM_ERRORS: &[i32] = &[CODE_INVALID_PARAMS, CODE_NOT_TRACKED, CODE_INTERNAL_ERROR];
/// Over HTTP a subscription is refused with -32603; on WebSocket, -32006 when the connection
/// holds too many subscriptions.
const SUBSCRIBE_ERRORS: &[i32] = &[CODE_INVALID_PARAMS, -32006, CODE_INTERNAL_ERROR];
const NEW_HEADS_ERRORS: &[i32] = &[
    CODE_INVALID_PARAMS,
    CODE_NOT_TRACKED,
    -32006,
    CODE_INTERNAL_ERROR,
];
const KEY_PARAM: &[ParamSpec] = &[ParamSpec {
    name: "key",
    description: "A key such as `alice/profile`",
    schema: "Key",
    required: true,
}];
const SUBSCRIPTION_PARAM: &[ParamSpec] = &[ParamSpec {
    name: "subscription",
    description: "The id the subscribe call answered",
    schema: "SubscriptionId",
    required: true,
}];

/// Every method the server registers.
pub const METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: METHOD_DISCOVER,
        summary: "This document: the OpenRPC description of the API",
        params: NO_PARAMS,
        result: "OpenRpcDocument",
        errors: &[],
        subscription: None,
    },
    MethodSpec {
        name: METHOD_STATUS,
        summary: "The node's network and the root chain's tip",
        params: NO_PARAMS,
        result: "StatusResult",
        errors: INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_ACCOUNT,
        summary: "An account's balance and nonces at the tip",
        params: &[
            ParamSpec {
                name: "address",
                description: "A bech32m address `bv1…`",
                schema: "Address",
                required: true,
            },
            ParamSpec {
                name: "chain",
                description: "The chain whose nonce is counted (default `root`)",
                schema: "ChainName",
                required: false,
            },
        ],
        result: "AccountResult",
        errors: CHAIN_PARAM_ERRORS,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_STAKE,
        summary: "An account's stakes and unbonding entries in the root's state at a height",
        params: ADDRESS_AND_HEIGHT,
        result: "StakeResult",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_LEDGER,
        summary: "An account's stakes and reliability records (decayed, with estimates) at a root height",
        params: ADDRESS_AND_HEIGHT,
        result: "LedgerResult",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_QUOTE,
        summary: "The tier table of every staked offerer at a root height: hops, undetected-error bound, latency, price",
        params: &[
            ParamSpec {
                name: "transform",
                description: "The transformation's key",
                schema: "Key",
                required: true,
            },
            ParamSpec {
                name: "inputs",
                description: "The input keys, 1 to 16",
                schema: "KeyList",
                required: true,
            },
            ParamSpec {
                name: "fuel_budget",
                description: "Fuel each execution may use, 1 to 4 000 000 000",
                schema: "FuelBudget",
                required: true,
            },
            ParamSpec {
                name: "height",
                description: "The root height read (default: the tip)",
                schema: "Height",
                required: false,
            },
            ParamSpec {
                name: "requester",
                description: "The requester, never drawn as a relayer (default: none)",
                schema: "Address",
                required: false,
            },
        ],
        result: "QuoteResult",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_BOUNTY,
        summary: "A bounty in the root's state at a height: what it pins, its lineup, how it ended; null if not posted by then",
        params: &[
            ParamSpec {
                name: "id",
                description: "The bounty's id: the id of the PostBounty transaction",
                schema: "Hash",
                required: true,
            },
            ParamSpec {
                name: "height",
                description: "The root height read (default: the tip); above the tip is -32602",
                schema: "Height",
                required: false,
            },
        ],
        result: "BountyResultOrNull",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_MARKET_REQUEST,
        summary: "Gossips a requester's request on the market topic for staked offerers to answer with signed offers",
        params: &[ParamSpec {
            name: "request",
            description: "What the requester asks for: transformation, inputs, arguments, fuel, tier, pinned height, nonce",
            schema: "MarketRequestParams",
            required: true,
        }],
        result: "MarketRequestResult",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_OFFERS,
        summary: "The signed offers this node heard for a request, in the order heard",
        params: &[ParamSpec {
            name: "request_id",
            description: "The id bv_marketRequest answered",
            schema: "Hash",
            required: true,
        }],
        result: "OfferResultArray",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_RESULT,
        summary: "The longest envelope chain this node heard for a bounty that fits it as the root holds it, with the result it attests; null if none",
        params: &[ParamSpec {
            name: "bounty_id",
            description: "The bounty's id",
            schema: "Hash",
            required: true,
        }],
        result: "ResultChainResultOrNull",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_SEND_TRANSACTION,
        summary: "Admits a signed transaction to the mempool and returns its hash",
        params: &[ParamSpec {
            name: "tx_hex",
            description: "The canonical bytes of a signed `Transaction`, as hex",
            schema: "Hex",
            required: true,
        }],
        result: "Hash",
        errors: SEND_ERRORS,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_SEND_TRANSACTIONS,
        summary: "Admits many signed transactions at once (at most 1000); answers each with its \
                  hash or the error bv_sendTransaction would give it alone",
        params: &[ParamSpec {
            name: "txs_hex",
            description: "Signed `Transaction`s' canonical bytes, as hex, at most 1000",
            schema: "HexArray",
            required: true,
        }],
        result: "SendItemResults",
        // The whole call fails only for a list that is not one, or is too long (-32602);
        // each item's own error (any of bv_sendTransaction's) is inside the result.
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_TRANSACTION,
        summary: "Where a transaction is: unknown, pending, included or dropped",
        params: &[
            ParamSpec {
                name: "hash",
                description: "The transaction's hash",
                schema: "Hash",
                required: true,
            },
            ParamSpec {
                name: "chain",
                description: "The chain to look on (default: every open chain, the root first)",
                schema: "ChainName",
                required: false,
            },
        ],
        result: "TransactionResult",
        errors: CHAIN_PARAM_ERRORS,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_KEYSPACE,
        summary: "A registered keyspace, or null",
        params: &[ParamSpec {
            name: "name",
            description: "A keyspace name such as `alice` or `twitter/erik`",
            schema: "KeyspaceName",
            required: true,
        }],
        result: "KeyspaceResultOrNull",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_VALUE,
        summary: "A key's value at its chain's tip, on the node's word (see bv_getProof)",
        params: KEY_PARAM,
        result: "ValueResult",
        errors: DEEP_KEY_ERRORS,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_PROOF,
        summary: "A proof of a key's value (or absence) against the root's tip header, one anchor link per level",
        params: KEY_PARAM,
        result: "ProofResult",
        errors: DEEP_KEY_ERRORS,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_KEY_CHAIN,
        summary: "The chain a key's writes go to, and its home keyspace",
        params: KEY_PARAM,
        result: "KeyChainResult",
        errors: KEY_ERRORS,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_HEADERS,
        summary: "Up to `count` best-chain headers from `from_height` on",
        params: &[
            ParamSpec {
                name: "from_height",
                description: "The first height",
                schema: "Height",
                required: true,
            },
            ParamSpec {
                name: "count",
                description: "How many headers, at most 1000",
                schema: "HeaderCount",
                required: true,
            },
        ],
        result: "HexArray",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_BLOCK,
        summary: "The best chain's block at a height, as hex, or null",
        params: &[ParamSpec {
            name: "height",
            description: "The block's height",
            schema: "Height",
            required: true,
        }],
        result: "HexOrNull",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_CHAINS,
        summary: "The chains the node has open, root first then depth-first, with tips, anchored and final heights",
        params: NO_PARAMS,
        result: "ChainResultArray",
        errors: INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_EARNINGS,
        summary: "What a miner earned from keyspace endowments on each data chain open here, \
                  what the root paid it, and what a claim would pay now",
        params: &[
            ParamSpec {
                name: "miner",
                description: "The miner's bech32m address `bv1…`",
                schema: "Address",
                required: true,
            },
            ParamSpec {
                name: "chain",
                description: "Only this data chain (default: every data chain open here)",
                schema: "ChainName",
                required: false,
            },
        ],
        result: "EarningsResultArray",
        errors: EARNINGS_ERRORS,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_EARNINGS_PROOF,
        summary: "The proof of a miner's earnings on a data chain that a ClaimMinerReward \
                  transaction carries, as of the block the root's tip anchors",
        params: &[
            ParamSpec {
                name: "miner",
                description: "The miner's bech32m address `bv1…`",
                schema: "Address",
                required: true,
            },
            ParamSpec {
                name: "chain",
                description: "The data chain (bit string) the miner earned on",
                schema: "ChainName",
                required: true,
            },
        ],
        result: "EarningsProofResult",
        errors: EARNINGS_ERRORS,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_NETWORK_STATUS,
        summary: "The node's peers, bans and sync progress",
        params: NO_PARAMS,
        result: "NetworkStatusResult",
        errors: INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_SUBSCRIBE_NEW_HEADS,
        summary: "WebSocket: a notification for each block that joins a chain's best chain",
        params: &[ParamSpec {
            name: "chain",
            description: "The chain, `root` (the default) or the bit string of a data chain this \
                          node tracks",
            schema: "ChainName",
            required: false,
        }],
        result: "SubscriptionId",
        errors: NEW_HEADS_ERRORS,
        subscription: Some(SubscriptionSpec {
            notification: NOTIFICATION_NEW_HEAD,
            unsubscribe: METHOD_UNSUBSCRIBE_NEW_HEADS,
            item_schema: "NewHeadResult",
        }),
    },
    MethodSpec {
        name: METHOD_UNSUBSCRIBE_NEW_HEADS,
        summary: "Ends a bv_subscribeNewHeads subscription",
        params: SUBSCRIPTION_PARAM,
        result: "Unsubscribed",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_SUBSCRIBE_TRANSACTION,
        summary: "WebSocket: a transaction's status on each change, until included or dropped",
        params: &[ParamSpec {
            name: "hash",
            description: "The transaction's hash",
            schema: "Hash",
            required: true,
        }],
        result: "SubscriptionId",
        errors: SUBSCRIBE_ERRORS,
        subscription: Some(SubscriptionSpec {
            notification: NOTIFICATION_TRANSACTION,
            unsubscribe: METHOD_UNSUBSCRIBE_TRANSACTION,
            item_schema: "TransactionResult",
        }),
    },
    MethodSpec {
        name: METHOD_UNSUBSCRIBE_TRANSACTION,
        summary: "Ends a bv_subscribeTransaction subscription",
        params: SUBSCRIPTION_PARAM,
        result: "Unsubscribed",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_BROWSE,
        summary: "The browse lists: keyspaces, transformations published, most read and most written keys",
        params: &[
            ParamSpec {
                name: "search",
                description: "Only entries whose keyspace name, owner or key contains this text (default: all)",
                schema: "SearchText",
                required: false,
            },
            ParamSpec {
                name: "limit",
                description: "Entries per list, at most 200 (default 20)",
                schema: "BrowseLimit",
                required: false,
            },
        ],
        result: "BrowseResult",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_RECENT_BLOCKS,
        summary: "A chain's last best blocks, newest first",
        params: &[
            ParamSpec {
                name: "chain",
                description: "The chain (default `root`)",
                schema: "ChainName",
                required: false,
            },
            ParamSpec {
                name: "count",
                description: "How many blocks, at most 100 (default 10)",
                schema: "RecentBlockCount",
                required: false,
            },
        ],
        result: "BlockSummaryResultArray",
        errors: CHAIN_PARAM_ERRORS,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_BLOCK_BY_HASH,
        summary: "A stored block (any branch) with its transactions, or null",
        params: &[
            ParamSpec {
                name: "hash",
                description: "The block's hash",
                schema: "Hash",
                required: true,
            },
            ParamSpec {
                name: "chain",
                description: "The chain to look on (default: every open chain, the root first)",
                schema: "ChainName",
                required: false,
            },
        ],
        result: "BlockResultOrNull",
        errors: CHAIN_PARAM_ERRORS,
        subscription: None,
    },
    MethodSpec {
        name: METHOD_GET_KEYSPACE_KEYS,
        summary: "A keyspace's keys as the browse index lists them, in key order, a page at a time",
        params: &[
            ParamSpec {
                name: "name",
                description: "The keyspace",
                schema: "KeyspaceName",
                required: true,
            },
            ParamSpec {
                name: "after",
                description: "List the keys after this one (the last of the previous page)",
                schema: "Key",
                required: false,
            },
            ParamSpec {
                name: "limit",
                description: "How many keys, at most 200 (default 200)",
                schema: "BrowseLimit",
                required: false,
            },
        ],
        result: "KeyspaceKeysResult",
        errors: PARAMS_OR_INTERNAL,
        subscription: None,
    },
];

// The RPC latency metric labels each method of the table.
const _: () = assert!(METHODS.len() < RPC_METHODS_MAX);

/// Every error code a caller can see. The -32001…-32014 codes are `TxError::code()`; where
/// the JSON-RPC server library uses a code of that range for a transport limit, the meaning
/// says when.
pub const ERRORS: &[ErrorSpec] = &[
    ErrorSpec {
        code: -32700,
        name: "ParseError",
        meaning: "malformed JSON",
    },
    ErrorSpec {
        code: -32600,
        name: "InvalidRequest",
        meaning: "not a JSON-RPC 2.0 request",
    },
    ErrorSpec {
        code: -32601,
        name: "MethodNotFound",
        meaning: "no such method",
    },
    ErrorSpec {
        code: CODE_INVALID_PARAMS,
        name: "InvalidParams",
        meaning: "wrong arity or type, bad hex, address, hash or chain, count above the maximum",
    },
    ErrorSpec {
        code: CODE_INTERNAL_ERROR,
        name: "InternalError",
        meaning: "the node failed (it logs why); also a subscription asked over HTTP",
    },
    ErrorSpec {
        code: -32001,
        name: "UnknownKeyspace",
        meaning: "no registered keyspace holds the key",
    },
    ErrorSpec {
        code: -32002,
        name: "NotOwner",
        meaning: "the sender is not the keyspace's owner",
    },
    ErrorSpec {
        code: -32003,
        name: "InsufficientBalance",
        meaning: "insufficient balance for amount plus fee",
    },
    ErrorSpec {
        code: -32004,
        name: "QuotaExceeded",
        meaning: "the write would exceed the keyspace's quota",
    },
    ErrorSpec {
        code: -32005,
        name: "ValueTooLarge",
        meaning: "value above 65536 bytes",
    },
    ErrorSpec {
        code: -32006,
        name: "BadNonce",
        meaning: "bad nonce (already used, or too far ahead); on a subscribe call: too many \
                  subscriptions on this connection",
    },
    ErrorSpec {
        code: -32007,
        name: "BadSignature",
        meaning: "the signature does not verify for the sender",
    },
    ErrorSpec {
        code: -32008,
        name: "MempoolRefused",
        meaning: "mempool full, or a pending transaction with the same nonce pays at least as much",
    },
    ErrorSpec {
        code: -32009,
        name: "InvalidTransaction",
        meaning: "malformed bytes, wrong chain, invalid key or keyspace name, zero quota, \
                  prepaid too low, depth too deep, a fee or a non-write on a data chain, \
                  deleting an absent key, overflow",
    },
    ErrorSpec {
        code: -32010,
        name: "BatchTooLarge",
        meaning: "a batch of more than 1000 calls (from the server library)",
    },
    ErrorSpec {
        code: -32011,
        name: "KeyspaceTaken",
        meaning: "the keyspace is already taken",
    },
    ErrorSpec {
        code: -32012,
        name: "AlreadyKnown",
        meaning: "the transaction is already known (pending or included)",
    },
    ErrorSpec {
        code: -32013,
        name: "ScriptRejected",
        meaning: "the keyspace's validation script rejected the write; data: {keyspace, reason_code}",
    },
    ErrorSpec {
        code: -32014,
        name: "ScriptRefused",
        meaning: "a script offered by BuyKeyspace or SetScript is refused",
    },
    ErrorSpec {
        code: -32015,
        name: "KeyOnOtherChain",
        meaning: "the key's keyspace lives on another chain: sign the write for that chain",
    },
    ErrorSpec {
        code: CODE_NOT_TRACKED,
        name: "NotTracked",
        meaning: "the chain named is not one this node stores (not tracked, or not live yet)",
    },
    ErrorSpec {
        code: CODE_NOT_ANCHORED_YET,
        name: "NotAnchoredYet",
        meaning: "a data-chain write or proof cannot be judged yet: its relay parent or anchor \
                  is not there yet on this node, or its keyspace was bought less than the relay \
                  depth ago; retry shortly",
    },
    ErrorSpec {
        code: -32018,
        name: "InsufficientStake",
        meaning: "an unstake asks for more than the sender has staked in the role",
    },
    ErrorSpec {
        code: -32019,
        name: "StakeLimit",
        meaning: "the registry of staked nodes of the role is full, or the sender already has \
                  the most unbonding entries it may have",
    },
    ErrorSpec {
        code: -32020,
        name: "NothingToClaim",
        meaning: "a miner's claim would pay nothing: it was paid all it earned on that chain, or \
                  the chain's endowment pool is empty",
    },
    ErrorSpec {
        code: -32021,
        name: "BadEarningsProof",
        meaning: "a miner's earnings proof does not check, or starts from a block the root \
                  never anchored",
    },
    ErrorSpec {
        code: -32022,
        name: "UnknownBounty",
        meaning: "no bounty has this id",
    },
    ErrorSpec {
        code: -32023,
        name: "BountyClosed",
        meaning: "the bounty settled or expired already: a bounty ends exactly once",
    },
    ErrorSpec {
        code: -32024,
        name: "BadEnvelopeChain",
        meaning: "a Settle's envelope chain does not check against the bounty and its lineup, \
                  or a Dispute's two envelopes are not conflicting results of its participants",
    },
    ErrorSpec {
        code: -32025,
        name: "BadLineupProof",
        meaning: "a lineup proof does not meet the lineup difficulty, or its draw fails",
    },
    ErrorSpec {
        code: -32026,
        name: "TooManyBounties",
        meaning: "the requester has the most open bounties it may (16), or the root holds the \
                  most it may in total (10000) or expiring at one height (1000)",
    },
    ErrorSpec {
        code: -32027,
        name: "TierUnavailable",
        meaning: "the bounty names its requester as offerer, its acceptance is not the \
                  offerer's signature over its terms, the offerer had no offerer stake at the \
                  pinned height, or fewer eligible relayers were staked there than the bounty's \
                  hops",
    },
    ErrorSpec {
        code: -32028,
        name: "PinnedKeyMissing",
        meaning: "a bounty's transformation or input key had no value at the pinned height",
    },
    ErrorSpec {
        code: -32029,
        name: "LineupState",
        meaning: "a Settle before the bounty's lineup is drawn, a second lineup proof, or a \
                  lineup proof for a bounty of 0 hops",
    },
    ErrorSpec {
        code: -32030,
        name: "BadDeepValue",
        meaning: "a PostBounty's proven value for an input on a data chain does not check: a \
                  broken proof, a header the root never anchored, or a missing or extra proof",
    },
    ErrorSpec {
        code: -32031,
        name: "DisputeBurnsNothing",
        meaning: "a Dispute whose signers hold no stake in their roles: whoever is wrong, \
                  nothing would be burnt, so the root does not re-execute for it",
    },
    ErrorSpec {
        code: -32032,
        name: "DisputeFuelFull",
        meaning: "a block holds as much dispute fuel as it may (block building keeps the \
                  Dispute for the next block; a block that passes it is invalid)",
    },
];

/// The label the RPC metrics give a called method: its name when the API has it, else
/// [`UNKNOWN_METHOD_LABEL`].
pub fn method_label(name: &str) -> &'static str {
    METHODS
        .iter()
        .find(|m| m.name == name)
        .map_or(UNKNOWN_METHOD_LABEL, |m| m.name)
}

fn hex_pattern(digits: Option<u32>) -> Value {
    match digits {
        Some(n) => json!(format!("^(0x)?[0-9a-fA-F]{{{n}}}$")),
        None => json!("^(0x)?([0-9a-fA-F]{2})*$"),
    }
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn nullable(name: &str) -> Value {
    json!({"oneOf": [schema_ref(name), {"type": "null"}]})
}

fn uint() -> Value {
    json!({"type": "integer", "minimum": 0})
}

/// Every schema the methods name, by name.
pub const SCHEMAS: &[(&str, SchemaFn)] = &[
    (
        "Hash",
        || json!({"type": "string", "description": "64 hex digits (BLAKE3-256)", "pattern": hex_pattern(Some(64))}),
    ),
    (
        "Hex",
        || json!({"type": "string", "description": "Bytes as hex", "pattern": hex_pattern(None)}),
    ),
    ("HexOrNull", || nullable("Hex")),
    (
        "SendItemResults",
        || json!({"type": "array", "description": "One per transaction sent, in order", "items": schema_ref("SendItemResult")}),
    ),
    ("SendItemResult", || {
        json!({
            "type": "object",
            "description": "Exactly one of `hash` (admitted) and `error` (refused) is not null",
            "required": ["hash", "error"],
            "properties": {
                "hash": nullable("Hash"),
                "error": {
                    "oneOf": [
                        {"type": "null"},
                        {
                            "type": "object",
                            "description": "The error bv_sendTransaction would answer for this transaction alone",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "integer"},
                                "message": {"type": "string"},
                                "data": {"description": "Structured detail (a script's rejection: keyspace, reason_code)"}
                            }
                        }
                    ]
                }
            }
        })
    }),
    (
        "HexArray",
        || json!({"type": "array", "items": schema_ref("Hex")}),
    ),
    (
        "Address",
        || json!({"type": "string", "description": "A bech32m account address", "pattern": "^bv1[02-9ac-hj-np-z]+$"}),
    ),
    (
        "Amount",
        || json!({"type": "string", "description": "Base units as a decimal string (a u128)", "pattern": "^[0-9]+$"}),
    ),
    (
        "Key",
        || json!({"type": "string", "description": "keyspace/path"}),
    ),
    ("KeyspaceName", || json!({"type": "string"})),
    (
        "ChainName",
        || json!({"type": "string", "description": "`root` or a bit string", "pattern": "^(root|[01]+)$"}),
    ),
    ("Height", uint),
    (
        "HeaderCount",
        || json!({"type": "integer", "minimum": 0, "maximum": HEADERS_PER_CALL_MAX}),
    ),
    (
        "SubscriptionId",
        || json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
    ),
    (
        "Unsubscribed",
        || json!({"type": "boolean", "description": "Whether a subscription was ended"}),
    ),
    (
        "OpenRpcDocument",
        || json!({"type": "object", "required": ["openrpc", "info", "methods"]}),
    ),
    ("StatusResult", || {
        object(
            &[
                "network",
                "genesis_hash",
                "dev",
                "height",
                "tip",
                "state_root",
                "time_ms",
                "difficulty",
                "mempool_size",
                "peers",
                "storage_price_per_byte",
                "storage_price_per_byte_by_depth",
                "miner",
            ],
            json!({
                "network": {"type": "string"},
                "genesis_hash": schema_ref("Hash"),
                "dev": {"type": "boolean"},
                "height": uint(),
                "tip": schema_ref("Hash"),
                "state_root": schema_ref("Hash"),
                "time_ms": uint(),
                "difficulty": uint(),
                "mempool_size": uint(),
                "peers": uint(),
                "storage_price_per_byte": schema_ref("Amount"),
                "storage_price_per_byte_by_depth": {"type": "array", "items": schema_ref("Amount")},
                "miner": schema_ref("Address"),
            }),
        )
    }),
    ("AccountResult", || {
        object(
            &["balance", "nonce", "pending_nonce"],
            json!({
                "balance": schema_ref("Amount"),
                "nonce": uint(),
                "pending_nonce": uint(),
            }),
        )
    }),
    ("TransactionResult", || {
        object(
            &["status"],
            json!({
                "status": {"enum": ["unknown", "pending", "included", "dropped"]},
                "height": uint(),
                "block": schema_ref("Hash"),
                "index": uint(),
                "error": {"type": "string"},
                "error_code": {"type": "integer"},
                "script_reason_code": uint(),
            }),
        )
    }),
    ("KeyspaceResult", || {
        object(
            &[
                "name",
                "owner",
                "quota_bytes",
                "used_bytes",
                "endowment",
                "script_hash",
                "depth",
                "chain",
            ],
            json!({
                "name": {"type": "string"},
                "owner": schema_ref("Address"),
                "quota_bytes": uint(),
                "used_bytes": uint(),
                "endowment": schema_ref("Amount"),
                "script_hash": nullable("Hash"),
                "depth": uint(),
                "chain": schema_ref("ChainName"),
            }),
        )
    }),
    ("KeyspaceResultOrNull", || nullable("KeyspaceResult")),
    (
        "KeyList",
        || json!({"type": "array", "items": schema_ref("Key"), "minItems": 1, "maxItems": 16}),
    ),
    (
        "FuelBudget",
        || json!({"type": "integer", "minimum": 1, "maximum": 4_000_000_000u64}),
    ),
    ("Role", || json!({"enum": ["offerer", "relayer"]})),
    ("BountyResultOrNull", || nullable("BountyResult")),
    ("BountyResult", || {
        object(
            &[
                "id",
                "height",
                "requester",
                "offerer",
                "amount",
                "transform",
                "inputs",
                "args_hex",
                "pinned_height",
                "posted_height",
                "hops",
                "fuel_budget",
                "expiry_height",
                "lineup",
                "status",
                "ended_height",
                "result_hash",
                "fuel_used",
                "slashed",
            ],
            json!({
                "id": schema_ref("Hash"),
                "height": uint(),
                "requester": schema_ref("Address"),
                "offerer": schema_ref("Address"),
                "amount": schema_ref("Amount"),
                "transform": schema_ref("PinnedKeyResult"),
                "inputs": {"type": "array", "items": schema_ref("PinnedKeyResult"), "maxItems": 16},
                "args_hex": {"type": "string", "pattern": "^([0-9a-f]{2})*$"},
                "pinned_height": uint(),
                "posted_height": uint(),
                "hops": {"type": "integer", "minimum": 0, "maximum": 8},
                "fuel_budget": schema_ref("FuelBudget"),
                "expiry_height": uint(),
                "lineup": nullable("LineupResult"),
                "status": {"enum": ["open", "settled", "expired", "disputed"]},
                "ended_height": {"type": ["integer", "null"], "minimum": 0},
                "result_hash": nullable("Hash"),
                "fuel_used": {"type": ["integer", "null"], "minimum": 0},
                "slashed": {"type": "array", "items": schema_ref("SlashResult")},
            }),
        )
    }),
    ("MarketRequestParams", || {
        object(
            &[
                "requester",
                "transform",
                "inputs",
                "args_hex",
                "fuel_budget",
                "hops",
                "pinned_height",
                "expiry_height",
                "nonce",
            ],
            json!({
                "requester": schema_ref("Address"),
                "transform": schema_ref("Key"),
                "inputs": {"type": "array", "items": schema_ref("Key"), "minItems": 1, "maxItems": 16},
                "args_hex": {"type": "string", "pattern": "^([0-9a-f]{2})*$"},
                "fuel_budget": schema_ref("FuelBudget"),
                "hops": {"type": "integer", "minimum": 0, "maximum": 255},
                "pinned_height": uint(),
                "expiry_height": uint(),
                "nonce": uint(),
            }),
        )
    }),
    ("MarketRequestResult", || {
        object(
            &["id", "gossiped"],
            json!({"id": schema_ref("Hash"), "gossiped": {"type": "boolean"}}),
        )
    }),
    (
        "OfferResultArray",
        || json!({"type": "array", "items": schema_ref("OfferResult"), "maxItems": 64}),
    ),
    ("OfferResult", || {
        object(
            &["offerer", "price", "latency_ms", "declined", "offer_hex"],
            json!({
                "offerer": schema_ref("Address"),
                "price": nullable("Amount"),
                "latency_ms": {"type": ["integer", "null"], "minimum": 0},
                "declined": {"type": ["string", "null"], "maxLength": 256},
                "offer_hex": schema_ref("Hex"),
            }),
        )
    }),
    ("ResultChainResultOrNull", || nullable("ResultChainResult")),
    ("ResultChainResult", || {
        object(
            &[
                "bounty",
                "signers",
                "result_hash",
                "fuel_used",
                "envelopes_hex",
                "result_hex",
            ],
            json!({
                "bounty": schema_ref("Hash"),
                "signers": {"type": "array", "items": schema_ref("Address"), "minItems": 1, "maxItems": 9},
                "result_hash": schema_ref("Hash"),
                "fuel_used": uint(),
                "envelopes_hex": schema_ref("Hex"),
                "result_hex": schema_ref("Hex"),
            }),
        )
    }),
    ("PinnedKeyResult", || {
        object(
            &["key", "value_hash"],
            json!({"key": schema_ref("Key"), "value_hash": schema_ref("Hash")}),
        )
    }),
    ("LineupResult", || {
        object(
            &["finder", "seed", "relayers", "drawn_height"],
            json!({
                "finder": schema_ref("Address"),
                "seed": schema_ref("Hash"),
                "relayers": {"type": "array", "items": schema_ref("Address"), "maxItems": 8},
                "drawn_height": uint(),
            }),
        )
    }),
    ("SlashResult", || {
        object(
            &["address", "role", "amount"],
            json!({
                "address": schema_ref("Address"),
                "role": schema_ref("Role"),
                "amount": schema_ref("Amount"),
            }),
        )
    }),
    ("StakeResult", || {
        object(
            &["address", "height", "offerer", "relayer", "unbonding"],
            json!({
                "address": schema_ref("Address"),
                "height": uint(),
                "offerer": schema_ref("Amount"),
                "relayer": schema_ref("Amount"),
                "unbonding": {"type": "array", "items": schema_ref("UnbondingResult")},
            }),
        )
    }),
    ("UnbondingResult", || {
        object(
            &["role", "amount", "release_height"],
            json!({
                "role": schema_ref("Role"),
                "amount": schema_ref("Amount"),
                "release_height": uint(),
            }),
        )
    }),
    ("LedgerResult", || {
        object(
            &["stake", "records"],
            json!({
                "stake": schema_ref("StakeResult"),
                "records": {"type": "array", "items": schema_ref("LedgerRecordResult")},
            }),
        )
    }),
    ("LedgerRecordResult", || {
        object(
            &[
                "role",
                "recorded",
                "successes",
                "failures",
                "latency_ms_total",
                "failure_ppm",
                "reputation_ppm",
                "latency_ms",
            ],
            json!({
                "role": schema_ref("Role"),
                "recorded": {"type": "boolean"},
                "successes": uint(),
                "failures": uint(),
                "latency_ms_total": uint(),
                "failure_ppm": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                "reputation_ppm": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                "latency_ms": uint(),
            }),
        )
    }),
    ("QuoteResult", || {
        object(
            &[
                "height",
                "transform",
                "inputs",
                "fuel_budget",
                "requester",
                "relayers_staked",
                "offers",
            ],
            json!({
                "height": uint(),
                "transform": schema_ref("Key"),
                "inputs": schema_ref("KeyList"),
                "fuel_budget": schema_ref("FuelBudget"),
                "requester": nullable("Address"),
                "relayers_staked": uint(),
                "offers": {"type": "array", "items": schema_ref("OfferQuoteResult")},
            }),
        )
    }),
    ("OfferQuoteResult", || {
        object(
            &["offerer", "stake", "tiers"],
            json!({
                "offerer": schema_ref("Address"),
                "stake": schema_ref("Amount"),
                "tiers": {"type": "array", "items": schema_ref("TierResult")},
            }),
        )
    }),
    ("TierResult", || {
        object(
            &[
                "hops",
                "undetected_error_ppm",
                "reliability_ppm",
                "latency_ms",
                "price",
            ],
            json!({
                "hops": {"type": "integer", "minimum": 0, "maximum": 8},
                "undetected_error_ppm": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                "reliability_ppm": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                "latency_ms": uint(),
                "price": schema_ref("Amount"),
            }),
        )
    }),
    ("ValueResult", || {
        object(
            &["value_hex", "height", "chain"],
            json!({"value_hex": nullable("Hex"), "height": uint(), "chain": schema_ref("ChainName")}),
        )
    }),
    ("KeyChainResult", || {
        object(
            &["keyspace", "chain", "depth"],
            json!({
                "keyspace": schema_ref("KeyspaceName"),
                "chain": schema_ref("ChainName"),
                "depth": uint(),
            }),
        )
    }),
    ("ProofResult", || {
        object(&["proof_hex"], json!({"proof_hex": schema_ref("Hex")}))
    }),
    ("ChainResult", || {
        object(
            &[
                "chain",
                "depth",
                "height",
                "tip",
                "anchored_height",
                "final_height",
                "tracked",
                "peers",
            ],
            json!({
                "chain": schema_ref("ChainName"),
                "depth": uint(),
                "height": uint(),
                "tip": schema_ref("Hash"),
                "anchored_height": {"type": ["integer", "null"], "minimum": 0},
                "final_height": {"type": ["integer", "null"], "minimum": 0},
                "tracked": {"type": "boolean"},
                "peers": uint(),
            }),
        )
    }),
    (
        "ChainResultArray",
        || json!({"type": "array", "items": schema_ref("ChainResult")}),
    ),
    ("EarningsResult", || {
        object(
            &[
                "chain",
                "earned",
                "provable",
                "claimed",
                "claimable",
                "pool_deposited",
                "pool_paid",
            ],
            json!({
                "chain": schema_ref("ChainName"),
                "earned": schema_ref("Amount"),
                "provable": nullable("Amount"),
                "claimed": schema_ref("Amount"),
                "claimable": schema_ref("Amount"),
                "pool_deposited": schema_ref("Amount"),
                "pool_paid": schema_ref("Amount"),
            }),
        )
    }),
    (
        "EarningsResultArray",
        || json!({"type": "array", "items": schema_ref("EarningsResult")}),
    ),
    ("EarningsProofResult", || {
        object(
            &["chain", "miner", "earned", "proof"],
            json!({
                "chain": schema_ref("ChainName"),
                "miner": schema_ref("Address"),
                "earned": schema_ref("Amount"),
                "proof": schema_ref("Hex"),
            }),
        )
    }),
    ("PeerResult", || {
        object(
            &[
                "peer_id",
                "addr",
                "height",
                "tip",
                "cumulative_work",
                "rejected_messages",
                "synced_blocks",
                "gossip_score",
            ],
            json!({
                "peer_id": {"type": "string"},
                "addr": {"type": ["string", "null"]},
                "height": {"type": ["integer", "null"], "minimum": 0},
                "tip": nullable("Hash"),
                "cumulative_work": {"type": ["string", "null"], "pattern": "^[0-9]+$"},
                "rejected_messages": uint(),
                "synced_blocks": uint(),
                "gossip_score": {"type": ["number", "null"]},
            }),
        )
    }),
    ("BannedPeerResult", || {
        object(
            &["peer_id", "reason", "rejected_messages", "remaining_ms"],
            json!({
                "peer_id": {"type": "string"},
                "reason": {"type": "string"},
                "rejected_messages": uint(),
                "remaining_ms": uint(),
            }),
        )
    }),
    ("NetworkStatusResult", || {
        object(
            &[
                "enabled",
                "peer_id",
                "listen_addrs",
                "peer_count",
                "peers",
                "banned_peers",
                "height",
                "best_peer_height",
                "syncing",
                "sync_peer",
                "synced_blocks",
            ],
            json!({
                "enabled": {"type": "boolean"},
                "peer_id": {"type": ["string", "null"]},
                "listen_addrs": {"type": "array", "items": {"type": "string"}},
                "peer_count": uint(),
                "peers": {"type": "array", "items": schema_ref("PeerResult")},
                "banned_peers": {"type": "array", "items": schema_ref("BannedPeerResult")},
                "height": uint(),
                "best_peer_height": {"type": ["integer", "null"], "minimum": 0},
                "syncing": {"type": "boolean"},
                "sync_peer": {"type": ["string", "null"]},
                "synced_blocks": uint(),
            }),
        )
    }),
    (
        "SearchText",
        || json!({"type": "string", "maxLength": SEARCH_TEXT_BYTES_MAX}),
    ),
    (
        "BrowseLimit",
        || json!({"type": "integer", "minimum": 0, "maximum": BROWSE_RESULTS_MAX}),
    ),
    (
        "RecentBlockCount",
        || json!({"type": "integer", "minimum": 0, "maximum": RECENT_BLOCKS_PER_CALL_MAX}),
    ),
    ("BrowseKeyspaceResult", || {
        object(
            &[
                "name",
                "owner",
                "depth",
                "chain",
                "quota_bytes",
                "size_bytes",
                "script_hash",
                "bought_height",
                "last_write_height",
            ],
            json!({
                "name": schema_ref("KeyspaceName"),
                "owner": schema_ref("Address"),
                "depth": uint(),
                "chain": schema_ref("ChainName"),
                "quota_bytes": uint(),
                "size_bytes": uint(),
                "script_hash": nullable("Hash"),
                "bought_height": uint(),
                "last_write_height": {"type": ["integer", "null"], "minimum": 0},
            }),
        )
    }),
    ("BrowseTransformResult", || {
        object(
            &["key", "chain", "module_hash", "size_bytes", "height"],
            json!({
                "key": schema_ref("Key"),
                "chain": schema_ref("ChainName"),
                "module_hash": schema_ref("Hash"),
                "size_bytes": uint(),
                "height": uint(),
            }),
        )
    }),
    ("ReadCountResult", || {
        object(
            &["key", "count"],
            json!({"key": schema_ref("Key"), "count": uint()}),
        )
    }),
    ("WriteCountResult", || {
        object(
            &["key", "count", "chain", "last_write_height"],
            json!({
                "key": schema_ref("Key"),
                "count": uint(),
                "chain": schema_ref("ChainName"),
                "last_write_height": uint(),
            }),
        )
    }),
    ("IndexedChainResult", || {
        object(
            &["chain", "height", "hash"],
            json!({"chain": schema_ref("ChainName"), "height": uint(), "hash": schema_ref("Hash")}),
        )
    }),
    ("BrowseResult", || {
        object(
            &[
                "keyspaces",
                "transformations",
                "most_read",
                "most_written",
                "indexed",
            ],
            json!({
                "keyspaces": {"type": "array", "items": schema_ref("BrowseKeyspaceResult")},
                "transformations": {"type": "array", "items": schema_ref("BrowseTransformResult")},
                "most_read": {"type": "array", "items": schema_ref("ReadCountResult")},
                "most_written": {"type": "array", "items": schema_ref("WriteCountResult")},
                "indexed": {"type": "array", "items": schema_ref("IndexedChainResult")},
            }),
        )
    }),
    ("BlockSummaryResult", || {
        object(
            &[
                "chain",
                "height",
                "hash",
                "time_ms",
                "miner",
                "tx_count",
                "anchor_count",
            ],
            json!({
                "chain": schema_ref("ChainName"),
                "height": uint(),
                "hash": schema_ref("Hash"),
                "time_ms": uint(),
                "miner": schema_ref("Address"),
                "tx_count": uint(),
                "anchor_count": uint(),
            }),
        )
    }),
    (
        "BlockSummaryResultArray",
        || json!({"type": "array", "items": schema_ref("BlockSummaryResult")}),
    ),
    ("AnchorResult", || {
        object(
            &["chain", "height", "hash"],
            json!({"chain": schema_ref("ChainName"), "height": uint(), "hash": schema_ref("Hash")}),
        )
    }),
    ("TxSummaryResult", || {
        object(
            &[
                "hash",
                "sender",
                "nonce",
                "fee",
                "kind",
                "key",
                "keyspace",
                "to",
                "amount",
                "value_bytes",
                "role",
            ],
            json!({
                "hash": schema_ref("Hash"),
                "sender": schema_ref("Address"),
                "nonce": uint(),
                "fee": schema_ref("Amount"),
                "kind": {"enum": [
                    "transfer",
                    "buy_keyspace",
                    "set_script",
                    "put",
                    "delete",
                    "stake",
                    "unstake",
                    "claim_miner_reward",
                    "post_bounty",
                    "lineup_proof",
                    "settle",
                    "dispute"
                ]},
                "key": {"type": ["string", "null"]},
                "keyspace": {"type": ["string", "null"]},
                "to": nullable("Address"),
                "amount": nullable("Amount"),
                "value_bytes": {"type": ["integer", "null"], "minimum": 0},
                "role": {"enum": ["offerer", "relayer", null]},
            }),
        )
    }),
    ("BlockResult", || {
        object(
            &[
                "chain",
                "height",
                "hash",
                "parent",
                "time_ms",
                "difficulty",
                "miner",
                "state_root",
                "relay_parent",
                "on_best_chain",
                "anchors",
                "transactions",
            ],
            json!({
                "chain": schema_ref("ChainName"),
                "height": uint(),
                "hash": schema_ref("Hash"),
                "parent": schema_ref("Hash"),
                "time_ms": uint(),
                "difficulty": uint(),
                "miner": schema_ref("Address"),
                "state_root": schema_ref("Hash"),
                "relay_parent": schema_ref("Hash"),
                "on_best_chain": {"type": "boolean"},
                "anchors": {"type": "array", "items": schema_ref("AnchorResult")},
                "transactions": {"type": "array", "items": schema_ref("TxSummaryResult")},
            }),
        )
    }),
    ("BlockResultOrNull", || nullable("BlockResult")),
    ("KeyEntryResult", || {
        object(
            &["key", "size_bytes"],
            json!({"key": schema_ref("Key"), "size_bytes": uint()}),
        )
    }),
    ("KeyspaceKeysResult", || {
        object(
            &["keyspace", "keys", "truncated"],
            json!({
                "keyspace": schema_ref("KeyspaceName"),
                "keys": {"type": "array", "items": schema_ref("KeyEntryResult")},
                "truncated": {"type": "boolean"},
            }),
        )
    }),
    ("NewHeadResult", || {
        object(
            &[
                "chain",
                "height",
                "hash",
                "parent",
                "time_ms",
                "difficulty",
                "miner",
                "state_root",
                "header_hex",
            ],
            json!({
                "chain": schema_ref("ChainName"),
                "height": uint(),
                "hash": schema_ref("Hash"),
                "parent": schema_ref("Hash"),
                "time_ms": uint(),
                "difficulty": uint(),
                "miner": schema_ref("Address"),
                "state_root": schema_ref("Hash"),
                "header_hex": schema_ref("Hex"),
            }),
        )
    }),
];

/// The OpenRPC document, built from [`METHODS`], [`ERRORS`] and [`SCHEMAS`].
pub fn document() -> Value {
    let methods: Vec<Value> = METHODS.iter().map(method_document).collect();
    let schemas: Map<String, Value> = SCHEMAS
        .iter()
        .map(|(name, schema)| ((*name).to_owned(), schema()))
        .collect();
    let errors: Map<String, Value> = ERRORS
        .iter()
        .map(|e| {
            (
                e.name.to_owned(),
                json!({"code": e.code, "message": e.meaning}),
            )
        })
        .collect();
    json!({
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "Bitverse node JSON-RPC",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "JSON-RPC 2.0 over HTTP (POST /) and WebSocket on the node's RPC \
                            port; subscriptions need WebSocket. Reference: docs/RPC.md.",
        },
        "methods": methods,
        "components": {"schemas": schemas, "errors": errors},
    })
}

fn method_document(method: &MethodSpec) -> Value {
    let params: Vec<Value> = method
        .params
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "description": p.description,
                "required": p.required,
                "schema": schema_ref(p.schema),
            })
        })
        .collect();
    let errors: Vec<Value> = method
        .errors
        .iter()
        .filter_map(|code| ERRORS.iter().find(|e| e.code == *code))
        .map(|e| json!({"$ref": format!("#/components/errors/{}", e.name)}))
        .collect();
    let mut document = json!({
        "name": method.name,
        "summary": method.summary,
        "paramStructure": "by-position",
        "params": params,
        "result": {"name": "result", "schema": schema_ref(method.result)},
        "errors": errors,
    });
    if let (Some(subscription), Some(fields)) = (&method.subscription, document.as_object_mut()) {
        // OpenRPC has no notion of subscriptions; an extension field describes them.
        fields.insert(
            "x-subscription".to_owned(),
            json!({
                "notification": subscription.notification,
                "unsubscribe": subscription.unsubscribe,
                "item": schema_ref(subscription.item_schema),
            }),
        );
    }
    document
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::{
        AccountResult, BannedPeerResult, ChainResult, KeyChainResult, KeyspaceResult,
        NetworkStatusResult, NewHeadResult, PeerResult, ProofResult, StatusResult,
        TransactionResult, TxStatusName, ValueResult,
    };
    use bitverse_primitives::{Amount, Hash, SecretKey};

    /// The RPC reference, which must document what the table holds.
    const RPC_REFERENCE: &str = include_str!("../../docs/RPC.md");

    fn schema(name: &str) -> Value {
        SCHEMAS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f())
            .unwrap_or_else(|| panic!("no schema {name}"))
    }

    /// A value serialized from the Rust type has exactly the properties its schema lists,
    /// and every required one.
    fn assert_schema_matches(name: &str, value: &impl serde::Serialize) {
        let value = serde_json::to_value(value).unwrap();
        let schema = schema(name);
        let properties: BTreeSet<&String> =
            schema["properties"].as_object().unwrap().keys().collect();
        let fields: BTreeSet<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(fields, properties, "{name}: fields vs schema properties");
        for required in schema["required"].as_array().unwrap() {
            assert!(
                value.get(required.as_str().unwrap()).is_some(),
                "{name}: {required} is required"
            );
        }
    }

    #[test]
    fn result_schemas_list_exactly_the_fields_the_result_types_serialize() {
        let hash = Hash::digest(b"x");
        let account = SecretKey::dev("alice").account();
        assert_schema_matches(
            "StatusResult",
            &StatusResult {
                network: "dev".into(),
                genesis_hash: hash,
                dev: true,
                height: 1,
                tip: hash,
                state_root: hash,
                time_ms: 1,
                difficulty: 1,
                mempool_size: 0,
                peers: 0,
                storage_price_per_byte: Amount(1),
                storage_price_per_byte_by_depth: vec![Amount(2), Amount(1)],
                miner: account,
            },
        );
        assert_schema_matches(
            "MarketRequestParams",
            &crate::MarketRequestParams {
                requester: account,
                transform: "filters/bw".into(),
                inputs: vec!["photos/one".into()],
                args_hex: String::new(),
                fuel_budget: 1,
                hops: 1,
                pinned_height: 1,
                expiry_height: 40,
                nonce: 1,
            },
        );
        assert_schema_matches(
            "MarketRequestResult",
            &crate::MarketRequestResult {
                id: hash,
                gossiped: true,
            },
        );
        assert_schema_matches(
            "OfferResult",
            &crate::OfferResult {
                offerer: account,
                price: Some(Amount(1)),
                latency_ms: Some(1),
                declined: None,
                offer_hex: "00".into(),
            },
        );
        assert_schema_matches(
            "ResultChainResult",
            &crate::ResultChainResult {
                bounty: hash,
                signers: vec![account],
                result_hash: hash,
                fuel_used: 1,
                envelopes_hex: "00".into(),
                result_hex: "00".into(),
            },
        );
        assert_schema_matches(
            "AccountResult",
            &AccountResult {
                balance: Amount(1),
                nonce: 0,
                pending_nonce: 0,
            },
        );
        assert_schema_matches(
            "SendItemResult",
            &crate::SendItemResult {
                hash: None,
                error: Some(crate::SendItemError {
                    code: -32007,
                    message: "bad signature".into(),
                    data: None,
                }),
            },
        );
        assert_schema_matches(
            "TransactionResult",
            &TransactionResult {
                status: TxStatusName::Dropped,
                height: Some(1),
                block: Some(hash),
                index: Some(0),
                error: Some("e".into()),
                error_code: Some(-32006),
                script_reason_code: Some(1),
            },
        );
        assert_schema_matches(
            "KeyspaceResult",
            &KeyspaceResult {
                name: "alice".into(),
                owner: account,
                quota_bytes: 1,
                used_bytes: 0,
                endowment: Amount(1),
                script_hash: None,
                depth: 1,
                chain: "0".into(),
            },
        );
        assert_schema_matches(
            "ValueResult",
            &ValueResult {
                value_hex: None,
                height: 1,
                chain: "root".into(),
            },
        );
        assert_schema_matches(
            "KeyChainResult",
            &KeyChainResult {
                keyspace: "alice".into(),
                chain: "01".into(),
                depth: 2,
            },
        );
        assert_schema_matches(
            "ProofResult",
            &ProofResult {
                proof_hex: "00".into(),
            },
        );
        assert_schema_matches(
            "ChainResult",
            &ChainResult {
                chain: "root".into(),
                depth: 0,
                height: 1,
                tip: hash,
                anchored_height: Some(1),
                final_height: None,
                tracked: true,
                peers: 2,
            },
        );
        let peer = PeerResult {
            peer_id: "p".into(),
            addr: None,
            height: None,
            tip: None,
            cumulative_work: None,
            rejected_messages: 0,
            synced_blocks: 0,
            gossip_score: None,
        };
        assert_schema_matches("PeerResult", &peer);
        let banned = BannedPeerResult {
            peer_id: "p".into(),
            reason: "r".into(),
            rejected_messages: 3,
            remaining_ms: 1,
        };
        assert_schema_matches("BannedPeerResult", &banned);
        assert_schema_matches(
            "NetworkStatusResult",
            &NetworkStatusResult {
                enabled: true,
                peer_id: None,
                listen_addrs: Vec::new(),
                peer_count: 1,
                peers: vec![peer],
                banned_peers: vec![banned],
                height: 1,
                best_peer_height: None,
                syncing: false,
                sync_peer: None,
                synced_blocks: 0,
            },
        );
        assert_schema_matches(
            "NewHeadResult",
            &NewHeadResult {
                chain: "root".into(),
                height: 1,
                hash,
                parent: hash,
                time_ms: 1,
                difficulty: 1,
                miner: account,
                state_root: hash,
                header_hex: "00".into(),
            },
        );
    }

    #[test]
    fn browse_and_explorer_result_schemas_list_exactly_the_fields_their_types_serialize() {
        use crate::{
            AnchorResult, BlockResult, BlockSummaryResult, BrowseKeyspaceResult, BrowseResult,
            BrowseTransformResult, IndexedChainResult, KeyEntryResult, KeyspaceKeysResult,
            ReadCountResult, TxSummaryResult, WriteCountResult,
        };
        let hash = Hash::digest(b"x");
        let account = SecretKey::dev("alice").account();
        let keyspace = BrowseKeyspaceResult {
            name: "alice".into(),
            owner: account,
            depth: 0,
            chain: "root".into(),
            quota_bytes: 10,
            size_bytes: 5,
            script_hash: Some(hash),
            bought_height: 1,
            last_write_height: Some(2),
        };
        assert_schema_matches("BrowseKeyspaceResult", &keyspace);
        let transform = BrowseTransformResult {
            key: "alice/bw".into(),
            chain: "root".into(),
            module_hash: hash,
            size_bytes: 100,
            height: 3,
        };
        assert_schema_matches("BrowseTransformResult", &transform);
        let read = ReadCountResult {
            key: "alice/x".into(),
            count: 2,
        };
        assert_schema_matches("ReadCountResult", &read);
        let written = WriteCountResult {
            key: "alice/x".into(),
            count: 2,
            chain: "root".into(),
            last_write_height: 2,
        };
        assert_schema_matches("WriteCountResult", &written);
        let indexed = IndexedChainResult {
            chain: "root".into(),
            height: 2,
            hash,
        };
        assert_schema_matches("IndexedChainResult", &indexed);
        assert_schema_matches(
            "BrowseResult",
            &BrowseResult {
                keyspaces: vec![keyspace],
                transformations: vec![transform],
                most_read: vec![read],
                most_written: vec![written],
                indexed: vec![indexed],
            },
        );
        assert_schema_matches(
            "BlockSummaryResult",
            &BlockSummaryResult {
                chain: "root".into(),
                height: 1,
                hash,
                time_ms: 1,
                miner: account,
                tx_count: 1,
                anchor_count: 0,
            },
        );
        let anchor = AnchorResult {
            chain: "0".into(),
            height: 1,
            hash,
        };
        assert_schema_matches("AnchorResult", &anchor);
        let tx = TxSummaryResult {
            hash,
            sender: account,
            nonce: 0,
            fee: Amount(1),
            kind: "put".into(),
            key: Some("alice/x".into()),
            keyspace: None,
            to: None,
            amount: None,
            value_bytes: Some(3),
            role: None,
        };
        assert_schema_matches("TxSummaryResult", &tx);
        let staking = TxSummaryResult {
            kind: "stake".into(),
            key: None,
            amount: Some(Amount(5)),
            value_bytes: None,
            role: Some("relayer".into()),
            ..tx.clone()
        };
        assert_schema_matches("TxSummaryResult", &staking);
        let stake = crate::StakeResult {
            address: account,
            height: 3,
            offerer: Amount(1),
            relayer: Amount(2),
            unbonding: vec![crate::UnbondingResult {
                role: "relayer".into(),
                amount: Amount(3),
                release_height: 9,
            }],
        };
        assert_schema_matches("StakeResult", &stake);
        let bounty = crate::BountyResult {
            id: hash,
            height: 9,
            requester: account,
            offerer: account,
            amount: Amount(5),
            transform: crate::PinnedKeyResult {
                key: "filters/bw".into(),
                value_hash: hash,
            },
            inputs: vec![],
            args_hex: "3634".into(),
            pinned_height: 2,
            posted_height: 3,
            hops: 1,
            fuel_budget: 10,
            expiry_height: 20,
            lineup: Some(crate::LineupResult {
                finder: account,
                seed: hash,
                relayers: vec![account],
                drawn_height: 4,
            }),
            status: "disputed".into(),
            ended_height: Some(5),
            result_hash: None,
            fuel_used: None,
            slashed: vec![crate::SlashResult {
                address: account,
                role: "offerer".into(),
                amount: Amount(7),
            }],
        };
        assert_schema_matches("BountyResult", &bounty);
        assert_schema_matches("PinnedKeyResult", &bounty.transform);
        assert_schema_matches("LineupResult", bounty.lineup.as_ref().unwrap());
        assert_schema_matches("SlashResult", &bounty.slashed[0]);
        assert_schema_matches("UnbondingResult", &stake.unbonding[0]);
        let record = crate::LedgerRecordResult {
            role: "offerer".into(),
            recorded: false,
            successes: 0,
            failures: 0,
            latency_ms_total: 0,
            failure_ppm: 200_000,
            reputation_ppm: 800_000,
            latency_ms: 1_000,
        };
        assert_schema_matches("LedgerRecordResult", &record);
        assert_schema_matches(
            "LedgerResult",
            &crate::LedgerResult {
                stake: stake.clone(),
                records: vec![record],
            },
        );
        let tier = crate::TierResult {
            hops: 0,
            undetected_error_ppm: 200_000,
            reliability_ppm: 800_000,
            latency_ms: 1_000,
            price: Amount(1_100),
        };
        assert_schema_matches("TierResult", &tier);
        let offer = crate::OfferQuoteResult {
            offerer: account,
            stake: Amount(5),
            tiers: vec![tier],
        };
        assert_schema_matches("OfferQuoteResult", &offer);
        assert_schema_matches(
            "QuoteResult",
            &crate::QuoteResult {
                height: 3,
                transform: "filters/bw".into(),
                inputs: vec!["erik/photo".into()],
                fuel_budget: 1_000_000,
                requester: None,
                relayers_staked: 0,
                offers: vec![offer],
            },
        );
        assert_schema_matches(
            "BlockResult",
            &BlockResult {
                chain: "root".into(),
                height: 1,
                hash,
                parent: hash,
                time_ms: 1,
                difficulty: 1,
                miner: account,
                state_root: hash,
                relay_parent: hash,
                on_best_chain: true,
                anchors: vec![anchor],
                transactions: vec![tx],
            },
        );
        let key = KeyEntryResult {
            key: "alice/x".into(),
            size_bytes: 10,
        };
        assert_schema_matches("KeyEntryResult", &key);
        assert_schema_matches(
            "EarningsResult",
            &crate::EarningsResult {
                chain: "01".into(),
                earned: Amount(3),
                provable: Some(Amount(2)),
                claimed: Amount(1),
                claimable: Amount(1),
                pool_deposited: Amount(100),
                pool_paid: Amount(1),
            },
        );
        assert_schema_matches(
            "EarningsProofResult",
            &crate::EarningsProofResult {
                chain: "01".into(),
                miner: account,
                earned: Amount(2),
                proof: "00".into(),
            },
        );
        assert_schema_matches(
            "KeyspaceKeysResult",
            &KeyspaceKeysResult {
                keyspace: "alice".into(),
                keys: vec![key],
                truncated: false,
            },
        );
    }

    #[test]
    fn every_schema_and_error_a_method_names_exists_and_names_are_unique() {
        let schema_names: BTreeSet<&str> = SCHEMAS.iter().map(|(n, _)| *n).collect();
        assert_eq!(schema_names.len(), SCHEMAS.len(), "duplicate schema names");
        let codes: BTreeSet<i32> = ERRORS.iter().map(|e| e.code).collect();
        assert_eq!(codes.len(), ERRORS.len(), "duplicate error codes");
        let method_names: BTreeSet<&str> = METHODS.iter().map(|m| m.name).collect();
        assert_eq!(method_names.len(), METHODS.len(), "duplicate methods");
        for method in METHODS {
            assert!(schema_names.contains(method.result), "{}", method.name);
            for param in method.params {
                assert!(schema_names.contains(param.schema), "{}", method.name);
            }
            for code in method.errors {
                assert!(codes.contains(code), "{}: code {code}", method.name);
            }
            if let Some(subscription) = &method.subscription {
                assert!(schema_names.contains(subscription.item_schema));
                assert!(method_names.contains(subscription.unsubscribe));
            }
        }
        // Every $ref in the document resolves.
        let document = document();
        let text = document.to_string();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let target = reference.split('"').next().unwrap();
            let path: Vec<&str> = target.trim_start_matches("#/").split('/').collect();
            let mut node = &document;
            for step in &path {
                node = &node[*step];
            }
            assert!(!node.is_null(), "dangling reference {target}");
        }
    }

    #[test]
    fn every_transaction_error_code_is_in_the_error_table() {
        let codes: BTreeSet<i32> = ERRORS.iter().map(|e| e.code).collect();
        for entry in bitverse_blocktree::ERROR_CODES {
            assert!(
                codes.contains(&entry.code),
                "{}: {}",
                entry.name,
                entry.code
            );
            assert!(
                SEND_ERRORS.contains(&entry.code),
                "bv_sendTransaction lacks {} ({})",
                entry.code,
                entry.name
            );
        }
        // The codes of variants with structured fields, by value: the table must cover
        // -32001..=-32014 except -32010, which TxError does not use.
        for code in (-32014..=-32001).filter(|c| *c != -32010) {
            assert!(codes.contains(&code), "code {code}");
            assert!(
                SEND_ERRORS.contains(&code),
                "bv_sendTransaction lacks {code}"
            );
        }
    }

    #[test]
    fn unknown_method_names_share_one_label() {
        assert_eq!(method_label("bv_status"), "bv_status");
        assert_eq!(method_label("bv_noSuchThing"), UNKNOWN_METHOD_LABEL);
        assert_eq!(method_label(&"x".repeat(10_000)), UNKNOWN_METHOD_LABEL);
    }

    #[test]
    fn the_rpc_reference_documents_exactly_the_methods_and_error_codes_of_the_table() {
        // Methods: each has a `### \`NAME(` heading, and each such heading is a method.
        let documented: BTreeSet<&str> = RPC_REFERENCE
            .lines()
            .filter_map(|line| line.strip_prefix("### `"))
            .filter_map(|rest| rest.split('(').next())
            .collect();
        let table: BTreeSet<&str> = METHODS.iter().map(|m| m.name).collect();
        assert_eq!(
            documented, table,
            "docs/RPC.md headings vs the method table"
        );
        // Error codes: each code of the table appears as `-320NN` in the reference, and each
        // code-like number in the reference is in the table.
        let codes: BTreeSet<i32> = ERRORS.iter().map(|e| e.code).collect();
        let mentioned: BTreeSet<i32> = RPC_REFERENCE
            .split(|c: char| !(c.is_ascii_digit() || c == '-'))
            .filter(|word| word.len() == 6 && word.starts_with("-32"))
            .filter_map(|word| word.parse().ok())
            .collect();
        assert_eq!(
            mentioned, codes,
            "docs/RPC.md error codes vs the error table"
        );
    }

    #[test]
    fn send_transactions_states_the_limit_the_server_enforces() {
        let limit = crate::SEND_TRANSACTIONS_TXS_MAX.to_string();
        let method = METHODS
            .iter()
            .find(|m| m.name == METHOD_SEND_TRANSACTIONS)
            .unwrap();
        assert!(method.summary.contains(&limit));
        assert!(method.params[0].description.contains(&limit));
        assert!(RPC_REFERENCE.contains(&format!("at most {limit}")));
    }
}
