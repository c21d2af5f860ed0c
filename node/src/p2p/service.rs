//! The swarm and its loop: one `#[derive(NetworkBehaviour)]` (connection limits, a block
//! list, gossipsub, the sync request-response protocol, identify, Kademlia) driven from one
//! `select!` loop that hands gossip and sync work to the chain worker, keeps the peer book,
//! bans misbehaving peers, subscribes to the topics of every chain the node has open, runs
//! headers-first sync per chain against the peer with the most work on it, and carries the
//! node's forwarded requests (writes and reads for chains it does not track) to peers that
//! track them.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bitverse_blocktree::{Block, Blocktree};
use bitverse_primitives::{ChainId, Hash};
use libp2p::core::ConnectedPoint;
use libp2p::futures::StreamExt;
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, PeerScoreParams,
    PeerScoreThresholds, TopicHash, TopicScoreParams, ValidationMode,
};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, Swarm, allow_block_list, connection_limits, identify, identity, kad, noise,
    tcp, yamux,
};
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

use super::peers::{PEERS_MAX, PeerBook};
use super::protocol::{
    BLOCKS_PER_REQUEST_MAX, ChainTip, GOSSIP_MESSAGE_BYTES_MAX, HEADERS_PER_RESPONSE_MAX,
    NetworkNames, PeerStatus, SyncCodec, SyncRequest, SyncResponse,
};
use super::worker::{
    GossipJob, ImportFailure, ServeJob, SyncJob, WorkerOutput, WorkerQueues, WorkerResult,
};
use super::{Ask, BanSnapshot, NetworkSnapshot, PeerSnapshot, PublishQueues};

/// Connections one peer may hold (two covers simultaneous dials from both sides).
const CONNECTIONS_PER_PEER_MAX: u32 = 2;
/// Connections being set up at once, each way.
const PENDING_CONNECTIONS_MAX: u32 = 16;
/// Peers the node dials on its own once discovery finds them; inbound peers may fill the
/// rest up to [`PEERS_MAX`].
const OUTBOUND_PEERS_TARGET: usize = 8;
/// A connection with no protocol in use is closed after this long.
const IDLE_CONNECTION_TIMEOUT_MS: u64 = 60_000;
/// How long a sync request may go unanswered.
const SYNC_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Sync streams open on one connection at once, each way.
const SYNC_STREAMS_MAX: usize = 16;
/// Chains synced at once, one step at a time each.
const SYNCS_AT_ONCE_MAX: usize = 8;
/// Peers one chain's blocks are fetched from at once: the sync's peer and others that
/// announced at least as much work on the chain, each asked for its own slice of the wanted
/// blocks.
const SYNC_PEERS_PER_CHAIN_MAX: usize = 4;
/// Sync requests of ours in flight at once: a status request per peer and one step per sync
/// (a blocks step asks several peers).
const REQUESTS_IN_FLIGHT_MAX: usize = PEERS_MAX + SYNCS_AT_ONCE_MAX * SYNC_PEERS_PER_CHAIN_MAX;
/// Forwarded requests (writes and reads for chains this node does not track) in flight at once;
/// more are refused at once, so a burst of RPC calls cannot grow the loop's tables.
pub(crate) const ASKS_IN_FLIGHT_MAX: usize = 64;
/// How long a forwarded request waits for a peer that tracks its chain when none is known yet
/// (a chain just opened: peers name it in their next status, which the node asks for at once).
const ASK_PEER_WAIT_MS: u64 = 5_000;
/// How often the loop does its housekeeping (bans, scores, status, sync, redials).
const TICK_MS: u64 = 1_000;
/// How often the node asks each peer for its tip.
const STATUS_INTERVAL_MS: u64 = 3_000;
/// Least time between two status requests to one peer, whatever prompts them (orphans).
const STATUS_MIN_INTERVAL_MS: u64 = 500;
/// How long a sync step may take before sync gives up on the peer and starts over.
const SYNC_STEP_TIMEOUT_MS: u64 = 45_000;
/// Least time between two refreshes of what `bv_networkStatus` reports.
const SNAPSHOT_REFRESH_MS: u64 = 200;
/// How often the bootstrap addresses are dialed again while the node has no peer.
const BOOTSTRAP_REDIAL_INTERVAL_MS: u64 = 3_000;
/// How often Kademlia looks for more peers.
const KAD_BOOTSTRAP_INTERVAL_MS: u64 = 30_000;
/// Listen addresses taken from one identify message.
const IDENTIFY_ADDRS_MAX: usize = 8;
/// Gossipsub heartbeat: how often meshes are repaired and gossip emitted.
const GOSSIP_HEARTBEAT_MS: u64 = 500;
/// Messages gossipsub queues per connection before it drops them.
const GOSSIP_CONNECTION_QUEUE_MAX: usize = 1_000;
/// Weight of one invalid message in a topic's score, applied squared: one costs 10, two 40,
/// three 90, which is below the graylist threshold (-80): the third invalid message in quick
/// succession makes a peer graylisted and then banned, in line with
/// [`super::peers::REJECTED_MESSAGES_BEFORE_BAN`].
const INVALID_MESSAGE_WEIGHT: f64 = -10.0;
/// Transactions admitted here while no peer was subscribed to the transactions topic, kept to
/// be published again on every tick until one is: otherwise a transaction sent to a node that
/// had just started, or lost its peers, would never leave it. The oldest go first when full.
const UNPUBLISHED_TXS_MAX: usize = 1024;
/// Transactions admitted here through RPC, kept to be handed again, directly, to a peer that
/// tracks their chain (a `SubmitTx` request) after each of [`TX_RESEND_AFTER_MS`]: gossip is
/// fire-and-forget, and a busy peer may drop a message, leaving a transaction pending here for
/// ever while no miner has it. A transaction already included is refused there, harmlessly.
/// The oldest go first when full.
const TXS_RESENT_MAX: usize = 1024;
/// When a transaction admitted here is handed again, counted from its first publication.
const TX_RESEND_AFTER_MS: [u64; 2] = [3_000, 10_000];

