//! `bitverse bench puts`: signed Puts imported per second, end to end, on one running dev
//! node: RPC in (`bv_sendTransactions`, a batch a call) → mempool admission (signatures in
//! parallel, then nonce and dry run) → block → state root → RocksDB commit. Signing happens before the clock starts; the figure is the node's, not the client's.

use std::time::{Duration, Instant};

use bitverse_blocktree::error::codes;
use bitverse_blocktree::{DEV_ACCOUNT_NAMES, Transaction, TxPayload, UnsignedTx};
use bitverse_primitives::{Amount, ChainId, Hash, SecretKey};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;

use bitverse_client::wait_for_inclusion;
use bitverse_client::{CliError, NodeClient};
use bitverse_node::tools::PutsBenchOptions;
use bitverse_rpc_api::{
    METHOD_SEND_TRANSACTIONS, SEND_TRANSACTIONS_TXS_MAX, SendItemResult, TxStatusName,
};

/// The whole measured run may take at most this long; a node that cannot keep up fails the
/// bench rather than hanging it.
const BENCH_DEADLINE_MS: u64 = 600_000;
/// How long to wait before resending after the mempool pushed back (full, or a sender's
/// nonces too far ahead of its state): time for a block to be sealed.
const BACKPRESSURE_WAIT_MS: u64 = 20;
/// How often the bench asks whether the last puts are in a block.
const INCLUSION_POLL_MS: u64 = 10;
/// Largest batch the bench sends: what one `bv_sendTransactions` call may carry.
const BATCH_CALLS_MAX: usize = SEND_TRANSACTIONS_TXS_MAX;
/// Fee of each put; equal fees keep the mempool's order the nonce order.
const PUT_FEE: Amount = Amount(1);

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

/// One sender's pre-signed puts, in nonce order.
struct SenderPuts {
    name: &'static str,
    /// (hash, tx hex) in nonce order.
    txs: Vec<(Hash, String)>,
}

/// Runs the bench against the node behind `client`.
pub(crate) async fn puts(client: &NodeClient, options: &PutsBenchOptions) -> Result<(), CliError> {
    let status = client.status().await?;
    if !status.dev {
        return Err(failed(
            "bench puts needs a node started with --dev, which seals blocks at once",
        ));
    }
    if options.batch == 0 || options.batch > BATCH_CALLS_MAX {
        return Err(failed(format!("--batch must be 1 to {BATCH_CALLS_MAX}")));
    }
    let names: Vec<&'static str> = DEV_ACCOUNT_NAMES
        .iter()
        .copied()
        .take(usize::from(options.senders))
        .collect();
    if names.is_empty() {
        return Err(failed("--senders must be at least 1"));
    }
    let per_sender = options.count.div_ceil(names.len());

    // One fresh keyspace per sender, named after the height so repeated runs do not collide.
    let run_tag = status.height;
    let mut buys = Vec::new();
    for name in &names {
        let key = SecretKey::dev(name);
        let keyspace = format!("bench-{run_tag}-{name}");
        let entry_bytes = keyspace.len() + 16 + options.value_bytes;
        let quota_bytes = (per_sender.max(1) * entry_bytes * 2) as u64;
        let prepaid = status
            .storage_price_per_byte
            .checked_mul(u128::from(quota_bytes))
            .map_err(|e| failed(format!("prepaid overflow: {e}")))?;
        let nonce = client.account(&key.account()).await?.pending_nonce;
        let tx = UnsignedTx {
            chain: ChainId::ROOT,
            sender: key.account(),
            nonce,
            fee: PUT_FEE,
            payload: TxPayload::BuyKeyspace {
                name: keyspace,
                owner: key.account(),
                quota_bytes,
                prepaid,
                script: None,
                depth: 0,
            },
        }
        .sign(&key);
        buys.push(client.send_transaction(&tx).await?);
    }
    for hash in &buys {
        wait_for_inclusion(client, hash, None, Duration::from_secs(60)).await?;
    }

    let mut starts = Vec::new();
    for name in &names {
        starts.push(
            client
                .account(&SecretKey::dev(name).account())
                .await?
                .pending_nonce,
        );
    }
    let value = vec![0xabu8; options.value_bytes];
    let signing_started = Instant::now();
    let all_puts = sign_all(&names, &starts, per_sender, options.count, run_tag, &value);
    let signing_secs = signing_started.elapsed().as_secs_f64();
    let total: usize = all_puts.iter().map(|s| s.txs.len()).sum();

    let height_before = client.status().await?.height;
    let started = Instant::now();
    let deadline = started + Duration::from_millis(BENCH_DEADLINE_MS);
    let mut streams = tokio::task::JoinSet::new();
    for sender in all_puts {
        let url = client_url(client);
        let batch = options.batch;
        streams.spawn(async move { stream_sender(&url, sender, batch, deadline).await });
    }
    let mut last_hashes = Vec::new();
    while let Some(joined) = streams.join_next().await {
        let last = joined.map_err(|e| failed(format!("sender task failed: {e}")))??;
        last_hashes.extend(last);
    }
    let sent_secs = started.elapsed().as_secs_f64();
    // A sender's nonces are consecutive: its last put in a block means all of them are.
    for hash in &last_hashes {
        loop {
            let status = client.transaction(hash, None).await?;
            match status.status {
                TxStatusName::Included => break,
                TxStatusName::Dropped => {
                    return Err(failed(format!(
                        "put {hash} was dropped: {}",
                        status.error.unwrap_or_default()
                    )));
                }
                TxStatusName::Pending | TxStatusName::Unknown => {}
            }
            if Instant::now() >= deadline {
                return Err(failed(format!(
                    "puts not all in blocks after {BENCH_DEADLINE_MS} ms"
                )));
            }
            tokio::time::sleep(Duration::from_millis(INCLUSION_POLL_MS)).await;
        }
    }
    let elapsed_secs = started.elapsed().as_secs_f64();
    let blocks = client.status().await?.height.saturating_sub(height_before);
    let puts_per_sec = total as f64 / elapsed_secs;
    if options.json {
        println!(
            "{}",
            serde_json::json!({
                "count": total,
                "senders": names.len(),
                "value_bytes": options.value_bytes,
                "batch": options.batch,
                "elapsed_secs": elapsed_secs,
                "send_secs": sent_secs,
                "signing_secs": signing_secs,
                "blocks": blocks,
                "puts_per_sec": puts_per_sec,
            })
        );
    } else {
        println!(
            "{total} puts ({} senders, {}-byte values, batches of {}) in {elapsed_secs:.2} s over {blocks} blocks: \
             {puts_per_sec:.0} puts/s (all sent after {sent_secs:.2} s; signing took {signing_secs:.2} s, not counted)",
            names.len(),
            options.value_bytes,
            options.batch
        );
    }
    Ok(())
}

