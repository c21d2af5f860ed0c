//! The client commands: each builds a request from its flags, talks to the node through
//! [`NodeClient`], and prints its answer (data on stdout, diagnostics on stderr). Amounts
//! print as coins (`12.5 BV`), in base units with `--raw`; `--json` prints one line of JSON
//! with amounts as decimal strings of base units. A command that changes state says what it
//! did in one line. Also `init`, which writes a node's bitverse.toml.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use bitverse_blocktree::{SCRIPT_SIZE_BYTES_MAX, TxPayload, role_name};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey};
use serde_json::{Value, json};

use crate::args::{
    BountyCommand, EarningsCommand, KeyspaceCommand, OutputArgs, RoleArg, WalletCommand, WriteArgs,
};
use crate::keys::{load_key, parse_address, write_key_file};
use crate::node_client::{CliError, NodeClient};
use crate::output::{Align, emit_value, table};
use crate::submit::{shown, submit_quiet};

/// Largest file `put --file` reads before the node would refuse it anyway. Values above the
/// chain's limit are refused by the node with its own message; this only bounds memory.
const PUT_FILE_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Largest script file read: WAT text is several times its binary, which the chain caps at
/// `SCRIPT_SIZE_BYTES_MAX`.
const SCRIPT_FILE_BYTES_MAX: u64 = 4 * 1024 * 1024;

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

/// Prints one line of JSON on stdout.
fn print_json(value: &Value) {
    println!("{value}");
}

/// `wallet new` and `wallet address`.
pub(crate) fn wallet(command: WalletCommand) -> Result<(), CliError> {
    match command {
        WalletCommand::New { out, json } => {
            let key = SecretKey::from_seed(&fresh_seed()?);
            write_key_file(&out, &key)?;
            if json {
                print_json(&json!({
                    "address": key.account().to_string(),
                    "key_file": out.display().to_string(),
                }));
            } else {
                println!("new key in {}: address {}", out.display(), key.account());
            }
        }
        WalletCommand::Address { key, json } => {
            let address = load_key(&key)?.account().to_string();
            if json {
                print_json(&json!({ "address": address }));
            } else {
                println!("{address}");
            }
        }
    }
    Ok(())
}

/// 32 bytes from the operating system's random source: a new key must be unguessable.
fn fresh_seed() -> Result<[u8; 32], CliError> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| failed(format!("cannot read /dev/urandom for a new key: {e}")))?;
    Ok(seed)
}

/// `balance ADDRESS`: prints the balance (coins, or base units with `--raw`).
pub(crate) async fn balance(
    client: &NodeClient,
    address: &str,
    output: &OutputArgs,
) -> Result<(), CliError> {
    let account = parse_address(address)?;
    let state = client.account(&account).await?;
    if output.json {
        print_json(&json!({
            "address": account.to_string(),
            "balance": state.balance,
            "nonce": state.nonce,
            "pending_nonce": state.pending_nonce,
        }));
    } else {
        println!("{}", shown(state.balance, output.raw));
    }
    Ok(())
}

/// `send TO AMOUNT`.
pub(crate) async fn send(
    client: &NodeClient,
    to: &str,
    amount: Amount,
    write: &WriteArgs,
) -> Result<(), CliError> {
    let to = parse_address(to)?;
    let done = Done {
        said: format!("sent {} to {to}", shown(amount, write.raw)),
        details: json!({"action": "send", "to": to.to_string(), "amount": amount}),
    };
    submit(client, write, TxPayload::Transfer { to, amount }, done).await
}

/// `stake AMOUNT --role R` and `unstake AMOUNT --role R`.
pub(crate) async fn stake(
    client: &NodeClient,
    amount: Amount,
    role: RoleArg,
    unstake: bool,
    write: &WriteArgs,
) -> Result<(), CliError> {
    let role_word = role_name(role.task_kind());
    // A storer holding shards leaves rather than unbonding at once (docs/STORAGE.md).
    let holding = if unstake && role.task_kind() == bitverse_pricing::TaskKind::Store {
        let account = crate::keys::load_key(&write.key)?.account();
        client
            .storers()
            .await?
            .iter()
            .find(|s| s.address == account)
            .map_or(0, |s| s.shards)
    } else {
        0
    };
    let (said, action, payload) = if unstake {
        (
            if holding > 0 {
                format!(
                    "unstaked {} as {role_word}: leaving; the {holding} shards placed on you are re-placed on other storers a few a block (keep your node running until then), then the stake unbonds",
                    shown(amount, write.raw)
                )
            } else {
                format!(
                    "unstaked {} as {role_word}: unbonding, back in the balance after the unbonding delay",
                    shown(amount, write.raw)
                )
            },
            "unstake",
            TxPayload::Unstake {
                amount,
                role: role.task_kind(),
            },
        )
    } else {
        (
            format!("staked {} as {role_word}", shown(amount, write.raw)),
            "stake",
            TxPayload::Stake {
                amount,
                role: role.task_kind(),
            },
        )
    };
    let done = Done {
        said,
        details: json!({"action": action, "role": role_word, "amount": amount}),
    };
    submit(client, write, payload, done).await
}

