//! Waiting on the node: until a transaction sent is in a block.

use std::time::{Duration, Instant};

use bitverse_primitives::{ChainId, Hash};
use bitverse_rpc_api::TxStatusName;

use crate::node_client::{CliError, NodeClient};

/// How often a waiting write asks the node about its transaction. A dev node seals within
/// milliseconds; a tighter loop would only load the node.
const TX_POLL_INTERVAL_MS: u64 = 50;

/// Polls `bv_getTransaction` until the transaction is in a block; a dropped transaction is an
/// error with the node's reason. Naming the `chain` lets a node that does not track it ask a
/// peer that does.
pub async fn wait_for_inclusion(
    client: &NodeClient,
    hash: &Hash,
    chain: Option<ChainId>,
    timeout: Duration,
) -> Result<u64, CliError> {
    let deadline = Instant::now() + timeout;
    loop {
        let status = client.transaction(hash, chain).await?;
        match status.status {
            TxStatusName::Included => {
                return status.height.ok_or_else(|| {
                    CliError::Failed("node says included but gives no height".to_owned())
                });
            }
            TxStatusName::Dropped => {
                return Err(CliError::Refused {
                    code: status
                        .error_code
                        .unwrap_or(bitverse_rpc_api::CODE_INTERNAL_ERROR),
                    message: format!(
                        "transaction {hash} was dropped: {}",
                        status.error.unwrap_or_else(|| "no reason given".into())
                    ),
                });
            }
            TxStatusName::Pending | TxStatusName::Unknown => {}
        }
        if Instant::now() >= deadline {
            return Err(CliError::Failed(format!(
                "transaction {hash} not in a block after {} s (status: {:?}); it may still be included",
                timeout.as_secs(),
                status.status
            )));
        }
        tokio::time::sleep(Duration::from_millis(TX_POLL_INTERVAL_MS)).await;
    }
}
