//! `bitverse bench flood`: the end-to-end check of issue 18 §6, "a flooder is disconnected and
//! honest latency stays within 2× while it tries". Honest `--dev`-style node processes on
//! loopback (one sealing at once, the others following it) carry a steady stream of honest
//! transfers, sent over RPC to one node and waited for on another, before, during and after a
//! flood; the flooder is a real libp2p swarm in this process (`bitverse_p2p::flood`, built as
//! the node builds its own), which joins every node's root topics and sends well-formed but
//! useless gossip (orphan blocks, transfers from keys that hold nothing) and invalid messages
//! as fast as asked, coming back under a fresh identity whenever a node drops it.
//!
//! It reports the honest latency per phase (p50, p99) and the ratio of the flood's p50 to the
//! baseline's, what the flooder did (messages, identities tried, admitted and dropped, how long
//! each stayed connected, the CPU its thread used), and what the nodes saw (bans and their
//! reasons, refused identities, gossip verdicts, their own CPU). It fails when the flood's p50
//! is over twice the baseline's, or when no node ever dropped the flooder.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bitverse_blocktree::block::tx_root;
use bitverse_blocktree::{Block, BlockHeader, MergedWork, TxPayload, UnsignedTx};
use bitverse_client::NodeClient;
use bitverse_node::tools::FloodBenchOptions;
use bitverse_p2p::P2pAddr;
use bitverse_p2p::flood::{
    FloodCounters, FloodMessage, FloodPlan, FloodReport, FloodTopic, IdentityEnd, MakeMessage,
};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey};
use bitverse_rpc_api::TxStatusName;

use crate::bench_network::{clients, work_dir};
use crate::devnet::{DevnetNode, NodeLaunch, NodeNetwork, Nodes, log_tail, start_node};

/// The bound of issue 18 §6: the flood's p50 at most this many times the baseline's.
const LATENCY_RATIO_BOUND: f64 = 2.0;
/// How long the nodes may take to connect to each other.
const CONNECT_TIMEOUT_MS: u64 = 60_000;
/// How often the nodes' peer counts are read while they connect.
const CONNECT_POLL_MS: u64 = 20;
/// How long one honest write may take from RPC to inclusion on the other node; a write that
/// takes longer is counted at this latency and the stream goes on.
const INCLUSION_TIMEOUT_MS: u64 = 30_000;
/// How often the writer asks whether its write is in a block.
const INCLUSION_POLL_MS: u64 = 5;
/// How often a progress line is printed.
const PROGRESS_EVERY_MS: u64 = 5_000;
/// How long the flooder's thread may overrun its duration before the bench gives up on it.
const FLOODER_JOIN_GRACE_MS: u64 = 30_000;
/// Linux's USER_HZ: the unit of the CPU times in `/proc/*/stat` on every architecture.
const USER_HZ: u64 = 100;
/// Nonces tried for an orphan's header at most (the dev network's difficulty is 1: any nonce).
const ORPHAN_NONCE_ATTEMPTS_MAX: u64 = 1 << 20;
/// Bytes of a `/metrics` answer read at most.
const METRICS_BYTES_MAX: u64 = 4 * 1024 * 1024;
/// How long a `/metrics` scrape may take.
const METRICS_TIMEOUT_MS: u64 = 5_000;
/// The fee of every honest transfer.
const HONEST_FEE: Amount = Amount(1);
/// The kinds of flood message, as `--kinds` names them.
pub(crate) const FLOOD_KINDS: [&str; 3] = ["orphan", "unfunded", "invalid"];

/// The phases the honest writes are counted in.
const PHASE_NAMES: [&str; 3] = ["baseline", "flood", "after"];

/// What the honest nodes' processes and the bench's own used, read at a phase boundary.
#[derive(Clone, Debug, Default)]
struct Reading {
    /// CPU ms of each node process since it started.
    node_cpu_ms: Vec<u64>,
    /// CPU ms of this process (the flooder's thread, the writer, the bench).
    bench_cpu_ms: u64,
    /// Each node's gossip verdict counts, `kind/verdict` → count.
    gossip: Vec<BTreeMap<String, u64>>,
    /// When it was read.
    at: Option<Instant>,
}