/// The node's protocols.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    limits: connection_limits::Behaviour,
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub(crate) gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
    identify: identify::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
}

fn topic_score_params() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        // A little credit for staying in the mesh, capped low so it cannot hide misbehaviour.
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 100.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 20.0,
        // Off: blocks come every few seconds and a quiet topic must not punish honest peers.
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: 0.9,
        ..TopicScoreParams::default()
    }
}

/// Builds the swarm: TCP with Noise and Yamux, and the node's protocols. Topics are scored as
/// they are subscribed ([`Service`]).
pub(crate) fn build_swarm(
    keypair: identity::Keypair,
    names: &NetworkNames,
) -> anyhow::Result<Swarm<Behaviour>> {
    let peer_id = keypair.public().to_peer_id();
    let gossip_config = gossipsub::ConfigBuilder::default()
        .validate_messages()
        .validation_mode(ValidationMode::Strict)
        .max_transmit_size(GOSSIP_MESSAGE_BYTES_MAX)
        .heartbeat_interval(Duration::from_millis(GOSSIP_HEARTBEAT_MS))
        .connection_handler_queue_len(GOSSIP_CONNECTION_QUEUE_MAX)
        // The same block or transaction from two peers is one message.
        .message_id_fn(|message: &gossipsub::Message| {
            MessageId::new(&Hash::tagged("bitverse gossip id v1", &[&message.data]).0)
        })
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub configuration: {e}"))?;
    let mut gossipsub =
        gossipsub::Behaviour::new(MessageAuthenticity::Signed(keypair.clone()), gossip_config)
            .map_err(|e| anyhow::anyhow!("gossipsub: {e}"))?;
    let mut score_params = PeerScoreParams {
        topic_score_cap: 50.0,
        ..PeerScoreParams::default()
    };
    // A devnet runs every node on loopback: sharing an address is not a Sybil sign there.
    score_params
        .ip_colocation_factor_whitelist
        .insert(IpAddr::V4(Ipv4Addr::LOCALHOST));
    gossipsub
        .with_peer_score(score_params, PeerScoreThresholds::default())
        .map_err(|e| anyhow::anyhow!("gossipsub peer scoring: {e}"))?;

    let sync = request_response::Behaviour::with_codec(
        SyncCodec,
        [(names.sync_protocol.clone(), ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(Duration::from_millis(SYNC_REQUEST_TIMEOUT_MS))
            .with_max_concurrent_streams(SYNC_STREAMS_MAX),
    );
    let identify = identify::Behaviour::new(
        identify::Config::new(names.identify_version.clone(), keypair.public())
            .with_agent_version(format!("bitverse/{}", env!("CARGO_PKG_VERSION"))),
    );
    let mut kad_config = kad::Config::new(names.kad_protocol.clone());
    kad_config
        .set_periodic_bootstrap_interval(Some(Duration::from_millis(KAD_BOOTSTRAP_INTERVAL_MS)));
    let mut kad =
        kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
    // Serve the DHT even without a confirmed public address: on a devnet every address is
    // loopback, and client mode would leave the routing tables empty.
    kad.set_mode(Some(kad::Mode::Server));
    let peers_max = u32::try_from(PEERS_MAX).unwrap_or(u32::MAX);
    let limits = connection_limits::Behaviour::new(
        connection_limits::ConnectionLimits::default()
            .with_max_established(Some(peers_max.saturating_mul(CONNECTIONS_PER_PEER_MAX)))
            .with_max_established_per_peer(Some(CONNECTIONS_PER_PEER_MAX))
            .with_max_pending_incoming(Some(PENDING_CONNECTIONS_MAX))
            .with_max_pending_outgoing(Some(PENDING_CONNECTIONS_MAX)),
    );
    let behaviour = Behaviour {
        limits,
        blocked: allow_block_list::Behaviour::default(),
        gossipsub,
        sync,
        identify,
        kad,
    };
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .context("cannot set up the TCP transport")?
        .with_behaviour(|_| behaviour)
        .map_err(|e| anyhow::anyhow!("cannot set up the network behaviour: {e}"))?
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(Duration::from_millis(IDLE_CONNECTION_TIMEOUT_MS))
        })
        .build();
    Ok(swarm)
}

/// Our own outstanding requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RequestKind {
    Status,
    Headers,
    Blocks,
}

/// What a gossip topic carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TopicKind {
    Blocks,
    Txs,
}

/// Where headers-first sync of one chain stands.
#[derive(Debug)]
enum Phase {
    /// The worker is building our locator.
    Preparing,
    /// Headers asked for.
    AwaitingHeaders(OutboundRequestId),
    /// The worker is checking headers.
    CheckingHeaders,
    /// Blocks asked for: consecutive slices of the wanted blocks, each from one peer.
    AwaitingBlocks(Vec<BlocksSlice>),
    /// The worker is importing blocks.
    Importing,
}

/// One peer's part of a blocks step.
#[derive(Debug)]
struct BlocksSlice {
    id: OutboundRequestId,
    peer: PeerId,
    /// The hashes asked, in order.
    hashes: Vec<Hash>,
    /// Its answer (a prefix of `hashes`); `Some(empty)` when the request failed.
    blocks: Option<Vec<Block>>,
}

/// The blocks of a finished blocks step that can be imported now, from each slice's count of
/// hashes asked and blocks got, in order: up to and including the first slice that came back
/// short (a failed slice got none), since the blocks after a gap would have no parent yet.
/// Their hashes leave the wanted list; the rest stay.
fn contiguous_blocks(slices: impl IntoIterator<Item = (usize, Vec<Block>)>) -> Vec<Block> {
    let mut blocks = Vec::new();
    for (asked, got) in slices {
        let whole = got.len() == asked;
        blocks.extend(got);
        if !whole {
            break;
        }
    }
    blocks
}

#[derive(Debug)]
struct ActiveSync {
    /// The peer whose headers are followed.
    peer: PeerId,
    /// The work that peer announced on the chain: other peers announcing as much have the
    /// same blocks to give.
    target_work: u128,
    phase: Phase,
    /// Blocks whose headers checked out, still to fetch; at most one headers response.
    wanted: VecDeque<Hash>,
    /// Whether the last headers response was full, so more may follow.
    more_headers: bool,
    /// When the current step started.
    step_started: Instant,
}

