//! A gossip flooder, for `bitverse bench flood` (issue 18 §6): a real swarm built as the node
//! builds its own ([`build_swarm`]: the same transport, gossipsub configuration and protocol
//! names, so the nodes take it for one of theirs), which joins a node's root topics and sends it
//! the messages a caller makes, as fast as asked, until the node drops it; then it comes back at
//! once under a fresh identity (a new keypair) from the same address, again and again, until
//! its time is up. It reports every identity it tried: whether it got in, how many messages it
//! sent, and how long it stayed connected before the node dropped it.
//!
//! It lives here because only this crate names libp2p; what it sends is the caller's business
//! (plain bytes per topic), so this module knows nothing of blocks or transactions. It is a
//! tool against one's own nodes: nothing in the node uses it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bitverse_primitives::{ChainId, Hash};
use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, PublishError};
use libp2p::multiaddr::Protocol;
use libp2p::request_response;
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, identity};

use super::P2pAddr;
use super::protocol::{NetworkNames, SyncRequest, SyncResponse};
use super::service::{BehaviourEvent, build_swarm};

/// How often a flooding identity publishes what is due by its rate.
const PACE_MS: u64 = 5;
/// Most messages published in one pacing step, so that a late step cannot stall the swarm.
const MESSAGES_PER_STEP_MAX: u64 = 64;
/// Most identities recorded per target; beyond it they are counted but not listed.
pub const IDENTITIES_RECORDED_MAX: usize = 100_000;

/// The root topic a flood message goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloodTopic {
    /// The root chain's blocks.
    Blocks,
    /// The root chain's transactions.
    Txs,
}