/// Runs the bench: start the nodes, measure the baseline, flood, measure after, report.
pub(crate) async fn run(options: FloodBenchOptions) -> anyhow::Result<()> {
    if !(2..=3).contains(&options.nodes) {
        bail!("--nodes must be 2 or 3, not {}", options.nodes);
    }
    let kinds: Vec<&'static str> = options
        .kinds
        .iter()
        .map(|kind| {
            FLOOD_KINDS
                .iter()
                .find(|k| *k == kind)
                .copied()
                .ok_or_else(|| anyhow!("unknown --kinds {kind}: one of {FLOOD_KINDS:?}"))
        })
        .collect::<anyhow::Result<_>>()?;
    if kinds.is_empty() {
        bail!("--kinds names no kind of message");
    }
    let (dir, temp) = work_dir(options.dir.as_deref())?;
    let nodes = start_nodes(&dir, options.nodes)?;
    let outcome = measure(&nodes, &options, kinds).await;
    tokio::task::block_in_place(|| drop(nodes));
    if outcome.is_err() {
        // The logs tell what happened: keep them.
        if let Some(temp) = temp {
            let kept = temp.keep();
            eprintln!(
                "bench flood: the nodes' data and logs are kept in {}",
                kept.display()
            );
        }
    }
    outcome
}

/// Starts the sealer (`--dev`) and the followers (`--network dev`), each follower dialing
/// every node started before it.
fn start_nodes(dir: &Path, count: usize) -> anyhow::Result<Nodes> {
    let exe = crate::bitverse_exe()?;
    let mut nodes = Nodes::default();
    for index in 0..count {
        let name = if index == 0 {
            "sealer".to_owned()
        } else {
            format!("follower-{index}")
        };
        let data_dir = dir.join(&name);
        if data_dir.exists() {
            fs::remove_dir_all(&data_dir)
                .with_context(|| format!("cannot clear {}", data_dir.display()))?;
        }
        let launch = NodeLaunch {
            network: if index == 0 {
                NodeNetwork::DevSealer
            } else {
                NodeNetwork::DevFollower
            },
            mine: false,
            track_all: false,
            bootstrap: nodes.0.iter().map(|n| n.p2p_addr.clone()).collect(),
            log_level: Some("info"),
            market: None,
            store: false,
        };
        let node = tokio::task::block_in_place(|| start_node(&exe, &data_dir, &launch))?;
        nodes.0.push(node);
    }
    Ok(nodes)
}

/// Everything between the nodes' start and their stop.
async fn measure(
    nodes: &Nodes,
    options: &FloodBenchOptions,
    kinds: Vec<&'static str>,
) -> anyhow::Result<()> {
    let nodes = &nodes.0;
    let clients = clients(nodes)?;
    wait_connected(nodes, &clients).await?;
    // Writes go in at the first follower (or the sealer, with two nodes) and are waited for
    // on the last node: a transaction's gossip, the sealing, a block's gossip.
    let send_to = nodes.len().saturating_sub(2).min(1);
    let seen_on = nodes.len() - 1;
    let status = clients[0].status().await?;
    eprintln!(
        "bench flood: {} nodes on loopback (the sealer and {} followers); honest transfers \
         sent to {} and waited for on {}",
        nodes.len(),
        nodes.len() - 1,
        nodes[send_to].name,
        nodes[seen_on].name
    );
    let writer = Writer::new(&nodes[send_to].rpc_url, &nodes[seen_on].rpc_url)?;
    // One write through the whole path before measuring: the nodes' meshes are formed.
    writer.write_one().await.context("the first honest write")?;
    let samples: Arc<Mutex<Vec<(u8, f64)>>> = Arc::new(Mutex::new(Vec::new()));
    let phase = Arc::new(AtomicU8::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writing = tokio::spawn(writer.stream(
        options.writes_per_s,
        phase.clone(),
        samples.clone(),
        stop.clone(),
    ));

    let mut readings = vec![read_all(nodes).await];
    progress_for(0, options.baseline_s, &samples, None).await;
    readings.push(read_all(nodes).await);

    // The flood, on a thread of its own with a one-thread runtime: its CPU is measured apart,
    // and it can use one core at most, as one flooding process would.
    phase.store(1, Ordering::SeqCst);
    let plan = FloodPlan {
        genesis: status.genesis_hash,
        targets: nodes
            .iter()
            .map(|node| node.p2p_addr.parse::<P2pAddr>())
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow!("a node's p2p address: {e}"))?,
        kinds,
        make: message_maker(status.height, status.difficulty),
        messages_per_s: options.rate_per_s,
        duration_ms: options.flood_s.saturating_mul(1000),
    };
    let counters = Arc::new(FloodCounters::default());
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let thread_counters = counters.clone();
    let flooder = std::thread::Builder::new()
        .name("flooder".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("the flooder's runtime")
                .and_then(|runtime| {
                    runtime.block_on(bitverse_p2p::flood::flood(plan, thread_counters))
                });
            let cpu_ms = cpu_ms_of(Path::new("/proc/thread-self/stat")).unwrap_or(0);
            let _ = done_tx.send((result, cpu_ms));
        })
        .context("cannot start the flooder's thread")?;
    progress_for(1, options.flood_s, &samples, Some(&counters)).await;
    let waited = tokio::time::timeout(Duration::from_millis(FLOODER_JOIN_GRACE_MS), done_rx).await;
    let (flood_result, flooder_cpu_ms) = match waited {
        Ok(Ok(done)) => done,
        Ok(Err(_)) => bail!("the flooder's thread ended without a report"),
        Err(_) => bail!("the flooder did not stop within its duration"),
    };
    let _ = tokio::task::block_in_place(|| flooder.join());
    let flood = flood_result.context("the flooder")?;
    readings.push(read_all(nodes).await);
    let statuses_after_flood = network_statuses(&clients).await;

    phase.store(2, Ordering::SeqCst);
    progress_for(2, options.after_s, &samples, None).await;
    stop.store(true, Ordering::SeqCst);
    readings.push(read_all(nodes).await);
    match writing.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.context("the honest writes")),
        Err(e) => bail!("the honest writer failed: {e}"),
    }

    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(PoisonError::into_inner));
    let report = Report::new(
        nodes,
        options,
        &samples,
        &readings,
        &flood,
        flooder_cpu_ms,
        &statuses_after_flood,
    );
    report.print(options.json);
    if !report.flooder_dropped {
        bail!(
            "no node ever dropped the flooder: {} identities tried, {} messages sent",
            flood.identities.len(),
            report.sent
        );
    }
    if !report.within_bound {
        bail!(
            "the honest p50 during the flood, {:.1} ms, is {:.2}× the baseline's {:.1} ms: \
             over the bound of {LATENCY_RATIO_BOUND}×",
            report.phases[1].p50_ms,
            report.ratio,
            report.phases[0].p50_ms
        );
    }
    Ok(())
}

