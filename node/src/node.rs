//! `bitverse node`: opens the chain in the data directory, joins the peer-to-peer network
//! (with `--p2p-addr`), serves JSON-RPC, produces blocks (a dev sealer, or a simple miner with
//! `--mine`) and publishes them, and stops cleanly on Ctrl-C or SIGTERM.

use std::fs;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use bitverse_blocktree::{Block, Blocktree, ChainError, ChainParams, Tracking};
use bitverse_primitives::{AccountId, Hash};
use tokio::sync::{Notify, watch};

use bitverse_blob_agent::role::{StorerConfig, StorerRole};
use bitverse_client::keys::load_key;
use bitverse_index::{self as browse, BROWSE_DB_DIR, BrowseIndex, BrowseLimits};
use bitverse_market_agent::Exchange;
use bitverse_market_agent::agent::{self, MarketFault, MarketRoles};
use bitverse_metrics::{BlockSource, NodeMetrics};
use bitverse_p2p::{self as p2p, P2P_ADDR_FILE, P2pConfig, P2pHandle, write_addr_file};
use bitverse_rpc_server::{self as server, RpcContext};
use bitverse_shard_store::ShardStoreConfig;

use crate::config::MarketFaultArg;
use crate::config::NodeConfig;

/// File in the data directory holding the RPC address actually bound, as `http://IP:PORT`.
pub const RPC_ADDR_FILE: &str = "rpc.addr";
/// Subdirectory of the data directory holding a storer's shards (`--store`).
pub const SHARDS_DIR: &str = "shards";
/// Subdirectory of the data directory holding the chain's RocksDB database.
pub const CHAIN_DB_DIR: &str = "chain";
/// The dev sealer also looks at the mempool this often, in case a wake-up was missed (a
/// transaction admitted while it was sealing the previous block is rung once, not queued).
const DEV_SEAL_POLL_MS: u64 = 200;
/// Pause between back-to-back dev blocks. Under load, sealing again the moment a block is done
/// makes blocks of ~4 transactions, and the per-block cost (state commit, synced RocksDB
/// write) dominates: 2 ms raised `bench puts` from ~2,900 to ~4,700 puts/s on 2 cores.
const DEV_SEAL_BACK_TO_BACK_PAUSE_MS: u64 = 2;
/// Nonces a miner tries per attempt before it rebuilds the template: bounds how long one
/// attempt holds the chain lock, and lets new transactions into the next block.
const MINE_NONCE_ATTEMPTS_PER_ROUND: u64 = 200_000;

