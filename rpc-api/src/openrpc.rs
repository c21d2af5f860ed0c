//! The OpenRPC description of the node's JSON-RPC API, served by `rpc.discover` and checked in
//! as `docs/openrpc.json`. It is generated: [`METHODS`] names each method of the `#[rpc]`
//! traits (`api`) with what only a reader needs (a summary, each parameter's name and meaning,
//! the error codes it can answer with), and each entry reads the rest from the trait itself —
//! the method name the client sends, the parameters' and the result's types — whose JSON
//! schemas `schemars` derives from the types, field docs as descriptions. [`errors`] lists every
//! error code a caller can see. Tests check that the table names the trait's methods with their
//! arity and parameter names, that the server registers exactly the table, that every transaction error code is in
//! it, that `docs/RPC.md` documents the same methods and codes, and that the checked-in document
//! is the one generated (`bitverse rpc-doc` writes it).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bitverse_primitives::{AccountId, ChainId, Hash};
use jsonrpsee::core::client::{
    BatchResponse, ClientT, Error as ClientError, Subscription, SubscriptionClientT,
};
use jsonrpsee::core::params::{ArrayParams, BatchRequestBuilder};
use jsonrpsee::core::traits::ToRpcParams;
use schemars::generate::{Contract, SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema, json_schema};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::api::{BitverseRpcClient, BitverseSubscriptionsClient};
use crate::{
    CODE_INTERNAL_ERROR, CODE_INVALID_PARAMS, CODE_NOT_ANCHORED_YET, CODE_NOT_TRACKED,
    METHOD_BROWSE, METHOD_CHAINS, METHOD_DISCOVER, METHOD_GET_ACCOUNT, METHOD_GET_BLOB,
    METHOD_GET_BLOCK, METHOD_GET_BLOCK_BY_HASH, METHOD_GET_BOUNTY, METHOD_GET_EARNINGS,
    METHOD_GET_EARNINGS_PROOF, METHOD_GET_HEADERS, METHOD_GET_KEY_CHAIN, METHOD_GET_KEYSPACE,
    METHOD_GET_KEYSPACE_KEYS, METHOD_GET_LEDGER, METHOD_GET_OFFERS, METHOD_GET_PROOF,
    METHOD_GET_RECENT_BLOCKS, METHOD_GET_RESULT, METHOD_GET_STAKE, METHOD_GET_STORERS,
    METHOD_GET_TRANSACTION, METHOD_GET_VALUE, METHOD_MARKET_REQUEST, METHOD_NETWORK_STATUS,
    METHOD_QUOTE, METHOD_SEND_TRANSACTION, METHOD_SEND_TRANSACTIONS, METHOD_STATUS,
    METHOD_SUBSCRIBE_NEW_HEADS, METHOD_SUBSCRIBE_TRANSACTION, METHOD_UNSUBSCRIBE_NEW_HEADS,
    METHOD_UNSUBSCRIBE_TRANSACTION, NOTIFICATION_NEW_HEAD, NOTIFICATION_TRANSACTION,
};
use bitverse_blocktree::ERROR_CODES;
use bitverse_blocktree::error::codes;

/// The OpenRPC version the document follows.
const OPENRPC_VERSION: &str = "1.3.2";
/// The label RPC metrics give a method name that is not in [`METHODS`], so that callers
/// cannot grow the label set.
pub const UNKNOWN_METHOD_LABEL: &str = "unknown";
/// Most methods the API may have: bounds the RPC latency metric's label set.
pub const RPC_METHODS_MAX: usize = 64;

/// Reads a method's shape from the `#[rpc]` trait (see [`MethodShape`]).
pub type ShapeFn = fn(&mut SchemaGenerator) -> Shape;
/// A JSON schema a parameter's text follows, where the trait carries it as a plain string.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// One positional parameter, in the trait's order; its type (and so its schema and whether it
/// may be left out: an `Option`) is the trait's.
pub struct ParamSpec {
    /// Its name in the document: the trait's parameter name.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// The schema of what the string holds, for a parameter the trait takes as text and its
    /// handler parses (an address, a hash, a chain); `None`: the trait type's own schema.
    pub text_of: Option<SchemaFn>,
}

/// One method of the API.
pub struct MethodSpec {
    /// Its name (checked against the name the trait's client sends).
    pub name: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Its parameters, in order (as many as the trait method takes).
    pub params: &'static [ParamSpec],
    /// The error codes it can answer with (each in [`errors`]).
    pub errors: &'static [i32],
    /// The trait method it is: the name sent, parameter and result types.
    pub shape: ShapeFn,
    /// For a subscription: the notifications' method name (WebSocket only).
    pub notification: Option<&'static str>,
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

fn address_text(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<AccountId>()
}

fn hash_text(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<Hash>()
}

fn chain_text(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<ChainId>()
}

const fn param(name: &'static str, description: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        description,
        text_of: None,
    }
}

