//! The peer-to-peer network (DESIGN.md §5): libp2p over TCP with Noise and Yamux; gossipsub
//! topics per chain for blocks and transactions with every message judged by the chain before
//! it is forwarded; a request-response protocol for headers-first sync, blocks and value
//! proofs; identify and Kademlia for discovery; bans for peers that send invalid data.
//!
//! Layout: `protocol` (names, wire types, limits, codec), `identity` (the persisted key),
//! `peers` (the bounded peer book and bans), `gate` (addresses refused before their handshake), `sync` (headers-first sync of every chain as a
//! plain state machine, no libp2p inside), `worker` (all chain work the network asks for,
//! off the swarm's task), `service` (the swarm and its loop, which drives `sync`). The rest
//! of the node sees only [`start`], [`P2pHandle`] (publish, forward a request for a chain it
//! does not track, look), [`NetworkSnapshot`], [`P2pAddr`] and the sync protocol's request and
//! response types that forwarding speaks: no libp2p type leaves this crate. [`flood`] is a
//! tool, not part of the node: the flooder `bitverse bench flood` attacks the nodes with.
//!
//! Invariant: the only crate of the workspace that names a libp2p type; it never touches the
//! chain from the swarm's task, and knows nothing of the RPC server or the market's roles.

pub mod flood;
mod gate;
mod identity;
mod peers;
mod protocol;
mod service;
mod shards;
mod sync;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bitverse_blocktree::{Block, Blocktree, Chain};
use bitverse_primitives::{ChainId, Hash};
use libp2p::Multiaddr;
use libp2p::futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc, watch};

pub use self::protocol::{SyncRequest, SyncResponse, WireTxStatus};
pub use self::shards::{
    SHARD_PIECE_BYTES_MAX, SHARD_RANGE_BYTES_MAX, SHARD_REFUSAL_BYTES_MAX, ShardRef, ShardRequest,
    ShardResponse, ShardService,
};

/// What the fuzz targets `sync_message` and `sync_machine` drive (`fuzz/`, docs/FUZZING.md):
/// the sync protocol's decoders and encoders as the codec runs them, with their limits, and the
/// headers-first sync machine with its events, actions and bounds. Built only under
/// `--cfg fuzzing`, which `scripts/fuzz` passes to every crate; no other build sees it.
#[cfg(fuzzing)]
pub mod fuzzing {
    pub use super::protocol::{
        ChainTip, PeerStatus, decode_request, decode_response, encode_request, encode_response,
    };
    pub use super::sync::{ChainSyncs, ImportFailure, LocalChain, SyncAction, SyncRequestId};

    /// Largest sync request on the wire.
    pub const SYNC_REQUEST_BYTES_MAX: usize = super::protocol::SYNC_REQUEST_BYTES_MAX;
    /// Largest sync response on the wire.
    pub const SYNC_RESPONSE_BYTES_MAX: usize = super::protocol::SYNC_RESPONSE_BYTES_MAX;
    /// Most chains one status names.
    pub const STATUS_CHAINS_MAX: usize = super::protocol::STATUS_CHAINS_MAX;
    /// Most headers in one headers response.
    pub const HEADERS_PER_RESPONSE_MAX: u32 = super::protocol::HEADERS_PER_RESPONSE_MAX;
    /// Most block hashes one blocks request may name.
    pub const BLOCKS_PER_REQUEST_MAX: usize = super::protocol::BLOCKS_PER_REQUEST_MAX;
    /// Chains synced at once.
    pub const SYNCS_AT_ONCE_MAX: usize = super::sync::SYNCS_AT_ONCE_MAX;
    /// Peers one chain's blocks are fetched from at once.
    pub const SYNC_PEERS_PER_CHAIN_MAX: usize = super::sync::SYNC_PEERS_PER_CHAIN_MAX;
    /// How long a sync step may take before the machine starts over.
    pub const SYNC_STEP_TIMEOUT_MS: u64 = super::sync::SYNC_STEP_TIMEOUT_MS;
    /// How long the swarm waits for an answer before it reports the request failed.
    pub const SYNC_REQUEST_TIMEOUT_MS: u64 = super::service::SYNC_REQUEST_TIMEOUT_MS;
    /// Chain jobs of sync waiting for the worker; when full, a job is not queued.
    pub const SYNC_JOBS_QUEUE_MAX: usize = super::worker::SYNC_JOBS_QUEUE_MAX;
    /// Peers connected at once, and so peers the sync machine knows.
    pub const PEERS_MAX: usize = super::peers::PEERS_MAX;
}

