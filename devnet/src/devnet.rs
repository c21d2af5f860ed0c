//! `bitverse devnet`: a local network of N `bitverse node` processes on loopback, all mining the
//! `local` network, connected through the first node, until Ctrl-C stops them all.

use std::fs;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bitverse_blocktree::{DEV_ACCOUNT_NAMES, TxPayload, UnsignedTx};
use bitverse_pricing::TaskKind;
use bitverse_primitives::{Amount, BASE_UNITS_PER_COIN, ChainId, Hash, SecretKey};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use bitverse_client::NodeClient;
use bitverse_client::wait_for_inclusion;
use bitverse_node::node::RPC_ADDR_FILE;
use bitverse_node::tools::DevnetOptions;
use bitverse_p2p::P2P_ADDR_FILE;

/// Most nodes one devnet runs: each is a process with its own database and miner, and the
/// machine's cores are shared by all of them.
pub(crate) const DEVNET_NODES_MAX: usize = 16;
/// How long one node may take to open its database and bind its RPC and P2P addresses.
const NODE_START_TIMEOUT_MS: u64 = 60_000;
/// How often a starting node's address files are looked for: often, since `bench crash`
/// measures restarts by it.
const START_POLL_MS: u64 = 5;
/// How long a node may take to stop after SIGTERM before it is killed.
const NODE_STOP_TIMEOUT_MS: u64 = 15_000;
/// How often the devnet checks on its nodes and on the address files it waits for.
const POLL_INTERVAL_MS: u64 = 100;
/// Lines of a failed node's log shown with the error.
const LOG_TAIL_LINES: usize = 20;
/// Bytes read from the end of a log for that tail: enough for the lines, bounded for a huge log.
const LOG_TAIL_BYTES_MAX: u64 = 16 * 1024;
/// The network every devnet node runs.
const DEVNET_NETWORK: &str = "local";
/// What each devnet node stakes in each role (offerer, relayer) from its own dev account, so
/// that a quote lists every node and lineups have relayers at once: 100 BV.
pub(crate) const DEVNET_STAKE_PER_ROLE: Amount = Amount(100 * BASE_UNITS_PER_COIN);
/// What each devnet node stakes as a storer: 10 BV.
const DEVNET_STORER_STAKE: Amount = Amount(10 * BASE_UNITS_PER_COIN);
/// The dev accounts funded at genesis that fund the devnet's nodes, in turn.
pub(crate) const DEVNET_FUNDERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
/// The shard capacity each devnet node declares as a storer.
const DEVNET_STORE_CAPACITY: &str = "4GiB";
/// What each node is given for its market transactions' fees: 0.01 BV.
const DEVNET_MARKET_FEES: Amount = Amount(BASE_UNITS_PER_COIN / 100);
/// How long funding and staking (a few root blocks) may take before the devnet says it failed.
const DEVNET_STAKE_TIMEOUT_SECS: u64 = 180;
/// The fee of each funding and staking transaction, in base units.
const DEVNET_TX_FEE: Amount = Amount(1);

/// One node process of a devnet (or of a network benchmark).
pub(crate) struct DevnetNode {
    pub(crate) name: String,
    pub(crate) data_dir: PathBuf,
    child: Child,
    pub(crate) rpc_url: String,
    pub(crate) p2p_addr: String,
    miner: String,
}

/// Which network a node runs, and how it produces blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeNetwork {
    /// The `local` network: proof of work, mined by the nodes started with `mine`.
    Local,
    /// `--dev`: the dev network, sealing a block as soon as a transaction waits.
    DevSealer,
    /// `--network dev` without `--dev`: the dev network, following a sealer over the network.
    DevFollower,
}