const fn text_param(name: &'static str, description: &'static str, text_of: SchemaFn) -> ParamSpec {
    ParamSpec {
        name,
        description,
        text_of: Some(text_of),
    }
}

/// An account and an optional root height: the market's reads.
const ADDRESS_AND_HEIGHT: &[ParamSpec] = &[
    text_param("address", "A bech32m address `bv1…`", address_text),
    param(
        "height",
        "The root height read (default: the tip); above the tip is -32602",
    ),
];
const KEY_PARAM: &[ParamSpec] = &[param("key", "A key such as `alice/profile`")];
const SUBSCRIPTION_PARAM: &[ParamSpec] =
    &[param("subscription", "The id the subscribe call answered")];

const PARAMS_OR_INTERNAL: &[i32] = &[CODE_INVALID_PARAMS, CODE_INTERNAL_ERROR];
const KEY_ERRORS: &[i32] = &[
    CODE_INVALID_PARAMS,
    codes::INVALID_KEY,
    codes::UNKNOWN_KEYSPACE,
    CODE_INTERNAL_ERROR,
];
/// What `bv_sendTransaction` answers besides a transaction's own refusals.
const SEND_NODE_ERRORS: &[i32] = &[
    CODE_INVALID_PARAMS,
    CODE_NOT_TRACKED,
    CODE_NOT_ANCHORED_YET,
    CODE_INTERNAL_ERROR,
];
const SEND_ERRORS_LEN: usize = SEND_NODE_ERRORS.len() + ERROR_CODES.len();
/// `bv_sendTransaction`'s codes: the node's, and every transaction error code of the table.
const SEND_ERRORS: &[i32; SEND_ERRORS_LEN] = &{
    let mut all = [0; SEND_ERRORS_LEN];
    let mut i = 0;
    while i < SEND_NODE_ERRORS.len() {
        all[i] = SEND_NODE_ERRORS[i];
        i += 1;
    }
    let mut j = 0;
    while j < ERROR_CODES.len() {
        all[i + j] = ERROR_CODES[j].code;
        j += 1;
    }
    all
};
const EARNINGS_ERRORS: &[i32] = &[
    CODE_INVALID_PARAMS,
    CODE_NOT_TRACKED,
    CODE_NOT_ANCHORED_YET,
    CODE_INTERNAL_ERROR,
];
/// Reads of a key at any depth: a chain this node does not track, or not anchored yet.
const DEEP_KEY_ERRORS: &[i32] = &[
    CODE_INVALID_PARAMS,
    codes::INVALID_KEY,
    codes::UNKNOWN_KEYSPACE,
    CODE_NOT_TRACKED,
    CODE_NOT_ANCHORED_YET,
    CODE_INTERNAL_ERROR,
];
const CHAIN_PARAM_ERRORS: &[i32] = &[CODE_INVALID_PARAMS, CODE_NOT_TRACKED, CODE_INTERNAL_ERROR];
/// Over HTTP a subscription is refused with -32603; on WebSocket, with jsonrpsee's own code when
/// the connection holds too many subscriptions.
const SUBSCRIBE_ERRORS: &[i32] = &[
    CODE_INVALID_PARAMS,
    CODE_TOO_MANY_SUBSCRIPTIONS,
    CODE_INTERNAL_ERROR,
];
const NEW_HEADS_ERRORS: &[i32] = &[
    CODE_INVALID_PARAMS,
    CODE_NOT_TRACKED,
    CODE_TOO_MANY_SUBSCRIPTIONS,
    CODE_INTERNAL_ERROR,
];