/// `ledger [NODE] [--height H]`: stakes, unbonding entries and decayed records of NODE, or of
/// the node's own account.
pub(crate) async fn ledger(
    client: &NodeClient,
    node: Option<&str>,
    height: Option<u64>,
    output: &OutputArgs,
) -> Result<(), CliError> {
    let account = miner_or_the_nodes(client, node).await?;
    let ledger = client.ledger(&account, height).await?;
    if output.json {
        print_json(&serde_json::to_value(&ledger).map_err(|e| failed(e.to_string()))?);
        return Ok(());
    }
    let stake = &ledger.stake;
    println!("{} at root height {}", stake.address, stake.height);
    println!(
        "  staked: {} as offerer, {} as relayer",
        shown(stake.offerer, output.raw),
        shown(stake.relayer, output.raw)
    );
    for entry in &stake.unbonding {
        println!(
            "  unbonding: {} as {}, released at height {}",
            shown(entry.amount, output.raw),
            entry.role,
            entry.release_height
        );
    }
    for record in &ledger.records {
        println!(
            "  {}: {} (successes {}, failures {}), failure {} ppm, reputation {} ppm, latency {} ms",
            record.role,
            if record.recorded {
                "recorded"
            } else {
                "no record, the prior"
            },
            fixed_events(record.successes),
            fixed_events(record.failures),
            record.failure_ppm,
            record.reputation_ppm,
            record.latency_ms
        );
    }
    Ok(())
}

/// A decayed event count (fixed point, one event = 10^6) as events with six decimals.
fn fixed_events(count: u64) -> String {
    let weight = bitverse_pricing::EVENT_WEIGHT;
    format!(
        "{}.{:06}",
        count.checked_div(weight).unwrap_or(0),
        count.checked_rem(weight).unwrap_or(0)
    )
}

/// `quote TRANSFORM INPUT… [--fuel F] [--height H] [--requester A]`: every staked offerer's
/// tier table.
pub(crate) async fn quote(
    client: &NodeClient,
    transform: &str,
    inputs: &[String],
    fuel_budget: u64,
    height: Option<u64>,
    requester: Option<&str>,
    output: &OutputArgs,
) -> Result<(), CliError> {
    let requester = requester.map(parse_address).transpose()?;
    let quote = client
        .quote(transform, inputs, fuel_budget, height, requester.as_ref())
        .await?;
    if output.json {
        print_json(&serde_json::to_value(&quote).map_err(|e| failed(e.to_string()))?);
        return Ok(());
    }
    println!(
        "quote for {transform} over {} at root height {}, fuel budget {}, {} relayers staked",
        quote.inputs.join(" "),
        quote.height,
        quote.fuel_budget,
        quote.relayers_staked
    );
    if quote.offers.is_empty() {
        println!("no offerer is staked at this height");
    }
    for offer in &quote.offers {
        println!(
            "offerer {} (stake {})",
            offer.offerer,
            shown(offer.stake, output.raw)
        );
        let rows = offer.tiers.iter().map(|tier| {
            vec![
                tier.hops.to_string(),
                format!(
                    "{}.{:04} %",
                    tier.reliability_ppm / 10_000,
                    tier.reliability_ppm % 10_000
                ),
                format!("{} ppm", tier.undetected_error_ppm),
                format!("{} ms", tier.latency_ms),
                shown(tier.price, output.raw),
            ]
        });
        print!(
            "{}",
            table(
                "  ",
                &[
                    ("hops", Align::Right),
                    ("reliability", Align::Right),
                    ("undetected error", Align::Right),
                    ("latency", Align::Right),
                    ("price", Align::Right),
                ],
                rows,
            )
        );
    }
    Ok(())
}

/// What a write did, for its one line and its `--json`.
struct Done {
    /// The line, without where the transaction went: `put hello/greeting (15 bytes)`.
    said: String,
    /// The JSON object's own fields (`action` and the write's arguments).
    details: Value,
}