/// Waits until every node has a peer and the sealer has them all.
async fn wait_connected(nodes: &[DevnetNode], clients: &[NodeClient]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_millis(CONNECT_TIMEOUT_MS);
    loop {
        let mut peers = Vec::with_capacity(clients.len());
        for client in clients {
            peers.push(client.status().await.map_or(0, |s| s.peers));
        }
        let others = nodes.len() - 1;
        if peers.first() == Some(&others) && peers.iter().all(|&p| p >= 1) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let logs: Vec<String> = nodes
                .iter()
                .map(|n| format!("{}:\n{}", n.name, log_tail(&n.data_dir.join("node.log"))))
                .collect();
            bail!(
                "the nodes did not connect within {} s (peers {peers:?}); {}",
                CONNECT_TIMEOUT_MS / 1000,
                logs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(CONNECT_POLL_MS)).await;
    }
}

/// Waits out one phase of `seconds`, printing a progress line every few seconds.
async fn progress_for(
    phase: usize,
    seconds: u64,
    samples: &Mutex<Vec<(u8, f64)>>,
    counters: Option<&FloodCounters>,
) {
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let name = PHASE_NAMES.get(phase).copied().unwrap_or("?");
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let next = (now + Duration::from_millis(PROGRESS_EVERY_MS)).min(end);
        tokio::time::sleep_until(next.into()).await;
        let latencies: Vec<f64> = samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(p, _)| usize::from(*p) == phase)
            .map(|(_, ms)| *ms)
            .collect();
        let stats = Stats::of(&latencies);
        let flood = counters.map_or_else(String::new, |c| {
            format!(
                "; flooder: {} messages, {} identities, {} dropped",
                c.sent(),
                c.identities(),
                c.dropped()
            )
        });
        eprintln!(
            "bench flood: {name} {:.0}/{seconds} s: {} honest writes, p50 {:.1} ms{flood}",
            started.elapsed().as_secs_f64().min(seconds as f64),
            stats.samples,
            stats.p50_ms
        );
    }
}

/// The honest writer: transfers dev:bob → dev:carol sent to one node, waited for on another.
struct Writer {
    send_to: NodeClient,
    seen_on: NodeClient,
    bob: SecretKey,
    carol: AccountId,
    nonce: Mutex<Option<u64>>,
}

impl Writer {
    fn new(send_to: &str, seen_on: &str) -> anyhow::Result<Writer> {
        Ok(Writer {
            send_to: NodeClient::new(send_to)?,
            seen_on: NodeClient::new(seen_on)?,
            bob: SecretKey::dev("bob"),
            carol: SecretKey::dev("carol").account(),
            nonce: Mutex::new(None),
        })
    }

