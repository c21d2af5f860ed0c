//! The CLI's side of JSON-RPC: a typed client of the node's methods, and the error every
//! client command ends in, which decides the line on stderr and the exit code.

use std::process::ExitCode;
use std::time::Duration;

use bitverse_blocktree::Transaction;
use bitverse_primitives::{AccountId, ChainId, Hash};
use jsonrpsee::core::client::{ClientT, Error as RpcClientError};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use serde::de::DeserializeOwned;

use bitverse_rpc_api::{
    AccountResult, BrowseResult, ChainResult, EarningsProofResult, EarningsResult, KeyChainResult,
    KeyspaceResult, METHOD_BROWSE, METHOD_CHAINS, METHOD_GET_ACCOUNT, METHOD_GET_EARNINGS,
    METHOD_GET_EARNINGS_PROOF, METHOD_GET_HEADERS, METHOD_GET_KEY_CHAIN, METHOD_GET_KEYSPACE,
    METHOD_GET_PROOF, METHOD_GET_TRANSACTION, METHOD_GET_VALUE, METHOD_NETWORK_STATUS,
    METHOD_SEND_TRANSACTION, METHOD_STATUS, NetworkStatusResult, ProofResult,
    REQUEST_BODY_BYTES_MAX, RESPONSE_BODY_BYTES_MAX, StatusResult, TransactionResult, ValueResult,
};

/// How long one RPC call may take before the node counts as unreachable. Generous: a node
/// sealing a large block holds its chain lock for a while.
const RPC_REQUEST_TIMEOUT_MS: u64 = 30_000;

/// Exit code when the node refused, a key is absent or a proof failed.
const EXIT_REFUSED: u8 = 1;
/// Exit code when the node cannot be reached. (2 is clap's usage error.)
const EXIT_UNREACHABLE: u8 = 3;

/// How a client command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// No answer from the node.
    #[error("cannot reach node at {url}: {reason}")]
    Unreachable {
        /// The RPC URL.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// The node answered with a JSON-RPC error.
    #[error("{message} (code {code})")]
    Refused {
        /// The stable error code (docs/RPC.md).
        code: i32,
        /// The node's explanation.
        message: String,
    },
    /// The key holds no value; not an error of anyone, but the command has nothing to print.
    #[error("{0}")]
    Absent(String),
    /// Anything else: a bad key file, an answer that does not decode, a proof that fails.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// Prints the one line on stderr and returns the exit code.
    pub fn report(&self) -> ExitCode {
        match self {
            // Absence is an answer, not a failure of the tool: no `error:` prefix.
            CliError::Absent(message) => eprintln!("{message}"),
            other => eprintln!("error: {other}"),
        }
        ExitCode::from(match self {
            CliError::Unreachable { .. } => EXIT_UNREACHABLE,
            _ => EXIT_REFUSED,
        })
    }
}

impl From<crate::keys::KeyFileError> for CliError {
    fn from(e: crate::keys::KeyFileError) -> CliError {
        CliError::Failed(e.to_string())
    }
}

/// A connection to one node's JSON-RPC endpoint.
pub struct NodeClient {
    url: String,
    http: HttpClient,
}

impl NodeClient {
    /// A client of the node at `url`. Does not contact the node.
    pub fn new(url: &str) -> Result<NodeClient, CliError> {
        let http = HttpClientBuilder::default()
            .max_request_size(REQUEST_BODY_BYTES_MAX)
            .max_response_size(RESPONSE_BODY_BYTES_MAX)
            .request_timeout(Duration::from_millis(RPC_REQUEST_TIMEOUT_MS))
            .build(url)
            .map_err(|e| CliError::Failed(format!("invalid RPC URL {url:?}: {e}")))?;
        Ok(NodeClient {
            url: url.to_owned(),
            http,
        })
    }

