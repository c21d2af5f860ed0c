//! The node's JSON-RPC server: [`start`] binds the HTTP and WebSocket endpoint and answers
//! every `bv_*` method from a [`RpcContext`] (the chains, the peer-to-peer handle, the market
//! agent's book, the browse index and the metrics). Beside the methods it serves the explorer
//! page and `GET /metrics` on the same port, and forwards what this node cannot answer to a
//! peer that can.
//!
//! Layout: `context` (what every handler shares, and errors as JSON-RPC errors), `server`
//! (binding, limits, `rpc-api`'s traits implemented, the chain's methods, subscriptions), `market` and
//! `earnings` (the market's and miners' pay methods), `forward` (asking peers), `explorer`
//! (the page and its gateway routes), `blobs` (the storage methods), `gateway` (blobs over
//! HTTP: `POST /blob-upload/ID` pushes a file's shards to their storers, `GET /blob/KEY`
//! streams a blob back, with `Range`).
//!
//! Invariant: the wire shapes are `bitverse-rpc-api`'s; this crate only answers them. It names
//! no libp2p type (peers are `bitverse-p2p`'s handle) and knows nothing of the command line.

mod blobs;
mod context;
mod earnings;
mod explorer;
mod forward;
mod gateway;
mod market;
mod server;

pub use crate::context::RpcContext;
pub use crate::server::start;
