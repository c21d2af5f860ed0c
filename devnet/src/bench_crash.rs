//! `bitverse bench crash`: crash safety under SIGKILL, modelled on Bitcoin Core's
//! `feature_dbcrash`. A crash node (`--dev`, sealing at once) takes a stream of writes and is
//! killed at a seeded random moment, again and again; a replica that never crashes follows it
//! over libp2p. After every restart every write the crash node acknowledged (reported in a
//! block) must still be there, and once both nodes have the same tips, every chain's state
//! root must be the same on both.
//!
//! Each cycle restarts the crash node twice: first alone (no network), so that what it
//! recovered from its own disk is checked before any block could come back from the replica
//! by sync and hide a loss; then, stopped cleanly, on the network, to be compared with the
//! replica and to take the next cycle's writes. The restart time reported is the first one:
//! from spawning the killed node's process until it serves RPC again.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bitverse_blocktree::{TxPayload, UnsignedTx, ValueProof, chain_of_keyspace};
use bitverse_client::{CliError, NodeClient};
use bitverse_node::node::CHAIN_DB_DIR;
use bitverse_node::tools::CrashBenchOptions;
use bitverse_primitives::{Amount, ChainId, Hash, SecretKey};
use bitverse_rpc_api::{
    BlockResult, CODE_NOT_ANCHORED_YET, ChainResult, METHOD_GET_BLOCK_BY_HASH,
    METHOD_GET_TRANSACTION, METHOD_GET_VALUE, TransactionResult, TxStatusName, ValueResult,
};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::BatchRequestBuilder;
use jsonrpsee::rpc_params;

use crate::bench_network::work_dir;
use crate::devnet::{DevnetNode, NodeLaunch, NodeNetwork, log_tail, start_node};

/// The keyspaces written, with their depths: one chain at the root, one at depth 1, one at
/// depth 3, each write at depth ≥ 1 sealed with the anchors of the chains above it.
const KEYSPACES: [(&str, u8); 3] = [("crash0", 0), ("crash1", 1), ("crash3", 3)];
/// Quota bought for each keyspace: room for far more writes than 200 cycles make.
const KEYSPACE_QUOTA_BYTES: u64 = 50_000_000;
/// Writes sent to each target (the three keyspaces and the transfers) before the writer waits
/// for them all to be in blocks: several writes per block, as real clients send them.
const WRITES_PER_TARGET_IN_FLIGHT: usize = 3;
/// Calls per JSON-RPC batch when the acknowledged writes are checked (the server takes 1000).
const CHECK_BATCH_CALLS_MAX: usize = 500;
/// How long a write may take to be sealed while the node lives.
const INCLUSION_TIMEOUT_MS: u64 = 30_000;
/// How often the writer asks whether its writes are in blocks.
const INCLUSION_POLL_MS: u64 = 5;
/// How long the killed writer may take to notice; the node is dead, so its calls fail at once.
const WRITER_STOP_TIMEOUT_MS: u64 = 30_000;
/// How long the two nodes may take to connect, and to agree on every tip after a restart.
const AGREE_TIMEOUT_MS: u64 = 120_000;
/// How often the nodes' tips are compared while waiting for them to agree.
const AGREE_POLL_MS: u64 = 20;
/// How long the keyspace purchases and the first write on each chain may take at setup.
const SETUP_TIMEOUT_MS: u64 = 60_000;

/// One acknowledged write.
#[derive(Clone, Debug)]
struct Acked {
    /// The chain it was sent to.
    chain: ChainId,
    /// The transaction's hash.
    hash: Hash,
    /// For a put, its key and value; `None` for a transfer.
    put: Option<(String, Vec<u8>)>,
    /// The cycle that wrote it.
    cycle: u32,
}

/// A write target: a keyspace's chain (puts) or the root (transfers), and its sender's next
/// nonce there.
#[derive(Clone, Debug)]
struct Target {
    /// The keyspace written, or `None` for transfers dev:bob → dev:carol.
    keyspace: Option<&'static str>,
    chain: ChainId,
    nonce: u64,
}

/// One cycle's figures.
struct CycleReport {
    kill_after_ms: u64,
    acked: usize,
    restart_ms: f64,
    cycle_ms: f64,
    chains: usize,
    root_height: u64,
}

/// splitmix64: a small, seeded, reproducible source for the kill moments. No dependency; not
/// for anything that needs to be unpredictable.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `1..=max`.
    fn up_to(&mut self, max: u64) -> u64 {
        1 + self.next_u64() % max.max(1)
    }
}