    /// Sends one transfer and waits until the other node has it in a block; its latency in ms.
    async fn write_one(&self) -> anyhow::Result<f64> {
        let known = *self.nonce.lock().unwrap_or_else(PoisonError::into_inner);
        let nonce = match known {
            Some(nonce) => nonce,
            None => {
                self.send_to
                    .account(&self.bob.account())
                    .await?
                    .pending_nonce
            }
        };
        let tx = UnsignedTx {
            chain: ChainId::ROOT,
            sender: self.bob.account(),
            nonce,
            fee: HONEST_FEE,
            payload: TxPayload::Transfer {
                to: self.carol,
                amount: Amount(1 + u128::from(nonce % 1000)),
            },
        }
        .sign(&self.bob);
        let started = Instant::now();
        let hash = self.send_to.send_transaction(&tx).await?;
        *self.nonce.lock().unwrap_or_else(PoisonError::into_inner) = Some(nonce + 1);
        let deadline = started + Duration::from_millis(INCLUSION_TIMEOUT_MS);
        loop {
            // Not there yet is an error on a node that never heard of it: keep asking.
            if let Ok(found) = self.seen_on.transaction(&hash, Some(ChainId::ROOT)).await {
                match found.status {
                    TxStatusName::Included => break,
                    TxStatusName::Dropped => bail!(
                        "honest transfer {hash} was dropped: {}",
                        found.error.unwrap_or_default()
                    ),
                    TxStatusName::Pending | TxStatusName::Unknown => {}
                }
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(INCLUSION_POLL_MS)).await;
        }
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    }

    /// Writes at `writes_per_s` (one at a time: a slow write delays the next) until `stop`,
    /// recording each latency under the phase it was sent in.
    async fn stream(
        self,
        writes_per_s: u64,
        phase: Arc<AtomicU8>,
        samples: Arc<Mutex<Vec<(u8, f64)>>>,
        stop: Arc<AtomicBool>,
    ) -> anyhow::Result<()> {
        let interval = Duration::from_micros(1_000_000 / writes_per_s.max(1));
        let mut next = Instant::now();
        while !stop.load(Ordering::SeqCst) {
            tokio::time::sleep_until(next.into()).await;
            next = Instant::now() + interval;
            let sent_in = phase.load(Ordering::SeqCst);
            let latency_ms = self.write_one().await?;
            samples
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((sent_in, latency_ms));
        }
        Ok(())
    }
}

/// The flood's messages: orphan blocks (a header that checks out on its own, an unknown
/// parent), transfers from a key that holds nothing, and invalid messages (bytes that decode
/// to nothing on either topic, a transfer signed by another key than its sender's).
fn message_maker(tip_height: u64, difficulty: u64) -> MakeMessage {
    let unfunded = SecretKey::dev("flooder, unfunded");
    let victim = SecretKey::dev("carol").account();
    let forger = SecretKey::dev("flooder, forger");
    let empty_tx_root = tx_root(&[]);
    Arc::new(move |kind: &'static str, index: u64| {
        let tag = index.to_le_bytes();
        match kind {
            "orphan" => {
                let mut header = BlockHeader {
                    chain: ChainId::ROOT,
                    parent: Hash::tagged("bench flood orphan parent", &[&tag]),
                    height: tip_height + 2 + index % 1000,
                    time_ms: now_ms(),
                    difficulty,
                    nonce: 0,
                    merged: MergedWork::default(),
                    miner: unfunded.account(),
                    tx_root: empty_tx_root,
                    state_root: Hash::tagged("bench flood orphan state", &[&tag]),
                    relay_parent: Hash::ZERO,
                    anchors: Vec::new(),
                    anchor_headers_hash: Hash::ZERO,
                };
                while !header.meets_difficulty() && header.nonce < ORPHAN_NONCE_ATTEMPTS_MAX {
                    header.nonce += 1;
                }
                let block = Block {
                    header,
                    transactions: Vec::new(),
                    anchor_headers: Vec::new(),
                };
                FloodMessage {
                    topic: FloodTopic::Blocks,
                    data: block.to_bytes(),
                }
            }
            "unfunded" => FloodMessage {
                topic: FloodTopic::Txs,
                data: UnsignedTx {
                    chain: ChainId::ROOT,
                    sender: unfunded.account(),
                    nonce: 0,
                    fee: HONEST_FEE,
                    payload: TxPayload::Transfer {
                        to: victim,
                        amount: Amount(1 + u128::from(index)),
                    },
                }
                .sign(&unfunded)
                .to_bytes(),
            },
            _ => match index % 3 {
                0 => FloodMessage {
                    topic: FloodTopic::Blocks,
                    data: [b"\xff\xfe not a block ".as_slice(), &tag].concat(),
                },
                1 => FloodMessage {
                    topic: FloodTopic::Txs,
                    data: [b"\xff\xfe not a transaction ".as_slice(), &tag].concat(),
                },
                _ => FloodMessage {
                    topic: FloodTopic::Txs,
                    data: UnsignedTx {
                        chain: ChainId::ROOT,
                        sender: victim,
                        nonce: 0,
                        fee: HONEST_FEE,
                        payload: TxPayload::Transfer {
                            to: forger.account(),
                            amount: Amount(1 + u128::from(index)),
                        },
                    }
                    .sign(&forger)
                    .to_bytes(),
                },
            },
        }
    })
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// CPU ms (user and system) of the process or thread whose `stat` file is `path`.
fn cpu_ms_of(path: &Path) -> Option<u64> {
    let text = fs::read_to_string(path).ok()?;
    // The command name, in parentheses, may hold spaces: count fields after its end. Fields 14
    // and 15 of stat(5) are the 12th and 13th after it.
    let rest = text.get(text.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 1000 / USER_HZ)
}