pub use worker::wire_tx_status;

use self::protocol::{ChainTip, NetworkNames};
use self::service::{LoopInputs, Service};
use bitverse_market_wire::MarketMessage;
use bitverse_metrics::NodeMetrics;

/// File in the data directory holding the p2p addresses actually bound, one per line, each
/// ending in `/p2p/PEER_ID`, so `--p2p-addr /ip4/127.0.0.1/tcp/0` can be found by others.
pub const P2P_ADDR_FILE: &str = "p2p.addr";
/// Blocks of this node waiting to be published. Short, since each may be 8 MiB; when full, a
/// block is not gossiped and peers fetch it through sync.
const PUBLISH_BLOCKS_QUEUE_MAX: usize = 4;
/// Transactions admitted through RPC waiting to be published.
const PUBLISH_TXS_QUEUE_MAX: usize = 1024;
/// Forwarded requests waiting for the swarm loop.
const ASKS_QUEUE_MAX: usize = 64;
/// Shard requests of this node waiting for the swarm loop.
const SHARD_ASKS_QUEUE_MAX: usize = 256;
/// How long the node waits for its listener to come up.
const LISTEN_TIMEOUT_MS: u64 = 10_000;

/// A peer-to-peer address, `/ip4/127.0.0.1/tcp/4001` with or without `/p2p/PEER_ID`: what
/// `--p2p-addr` and `--bootstrap` take. Its own type, so that no libp2p type leaves this crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct P2pAddr(Multiaddr);

/// Why a text is not a peer-to-peer address: libp2p's reason, as text.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct P2pAddrError(String);

impl std::str::FromStr for P2pAddr {
    type Err = P2pAddrError;

    fn from_str(text: &str) -> Result<P2pAddr, P2pAddrError> {
        text.parse::<Multiaddr>()
            .map(P2pAddr)
            .map_err(|e| P2pAddrError(e.to_string()))
    }
}

impl std::fmt::Display for P2pAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How the network is set up.
pub struct P2pConfig {
    /// Where to listen.
    pub listen: P2pAddr,
    /// Peers to dial at start, with or without `/p2p/PEER_ID`.
    pub bootstrap: Vec<P2pAddr>,
    /// The data directory: identity key and p2p.addr live there.
    pub data_dir: PathBuf,
    /// Where the chain worker reports gossip verdicts, imports and new tips.
    pub metrics: Arc<NodeMetrics>,
    /// What this node does with the shard requests it receives, if it is a storer; without
    /// one, every shard request is refused.
    pub shard_service: Option<Arc<dyn ShardService>>,
}

/// One connected peer, as `bv_networkStatus` shows it.
#[derive(Clone, Debug, Default)]
pub struct PeerSnapshot {
    /// Its peer id.
    pub peer_id: String,
    /// The address of the connection.
    pub addr: Option<String>,
    /// The height it announced.
    pub height: Option<u64>,
    /// The tip it announced.
    pub tip: Option<Hash>,
    /// The work it announced.
    pub cumulative_work: Option<u128>,
    /// Invalid messages it sent.
    pub rejected_messages: u32,
    /// Blocks it gave this node through sync.
    pub synced_blocks: u64,
    /// Its gossipsub score.
    pub gossip_score: Option<f64>,
    /// The chains it tracks, as its status named them, with the height of each.
    pub chains: Vec<(ChainId, u64)>,
}

/// One banned peer, as `bv_networkStatus` shows it.
#[derive(Clone, Debug, Default)]
pub struct BanSnapshot {
    /// Its peer id.
    pub peer_id: String,
    /// Why.
    pub reason: String,
    /// Invalid messages it had sent.
    pub rejected_messages: u32,
    /// Until the ban is lifted.
    pub remaining_ms: u64,
}