/// The loop's inputs besides the swarm.
pub(crate) struct LoopInputs {
    pub(crate) worker: WorkerQueues,
    pub(crate) results: mpsc::Receiver<WorkerResult>,
    pub(crate) publish: PublishQueues,
    pub(crate) stop: watch::Receiver<bool>,
}

/// The loop's state.
pub(crate) struct Service {
    swarm: Swarm<Behaviour>,
    names: NetworkNames,
    /// The blocktree, read for which chains are open (their topics and syncs).
    tree: Arc<Blocktree>,
    /// The topics subscribed, by hash.
    topics: HashMap<TopicHash, (ChainId, TopicKind)>,
    /// The chains whose topics are subscribed.
    subscribed: BTreeSet<ChainId>,
    local: PeerStatus,
    bootstrap: Vec<Multiaddr>,
    listen_addrs: Vec<Multiaddr>,
    snapshot: Arc<Mutex<NetworkSnapshot>>,
    book: PeerBook,
    requests: HashMap<OutboundRequestId, (PeerId, RequestKind, ChainId)>,
    /// Forwarded requests in flight and where their answers go.
    asks: HashMap<OutboundRequestId, Ask>,
    /// Forwarded requests waiting for a peer that tracks their chain, with their deadline.
    waiting_asks: VecDeque<(Ask, Instant)>,
    /// At most [`SYNCS_AT_ONCE_MAX`] chains syncing.
    syncs: BTreeMap<ChainId, ActiveSync>,
    synced_blocks: u64,
    last_bootstrap_dial: Option<Instant>,
    last_snapshot: Instant,
    /// Set when peers come, go or are banned: shown at once, not at the next refresh.
    snapshot_dirty: bool,
    /// Transactions no peer could be told about yet, oldest first.
    unpublished_txs: VecDeque<(ChainId, Vec<u8>)>,
    /// Transactions admitted here, to hand again: chain, bytes, first published, resends so
    /// far (see [`TXS_RESENT_MAX`]).
    txs_to_resend: VecDeque<(ChainId, Vec<u8>, Instant, usize)>,
}