/// Milliseconds since the Unix epoch, as the block rules want the clock.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Runs the node until it is told to stop, with the configuration `config.rs` made of the
/// flags, the file and the defaults.
pub(crate) async fn run(config: NodeConfig) -> anyhow::Result<()> {
    if let Some(path) = &config.config_file {
        tracing::info!(config = %path.display(), "configuration read");
    }
    let args = &config.options;
    let network = config.network();
    let params = ChainParams::named(network)
        .with_context(|| format!("unknown network {network:?} (known: dev, local)"))?;
    if args.dev && !params.difficulty_fixed {
        bail!("--dev needs a network with fixed minimum difficulty (dev), not {network:?}");
    }
    if args.mine && args.dev {
        bail!("--mine is for non-dev networks; --dev already seals blocks");
    }
    let miner: AccountId = config.miner();
    let data_dir = &config.data_dir;

    fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let addr_file = data_dir.join(RPC_ADDR_FILE);
    // A stale address from a previous run would send clients (and tests) to a dead port.
    match fs::remove_file(&addr_file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", addr_file.display())),
    }

    let tracking = if args.track_all || (args.dev && args.track.is_empty()) {
        Tracking::All
    } else {
        Tracking::Prefixes(args.track.clone())
    };
    let db_dir = data_dir.join(CHAIN_DB_DIR);
    let open_params = params.clone();
    // Boxed: ChainError is large, and only its text reaches the user.
    let tree = tokio::task::spawn_blocking(move || {
        bitverse_store_rocks::open_blocktree(&db_dir, open_params, tracking).map_err(Box::new)
    })
    .await?
    .with_context(|| format!("cannot open the blocktree in {}", data_dir.display()))?;
    let tree = Arc::new(tree);
    let chain = tree.root().clone();
    let tip = chain.lock().tip();
    {
        let root = chain.lock();
        tracing::info!(
            network = %params.network,
            genesis = %root.genesis_hash(),
            height = tip.height,
            tip = %tip.hash,
            data_chains = tree.data_chains().len(),
            "blocktree opened"
        );
    }
    let tx_admitted = Arc::new(Notify::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let metrics = Arc::new(NodeMetrics::new(tip.hash));

    // The storer's role opens its shard store before the network, which hands it requests.
    let mut storer = match storer_config(&config)? {
        Some(storer_config) => {
            let tree = tree.clone();
            let role = tokio::task::spawn_blocking(move || StorerRole::open(storer_config, tree))
                .await?
                .with_context(|| {
                    format!("cannot open the shard store in {}", data_dir.display())
                })?;
            Some(role)
        }
        None => None,
    };
    // The network comes up before RPC, so that when rpc.addr appears p2p.addr is there too.
    let network = match &args.p2p_addr {
        Some(listen) => {
            let config = P2pConfig {
                listen: listen.clone(),
                bootstrap: args.bootstrap.clone(),
                data_dir: data_dir.clone(),
                metrics: metrics.clone(),
                shard_service: storer
                    .as_ref()
                    .map(|role| role.service.clone() as Arc<dyn bitverse_p2p::ShardService>),
            };
            Some(p2p::start(config, tree.clone(), tx_admitted.clone(), stop_rx.clone()).await?)
        }
        None => None,
    };
    let p2p_handle: Option<P2pHandle> = network.as_ref().map(|(handle, _, _)| handle.clone());
    let (network, market_heard) = match network {
        Some((handle, task, heard)) => (Some((handle, task)), Some(heard)),
        None => (None, None),
    };

    // The market: what the network hears goes into the exchange's book; the agent takes the
    // roles asked for.
    let (exchange, agent_inbound) = Exchange::new(p2p_handle.clone());
    let market_listener = market_heard.map(|mut heard| {
        let exchange = exchange.clone();
        tokio::spawn(async move {
            while let Some(message) = heard.recv().await {
                exchange.heard(message);
            }
        })
    });
    let market_agent = match market_roles(&config)? {
        Some(roles) => {
            let (exchange, tree, p2p, notify, stop) = (
                exchange.clone(),
                tree.clone(),
                p2p_handle.clone(),
                tx_admitted.clone(),
                stop_rx.clone(),
            );
            Some(tokio::task::spawn_blocking(move || {
                agent::run(exchange, tree, roles, agent_inbound, (p2p, notify), stop)
            }))
        }
        None => None,
    };

    // The storer's keeper: declares capacity and peer id, confirms shards, drops ended ones.
    let storer_keeper = match (storer.take(), p2p_handle.clone()) {
        (Some(mut role), Some(p2p)) => {
            let (notify, stop) = (tx_admitted.clone(), stop_rx.clone());
            Some(tokio::task::spawn_blocking(move || {
                role.run_keeper(p2p, || notify.notify_one(), || *stop.borrow());
            }))
        }
        _ => None,
    };

    // The publishers' challenge schedules, when asked for.
    let challenger = config.options.challenges.then(|| {
        let dir = crate::challenger::schedules_dir(config.options.challenges_dir.as_deref());
        let (tree, p2p, notify, stop) = (
            tree.clone(),
            p2p_handle.clone(),
            tx_admitted.clone(),
            stop_rx.clone(),
        );
        tokio::task::spawn_blocking(move || {
            crate::challenger::run(tree, dir, p2p, || notify.notify_one(), || *stop.borrow());
        })
    });

    // The browse index, in its own database; the follower catches it up (or rebuilds it when
    // missing) in the background, and `bv_browse` catches up before answering.
    let browse_dir = data_dir.join(BROWSE_DB_DIR);
    let browse = tokio::task::spawn_blocking(move || {
        BrowseIndex::open(&browse_dir, BrowseLimits::default())
    })
    .await?
    .with_context(|| format!("cannot open the browse index in {}", data_dir.display()))?;
    let browse = Arc::new(browse);
    let browse_follower = tokio::spawn(browse::follow(
        browse.clone(),
        tree.clone(),
        metrics.clone(),
        stop_rx.clone(),
    ));

    let context = RpcContext {
        browse,
        chain: chain.clone(),
        tree: tree.clone(),
        tx_admitted: tx_admitted.clone(),
        dev: args.dev,
        p2p: p2p_handle.clone(),
        metrics: metrics.clone(),
        miner,
        exchange,
    };
    let (bound, rpc) = server::start(config.rpc_addr(), context).await?;
    let url = format!("http://{bound}");
    write_addr_file(&addr_file, &url)?;
    tracing::info!(rpc = %url, "serving JSON-RPC");

    let producer = if args.dev {
        tracing::info!(%miner, "dev mode: sealing a block whenever the mempool holds a transaction");
        Some(tokio::spawn(dev_sealer(
            tree.clone(),
            miner,
            tx_admitted,
            (p2p_handle, metrics),
            stop_rx,
        )))
    } else if args.mine {
        tracing::info!(%miner, "mining");
        Some(tokio::spawn(miner_loop(
            tree.clone(),
            miner,
            (p2p_handle, metrics),
            stop_rx,
        )))
    } else {
        if network.is_none() {
            tracing::warn!("not producing blocks: no --dev, no --mine, and no --p2p-addr");
        }
        None
    };

    shutdown_signal().await?;
    tracing::info!("stopping");
    // Stop taking requests first, then let block production finish the block in hand, so
    // the last block is whole; RocksDB closes when the chain is dropped.
    let _ = rpc.stop();
    rpc.stopped().await;
    let _ = stop_tx.send(true);
    if let Some(producer) = producer {
        producer.await?;
    }
    browse_follower.await?;
    if let Some(agent) = market_agent {
        agent.await??;
    }
    if let Some(keeper) = storer_keeper {
        keeper.await?;
    }
    if let Some(challenger) = challenger {
        challenger.await?;
    }
    if let Some((_, task)) = network {
        task.await?;
        let _ = fs::remove_file(data_dir.join(P2P_ADDR_FILE));
    }
    if let Some(listener) = market_listener {
        // The network's end of its queue is gone with the network.
        listener.await?;
    }
    let _ = fs::remove_file(&addr_file);
    drop(chain);
    drop(tree);
    tracing::info!("stopped");
    Ok(())
}

/// The storer's role as `config` asks for it (`--store`), with its key loaded.
fn storer_config(config: &NodeConfig) -> anyhow::Result<Option<StorerConfig>> {
    let settings = &config.options;
    if !settings.store {
        return Ok(None);
    }
    let spec = settings
        .market_key
        .as_deref()
        .context("--store needs --market-key")?;
    let key = load_key(spec).with_context(|| format!("storer key {spec}"))?;
    Ok(Some(StorerConfig {
        store: ShardStoreConfig {
            dir: config.data_dir.join(SHARDS_DIR),
            capacity_bytes: config.store_capacity_bytes(),
        },
        key,
    }))
}

/// The market roles `config` asks for, with their key loaded; `None` when it asks for none.
fn market_roles(config: &NodeConfig) -> anyhow::Result<Option<MarketRoles>> {
    let settings = &config.options;
    if !settings.offer && !settings.relay {
        return Ok(None);
    }
    let spec = settings
        .market_key
        .as_deref()
        .context("--offer and --relay need --market-key")?;
    let key = load_key(spec).with_context(|| format!("market key {spec}"))?;
    Ok(Some(MarketRoles {
        offer: settings.offer,
        relay: settings.relay,
        key,
        fault: config.market_fault.map(|fault| match fault {
            MarketFaultArg::Lie => MarketFault::Lie,
            MarketFaultArg::Silent => MarketFault::Silent,
        }),
    }))
}

async fn shutdown_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot listen for Ctrl-C")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

/// What the log says about a block this node produced.
struct ProducedBlock {
    chain: String,
    height: u64,
    hash: Hash,
    txs: usize,
    difficulty: u64,
}

/// Reports produced blocks, on the blocking thread, and reduces them to what is logged: each
/// block goes to the metrics and the network (on its chain's topic) with its chain locked, so
/// the tip announced with it is its own or later.
fn report_produced(
    tree: &Blocktree,
    produced: Result<Vec<Block>, ChainError>,
    (p2p, metrics): (&Option<P2pHandle>, &Arc<NodeMetrics>),
    source: BlockSource,
    elapsed: Duration,
) -> Result<Vec<ProducedBlock>, ChainError> {
    for block in produced.iter().flatten() {
        let Some(chain) = tree.chain(block.header.chain) else {
            continue;
        };
        let chain = chain.lock();
        metrics.produced(&chain, block, source, elapsed);
        if let Some(p2p) = p2p {
            p2p.publish_block(block, &chain);
        }
    }
    produced.map(|blocks| {
        blocks
            .iter()
            .map(|b| ProducedBlock {
                chain: b.header.chain.to_string(),
                height: b.header.height,
                hash: b.hash(),
                txs: b.transactions.len(),
                difficulty: b.header.difficulty,
            })
            .collect()
    })
}

/// Where a produced block goes besides the chain: the network, when there is one, and the
/// metrics (and through them the heads feed).
type Outlets = (Option<P2pHandle>, Arc<NodeMetrics>);

/// Dev mode: seal a block whenever a mempool holds a transaction, on any chain, and the
/// ancestors of every chain that moved, so a write at any depth is anchored in the root at once.
async fn dev_sealer(
    tree: Arc<Blocktree>,
    miner: AccountId,
    tx_admitted: Arc<Notify>,
    outlets: Outlets,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let sealing_tree = tree.clone();
        let outlets = outlets.clone();
        let sealed = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let produced = sealing_tree.seal_dev(miner, now_ms());
            let elapsed = started.elapsed();
            let (p2p, metrics) = &outlets;
            report_produced(
                &sealing_tree,
                produced,
                (p2p, metrics),
                BlockSource::Sealed,
                elapsed,
            )
        })
        .await;
        match sealed {
            Ok(Ok(blocks)) if !blocks.is_empty() => {
                for block in &blocks {
                    tracing::info!(
                        chain = %block.chain,
                        height = block.height,
                        hash = %block.hash,
                        txs = block.txs,
                        "sealed block"
                    );
                }
                // More may be waiting (a block holds at most BLOCK_TXS_MAX transactions), so
                // seal again; but only after a short pause, so submitters queued on the chain
                // lock get in first and the next block carries many transactions rather than a
                // few. A write to an idle node is still sealed at once.
                if !*stop.borrow() {
                    tokio::time::sleep(Duration::from_millis(DEV_SEAL_BACK_TO_BACK_PAUSE_MS)).await;
                    continue;
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "sealing failed"),
            Err(e) => tracing::error!(error = %e, "sealer task failed"),
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tx_admitted.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(DEV_SEAL_POLL_MS)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Non-dev mining, kept simple: one bounded run of nonces on each chain this node tracks, its
/// data chains deepest first (each anchoring its children's newest tips), the root last, again
/// and again (`Blocktree::mine_round`). Empty blocks are mined too, as on any proof-of-work
/// chain: a parent with no writes of its own still carries its children's anchors.
async fn miner_loop(
    tree: Arc<Blocktree>,
    miner: AccountId,
    outlets: Outlets,
    stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let mining_tree = tree.clone();
        let outlets = outlets.clone();
        let mined = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let produced = mining_tree.mine_round(miner, now_ms(), MINE_NONCE_ATTEMPTS_PER_ROUND);
            let (p2p, metrics) = &outlets;
            report_produced(
                &mining_tree,
                produced,
                (p2p, metrics),
                BlockSource::Mined,
                started.elapsed(),
            )
        })
        .await;
        match mined {
            Ok(Ok(blocks)) => {
                for block in blocks {
                    tracing::info!(
                        chain = %block.chain,
                        height = block.height,
                        hash = %block.hash,
                        txs = block.txs,
                        difficulty = block.difficulty,
                        "mined block"
                    );
                }
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "mining failed");
                // A persistent failure (e.g. storage) must not spin a core.
                tokio::time::sleep(Duration::from_millis(DEV_SEAL_POLL_MS)).await;
            }
            Err(e) => tracing::error!(error = %e, "miner task failed"),
        }
        // Let RPC calls waiting on the lock in between rounds.
        tokio::task::yield_now().await;
    }
}