/// `keyspace buy` and `keyspace show`.
pub(crate) async fn keyspace(
    client: &NodeClient,
    command: KeyspaceCommand,
) -> Result<(), CliError> {
    match command {
        KeyspaceCommand::Buy {
            name,
            script,
            quota,
            prepaid,
            owner,
            depth,
            write,
            ..
        } => {
            let script = script.as_deref().map(read_script).transpose()?;
            let owner = match owner {
                Some(text) => parse_address(&text)?,
                None => load_key(&write.key)?.account(),
            };
            let prepaid = match prepaid {
                Some(amount) => amount.0,
                None => {
                    let status = client.status().await?;
                    let Some(&price) = status
                        .storage_price_per_byte_by_depth
                        .get(usize::from(depth))
                    else {
                        return Err(failed(format!(
                            "depth {depth} is deeper than network {:?} allows (at most {})",
                            status.network,
                            status
                                .storage_price_per_byte_by_depth
                                .len()
                                .saturating_sub(1)
                        )));
                    };
                    price.checked_mul(u128::from(quota)).map_err(|e| {
                        failed(format!(
                            "prepaid for {quota} bytes at {price} per byte: {e}"
                        ))
                    })?
                }
            };
            let done = Done {
                said: format!(
                    "bought keyspace {name} for {owner}: quota {quota} bytes, prepaid {}, {}",
                    shown(prepaid, write.raw),
                    match &script {
                        Some(wasm) => format!("script of {} bytes", wasm.len()),
                        None => "owner-only (no script)".to_owned(),
                    }
                ),
                details: json!({
                    "action": "keyspace buy",
                    "name": name,
                    "owner": owner.to_string(),
                    "quota_bytes": quota,
                    "prepaid": prepaid,
                    "script_bytes": script.as_ref().map(Vec::len),
                }),
            };
            let payload = TxPayload::BuyKeyspace {
                name,
                owner,
                quota_bytes: quota,
                prepaid,
                script,
                depth,
            };
            submit(client, &write, payload, done).await
        }
        KeyspaceCommand::SetScript {
            name,
            script,
            write,
            ..
        } => {
            // clap makes --script and --owner-only exclusive, and one of them required.
            let script = script.as_deref().map(read_script).transpose()?;
            let done = Done {
                said: match &script {
                    Some(wasm) => format!("set keyspace {name}'s script ({} bytes)", wasm.len()),
                    None => format!("removed keyspace {name}'s script: owner-only now"),
                },
                details: json!({
                    "action": "keyspace set-script",
                    "name": name,
                    "script_bytes": script.as_ref().map(Vec::len),
                }),
            };
            let payload = TxPayload::SetScript {
                keyspace: name,
                script,
            };
            submit(client, &write, payload, done).await
        }
        KeyspaceCommand::Show { name, output, .. } => {
            let Some(record) = client.keyspace(&name).await? else {
                return Err(failed(format!("unknown keyspace {name:?}")));
            };
            if output.json {
                let value = serde_json::to_value(&record)
                    .map_err(|e| failed(format!("cannot print the keyspace as JSON: {e}")))?;
                print_json(&value);
                return Ok(());
            }
            println!("name:       {}", record.name);
            println!("owner:      {}", record.owner);
            match record.script_hash {
                Some(hash) => println!("script:     {hash}"),
                None => println!("script:     none (owner-only)"),
            }
            println!("chain:      {} (depth {})", record.chain, record.depth);
            println!("quota:      {} bytes", record.quota_bytes);
            println!("used:       {} bytes", record.used_bytes);
            println!("endowment:  {}", shown(record.endowment, output.raw));
            Ok(())
        }
    }
}

/// `put KEY (--value TEXT | --file PATH)`.
pub(crate) async fn put(
    client: &NodeClient,
    key: String,
    value: Option<String>,
    file: Option<&Path>,
    write: &WriteArgs,
) -> Result<(), CliError> {
    let value = match (value, file) {
        (Some(text), _) => text.into_bytes(),
        (None, Some(path)) => read_file_bounded(path, PUT_FILE_BYTES_MAX, "a value file")?,
        // clap requires one of them; kept total rather than trusting that from afar.
        (None, None) => return Err(failed("put needs --value TEXT or --file PATH")),
    };
    let done = Done {
        said: format!("put {key} ({} bytes)", value.len()),
        details: json!({"action": "put", "key": key, "value_bytes": value.len()}),
    };
    submit(client, write, TxPayload::Put { key, value }, done).await
}

/// Reads a whole file of at most `size_bytes_max` bytes; `what` names it in the error.
fn read_file_bounded(path: &Path, size_bytes_max: u64, what: &str) -> Result<Vec<u8>, CliError> {
    let shown = path.display();
    let size_bytes = fs::metadata(path)
        .map_err(|e| failed(format!("cannot read {shown}: {e}")))?
        .len();
    if size_bytes > size_bytes_max {
        return Err(failed(format!(
            "{shown} holds {size_bytes} bytes; {what} may be at most {size_bytes_max}"
        )));
    }
    fs::read(path).map_err(|e| failed(format!("cannot read {shown}: {e}")))
}

/// `put KEY --file FILE` for a file of any size: a value up to the value limit, a blob above.
pub(crate) async fn put_file(
    client: &NodeClient,
    key: String,
    blob_put: crate::blob::BlobPut<'_>,
    write: &WriteArgs,
) -> Result<(), CliError> {
    let path = blob_put.path;
    let size_bytes = fs::metadata(path)
        .map_err(|e| failed(format!("cannot read {}: {e}", path.display())))?
        .len();
    if size_bytes == 0 {
        return Err(failed(format!(
            "{} is empty: there is nothing to store",
            path.display()
        )));
    }
    if size_bytes > bitverse_blocktree::VALUE_SIZE_BYTES_MAX as u64 {
        return crate::blob::put_blob(client, key, blob_put, write).await;
    }
    put(client, key, None, Some(path), write).await
}