/// Reads every node's CPU and gossip counts, and this process's CPU.
async fn read_all(nodes: &[DevnetNode]) -> Reading {
    let mut reading = Reading {
        bench_cpu_ms: cpu_ms_of(Path::new("/proc/self/stat")).unwrap_or(0),
        at: Some(Instant::now()),
        ..Reading::default()
    };
    for node in nodes {
        let stat = format!("/proc/{}/stat", node.pid());
        reading
            .node_cpu_ms
            .push(cpu_ms_of(Path::new(&stat)).unwrap_or(0));
        let url = node.rpc_url.clone();
        let gossip = tokio::task::spawn_blocking(move || gossip_counts(&url))
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        reading.gossip.push(gossip);
    }
    reading
}

/// The node's `bitverse_gossip_messages_total` counters from `GET /metrics`, `kind/verdict` →
/// count; `None` when the scrape fails.
fn gossip_counts(rpc_url: &str) -> Option<BTreeMap<String, u64>> {
    let host = rpc_url
        .trim_start_matches("http://")
        .split('/')
        .next()?
        .to_owned();
    let timeout = Some(Duration::from_millis(METRICS_TIMEOUT_MS));
    let mut stream = std::net::TcpStream::connect(&host).ok()?;
    stream.set_read_timeout(timeout).ok()?;
    stream.set_write_timeout(timeout).ok()?;
    // HTTP/1.0: the answer is the whole body up to the close, never chunked.
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut text = String::new();
    stream
        .take(METRICS_BYTES_MAX)
        .read_to_string(&mut text)
        .ok()?;
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let Some(labels) = line.strip_prefix("bitverse_gossip_messages_total{") else {
            continue;
        };
        let Some((labels, value)) = labels.split_once("} ") else {
            continue;
        };
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|pair| pair.strip_prefix(&format!("{name}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
        };
        let (Some(kind), Some(verdict)) = (label("kind"), label("verdict")) else {
            continue;
        };
        let value = value.split_whitespace().next()?.parse::<f64>().ok()? as u64;
        counts.insert(format!("{kind}/{verdict}"), value);
    }
    Some(counts)
}

/// Each node's `bv_networkStatus` banned peers, `(peer id, reason)`; empty for a node that
/// does not answer.
async fn network_statuses(clients: &[NodeClient]) -> Vec<Vec<(String, String)>> {
    let mut all = Vec::with_capacity(clients.len());
    for client in clients {
        all.push(client.network_status().await.map_or_else(
            |_| Vec::new(),
            |status| {
                status
                    .banned_peers
                    .into_iter()
                    .map(|ban| (ban.peer_id, ban.reason))
                    .collect()
            },
        ));
    }
    all
}

/// p50, p99 and max of a set of latencies.
#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    samples: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Stats {
    fn of(values: &[f64]) -> Stats {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let pick = |per_mille: usize| {
            sorted
                .get(sorted.len().saturating_sub(1) * per_mille / 1000)
                .copied()
                .unwrap_or(0.0)
        };
        Stats {
            samples: sorted.len(),
            p50_ms: pick(500),
            p99_ms: pick(990),
            max_ms: pick(1000),
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "samples": self.samples, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
        })
    }
}

/// What one kind of message's identities did.
#[derive(Clone, Debug, Default)]
struct KindFigures {
    identities: usize,
    subscribed: usize,
    dropped: usize,
    sent: u64,
    /// How long each identity that got to publish stayed connected, ms.
    connected_ms: Stats,
}

/// What one node saw of the flood.
#[derive(Clone, Debug, Default)]
struct NodeView {
    name: String,
    /// Flooder identities it let in ("peer connected").
    admitted: usize,
    /// Flooder identities it refused at the connection (too many new identities from the IP).
    refused: usize,
    /// Flooder identities it banned, by the reason's kind.
    bans: BTreeMap<&'static str, usize>,
    /// Flooder identities still banned when the flood ended (`bv_networkStatus`).
    banned_listed: usize,
    /// Its gossip verdicts during the flood, `kind/verdict` → count.
    gossip: BTreeMap<String, u64>,
    /// Its CPU during each phase, as a share of one core.
    cpu_share: [f64; 3],
}

/// The bench's findings.
struct Report {
    nodes: usize,
    rate_per_s: u64,
    flood_s: u64,
    phases: [Stats; 3],
    ratio: f64,
    within_bound: bool,
    sent: u64,
    identities: usize,
    connected: usize,
    subscribed: usize,
    dropped: usize,
    admitted: usize,
    refused: usize,
    flooder_dropped: bool,
    by_kind: BTreeMap<&'static str, KindFigures>,
    flooder_cpu_ms: u64,
    flooder_cpu_share: f64,
    bench_cpu_share: [f64; 3],
    views: Vec<NodeView>,
}