/// Every method the server registers.
pub const METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: METHOD_DISCOVER,
        summary: "This document: the OpenRPC description of the API",
        params: NO_PARAMS,
        errors: &[],
        shape: |g| method_shape(g, Recorder::discover),
        notification: None,
    },
    MethodSpec {
        name: METHOD_STATUS,
        summary: "The node's network and the root chain's tip",
        params: NO_PARAMS,
        errors: INTERNAL,
        shape: |g| method_shape(g, Recorder::status),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_ACCOUNT,
        summary: "An account's balance and nonces at the tip",
        params: &[
            text_param("address", "A bech32m address `bv1…`", address_text),
            text_param(
                "chain",
                "The chain whose nonce is counted (default `root`)",
                chain_text,
            ),
        ],
        errors: CHAIN_PARAM_ERRORS,
        shape: |g| method_shape(g, Recorder::get_account),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_STAKE,
        summary: "An account's stakes and unbonding entries in the root's state at a height",
        params: ADDRESS_AND_HEIGHT,
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::get_stake),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_LEDGER,
        summary: "An account's stakes and reliability records (decayed, with estimates) at a root height",
        params: ADDRESS_AND_HEIGHT,
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::get_ledger),
        notification: None,
    },
    MethodSpec {
        name: METHOD_QUOTE,
        summary: "The tier table of every staked offerer at a root height: hops, undetected-error bound, latency, price",
        params: &[
            param("transform", "The transformation's key"),
            param("inputs", "The input keys, 1 to 16"),
            param(
                "fuel_budget",
                "Fuel each execution may use, 1 to 4 000 000 000",
            ),
            param("height", "The root height read (default: the tip)"),
            text_param(
                "requester",
                "The requester, never drawn as a relayer (default: none)",
                address_text,
            ),
        ],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::quote),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_BOUNTY,
        summary: "A bounty in the root's state at a height: what it pins, its lineup, how it ended; null if not posted by then",
        params: &[
            text_param(
                "id",
                "The bounty's id: the id of the PostBounty transaction",
                hash_text,
            ),
            param(
                "height",
                "The root height read (default: the tip); above the tip is -32602",
            ),
        ],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::get_bounty),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_BLOB,
        summary: "The last blob registered at a root key, at a height: its manifest, each shard's storer, confirmation and deadline, and the endowment left; null if none",
        params: &[
            param("key", "The blob's key (`files/photo`)"),
            param(
                "height",
                "The root height read (default: the tip); above the tip is -32602",
            ),
        ],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::get_blob),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_STORERS,
        summary: "The registry of staked storers at a root height: stake, reputation, capacity and the shards placed on each",
        params: &[param(
            "height",
            "The root height read (default: the tip); above the tip is -32602",
        )],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::get_storers),
        notification: None,
    },
    MethodSpec {
        name: METHOD_MARKET_REQUEST,
        summary: "Gossips a requester's request on the market topic for staked offerers to answer with signed offers",
        params: &[param(
            "request",
            "What the requester asks for: transformation, inputs, arguments, fuel, tier, pinned height, nonce",
        )],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::market_request),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_OFFERS,
        summary: "The signed offers this node heard for a request, in the order heard",
        params: &[text_param(
            "request_id",
            "The id bv_marketRequest answered",
            hash_text,
        )],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::get_offers),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_RESULT,
        summary: "The longest envelope chain this node heard for a bounty that fits it as the root holds it and, once settled, the result hash and the revealed bytes; null if none",
        params: &[text_param("bounty_id", "The bounty's id", hash_text)],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::get_result),
        notification: None,
    },
    MethodSpec {
        name: METHOD_SEND_TRANSACTION,
        summary: "Admits a signed transaction to the mempool and returns its hash",
        params: &[param(
            "tx_hex",
            "The canonical bytes of a signed `Transaction`, as hex",
        )],
        errors: SEND_ERRORS,
        shape: |g| method_shape(g, Recorder::send_transaction),
        notification: None,
    },
    MethodSpec {
        name: METHOD_SEND_TRANSACTIONS,
        summary: "Admits many signed transactions at once (at most 1000); answers each with its \
                  hash or the error bv_sendTransaction would give it alone",
        params: &[param(
            "txs_hex",
            "Signed `Transaction`s' canonical bytes, as hex, at most 1000",
        )],
        // The whole call fails only for a list that is not one, or is too long (-32602);
        // each item's own error (any of bv_sendTransaction's) is inside the result.
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::send_transactions),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_TRANSACTION,
        summary: "Where a transaction is: unknown, pending, included or dropped",
        params: &[
            text_param("hash", "The transaction's hash", hash_text),
            text_param(
                "chain",
                "The chain to look on (default: every open chain, the root first)",
                chain_text,
            ),
        ],
        errors: CHAIN_PARAM_ERRORS,
        shape: |g| method_shape(g, Recorder::get_transaction),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_KEYSPACE,
        summary: "A registered keyspace, or null",
        params: &[param(
            "name",
            "A keyspace name such as `alice` or `twitter/erik`",
        )],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::get_keyspace),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_VALUE,
        summary: "A key's value at its chain's tip, on the node's word (see bv_getProof)",
        params: KEY_PARAM,
        errors: DEEP_KEY_ERRORS,
        shape: |g| method_shape(g, Recorder::get_value),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_PROOF,
        summary: "A proof of a key's value (or absence) against the root's tip header, one anchor link per level",
        params: KEY_PARAM,
        errors: DEEP_KEY_ERRORS,
        shape: |g| method_shape(g, Recorder::get_proof),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_KEY_CHAIN,
        summary: "The chain a key's writes go to, and its home keyspace",
        params: KEY_PARAM,
        errors: KEY_ERRORS,
        shape: |g| method_shape(g, Recorder::get_key_chain),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_HEADERS,
        summary: "Up to `count` best-chain headers from `from_height` on",
        params: &[
            param("from_height", "The first height"),
            param("count", "How many headers, at most 1000"),
        ],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::get_headers),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_BLOCK,
        summary: "The best chain's block at a height, as hex, or null",
        params: &[param("height", "The block's height")],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::get_block),
        notification: None,
    },
    MethodSpec {
        name: METHOD_CHAINS,
        summary: "The chains the node has open, root first then depth-first, with tips, anchored and final heights",
        params: NO_PARAMS,
        errors: INTERNAL,
        shape: |g| method_shape(g, Recorder::chains),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_EARNINGS,
        summary: "What a miner earned from keyspace endowments on each data chain open here, \
                  what the root paid it, and what a claim would pay now",
        params: &[
            text_param("miner", "The miner's bech32m address `bv1…`", address_text),
            text_param(
                "chain",
                "Only this data chain (default: every data chain open here)",
                chain_text,
            ),
        ],
        errors: EARNINGS_ERRORS,
        shape: |g| method_shape(g, Recorder::get_earnings),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_EARNINGS_PROOF,
        summary: "The proof of a miner's earnings on a data chain that a ClaimMinerReward \
                  transaction carries, as of the block the root's tip anchors",
        params: &[
            text_param("miner", "The miner's bech32m address `bv1…`", address_text),
            text_param(
                "chain",
                "The data chain (bit string) the miner earned on",
                chain_text,
            ),
        ],
        errors: EARNINGS_ERRORS,
        shape: |g| method_shape(g, Recorder::get_earnings_proof),
        notification: None,
    },
    MethodSpec {
        name: METHOD_NETWORK_STATUS,
        summary: "The node's peers, bans and sync progress",
        params: NO_PARAMS,
        errors: INTERNAL,
        shape: |g| method_shape(g, Recorder::network_status),
        notification: None,
    },
    MethodSpec {
        name: METHOD_SUBSCRIBE_NEW_HEADS,
        summary: "WebSocket: a notification for each block that joins a chain's best chain",
        params: &[text_param(
            "chain",
            "The chain, `root` (the default) or the bit string of a data chain this node tracks",
            chain_text,
        )],
        errors: NEW_HEADS_ERRORS,
        shape: |g| subscription_shape(g, Recorder::subscribe_new_heads),
        notification: Some(NOTIFICATION_NEW_HEAD),
    },
    MethodSpec {
        name: METHOD_UNSUBSCRIBE_NEW_HEADS,
        summary: "Ends a bv_subscribeNewHeads subscription",
        params: SUBSCRIPTION_PARAM,
        errors: PARAMS_OR_INTERNAL,
        shape: |g| unsubscribe_shape(g, Recorder::subscribe_new_heads),
        notification: None,
    },
    MethodSpec {
        name: METHOD_SUBSCRIBE_TRANSACTION,
        summary: "WebSocket: a transaction's status on each change, until included or dropped",
        params: &[text_param("hash", "The transaction's hash", hash_text)],
        errors: SUBSCRIBE_ERRORS,
        shape: |g| subscription_shape(g, Recorder::subscribe_transaction),
        notification: Some(NOTIFICATION_TRANSACTION),
    },
    MethodSpec {
        name: METHOD_UNSUBSCRIBE_TRANSACTION,
        summary: "Ends a bv_subscribeTransaction subscription",
        params: SUBSCRIPTION_PARAM,
        errors: PARAMS_OR_INTERNAL,
        shape: |g| unsubscribe_shape(g, Recorder::subscribe_transaction),
        notification: None,
    },
    MethodSpec {
        name: METHOD_BROWSE,
        summary: "The browse lists: keyspaces, transformations published, most read and most written keys",
        params: &[
            param(
                "search",
                "Only entries whose keyspace name, owner or key contains this text (default: all)",
            ),
            param("limit", "Entries per list, at most 200 (default 20)"),
        ],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::browse),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_RECENT_BLOCKS,
        summary: "A chain's last best blocks, newest first",
        params: &[
            text_param("chain", "The chain (default `root`)", chain_text),
            param("count", "How many blocks, at most 100 (default 10)"),
        ],
        errors: CHAIN_PARAM_ERRORS,
        shape: |g| method_shape(g, Recorder::get_recent_blocks),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_BLOCK_BY_HASH,
        summary: "A stored block (any branch) with its transactions, or null",
        params: &[
            text_param("hash", "The block's hash", hash_text),
            text_param(
                "chain",
                "The chain to look on (default: every open chain, the root first)",
                chain_text,
            ),
        ],
        errors: CHAIN_PARAM_ERRORS,
        shape: |g| method_shape(g, Recorder::get_block_by_hash),
        notification: None,
    },
    MethodSpec {
        name: METHOD_GET_KEYSPACE_KEYS,
        summary: "A keyspace's keys as the browse index lists them, in key order, a page at a time",
        params: &[
            param("name", "The keyspace"),
            param(
                "after",
                "List the keys after this one (the last of the previous page)",
            ),
            param("limit", "How many keys, at most 200 (default 200)"),
        ],
        errors: PARAMS_OR_INTERNAL,
        shape: |g| method_shape(g, Recorder::get_keyspace_keys),
        notification: None,
    },
];