/// `delete KEY`.
pub(crate) async fn delete(
    client: &NodeClient,
    key: String,
    write: &WriteArgs,
) -> Result<(), CliError> {
    let done = Done {
        said: format!("deleted {key}"),
        details: json!({"action": "delete", "key": key}),
    };
    submit(client, write, TxPayload::Delete { key }, done).await
}

/// Reads a validation script: a `.wasm` module as it is, or a `.wat` text module compiled to
/// WebAssembly here, so script authors need no other tool. The node checks it again.
fn read_script(path: &Path) -> Result<Vec<u8>, CliError> {
    let shown = path.display();
    let is_text = match path.extension().and_then(|e| e.to_str()) {
        Some("wasm") => false,
        Some("wat") => true,
        _ => {
            return Err(failed(format!(
                "script {shown} must be a .wasm module or a .wat text module"
            )));
        }
    };
    let bytes = read_file_bounded(path, SCRIPT_FILE_BYTES_MAX, "a script file")?;
    let wasm = if is_text {
        wat::parse_bytes(&bytes)
            .map_err(|e| failed(format!("cannot compile script {shown}: {e}")))?
            .into_owned()
    } else {
        bytes
    };
    if wasm.len() > SCRIPT_SIZE_BYTES_MAX {
        return Err(failed(format!(
            "script {shown} is {} bytes of WebAssembly; a keyspace script may be at most {SCRIPT_SIZE_BYTES_MAX}",
            wasm.len()
        )));
    }
    Ok(wasm)
}

/// Signs `payload` with the next nonce, sends it, and (unless `--no-wait`) waits until it is in
/// a block; says what was done, where the transaction is and its hash, in one line (or JSON).
async fn submit(
    client: &NodeClient,
    write: &WriteArgs,
    payload: TxPayload,
    done: Done,
) -> Result<(), CliError> {
    let (hash, fee, height) = submit_quiet(client, write, payload).await?;
    if write.json {
        let mut object = done.details;
        if let Value::Object(fields) = &mut object {
            fields.insert("tx".into(), json!(hash.to_hex()));
            fields.insert("fee".into(), json!(fee));
            fields.insert(
                "status".into(),
                json!(if height.is_some() {
                    "included"
                } else {
                    "pending"
                }),
            );
            fields.insert("height".into(), json!(height));
        }
        print_json(&object);
    } else {
        let fee = shown(fee, write.raw);
        match height {
            Some(height) => println!(
                "{}; fee {fee}; included at height {height}, tx {hash}",
                done.said
            ),
            None => println!("{}; fee {fee}; pending, tx {hash}", done.said),
        }
    }
    Ok(())
}

/// `get KEY` without `--verify`: the node's word for the value.
pub(crate) async fn get(
    client: &NodeClient,
    key: &str,
    out: Option<&Path>,
) -> Result<(), CliError> {
    let answer = client.value(key).await?;
    let Some(value_hex) = answer.value_hex else {
        return Err(CliError::Absent(format!(
            "absent: key {key:?} holds no value at height {}",
            answer.height
        )));
    };
    let value = hex::decode(&value_hex)
        .map_err(|e| failed(format!("node sent a value that is not hex: {e}")))?;
    if let Some(manifest) = crate::blob::blob_manifest(client, key, &value).await? {
        let Some(out) = out else {
            return Err(failed(format!(
                "{key} holds a blob of {} bytes: name a file to write it to with --out FILE",
                manifest.size_bytes
            )));
        };
        return crate::blob::get_blob(client, key, &manifest, out).await;
    }
    emit_value(&value, out)
}

/// `get KEY --json` without `--verify`.
pub(crate) async fn get_json(client: &NodeClient, key: &str) -> Result<(), CliError> {
    let answer = client.value(key).await?;
    let Some(value_hex) = answer.value_hex else {
        return Err(CliError::Absent(format!(
            "absent: key {key:?} holds no value at height {}",
            answer.height
        )));
    };
    let value = hex::decode(&value_hex)
        .map_err(|e| failed(format!("node sent a value that is not hex: {e}")))?;
    print_json(&json!({
        "key": key,
        "value_hex": value_hex,
        "value": String::from_utf8(value).ok(),
        "height": answer.height,
        "verified": false,
    }));
    Ok(())
}

/// How often `status --wait-sync` looks at the node's sync.
const SYNC_POLL_MS: u64 = 500;