/// How to start one node.
pub(crate) struct NodeLaunch<'a> {
    /// Its network and how it produces blocks.
    pub(crate) network: NodeNetwork,
    /// Mine (paying the dev account named like the node), or only follow.
    pub(crate) mine: bool,
    /// Track every chain of the blocktree (`--track-all`), or the root only.
    pub(crate) track_all: bool,
    /// P2P addresses to dial at start.
    pub(crate) bootstrap: Vec<String>,
    /// `--log-level` for the node, if any.
    pub(crate) log_level: Option<&'a str>,
    /// Take the market roles (offer and relay) with the node's own dev key, and this
    /// test-only fault (`lie`, `silent`) if any.
    pub(crate) market: Option<Option<&'a str>>,
    /// Take the storer's role (`--store`) with the node's own dev key.
    pub(crate) store: bool,
}

impl NodeLaunch<'_> {
    /// A `--dev` node alone: sealing a block as soon as a transaction arrives, no mining, no
    /// peers, no roles, the root only.
    pub(crate) fn dev_sealer() -> Self {
        NodeLaunch {
            network: NodeNetwork::DevSealer,
            mine: false,
            track_all: false,
            bootstrap: Vec::new(),
            log_level: None,
            market: None,
            store: false,
        }
    }
}

impl DevnetNode {
    /// The node's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL, as a crash or a power cut would end it (for the
    /// process; the operating system keeps what it had written), and reaps it.
    pub(crate) fn kill_9(&mut self) -> anyhow::Result<()> {
        // `Child::kill` sends SIGKILL on Unix.
        self.child
            .kill()
            .with_context(|| format!("cannot kill {}", self.name))?;
        self.child
            .wait()
            .with_context(|| format!("cannot reap {}", self.name))?;
        Ok(())
    }
}

impl Drop for DevnetNode {
    /// A node dropped on an error path (say, while the devnet waits for it to start) is stopped
    /// like the others; one that has exited already is left alone.
    fn drop(&mut self) {
        stop_all(std::slice::from_mut(self));
    }
}

/// Every node started so far: stopped (SIGTERM, then SIGKILL) whenever the devnet ends, on
/// success, error or panic, so that nothing it started outlives it.
#[derive(Default)]
pub(crate) struct Nodes(pub(crate) Vec<DevnetNode>);

impl Drop for Nodes {
    fn drop(&mut self) {
        stop_all(&mut self.0);
    }
}

/// Runs the devnet until Ctrl-C or SIGTERM, or until one of its nodes dies.
pub(crate) async fn run(args: DevnetOptions, log_level: Option<String>) -> anyhow::Result<()> {
    if args.nodes == 0 || args.nodes > DEVNET_NODES_MAX {
        bail!(
            "--nodes must be between 1 and {DEVNET_NODES_MAX}, not {}",
            args.nodes
        );
    }
    fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create devnet directory {}", args.dir.display()))?;
    let exe = crate::bitverse_exe()?;

    let mut nodes = start_devnet_nodes(
        &exe,
        &args.dir,
        args.nodes,
        log_level.as_deref(),
        &args.market_faults,
    )?;
    print_summary(&args.dir, &nodes.0);
    let names: Vec<String> = nodes.0.iter().map(|n| n.name.clone()).collect();
    let mut staking = Box::pin(stake_every_node(nodes.0[0].rpc_url.clone(), names));
    let mut staked = false;

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let mut poll = tokio::time::interval(Duration::from_millis(POLL_INTERVAL_MS));
    let outcome = loop {
        tokio::select! {
            result = tokio::signal::ctrl_c() => {
                result.context("cannot listen for Ctrl-C")?;
                break Ok(());
            }
            _ = terminate.recv() => break Ok(()),
            outcome = &mut staking, if !staked => {
                staked = true;
                match outcome {
                    Ok(()) => eprintln!(
                        "devnet: every node staked {} as offerer and as relayer, {} as storer",
                        DEVNET_STAKE_PER_ROLE.coins(),
                        DEVNET_STORER_STAKE.coins()
                    ),
                    // The network runs on; only the market lacks its staked nodes.
                    Err(e) => eprintln!("devnet: staking the nodes failed: {e:#}"),
                }
            }
            _ = poll.tick() => {
                if let Some(error) = first_exited(&mut nodes.0) {
                    break Err(error);
                }
            }
        }
    };
    eprintln!("devnet: stopping {} nodes …", nodes.0.len());
    // Dropping the nodes stops them (SIGTERM, then SIGKILL after a timeout).
    tokio::task::block_in_place(|| drop(nodes));
    eprintln!("devnet: stopped");
    outcome
}

