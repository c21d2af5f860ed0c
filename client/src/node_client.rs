//! The CLI's side of JSON-RPC: a typed client of the node's methods (each a call of the client
//! `bitverse_rpc_api`'s `#[rpc]` trait generates), and the error every client command ends in,
//! which decides the line on stderr and the exit code.

use std::process::ExitCode;
use std::time::Duration;

use bitverse_blocktree::Transaction;
use bitverse_primitives::{AccountId, ChainId, Hash};
use jsonrpsee::core::client::Error as RpcClientError;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};

use bitverse_rpc_api::{
    AccountResult, BitverseRpcClient, BountyResult, BrowseResult, ChainResult, EarningsProofResult,
    EarningsResult, KeyChainResult, KeyspaceResult, LedgerResult, MarketRequestParams,
    MarketRequestResult, NetworkStatusResult, OfferResult, ProofResult, QuoteResult,
    REQUEST_BODY_BYTES_MAX, RESPONSE_BODY_BYTES_MAX, ResultChainResult, StatusResult,
    TransactionResult, ValueResult,
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

    /// A call's answer, its error the CLI's.
    fn answer<T>(&self, answer: Result<T, RpcClientError>) -> Result<T, CliError> {
        answer.map_err(|e| self.map_error(e))
    }

    /// `bv_getLedger`: an account's stakes and records at a root height (the tip if `None`).
    pub async fn ledger(
        &self,
        account: &AccountId,
        height: Option<u64>,
    ) -> Result<LedgerResult, CliError> {
        self.answer(self.http.get_ledger(account.to_string(), height).await)
    }

    /// `bv_getBounty`: a bounty at a root height (the tip if `None`); `None` if not posted.
    pub async fn bounty(
        &self,
        id: &Hash,
        height: Option<u64>,
    ) -> Result<Option<BountyResult>, CliError> {
        self.answer(self.http.get_bounty(id.to_hex(), height).await)
    }

    /// `bv_marketRequest`: gossips a request; its id.
    pub async fn market_request(
        &self,
        request: &MarketRequestParams,
    ) -> Result<MarketRequestResult, CliError> {
        self.answer(self.http.market_request(request.clone()).await)
    }

    /// `bv_getOffers`: the offers the node heard for a request.
    pub async fn offers(&self, request: &Hash) -> Result<Vec<OfferResult>, CliError> {
        self.answer(self.http.get_offers(request.to_hex()).await)
    }

    /// `bv_getResult`: the envelope chain the node heard for a bounty, if any.
    pub async fn result_chain(&self, bounty: &Hash) -> Result<Option<ResultChainResult>, CliError> {
        self.answer(self.http.get_result(bounty.to_hex()).await)
    }

    /// `bv_quote`: every staked offerer's tier table at a root height (the tip if `None`).
    pub async fn quote(
        &self,
        transform: &str,
        inputs: &[String],
        fuel_budget: u64,
        height: Option<u64>,
        requester: Option<&AccountId>,
    ) -> Result<QuoteResult, CliError> {
        let requester = requester.map(ToString::to_string);
        let answer = self
            .http
            .quote(
                transform.to_owned(),
                inputs.to_vec(),
                fuel_budget,
                height,
                requester,
            )
            .await;
        self.answer(answer)
    }

    /// `bv_status`.
    pub async fn status(&self) -> Result<StatusResult, CliError> {
        self.answer(self.http.status().await)
    }

    /// `bv_getAccount`.
    pub async fn account(&self, account: &AccountId) -> Result<AccountResult, CliError> {
        self.answer(self.http.get_account(account.to_string(), None).await)
    }

    /// `bv_getAccount` on `chain`: where a sender's nonce for that chain is counted.
    pub async fn account_on(
        &self,
        account: &AccountId,
        chain: ChainId,
    ) -> Result<AccountResult, CliError> {
        let answer = self
            .http
            .get_account(account.to_string(), Some(chain.to_string()))
            .await;
        self.answer(answer)
    }

    /// `bv_getKeyChain`: the chain a key's writes go to.
    pub async fn key_chain(&self, key: &str) -> Result<KeyChainResult, CliError> {
        self.answer(self.http.get_key_chain(key.to_owned()).await)
    }

    /// `bv_sendTransaction`: the transaction's hash once the mempool took it.
    pub async fn send_transaction(&self, tx: &Transaction) -> Result<Hash, CliError> {
        self.answer(self.http.send_transaction(hex::encode(tx.to_bytes())).await)
    }

    /// `bv_getTransaction`, on `chain` when named (every chain the node has open otherwise).
    pub async fn transaction(
        &self,
        hash: &Hash,
        chain: Option<ChainId>,
    ) -> Result<TransactionResult, CliError> {
        let chain = chain.map(|chain| chain.to_string());
        self.answer(self.http.get_transaction(hash.to_hex(), chain).await)
    }

    /// `bv_getKeyspace`.
    pub async fn keyspace(&self, name: &str) -> Result<Option<KeyspaceResult>, CliError> {
        self.answer(self.http.get_keyspace(name.to_owned()).await)
    }

    /// `bv_getBlob` at the tip.
    pub async fn blob(&self, key: &str) -> Result<Option<bitverse_rpc_api::BlobResult>, CliError> {
        self.answer(self.http.get_blob(key.to_owned(), None).await)
    }

    /// `bv_getStorers` at the tip.
    pub async fn storers(&self) -> Result<Vec<bitverse_rpc_api::StorerResult>, CliError> {
        self.answer(self.http.get_storers(None).await)
    }

    /// `bv_getValue`.
    pub async fn value(&self, key: &str) -> Result<ValueResult, CliError> {
        self.answer(self.http.get_value(key.to_owned()).await)
    }

    /// `bv_getProof`.
    pub async fn proof(&self, key: &str) -> Result<ProofResult, CliError> {
        self.answer(self.http.get_proof(key.to_owned()).await)
    }

    /// `bv_getHeaders`: up to `count` header hex strings from `from_height` on.
    pub async fn headers(&self, from_height: u64, count: u64) -> Result<Vec<String>, CliError> {
        self.answer(self.http.get_headers(from_height, count).await)
    }

    /// `bv_getEarnings`.
    pub async fn earnings(
        &self,
        miner: &AccountId,
        chain: Option<ChainId>,
    ) -> Result<Vec<EarningsResult>, CliError> {
        let chain = chain.map(|chain| chain.to_string());
        self.answer(self.http.get_earnings(miner.to_string(), chain).await)
    }

    /// `bv_getEarningsProof`.
    pub async fn earnings_proof(
        &self,
        miner: &AccountId,
        chain: ChainId,
    ) -> Result<EarningsProofResult, CliError> {
        let answer = self
            .http
            .get_earnings_proof(miner.to_string(), chain.to_string())
            .await;
        self.answer(answer)
    }

    /// `bv_chains`.
    pub async fn chains(&self) -> Result<Vec<ChainResult>, CliError> {
        self.answer(self.http.chains().await)
    }

    /// `bv_browse`.
    pub async fn browse(
        &self,
        search: Option<&str>,
        limit: usize,
    ) -> Result<BrowseResult, CliError> {
        let search = search.unwrap_or_default().to_owned();
        self.answer(self.http.browse(Some(search), Some(limit)).await)
    }

    /// `bv_networkStatus`.
    pub async fn network_status(&self) -> Result<NetworkStatusResult, CliError> {
        self.answer(self.http.network_status().await)
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