/// Waits until the node's root height reaches the best tip a peer announced and no sync runs,
/// drawing one progress line on a terminal (height of target, rate, time left).
pub(crate) async fn wait_for_sync(client: &NodeClient, timeout: Duration) -> Result<(), CliError> {
    let started = Instant::now();
    let mut first_height = None;
    let line = crate::output::progress_line(None, "{msg}");
    loop {
        let net = client.network_status().await?;
        // Without a peer's tip there is nothing to be in sync with yet: wait for one.
        let target = net.best_peer_height.unwrap_or(u64::MAX);
        if !net.enabled || (!net.syncing && net.height >= target) {
            if first_height.is_some() {
                line.finish_with_message(format!("in sync at height {}", net.height));
            }
            return Ok(());
        }
        let first = *first_height.get_or_insert(net.height);
        // Display only: floats are fine here.
        let elapsed_secs = started.elapsed().as_secs_f64();
        let done = net.height.saturating_sub(first) as f64;
        let rate = if elapsed_secs > 0.0 {
            done / elapsed_secs
        } else {
            0.0
        };
        let left = target.saturating_sub(net.height) as f64;
        let eta = if net.best_peer_height.is_none() {
            "waiting for a peer".to_owned()
        } else if rate > 0.0 {
            format!("about {:.0} s left", left / rate)
        } else {
            "time left unknown".to_owned()
        };
        let shown_target = net
            .best_peer_height
            .map_or_else(|| "?".to_owned(), |t| t.to_string());
        line.set_message(format!(
            "syncing: height {} of {shown_target} ({rate:.0} blocks/s, {eta})",
            net.height
        ));
        if started.elapsed() >= timeout {
            line.abandon();
            return Err(failed(match net.best_peer_height {
                Some(best) => format!(
                    "not in sync after {} s: height {} of {best}",
                    timeout.as_secs(),
                    net.height
                ),
                None => format!("no peer announced a tip within {} s", timeout.as_secs()),
            }));
        }
        tokio::time::sleep(Duration::from_millis(SYNC_POLL_MS)).await;
    }
}

pub(crate) async fn status(client: &NodeClient, output: &OutputArgs) -> Result<(), CliError> {
    let s = client.status().await?;
    if output.json {
        let net = client.network_status().await?;
        print_json(&json!({ "chain": s, "network": net }));
        return Ok(());
    }
    println!(
        "network:     {}{}",
        s.network,
        if s.dev { " (dev)" } else { "" }
    );
    println!("genesis:     {}", s.genesis_hash);
    println!("height:      {}", s.height);
    println!("tip:         {}", s.tip);
    println!("state root:  {}", s.state_root);
    println!("time:        {} ms", s.time_ms);
    println!("difficulty:  {}", s.difficulty);
    println!("mempool:     {} transactions", s.mempool_size);
    println!("miner:       {} (the account its blocks pay)", s.miner);
    println!(
        "storage:     {} per byte",
        shown(s.storage_price_per_byte, output.raw)
    );
    let net = client.network_status().await?;
    if !net.enabled {
        println!("p2p:         off (started without --p2p-addr)");
        return Ok(());
    }
    if let Some(peer_id) = &net.peer_id {
        println!("peer id:     {peer_id}");
    }
    for addr in &net.listen_addrs {
        println!("listening:   {addr}");
    }
    let sync = match (net.syncing, net.best_peer_height) {
        (true, Some(best)) => format!("syncing: height {} of {best}", net.height),
        (true, None) => format!("syncing: height {}", net.height),
        (false, Some(best)) if best > net.height => {
            format!("behind: height {} of {best}, sync pending", net.height)
        }
        (false, Some(_)) => format!("in sync at height {}", net.height),
        (false, None) => format!("height {}, no peer has announced a tip", net.height),
    };
    println!(
        "sync:        {sync} ({} blocks synced since start)",
        net.synced_blocks
    );
    println!("peers:       {}", net.peer_count);
    for peer in &net.peers {
        let height = peer
            .height
            .map_or_else(|| "?".to_owned(), |h| h.to_string());
        println!(
            "  {} height {height} at {}",
            peer.peer_id,
            peer.addr.as_deref().unwrap_or("?")
        );
    }
    if !net.banned_peers.is_empty() {
        println!("banned:      {}", net.banned_peers.len());
        for ban in &net.banned_peers {
            println!(
                "  {} for {} s more: {}",
                ban.peer_id,
                ban.remaining_ms / 1000,
                ban.reason
            );
        }
    }
    Ok(())
}

/// `chains [--json]`: the tree of chains the node knows, each indented under its parent,
/// with its height, the height its parent anchors, the height up to which it is final, and
/// whether the node tracks it.
pub(crate) async fn chains(client: &NodeClient, json: bool) -> Result<(), CliError> {
    let chains = client.chains().await?;
    if json {
        let value = serde_json::to_value(&chains)
            .map_err(|e| failed(format!("cannot print the chains as JSON: {e}")))?;
        print_json(&value);
        return Ok(());
    }
    let shown = |height: Option<u64>| height.map_or_else(|| "-".to_owned(), |h| h.to_string());
    let rows = chains.iter().map(|chain| {
        // A chain's depth shows as its indent: the tree of chains at a glance.
        let indent = "  ".repeat(usize::from(chain.depth));
        vec![
            format!("{indent}{}", chain.chain),
            chain.height.to_string(),
            shown(chain.anchored_height),
            shown(chain.final_height),
            chain.peers.to_string(),
            if chain.tracked { "yes" } else { "no" }.to_owned(),
        ]
    });
    print!(
        "{}",
        table(
            "",
            &[
                ("chain", Align::Left),
                ("height", Align::Right),
                ("anchored", Align::Right),
                ("final", Align::Right),
                ("peers", Align::Right),
                ("tracked", Align::Left),
            ],
            rows,
        )
    );
    Ok(())
}