/// What the network looks like now, refreshed by the swarm loop.
#[derive(Clone, Debug, Default)]
pub struct NetworkSnapshot {
    /// This node's peer id.
    pub peer_id: String,
    /// Where it listens, with `/p2p/PEER_ID`.
    pub listen_addrs: Vec<String>,
    /// Connected peers.
    pub peers: Vec<PeerSnapshot>,
    /// Banned peers.
    pub banned: Vec<BanSnapshot>,
    /// Whether a sync is running.
    pub syncing: bool,
    /// The peer synced from.
    pub sync_peer: Option<String>,
    /// The highest tip a peer announced.
    pub best_peer_height: Option<u64>,
    /// Blocks imported through sync since start.
    pub synced_blocks: u64,
}

/// The peer that answered a forwarded request, to report it by if its answer proves false.
/// Opaque: no libp2p type leaves this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerRef(libp2p::PeerId);

impl PeerRef {
    /// A peer no swarm knows, for tests of what is done with a peer's answer.
    #[cfg(any(test, feature = "test-support"))]
    pub fn random() -> PeerRef {
        PeerRef(libp2p::PeerId::random())
    }
}

impl std::str::FromStr for PeerRef {
    type Err = P2pAddrError;

    /// A peer id as libp2p writes it (`12D3Koo…`), as a storer declares it on the chain.
    fn from_str(text: &str) -> Result<PeerRef, P2pAddrError> {
        text.parse::<libp2p::PeerId>()
            .map(PeerRef)
            .map_err(|e| P2pAddrError(e.to_string()))
    }
}

impl std::fmt::Display for PeerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An answer to a forwarded request, with who gave it, or why there is none.
pub type AskAnswer = Result<(PeerRef, SyncResponse), String>;

/// A request this node forwards to a peer that tracks `chain`, and where the answer goes.
pub struct Ask {
    /// The chain the request is about: it goes to a peer that tracks it.
    pub chain: ChainId,
    /// The request.
    pub request: SyncRequest,
    /// Where the answer, or why there is none, goes. A one-place channel: the asker waits on
    /// it from a blocking thread, with a timeout.
    reply: std::sync::mpsc::SyncSender<AskAnswer>,
}

impl Ask {
    /// Sends `peer`'s answer; an asker that gave up is not waited for.
    pub fn answer(self, peer: PeerRef, response: SyncResponse) {
        let _ = self.reply.try_send(Ok((peer, response)));
    }

    /// Says why there is no answer.
    pub fn fail(self, why: String) {
        let _ = self.reply.try_send(Err(why));
    }
}

/// A shard request this node sends to a storer, and where the answer goes.
pub(crate) struct ShardAsk {
    peer: PeerRef,
    request: ShardRequest,
    reply: std::sync::mpsc::SyncSender<Result<ShardResponse, String>>,
}

impl ShardAsk {
    fn answer(self, response: ShardResponse) {
        let _ = self.reply.try_send(Ok(response));
    }

    fn fail(self, why: String) {
        let _ = self.reply.try_send(Err(why));
    }
}

/// Answers that proved false reported by the node, most waiting for the swarm loop.
const REPORTS_QUEUE_MAX: usize = 64;
/// Market messages of this node waiting to be published, and checked ones heard waiting
/// for the exchange.
const MARKET_QUEUE_MAX: usize = 256;

/// The node's side of the publish queues.
pub struct PublishQueues {
    blocks: mpsc::Receiver<(Vec<u8>, ChainTip)>,
    txs: mpsc::Receiver<(ChainId, Vec<u8>)>,
    asks: mpsc::Receiver<Ask>,
    shard_asks: mpsc::Receiver<ShardAsk>,
    reports: mpsc::Receiver<(PeerRef, String)>,
    market: mpsc::Receiver<Vec<u8>>,
}

/// What the rest of the node holds of the network: publish, forward and look.
#[derive(Clone)]
pub struct P2pHandle {
    blocks: mpsc::Sender<(Vec<u8>, ChainTip)>,
    txs: mpsc::Sender<(ChainId, Vec<u8>)>,
    asks: mpsc::Sender<Ask>,
    shard_asks: mpsc::Sender<ShardAsk>,
    reports: mpsc::Sender<(PeerRef, String)>,
    market: mpsc::Sender<Vec<u8>>,
    snapshot: Arc<Mutex<NetworkSnapshot>>,
    local_peer: PeerRef,
}

