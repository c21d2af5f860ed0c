//! `bitverse bench propagation` and `bitverse bench sync`: the network's two figures, measured
//! on real node processes on loopback. Propagation: how long a mined block takes to be imported
//! by every other node of a network. Sync: how fast a new node catches up with a long chain.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bitverse_blocktree::{ChainParams, TxPayload, UnsignedTx};
use bitverse_primitives::{Amount, ChainId, SecretKey};

use bitverse_client::NodeClient;
use bitverse_node::tools::{PropagationOptions, SyncOptions};

use crate::devnet::{DevnetNode, NodeLaunch, NodeNetwork, Nodes, log_tail, start_node};

/// What the miner logs for each block it mines (node.rs), with `hash=`.
const LOG_MINED: &str = "mined block";
/// What a node logs for a gossiped block it imported as its new tip (p2p/worker.rs).
const LOG_IMPORTED_GOSSIP: &str = "imported gossiped block as new tip";
/// How often the benches ask the nodes for their height.
const POLL_MS: u64 = 10;
/// How long nodes may take to connect and agree before measuring starts.
const SETTLE_TIMEOUT_MS: u64 = 120_000;
/// How long one block may take to be mined and reach every node, on average, before the
/// propagation bench gives up.
const BLOCK_TIMEOUT_MS: u64 = 60_000;
/// How long the sync bench waits for the new node.
const SYNC_TIMEOUT_MS: u64 = 1_800_000;
/// Bytes per value in the sync bench's blocks.
const SYNC_VALUE_BYTES: usize = 200;

/// The directory the bench works in: the one asked for, or a temporary one removed at the end.
pub(crate) fn work_dir(dir: Option<&Path>) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match dir {
        Some(dir) => {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            Ok((dir.to_owned(), None))
        }
        None => {
            let temp = tempfile::tempdir().context("cannot create a temporary directory")?;
            Ok((temp.path().to_owned(), Some(temp)))
        }
    }
}

/// One RPC client per node, made once: the benches poll every few milliseconds.
pub(crate) fn clients(nodes: &[DevnetNode]) -> anyhow::Result<Vec<NodeClient>> {
    nodes
        .iter()
        .map(|node| {
            NodeClient::new(&node.rpc_url).map_err(|e| anyhow::anyhow!("{}: {e}", node.name))
        })
        .collect()
}