/// The account `text` names, or without one the account the node's own blocks pay.
async fn miner_or_the_nodes(
    client: &NodeClient,
    text: Option<&str>,
) -> Result<AccountId, CliError> {
    match text {
        Some(text) => Ok(parse_address(text)?),
        None => Ok(client.status().await?.miner),
    }
}

/// `bounty post …` and `bounty show ID`.
pub(crate) async fn bounty(client: &NodeClient, command: BountyCommand) -> Result<(), CliError> {
    match command {
        BountyCommand::Post {
            transform,
            inputs,
            offerer,
            amount,
            hops,
            fuel,
            args,
            pin_height,
            expires_in,
            write,
            ..
        } => {
            let offerer = parse_address(&offerer)?;
            let tip = client.status().await?.height;
            let pinned_height = pin_height.unwrap_or(tip);
            // Counted from the block that includes it, at the earliest the one after the tip.
            let expiry_height = tip.saturating_add(1).saturating_add(expires_in);
            let said = format!(
                "posted a bounty of {} for {offerer} to run {transform} over {} input(s) pinned at \
                 height {pinned_height}, {hops} hop(s), expiring at height {expiry_height} \
                 (its id is the tx)",
                shown(amount.0, write.raw),
                inputs.len()
            );
            let details = json!({
                "action": "post_bounty",
                "amount": amount.0,
                "offerer": offerer,
                "transform": transform,
                "inputs": inputs,
                "hops": hops,
                "fuel_budget": fuel,
                "pinned_height": pinned_height,
                "expiry_height": expiry_height,
            });
            let payload = TxPayload::PostBounty {
                amount: amount.0,
                transform,
                inputs,
                args: args.into_bytes(),
                pinned_height,
                hops,
                offerer,
                fuel_budget: fuel,
                expiry_height,
                deep_values: Vec::new(),
                acceptance: None,
            };
            submit(client, &write, payload, Done { said, details }).await
        }
        BountyCommand::Show {
            id, height, output, ..
        } => {
            let id: Hash = id
                .parse()
                .map_err(|e| failed(format!("bounty id {id:?}: {e}")))?;
            let Some(bounty) = client.bounty(&id, height).await? else {
                return Err(failed(format!("no bounty {id} on the root")));
            };
            if output.json {
                print_json(&serde_json::to_value(&bounty).map_err(|e| failed(e.to_string()))?);
                return Ok(());
            }
            println!("bounty {} at root height {}", bounty.id, bounty.height);
            println!(
                "  {} from {} for offerer {}, {} hop(s), fuel budget {}",
                shown(bounty.amount, output.raw),
                bounty.requester,
                bounty.offerer,
                bounty.hops,
                bounty.fuel_budget
            );
            println!(
                "  posted at {}, values pinned at {}, expires at {}",
                bounty.posted_height, bounty.pinned_height, bounty.expiry_height
            );
            println!(
                "  {}",
                if bounty.accepted {
                    "accepted by the offerer: its expiry counts against the offerer's record"
                } else {
                    "not accepted by the offerer: its expiry leaves the offerer's record alone"
                }
            );
            println!(
                "  transform {} = {}",
                bounty.transform.key, bounty.transform.value_hash
            );
            for input in &bounty.inputs {
                println!("  input {} = {}", input.key, input.value_hash);
            }
            match &bounty.lineup {
                Some(lineup) => println!(
                    "  lineup drawn at {} (finder {}): {}",
                    lineup.drawn_height,
                    lineup.finder,
                    lineup
                        .relayers
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None if bounty.hops > 0 => println!("  lineup: not drawn yet"),
                None => {}
            }
            let ended = bounty
                .ended_height
                .map(|h| format!(" at height {h}"))
                .unwrap_or_default();
            let result = bounty
                .result_hash
                .map(|h| format!(", result {h}"))
                .unwrap_or_default();
            println!("  status: {}{ended}{result}", bounty.status);
            for slash in &bounty.slashed {
                println!(
                    "  slashed: {} as {}, {} burnt",
                    slash.address,
                    slash.role,
                    shown(slash.amount, output.raw)
                );
            }
            Ok(())
        }
    }
}

/// `earnings show` and `earnings claim`.
pub(crate) async fn earnings(
    client: &NodeClient,
    command: EarningsCommand,
) -> Result<(), CliError> {
    let parse_chain = |text: &str| {
        text.parse::<ChainId>()
            .map_err(|e| failed(format!("chain {text:?}: {e}")))
    };
    match command {
        EarningsCommand::Show {
            miner,
            chain,
            output,
            ..
        } => {
            let miner = miner_or_the_nodes(client, miner.as_deref()).await?;
            let chain = chain.as_deref().map(parse_chain).transpose()?;
            let lines = client.earnings(&miner, chain).await?;
            if output.json {
                let value = serde_json::to_value(&lines)
                    .map_err(|e| failed(format!("cannot print the earnings as JSON: {e}")))?;
                print_json(&value);
                return Ok(());
            }
            if lines.is_empty() {
                println!("no data chain is open on this node: nothing earned from endowments");
                return Ok(());
            }
            let rows = lines.iter().map(|line| {
                vec![
                    line.chain.to_string(),
                    shown(line.earned, output.raw),
                    line.provable
                        .map_or_else(|| "-".to_owned(), |a| shown(a, output.raw)),
                    shown(line.claimed, output.raw),
                    shown(line.claimable, output.raw),
                    shown(line.pool_held(), output.raw),
                ]
            });
            print!(
                "{}",
                table(
                    "",
                    &[
                        ("chain", Align::Left),
                        ("earned", Align::Right),
                        ("provable", Align::Right),
                        ("claimed", Align::Right),
                        ("claimable", Align::Right),
                        ("pool holds", Align::Right),
                    ],
                    rows,
                )
            );
            Ok(())
        }
        EarningsCommand::Claim {
            chain,
            miner,
            write,
            ..
        } => {
            let miner = miner_or_the_nodes(client, miner.as_deref()).await?;
            let chain = parse_chain(&chain)?;
            let line = client
                .earnings(&miner, Some(chain))
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| failed(format!("the node says nothing of chain {chain}")))?;
            if line.claimable == Amount::ZERO {
                return Err(CliError::Refused {
                    code: bitverse_blocktree::codes::NOTHING_TO_CLAIM,
                    message: format!(
                        "nothing to claim for {miner} on chain {chain}: {} provable, {} paid already",
                        line.provable
                            .map_or_else(|| "nothing".to_owned(), |a| shown(a, write.raw)),
                        shown(line.claimed, write.raw)
                    ),
                });
            }
            let answer = client.earnings_proof(&miner, chain).await?;
            let bytes = hex::decode(&answer.proof)
                .map_err(|e| failed(format!("the node's proof is not hex: {e}")))?;
            let proof = bitverse_blocktree::EarningsProof::from_bytes(&bytes)
                .map_err(|e| failed(format!("the node's proof does not decode: {e}")))?;
            // Checked here too, so a bad node costs no fee: all but the anchoring, which
            // the root checks against its own record.
            proof
                .verify()
                .map_err(|e| failed(format!("the node's proof does not check: {e}")))?;
            if proof.miner != miner || proof.chain != chain {
                return Err(failed("the node's proof is for another miner or chain"));
            }
            // What the root will pay, unless another claim for the miner lands first.
            let held = line.pool_held();
            let amount = Amount(proof.earned.0.saturating_sub(line.claimed.0)).min(held);
            let done = Done {
                said: format!(
                    "claimed {} for {miner} from chain {chain}'s endowment pool",
                    shown(amount, write.raw)
                ),
                details: json!({
                    "action": "claim",
                    "chain": chain.to_string(),
                    "miner": miner.to_string(),
                    "earned": proof.earned,
                    "claimed_before": line.claimed,
                    "amount": amount,
                }),
            };
            submit(
                client,
                &write,
                TxPayload::ClaimMinerReward {
                    proof: Box::new(proof),
                },
                done,
            )
            .await
        }
    }
}