fn client_url(client: &NodeClient) -> String {
    client.url().to_owned()
}

/// Signs every sender's puts, one thread per sender: signing is the client's cost and is not
/// measured, but it should not take longer than the run.
fn sign_all(
    names: &[&'static str],
    starts: &[u64],
    per_sender: usize,
    count: usize,
    run_tag: u64,
    value: &[u8],
) -> Vec<SenderPuts> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .copied()
            .zip(starts.iter().copied())
            .enumerate()
            .map(|(index, (name, start))| {
                let this_count = per_sender.min(count.saturating_sub(index * per_sender));
                scope.spawn(move || {
                    let key = SecretKey::dev(name);
                    let txs = (0..this_count as u64)
                        .map(|i| {
                            let tx: Transaction = UnsignedTx {
                                chain: ChainId::ROOT,
                                sender: key.account(),
                                nonce: start + i,
                                fee: PUT_FEE,
                                payload: TxPayload::Put {
                                    key: format!("bench-{run_tag}-{name}/p{i}"),
                                    value: value.to_vec(),
                                },
                            }
                            .sign(&key);
                            (tx.hash(), hex::encode(tx.to_bytes()))
                        })
                        .collect();
                    SenderPuts { name, txs }
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

/// Sends one sender's puts in nonce order, batch by batch, resending from the first put the
/// mempool pushed back. Returns the hash of the sender's last put.
async fn stream_sender(
    url: &str,
    sender: SenderPuts,
    batch: usize,
    deadline: Instant,
) -> Result<Option<Hash>, CliError> {
    let client = NodeClient::new(url)?;
    let mut next = 0usize;
    while next < sender.txs.len() {
        let end = (next + batch).min(sender.txs.len());
        // One `bv_sendTransactions` call a batch: the node checks its signatures on every
        // core and takes each chain's lock once.
        let txs_hex: Vec<&String> = sender.txs[next..end].iter().map(|(_, hex)| hex).collect();
        let items: Vec<SendItemResult> = client
            .http()
            .request(METHOD_SEND_TRANSACTIONS, rpc_params![txs_hex])
            .await
            .map_err(|e| client.map_error(e))?;
        let answers = items.into_iter().map(|item| match item.error {
            None => Ok(()),
            Some(error) => Err(error),
        });
        let mut pushed_back = None;
        for (offset, answer) in answers.into_iter().enumerate() {
            match answer {
                Ok(_) => {}
                // A resent put that the node had taken after all.
                Err(e) if e.code == codes::ALREADY_KNOWN => {}
                // The mempool is full, or holds as many of the sender's nonces ahead as it may:
                // send the rest again later.
                Err(e)
                    if [
                        codes::MEMPOOL_FULL,
                        codes::REPLACEMENT_UNDERPRICED,
                        codes::NONCE_TOO_FAR_AHEAD,
                    ]
                    .contains(&e.code) =>
                {
                    pushed_back = Some(next + offset);
                    break;
                }
                Err(e) => {
                    return Err(failed(format!(
                        "{}'s put {} refused: {} (code {})",
                        sender.name,
                        next + offset,
                        e.message,
                        e.code
                    )));
                }
            }
        }
        match pushed_back {
            Some(index) => {
                if Instant::now() >= deadline {
                    return Err(failed(format!(
                        "{}: mempool still full at the deadline",
                        sender.name
                    )));
                }
                next = index;
                tokio::time::sleep(Duration::from_millis(BACKPRESSURE_WAIT_MS)).await;
            }
            None => next = end,
        }
    }
    Ok(sender.txs.last().map(|(hash, _)| *hash))
}