/// Waits until `done` holds for the heights of all nodes, or fails after `timeout_ms`.
async fn wait_heights(
    clients: &[NodeClient],
    timeout_ms: u64,
    what: &str,
    done: impl Fn(&[u64]) -> bool,
) -> anyhow::Result<Vec<u64>> {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    loop {
        let mut heights = Vec::with_capacity(clients.len());
        for client in clients {
            heights.push(client.status().await.map_or(0, |s| s.height));
        }
        if done(&heights) {
            return Ok(heights);
        }
        if Instant::now() >= deadline {
            bail!("timed out waiting for {what}; heights {heights:?}");
        }
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
}

/// `bench propagation`: one miner and N-1 followers joined as a binary tree (node i dials node
/// (i-1)/2, so blocks cross several hops unless discovery adds shortcuts), then the delay from
/// "mined" in the miner's log to "imported" in each follower's log, for every block.
pub(crate) async fn propagation(options: PropagationOptions) -> anyhow::Result<()> {
    if options.nodes < 2 {
        bail!("--nodes must be at least 2: one miner and a follower");
    }
    let (dir, _temp) = work_dir(options.dir.as_deref())?;
    let exe = crate::bitverse_exe()?;
    let mut nodes = Nodes::default();
    for index in 0..options.nodes {
        let parent = index.saturating_sub(1) / 2;
        let launch = NodeLaunch {
            network: NodeNetwork::Local,
            mine: index == 0,
            track_all: false,
            bootstrap: nodes
                .0
                .get(parent)
                .map(|p| p.p2p_addr.clone())
                .into_iter()
                .collect(),
            log_level: Some("info"),
            market: None,
            store: false,
        };
        let data_dir = dir.join(format!("node-{index}"));
        let node = tokio::task::block_in_place(|| start_node(&exe, &data_dir, &launch))?;
        nodes.0.push(node);
    }
    eprintln!(
        "bench: {} nodes started; waiting for them to connect",
        nodes.0.len()
    );
    let clients = clients(&nodes.0)?;
    let deadline = Instant::now() + Duration::from_millis(SETTLE_TIMEOUT_MS);
    for (node, client) in nodes.0.iter().zip(&clients) {
        while client.status().await.map_or(0, |s| s.peers) == 0 {
            if Instant::now() >= deadline {
                bail!(
                    "{} found no peer; log:\n{}",
                    node.name,
                    log_tail(&node.data_dir.join("node.log"))
                );
            }
            tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
        }
    }
    // Start counting once everyone follows the miner, so start-up sync is not measured.
    let settled = wait_heights(&clients, SETTLE_TIMEOUT_MS, "the nodes to agree", |h| {
        h.first()
            .is_some_and(|&m| m >= 1 && h.iter().all(|&x| x == m))
    })
    .await?;
    let from_height = settled.first().copied().unwrap_or(0);
    let to_height = from_height + options.blocks;
    eprintln!("bench: measuring blocks {}..={to_height}", from_height + 1);
    let started = Instant::now();
    wait_heights(
        &clients,
        BLOCK_TIMEOUT_MS.saturating_mul(options.blocks),
        "the measured blocks",
        |h| h.iter().all(|&x| x >= to_height),
    )
    .await?;
    let elapsed = started.elapsed();

    let miner_log = fs::read_to_string(nodes.0[0].data_dir.join("node.log"))?;
    let mined: HashMap<String, (u64, i64)> = log_events(&miner_log, LOG_MINED)
        .into_iter()
        .filter(|(_, height, _)| *height > from_height && *height <= to_height)
        .map(|(hash, height, at)| (hash, (height, at)))
        .collect();
    let mut latencies_us = Vec::new();
    let mut missed = 0u64;
    for node in &nodes.0[1..] {
        let log = fs::read_to_string(node.data_dir.join("node.log"))?;
        let imported: HashMap<String, i64> = log_events(&log, LOG_IMPORTED_GOSSIP)
            .into_iter()
            .map(|(hash, _, at)| (hash, at))
            .collect();
        for (hash, (_, mined_at)) in &mined {
            match imported.get(hash) {
                Some(at) => latencies_us.push(at - mined_at),
                // Reached the node by sync, or lost to a reorg: not a propagation sample.
                None => missed += 1,
            }
        }
    }
    if latencies_us.is_empty() {
        bail!("no block was imported from gossip: nothing to measure");
    }
    latencies_us.sort_unstable();
    let pick = |per_mille: usize| latencies_us[(latencies_us.len() - 1) * per_mille / 1000];
    let (p50, p99, max) = (pick(500), pick(990), pick(1000));
    let ms = |us: i64| us as f64 / 1000.0;
    if options.json {
        println!(
            "{}",
            serde_json::json!({
                "nodes": options.nodes, "blocks": mined.len(), "samples": latencies_us.len(),
                "not_from_gossip": missed, "p50_ms": ms(p50), "p99_ms": ms(p99),
                "max_ms": ms(max), "elapsed_s": elapsed.as_secs_f64(),
            })
        );
    } else {
        println!(
            "{} blocks mined on node-0 reached {} other nodes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
             ({} samples, {missed} block arrivals by sync instead of gossip, {:.0} s)",
            mined.len(),
            options.nodes - 1,
            ms(p50),
            ms(p99),
            ms(max),
            latencies_us.len(),
            elapsed.as_secs_f64()
        );
    }
    Ok(())
}

/// `(hash, height, time in µs since the epoch)` of every log line with `message`.
fn log_events(log: &str, message: &str) -> Vec<(String, u64, i64)> {
    log.lines()
        .filter(|line| line.contains(message))
        .filter_map(|line| {
            let at = parse_log_time_us(line.split_whitespace().next()?)?;
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|token| token.strip_prefix(name))
                    .map(str::to_owned)
            };
            let hash = field("hash=")?;
            let height = field("height=")?.parse().ok()?;
            Some((hash, height, at))
        })
        .collect()
}