/// `browse [--search TEXT] [--limit N] [--json]`: the node's browse lists, one table each.
pub(crate) async fn browse(
    client: &NodeClient,
    search: Option<&str>,
    limit: usize,
    json: bool,
) -> Result<(), CliError> {
    let lists = client.browse(search, limit).await?;
    if json {
        let value = serde_json::to_value(&lists)
            .map_err(|e| failed(format!("cannot print the browse lists as JSON: {e}")))?;
        print_json(&value);
        return Ok(());
    }
    let heights = lists
        .indexed
        .iter()
        .map(|c| format!("{} at {}", c.chain, c.height))
        .collect::<Vec<_>>()
        .join(", ");
    println!("indexed: {heights}");
    println!();
    println!("keyspaces ({})", lists.keyspaces.len());
    if !lists.keyspaces.is_empty() {
        let rows = lists.keyspaces.iter().map(|k| {
            vec![
                k.name.to_string(),
                k.chain.to_string(),
                k.depth.to_string(),
                bytes_text(k.size_bytes),
                bytes_text(k.quota_bytes),
                k.script_hash
                    .map_or_else(|| "owner-only".to_owned(), |h| short_hash(&h)),
                k.last_write_height
                    .map_or_else(|| "-".to_owned(), |h| h.to_string()),
                k.owner.to_string(),
            ]
        });
        print!(
            "{}",
            table(
                "  ",
                &[
                    ("name", Align::Left),
                    ("chain", Align::Left),
                    ("depth", Align::Right),
                    ("size", Align::Right),
                    ("quota", Align::Right),
                    ("script", Align::Left),
                    ("last write", Align::Right),
                    ("owner", Align::Left),
                ],
                rows,
            )
        );
    }
    println!();
    println!("transformations ({})", lists.transformations.len());
    if !lists.transformations.is_empty() {
        let rows = lists.transformations.iter().map(|t| {
            vec![
                t.key.to_string(),
                bytes_text(t.size_bytes),
                short_hash(&t.module_hash),
                t.chain.to_string(),
                t.height.to_string(),
            ]
        });
        print!(
            "{}",
            table(
                "  ",
                &[
                    ("key", Align::Left),
                    ("size", Align::Right),
                    ("module", Align::Left),
                    ("chain", Align::Left),
                    ("height", Align::Right),
                ],
                rows,
            )
        );
    }
    println!();
    println!("most read ({})", lists.most_read.len());
    if !lists.most_read.is_empty() {
        let rows = lists
            .most_read
            .iter()
            .map(|r| vec![r.key.to_string(), r.count.to_string()]);
        print!(
            "{}",
            table("  ", &[("key", Align::Left), ("reads", Align::Right)], rows)
        );
    }
    println!();
    println!("most written ({})", lists.most_written.len());
    if !lists.most_written.is_empty() {
        let rows = lists.most_written.iter().map(|w| {
            vec![
                w.key.to_string(),
                w.count.to_string(),
                w.chain.to_string(),
                w.last_write_height.to_string(),
            ]
        });
        print!(
            "{}",
            table(
                "  ",
                &[
                    ("key", Align::Left),
                    ("writes", Align::Right),
                    ("chain", Align::Left),
                    ("last write", Align::Right),
                ],
                rows,
            )
        );
    }
    Ok(())
}