    /// The node's RPC URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The jsonrpsee client, for batch requests.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Turns a jsonrpsee error into the CLI's.
    pub fn map_error(&self, e: RpcClientError) -> CliError {
        match e {
            RpcClientError::Call(obj) => CliError::Refused {
                code: obj.code(),
                message: obj.message().to_owned(),
            },
            RpcClientError::Transport(e) => CliError::Unreachable {
                url: self.url.clone(),
                reason: with_causes(e.as_ref()),
            },
            RpcClientError::RequestTimeout => CliError::Unreachable {
                url: self.url.clone(),
                reason: format!("no answer within {RPC_REQUEST_TIMEOUT_MS} ms"),
            },
            RpcClientError::RestartNeeded(e) => CliError::Unreachable {
                url: self.url.clone(),
                reason: one_line(&e.to_string()),
            },
            other => CliError::Failed(format!(
                "unexpected answer from node at {}: {other}",
                self.url
            )),
        }
    }

    async fn call<R: DeserializeOwned>(
        &self,
        method: &str,
        params: ArrayParams,
    ) -> Result<R, CliError> {
        self.http
            .request(method, params)
            .await
            .map_err(|e| self.map_error(e))
    }

    /// `bv_getLedger`: an account's stakes and records at a root height (the tip if `None`).
    pub async fn ledger(
        &self,
        account: &AccountId,
        height: Option<u64>,
    ) -> Result<bitverse_rpc_api::LedgerResult, CliError> {
        self.call(
            bitverse_rpc_api::METHOD_GET_LEDGER,
            rpc_params![account.to_string(), height],
        )
        .await
    }

    /// `bv_getBounty`: a bounty at a root height (the tip if `None`); `None` if not posted.
    pub async fn bounty(
        &self,
        id: &bitverse_primitives::Hash,
        height: Option<u64>,
    ) -> Result<Option<bitverse_rpc_api::BountyResult>, CliError> {
        self.call(
            bitverse_rpc_api::METHOD_GET_BOUNTY,
            rpc_params![id.to_hex(), height],
        )
        .await
    }

    /// `bv_marketRequest`: gossips a request; its id.
    pub async fn market_request(
        &self,
        request: &bitverse_rpc_api::MarketRequestParams,
    ) -> Result<bitverse_rpc_api::MarketRequestResult, CliError> {
        self.call(
            bitverse_rpc_api::METHOD_MARKET_REQUEST,
            rpc_params![request],
        )
        .await
    }

    /// `bv_getOffers`: the offers the node heard for a request.
    pub async fn offers(
        &self,
        request: &bitverse_primitives::Hash,
    ) -> Result<Vec<bitverse_rpc_api::OfferResult>, CliError> {
        self.call(
            bitverse_rpc_api::METHOD_GET_OFFERS,
            rpc_params![request.to_hex()],
        )
        .await
    }

    /// `bv_getResult`: the envelope chain the node heard for a bounty, if any.
    pub async fn result_chain(
        &self,
        bounty: &bitverse_primitives::Hash,
    ) -> Result<Option<bitverse_rpc_api::ResultChainResult>, CliError> {
        self.call(
            bitverse_rpc_api::METHOD_GET_RESULT,
            rpc_params![bounty.to_hex()],
        )
        .await
    }

    /// `bv_quote`: every staked offerer's tier table at a root height (the tip if `None`).
    pub async fn quote(
        &self,
        transform: &str,
        inputs: &[String],
        fuel_budget: u64,
        height: Option<u64>,
        requester: Option<&AccountId>,
    ) -> Result<bitverse_rpc_api::QuoteResult, CliError> {
        self.call(
            bitverse_rpc_api::METHOD_QUOTE,
            rpc_params![
                transform,
                inputs,
                fuel_budget,
                height,
                requester.map(ToString::to_string)
            ],
        )
        .await
    }

    /// `bv_status`.
    pub async fn status(&self) -> Result<StatusResult, CliError> {
        self.call(METHOD_STATUS, rpc_params![]).await
    }

    /// `bv_getAccount`.
    pub async fn account(&self, account: &AccountId) -> Result<AccountResult, CliError> {
        self.call(METHOD_GET_ACCOUNT, rpc_params![account.to_string()])
            .await
    }

