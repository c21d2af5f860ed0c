//! The peer-to-peer network (DESIGN.md §5): libp2p over TCP with Noise and Yamux; gossipsub
//! topics per chain for blocks and transactions with every message judged by the chain before
//! it is forwarded; a request-response protocol for headers-first sync, blocks and value
//! proofs; identify and Kademlia for discovery; bans for peers that send invalid data.
//!
//! Layout: `protocol` (names, wire types, limits, codec), `identity` (the persisted key),
//! `peers` (the bounded peer book and bans), `worker` (all chain work the network asks for,
//! off the swarm's task), `service` (the swarm and its loop). The rest of the node sees only
//! [`start`], [`P2pHandle`] and [`NetworkSnapshot`]: no libp2p type leaves this module.

mod identity;
mod peers;
mod protocol;
mod service;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bitverse_blocktree::{Block, Blocktree, Chain};
use bitverse_primitives::{ChainId, Hash};
use libp2p::Multiaddr;
use libp2p::futures::StreamExt;
use libp2p::gossipsub::IdentTopic;
use libp2p::swarm::SwarmEvent;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc, watch};

pub(crate) use worker::local_status;

use self::protocol::{NetworkNames, PeerStatus};
use self::service::{LoopInputs, Service};
use crate::metrics::NodeMetrics;

/// File in the data directory holding the p2p addresses actually bound, one per line, each
/// ending in `/p2p/PEER_ID`, so `--p2p-addr /ip4/127.0.0.1/tcp/0` can be found by others.
pub(crate) const P2P_ADDR_FILE: &str = "p2p.addr";
/// Blocks of this node waiting to be published. Short, since each may be 8 MiB; when full, a
/// block is not gossiped and peers fetch it through sync.
const PUBLISH_BLOCKS_QUEUE_MAX: usize = 4;
/// Transactions admitted through RPC waiting to be published.
const PUBLISH_TXS_QUEUE_MAX: usize = 1024;
/// How long the node waits for its listener to come up.
const LISTEN_TIMEOUT_MS: u64 = 10_000;

/// How the network is set up.
pub(crate) struct P2pConfig {
    /// Where to listen.
    pub(crate) listen: Multiaddr,
    /// Peers to dial at start, with or without `/p2p/PEER_ID`.
    pub(crate) bootstrap: Vec<Multiaddr>,
    /// The data directory: identity key and p2p.addr live there.
    pub(crate) data_dir: PathBuf,
    /// Where the chain worker reports gossip verdicts, imports and new tips.
    pub(crate) metrics: Arc<NodeMetrics>,
}

/// One connected peer, as `bv_networkStatus` shows it.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerSnapshot {
    /// Its peer id.
    pub(crate) peer_id: String,
    /// The address of the connection.
    pub(crate) addr: Option<String>,
    /// The height it announced.
    pub(crate) height: Option<u64>,
    /// The tip it announced.
    pub(crate) tip: Option<Hash>,
    /// The work it announced.
    pub(crate) cumulative_work: Option<u128>,
    /// Invalid messages it sent.
    pub(crate) rejected_messages: u32,
    /// Its gossipsub score.
    pub(crate) gossip_score: Option<f64>,
}

/// One banned peer, as `bv_networkStatus` shows it.
#[derive(Clone, Debug, Default)]
pub(crate) struct BanSnapshot {
    /// Its peer id.
    pub(crate) peer_id: String,
    /// Why.
    pub(crate) reason: String,
    /// Invalid messages it had sent.
    pub(crate) rejected_messages: u32,
    /// Until the ban is lifted.
    pub(crate) remaining_ms: u64,
}

/// What the network looks like now, refreshed by the swarm loop.
#[derive(Clone, Debug, Default)]
pub(crate) struct NetworkSnapshot {
    /// This node's peer id.
    pub(crate) peer_id: String,
    /// Where it listens, with `/p2p/PEER_ID`.
    pub(crate) listen_addrs: Vec<String>,
    /// Connected peers.
    pub(crate) peers: Vec<PeerSnapshot>,
    /// Banned peers.
    pub(crate) banned: Vec<BanSnapshot>,
    /// Whether a sync is running.
    pub(crate) syncing: bool,
    /// The peer synced from.
    pub(crate) sync_peer: Option<String>,
    /// The highest tip a peer announced.
    pub(crate) best_peer_height: Option<u64>,
    /// Blocks imported through sync since start.
    pub(crate) synced_blocks: u64,
}

/// The node's side of the publish queues.
pub(crate) struct PublishQueues {
    blocks: mpsc::Receiver<(Vec<u8>, PeerStatus)>,
    txs: mpsc::Receiver<Vec<u8>>,
}