// The RPC latency metric labels each method of the table.
const _: () = assert!(METHODS.len() < RPC_METHODS_MAX);

/// jsonrpsee's code for a subscribe call on a connection that holds the most subscriptions it may.
const CODE_TOO_MANY_SUBSCRIPTIONS: i32 = -32006;
/// jsonrpsee's code for a batch of more calls than the server takes.
const CODE_BATCH_TOO_LARGE: i32 = -32010;

/// The error codes a caller can see that are not a transaction's own refusal: JSON-RPC's,
/// the server library's transport limits, and the node's (a chain it does not hold, or cannot
/// judge yet). With [`ERROR_CODES`] they are every code: see [`errors`].
pub const NODE_ERRORS: &[ErrorSpec] = &[
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
        code: CODE_TOO_MANY_SUBSCRIPTIONS,
        name: "TooManySubscriptions",
        meaning: "a subscribe call on a connection that holds 32 subscriptions already (from the \
                  server library)",
    },
    ErrorSpec {
        code: CODE_BATCH_TOO_LARGE,
        name: "BatchTooLarge",
        meaning: "a batch of more than 1000 calls (from the server library)",
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
];

/// Every error code a caller can see, each once: [`NODE_ERRORS`], then every transaction
/// error code of [`ERROR_CODES`] under its constant's name in CamelCase (`BAD_NONCE` is
/// `BadNonce`).
pub fn errors() -> Vec<(i32, String, &'static str)> {
    let node = NODE_ERRORS
        .iter()
        .map(|e| (e.code, e.name.to_owned(), e.meaning));
    let transaction = ERROR_CODES
        .iter()
        .map(|e| (e.code, camel_case(e.name), e.meaning));
    node.chain(transaction).collect()
}