    /// `bv_getAccount` on `chain`: where a sender's nonce for that chain is counted.
    pub async fn account_on(
        &self,
        account: &AccountId,
        chain: ChainId,
    ) -> Result<AccountResult, CliError> {
        self.call(
            METHOD_GET_ACCOUNT,
            rpc_params![account.to_string(), chain.to_string()],
        )
        .await
    }

    /// `bv_getKeyChain`: the chain a key's writes go to.
    pub async fn key_chain(&self, key: &str) -> Result<KeyChainResult, CliError> {
        self.call(METHOD_GET_KEY_CHAIN, rpc_params![key]).await
    }

    /// `bv_sendTransaction`: the transaction's hash once the mempool took it.
    pub async fn send_transaction(&self, tx: &Transaction) -> Result<Hash, CliError> {
        self.call(
            METHOD_SEND_TRANSACTION,
            rpc_params![hex::encode(tx.to_bytes())],
        )
        .await
    }

    /// `bv_getTransaction`, on `chain` when named (every chain the node has open otherwise).
    pub async fn transaction(
        &self,
        hash: &Hash,
        chain: Option<ChainId>,
    ) -> Result<TransactionResult, CliError> {
        match chain {
            Some(chain) => {
                self.call(
                    METHOD_GET_TRANSACTION,
                    rpc_params![hash.to_hex(), chain.to_string()],
                )
                .await
            }
            None => {
                self.call(METHOD_GET_TRANSACTION, rpc_params![hash.to_hex()])
                    .await
            }
        }
    }

    /// `bv_getKeyspace`.
    pub async fn keyspace(&self, name: &str) -> Result<Option<KeyspaceResult>, CliError> {
        self.call(METHOD_GET_KEYSPACE, rpc_params![name]).await
    }

    /// `bv_getValue`.
    pub async fn value(&self, key: &str) -> Result<ValueResult, CliError> {
        self.call(METHOD_GET_VALUE, rpc_params![key]).await
    }

    /// `bv_getProof`.
    pub async fn proof(&self, key: &str) -> Result<ProofResult, CliError> {
        self.call(METHOD_GET_PROOF, rpc_params![key]).await
    }

    /// `bv_getHeaders`: up to `count` header hex strings from `from_height` on.
    pub async fn headers(&self, from_height: u64, count: u64) -> Result<Vec<String>, CliError> {
        self.call(METHOD_GET_HEADERS, rpc_params![from_height, count])
            .await
    }

    /// `bv_getEarnings`.
    pub async fn earnings(
        &self,
        miner: &AccountId,
        chain: Option<ChainId>,
    ) -> Result<Vec<EarningsResult>, CliError> {
        let mut params = rpc_params![miner.to_string()];
        if let Some(chain) = chain {
            params
                .insert(chain.to_string())
                .map_err(|e| CliError::Failed(format!("cannot encode the chain: {e}")))?;
        }
        self.call(METHOD_GET_EARNINGS, params).await
    }

    /// `bv_getEarningsProof`.
    pub async fn earnings_proof(
        &self,
        miner: &AccountId,
        chain: ChainId,
    ) -> Result<EarningsProofResult, CliError> {
        self.call(
            METHOD_GET_EARNINGS_PROOF,
            rpc_params![miner.to_string(), chain.to_string()],
        )
        .await
    }

    /// `bv_chains`.
    pub async fn chains(&self) -> Result<Vec<ChainResult>, CliError> {
        self.call(METHOD_CHAINS, rpc_params![]).await
    }

    /// `bv_browse`.
    pub async fn browse(
        &self,
        search: Option<&str>,
        limit: usize,
    ) -> Result<BrowseResult, CliError> {
        self.call(
            METHOD_BROWSE,
            rpc_params![search.unwrap_or_default(), limit],
        )
        .await
    }

    /// `bv_networkStatus`.
    pub async fn network_status(&self) -> Result<NetworkStatusResult, CliError> {
        self.call(METHOD_NETWORK_STATUS, rpc_params![]).await
    }
}

/// hyper's top-level error says only "client error (Connect)"; the cause ("Connection
/// refused") is what a user can act on.
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    one_line(&text)
}

/// Transport errors can span lines (hyper nests its causes); a refusal is one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