/// Runs the crash test: setup, then `options.cycles` cycles, then the summary.
pub(crate) async fn run(options: CrashBenchOptions) -> anyhow::Result<()> {
    let seed = options.seed.unwrap_or_else(|| {
        // Any seed will do; it is printed so that a failing run can be replayed.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        (nanos as u64) ^ u64::from(std::process::id())
    });
    let (dir, temp) = work_dir(options.dir.as_deref())?;
    let outcome = Bench::new(&dir, seed, &options).await;
    let outcome = match outcome {
        Ok(mut bench) => {
            let result = bench.cycles(&options).await;
            let stopped = tokio::task::block_in_place(|| bench.stop());
            result.and(stopped)
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(e) => {
            // The data tells what happened: keep it.
            let kept = temp.map_or_else(|| dir.clone(), tempfile::TempDir::keep);
            Err(anyhow!(
                "{e:#}. Replay with `bitverse bench crash --seed {seed} --kill-within-ms {} \
                 --cycles {}`; the nodes' data and logs are kept in {}",
                options.kill_within_ms,
                options.cycles,
                kept.display()
            ))
        }
    }
}

/// The two nodes and what was acknowledged so far.
struct Bench {
    exe: std::path::PathBuf,
    seed: u64,
    rng: SplitMix64,
    replica: DevnetNode,
    replica_client: NodeClient,
    /// `None` only between a kill and the restart.
    crash: Option<DevnetNode>,
    crash_dir: std::path::PathBuf,
    acked: Vec<Acked>,
    restart_ms: Vec<f64>,
    cycle_ms: Vec<f64>,
    json: bool,
    /// Test only: the cycle after whose kill the crash node's database is deleted.
    wipe_in_cycle: Option<u32>,
}

impl Bench {
    /// Starts the replica and the crash node, connects them and buys the keyspaces.
    async fn new(dir: &Path, seed: u64, options: &CrashBenchOptions) -> anyhow::Result<Bench> {
        let exe = crate::bitverse_exe()?;
        for name in ["replica", "crash"] {
            let old = dir.join(name);
            if old.exists() {
                std::fs::remove_dir_all(&old)
                    .with_context(|| format!("cannot clear {}", old.display()))?;
            }
        }
        let replica = tokio::task::block_in_place(|| {
            start_node(&exe, &dir.join("replica"), &replica_launch())
        })?;
        let replica_client = client(&replica)?;
        let crash_dir = dir.join("crash");
        let crash = tokio::task::block_in_place(|| {
            start_node(&exe, &crash_dir, &crash_launch(Some(&replica.p2p_addr)))
        })?;
        if !options.json {
            eprintln!(
                "bench crash: seed {seed}; replica and crash node in {}",
                dir.display()
            );
        }
        let mut bench = Bench {
            exe,
            seed,
            rng: SplitMix64(seed),
            replica,
            replica_client,
            crash: Some(crash),
            crash_dir,
            acked: Vec::new(),
            restart_ms: Vec::new(),
            cycle_ms: Vec::new(),
            json: options.json,
            wipe_in_cycle: options.wipe_in_cycle,
        };
        bench.setup().await?;
        Ok(bench)
    }

    fn crash(&self) -> anyhow::Result<&DevnetNode> {
        self.crash.as_ref().context("the crash node is not running")
    }

    /// Buys the keyspaces as dev:alice and waits until one put on each chain is in a block
    /// and the replica has followed.
    async fn setup(&mut self) -> anyhow::Result<()> {
        let crash = client(self.crash()?)?;
        let status = crash.status().await?;
        let alice = SecretKey::dev("alice");
        let mut nonce = crash.account(&alice.account()).await?.pending_nonce;
        let mut hashes = Vec::new();
        for (name, depth) in KEYSPACES {
            let price = status
                .storage_price_per_byte_by_depth
                .get(usize::from(depth))
                .copied()
                .with_context(|| format!("the dev network has no depth {depth}"))?;
            let prepaid = price
                .checked_mul(u128::from(KEYSPACE_QUOTA_BYTES))
                .context("prepaid overflows")?;
            let tx = UnsignedTx {
                chain: ChainId::ROOT,
                sender: alice.account(),
                nonce,
                fee: Amount(1),
                payload: TxPayload::BuyKeyspace {
                    name: name.into(),
                    owner: alice.account(),
                    quota_bytes: KEYSPACE_QUOTA_BYTES,
                    prepaid,
                    script: None,
                    depth,
                },
            }
            .sign(&alice);
            hashes.push(crash.send_transaction(&tx).await?);
            nonce += 1;
        }
        let timeout = Duration::from_millis(SETUP_TIMEOUT_MS);
        for hash in &hashes {
            bitverse_client::wait_for_inclusion(&crash, hash, Some(ChainId::ROOT), timeout).await?;
        }
        // A deep write may be refused for a moment (`CODE_NOT_ANCHORED_YET`) until the chain sees the purchase.
        let deadline = Instant::now() + timeout;
        for (name, depth) in KEYSPACES {
            let chain = keyspace_chain(name, depth)?;
            loop {
                let nonce = crash
                    .account_on(&alice.account(), chain)
                    .await?
                    .pending_nonce;
                let key = format!("{name}/setup");
                let tx = put_tx(&alice, chain, nonce, &key, b"setup");
                match crash.send_transaction(&tx).await {
                    Ok(hash) => {
                        bitverse_client::wait_for_inclusion(&crash, &hash, Some(chain), timeout)
                            .await?;
                        break;
                    }
                    Err(CliError::Refused { code, .. })
                        if code == CODE_NOT_ANCHORED_YET && Instant::now() < deadline =>
                    {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => return Err(anyhow!("setup put on {name}: {e}")),
                }
            }
        }
        self.wait_agreed("setup").await?;
        Ok(())
    }

    /// Runs the cycles and prints the summary.
    async fn cycles(&mut self, options: &CrashBenchOptions) -> anyhow::Result<()> {
        let started = Instant::now();
        for cycle in 1..=options.cycles {
            let report = self
                .cycle(cycle, options.kill_within_ms)
                .await
                .with_context(|| {
                    format!("cycle {cycle} of {} (seed {})", options.cycles, self.seed)
                })?;
            self.print_cycle(cycle, options.cycles, &report);
        }
        self.print_summary(options.cycles, started.elapsed());
        Ok(())
    }

    /// One cycle: write, kill, restart alone and check, restart on the network and compare.
    async fn cycle(&mut self, cycle: u32, kill_within_ms: u64) -> anyhow::Result<CycleReport> {
        let cycle_started = Instant::now();
        let kill_after_ms = self.rng.up_to(kill_within_ms);
        let url = self.crash()?.rpc_url.clone();
        let targets = self.targets(&client(self.crash()?)?).await?;

        let killed = Arc::new(AtomicBool::new(false));
        let acked_now: Arc<Mutex<Vec<Acked>>> = Arc::new(Mutex::new(Vec::new()));
        let writer = tokio::spawn(write_stream(
            url,
            cycle,
            targets,
            acked_now.clone(),
            killed.clone(),
        ));
        tokio::time::sleep(Duration::from_millis(kill_after_ms)).await;
        killed.store(true, Ordering::SeqCst);
        let mut crash = self.crash.take().context("the crash node is not running")?;
        tokio::task::block_in_place(|| crash.kill_9())?;
        // Reaped already: dropping it sends nothing.
        drop(crash);
        match tokio::time::timeout(Duration::from_millis(WRITER_STOP_TIMEOUT_MS), writer).await {
            Err(_) => bail!("the writer did not stop after the kill"),
            Ok(Err(e)) => bail!("the writer failed: {e}"),
            Ok(Ok(Err(e))) => bail!(
                "a write failed while the node lived: {e}; the end of its log:\n{}",
                log_tail(&self.crash_dir.join("node.log"))
            ),
            Ok(Ok(Ok(()))) => {}
        }
        let new: Vec<Acked> = std::mem::take(
            &mut *acked_now
                .lock()
                .map_err(|_| anyhow!("the acknowledged list is poisoned"))?,
        );
        let acked = new.len();
        self.acked.extend(new);
        if self.wipe_in_cycle == Some(cycle) {
            let db = self.crash_dir.join(CHAIN_DB_DIR);
            std::fs::remove_dir_all(&db)
                .with_context(|| format!("cannot delete {} (--wipe-in-cycle)", db.display()))?;
        }

        // Restart alone: what the node recovered from its own disk, before any peer could
        // hand a lost block back.
        let restart_started = Instant::now();
        let alone = tokio::task::block_in_place(|| {
            start_node(&self.exe, &self.crash_dir, &crash_launch(None))
        })?;
        let restart_ms = restart_started.elapsed().as_secs_f64() * 1000.0;
        self.check_acked(&client(&alone)?, "the restarted crash node", cycle)
            .await?;
        // Stop it cleanly (SIGTERM; dropping a node stops it) and start it on the network again.
        tokio::task::block_in_place(|| drop(alone));
        let replica_addr = self.replica.p2p_addr.clone();
        let crash = tokio::task::block_in_place(|| {
            start_node(
                &self.exe,
                &self.crash_dir,
                &crash_launch(Some(&replica_addr)),
            )
        })?;
        self.crash = Some(crash);
        let (chains, root_height) = self.wait_agreed(&format!("cycle {cycle}")).await?;
        // The replica holds this cycle's writes too.
        let fresh: Vec<Acked> = self
            .acked
            .iter()
            .filter(|a| a.cycle == cycle)
            .cloned()
            .collect();
        check_values(&self.replica_client, &fresh, "the replica", cycle).await?;

        let cycle_ms = cycle_started.elapsed().as_secs_f64() * 1000.0;
        self.restart_ms.push(restart_ms);
        self.cycle_ms.push(cycle_ms);
        Ok(CycleReport {
            kill_after_ms,
            acked,
            restart_ms,
            cycle_ms,
            chains,
            root_height,
        })
    }

    /// The write targets with their senders' next nonces on the crash node.
    async fn targets(&self, crash: &NodeClient) -> anyhow::Result<Vec<Target>> {
        let alice = SecretKey::dev("alice").account();
        let bob = SecretKey::dev("bob").account();
        let mut targets = Vec::new();
        for (name, depth) in KEYSPACES {
            let chain = keyspace_chain(name, depth)?;
            targets.push(Target {
                keyspace: Some(name),
                chain,
                nonce: crash.account_on(&alice, chain).await?.pending_nonce,
            });
        }
        targets.push(Target {
            keyspace: None,
            chain: ChainId::ROOT,
            nonce: crash.account(&bob).await?.pending_nonce,
        });
        Ok(targets)
    }

    /// Checks that every write acknowledged so far is in a block on `node` (and for a put,
    /// that its key reads its value), and that the newest put of each keyspace is proven
    /// against the node's root header.
    async fn check_acked(&self, node: &NodeClient, whose: &str, cycle: u32) -> anyhow::Result<()> {
        check_values(node, &self.acked, whose, cycle).await?;
        let transfers: Vec<&Acked> = self.acked.iter().filter(|a| a.put.is_none()).collect();
        for chunk in transfers.chunks(CHECK_BATCH_CALLS_MAX) {
            let mut batch = BatchRequestBuilder::new();
            for acked in chunk {
                batch
                    .insert(
                        METHOD_GET_TRANSACTION,
                        rpc_params![acked.hash.to_hex(), acked.chain.to_string()],
                    )
                    .map_err(|e| anyhow!("cannot encode a batch: {e}"))?;
            }
            let answers = node
                .http()
                .batch_request::<TransactionResult>(batch)
                .await
                .map_err(|e| anyhow!("{whose}: bv_getTransaction batch: {e}"))?;
            for (acked, answer) in chunk.iter().zip(answers) {
                let status = answer.map_err(|e| anyhow!("{whose}: {e}"))?;
                if status.status != TxStatusName::Included {
                    bail!(
                        "acknowledged transfer {} (cycle {}) LOST on {whose} after the kill in \
                         cycle {cycle}: its status is {:?}",
                        acked.hash,
                        acked.cycle,
                        status.status
                    );
                }
            }
        }
        for (name, _) in KEYSPACES {
            let Some(newest) = self.acked.iter().rev().find_map(|a| {
                a.put
                    .as_ref()
                    .filter(|(key, _)| key.starts_with(&format!("{name}/")))
            }) else {
                continue;
            };
            check_proof(node, &newest.0, &newest.1, whose, cycle).await?;
        }
        Ok(())
    }

    /// Waits until the replica and the crash node have the same tip on every chain, then
    /// checks that every chain's state root is the same on both. Returns the number of chains
    /// and the root's height.
    async fn wait_agreed(&self, when: &str) -> anyhow::Result<(usize, u64)> {
        let crash = client(self.crash()?)?;
        let deadline = Instant::now() + Duration::from_millis(AGREE_TIMEOUT_MS);
        let (mut last_crash, mut last_replica) = (BTreeMap::new(), BTreeMap::new());
        loop {
            if let (Ok(c), Ok(r)) = (tips(&crash).await, tips(&self.replica_client).await) {
                if c == r && !c.is_empty() {
                    if let Some(roots) = self.state_roots(&crash, &c).await? {
                        let root_height = crash.status().await?.height;
                        return Ok((roots, root_height));
                    }
                } else {
                    (last_crash, last_replica) = (c, r);
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "{when}: the crash node and the replica did not agree within {} s \
                     (DIVERGED?): crash node tips {last_crash:?}, replica tips \
                     {last_replica:?}; the end of the crash node's log:\n{}\nthe end of the \
                     replica's log:\n{}",
                    AGREE_TIMEOUT_MS / 1000,
                    log_tail(&self.crash_dir.join("node.log")),
                    log_tail(&self.replica.data_dir.join("node.log"))
                );
            }
            tokio::time::sleep(Duration::from_millis(AGREE_POLL_MS)).await;
        }
    }

    /// Every chain's state root after its tip, on both nodes; `Ok(None)` while either does not
    /// serve a tip block yet; an error when a root differs.
    async fn state_roots(
        &self,
        crash: &NodeClient,
        tips: &BTreeMap<String, Hash>,
    ) -> anyhow::Result<Option<usize>> {
        for (chain, tip) in tips {
            let on_crash = block_by_hash(crash, tip, chain).await;
            let on_replica = block_by_hash(&self.replica_client, tip, chain).await;
            let (Some(on_crash), Some(on_replica)) = (on_crash, on_replica) else {
                return Ok(None);
            };
            if on_crash.state_root != on_replica.state_root {
                bail!(
                    "chain {chain} DIVERGED at its tip {tip}: state root {} on the crash node, \
                     {} on the replica",
                    on_crash.state_root,
                    on_replica.state_root
                );
            }
        }
        Ok(Some(tips.len()))
    }

    fn print_cycle(&self, cycle: u32, cycles: u32, report: &CycleReport) {
        let total = self.acked.len();
        if self.json {
            println!(
                "{}",
                serde_json::json!({
                    "cycle": cycle, "kill_after_ms": report.kill_after_ms,
                    "acknowledged": report.acked, "acknowledged_total": total, "lost": 0,
                    "restart_ms": report.restart_ms, "cycle_ms": report.cycle_ms,
                    "chains_equal": report.chains, "root_height": report.root_height,
                })
            );
        } else {
            println!(
                "cycle {cycle}/{cycles}: killed {} ms into the writes; {} writes acknowledged \
                 ({total} in all), none lost; restart {:.0} ms; {} chains' state roots equal \
                 at root height {}; {:.1} s",
                report.kill_after_ms,
                report.acked,
                report.restart_ms,
                report.chains,
                report.root_height,
                report.cycle_ms / 1000.0
            );
        }
    }

    fn print_summary(&self, cycles: u32, elapsed: Duration) {
        let mut restarts = self.restart_ms.clone();
        restarts.sort_by(f64::total_cmp);
        let pick = |per_mille: usize| {
            restarts
                .get(restarts.len().saturating_sub(1) * per_mille / 1000)
                .copied()
                .unwrap_or(0.0)
        };
        let (p50, p99, max) = (pick(500), pick(990), pick(1000));
        let per_cycle_ms = self.cycle_ms.iter().sum::<f64>() / self.cycle_ms.len().max(1) as f64;
        let puts = self.acked.iter().filter(|a| a.put.is_some()).count();
        let transfers = self.acked.len() - puts;
        if self.json {
            println!(
                "{}",
                serde_json::json!({
                    "summary": true, "seed": self.seed, "cycles": cycles,
                    "acknowledged": self.acked.len(), "puts": puts, "transfers": transfers,
                    "lost": 0, "diverged": 0, "cycle_ms_mean": per_cycle_ms,
                    "restart_ms_p50": p50, "restart_ms_p99": p99, "restart_ms_max": max,
                    "elapsed_s": elapsed.as_secs_f64(),
                })
            );
        } else {
            println!(
                "{cycles} cycles (seed {}): {} writes acknowledged ({puts} puts on 3 chains, \
                 {transfers} transfers), 0 lost, no divergence; {:.2} s per cycle; restart \
                 p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms; {:.0} s in all",
                self.seed,
                self.acked.len(),
                per_cycle_ms / 1000.0,
                elapsed.as_secs_f64()
            );
        }
    }

    /// Stops both nodes (SIGTERM, then SIGKILL).
    fn stop(self) -> anyhow::Result<()> {
        // Dropping a node stops it.
        drop(self.crash);
        drop(self.replica);
        Ok(())
    }
}

/// The replica: the dev network's rules, every chain, no block production.
fn replica_launch() -> NodeLaunch<'static> {
    NodeLaunch {
        network: NodeNetwork::DevFollower,
        mine: false,
        track_all: true,
        bootstrap: Vec::new(),
        log_level: Some("info"),
        market: None,
        store: false,
    }
}

/// The crash node: `--dev` (every chain, sealing at once), dialing the replica when given.
fn crash_launch(replica: Option<&str>) -> NodeLaunch<'_> {
    NodeLaunch {
        bootstrap: replica.map(str::to_owned).into_iter().collect(),
        log_level: Some("info"),
        ..NodeLaunch::dev_sealer()
    }
}