/// `BAD_NONCE` → `BadNonce`.
fn camel_case(constant: &str) -> String {
    constant
        .split('_')
        .flat_map(|word| {
            let mut chars = word.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first
                .into_iter()
                .chain(chars.map(|c| c.to_ascii_lowercase()))
        })
        .collect()
}

/// The label the RPC metrics give a called method: its name when the API has it, else
/// [`UNKNOWN_METHOD_LABEL`].
pub fn method_label(name: &str) -> &'static str {
    METHODS
        .iter()
        .find(|m| m.name == name)
        .map_or(UNKNOWN_METHOD_LABEL, |m| m.name)
}

/// A subscription's id as the server makes it: a number or a string.
struct SubscriptionId;

impl JsonSchema for SubscriptionId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SubscriptionId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"oneOf": [{"type": "string"}, {"type": "integer"}]})
    }
}

/// A method as the `#[rpc]` trait defines it.
pub struct Shape {
    /// The method name its client call sends.
    pub method: String,
    /// Each parameter's schema, and whether it must be given (an `Option` need not).
    pub params: Vec<(Schema, bool)>,
    /// The result's schema.
    pub result: Schema,
    /// For a subscription: each notification's schema, and the method that ends it.
    pub subscription: Option<(Schema, String)>,
}

/// A client that sends nothing: each table entry calls its generated client method on it once,
/// with default arguments, and reads what the call would have sent — the method name, the
/// parameters (an `Option` is the only parameter type whose default encodes as null), and
/// for a subscription the method that ends it — while the call's Rust signature gives the
/// parameter and result types. So the document cannot name a method, an arity or a type the
/// trait does not have.
#[derive(Debug)]
pub struct Recorder;

/// The one [`Recorder`]: a `'static` receiver, so that a generated method's future type is a
/// plain type parameter.
static RECORDER: Recorder = Recorder;

/// What a call on [`Recorder`] sent.
#[derive(Deserialize)]
struct Sent {
    method: String,
    params: Vec<Value>,
    unsubscribe: Option<String>,
}

/// The error a [`Recorder`] answers every call with: what was sent, as JSON.
fn sent(method: &str, params: impl ToRpcParams, unsubscribe: Option<&str>) -> ClientError {
    let params = match params.to_rpc_params() {
        Ok(Some(raw)) => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
        Ok(None) => json!([]),
        Err(e) => return ClientError::Custom(e.to_string()),
    };
    let sent = json!({"method": method, "params": params, "unsubscribe": unsubscribe});
    ClientError::Custom(sent.to_string())
}

impl ClientT for Recorder {
    fn notification<Params>(
        &self,
        method: &str,
        params: Params,
    ) -> impl Future<Output = Result<(), ClientError>> + Send
    where
        Params: ToRpcParams + Send,
    {
        let error = sent(method, params, None);
        async move { Err(error) }
    }

    fn request<R, Params>(
        &self,
        method: &str,
        params: Params,
    ) -> impl Future<Output = Result<R, ClientError>> + Send
    where
        R: DeserializeOwned,
        Params: ToRpcParams + Send,
    {
        let error = sent(method, params, None);
        async move { Err(error) }
    }

    async fn batch_request<'a, R>(
        &self,
        _batch: BatchRequestBuilder<'a>,
    ) -> Result<BatchResponse<'a, R>, ClientError>
    where
        R: DeserializeOwned + std::fmt::Debug + 'a,
    {
        Err(ClientError::Custom(
            "the recorder takes no batch".to_owned(),
        ))
    }
}