/// One message to send, as the caller made it.
#[derive(Clone, Debug)]
pub struct FloodMessage {
    /// The topic it goes on.
    pub topic: FloodTopic,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// Makes the `index`-th message of a kind (indices are unique across the whole flood, so every
/// message differs from every other). Called on the flooder's thread: its cost is the
/// flooder's.
pub type MakeMessage = Arc<dyn Fn(&'static str, u64) -> FloodMessage + Send + Sync>;

/// What to flood, where, how fast and how long.
#[derive(Clone)]
pub struct FloodPlan {
    /// The nodes' genesis: it names their topics and protocols.
    pub genesis: Hash,
    /// The nodes to flood, each `/ip4/…/tcp/…/p2p/PEER_ID`: each gets its own stream of
    /// identities.
    pub targets: Vec<P2pAddr>,
    /// The kinds of message, by name: identity `n` of a target sends only kind `n % len`, so
    /// each kind's identities are measured apart.
    pub kinds: Vec<&'static str>,
    /// Makes the messages.
    pub make: MakeMessage,
    /// Messages per second each connected identity sends.
    pub messages_per_s: u64,
    /// How long the flood lasts.
    pub duration_ms: u64,
}

/// Running totals, readable while the flood goes on (for progress lines).
#[derive(Debug, Default)]
pub struct FloodCounters {
    sent: AtomicU64,
    identities: AtomicU64,
    dropped: AtomicU64,
    next_index: AtomicU64,
}

impl FloodCounters {
    /// Messages published so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Identities tried so far.
    pub fn identities(&self) -> u64 {
        self.identities.load(Ordering::Relaxed)
    }

    /// Connections the nodes closed so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// How one identity's time ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityEnd {
    /// The node closed the connection (a ban, a refusal).
    Dropped,
    /// The dial failed before a connection was made.
    DialFailed,
    /// The flood ended while it was still connected (or still dialing).
    FloodOver,
}

/// One identity the flooder tried.
#[derive(Clone, Debug)]
pub struct IdentityReport {
    /// The target, as an index into [`FloodPlan::targets`].
    pub target: usize,
    /// Its peer id.
    pub peer_id: String,
    /// The kind of message it sent.
    pub kind: &'static str,
    /// Whether a connection was made.
    pub connected: bool,
    /// Whether the node told it its subscriptions, so that it could publish.
    pub subscribed: bool,
    /// Messages it published.
    pub sent: u64,
    /// Messages it could not publish because the connection's queue was full.
    pub queue_full: u64,
    /// From the connection to its end, in ms (`None` without a connection).
    pub connected_ms: Option<u64>,
    /// How its time ended.
    pub end: IdentityEnd,
}

/// What the flood did.
#[derive(Clone, Debug, Default)]
pub struct FloodReport {
    /// Every identity tried, by target, in order (at most [`IDENTITIES_RECORDED_MAX`] per
    /// target).
    pub identities: Vec<IdentityReport>,
    /// How long it ran.
    pub elapsed_ms: u64,
}

/// Floods every target of `plan` at once, each with its own identities, until
/// `plan.duration_ms` is over; `counters` shows the totals as it goes. Runs on the calling
/// task's runtime.
pub async fn flood(plan: FloodPlan, counters: Arc<FloodCounters>) -> anyhow::Result<FloodReport> {
    let names = NetworkNames::new(&plan.genesis)?;
    let started = Instant::now();
    let deadline = started + Duration::from_millis(plan.duration_ms);
    let mut targets = Vec::with_capacity(plan.targets.len());
    for (index, target) in plan.targets.iter().enumerate() {
        let mut address = target.0.clone();
        let Some(Protocol::P2p(peer)) = address.pop() else {
            anyhow::bail!("target {target} names no /p2p/PEER_ID");
        };
        targets.push((index, peer, address));
    }
    let tasks = targets.into_iter().map(|(index, peer, address)| {
        flood_target(
            index,
            peer,
            address,
            &names,
            &plan,
            deadline,
            counters.as_ref(),
        )
    });
    let mut identities = Vec::new();
    for result in libp2p::futures::future::join_all(tasks).await {
        identities.extend(result?);
    }
    Ok(FloodReport {
        identities,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// One target's stream of identities, one after the other.
async fn flood_target(
    target: usize,
    peer: PeerId,
    address: Multiaddr,
    names: &NetworkNames,
    plan: &FloodPlan,
    deadline: Instant,
    counters: &FloodCounters,
) -> anyhow::Result<Vec<IdentityReport>> {
    let mut reports = Vec::new();
    let mut serial = 0usize;
    while Instant::now() < deadline {
        let kind = plan
            .kinds
            .get(serial % plan.kinds.len().max(1))
            .copied()
            .context("the plan names no kind of message")?;
        serial = serial.saturating_add(1);
        counters.identities.fetch_add(1, Ordering::Relaxed);
        let report = identity_session(
            target,
            peer,
            address.clone(),
            names,
            plan,
            kind,
            deadline,
            counters,
        )
        .await?;
        // Whatever ended it, the next identity dials at once, as a flooder would.
        if reports.len() < IDENTITIES_RECORDED_MAX {
            reports.push(report);
        }
    }
    Ok(reports)
}

/// One identity: dial, wait for the node's subscriptions, publish at the plan's rate until the
/// node drops the connection or the flood is over.
#[expect(
    clippy::too_many_arguments,
    reason = "one identity's session: the target, the plan and the shared totals, each needed"
)]
async fn identity_session(
    target: usize,
    peer: PeerId,
    address: Multiaddr,
    names: &NetworkNames,
    plan: &FloodPlan,
    kind: &'static str,
    deadline: Instant,
    counters: &FloodCounters,
) -> anyhow::Result<IdentityReport> {
    let keypair = identity::Keypair::generate_ed25519();
    let mut swarm = build_swarm(keypair, names)?;
    let blocks = IdentTopic::new(names.blocks_topic(ChainId::ROOT));
    let txs = IdentTopic::new(names.txs_topic(ChainId::ROOT));
    for topic in [&blocks, &txs] {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(topic)
            .map_err(|e| anyhow::anyhow!("cannot subscribe to {topic}: {e}"))?;
    }
    let mut report = IdentityReport {
        target,
        peer_id: swarm.local_peer_id().to_string(),
        kind,
        connected: false,
        subscribed: false,
        sent: 0,
        queue_full: 0,
        connected_ms: None,
        end: IdentityEnd::FloodOver,
    };
    if let Err(e) = swarm.dial(DialOpts::peer_id(peer).addresses(vec![address]).build()) {
        tracing::debug!(error = %e, "flooder cannot dial");
        report.end = IdentityEnd::DialFailed;
        return Ok(report);
    }
    let mut connected_at: Option<Instant> = None;
    let mut flooding_since: Option<Instant> = None;
    let mut topics_heard = (false, false);
    let mut pace = tokio::time::interval(Duration::from_millis(PACE_MS));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let over = tokio::time::sleep_until(deadline.into());
    tokio::pin!(over);
    loop {
        tokio::select! {
            _ = &mut over => break,
            _ = pace.tick(), if flooding_since.is_some() => {
                let since = flooding_since.unwrap_or_else(Instant::now);
                let due_total = u64::try_from(
                    since.elapsed().as_millis().saturating_mul(u128::from(plan.messages_per_s)) / 1000,
                )
                .unwrap_or(u64::MAX);
                let attempted = report.sent.saturating_add(report.queue_full);
                let due = due_total.saturating_sub(attempted).min(MESSAGES_PER_STEP_MAX);
                for _ in 0..due {
                    let index = counters.next_index.fetch_add(1, Ordering::Relaxed);
                    let message = (plan.make)(kind, index);
                    let topic = match message.topic {
                        FloodTopic::Blocks => blocks.clone(),
                        FloodTopic::Txs => txs.clone(),
                    };
                    match swarm.behaviour_mut().gossipsub.publish(topic, message.data) {
                        Ok(_) => {
                            report.sent = report.sent.saturating_add(1);
                            counters.sent.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(PublishError::AllQueuesFull(_)) => {
                            report.queue_full = report.queue_full.saturating_add(1);
                        }
                        // Gone from the topic (the node is dropping us): the close follows.
                        Err(e) => {
                            tracing::debug!(error = %e, "flooder cannot publish");
                            break;
                        }
                    }
                }
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == peer => {
                    report.connected = true;
                    connected_at.get_or_insert_with(Instant::now);
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. }
                    if peer_id == peer =>
                {
                    report.end = IdentityEnd::Dropped;
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                SwarmEvent::OutgoingConnectionError { error, .. } => {
                    tracing::debug!(error = %error, "flooder's dial failed");
                    report.end = IdentityEnd::DialFailed;
                    break;
                }
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed {
                    peer_id,
                    topic,
                    ..
                })) if peer_id == peer => {
                    topics_heard.0 |= topic == blocks.hash();
                    topics_heard.1 |= topic == txs.hash();
                    if topics_heard.0 && topics_heard.1 && flooding_since.is_none() {
                        report.subscribed = true;
                        flooding_since = Some(Instant::now());
                    }
                }
                // What the node gossips is of no interest: not forwarded, not held against it.
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                    propagation_source,
                    message_id,
                    ..
                })) => {
                    swarm.behaviour_mut().gossipsub.report_message_validation_result(
                        &message_id,
                        &propagation_source,
                        MessageAcceptance::Ignore,
                    );
                }
                // The node asks a new peer for its tip: it hears its own, so it has nothing to
                // sync from us and no reason to ask for more.
                SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                    message: request_response::Message::Request {
                        request: SyncRequest::Status(status),
                        channel,
                        ..
                    },
                    ..
                })) => {
                    let _ = swarm
                        .behaviour_mut()
                        .sync
                        .send_response(channel, SyncResponse::Status(status));
                }
                _ => {}
            },
        }
    }
    report.connected_ms =
        connected_at.map(|at| u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX));
    Ok(report)
}