fn client(node: &DevnetNode) -> anyhow::Result<NodeClient> {
    NodeClient::new(&node.rpc_url).map_err(|e| anyhow!("{}: {e}", node.name))
}

fn keyspace_chain(name: &str, depth: u8) -> anyhow::Result<ChainId> {
    chain_of_keyspace(name, depth).with_context(|| format!("no chain for {name} at {depth}"))
}

fn put_tx(
    key_of: &SecretKey,
    chain: ChainId,
    nonce: u64,
    key: &str,
    value: &[u8],
) -> bitverse_blocktree::Transaction {
    UnsignedTx {
        chain,
        sender: key_of.account(),
        nonce,
        fee: if chain.is_root() {
            Amount(1)
        } else {
            Amount(0)
        },
        payload: TxPayload::Put {
            key: key.to_owned(),
            value: value.to_vec(),
        },
    }
    .sign(key_of)
}

/// Streams writes to the node at `url`, round after round: a few to each target, then waits
/// until each is in a block and records it as acknowledged, until the node is killed. An error
/// before `killed` is set is a real failure.
async fn write_stream(
    url: String,
    cycle: u32,
    mut targets: Vec<Target>,
    acked: Arc<Mutex<Vec<Acked>>>,
    killed: Arc<AtomicBool>,
) -> Result<(), String> {
    let alice = SecretKey::dev("alice");
    let bob = SecretKey::dev("bob");
    let carol = SecretKey::dev("carol").account();
    let client = NodeClient::new(&url).map_err(|e| e.to_string())?;
    let fail = |what: String| {
        if killed.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(what)
        }
    };
    let mut index = 0u64;
    loop {
        let mut sent = Vec::new();
        for _ in 0..WRITES_PER_TARGET_IN_FLIGHT {
            for target in &mut targets {
                let (tx, put) = match target.keyspace {
                    Some(name) => {
                        let key = format!("{name}/c{cycle}/w{index}");
                        let value = format!("value {cycle}.{index}").into_bytes();
                        let tx = put_tx(&alice, target.chain, target.nonce, &key, &value);
                        (tx, Some((key, value)))
                    }
                    None => {
                        let tx = UnsignedTx {
                            chain: ChainId::ROOT,
                            sender: bob.account(),
                            nonce: target.nonce,
                            fee: Amount(1),
                            payload: TxPayload::Transfer {
                                to: carol,
                                amount: Amount(1 + u128::from(index % 1000)),
                            },
                        }
                        .sign(&bob);
                        (tx, None)
                    }
                };
                match client.send_transaction(&tx).await {
                    Ok(hash) => sent.push(Acked {
                        chain: target.chain,
                        hash,
                        put,
                        cycle,
                    }),
                    Err(e @ CliError::Refused { .. }) => {
                        return fail(format!("write {index} refused: {e}"));
                    }
                    Err(e) => return fail(format!("sending write {index}: {e}")),
                }
                target.nonce += 1;
                index += 1;
            }
        }
        for write in sent {
            match wait_included(&client, &write).await {
                Ok(()) => match acked.lock() {
                    Ok(mut list) => list.push(write),
                    Err(_) => return Err("the acknowledged list is poisoned".into()),
                },
                Err(e) => return fail(e),
            }
        }
    }
}