impl SubscriptionClientT for Recorder {
    fn subscribe<'a, Notif, Params>(
        &self,
        subscribe_method: &'a str,
        params: Params,
        unsubscribe_method: &'a str,
    ) -> impl Future<Output = Result<Subscription<Notif>, ClientError>> + Send
    where
        Params: ToRpcParams + Send,
        Notif: DeserializeOwned,
    {
        let error = sent(subscribe_method, params, Some(unsubscribe_method));
        async move { Err(error) }
    }

    fn subscribe_to_method<Notif>(
        &self,
        method: &str,
    ) -> impl Future<Output = Result<Subscription<Notif>, ClientError>> + Send
    where
        Notif: DeserializeOwned,
    {
        let error = sent(method, ArrayParams::new(), None);
        async move { Err(error) }
    }
}

/// What a call on [`Recorder`] sent: its future answers at once.
fn sent_by<T>(call: impl Future<Output = Result<T, ClientError>>) -> Sent {
    let mut context = Context::from_waker(Waker::noop());
    let answer = match pin!(call).poll(&mut context) {
        Poll::Ready(Err(ClientError::Custom(text))) => serde_json::from_str(&text).ok(),
        _ => None,
    };
    answer.expect("the recorder answers every call at once with what it would send")
}

/// Each parameter's schema beside whether the call sent a value for its default.
fn params_of(schemas: Vec<Schema>, sent: &[Value]) -> Vec<(Schema, bool)> {
    schemas
        .into_iter()
        .zip(sent)
        .map(|(schema, value)| (schema, !value.is_null()))
        .collect()
}

/// A generated client method of a request-answer method, taking `Args`.
pub trait MethodShape<Args> {
    /// The method's shape, its types' schemas added to `generator`.
    fn shape(self, generator: &mut SchemaGenerator) -> Shape;
}

/// A generated client method of a subscription, taking `Args`.
pub trait SubscriptionShape<Args> {
    /// The subscription's shape, its types' schemas added to `generator`.
    fn shape(self, generator: &mut SchemaGenerator) -> Shape;
}