/// Starts `count` nodes as `bitverse devnet` runs them, in `dir/node-i`: every one mines and
/// tracks (merged) every chain, so a deep keyspace works at once, joins through node-0, and
/// offers and relays with its own dev key, misbehaving as `market_faults` says (test only).
pub(crate) fn start_devnet_nodes(
    exe: &Path,
    dir: &Path,
    count: usize,
    log_level: Option<&str>,
    market_faults: &[(usize, String)],
) -> anyhow::Result<Nodes> {
    let mut nodes = Nodes::default();
    for index in 0..count {
        let launch = NodeLaunch {
            network: NodeNetwork::Local,
            mine: true,
            track_all: true,
            bootstrap: nodes
                .0
                .first()
                .map(|f| f.p2p_addr.clone())
                .into_iter()
                .collect(),
            log_level,
            market: Some(
                market_faults
                    .iter()
                    .find(|(i, _)| *i == index)
                    .map(|(_, fault)| fault.as_str()),
            ),
            store: true,
        };
        eprintln!("devnet: starting node-{index} …");
        let data_dir = dir.join(format!("node-{index}"));
        let node = tokio::task::block_in_place(|| start_node(exe, &data_dir, &launch))?;
        nodes.0.push(node);
    }
    Ok(nodes)
}

/// Has every node stake [`DEVNET_STAKE_PER_ROLE`] as offerer, relayer and storer from its own dev
/// account (and [`DEVNET_STORER_STAKE`] as storer), funded by the dev accounts alice, bob,
/// carol and dave in turn, as a user would: signed transactions sent to the first node,
/// each waited for. A node that sent its stakes before (a devnet resumed on its directory) is
/// left as it is.
pub(crate) async fn stake_every_node(url: String, names: Vec<String>) -> anyhow::Result<()> {
    let client = NodeClient::new(&url)?;
    let timeout = Duration::from_secs(DEVNET_STAKE_TIMEOUT_SECS);
    // The funded dev accounts take turns, so that sixteen nodes' stakes fit their balances.
    let mut funders = Vec::new();
    for name in DEVNET_FUNDERS {
        let key = SecretKey::dev(name);
        let nonce = client.account(&key.account()).await?.pending_nonce;
        funders.push((key, nonce));
    }
    // The three stakes, their fees, and what the node's roles pay in fees (Settle, Dispute,
    // DeclareCapacity and ConfirmShards transactions) before its own mining pays for them.
    let funding = DEVNET_STAKE_PER_ROLE
        .checked_add(DEVNET_STAKE_PER_ROLE)
        .and_then(|a| a.checked_add(DEVNET_STORER_STAKE))
        .and_then(|a| a.checked_add(Amount(DEVNET_TX_FEE.0 * 3)))
        .and_then(|a| a.checked_add(DEVNET_MARKET_FEES))
        .context("stake funding overflows")?;
    let mut to_stake = Vec::new();
    let mut sent = Vec::new();
    for name in &names {
        let key = SecretKey::dev(name);
        if client.account(&key.account()).await?.nonce > 0 {
            continue;
        }
        let payload = TxPayload::Transfer {
            to: key.account(),
            amount: funding,
        };
        let turn = sent.len() % funders.len().max(1);
        let Some((funder, nonce)) = funders.get_mut(turn) else {
            bail!("no dev account to fund the nodes from");
        };
        sent.push(send(&client, funder, *nonce, payload).await?);
        *nonce += 1;
        to_stake.push(key);
    }
    for hash in &sent {
        wait_for_inclusion(&client, hash, None, timeout).await?;
    }
    let mut stakes = Vec::new();
    for key in &to_stake {
        let stakes_of_node = [
            (0, TaskKind::Offer, DEVNET_STAKE_PER_ROLE),
            (1, TaskKind::Relay, DEVNET_STAKE_PER_ROLE),
            (2, TaskKind::Store, DEVNET_STORER_STAKE),
        ];
        for (nonce, role, amount) in stakes_of_node {
            let payload = TxPayload::Stake { amount, role };
            stakes.push(send(&client, key, nonce, payload).await?);
        }
    }
    for hash in &stakes {
        wait_for_inclusion(&client, hash, None, timeout).await?;
    }
    Ok(())
}