impl Report {
    fn new(
        nodes: &[DevnetNode],
        options: &FloodBenchOptions,
        samples: &[(u8, f64)],
        readings: &[Reading],
        flood: &FloodReport,
        flooder_cpu_ms: u64,
        banned_after_flood: &[Vec<(String, String)>],
    ) -> Report {
        let phases = [0u8, 1, 2].map(|phase| {
            let latencies: Vec<f64> = samples
                .iter()
                .filter(|(p, _)| *p == phase)
                .map(|(_, ms)| *ms)
                .collect();
            Stats::of(&latencies)
        });
        let ratio = if phases[0].p50_ms > 0.0 {
            phases[1].p50_ms / phases[0].p50_ms
        } else {
            f64::INFINITY
        };
        let mut by_kind: BTreeMap<&'static str, KindFigures> = BTreeMap::new();
        let mut lived: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
        for identity in &flood.identities {
            let figures = by_kind.entry(identity.kind).or_default();
            figures.identities += 1;
            figures.sent += identity.sent;
            figures.subscribed += usize::from(identity.subscribed);
            let dropped = identity.connected && identity.end == IdentityEnd::Dropped;
            figures.dropped += usize::from(dropped);
            if identity.subscribed
                && let Some(ms) = identity.connected_ms
            {
                lived.entry(identity.kind).or_default().push(ms as f64);
            }
        }
        for (kind, times) in lived {
            if let Some(figures) = by_kind.get_mut(kind) {
                figures.connected_ms = Stats::of(&times);
            }
        }
        let flooder_ids: BTreeMap<&str, usize> = flood
            .identities
            .iter()
            .map(|i| (i.peer_id.as_str(), i.target))
            .collect();
        let elapsed_ms = |from: usize, to: usize| match (
            readings.get(from).and_then(|r| r.at),
            readings.get(to).and_then(|r| r.at),
        ) {
            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64() * 1000.0,
            _ => 0.0,
        };
        let share = |from: usize, to: usize, cpu: &dyn Fn(&Reading) -> u64| {
            let (Some(a), Some(b)) = (readings.get(from), readings.get(to)) else {
                return 0.0;
            };
            let wall = elapsed_ms(from, to);
            if wall <= 0.0 {
                return 0.0;
            }
            cpu(b).saturating_sub(cpu(a)) as f64 / wall
        };
        let views: Vec<NodeView> = nodes
            .iter()
            .enumerate()
            .map(|(index, node)| {
                let log = fs::read_to_string(node.data_dir.join("node.log")).unwrap_or_default();
                let mut view = node_view(&node.name, &log, &flooder_ids);
                view.banned_listed = banned_after_flood.get(index).map_or(0, |bans| {
                    bans.iter()
                        .filter(|(id, _)| flooder_ids.contains_key(id.as_str()))
                        .count()
                });
                if let (Some(before), Some(after)) = (
                    readings.get(1).and_then(|r| r.gossip.get(index)),
                    readings.get(2).and_then(|r| r.gossip.get(index)),
                ) {
                    view.gossip = after
                        .iter()
                        .map(|(key, count)| {
                            let was = before.get(key).copied().unwrap_or(0);
                            (key.clone(), count.saturating_sub(was))
                        })
                        .filter(|(_, count)| *count > 0)
                        .collect();
                }
                let cpu = |r: &Reading| r.node_cpu_ms.get(index).copied().unwrap_or(0);
                view.cpu_share = [share(0, 1, &cpu), share(1, 2, &cpu), share(2, 3, &cpu)];
                view
            })
            .collect();
        let flood_wall_ms = elapsed_ms(1, 2);
        let bench_cpu = |r: &Reading| r.bench_cpu_ms;
        let sent = flood.identities.iter().map(|i| i.sent).sum();
        let dropped = flood
            .identities
            .iter()
            .filter(|i| i.connected && i.end == IdentityEnd::Dropped)
            .count();
        Report {
            nodes: nodes.len(),
            rate_per_s: options.rate_per_s,
            flood_s: options.flood_s,
            ratio,
            within_bound: ratio <= LATENCY_RATIO_BOUND,
            phases,
            sent,
            identities: flood.identities.len(),
            connected: flood.identities.iter().filter(|i| i.connected).count(),
            subscribed: flood.identities.iter().filter(|i| i.subscribed).count(),
            dropped,
            admitted: views.iter().map(|v| v.admitted).sum(),
            refused: views.iter().map(|v| v.refused).sum(),
            flooder_dropped: dropped > 0,
            by_kind,
            flooder_cpu_ms,
            flooder_cpu_share: if flood_wall_ms > 0.0 {
                flooder_cpu_ms as f64 / flood_wall_ms
            } else {
                0.0
            },
            bench_cpu_share: [
                share(0, 1, &bench_cpu),
                share(1, 2, &bench_cpu),
                share(2, 3, &bench_cpu),
            ],
            views,
        }
    }