macro_rules! shapes_of_arity {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> MethodShape<($($arg,)*)> for F
        where
            F: Fn(&'static Recorder, $($arg),*) -> Fut,
            Fut: Future<Output = Result<R, ClientError>>,
            R: JsonSchema,
            $($arg: JsonSchema + Default,)*
        {
            fn shape(self, generator: &mut SchemaGenerator) -> Shape {
                let sent = sent_by(self(&RECORDER, $(<$arg>::default()),*));
                let schemas = vec![$(generator.subschema_for::<$arg>()),*];
                Shape {
                    method: sent.method,
                    params: params_of(schemas, &sent.params),
                    result: generator.subschema_for::<R>(),
                    subscription: None,
                }
            }
        }

        impl<F, Fut, N, $($arg,)*> SubscriptionShape<($($arg,)*)> for F
        where
            F: Fn(&'static Recorder, $($arg),*) -> Fut,
            Fut: Future<Output = Result<Subscription<N>, ClientError>>,
            N: JsonSchema,
            $($arg: JsonSchema + Default,)*
        {
            fn shape(self, generator: &mut SchemaGenerator) -> Shape {
                let sent = sent_by(self(&RECORDER, $(<$arg>::default()),*));
                let schemas = vec![$(generator.subschema_for::<$arg>()),*];
                Shape {
                    method: sent.method,
                    params: params_of(schemas, &sent.params),
                    result: generator.subschema_for::<SubscriptionId>(),
                    subscription: Some((
                        generator.subschema_for::<N>(),
                        sent.unsubscribe.unwrap_or_default(),
                    )),
                }
            }
        }
    };
}

shapes_of_arity!();
shapes_of_arity!(A);
shapes_of_arity!(A, B);
shapes_of_arity!(A, B, C);
shapes_of_arity!(A, B, C, D);
shapes_of_arity!(A, B, C, D, E);

fn method_shape<Args>(generator: &mut SchemaGenerator, method: impl MethodShape<Args>) -> Shape {
    method.shape(generator)
}

fn subscription_shape<Args>(
    generator: &mut SchemaGenerator,
    subscribe: impl SubscriptionShape<Args>,
) -> Shape {
    subscribe.shape(generator)
}

/// The method that ends the subscription `subscribe` starts: the server makes it, taking the
/// subscription's id and answering whether one was ended.
fn unsubscribe_shape<Args>(
    generator: &mut SchemaGenerator,
    subscribe: impl SubscriptionShape<Args>,
) -> Shape {
    let subscription = subscribe.shape(generator);
    Shape {
        method: subscription
            .subscription
            .map(|(_, unsubscribe)| unsubscribe)
            .unwrap_or_default(),
        params: vec![(generator.subschema_for::<SubscriptionId>(), true)],
        result: json_schema!({
            "type": "boolean",
            "description": "Whether a subscription was ended"
        }),
        subscription: None,
    }
}

/// Where the document keeps its schemas, as OpenRPC has it.
const SCHEMAS_PATH: &str = "/components/schemas";

/// The schema generator the document uses: draft 7 (OpenRPC's), schemas kept under
/// `#/components/schemas`, describing what the node sends (results are serialized).
fn generator() -> SchemaGenerator {
    let mut settings = SchemaSettings::draft07();
    settings.definitions_path = SCHEMAS_PATH.into();
    settings.meta_schema = None;
    settings.contract = Contract::Serialize;
    SchemaGenerator::new(settings)
}

/// The OpenRPC document of the API, as `rpc.discover` answers it.
pub fn document() -> Value {
    let mut generator = generator();
    let methods: Vec<Value> = METHODS
        .iter()
        .map(|method| method_document(method, &mut generator))
        .collect();
    let schemas = generator.take_definitions(true);
    let errors: Map<String, Value> = errors()
        .into_iter()
        .map(|(code, name, meaning)| (name, json!({"code": code, "message": meaning})))
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

/// The document as checked in at `docs/openrpc.json`: pretty JSON and a final newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}

fn method_document(method: &MethodSpec, generator: &mut SchemaGenerator) -> Value {
    let shape = (method.shape)(generator);
    let params: Vec<Value> = method
        .params
        .iter()
        .zip(shape.params)
        .map(|(spec, (schema, required))| {
            let schema = match spec.text_of {
                Some(text_of) => text_of(generator),
                None => schema,
            };
            json!({
                "name": spec.name,
                "description": spec.description,
                "required": required,
                "schema": schema,
            })
        })
        .collect();
    let all = errors();
    let errors: Vec<Value> = method
        .errors
        .iter()
        .filter_map(|code| all.iter().find(|(known, _, _)| known == code))
        .map(|(_, name, _)| json!({"$ref": format!("#/components/errors/{name}")}))
        .collect();
    let mut document = json!({
        "name": method.name,
        "summary": method.summary,
        "paramStructure": "by-position",
        "params": params,
        "result": {"name": "result", "schema": shape.result},
        "errors": errors,
    });
    if let (Some((item, unsubscribe)), Some(fields)) =
        (shape.subscription, document.as_object_mut())
    {
        // OpenRPC has no notion of subscriptions; an extension field describes them.
        fields.insert(
            "x-subscription".to_owned(),
            json!({
                "notification": method.notification,
                "unsubscribe": unsubscribe,
                "item": item,
            }),
        );
    }
    document
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The RPC reference, which must document what the table holds.
    const RPC_REFERENCE: &str = include_str!("../../docs/RPC.md");
    /// The document as checked in.
    const CHECKED_IN: &str = include_str!("../../docs/openrpc.json");

    #[test]
    fn each_table_entry_is_the_trait_method_it_names_with_its_arity() {
        let mut generator = generator();
        for method in METHODS {
            let shape = (method.shape)(&mut generator);
            assert_eq!(shape.method, method.name, "the trait sends another name");
            assert_eq!(
                shape.params.len(),
                method.params.len(),
                "{}: the trait takes another number of parameters",
                method.name
            );
            assert_eq!(
                shape.subscription.is_some(),
                method.notification.is_some(),
                "{}: a subscription names its notification",
                method.name
            );
            if let Some((_, unsubscribe)) = &shape.subscription {
                assert!(
                    METHODS.iter().any(|m| m.name == unsubscribe),
                    "{}: {unsubscribe} is in the table",
                    method.name
                );
            }
            // A parameter given as text documents what the text holds; only strings are.
            for (spec, (schema, _)) in method.params.iter().zip(&shape.params) {
                if spec.text_of.is_some() {
                    let text = schema.as_value().to_string();
                    assert!(text.contains("string"), "{}: {}", method.name, spec.name);
                }
            }
        }
    }

    /// The trait's parameter names, by method name, read from its source: the server takes
    /// named parameters by these names, so the document must use them.
    fn trait_parameter_names() -> Vec<(String, Vec<String>)> {
        include_str!("api.rs")
            .split("name = \"")
            .skip(1)
            .map(|chunk| {
                let method = chunk.split('"').next().unwrap().to_owned();
                let signature = chunk.split("fn ").nth(1).unwrap();
                let arguments = signature.split(['(', ')']).nth(1).unwrap();
                let names = arguments
                    .split(',')
                    .filter_map(|argument| argument.split(':').next())
                    .map(str::trim)
                    .filter(|name| !name.is_empty() && *name != "&self")
                    .map(str::to_owned)
                    .collect();
                (method, names)
            })
            .collect()
    }

    #[test]
    fn the_table_names_each_parameter_as_the_trait_does() {
        let from_trait = trait_parameter_names();
        // Every method but the unsubscribe ones, which the macro makes.
        assert_eq!(from_trait.len(), METHODS.len() - 2);
        for (method, names) in from_trait {
            let spec = METHODS.iter().find(|m| m.name == method).unwrap();
            let table: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            assert_eq!(table, names, "{method}");
        }
    }

    #[test]
    fn optional_parameters_come_last_and_are_marked_so() {
        let document = document();
        for method in document["methods"].as_array().unwrap() {
            let required: Vec<bool> = method["params"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["required"].as_bool().unwrap())
                .collect();
            assert!(
                required.windows(2).all(|w| w[0] || !w[1]),
                "{}: a required parameter after an optional one",
                method["name"]
            );
        }
        let account = &document["methods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == METHOD_GET_ACCOUNT)
            .unwrap()["params"];
        assert_eq!(account[0]["required"], true);
        assert_eq!(account[1]["required"], false);
    }

    #[test]
    fn field_docs_are_the_schemas_descriptions() {
        let document = document();
        let status = &document["components"]["schemas"]["StatusResult"];
        assert_eq!(
            status["properties"]["height"]["description"],
            "Height of the best block."
        );
        assert!(
            status["required"]
                .as_array()
                .unwrap()
                .contains(&json!("genesis_hash"))
        );
        // A field left out when empty is not required.
        let transaction = &document["components"]["schemas"]["TransactionResult"];
        assert_eq!(transaction["required"], json!(["status"]));
    }

    #[test]
    fn error_codes_and_method_names_are_unique_and_every_reference_resolves() {
        let all = errors();
        let codes: BTreeSet<i32> = all.iter().map(|(code, _, _)| *code).collect();
        assert_eq!(codes.len(), all.len(), "duplicate error codes");
        let names: BTreeSet<&str> = all.iter().map(|(_, name, _)| name.as_str()).collect();
        assert_eq!(names.len(), all.len(), "duplicate error names");
        let method_names: BTreeSet<&str> = METHODS.iter().map(|m| m.name).collect();
        assert_eq!(method_names.len(), METHODS.len(), "duplicate methods");
        for method in METHODS {
            for code in method.errors {
                assert!(codes.contains(code), "{}: code {code}", method.name);
            }
        }
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
    fn the_checked_in_document_is_the_generated_one() {
        assert!(
            CHECKED_IN == document_text(),
            "docs/openrpc.json is stale: regenerate it with `bitverse rpc-doc > docs/openrpc.json`"
        );
    }

    #[test]
    fn every_transaction_error_code_is_one_bv_send_transaction_answers() {
        for entry in ERROR_CODES {
            assert!(
                SEND_ERRORS.contains(&entry.code),
                "bv_sendTransaction lacks {} ({})",
                entry.code,
                entry.name
            );
        }
        assert_eq!(camel_case("BAD_NONCE"), "BadNonce");
        assert_eq!(camel_case("LEDGER"), "Ledger");
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
        // Error codes: the reference's table has one row per code, `| code | name | stage |
        // meaning | former code |`, in the order of `errors()`; the former codes are the
        // migration note's.
        let rows: Vec<Vec<&str>> = RPC_REFERENCE
            .lines()
            .filter_map(|line| line.strip_prefix("| "))
            .map(|row| row.trim_end_matches(" |").split(" | ").collect::<Vec<_>>())
            .filter(|cells| cells.first().is_some_and(|c| c.parse::<i32>().is_ok()))
            .collect();
        let expected: Vec<(i32, String)> = errors()
            .into_iter()
            .map(|(code, name, _)| (code, name))
            .collect();
        let documented: Vec<(i32, String)> = rows
            .iter()
            .map(|cells| {
                (
                    cells[0].parse().unwrap(),
                    cells[1].trim_matches('`').to_owned(),
                )
            })
            .collect();
        assert_eq!(documented, expected, "docs/RPC.md error table vs errors()");
        for entry in ERROR_CODES {
            let row = rows
                .iter()
                .find(|cells| cells[0] == entry.code.to_string())
                .unwrap();
            assert_eq!(row[2], entry.stage.name(), "{}'s stage", entry.name);
            assert_eq!(
                row.last().copied(),
                Some(entry.former_code.to_string().as_str()),
                "{}'s former code",
                entry.name
            );
        }
        // In the methods' text, a code in JSON-RPC's reserved range is one of the table's (the
        // application codes' four digits cannot be told from other numbers in prose; the
        // error section before it names the former codes).
        let codes: BTreeSet<i32> = expected.iter().map(|(code, _)| *code).collect();
        let methods = RPC_REFERENCE.split("\n## Methods\n").nth(1).unwrap();
        for word in methods.split(|c: char| !(c.is_ascii_digit() || c == '-')) {
            if word.len() == 6 && word.starts_with("-32") {
                let code: i32 = word.parse().unwrap();
                assert!(codes.contains(&code), "docs/RPC.md names code {word}");
            }
        }
    }

    #[test]
    fn send_transactions_states_the_limit_the_server_enforces() {
        let limit = crate::SEND_TRANSACTIONS_TXS_MAX.to_string();
        let method = METHODS
            .iter()
            .find(|m| m.name == crate::METHOD_SEND_TRANSACTIONS)
            .unwrap();
        assert!(method.summary.contains(&limit));
        assert!(method.params[0].description.contains(&limit));
        assert!(RPC_REFERENCE.contains(&format!("at most {limit}")));
    }
}