/// Signs `payload` for the root with `key` at `nonce` and sends it; returns its hash.
async fn send(
    client: &NodeClient,
    key: &SecretKey,
    nonce: u64,
    payload: TxPayload,
) -> anyhow::Result<Hash> {
    let tx = UnsignedTx {
        chain: ChainId::ROOT,
        sender: key.account(),
        nonce,
        fee: DEVNET_TX_FEE,
        payload,
    }
    .sign(key);
    Ok(client.send_transaction(&tx).await?)
}

/// Starts a `local` node on `data_dir` (named after the directory) and waits until it has
/// written both of its addresses. Blocks the thread while it waits.
pub(crate) fn start_node(
    exe: &Path,
    data_dir: &Path,
    launch: &NodeLaunch<'_>,
) -> anyhow::Result<DevnetNode> {
    let name = data_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "node".to_owned());
    let data_dir = data_dir.to_owned();
    fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let rpc_file = data_dir.join(RPC_ADDR_FILE);
    let p2p_file = data_dir.join(P2P_ADDR_FILE);
    // Address files of a previous run would name dead ports; the node removes them too, but
    // removing them here means the devnet never reads one before the node rewrote it.
    for stale in [&rpc_file, &p2p_file] {
        match fs::remove_file(stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", stale.display())),
        }
    }
    let log_path = data_dir.join("node.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    // Each node is paid as its own dev account, so `balance dev:node-0` shows what it mined.
    let miner = SecretKey::dev(&name).account().to_string();
    let mut command = Command::new(exe);
    command.arg("node");
    match launch.network {
        NodeNetwork::Local => command.args(["--network", DEVNET_NETWORK]),
        NodeNetwork::DevSealer => command.arg("--dev"),
        NodeNetwork::DevFollower => command.args(["--network", "dev"]),
    };
    command
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--rpc-addr", "127.0.0.1:0"])
        .args(["--p2p-addr", "/ip4/127.0.0.1/tcp/0"]);
    if launch.mine {
        command.args(["--mine", "--miner", &miner]);
    }
    if launch.track_all {
        command.arg("--track-all");
    }
    if let Some(fault) = launch.market {
        command.args(["--offer", "--relay"]);
        if let Some(fault) = fault {
            command.args(["--market-fault", fault]);
        }
    }
    if launch.store {
        command.args(["--store", "--store-capacity", DEVNET_STORE_CAPACITY]);
    }
    if launch.market.is_some() || launch.store {
        command.args(["--market-key", &format!("dev:{name}")]);
    }
    for address in &launch.bootstrap {
        command.args(["--bootstrap", address]);
    }
    if let Some(level) = launch.log_level {
        command.args(["--log-level", level]);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let mut node = DevnetNode {
        name,
        data_dir,
        child,
        rpc_url: String::new(),
        p2p_addr: String::new(),
        miner,
    };
    let deadline = Instant::now() + Duration::from_millis(NODE_START_TIMEOUT_MS);
    loop {
        if let Some(status) = node.child.try_wait().context("cannot check on a node")? {
            bail!(
                "{} exited during start-up ({status}); the end of {}:\n{}",
                node.name,
                log_path.display(),
                log_tail(&log_path)
            );
        }
        if let (Some(rpc), Some(p2p)) = (read_addr(&rpc_file)?, read_addr(&p2p_file)?) {
            node.rpc_url = rpc;
            node.p2p_addr = p2p;
            return Ok(node);
        }
        if Instant::now() >= deadline {
            // Dropping `node` on the way out stops it.
            bail!(
                "{} did not bind its addresses within {} s; the end of {}:\n{}",
                node.name,
                NODE_START_TIMEOUT_MS / 1000,
                log_path.display(),
                log_tail(&log_path)
            );
        }
        std::thread::sleep(Duration::from_millis(START_POLL_MS));
    }
}

/// The address in an address file, once the node has written it (whole: nodes write through a
/// rename).
fn read_addr(path: &Path) -> anyhow::Result<Option<String>> {
    match fs::read_to_string(path) {
        // One address per line (p2p.addr may list several); the first serves.
        Ok(text) => Ok(text
            .lines()
            .next()
            .map(|line| line.trim().to_owned())
            .filter(|line| !line.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn print_summary(dir: &Path, nodes: &[DevnetNode]) {
    println!(
        "devnet: {} nodes on network {DEVNET_NETWORK}, data in {}",
        nodes.len(),
        dir.display()
    );
    for node in nodes {
        println!("{}  rpc {}", node.name, node.rpc_url);
    }
    for node in nodes {
        println!(
            "{}  p2p {}  miner {} (dev:{})  log {}",
            node.name,
            node.p2p_addr,
            node.miner,
            node.name,
            node.data_dir.join("node.log").display()
        );
    }
    println!(
        "Funded dev accounts: {} (sign with --key dev:NAME).",
        DEV_ACCOUNT_NAMES.join(", ")
    );
    if let Some(first) = nodes.first() {
        println!("Try: bitverse status --rpc {}", first.rpc_url);
    }
    println!("Ctrl-C stops every node.");
}

/// The first node found to have exited, as an error naming it.
fn first_exited(nodes: &mut [DevnetNode]) -> Option<anyhow::Error> {
    for node in nodes {
        let status = match node.child.try_wait() {
            Ok(None) => continue,
            Ok(Some(status)) => status.to_string(),
            Err(e) => format!("cannot be checked: {e}"),
        };
        let log_path = node.data_dir.join("node.log");
        return Some(anyhow::anyhow!(
            "{} exited ({status}); stopping the devnet. The end of {}:\n{}",
            node.name,
            log_path.display(),
            log_tail(&log_path)
        ));
    }
    None
}

/// Asks every running node to stop (SIGTERM: each finishes its block in hand and closes its
/// database), then kills those that have not stopped in time.
pub(crate) fn stop_all(nodes: &mut [DevnetNode]) {
    for node in nodes.iter_mut() {
        if matches!(node.child.try_wait(), Ok(None))
            && let Ok(pid) = i32::try_from(node.child.id())
        {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
    let deadline = Instant::now() + Duration::from_millis(NODE_STOP_TIMEOUT_MS);
    for node in nodes.iter_mut() {
        loop {
            match node.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
                }
                _ => {
                    eprintln!("devnet: {} did not stop in time; killing it", node.name);
                    let _ = node.child.kill();
                    let _ = node.child.wait();
                    break;
                }
            }
        }
    }
}

/// The last lines of a log, for an error message.
pub(crate) fn log_tail(path: &Path) -> String {
    let Ok(mut file) = fs::File::open(path) else {
        return "(no log)".into();
    };
    let size_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    if file
        .seek(SeekFrom::Start(
            size_bytes.saturating_sub(LOG_TAIL_BYTES_MAX),
        ))
        .is_err()
    {
        return "(log unreadable)".into();
    }
    let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[start..].join("\n")
}