impl P2pHandle {
    /// Publishes a block this node produced on its chain's topic; `chain` is the chain it was
    /// imported into, still locked by the caller, for the tip to announce. Never waits: when
    /// the queue is full the block is left to sync.
    pub fn publish_block(&self, block: &Block, chain: &Chain) {
        if self
            .blocks
            .try_send((block.to_bytes(), worker::chain_tip(chain)))
            .is_err()
        {
            tracing::debug!(hash = %block.hash(), "publish queue full; block left to sync");
        }
    }

    /// Publishes an admitted transaction's canonical bytes on `chain`'s topic. Never waits.
    pub fn publish_transaction(&self, chain: ChainId, bytes: Vec<u8>) {
        if self.txs.try_send((chain, bytes)).is_err() {
            tracing::warn!("publish queue full; transaction not relayed");
        }
    }

    /// Asks a connected peer that tracks `chain` and waits for its answer, at most
    /// `timeout_ms`. Blocks the calling thread: call it from a blocking one.
    pub fn ask_blocking(&self, chain: ChainId, request: SyncRequest, timeout_ms: u64) -> AskAnswer {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.asks
            .try_send(Ask {
                chain,
                request,
                reply,
            })
            .map_err(|_| "the network is busy with forwarded requests; try again".to_owned())?;
        answer
            .recv_timeout(Duration::from_millis(timeout_ms))
            .map_err(|_| format!("no peer tracking chain {chain} answered in {timeout_ms} ms"))?
    }

    /// Sends `request` to the storer `peer` (dialling it at the addresses discovery knows if
    /// not connected) and waits for its answer, at most `timeout_ms`. Blocks the calling
    /// thread: call it from a blocking one.
    pub fn shard_request_blocking(
        &self,
        peer: PeerRef,
        request: ShardRequest,
        timeout_ms: u64,
    ) -> Result<ShardResponse, String> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.shard_asks
            .try_send(ShardAsk {
                peer,
                request,
                reply,
            })
            .map_err(|_| "the network is busy with shard requests; try again".to_owned())?;
        answer
            .recv_timeout(Duration::from_millis(timeout_ms))
            .map_err(|_| format!("storer {peer} did not answer in {timeout_ms} ms"))?
    }

    /// This node's own peer id, as a storer declares it on the chain.
    pub fn local_peer(&self) -> PeerRef {
        self.local_peer
    }

    /// Reports that `peer`'s answer proved false (a forwarded proof that does not check out):
    /// it counts against the peer as an invalid message does, up to a ban. Never waits.
    pub fn report_invalid(&self, peer: PeerRef, reason: String) {
        if self.reports.try_send((peer, reason)).is_err() {
            tracing::debug!(%peer, "report queue full; a false answer not counted");
        }
    }

    /// Publishes a market message on the market topic; whether it was queued. Never waits.
    pub fn publish_market(&self, bytes: Vec<u8>) -> bool {
        let queued = self.market.try_send(bytes).is_ok();
        if !queued {
            tracing::warn!("market publish queue full; message not gossiped");
        }
        queued
    }

    /// The network as it is now.
    pub fn snapshot(&self) -> NetworkSnapshot {
        self.snapshot.lock().clone()
    }
}