/// Waits until the node reports `write` in a block.
async fn wait_included(client: &NodeClient, write: &Acked) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_millis(INCLUSION_TIMEOUT_MS);
    loop {
        let status = client
            .transaction(&write.hash, Some(write.chain))
            .await
            .map_err(|e| format!("asking for {}: {e}", write.hash))?;
        match status.status {
            TxStatusName::Included => return Ok(()),
            TxStatusName::Dropped => {
                return Err(format!(
                    "write {} was dropped: {}",
                    write.hash,
                    status.error.unwrap_or_default()
                ));
            }
            TxStatusName::Pending | TxStatusName::Unknown => {}
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "write {} not in a block after {} s",
                write.hash,
                INCLUSION_TIMEOUT_MS / 1000
            ));
        }
        tokio::time::sleep(Duration::from_millis(INCLUSION_POLL_MS)).await;
    }
}

/// Checks that every acknowledged put in `acked` reads its value on `node`.
async fn check_values(
    node: &NodeClient,
    acked: &[Acked],
    whose: &str,
    cycle: u32,
) -> anyhow::Result<()> {
    let puts: Vec<(&Acked, &String, &Vec<u8>)> = acked
        .iter()
        .filter_map(|a| a.put.as_ref().map(|(key, value)| (a, key, value)))
        .collect();
    for chunk in puts.chunks(CHECK_BATCH_CALLS_MAX) {
        let mut batch = BatchRequestBuilder::new();
        for (_, key, _) in chunk {
            batch
                .insert(METHOD_GET_VALUE, rpc_params![key])
                .map_err(|e| anyhow!("cannot encode a batch: {e}"))?;
        }
        let answers = node
            .http()
            .batch_request::<ValueResult>(batch)
            .await
            .map_err(|e| anyhow!("{whose}: bv_getValue batch: {e}"))?;
        for ((acked, key, value), answer) in chunk.iter().zip(answers) {
            let expected = hex::encode(value);
            let found = match answer {
                Ok(read) if read.value_hex.as_deref() == Some(expected.as_str()) => continue,
                Ok(read) => match read.value_hex {
                    Some(other) => format!("it holds {other} instead of {expected}"),
                    None => "it holds nothing".to_owned(),
                },
                // An unknown keyspace, say: the write is gone all the same.
                Err(e) => format!("reading it fails: {}", e.message()),
            };
            bail!(
                "acknowledged put {key} (tx {}, cycle {}) LOST on {whose} after the kill in \
                 cycle {cycle}: {found}",
                acked.hash,
                acked.cycle,
            );
        }
    }
    Ok(())
}