/// A hash cut to its first 12 hex digits, as a table has room for.
fn short_hash(hash: &Hash) -> String {
    hash.to_hex().chars().take(12).collect()
}

/// A byte count as people read it: `512 B`, `1.5 KiB`, `12.0 MiB` (one decimal, rounded down).
pub(crate) fn bytes_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut scaled_tenths = u128::from(bytes) * 10 / 1024;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if scaled_tenths < 1024 * 10 {
            break;
        }
        scaled_tenths /= 1024;
        unit = next;
    }
    format!("{}.{} {unit}", scaled_tenths / 10, scaled_tenths % 10)
}

/// `request …`: runs the market request, showing each step on stderr (or as JSON lines on
/// stdout with `--json`), and writes the verified, settled result to `out`.
pub(crate) async fn request(
    client: &NodeClient,
    key: &str,
    options: &crate::request::RequestOptions,
    out: &Path,
    force: bool,
    json_lines: bool,
) -> Result<(), CliError> {
    let key = load_key(key)?;
    if out.exists() && !force {
        return Err(failed(format!(
            "{} exists; pass --force to replace it",
            out.display()
        )));
    }
    let outcome = crate::request::run(client, &key, options, |progress| {
        if json_lines {
            print_json(&json!({"progress": progress}));
        } else {
            eprintln!(
                "[{:>6.1} s] {:<8} {}",
                progress.elapsed_ms as f64 / 1000.0,
                progress.step,
                progress.said
            );
        }
    })
    .await?;
    // Through a temporary file and a rename: a reader never sees half a result.
    let temporary = out.with_extension("partial");
    fs::write(&temporary, &outcome.result)
        .and_then(|()| fs::rename(&temporary, out))
        .map_err(|e| failed(format!("cannot write {}: {e}", out.display())))?;
    if json_lines {
        let mut value = serde_json::to_value(&outcome).map_err(|e| failed(e.to_string()))?;
        value["out"] = json!(out.display().to_string());
        value["size_bytes"] = json!(outcome.result.len());
        print_json(&json!({"outcome": value}));
    } else {
        println!(
            "wrote {} bytes to {} (bounty {}, tier {}, {} base units, result {})",
            outcome.result.len(),
            out.display(),
            outcome.bounty,
            outcome.lineup.len(),
            outcome.price,
            outcome.result_hash
        );
    }
    Ok(())
}

#[cfg(test)]
mod browse_tests {
    use super::bytes_text;

    #[test]
    fn byte_counts_print_in_binary_units_with_one_decimal() {
        assert_eq!(bytes_text(0), "0 B");
        assert_eq!(bytes_text(1023), "1023 B");
        assert_eq!(bytes_text(1024), "1.0 KiB");
        assert_eq!(bytes_text(1536), "1.5 KiB");
        assert_eq!(bytes_text(10 * 1024 * 1024), "10.0 MiB");
        assert_eq!(bytes_text(u64::MAX), "16777215.9 TiB");
    }
}