/// Microseconds since the Unix epoch of a log timestamp `YYYY-MM-DDTHH:MM:SS.ffffffZ` (what
/// `tracing_subscriber`'s default formatter writes, in UTC).
fn parse_log_time_us(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (
        date_parts.next()??,
        date_parts.next()??,
        date_parts.next()??,
    );
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut hms_parts = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (hms_parts.next()??, hms_parts.next()??, hms_parts.next()??);
    // The fraction to exactly six digits: microseconds.
    let micros: i64 = format!("{fraction:0<6}").get(..6)?.parse().ok()?;
    let days = days_from_civil(year, month, day);
    Some((((days * 24 + hour) * 60 + minute) * 60 + second) * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `bench sync`: builds a `local` chain of BLOCKS blocks of TXS signed puts each with the
/// blocktree, serves it from one node, and times a new node catching up from it.
pub(crate) async fn sync(options: SyncOptions) -> anyhow::Result<()> {
    let (dir, _temp) = work_dir(options.dir.as_deref())?;
    let source_dir = dir.join("source");
    let fresh_dir = dir.join("fresh");
    for old in [&source_dir, &fresh_dir] {
        if old.exists() {
            fs::remove_dir_all(old).with_context(|| format!("cannot clear {}", old.display()))?;
        }
    }
    eprintln!(
        "bench: building a chain of {} blocks × {} puts …",
        options.blocks, options.txs_per_block
    );
    let db_dir = source_dir.join("chain");
    let (blocks, txs_per_block) = (options.blocks, options.txs_per_block);
    let chain_bytes =
        tokio::task::spawn_blocking(move || build_chain(&db_dir, blocks, txs_per_block)).await??;

    let exe = crate::bitverse_exe()?;
    let mut nodes = Nodes::default();
    let source_launch = NodeLaunch {
        network: NodeNetwork::Local,
        mine: false,
        track_all: false,
        bootstrap: Vec::new(),
        log_level: Some("info"),
        market: None,
        store: false,
    };
    let source = tokio::task::block_in_place(|| start_node(&exe, &source_dir, &source_launch))?;
    let fresh_launch = NodeLaunch {
        network: NodeNetwork::Local,
        track_all: false,
        mine: false,
        bootstrap: vec![source.p2p_addr.clone()],
        log_level: Some("info"),
        market: None,
        store: false,
    };
    nodes.0.push(source);
    eprintln!("bench: starting the new node");
    let started = Instant::now();
    let fresh = tokio::task::block_in_place(|| start_node(&exe, &fresh_dir, &fresh_launch))?;
    nodes.0.push(fresh);
    let fresh = clients(&nodes.0[1..])?;
    wait_heights(&fresh, SYNC_TIMEOUT_MS, "the new node to sync", |h| {
        h.iter().all(|&x| x >= blocks)
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let blocks_per_s = blocks as f64 / seconds;
    let mb_per_s = chain_bytes as f64 / seconds / 1e6;
    if options.json {
        println!(
            "{}",
            serde_json::json!({
                "blocks": blocks, "txs_per_block": txs_per_block, "chain_bytes": chain_bytes,
                "seconds": seconds, "blocks_per_s": blocks_per_s, "mb_per_s": mb_per_s,
            })
        );
    } else {
        println!(
            "a new node synced {blocks} blocks ({:.1} MB, {txs_per_block} puts each) in {seconds:.1} s, \
             from process start: {blocks_per_s:.0} blocks/s, {mb_per_s:.2} MB/s",
            chain_bytes as f64 / 1e6
        );
    }
    Ok(())
}

/// Builds the sync bench's chain in `db_dir` and returns the encoded size of its blocks. Block
/// times are spaced four target intervals apart in the past, so retargeting brings the
/// difficulty to its minimum and building costs little hashing.
fn build_chain(db_dir: &Path, blocks: u64, txs_per_block: usize) -> anyhow::Result<u64> {
    let params = ChainParams::local();
    let spacing_ms = params.root.block_interval_target_ms * 4;
    let start_ms = params.genesis_time_ms;
    let quota_bytes = (blocks * txs_per_block as u64 + 1) * (SYNC_VALUE_BYTES as u64 + 32);
    let prepaid = params
        .root
        .storage_price_per_byte
        .checked_mul(u128::from(quota_bytes))?;
    let mut chain = bitverse_store_rocks::open_chain(db_dir, params)?;
    let writer = SecretKey::dev("alice");
    let miner = SecretKey::dev("miner").account();
    let mut nonce = 0u64;
    let mut sign = |payload| {
        let tx = UnsignedTx {
            chain: ChainId::ROOT,
            sender: writer.account(),
            nonce,
            fee: Amount(1),
            payload,
        }
        .sign(&writer);
        nonce += 1;
        tx
    };
    chain.submit_transaction(sign(TxPayload::BuyKeyspace {
        name: "bench".into(),
        owner: writer.account(),
        quota_bytes,
        prepaid,
        script: None,
        depth: 0,
    }))?;
    let mut chain_bytes = 0u64;
    let mut put_index = 0u64;
    for height in 1..=blocks {
        // The first block carries the keyspace purchase alone.
        let puts = if height == 1 { 0 } else { txs_per_block };
        for _ in 0..puts {
            let value = vec![(put_index % 251) as u8; SYNC_VALUE_BYTES];
            chain.submit_transaction(sign(TxPayload::Put {
                key: format!("bench/{put_index}"),
                value,
            }))?;
            put_index += 1;
        }
        let block = chain
            .produce_block(miner, start_ms + height * spacing_ms, true, u64::MAX)?
            .context("unbounded nonce attempts always seal")?;
        chain_bytes += bitverse_primitives::codec::encode(&block).len() as u64;
        if height % 100 == 0 {
            eprintln!("bench: built {height}/{blocks} blocks");
        }
    }
    Ok(chain_bytes)
}
