//! Sending a signed write and waiting for it: what every write command shares (`commands`,
//! and `blob` for a blob's registration), printing nothing itself.

use std::time::{Duration, Instant};

use bitverse_blocktree::{Transaction, TxPayload, UnsignedTx};
use bitverse_primitives::{Amount, ChainId, Hash};

use crate::args::WriteArgs;
use crate::keys::load_key;
use crate::node_client::{CliError, NodeClient};
use crate::wait::wait_for_inclusion;

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

/// An amount as people read it (`12.5 BV`), or in base units with `--raw`.
pub(crate) fn shown(amount: Amount, raw: bool) -> String {
    if raw {
        amount.to_string()
    } else {
        amount.coins().to_string()
    }
}

/// Signs `payload` with the write's key for its chain, sends it and (unless `--no-wait`)
/// waits for its inclusion; prints nothing. The transaction's hash, its fee and the height
/// it was included at.
pub(crate) async fn submit_quiet(
    client: &NodeClient,
    write: &WriteArgs,
    payload: TxPayload,
) -> Result<(Hash, Amount, Option<u64>), CliError> {
    let key = load_key(&write.key)?;
    let sender = key.account();
    // Puts and deletes go to their keyspace's chain, which counts the sender's nonces there
    // and takes no fee; everything else to the root.
    let chain = match &payload {
        TxPayload::Put { key, .. } | TxPayload::Delete { key } => {
            let home = client.key_chain(key).await?;
            home.chain
                .parse::<ChainId>()
                .map_err(|e| failed(format!("node named chain {:?}: {e}", home.chain)))?
        }
        _ => ChainId::ROOT,
    };
    let nonce = client.account_on(&sender, chain).await?.pending_nonce;
    let fee = if chain.is_root() {
        write.fee.0
    } else {
        Amount::ZERO
    };
    let tx = UnsignedTx {
        chain,
        sender,
        nonce,
        fee,
        payload,
    }
    .sign(&key);
    let hash = send_when_settled(client, &tx, Duration::from_secs(write.wait_timeout_secs)).await?;
    if hash != tx.hash() {
        return Err(failed(format!(
            "node answered hash {hash} for transaction {}",
            tx.hash()
        )));
    }
    let height = if write.no_wait {
        None
    } else {
        let timeout = Duration::from_secs(write.wait_timeout_secs);
        Some(wait_for_inclusion(client, &hash, Some(chain), timeout).await?)
    };
    Ok((hash, fee, height))
}

/// How often a write the node cannot judge yet (`CODE_NOT_ANCHORED_YET`) is sent again.
const NOT_SETTLED_RETRY_MS: u64 = 500;

/// Sends `tx`; while the node answers that it cannot judge it yet (`CODE_NOT_ANCHORED_YET`: a write to a deeper
/// chain whose keyspace was bought less than the relay depth ago, or whose root is not deep
/// enough), says so once on stderr and sends it again, until `timeout`.
async fn send_when_settled(
    client: &NodeClient,
    tx: &Transaction,
    timeout: Duration,
) -> Result<Hash, CliError> {
    let deadline = Instant::now() + timeout;
    let mut told = false;
    loop {
        match client.send_transaction(tx).await {
            Err(CliError::Refused { code, message })
                if code == bitverse_rpc_api::CODE_NOT_ANCHORED_YET && Instant::now() < deadline =>
            {
                if !told {
                    eprintln!("waiting for the root: {message}");
                    told = true;
                }
                tokio::time::sleep(Duration::from_millis(NOT_SETTLED_RETRY_MS)).await;
            }
            other => return other,
        }
    }
}