impl Service {
    /// A service for a swarm already listening.
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        names: NetworkNames,
        tree: Arc<Blocktree>,
        local: PeerStatus,
        bootstrap: Vec<Multiaddr>,
        listen_addrs: Vec<Multiaddr>,
        snapshot: Arc<Mutex<NetworkSnapshot>>,
    ) -> Service {
        let mut service = Service {
            swarm,
            names,
            tree,
            topics: HashMap::new(),
            subscribed: BTreeSet::new(),
            local,
            bootstrap,
            listen_addrs,
            snapshot,
            book: PeerBook::default(),
            requests: HashMap::new(),
            asks: HashMap::new(),
            waiting_asks: VecDeque::new(),
            syncs: BTreeMap::new(),
            synced_blocks: 0,
            last_bootstrap_dial: None,
            last_snapshot: Instant::now(),
            snapshot_dirty: true,
            unpublished_txs: VecDeque::new(),
            txs_to_resend: VecDeque::new(),
        };
        service.subscribe_open_chains();
        service
    }

    /// Subscribes to the blocks and transactions topics of every chain the node has open that
    /// it has not subscribed yet: a keyspace bought below the root opens chains at any time.
    fn subscribe_open_chains(&mut self) {
        let open = std::iter::once(ChainId::ROOT).chain(self.tree.data_chains());
        for chain in open {
            if self.subscribed.contains(&chain) {
                continue;
            }
            let mut subscribed = true;
            for kind in [TopicKind::Blocks, TopicKind::Txs] {
                let topic = self.topic(chain, kind);
                let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
                if let Err(e) = gossipsub.set_topic_params(topic.clone(), topic_score_params()) {
                    tracing::warn!(%topic, error = e, "cannot score topic");
                }
                match gossipsub.subscribe(&topic) {
                    Ok(_) => {
                        self.topics.insert(topic.hash(), (chain, kind));
                    }
                    Err(e) => {
                        tracing::warn!(%topic, error = %e, "cannot subscribe");
                        subscribed = false;
                    }
                }
            }
            if subscribed {
                tracing::info!(%chain, "gossiping chain");
                self.subscribed.insert(chain);
            }
        }
    }

    fn topic(&self, chain: ChainId, kind: TopicKind) -> IdentTopic {
        IdentTopic::new(match kind {
            TopicKind::Blocks => self.names.blocks_topic(chain),
            TopicKind::Txs => self.names.txs_topic(chain),
        })
    }

    /// Runs until told to stop. Cancel-safe inputs only: every branch of the `select!` is a
    /// channel receive, a stream poll or a timer.
    pub(crate) async fn run(mut self, mut inputs: LoopInputs) {
        self.dial_bootstrap();
        let mut tick = tokio::time::interval(Duration::from_millis(TICK_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                // Results of our own work first: they free the worker's queues.
                biased;
                _ = inputs.stop.changed() => break,
                Some(result) = inputs.results.recv() => self.on_worker_result(&inputs.worker, result),
                Some((data, tip)) = inputs.publish.blocks.recv() => {
                    let chain = tip.chain;
                    self.local.update(tip);
                    self.publish(chain, TopicKind::Blocks, data);
                }
                Some((chain, data)) = inputs.publish.txs.recv() => {
                    if self.txs_to_resend.len() >= TXS_RESENT_MAX {
                        self.txs_to_resend.pop_front();
                    }
                    self.txs_to_resend.push_back((chain, data.clone(), Instant::now(), 0));
                    self.publish(chain, TopicKind::Txs, data);
                }
                Some(ask) = inputs.publish.asks.recv() => self.forward(ask),
                Some((peer, reason)) = inputs.publish.reports.recv() => {
                    self.penalize(peer.0, &format!("false answer: {reason}"));
                }
                event = self.swarm.select_next_some() => self.on_swarm_event(&inputs.worker, event),
                _ = tick.tick() => {
                    self.subscribe_open_chains();
                    self.retry_waiting_asks();
                    self.resend_txs();
                    self.republish_txs();
                    self.on_tick(&inputs.worker);
                    self.refresh_snapshot();
                }
            }
            if self.snapshot_dirty
                || self.last_snapshot.elapsed() >= Duration::from_millis(SNAPSHOT_REFRESH_MS)
            {
                self.refresh_snapshot();
            }
        }
        tracing::info!("network stopped");
    }

    /// Takes the node's status after a job as it is: read from the tree after the job, it is
    /// the truth then, including a data chain whose fork choice moved to a lighter, anchored
    /// branch.
    fn update_local(&mut self, status: PeerStatus) {
        self.local = status;
    }

    fn publish(&mut self, chain: ChainId, kind: TopicKind, data: Vec<u8>) {
        let topic = self.topic(chain, kind);
        // Kept for a retry in case nobody hears it: copying a transaction is cheap, a block
        // is not (and peers fetch blocks through sync anyway).
        let retry = (kind == TopicKind::Txs).then(|| data.clone());
        match self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            Ok(_) => {}
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                if let Some(tx) = retry {
                    if self.unpublished_txs.len() >= UNPUBLISHED_TXS_MAX {
                        self.unpublished_txs.pop_front();
                    }
                    self.unpublished_txs.push_back((chain, tx));
                }
            }
            // Told already.
            Err(gossipsub::PublishError::Duplicate) => {}
            Err(e) => tracing::warn!(error = %e, %chain, ?kind, "cannot publish"),
        }
    }

    /// Hands the transactions admitted here whose next resend is due to the best peer tracking
    /// their chain, directly; each is resent [`TX_RESEND_AFTER_MS`]`.len()` times at most. Its
    /// answer is not awaited: the peer admits the transaction and gossips it, or refuses it.
    fn resend_txs(&mut self) {
        let now = Instant::now();
        for (chain, tx, first, resends) in std::mem::take(&mut self.txs_to_resend) {
            let Some(due_ms) = TX_RESEND_AFTER_MS.get(resends).copied() else {
                continue;
            };
            if now.duration_since(first) < Duration::from_millis(due_ms) {
                self.txs_to_resend.push_back((chain, tx, first, resends));
                continue;
            }
            let best = self.book.best_tracking(chain).map(|(peer, _)| peer);
            if let Some(peer) = best
                && self.requests.len() < REQUESTS_IN_FLIGHT_MAX
            {
                let request = SyncRequest::SubmitTx { tx: tx.clone() };
                let _ = self.swarm.behaviour_mut().sync.send_request(&peer, request);
            }
            self.txs_to_resend
                .push_back((chain, tx, first, resends.saturating_add(1)));
        }
    }

    /// Publishes again the transactions nobody could be told about, now that there may be
    /// someone; those still unheard are queued again.
    fn republish_txs(&mut self) {
        for (chain, tx) in std::mem::take(&mut self.unpublished_txs) {
            self.publish(chain, TopicKind::Txs, tx);
        }
    }

    /// Sends a forwarded request to the connected peer with the most work on its chain that
    /// tracks it; the answer (or why there is none) goes back on the ask's channel. When no
    /// peer is known to track the chain, the request waits up to [`ASK_PEER_WAIT_MS`] while
    /// every peer is asked for its status.
    fn forward(&mut self, ask: Ask) {
        if self.asks.len().saturating_add(self.waiting_asks.len()) >= ASKS_IN_FLIGHT_MAX {
            ask.fail(format!(
                "{ASKS_IN_FLIGHT_MAX} forwarded requests already in flight; try again"
            ));
            return;
        }
        if let Err(ask) = self.try_forward(ask) {
            let peers: Vec<PeerId> = self.book.peers().map(|(peer, _)| *peer).collect();
            for peer in peers {
                self.ask_status(peer);
            }
            let deadline = Instant::now() + Duration::from_millis(ASK_PEER_WAIT_MS);
            self.waiting_asks.push_back((ask, deadline));
        }
    }

    /// Sends `ask` to the best peer tracking its chain, or gives it back when there is none.
    fn try_forward(&mut self, ask: Ask) -> Result<(), Ask> {
        let best = self.book.best_tracking(ask.chain).map(|(peer, _)| peer);
        let Some(peer) = best else {
            return Err(ask);
        };
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, ask.request.clone());
        tracing::debug!(%peer, chain = %ask.chain, "forwarding a request");
        self.asks.insert(id, ask);
        Ok(())
    }

    /// Sends the waiting forwarded requests that now have a peer; refuses those past their
    /// deadline.
    fn retry_waiting_asks(&mut self) {
        let now = Instant::now();
        for (ask, deadline) in std::mem::take(&mut self.waiting_asks) {
            match self.try_forward(ask) {
                Ok(()) => {}
                Err(ask) if now >= deadline => {
                    let chain = ask.chain;
                    ask.fail(format!(
                        "this node does not track chain {chain} and no connected peer does"
                    ));
                }
                Err(ask) => self.waiting_asks.push_back((ask, deadline)),
            }
        }
    }

    fn dial_bootstrap(&mut self) {
        self.last_bootstrap_dial = Some(Instant::now());
        let local_peer = *self.swarm.local_peer_id();
        for addr in self.bootstrap.clone() {
            let mut plain = addr.clone();
            let dialed = match plain.pop() {
                Some(Protocol::P2p(peer)) => {
                    if peer == local_peer {
                        continue;
                    }
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer, plain.clone());
                    self.swarm.dial(
                        DialOpts::peer_id(peer)
                            .addresses(vec![plain])
                            .condition(PeerCondition::DisconnectedAndNotDialing)
                            .build(),
                    )
                }
                // Without a peer id, dial the address as it is; the connection tells who is
                // there.
                _ => self.swarm.dial(addr.clone()),
            };
            if let Err(e) = dialed {
                tracing::debug!(%addr, error = %e, "cannot dial bootstrap address");
            }
        }
    }

    fn ask_status(&mut self, peer: PeerId) {
        let now = Instant::now();
        let Some(info) = self.book.get_mut(&peer) else {
            return;
        };
        if info
            .status_asked_at
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(STATUS_MIN_INTERVAL_MS))
        {
            return;
        }
        if self.requests.len() >= REQUESTS_IN_FLIGHT_MAX {
            return;
        }
        info.status_asked_at = Some(now);
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, SyncRequest::Status(self.local.clone()));
        self.requests
            .insert(id, (peer, RequestKind::Status, ChainId::ROOT));
    }

    /// Counts an invalid message against `peer`, banning it at the limit.
    fn penalize(&mut self, peer: PeerId, reason: &str) {
        tracing::warn!(%peer, reason, "invalid message from peer");
        if self.book.record_rejection(&peer, reason) {
            self.ban(peer, format!("too many invalid messages, last: {reason}"));
        }
    }

    fn ban(&mut self, peer: PeerId, reason: String) {
        tracing::warn!(%peer, %reason, "banning peer");
        self.snapshot_dirty = true;
        if let Some(lifted) = self.book.ban(peer, reason, Instant::now()) {
            self.swarm.behaviour_mut().blocked.unblock_peer(lifted);
        }
        // Closes its connections and refuses new ones until the ban is lifted.
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        self.swarm.behaviour_mut().kad.remove_peer(&peer);
        self.syncs.retain(|_, sync| sync.peer != peer);
    }

    fn on_tick(&mut self, worker: &WorkerQueues) {
        let now = Instant::now();
        for peer in self.book.lift_expired_bans(now) {
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
        // Gossipsub's score sees what the explicit count does not (invalid signatures caught
        // inside gossipsub, broken promises): below the graylist threshold a peer is banned.
        let graylist = PeerScoreThresholds::default().graylist_threshold;
        let low: Vec<(PeerId, f64)> = self
            .book
            .peers()
            .filter_map(|(peer, _)| {
                let score = self.swarm.behaviour().gossipsub.peer_score(peer)?;
                (score < graylist).then_some((*peer, score))
            })
            .collect();
        for (peer, score) in low {
            self.ban(peer, format!("gossip score {score:.1} below {graylist}"));
        }
        let due: Vec<PeerId> = self
            .book
            .peers()
            .filter(|(_, info)| {
                info.status_asked_at.is_none_or(|t| {
                    now.duration_since(t) >= Duration::from_millis(STATUS_INTERVAL_MS)
                })
            })
            .map(|(peer, _)| *peer)
            .collect();
        for peer in due {
            self.ask_status(peer);
        }
        self.syncs.retain(|chain, sync| {
            let stuck =
                now.duration_since(sync.step_started) > Duration::from_millis(SYNC_STEP_TIMEOUT_MS);
            if stuck {
                tracing::warn!(%chain, "sync step timed out; starting over");
            }
            !stuck
        });
        self.maybe_start_sync(worker);
        if self.book.len() == 0
            && !self.bootstrap.is_empty()
            && self.last_bootstrap_dial.is_none_or(|t| {
                now.duration_since(t) >= Duration::from_millis(BOOTSTRAP_REDIAL_INTERVAL_MS)
            })
        {
            self.dial_bootstrap();
        }
    }

    /// Starts syncing every open chain some peer has more work on, up to
    /// [`SYNCS_AT_ONCE_MAX`] at once, the root first. A data chain's sync does not wait for the
    /// root's: on a busy network the root is nearly always syncing a block or two, and a data
    /// chain waiting for it would starve; a data block whose relay parent is not here yet stops
    /// that sync as a local failure, and it starts again on a later tick.
    fn maybe_start_sync(&mut self, worker: &WorkerQueues) {
        let open: Vec<ChainId> = std::iter::once(ChainId::ROOT)
            .chain(self.tree.data_chains())
            .collect();
        for chain in open {
            if self.syncs.len() >= SYNCS_AT_ONCE_MAX {
                return;
            }
            if self.syncs.contains_key(&chain) {
                continue;
            }
            let work = self.local.chain(chain).map_or(0, |tip| tip.cumulative_work);
            let Some((peer, tip)) = self.book.best_peer_above(chain, work) else {
                continue;
            };
            if worker
                .sync
                .try_send(SyncJob::PrepareHeadersRequest { peer, chain })
                .is_err()
            {
                return;
            }
            tracing::info!(
                %peer,
                %chain,
                peer_height = tip.height,
                height = self.local.chain(chain).map_or(0, |t| t.height),
                "syncing from peer"
            );
            self.syncs.insert(
                chain,
                ActiveSync {
                    peer,
                    target_work: tip.cumulative_work,
                    phase: Phase::Preparing,
                    wanted: VecDeque::new(),
                    more_headers: false,
                    step_started: Instant::now(),
                },
            );
        }
    }

    /// Ends the sync of `chain`, if it is with `peer`.
    fn stop_sync_with(&mut self, chain: ChainId, peer: PeerId) {
        if self.syncs.get(&chain).is_some_and(|s| s.peer == peer) {
            self.syncs.remove(&chain);
        }
    }

    /// Sends the next blocks request of `chain`'s sync, or moves on when no block is wanted.
    fn next_sync_step(&mut self, worker: &WorkerQueues, chain: ChainId) {
        let Some(sync) = self.syncs.get_mut(&chain) else {
            return;
        };
        sync.step_started = Instant::now();
        let peer = sync.peer;
        if !sync.wanted.is_empty() {
            // The sync's peer first, then the others with as much work, most work first.
            let mut helpers: Vec<(PeerId, u128)> = self
                .book
                .tracking(chain)
                .filter(|(other, tip)| *other != peer && tip.cumulative_work >= sync.target_work)
                .map(|(other, tip)| (other, tip.cumulative_work))
                .collect();
            helpers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let peers = std::iter::once(peer)
                .chain(helpers.into_iter().map(|(other, _)| other))
                .take(SYNC_PEERS_PER_CHAIN_MAX);
            let wanted: Vec<Hash> = sync.wanted.iter().copied().collect();
            let mut slices = Vec::new();
            for (asked, hashes) in peers.zip(wanted.chunks(BLOCKS_PER_REQUEST_MAX)) {
                let id = self.swarm.behaviour_mut().sync.send_request(
                    &asked,
                    SyncRequest::Blocks {
                        chain,
                        hashes: hashes.to_vec(),
                    },
                );
                self.requests
                    .insert(id, (asked, RequestKind::Blocks, chain));
                slices.push(BlocksSlice {
                    id,
                    peer: asked,
                    hashes: hashes.to_vec(),
                    blocks: None,
                });
            }
            if let Some(sync) = self.syncs.get_mut(&chain) {
                sync.phase = Phase::AwaitingBlocks(slices);
            }
            return;
        }
        if sync.more_headers {
            sync.phase = Phase::Preparing;
            if worker
                .sync
                .try_send(SyncJob::PrepareHeadersRequest { peer, chain })
                .is_err()
            {
                self.syncs.remove(&chain);
            }
            return;
        }
        tracing::info!(
            %chain,
            height = self.local.chain(chain).map_or(0, |t| t.height),
            "sync round done"
        );
        self.syncs.remove(&chain);
        self.maybe_start_sync(worker);
    }

    /// The slice of `chain`'s blocks step that request `id` asked `peer` for, if it still
    /// waits.
    fn blocks_slice(
        &mut self,
        chain: ChainId,
        peer: PeerId,
        id: OutboundRequestId,
    ) -> Option<&mut BlocksSlice> {
        match &mut self.syncs.get_mut(&chain)?.phase {
            Phase::AwaitingBlocks(slices) => slices
                .iter_mut()
                .find(|slice| slice.id == id && slice.peer == peer && slice.blocks.is_none()),
            _ => None,
        }
    }

    /// A sync request of ours failed or was refused: a blocks slice counts as answered with
    /// nothing (the others may still carry the step); any other step ends the sync with
    /// that peer.
    fn sync_request_failed(
        &mut self,
        worker: &WorkerQueues,
        (kind, chain): (RequestKind, ChainId),
        peer: PeerId,
        id: OutboundRequestId,
    ) {
        match kind {
            RequestKind::Status => {}
            RequestKind::Blocks => {
                if let Some(slice) = self.blocks_slice(chain, peer, id) {
                    slice.blocks = Some(Vec::new());
                    self.maybe_import_slices(worker, chain);
                }
            }
            RequestKind::Headers => self.stop_sync_with(chain, peer),
        }
    }

    /// Once every slice of `chain`'s blocks step is answered, hands the blocks that connect
    /// to the worker; when none came, the sync ends and starts again later.
    fn maybe_import_slices(&mut self, worker: &WorkerQueues, chain: ChainId) {
        let Some(sync) = self.syncs.get_mut(&chain) else {
            return;
        };
        let done = matches!(&sync.phase, Phase::AwaitingBlocks(slices)
            if slices.iter().all(|slice| slice.blocks.is_some()));
        if !done {
            return;
        }
        let Phase::AwaitingBlocks(slices) = std::mem::replace(&mut sync.phase, Phase::Importing)
        else {
            return;
        };
        let peers = slices.len();
        let blocks = contiguous_blocks(
            slices
                .into_iter()
                .map(|slice| (slice.hashes.len(), slice.blocks.unwrap_or_default())),
        );
        if blocks.is_empty() {
            self.syncs.remove(&chain);
            return;
        }
        for _ in 0..blocks.len() {
            sync.wanted.pop_front();
        }
        tracing::debug!(%chain, blocks = blocks.len(), peers, "fetched blocks");
        sync.step_started = Instant::now();
        let peer = sync.peer;
        if worker
            .sync
            .try_send(SyncJob::ImportBlocks {
                peer,
                chain,
                blocks,
            })
            .is_err()
        {
            self.syncs.remove(&chain);
        }
    }

    fn on_worker_result(&mut self, worker: &WorkerQueues, result: WorkerResult) {
        if let Some(status) = result.status {
            self.update_local(status);
        }
        match result.output {
            WorkerOutput::Verdict {
                source,
                message_id,
                acceptance,
                reason,
                orphan,
            } => {
                let rejected = matches!(acceptance, MessageAcceptance::Reject);
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &source, acceptance);
                if rejected {
                    self.penalize(source, reason.as_deref().unwrap_or("rejected"));
                } else if orphan {
                    // Its sender may be on a better chain we have not seen: ask, and sync.
                    self.ask_status(source);
                }
            }
            WorkerOutput::Served {
                peer,
                channel,
                response,
                publish_tx,
            } => {
                if self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response)
                    .is_err()
                {
                    tracing::debug!(%peer, "peer left before its answer was ready");
                }
                if let Some((chain, tx)) = publish_tx {
                    self.publish(chain, TopicKind::Txs, tx);
                }
            }
            WorkerOutput::HeadersRequest {
                peer,
                chain,
                request,
            } => {
                let Some(sync) = self.syncs.get_mut(&chain) else {
                    return;
                };
                if sync.peer != peer || !matches!(sync.phase, Phase::Preparing) {
                    return;
                }
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.requests
                    .insert(id, (peer, RequestKind::Headers, chain));
                if let Some(sync) = self.syncs.get_mut(&chain) {
                    sync.phase = Phase::AwaitingHeaders(id);
                    sync.step_started = Instant::now();
                }
            }
            WorkerOutput::HeadersChecked {
                peer,
                chain,
                outcome,
            } => {
                let Some(sync) = self.syncs.get_mut(&chain) else {
                    return;
                };
                if sync.peer != peer || !matches!(sync.phase, Phase::CheckingHeaders) {
                    return;
                }
                match outcome {
                    Ok(wanted) => {
                        sync.wanted = wanted.into();
                        self.next_sync_step(worker, chain);
                    }
                    Err(reason) => {
                        self.syncs.remove(&chain);
                        self.penalize(peer, &format!("invalid headers of chain {chain}: {reason}"));
                    }
                }
            }
            WorkerOutput::BlocksImported {
                peer,
                chain,
                outcome,
            } => {
                let Some(sync) = self.syncs.get(&chain) else {
                    return;
                };
                if sync.peer != peer || !matches!(sync.phase, Phase::Importing) {
                    return;
                }
                match outcome {
                    Ok(imported) => {
                        self.synced_blocks = self
                            .synced_blocks
                            .saturating_add(u64::try_from(imported).unwrap_or(u64::MAX));
                        self.next_sync_step(worker, chain);
                    }
                    Err(ImportFailure::Invalid(reason)) => {
                        self.syncs.remove(&chain);
                        self.penalize(peer, &format!("invalid block in sync: {reason}"));
                    }
                    Err(ImportFailure::Local(reason)) => {
                        tracing::warn!(%chain, %reason, "sync stopped; it starts again later");
                        self.syncs.remove(&chain);
                    }
                }
            }
        }
    }

    fn on_swarm_event(&mut self, worker: &WorkerQueues, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
                if !self.listen_addrs.contains(&address) {
                    self.listen_addrs.push(address);
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                if num_established.get() > 1 {
                    return;
                }
                let addr = endpoint.get_remote_address().clone();
                if !self.book.connected(peer_id, addr.clone()) {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                tracing::info!(peer = %peer_id, %addr, "peer connected");
                self.snapshot_dirty = true;
                if let ConnectedPoint::Dialer { address, .. } = &endpoint {
                    // An address we dialed is one the peer can be reached at.
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, address.clone());
                    let _ = self.swarm.behaviour_mut().kad.bootstrap();
                }
                self.ask_status(peer_id);
            }
            // Its last connection closed: the peer is gone.
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                cause,
                ..
            } => {
                tracing::info!(peer = %peer_id, cause = ?cause, "peer disconnected");
                self.book.disconnected(&peer_id);
                self.snapshot_dirty = true;
                self.syncs.retain(|_, sync| sync.peer != peer_id);
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, error = %error, "dial failed");
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(worker, event),
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, worker: &WorkerQueues, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                let queue = match self.topics.get(&message.topic) {
                    Some(&(chain, TopicKind::Blocks)) => Some((chain, &worker.blocks)),
                    Some(&(chain, TopicKind::Txs)) => Some((chain, &worker.txs)),
                    None => None,
                };
                let Some((chain, queue)) = queue else {
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Ignore,
                        );
                    return;
                };
                let job = GossipJob {
                    chain,
                    source: propagation_source,
                    message_id: message_id.clone(),
                    data: message.data,
                };
                if queue.try_send(job).is_err() {
                    // Busy: the message is dropped, not held against its sender.
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Ignore,
                        );
                }
            }
            BehaviourEvent::Gossipsub(_) => {}
            BehaviourEvent::Sync(event) => self.on_sync_event(worker, event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                if info.protocol_version != self.names.identify_version {
                    tracing::info!(
                        peer = %peer_id,
                        version = %info.protocol_version,
                        "peer is on another network; disconnecting"
                    );
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                if info.protocols.contains(&self.names.kad_protocol) {
                    for addr in info.listen_addrs.into_iter().take(IDENTIFY_ADDRS_MAX) {
                        self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                    }
                }
            }
            BehaviourEvent::Identify(_) => {}
            BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer, addresses, ..
            }) => {
                let outbound_room = self.book.len() < OUTBOUND_PEERS_TARGET;
                if outbound_room
                    && peer != *self.swarm.local_peer_id()
                    && !self.swarm.is_connected(&peer)
                    && !self.book.is_banned(&peer)
                {
                    let dial = DialOpts::peer_id(peer)
                        .addresses(addresses.into_vec())
                        .condition(PeerCondition::DisconnectedAndNotDialing)
                        .build();
                    if let Err(e) = self.swarm.dial(dial) {
                        tracing::debug!(%peer, error = %e, "cannot dial discovered peer");
                    }
                }
            }
            BehaviourEvent::Kad(_) => {}
            BehaviourEvent::Limits(never) | BehaviourEvent::Blocked(never) => match never {},
        }
    }

    fn on_sync_event(
        &mut self,
        worker: &WorkerQueues,
        event: request_response::Event<SyncRequest, SyncResponse>,
    ) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                if let SyncRequest::Status(status) = request {
                    // A status is answered from what the loop knows: no chain lock needed.
                    let answer = SyncResponse::Status(self.local.clone());
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .sync
                        .send_response(channel, answer);
                    self.on_peer_status(worker, peer, status);
                    return;
                }
                let job = ServeJob {
                    peer,
                    request,
                    channel,
                };
                if worker.serve.try_send(job).is_err() {
                    // Busy: dropping the channel fails the peer's request; it may retry.
                    tracing::debug!(%peer, "sync request dropped: serve queue full");
                }
            }
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(ask) = self.asks.remove(&request_id) {
                    ask.answer(peer, response);
                    return;
                }
                let Some((_, kind, chain)) = self.requests.remove(&request_id) else {
                    return;
                };
                self.on_response(worker, peer, request_id, (kind, chain), response);
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(ask) = self.asks.remove(&request_id) {
                    ask.fail(format!("peer {peer} did not answer: {error}"));
                    return;
                }
                let request = self.requests.remove(&request_id);
                tracing::debug!(%peer, ?request, error = %error, "sync request failed");
                if let Some((_, kind, chain)) = request {
                    self.sync_request_failed(worker, (kind, chain), peer, request_id);
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, error = %error, "answering a sync request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn on_peer_status(&mut self, worker: &WorkerQueues, peer: PeerId, status: PeerStatus) {
        if status.genesis != self.local.genesis {
            tracing::info!(%peer, "peer has another genesis; disconnecting");
            let _ = self.swarm.disconnect_peer_id(peer);
            return;
        }
        if !status.is_well_formed() {
            self.penalize(peer, "malformed status");
            return;
        }
        self.book.set_status(&peer, status);
        self.snapshot_dirty = true;
        if !self.waiting_asks.is_empty() {
            self.retry_waiting_asks();
        }
        self.maybe_start_sync(worker);
    }

    fn on_response(
        &mut self,
        worker: &WorkerQueues,
        peer: PeerId,
        request_id: OutboundRequestId,
        (kind, chain): (RequestKind, ChainId),
        response: SyncResponse,
    ) {
        match (kind, response) {
            (RequestKind::Status, SyncResponse::Status(status)) => {
                self.on_peer_status(worker, peer, status);
            }
            (RequestKind::Headers, SyncResponse::Headers(headers)) => {
                let Some(sync) = self.syncs.get_mut(&chain) else {
                    return;
                };
                if sync.peer != peer
                    || !matches!(sync.phase, Phase::AwaitingHeaders(id) if id == request_id)
                {
                    return;
                }
                let count = headers.len();
                if count > usize::try_from(HEADERS_PER_RESPONSE_MAX).unwrap_or(usize::MAX) {
                    self.syncs.remove(&chain);
                    self.penalize(peer, &format!("{count} headers in one response"));
                    return;
                }
                if count == 0 {
                    // Nothing after our locator: its extra work is on a branch we have.
                    tracing::debug!(%peer, %chain, "peer has no headers for us");
                    self.syncs.remove(&chain);
                    return;
                }
                sync.more_headers =
                    count == usize::try_from(HEADERS_PER_RESPONSE_MAX).unwrap_or(usize::MAX);
                sync.phase = Phase::CheckingHeaders;
                sync.step_started = Instant::now();
                if worker
                    .sync
                    .try_send(SyncJob::CheckHeaders {
                        peer,
                        chain,
                        headers,
                    })
                    .is_err()
                {
                    self.syncs.remove(&chain);
                }
            }
            (RequestKind::Blocks, SyncResponse::Blocks(blocks)) => {
                let Some(slice) = self.blocks_slice(chain, peer, request_id) else {
                    return;
                };
                // The answer must be a non-empty prefix of what was asked, in order.
                let matches = !blocks.is_empty()
                    && blocks.len() <= slice.hashes.len()
                    && blocks
                        .iter()
                        .zip(&slice.hashes)
                        .all(|(b, h)| b.hash() == *h);
                if !matches {
                    slice.blocks = Some(Vec::new());
                    self.penalize(peer, "blocks response does not match the request");
                } else {
                    let count = u64::try_from(blocks.len()).unwrap_or(u64::MAX);
                    slice.blocks = Some(blocks);
                    self.book.count_synced_blocks(&peer, count);
                }
                self.maybe_import_slices(worker, chain);
            }
            (_, SyncResponse::Refused(why)) => {
                tracing::debug!(%peer, %chain, %why, "peer refused a sync request");
                self.sync_request_failed(worker, (kind, chain), peer, request_id);
            }
            (kind, _) => {
                self.sync_request_failed(worker, (kind, chain), peer, request_id);
                self.penalize(peer, "answer of the wrong kind");
            }
        }
    }

    fn refresh_snapshot(&mut self) {
        let now = Instant::now();
        self.last_snapshot = now;
        self.snapshot_dirty = false;
        let mut peers: Vec<PeerSnapshot> = self
            .book
            .peers()
            .map(|(peer, info)| {
                let root = info.status.as_ref().and_then(PeerStatus::root);
                PeerSnapshot {
                    peer_id: peer.to_string(),
                    addr: info.addr.as_ref().map(ToString::to_string),
                    height: root.map(|s| s.height),
                    tip: root.map(|s| s.tip),
                    cumulative_work: root.map(|s| s.cumulative_work),
                    rejected_messages: info.rejected_messages,
                    synced_blocks: info.synced_blocks,
                    gossip_score: self.swarm.behaviour().gossipsub.peer_score(peer),
                    chains: info.status.as_ref().map_or_else(Vec::new, |s| {
                        s.chains
                            .iter()
                            .map(|tip: &ChainTip| (tip.chain, tip.height))
                            .collect()
                    }),
                }
            })
            .collect();
        peers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        let mut banned: Vec<BanSnapshot> = self
            .book
            .bans()
            .map(|(peer, ban)| BanSnapshot {
                peer_id: peer.to_string(),
                reason: ban.reason.clone(),
                rejected_messages: ban.rejected_messages,
                remaining_ms: u64::try_from(ban.until.saturating_duration_since(now).as_millis())
                    .unwrap_or(u64::MAX),
            })
            .collect();
        banned.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        let mut snapshot = self.snapshot.lock();
        snapshot.listen_addrs = self
            .listen_addrs
            .iter()
            .map(|a| format!("{a}/p2p/{}", self.swarm.local_peer_id()))
            .collect();
        snapshot.best_peer_height = peers.iter().filter_map(|p| p.height).max();
        snapshot.peers = peers;
        snapshot.banned = banned;
        snapshot.syncing = !self.syncs.is_empty();
        snapshot.sync_peer = self
            .syncs
            .get(&ChainId::ROOT)
            .or_else(|| self.syncs.values().next())
            .map(|s| s.peer.to_string());
        snapshot.synced_blocks = self.synced_blocks;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitverse_blocktree::{ChainParams, genesis_block};

    fn blocks(count: u64) -> Vec<Block> {
        let params = ChainParams::dev();
        (0..count)
            .map(|height| {
                let mut block = genesis_block(&params).unwrap();
                block.header.height = height;
                block
            })
            .collect()
    }

    fn slice(asked: &[Block], got: usize) -> (usize, Vec<Block>) {
        (asked.len(), asked.iter().take(got).cloned().collect())
    }

    #[test]
    fn blocks_from_several_peers_are_imported_in_order_up_to_the_first_gap() {
        let all = blocks(9);
        let (a, rest) = all.split_at(3);
        let (b, c) = rest.split_at(3);
        let whole = contiguous_blocks([slice(a, 3), slice(b, 3), slice(c, 3)]);
        assert_eq!(whole, all);
        let short = contiguous_blocks([slice(a, 3), slice(b, 1), slice(c, 3)]);
        assert_eq!(short, all[..4].to_vec(), "a short slice ends what connects");
        let failed = contiguous_blocks([slice(a, 3), slice(b, 0), slice(c, 3)]);
        assert_eq!(failed, all[..3].to_vec(), "a failed slice is a gap");
        assert!(contiguous_blocks([slice(a, 0), slice(b, 3)]).is_empty());
    }
}
