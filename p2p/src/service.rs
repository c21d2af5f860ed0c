//! The swarm and its loop: one `#[derive(NetworkBehaviour)]` (connection limits, a block
//! list, gossipsub, the sync request-response protocol, identify, Kademlia) driven from one
//! `select!` loop that hands gossip and sync work to the chain worker, keeps the peer book,
//! bans misbehaving peers, subscribes to the topics of every chain the node has open, drives
//! headers-first sync (the state machine in `sync`: it says what to send and queue, this loop
//! does it), and carries the node's forwarded requests (writes and reads for chains it does not
//! track) to peers that track them.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bitverse_blocktree::Blocktree;
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

use super::gate::InboundGate;
use super::peers::{ConnectRefusal, PEERS_MAX, PeerBook, USELESS_GOSSIP_MAX};
use super::protocol::{
    ChainTip, GOSSIP_MESSAGE_BYTES_MAX, NetworkNames, PeerStatus, SyncCodec, SyncRequest,
    SyncResponse,
};
use super::shards::{ShardCodec, ShardRequest, ShardResponse, ShardService};
use super::sync::{
    ChainSyncs, LocalChain, SYNC_PEERS_PER_CHAIN_MAX, SYNCS_AT_ONCE_MAX, SyncAction, SyncRequestId,
};
use super::worker::{
    GossipJob, RevealJob, ServeJob, SyncJob, WorkerOutput, WorkerQueues, WorkerResult,
};
use super::{Ask, BanSnapshot, NetworkSnapshot, PeerSnapshot, PublishQueues, ShardAsk};
use bitverse_market_wire::MarketMessage;

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
pub(crate) const SYNC_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Sync streams open on one connection at once, each way.
const SYNC_STREAMS_MAX: usize = 16;
/// Sync requests of ours in flight at once: a status request per peer and one step per sync
/// (a blocks step asks several peers).
const REQUESTS_IN_FLIGHT_MAX: usize = PEERS_MAX + SYNCS_AT_ONCE_MAX * SYNC_PEERS_PER_CHAIN_MAX;
/// Forwarded requests (writes and reads for chains this node does not track) in flight at once;
/// more are refused at once, so a burst of RPC calls cannot grow the loop's tables.
pub(crate) const ASKS_IN_FLIGHT_MAX: usize = 64;
/// How long a storer may take over one shard request (a piece written, a range proven).
const SHARD_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Shard streams open on one connection at once, each way: an uploader sends one piece per
/// shard at a time, and a blob has at most 64 shards.
const SHARD_STREAMS_MAX: usize = 64;
/// Shard requests of ours in flight at once; more are refused at once.
pub(crate) const SHARD_ASKS_IN_FLIGHT_MAX: usize = 256;
/// Shard requests a storer works on at once (each on a blocking thread: a piece written, a
/// range proven from disk); more are refused as busy, and the uploader or reader retries.
pub(crate) const SHARD_JOBS_MAX: usize = 16;
/// How long a forwarded request waits for a peer that tracks its chain when none is known yet
/// (a chain just opened: peers name it in their next status, which the node asks for at once).
const ASK_PEER_WAIT_MS: u64 = 5_000;
/// How often the loop does its housekeeping (bans, scores, status, sync, redials).
const TICK_MS: u64 = 1_000;
/// How often the node asks each peer for its tip.
const STATUS_INTERVAL_MS: u64 = 3_000;
/// Least time between two status requests to one peer, whatever prompts them (orphans).
const STATUS_MIN_INTERVAL_MS: u64 = 500;
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
    gate: InboundGate,
    limits: connection_limits::Behaviour,
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub gossipsub: gossipsub::Behaviour,
    pub sync: request_response::Behaviour<SyncCodec>,
    pub shards: request_response::Behaviour<ShardCodec>,
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
    let shards = request_response::Behaviour::with_codec(
        ShardCodec,
        [(names.shard_protocol.clone(), ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(Duration::from_millis(SHARD_REQUEST_TIMEOUT_MS))
            .with_max_concurrent_streams(SHARD_STREAMS_MAX),
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
        gate: InboundGate::default(),
        limits,
        blocked: allow_block_list::Behaviour::default(),
        gossipsub,
        sync,
        shards,
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

/// Our own outstanding requests: a status request, or a sync request the sync machine named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outbound {
    Status,
    Sync(SyncRequestId),
}

/// What a gossip topic carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TopicKind {
    Blocks,
    Txs,
    /// The compute market's (one for the network; filed under the root).
    Market,
}

/// The loop's inputs besides the swarm.
pub(crate) struct LoopInputs {
    pub worker: WorkerQueues,
    pub results: mpsc::Receiver<WorkerResult>,
    pub publish: PublishQueues,
    /// Where checked market messages heard go.
    pub market_heard: mpsc::Sender<MarketMessage>,
    /// Answers of this storer's [`ShardService`], done on blocking threads, to send back.
    pub shard_answers: mpsc::Receiver<ShardAnswer>,
    pub stop: watch::Receiver<bool>,
}

/// A shard request answered off the loop, and the channel its answer goes back on.
pub(crate) type ShardAnswer = (
    request_response::ResponseChannel<ShardResponse>,
    ShardResponse,
);

/// This node's side of the shard protocol as a storer: its service (none unless it stores),
/// the requests it is working on, and where their answers go.
pub(crate) struct ShardServing {
    pub service: Arc<dyn ShardService>,
    pub jobs: Arc<std::sync::atomic::AtomicUsize>,
    pub answers: mpsc::Sender<ShardAnswer>,
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
    /// The open data chains whose anchored block this node does not hold, read from the tree
    /// each tick (see [`LocalChain::anchor_missing`]).
    anchors_missing: BTreeMap<ChainId, (Hash, u64)>,
    bootstrap: Vec<Multiaddr>,
    listen_addrs: Vec<Multiaddr>,
    snapshot: Arc<Mutex<NetworkSnapshot>>,
    book: PeerBook,
    requests: HashMap<OutboundRequestId, (PeerId, Outbound)>,
    /// Forwarded requests in flight and where their answers go.
    asks: HashMap<OutboundRequestId, Ask>,
    /// Shard requests of ours in flight and where their answers go.
    shard_asks: HashMap<OutboundRequestId, ShardAsk>,
    /// This node as a storer, if it is one.
    shard_serving: Option<ShardServing>,
    /// Forwarded requests waiting for a peer that tracks their chain, with their deadline.
    waiting_asks: VecDeque<(Ask, Instant)>,
    /// Headers-first sync of every open chain, at most [`SYNCS_AT_ONCE_MAX`] at once.
    sync: ChainSyncs<PeerId>,
    /// Where the sync machine's `now_ms` counts from.
    started: Instant,
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
            anchors_missing: BTreeMap::new(),
            bootstrap,
            listen_addrs,
            snapshot,
            book: PeerBook::default(),
            requests: HashMap::new(),
            asks: HashMap::new(),
            shard_asks: HashMap::new(),
            shard_serving: None,
            waiting_asks: VecDeque::new(),
            sync: ChainSyncs::default(),
            started: Instant::now(),
            last_bootstrap_dial: None,
            last_snapshot: Instant::now(),
            snapshot_dirty: true,
            unpublished_txs: VecDeque::new(),
            txs_to_resend: VecDeque::new(),
        };
        service.subscribe_open_chains();
        service.subscribe_market();
        service.refresh_sync_local();
        service
    }

    /// Makes this node a storer: the shard requests it receives go to `serving`'s service.
    pub(crate) fn serve_shards(&mut self, serving: ShardServing) {
        self.shard_serving = Some(serving);
    }

    /// Subscribes to the market topic: every node carries market gossip, whatever its roles.
    fn subscribe_market(&mut self) {
        self.subscribe(ChainId::ROOT, TopicKind::Market);
    }

    /// Scores and subscribes to one topic, filing it under `chain` and `kind`; whether it
    /// worked.
    fn subscribe(&mut self, chain: ChainId, kind: TopicKind) -> bool {
        let topic = self.topic(chain, kind);
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        if let Err(e) = gossipsub.set_topic_params(topic.clone(), topic_score_params()) {
            tracing::warn!(%topic, error = e, "cannot score topic");
        }
        match gossipsub.subscribe(&topic) {
            Ok(_) => {
                self.topics.insert(topic.hash(), (chain, kind));
                true
            }
            Err(e) => {
                tracing::warn!(%topic, error = %e, "cannot subscribe");
                false
            }
        }
    }

    /// Milliseconds since the loop started: the sync machine's clock.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Tells the sync machine which chains are open here (read fresh from the tree: a keyspace
    /// bought below the root opens chains at any time) and this node's tip on each.
    fn refresh_sync_local(&mut self) {
        let open: Vec<LocalChain> = std::iter::once(ChainId::ROOT)
            .chain(self.tree.data_chains())
            .map(|chain| {
                let tip = self.local.chain(chain);
                LocalChain {
                    chain,
                    height: tip.map_or(0, |t| t.height),
                    cumulative_work: tip.map_or(0, |t| t.cumulative_work),
                    tip: tip.map_or(Hash::ZERO, |t| t.tip),
                    anchor_missing: self.anchors_missing.get(&chain).copied(),
                }
            })
            .collect();
        self.sync.set_local(open);
    }

    /// Reads which open data chains lack their anchored block. A chain busy importing keeps
    /// its last reading: the loop never waits for a chain's lock.
    fn refresh_anchors_missing(&mut self) {
        let open: BTreeSet<ChainId> = self.tree.data_chains().into_iter().collect();
        self.anchors_missing.retain(|chain, _| open.contains(chain));
        for chain in open {
            let Some(handle) = self.tree.chain(chain) else {
                continue;
            };
            let Some(locked) = handle.try_lock() else {
                continue;
            };
            match locked.anchor_floor_missing() {
                Some(floor) => self
                    .anchors_missing
                    .insert(chain, (floor.hash, floor.height)),
                None => self.anchors_missing.remove(&chain),
            };
        }
    }

    /// Carries out what the sync machine asked for, in order: requests go to the swarm, chain
    /// jobs to the worker (a job the worker has no room for ends its chain's sync), penalties
    /// to the peer book.
    fn apply_sync(&mut self, worker: &WorkerQueues, actions: Vec<SyncAction<PeerId>>) {
        for action in actions {
            let (chain, job) = match action {
                SyncAction::Send { id, peer, request } => {
                    let sent = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                    self.requests.insert(sent, (peer, Outbound::Sync(id)));
                    continue;
                }
                SyncAction::Penalise { peer, reason } => {
                    self.penalize(peer, &reason);
                    continue;
                }
                SyncAction::PrepareHeadersRequest { peer, chain } => {
                    (chain, SyncJob::PrepareHeadersRequest { peer, chain })
                }
                SyncAction::CheckHeaders {
                    peer,
                    chain,
                    headers,
                } => (
                    chain,
                    SyncJob::CheckHeaders {
                        peer,
                        chain,
                        headers,
                    },
                ),
                SyncAction::ImportBlocks {
                    peer,
                    chain,
                    blocks,
                } => (
                    chain,
                    SyncJob::ImportBlocks {
                        peer,
                        chain,
                        blocks,
                    },
                ),
            };
            if worker.sync.try_send(job).is_err() {
                self.sync.job_not_queued(chain);
            }
        }
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
                subscribed &= self.subscribe(chain, kind);
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
            TopicKind::Market => self.names.market_topic(),
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
                Some(result) = inputs.results.recv() => {
                    self.on_worker_result(&inputs.worker, &inputs.market_heard, result);
                }
                Some((data, tip)) = inputs.publish.blocks.recv() => {
                    let chain = tip.chain;
                    self.local.update(tip);
                    self.refresh_sync_local();
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
                Some(ask) = inputs.publish.shard_asks.recv() => self.send_shard_request(ask),
                Some((channel, answer)) = inputs.shard_answers.recv() => {
                    let _ = self.swarm.behaviour_mut().shards.send_response(channel, answer);
                }
                Some(data) = inputs.publish.market.recv() => {
                    self.publish(ChainId::ROOT, TopicKind::Market, data);
                }
                Some((peer, reason)) = inputs.publish.reports.recv() => {
                    self.penalize(peer.0, &format!("false answer: {reason}"));
                }
                event = self.swarm.select_next_some() => self.on_swarm_event(&inputs.worker, &inputs.market_heard, event),
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
        self.refresh_sync_local();
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
        self.requests.insert(id, (peer, Outbound::Status));
    }

    /// Counts an invalid message against `peer`, banning it at the limit.
    /// Tells gossipsub the worker's verdict on a message (forward, ignore or reject) and
    /// penalises the sender of a rejected one; returns whether it was rejected.
    fn report_validation(
        &mut self,
        message_id: &MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
        reason: &Option<String>,
    ) -> bool {
        let rejected = matches!(acceptance, MessageAcceptance::Reject);
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(message_id, &source, acceptance);
        if rejected {
            self.penalize(source, reason.as_deref().unwrap_or("rejected"));
        }
        rejected
    }

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
        self.sync.peer_gone(&peer);
    }

    fn on_tick(&mut self, worker: &WorkerQueues) {
        let now = Instant::now();
        self.book.decay_useless_gossip();
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
        self.refresh_anchors_missing();
        self.refresh_sync_local();
        let actions = self.sync.tick(self.now_ms());
        self.apply_sync(worker, actions);
        if self.book.len() == 0
            && !self.bootstrap.is_empty()
            && self.last_bootstrap_dial.is_none_or(|t| {
                now.duration_since(t) >= Duration::from_millis(BOOTSTRAP_REDIAL_INTERVAL_MS)
            })
        {
            self.dial_bootstrap();
        }
    }

    fn on_worker_result(
        &mut self,
        worker: &WorkerQueues,
        market_heard: &mpsc::Sender<MarketMessage>,
        result: WorkerResult,
    ) {
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
                useless,
            } => {
                let rejected = self.report_validation(&message_id, source, acceptance, &reason);
                let earned_ban = match (useless, orphan) {
                    (false, _) => false,
                    // A run of orphans linked to each other counts once (`record_orphan`).
                    (true, Some((hash, parent))) => self.book.record_orphan(&source, hash, parent),
                    (true, None) => self.book.record_useless_gossip(&source),
                };
                if rejected {
                    // Penalised already, by `report_validation`.
                } else if earned_ban {
                    self.ban(
                        source,
                        format!(
                            "more than {USELESS_GOSSIP_MAX} useless gossip messages in a few \
                             seconds, last: {}",
                            reason.as_deref().unwrap_or("ignored")
                        ),
                    );
                } else if orphan.is_some() {
                    // Its sender may be on a better chain we have not seen: ask, and sync.
                    self.ask_status(source);
                }
            }
            WorkerOutput::RevealVerdict {
                source,
                message_id,
                acceptance,
                reason,
                keep,
            } => {
                let rejected = self.report_validation(&message_id, source, acceptance, &reason);
                if !rejected && let Some(reason) = &reason {
                    tracing::debug!(peer = %source, %reason, "a reveal not forwarded");
                }
                if let Some(reveal) = keep
                    && market_heard
                        .try_send(MarketMessage::Reveal(reveal))
                        .is_err()
                {
                    tracing::debug!("market queue full; a reveal not kept");
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
                let actions = self
                    .sync
                    .headers_request_ready(self.now_ms(), peer, chain, request);
                self.apply_sync(worker, actions);
            }
            WorkerOutput::HeadersChecked {
                peer,
                chain,
                outcome,
            } => {
                let actions = self
                    .sync
                    .headers_checked(self.now_ms(), peer, chain, outcome);
                self.apply_sync(worker, actions);
            }
            WorkerOutput::BlocksImported {
                peer,
                chain,
                outcome,
            } => {
                let actions = self
                    .sync
                    .blocks_imported(self.now_ms(), peer, chain, outcome);
                self.apply_sync(worker, actions);
            }
        }
    }

    fn on_swarm_event(
        &mut self,
        worker: &WorkerQueues,
        market_heard: &mpsc::Sender<MarketMessage>,
        event: SwarmEvent<BehaviourEvent>,
    ) {
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
                let now = Instant::now();
                if let Err(refusal) = self.book.connected(peer_id, addr.clone(), now) {
                    tracing::info!(peer = %peer_id, %addr, %refusal, "connection refused");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    // Its next identities are refused before they cost a handshake.
                    if let ConnectRefusal::NewIdentitiesFromIp { ip } = refusal
                        && let Some(until) = self.book.identity_window_end(ip)
                    {
                        self.swarm.behaviour_mut().gate.refuse_until(ip, until, now);
                    }
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
                self.sync.peer_gone(&peer_id);
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, error = %error, "dial failed");
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(worker, market_heard, event),
            _ => {}
        }
    }

    /// Judges a market message at once (decoding and signature checks are cheap and need no
    /// chain): a malformed or forged one counts against its sender, a good one is forwarded
    /// and handed to the exchange. When the exchange is busy it is still forwarded. A reveal,
    /// whose bytes must be the result its bounty settled with, goes to the chain worker to be
    /// judged against the root ([`WorkerOutput::RevealVerdict`]); with the worker busy it is
    /// ignored.
    fn on_market_message(
        &mut self,
        worker: &WorkerQueues,
        market_heard: &mpsc::Sender<MarketMessage>,
        source: &PeerId,
        message_id: &MessageId,
        data: &[u8],
    ) {
        let acceptance = match MarketMessage::from_bytes_checked(data) {
            Ok(MarketMessage::Reveal(reveal)) => {
                let job = RevealJob {
                    source: *source,
                    message_id: message_id.clone(),
                    reveal,
                };
                if worker.reveals.try_send(job).is_ok() {
                    return;
                }
                tracing::debug!("reveal queue full; a reveal ignored");
                MessageAcceptance::Ignore
            }
            Ok(message) => {
                if market_heard.try_send(message).is_err() {
                    tracing::debug!("market queue full; a market message not kept");
                }
                MessageAcceptance::Accept
            }
            Err(reason) => {
                tracing::debug!(peer = %source, %reason, "market message refused");
                MessageAcceptance::Reject
            }
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(message_id, source, acceptance);
    }

    fn on_behaviour_event(
        &mut self,
        worker: &WorkerQueues,
        market_heard: &mpsc::Sender<MarketMessage>,
        event: BehaviourEvent,
    ) {
        match event {
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                let queue = match self.topics.get(&message.topic) {
                    Some(&(chain, TopicKind::Blocks)) => Some((chain, &worker.blocks)),
                    Some(&(chain, TopicKind::Txs)) => Some((chain, &worker.txs)),
                    Some((_, TopicKind::Market)) => {
                        let data = message.data;
                        self.on_market_message(
                            worker,
                            market_heard,
                            &propagation_source,
                            &message_id,
                            &data,
                        );
                        return;
                    }
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
            BehaviourEvent::Shards(event) => self.on_shard_event(event),
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
            BehaviourEvent::Gate(never)
            | BehaviourEvent::Limits(never)
            | BehaviourEvent::Blocked(never) => match never {},
        }
    }

    /// Sends a shard request of this node to its storer (dialled if need be, at the addresses
    /// discovery knows); the answer, or why there is none, goes back on the ask's channel.
    fn send_shard_request(&mut self, ask: ShardAsk) {
        if self.shard_asks.len() >= SHARD_ASKS_IN_FLIGHT_MAX {
            ask.fail(format!(
                "{SHARD_ASKS_IN_FLIGHT_MAX} shard requests already in flight; try again"
            ));
            return;
        }
        if self.book.is_banned(&ask.peer.0) {
            let peer = ask.peer;
            ask.fail(format!("storer {peer} is banned here"));
            return;
        }
        let id = self
            .swarm
            .behaviour_mut()
            .shards
            .send_request(&ask.peer.0, ask.request.clone());
        self.shard_asks.insert(id, ask);
    }

    fn on_shard_event(&mut self, event: request_response::Event<ShardRequest, ShardResponse>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let Some(serving) = &self.shard_serving else {
                    let answer = ShardResponse::refused("this node stores no shards");
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .shards
                        .send_response(channel, answer);
                    return;
                };
                let service = serving.service.clone();
                let jobs = serving.jobs.clone();
                let taken = jobs.fetch_update(
                    std::sync::atomic::Ordering::AcqRel,
                    std::sync::atomic::Ordering::Acquire,
                    |n| (n < SHARD_JOBS_MAX).then(|| n.saturating_add(1)),
                );
                if taken.is_err() {
                    let answer = ShardResponse::Busy;
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .shards
                        .send_response(channel, answer);
                    return;
                }
                let answers = serving.answers.clone();
                tokio::task::spawn_blocking(move || {
                    let answer = service.serve(crate::PeerRef(peer), request);
                    // Sent before the job's slot is freed, so the queue (twice the jobs) has
                    // room unless the loop falls far behind; then the answer is dropped and
                    // the asker's request fails, to be retried.
                    let _ = answers.try_send((channel, answer));
                    jobs.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
                });
            }
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(ask) = self.shard_asks.remove(&request_id) {
                    ask.answer(response);
                }
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(ask) = self.shard_asks.remove(&request_id) {
                    ask.fail(format!("storer {peer} did not answer: {error}"));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, error = %error, "answering a shard request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
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
                    ask.answer(crate::PeerRef(peer), response);
                    return;
                }
                let Some((_, outbound)) = self.requests.remove(&request_id) else {
                    return;
                };
                self.on_response(worker, peer, outbound, response);
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
                if let Some((_, Outbound::Sync(id))) = request {
                    let actions = self.sync.request_failed(self.now_ms(), peer, id);
                    self.apply_sync(worker, actions);
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
        if self.book.get_mut(&peer).is_none() {
            // Not (or no longer) connected: nothing to follow.
            return;
        }
        let chains = status.chains.clone();
        self.book.set_status(&peer, status);
        self.snapshot_dirty = true;
        if !self.waiting_asks.is_empty() {
            self.retry_waiting_asks();
        }
        self.refresh_sync_local();
        let actions = self.sync.peer_status(self.now_ms(), peer, &chains);
        self.apply_sync(worker, actions);
    }

    fn on_response(
        &mut self,
        worker: &WorkerQueues,
        peer: PeerId,
        outbound: Outbound,
        response: SyncResponse,
    ) {
        match (outbound, response) {
            (Outbound::Status, SyncResponse::Status(status)) => {
                self.on_peer_status(worker, peer, status);
            }
            (Outbound::Status, SyncResponse::Refused(why)) => {
                tracing::debug!(%peer, %why, "peer refused a status request");
            }
            (Outbound::Status, _) => self.penalize(peer, "answer of the wrong kind"),
            (Outbound::Sync(id), response) => {
                let actions = self.sync.on_response(self.now_ms(), peer, id, response);
                self.apply_sync(worker, actions);
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
                    synced_blocks: self.sync.synced_blocks_from(peer),
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
        snapshot.syncing = self.sync.is_syncing();
        snapshot.sync_peer = self.sync.lead_peer().map(|peer| peer.to_string());
        snapshot.synced_blocks = self.sync.synced_blocks();
    }
}