    fn print(&self, json: bool) {
        if json {
            let phases: serde_json::Map<String, serde_json::Value> = PHASE_NAMES
                .iter()
                .zip(&self.phases)
                .map(|(name, stats)| ((*name).to_owned(), stats.json()))
                .collect();
            let kinds: serde_json::Map<String, serde_json::Value> = self
                .by_kind
                .iter()
                .map(|(kind, f)| {
                    (
                        (*kind).to_owned(),
                        serde_json::json!({
                            "identities": f.identities, "subscribed": f.subscribed,
                            "dropped": f.dropped, "sent": f.sent,
                            "connected_ms": f.connected_ms.json(),
                        }),
                    )
                })
                .collect();
            let views: Vec<serde_json::Value> = self
                .views
                .iter()
                .map(|v| {
                    serde_json::json!({
                        "node": v.name, "admitted": v.admitted, "refused": v.refused,
                        "bans": v.bans, "banned_listed": v.banned_listed,
                        "gossip_during_flood": v.gossip,
                        "cpu_share": {
                            "baseline": v.cpu_share[0], "flood": v.cpu_share[1],
                            "after": v.cpu_share[2],
                        },
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "nodes": self.nodes, "rate_per_s": self.rate_per_s, "flood_s": self.flood_s,
                    "latency": phases, "flood_p50_ratio": self.ratio,
                    "bound": LATENCY_RATIO_BOUND, "within_bound": self.within_bound,
                    "flooder": {
                        "messages_sent": self.sent, "identities_tried": self.identities,
                        "identities_connected": self.connected,
                        "identities_subscribed": self.subscribed,
                        "identities_admitted": self.admitted,
                        "identities_refused": self.refused,
                        "identities_dropped": self.dropped, "disconnected": self.flooder_dropped,
                        "by_kind": kinds, "cpu_ms": self.flooder_cpu_ms,
                        "cpu_share": self.flooder_cpu_share,
                    },
                    "bench_cpu_share": {
                        "baseline": self.bench_cpu_share[0], "flood": self.bench_cpu_share[1],
                        "after": self.bench_cpu_share[2],
                    },
                    "honest": views,
                })
            );
            return;
        }
        println!(
            "honest transfers, RPC in on one node to inclusion on another ({} nodes):",
            self.nodes
        );
        for (name, stats) in PHASE_NAMES.iter().zip(&self.phases) {
            println!(
                "  {name:<8} {:>5} writes: p50 {:>7.1} ms, p99 {:>7.1} ms, max {:>7.1} ms",
                stats.samples, stats.p50_ms, stats.p99_ms, stats.max_ms
            );
        }
        println!(
            "  during the flood, p50 is {:.2}× the baseline's (bound {LATENCY_RATIO_BOUND}×): {}",
            self.ratio,
            if self.within_bound {
                "within"
            } else {
                "OVER THE BOUND"
            }
        );
        println!(
            "flooder ({} msg/s per connection, {} s): {} messages sent; {} identities tried, {} \
             connected, {} got to publish, {} admitted and {} refused by the nodes, {} dropped; \
             its thread used {:.0} % of a core",
            self.rate_per_s,
            self.flood_s,
            self.sent,
            self.identities,
            self.connected,
            self.subscribed,
            self.admitted,
            self.refused,
            self.dropped,
            self.flooder_cpu_share * 100.0
        );
        for (kind, f) in &self.by_kind {
            println!(
                "  {kind:<8} {} identities ({} published, {} dropped), {} messages; connected \
                 before the drop: p50 {:.0} ms, max {:.0} ms",
                f.identities,
                f.subscribed,
                f.dropped,
                f.sent,
                f.connected_ms.p50_ms,
                f.connected_ms.max_ms
            );
        }
        for v in &self.views {
            let bans: Vec<String> = v.bans.iter().map(|(k, n)| format!("{n} {k}")).collect();
            let gossip: Vec<String> = v.gossip.iter().map(|(k, n)| format!("{k} {n}")).collect();
            println!(
                "  {:<10} admitted {}, refused {}, banned {} ({} listed after the flood); \
                 gossip judged during the flood: {}; CPU {:.0} % / {:.0} % / {:.0} % of a core",
                v.name,
                v.admitted,
                v.refused,
                v.bans.values().sum::<usize>(),
                v.banned_listed,
                if gossip.is_empty() {
                    "none".to_owned()
                } else {
                    gossip.join(", ")
                },
                v.cpu_share[0] * 100.0,
                v.cpu_share[1] * 100.0,
                v.cpu_share[2] * 100.0,
            );
            if !bans.is_empty() {
                println!("             bans: {}", bans.join(", "));
            }
        }
        println!(
            "this process (flooder, writer, bench) used {:.0} % / {:.0} % / {:.0} % of a core \
             (baseline / flood / after)",
            self.bench_cpu_share[0] * 100.0,
            self.bench_cpu_share[1] * 100.0,
            self.bench_cpu_share[2] * 100.0
        );
        if !self.flooder_dropped {
            println!("NO NODE EVER DROPPED THE FLOODER");
        }
    }
}

/// What a node's log says of the flooder's identities: admitted, refused, banned and why.
fn node_view(name: &str, log: &str, flooder_ids: &BTreeMap<&str, usize>) -> NodeView {
    let mut admitted = BTreeSet::new();
    let mut refused = BTreeSet::new();
    let mut banned: BTreeMap<String, &'static str> = BTreeMap::new();
    for line in log.lines() {
        let Some(peer) = line
            .split_whitespace()
            .find_map(|token| token.strip_prefix("peer="))
        else {
            continue;
        };
        if !flooder_ids.contains_key(peer) {
            continue;
        }
        if line.contains("peer connected") {
            admitted.insert(peer.to_owned());
        } else if line.contains("connection refused") {
            refused.insert(peer.to_owned());
        } else if line.contains("banning peer") {
            let why = if line.contains("useless gossip") {
                "useless gossip"
            } else if line.contains("invalid messages") {
                "invalid messages"
            } else if line.contains("gossip score") {
                "gossip score"
            } else {
                "other"
            };
            banned.entry(peer.to_owned()).or_insert(why);
        }
    }
    let mut bans = BTreeMap::new();
    for why in banned.values() {
        *bans.entry(*why).or_insert(0) += 1;
    }
    NodeView {
        name: name.to_owned(),
        admitted: admitted.len(),
        refused: refused.len(),
        bans,
        ..NodeView::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nodes_log_tells_which_flooder_identities_it_admitted_refused_and_banned() {
        let ids: BTreeMap<&str, usize> = [("A", 0), ("B", 0), ("C", 0)].into_iter().collect();
        let log = "\
t INFO peer connected peer=A addr=/ip4/127.0.0.1/tcp/1
t WARN banning peer peer=A reason=\"more than 200 useless gossip messages in a few seconds\"
t INFO peer connected peer=B addr=/ip4/127.0.0.1/tcp/2
t WARN banning peer peer=B reason=\"too many invalid messages, last: x\"
t INFO connection refused peer=C addr=/ip4/127.0.0.1/tcp/3 refusal=too many
t INFO peer connected peer=H addr=/ip4/127.0.0.1/tcp/4
";
        let view = node_view("n", log, &ids);
        assert_eq!((view.admitted, view.refused), (2, 1));
        assert_eq!(view.bans.get("useless gossip"), Some(&1));
        assert_eq!(view.bans.get("invalid messages"), Some(&1));
    }

    #[test]
    fn every_kind_of_flood_message_is_well_formed_or_invalid_as_meant() {
        let make = message_maker(5, 1);
        let orphan = make("orphan", 7);
        assert_eq!(orphan.topic, FloodTopic::Blocks);
        let block = Block::from_bytes(&orphan.data).expect("an orphan decodes");
        assert!(block.header.meets_difficulty());
        block.check_body().expect("an orphan's body checks out");
        let unfunded = make("unfunded", 7);
        let tx = bitverse_blocktree::Transaction::from_bytes(&unfunded.data).expect("decodes");
        tx.check_stateless(ChainId::ROOT)
            .expect("an unfunded transfer is well-formed");
        for index in 0..3 {
            let invalid = make("invalid", index);
            let decodes = match invalid.topic {
                FloodTopic::Blocks => Block::from_bytes(&invalid.data).is_ok(),
                FloodTopic::Txs => bitverse_blocktree::Transaction::from_bytes(&invalid.data)
                    .is_ok_and(|tx| {
                        tx.check_stateless(ChainId::ROOT).is_ok() && tx.verify_signature().is_ok()
                    }),
            };
            assert!(
                !decodes,
                "invalid message {index} passes the stateless checks"
            );
        }
        assert_ne!(make("orphan", 1).data, make("orphan", 2).data);
        assert_ne!(make("unfunded", 1).data, make("unfunded", 2).data);
    }

    #[test]
    fn cpu_times_are_read_after_the_command_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stat");
        // pid (comm with spaces) state ppid … utime=250 stime=50 (fields 14 and 15).
        fs::write(&path, "42 (a b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0").unwrap();
        assert_eq!(cpu_ms_of(&path), Some(3_000));
    }
}