/// What the rest of the node holds of the network: publish and look.
#[derive(Clone)]
pub(crate) struct P2pHandle {
    blocks: mpsc::Sender<(Vec<u8>, PeerStatus)>,
    txs: mpsc::Sender<Vec<u8>>,
    snapshot: Arc<Mutex<NetworkSnapshot>>,
}

impl P2pHandle {
    /// Publishes a block this node produced; `chain` is the chain it was imported into, still
    /// locked by the caller, for the tip to announce. Never waits: when the queue is full the
    /// block is left to sync.
    pub(crate) fn publish_block(&self, block: &Block, chain: &Chain) {
        if self
            .blocks
            .try_send((block.to_bytes(), local_status(chain)))
            .is_err()
        {
            tracing::debug!(hash = %block.hash(), "publish queue full; block left to sync");
        }
    }

    /// Publishes an admitted transaction's canonical bytes. Never waits.
    pub(crate) fn publish_transaction(&self, bytes: Vec<u8>) {
        if self.txs.try_send(bytes).is_err() {
            tracing::warn!("publish queue full; transaction not relayed");
        }
    }

    /// The network as it is now.
    pub(crate) fn snapshot(&self) -> NetworkSnapshot {
        self.snapshot.lock().clone()
    }
}

/// Starts the network: loads the identity, binds the listener, writes p2p.addr, dials the
/// bootstrap peers, and runs the swarm loop and the chain worker until `stop` turns true.
/// Returns once the listener is bound.
pub(crate) async fn start(
    config: P2pConfig,
    tree: Arc<Blocktree>,
    tx_admitted: Arc<Notify>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<(P2pHandle, tokio::task::JoinHandle<()>)> {
    let chain = tree.root().clone();
    let keypair = identity::load_or_create(&config.data_dir)?;
    let local_peer_id = keypair.public().to_peer_id();
    let local = local_status(&chain.lock());
    let names = NetworkNames::new(&local.genesis, ChainId::ROOT)?;
    let blocks_topic = IdentTopic::new(names.blocks_topic.clone());
    let txs_topic = IdentTopic::new(names.txs_topic.clone());
    let mut swarm =
        service::build_swarm(keypair, &names, &[blocks_topic.clone(), txs_topic.clone()])?;
    for topic in [&blocks_topic, &txs_topic] {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(topic)
            .map_err(|e| anyhow::anyhow!("cannot subscribe to {topic}: {e}"))?;
    }
    let addr_file = config.data_dir.join(P2P_ADDR_FILE);
    match std::fs::remove_file(&addr_file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", addr_file.display())),
    }
    swarm
        .listen_on(config.listen.clone())
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let first_addr = tokio::time::timeout(Duration::from_millis(LISTEN_TIMEOUT_MS), async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => return Ok(address),
                SwarmEvent::ListenerError { error, .. } => bail!("listener failed: {error}"),
                SwarmEvent::ListenerClosed { reason, .. } => {
                    bail!("listener closed: {reason:?}")
                }
                _ => {}
            }
        }
    })
    .await
    .with_context(|| format!("no listen address on {} in time", config.listen))??;
    let full_addr = first_addr
        .clone()
        .with(libp2p::multiaddr::Protocol::P2p(local_peer_id));
    crate::node::write_addr_file(&addr_file, &full_addr.to_string())?;
    tracing::info!(
        p2p = %full_addr,
        blocks_topic = %names.blocks_topic,
        "network listening"
    );

    let snapshot = Arc::new(Mutex::new(NetworkSnapshot {
        peer_id: local_peer_id.to_string(),
        listen_addrs: vec![full_addr.to_string()],
        ..NetworkSnapshot::default()
    }));
    let (blocks_tx, blocks_rx) = mpsc::channel(PUBLISH_BLOCKS_QUEUE_MAX);
    let (txs_tx, txs_rx) = mpsc::channel(PUBLISH_TXS_QUEUE_MAX);
    let (worker, results, worker_task) = worker::spawn(tree, tx_admitted, config.metrics.clone());
    let service = Service::new(
        swarm,
        names,
        (blocks_topic, txs_topic),
        local,
        config.bootstrap,
        vec![first_addr],
        snapshot.clone(),
    );
    let inputs = LoopInputs {
        worker,
        results,
        publish: PublishQueues {
            blocks: blocks_rx,
            txs: txs_rx,
        },
        stop,
    };
    let task = tokio::spawn(async move {
        service.run(inputs).await;
        // The loop owned the worker's queues; with them dropped the worker ends.
        let _ = worker_task.await;
    });
    Ok((
        P2pHandle {
            blocks: blocks_tx,
            txs: txs_tx,
            snapshot,
        },
        task,
    ))
}