/// Checks the proof `node` gives for `key`: it verifies against its root header's state root,
/// through every level down to the key's chain, and proves `value`.
async fn check_proof(
    node: &NodeClient,
    key: &str,
    value: &[u8],
    whose: &str,
    cycle: u32,
) -> anyhow::Result<()> {
    let answer = node
        .proof(key)
        .await
        .map_err(|e| anyhow!("{whose}: proof of {key}: {e}"))?;
    let bytes = hex::decode(&answer.proof_hex).context("proof hex")?;
    let proof = ValueProof::from_bytes(&bytes).map_err(|e| anyhow!("{whose}: {key}: {e}"))?;
    proof.verify().map_err(|e| {
        anyhow!(
            "cycle {cycle}: the proof of {key} on {whose} does not verify against its root \
             header (stored state differs from the state root?): {e}"
        )
    })?;
    if proof.value.as_deref() != Some(value) {
        bail!(
            "cycle {cycle}: {whose} proves {key} holds {:?}",
            proof.value
        );
    }
    Ok(())
}

/// The tip of every chain `node` tracks, by chain.
async fn tips(node: &NodeClient) -> Result<BTreeMap<String, Hash>, CliError> {
    let chains: Vec<ChainResult> = node.chains().await?;
    Ok(chains
        .into_iter()
        .filter(|c| c.tracked)
        .map(|c| (c.chain, c.tip))
        .collect())
}

/// The block `hash` of `chain` as `node` serves it; `None` while it does not.
async fn block_by_hash(node: &NodeClient, hash: &Hash, chain: &str) -> Option<BlockResult> {
    node.http()
        .request::<Option<BlockResult>, _>(
            METHOD_GET_BLOCK_BY_HASH,
            rpc_params![hash.to_hex(), chain],
        )
        .await
        .ok()
        .flatten()
}