/// Starts the network: loads the identity, binds the listener, writes p2p.addr, dials the
/// bootstrap peers, and runs the swarm loop and the chain worker until `stop` turns true.
/// Returns once the listener is bound.
pub async fn start(
    config: P2pConfig,
    tree: Arc<Blocktree>,
    tx_admitted: Arc<Notify>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<(
    P2pHandle,
    tokio::task::JoinHandle<()>,
    mpsc::Receiver<MarketMessage>,
)> {
    let keypair = identity::load_or_create(&config.data_dir)?;
    let local_peer_id = keypair.public().to_peer_id();
    let local = worker::local_status(&tree);
    let names = NetworkNames::new(&local.genesis)?;
    let mut swarm = service::build_swarm(keypair, &names)?;
    let addr_file = config.data_dir.join(P2P_ADDR_FILE);
    match std::fs::remove_file(&addr_file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", addr_file.display())),
    }
    swarm
        .listen_on(config.listen.0.clone())
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
    write_addr_file(&addr_file, &full_addr.to_string())?;
    tracing::info!(
        p2p = %full_addr,
        blocks_topic = %names.blocks_topic(ChainId::ROOT),
        "network listening"
    );

    let snapshot = Arc::new(Mutex::new(NetworkSnapshot {
        peer_id: local_peer_id.to_string(),
        listen_addrs: vec![full_addr.to_string()],
        ..NetworkSnapshot::default()
    }));
    let (blocks_tx, blocks_rx) = mpsc::channel(PUBLISH_BLOCKS_QUEUE_MAX);
    let (txs_tx, txs_rx) = mpsc::channel(PUBLISH_TXS_QUEUE_MAX);
    let (asks_tx, asks_rx) = mpsc::channel(ASKS_QUEUE_MAX);
    let (shard_asks_tx, shard_asks_rx) = mpsc::channel(SHARD_ASKS_QUEUE_MAX);
    let (shard_answers_tx, shard_answers_rx) =
        mpsc::channel(service::SHARD_JOBS_MAX.saturating_mul(2));
    let (reports_tx, reports_rx) = mpsc::channel(REPORTS_QUEUE_MAX);
    let (market_tx, market_rx) = mpsc::channel(MARKET_QUEUE_MAX);
    let (heard_tx, heard_rx) = mpsc::channel(MARKET_QUEUE_MAX);
    let (worker, results, worker_task) =
        worker::spawn(tree.clone(), tx_admitted, config.metrics.clone());
    let mut service = Service::new(
        swarm,
        names,
        tree,
        local,
        config.bootstrap.into_iter().map(|a| a.0).collect(),
        vec![first_addr],
        snapshot.clone(),
    );
    if let Some(shard_service) = config.shard_service {
        service.serve_shards(service::ShardServing {
            service: shard_service,
            jobs: Arc::default(),
            answers: shard_answers_tx,
        });
    }
    let inputs = LoopInputs {
        worker,
        results,
        publish: PublishQueues {
            blocks: blocks_rx,
            txs: txs_rx,
            asks: asks_rx,
            shard_asks: shard_asks_rx,
            reports: reports_rx,
            market: market_rx,
        },
        market_heard: heard_tx,
        shard_answers: shard_answers_rx,
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
            asks: asks_tx,
            shard_asks: shard_asks_tx,
            reports: reports_tx,
            market: market_tx,
            snapshot,
            local_peer: PeerRef(local_peer_id),
        },
        task,
        heard_rx,
    ))
}

/// A handle whose other end is the test's, not a swarm's: the forwarded requests it sends and
/// the reports it makes arrive on the returned queues.
#[cfg(any(test, feature = "test-support"))]
pub fn test_handle() -> (
    P2pHandle,
    mpsc::Receiver<Ask>,
    mpsc::Receiver<(PeerRef, String)>,
) {
    let (blocks, _) = mpsc::channel(1);
    let (txs, _) = mpsc::channel(1);
    let (asks, asks_rx) = mpsc::channel(ASKS_QUEUE_MAX);
    let (shard_asks, _) = mpsc::channel(1);
    let (reports, reports_rx) = mpsc::channel(REPORTS_QUEUE_MAX);
    let (market, _) = mpsc::channel(1);
    let handle = P2pHandle {
        blocks,
        txs,
        asks,
        shard_asks,
        reports,
        market,
        snapshot: Arc::new(Mutex::new(NetworkSnapshot::default())),
        local_peer: PeerRef::random(),
    };
    (handle, asks_rx, reports_rx)
}

/// Writes `addr` as the one line of `path`, atomically (a reader sees the old file or the
/// whole new one), so that other nodes and tools can find this node's address.
pub fn write_addr_file(path: &Path, addr: &str) -> anyhow::Result<()> {
    let temporary = path.with_extension("addr.tmp");
    std::fs::write(&temporary, format!("{addr}\n"))
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("cannot write {}", path.display()))
}
