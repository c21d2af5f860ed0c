//! Headers-first sync of every open chain as a plain state machine: which peer each chain
//! follows, the headers asked and checked, the blocks fetched in slices from up to
//! [`SYNC_PEERS_PER_CHAIN_MAX`] peers, imported in order up to the first gap, retries and
//! timeouts, and how many blocks each peer gave.
//!
//! It knows no socket, task or libp2p type: a peer is any ordered id `P`, time is a
//! `now_ms` the caller passes, and the chain work (building a locator, checking headers,
//! importing blocks) is asked for, not done. Inputs are events (a peer's status seen, a peer
//! gone, a response or a failed request, a worker's result, a tick); outputs are
//! [`SyncAction`]s the swarm loop carries out (send this request to that peer, queue this
//! chain job, penalise that peer). So every path is unit-tested below without a network.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Display;

use bitverse_blocktree::{Block, BlockHeader};
use bitverse_primitives::{ChainId, Hash};

use super::peers::PEERS_MAX;
use super::protocol::{
    BLOCKS_PER_REQUEST_MAX, ChainTip, HEADERS_PER_RESPONSE_MAX, STATUS_CHAINS_MAX, SyncRequest,
    SyncResponse, most_work,
};

/// Chains synced at once, one step at a time each.
pub(crate) const SYNCS_AT_ONCE_MAX: usize = 8;
/// Peers one chain's blocks are fetched from at once: the sync's peer and others that
/// announced at least as much work on the chain, each asked for its own slice of the wanted
/// blocks.
pub(crate) const SYNC_PEERS_PER_CHAIN_MAX: usize = 4;
/// How long a sync step may take before sync gives up on the peer and starts over.
pub(crate) const SYNC_STEP_TIMEOUT_MS: u64 = 45_000;
/// Sync requests sent and not yet answered or failed, whatever step sent them. A step that
/// ends early (its sync's peer left, it timed out) leaves its other slices' requests open
/// until the swarm reports their end, and the peers asked still answer them (up to a full
/// response each); new steps count those against this bound, so a peer that keeps leaving
/// the syncs it leads cannot pile requests up on the others.
pub(crate) const OPEN_REQUESTS_MAX: usize = SYNCS_AT_ONCE_MAX * SYNC_PEERS_PER_CHAIN_MAX;
/// How long a sent request counts as open at most, should the swarm never report its end:
/// longer than the swarm's own request timeout, so only a lost report ends it here.
const OPEN_REQUEST_AGE_MS_MAX: u64 = SYNC_STEP_TIMEOUT_MS;
/// Peers whose announced tips the machine keeps: as many as may be connected.
const SYNC_PEERS_KNOWN_MAX: usize = PEERS_MAX;
/// Most headers one response may carry, as a length.
const HEADERS_PER_RESPONSE_LEN_MAX: usize = HEADERS_PER_RESPONSE_MAX as usize;

/// What a sync request of ours asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum SyncRequestKind {
    /// Headers after our locator.
    Headers,
    /// Blocks by hash.
    Blocks,
}

/// A sync request of ours, named by the machine; the swarm loop maps its own request ids to
/// these. It carries its kind, so an answer of the wrong kind is known even when the step that
/// asked has ended.
#[cfg_attr(
    not(fuzzing),
    expect(unreachable_pub, reason = "public only to the fuzz targets")
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyncRequestId {
    seq: u64,
    kind: SyncRequestKind,
}

#[cfg(fuzzing)]
impl SyncRequestId {
    /// An id the machine may never have given (any sequence number, either kind): what the
    /// fuzz targets answer to see that an answer nobody asked for is dropped.
    pub fn forged(seq: u64, blocks: bool) -> SyncRequestId {
        let kind = if blocks {
            SyncRequestKind::Blocks
        } else {
            SyncRequestKind::Headers
        };
        SyncRequestId { seq, kind }
    }
}

/// One chain this node has open, with its tip's height and work.
#[cfg_attr(
    not(fuzzing),
    expect(unreachable_pub, reason = "public only to the fuzz targets")
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalChain {
    /// The chain.
    pub chain: ChainId,
    /// Its tip's height here.
    pub height: u64,
    /// Its tip's cumulative work here; 0 when nothing is known of it yet.
    pub cumulative_work: u128,
    /// Its tip's hash here.
    pub tip: Hash,
    /// The block its parent's best chain anchors, with its height, when this node does not
    /// hold it: then a sync starts from a peer whose different tip is at least that high even
    /// if it announces less work, since fork choice follows the anchor, not the work, and a
    /// node that missed the anchored branch's gossip would otherwise never fetch it.
    pub anchor_missing: Option<(Hash, u64)>,
}

/// Why importing synced blocks stopped.
#[cfg_attr(
    not(fuzzing),
    expect(unreachable_pub, reason = "public only to the fuzz targets")
)]
#[derive(Debug)]
pub enum ImportFailure {
    /// A block was invalid: the peer that sent it is at fault.
    Invalid(String),
    /// The node itself failed (storage): nobody to blame, but sync cannot go on.
    Local(String),
}

/// What the machine asks the swarm loop to do, in order.
#[cfg_attr(
    not(fuzzing),
    expect(unreachable_pub, reason = "public only to the fuzz targets")
)]
#[derive(Debug)]
pub enum SyncAction<P> {
    /// Queue the chain job that builds the headers request (our best-chain locator) for
    /// `peer`; its result comes back through [`ChainSyncs::headers_request_ready`]. If it
    /// cannot be queued, tell [`ChainSyncs::job_not_queued`].
    PrepareHeadersRequest {
        /// The peer to ask.
        peer: P,
        /// The chain.
        chain: ChainId,
    },
    /// Send `request` to `peer`; its answer comes back through [`ChainSyncs::on_response`]
    /// or [`ChainSyncs::request_failed`] under `id`.
    Send {
        /// The machine's name for the request.
        id: SyncRequestId,
        /// Who to ask.
        peer: P,
        /// What to ask.
        request: SyncRequest,
    },
    /// Queue the chain job that checks `headers` (linkage, proof of work); its result comes
    /// back through [`ChainSyncs::headers_checked`].
    CheckHeaders {
        /// The peer that sent them.
        peer: P,
        /// Their chain.
        chain: ChainId,
        /// The headers, oldest first.
        headers: Vec<BlockHeader>,
    },
    /// Queue the chain job that imports `blocks` in order; its result comes back through
    /// [`ChainSyncs::blocks_imported`].
    ImportBlocks {
        /// The peer whose sync this is.
        peer: P,
        /// Their chain.
        chain: ChainId,
        /// The blocks, oldest first, each the parent of the next.
        blocks: Vec<Block>,
    },
    /// Count an invalid message against `peer`.
    Penalise {
        /// The peer at fault.
        peer: P,
        /// Why.
        reason: String,
    },
}

/// Where headers-first sync of one chain stands.
#[derive(Debug)]
enum Phase<P> {
    /// The worker is building our locator.
    Preparing,
    /// Headers asked for.
    AwaitingHeaders(SyncRequestId),
    /// The worker is checking headers.
    CheckingHeaders,
    /// Blocks asked for: consecutive slices of the wanted blocks, each from one peer.
    AwaitingBlocks(Vec<BlocksSlice<P>>),
    /// The worker is importing blocks.
    Importing,
}

/// One peer's part of a blocks step.
#[derive(Debug)]
struct BlocksSlice<P> {
    id: SyncRequestId,
    peer: P,
    /// The hashes asked, in order.
    hashes: Vec<Hash>,
    /// Its answer (a prefix of `hashes`); `Some(empty)` when the request failed.
    blocks: Option<Vec<Block>>,
}

#[derive(Debug)]
struct ActiveSync<P> {
    /// The peer whose headers are followed.
    peer: P,
    /// The work that peer announced on the chain: other peers announcing as much have the
    /// same blocks to give.
    target_work: u128,
    phase: Phase<P>,
    /// Blocks whose headers checked out, still to fetch; at most one headers response.
    wanted: VecDeque<Hash>,
    /// Whether the last headers response was full, so more may follow.
    more_headers: bool,
    /// When the current step started.
    step_started_ms: u64,
}

/// What the machine knows of one peer.
#[derive(Debug, Default)]
struct KnownPeer {
    /// The chains its last status named, at most [`STATUS_CHAINS_MAX`].
    chains: Vec<ChainTip>,
    /// Blocks it gave this node through sync.
    synced_blocks: u64,
    /// Per chain, its tip this node already synced from looking for a missing anchored block,
    /// so a peer that did not have it is not asked again until its tip moves. At most one
    /// entry per open chain.
    anchor_tried: BTreeMap<ChainId, Hash>,
}

/// The known peers that track `chain`, with the tip each announced for it, in peer order.
fn tracking<P: Ord + Copy>(
    peers: &BTreeMap<P, KnownPeer>,
    chain: ChainId,
) -> impl Iterator<Item = (P, ChainTip)> + '_ {
    peers.iter().filter_map(move |(peer, known)| {
        let tip = known.chains.iter().find(|tip| tip.chain == chain)?;
        Some((*peer, *tip))
    })
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

/// The sync of every chain this node has open, at most [`SYNCS_AT_ONCE_MAX`] at once.
#[cfg_attr(
    not(fuzzing),
    expect(unreachable_pub, reason = "public only to the fuzz targets")
)]
#[derive(Debug)]
pub struct ChainSyncs<P> {
    /// Peers' announced tips, at most [`SYNC_PEERS_KNOWN_MAX`].
    peers: BTreeMap<P, KnownPeer>,
    /// The chains open here, the root first, with their tips.
    local: Vec<LocalChain>,
    syncs: BTreeMap<ChainId, ActiveSync<P>>,
    /// The next request's sequence number.
    next_seq: u64,
    /// Requests sent and not yet ended, with when each was sent: at most
    /// [`OPEN_REQUESTS_MAX`].
    open: BTreeMap<SyncRequestId, u64>,
    /// Blocks imported through sync since start.
    synced_blocks: u64,
}

impl<P: Ord + Copy + Display> Default for ChainSyncs<P> {
    fn default() -> Self {
        ChainSyncs {
            peers: BTreeMap::new(),
            local: Vec::new(),
            syncs: BTreeMap::new(),
            next_seq: 0,
            open: BTreeMap::new(),
            synced_blocks: 0,
        }
    }
}

#[cfg_attr(
    not(fuzzing),
    expect(unreachable_pub, reason = "public only to the fuzz targets")
)]
impl<P: Ord + Copy + Display> ChainSyncs<P> {
    /// Takes the chains open here and their tips, the root first; a sync starts for one
    /// only when a peer announces more work on it than this. Kept to
    /// [`STATUS_CHAINS_MAX`] chains.
    pub fn set_local(&mut self, mut local: Vec<LocalChain>) {
        local.truncate(STATUS_CHAINS_MAX);
        self.local = local;
    }

    /// A peer's status was seen (its genesis and form already checked): its tips replace
    /// those it announced before, and syncs start where it has more work. A new peer beyond
    /// [`SYNC_PEERS_KNOWN_MAX`] is not kept.
    pub fn peer_status(&mut self, now_ms: u64, peer: P, chains: &[ChainTip]) -> Vec<SyncAction<P>> {
        if !self.peers.contains_key(&peer) && self.peers.len() >= SYNC_PEERS_KNOWN_MAX {
            return Vec::new();
        }
        let known = self.peers.entry(peer).or_default();
        known.chains = chains.iter().take(STATUS_CHAINS_MAX).copied().collect();
        self.start_syncs(now_ms)
    }

    /// A peer left or was banned: it is forgotten, with the syncs that followed it. Its
    /// blocks slices in other syncs end by their requests' failure, which the swarm reports.
    pub fn peer_gone(&mut self, peer: &P) {
        self.peers.remove(peer);
        self.syncs.retain(|_, sync| sync.peer != *peer);
    }

    /// Housekeeping: a step that took longer than [`SYNC_STEP_TIMEOUT_MS`] ends its sync,
    /// which starts again with the best peer then; syncs start where a peer is ahead.
    pub fn tick(&mut self, now_ms: u64) -> Vec<SyncAction<P>> {
        self.open
            .retain(|_, sent_ms| now_ms.saturating_sub(*sent_ms) <= OPEN_REQUEST_AGE_MS_MAX);
        self.syncs.retain(|chain, sync| {
            let stuck = now_ms.saturating_sub(sync.step_started_ms) > SYNC_STEP_TIMEOUT_MS;
            if stuck {
                tracing::warn!(%chain, "sync step timed out; starting over");
            }
            !stuck
        });
        self.start_syncs(now_ms)
    }

    /// A chain job this machine asked for could not be queued (the worker is busy): the
    /// chain's sync ends and starts again later.
    pub fn job_not_queued(&mut self, chain: ChainId) {
        self.syncs.remove(&chain);
    }

    /// The worker built the headers request of `chain`'s sync with `peer`: send it.
    pub fn headers_request_ready(
        &mut self,
        now_ms: u64,
        peer: P,
        chain: ChainId,
        request: SyncRequest,
    ) -> Vec<SyncAction<P>> {
        let room = self.open_room();
        let Some(sync) = self.syncs.get_mut(&chain) else {
            return Vec::new();
        };
        if sync.peer != peer || !matches!(sync.phase, Phase::Preparing) {
            return Vec::new();
        }
        if room == 0 {
            // Too many requests still open: the sync starts again on a later tick.
            self.syncs.remove(&chain);
            return Vec::new();
        }
        let id = self.send_id(now_ms, SyncRequestKind::Headers);
        if let Some(sync) = self.syncs.get_mut(&chain) {
            sync.phase = Phase::AwaitingHeaders(id);
            sync.step_started_ms = now_ms;
        }
        vec![SyncAction::Send { id, peer, request }]
    }

    /// `peer` answered request `id`. An answer to a step that has ended is dropped; one of
    /// the wrong kind is held against the peer.
    pub fn on_response(
        &mut self,
        now_ms: u64,
        peer: P,
        id: SyncRequestId,
        response: SyncResponse,
    ) -> Vec<SyncAction<P>> {
        self.open.remove(&id);
        match (id.kind, response) {
            (SyncRequestKind::Headers, SyncResponse::Headers(headers)) => {
                self.on_headers(now_ms, peer, id, headers)
            }
            (SyncRequestKind::Blocks, SyncResponse::Blocks(blocks)) => {
                self.on_blocks(now_ms, peer, id, blocks)
            }
            (_, SyncResponse::Refused(why)) => {
                tracing::debug!(%peer, %why, "peer refused a sync request");
                self.request_failed(now_ms, peer, id)
            }
            (_, _) => {
                let mut actions = self.request_failed(now_ms, peer, id);
                actions.push(SyncAction::Penalise {
                    peer,
                    reason: "answer of the wrong kind".to_owned(),
                });
                actions
            }
        }
    }

    /// Request `id` to `peer` failed (no answer in time, the connection closed, refused): a
    /// blocks slice counts as answered with nothing (the others may still carry the step,
    /// and what it lacked is asked again in the next); a headers request ends the sync.
    pub fn request_failed(
        &mut self,
        now_ms: u64,
        peer: P,
        id: SyncRequestId,
    ) -> Vec<SyncAction<P>> {
        self.open.remove(&id);
        match id.kind {
            SyncRequestKind::Headers => {
                if let Some(chain) = self.awaiting_headers(peer, id) {
                    self.syncs.remove(&chain);
                }
                Vec::new()
            }
            SyncRequestKind::Blocks => {
                let Some((chain, slice)) = self.waiting_slice(peer, id) else {
                    return Vec::new();
                };
                slice.blocks = Some(Vec::new());
                self.maybe_import_slices(now_ms, chain)
            }
        }
    }

    /// The worker checked the headers `peer` sent for `chain`: the hashes of the blocks to
    /// fetch, oldest first, or why they are invalid (the peer's fault).
    pub fn headers_checked(
        &mut self,
        now_ms: u64,
        peer: P,
        chain: ChainId,
        outcome: Result<Vec<Hash>, String>,
    ) -> Vec<SyncAction<P>> {
        let Some(sync) = self.syncs.get_mut(&chain) else {
            return Vec::new();
        };
        if sync.peer != peer || !matches!(sync.phase, Phase::CheckingHeaders) {
            return Vec::new();
        }
        match outcome {
            Ok(mut wanted) => {
                wanted.truncate(HEADERS_PER_RESPONSE_LEN_MAX);
                sync.wanted = wanted.into();
                self.next_step(now_ms, chain)
            }
            Err(reason) => {
                self.syncs.remove(&chain);
                vec![SyncAction::Penalise {
                    peer,
                    reason: format!("invalid headers of chain {chain}: {reason}"),
                }]
            }
        }
    }

    /// The worker imported the blocks of `chain`'s sync with `peer`: how many were new, or
    /// why importing stopped.
    pub fn blocks_imported(
        &mut self,
        now_ms: u64,
        peer: P,
        chain: ChainId,
        outcome: Result<usize, ImportFailure>,
    ) -> Vec<SyncAction<P>> {
        let Some(sync) = self.syncs.get(&chain) else {
            return Vec::new();
        };
        if sync.peer != peer || !matches!(sync.phase, Phase::Importing) {
            return Vec::new();
        }
        match outcome {
            Ok(imported) => {
                self.synced_blocks = self
                    .synced_blocks
                    .saturating_add(u64::try_from(imported).unwrap_or(u64::MAX));
                self.next_step(now_ms, chain)
            }
            Err(ImportFailure::Invalid(reason)) => {
                self.syncs.remove(&chain);
                vec![SyncAction::Penalise {
                    peer,
                    reason: format!("invalid block in sync: {reason}"),
                }]
            }
            Err(ImportFailure::Local(reason)) => {
                tracing::warn!(%chain, %reason, "sync stopped; it starts again later");
                self.syncs.remove(&chain);
                Vec::new()
            }
        }
    }

    /// Whether every bound the machine names holds, else which one does not: peers known
    /// ([`SYNC_PEERS_KNOWN_MAX`], each with at most [`STATUS_CHAINS_MAX`] tips), chains open
    /// and syncs at once ([`SYNCS_AT_ONCE_MAX`]), blocks still wanted (one headers response),
    /// and per blocks step at most [`SYNC_PEERS_PER_CHAIN_MAX`] slices to distinct peers, each
    /// of 1 to [`BLOCKS_PER_REQUEST_MAX`] hashes; so requests awaited are at most
    /// `SYNCS_AT_ONCE_MAX * SYNC_PEERS_PER_CHAIN_MAX`. The unit tests and the fuzz target
    /// `sync_machine` check it after every event.
    #[cfg(any(test, fuzzing))]
    pub fn check_bounds(&self) -> Result<(), String> {
        if self.peers.len() > SYNC_PEERS_KNOWN_MAX {
            return Err(format!("{} peers known", self.peers.len()));
        }
        if let Some((peer, known)) = self.peers.iter().find(|(_, known)| {
            known.chains.len() > STATUS_CHAINS_MAX || known.anchor_tried.len() > STATUS_CHAINS_MAX
        }) {
            return Err(format!(
                "peer {peer}: {} tips, {} anchors tried",
                known.chains.len(),
                known.anchor_tried.len()
            ));
        }
        if self.local.len() > STATUS_CHAINS_MAX {
            return Err(format!("{} chains open", self.local.len()));
        }
        if self.syncs.len() > SYNCS_AT_ONCE_MAX {
            return Err(format!("{} syncs at once", self.syncs.len()));
        }
        let mut awaited = 0usize;
        for (chain, sync) in &self.syncs {
            if sync.wanted.len() > HEADERS_PER_RESPONSE_LEN_MAX {
                return Err(format!(
                    "chain {chain}: {} blocks wanted",
                    sync.wanted.len()
                ));
            }
            match &sync.phase {
                Phase::AwaitingHeaders(_) => awaited = awaited.saturating_add(1),
                Phase::AwaitingBlocks(slices) => {
                    if slices.is_empty() || slices.len() > SYNC_PEERS_PER_CHAIN_MAX {
                        return Err(format!("chain {chain}: {} slices", slices.len()));
                    }
                    for (i, slice) in slices.iter().enumerate() {
                        if slice.hashes.is_empty() || slice.hashes.len() > BLOCKS_PER_REQUEST_MAX {
                            return Err(format!(
                                "chain {chain}: a slice of {} hashes",
                                slice.hashes.len()
                            ));
                        }
                        if slices[..i].iter().any(|other| other.peer == slice.peer) {
                            return Err(format!("chain {chain}: peer {} asked twice", slice.peer));
                        }
                        if slice.blocks.is_none() {
                            awaited = awaited.saturating_add(1);
                        }
                    }
                }
                Phase::Preparing | Phase::CheckingHeaders | Phase::Importing => {}
            }
        }
        if awaited > SYNCS_AT_ONCE_MAX * SYNC_PEERS_PER_CHAIN_MAX {
            return Err(format!("{awaited} requests awaited"));
        }
        if self.open.len() > OPEN_REQUESTS_MAX {
            return Err(format!("{} requests open", self.open.len()));
        }
        Ok(())
    }

    /// Whether any chain is syncing.
    pub fn is_syncing(&self) -> bool {
        !self.syncs.is_empty()
    }

    /// The peer the root follows, else that of the first chain syncing.
    pub fn lead_peer(&self) -> Option<P> {
        self.syncs
            .get(&ChainId::ROOT)
            .or_else(|| self.syncs.values().next())
            .map(|sync| sync.peer)
    }

    /// Blocks imported through sync since start.
    pub fn synced_blocks(&self) -> u64 {
        self.synced_blocks
    }

    /// Blocks `peer` gave through sync since it connected.
    pub fn synced_blocks_from(&self, peer: &P) -> u64 {
        self.peers.get(peer).map_or(0, |known| known.synced_blocks)
    }

    /// A new request's id, counted open from `now_ms` until its answer or failure.
    fn send_id(&mut self, now_ms: u64, kind: SyncRequestKind) -> SyncRequestId {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let id = SyncRequestId { seq, kind };
        self.open.insert(id, now_ms);
        id
    }

    /// How many more requests may be sent now ([`OPEN_REQUESTS_MAX`]).
    fn open_room(&self) -> usize {
        OPEN_REQUESTS_MAX.saturating_sub(self.open.len())
    }

    /// Starts syncing every open chain some peer has more work on, up to
    /// [`SYNCS_AT_ONCE_MAX`] at once, the root first. A data chain's sync does not wait for the
    /// root's: on a busy network the root is nearly always syncing a block or two, and a data
    /// chain waiting for it would starve; a data block whose relay parent is not here yet stops
    /// that sync as a local failure, and it starts again on a later tick.
    fn start_syncs(&mut self, now_ms: u64) -> Vec<SyncAction<P>> {
        let mut actions = Vec::new();
        for local in &self.local {
            if self.syncs.len() >= SYNCS_AT_ONCE_MAX {
                break;
            }
            let chain = local.chain;
            if self.syncs.contains_key(&chain) {
                continue;
            }
            let ahead = most_work(tracking(&self.peers, chain))
                .filter(|(_, tip)| tip.cumulative_work > local.cumulative_work);
            let Some((peer, tip)) = ahead.or_else(|| self.anchored_branch_peer(local)) else {
                continue;
            };
            tracing::info!(
                %peer,
                %chain,
                peer_height = tip.height,
                height = local.height,
                anchor_missing = local.anchor_missing.is_some(),
                "syncing from peer"
            );
            if local.anchor_missing.is_some()
                && let Some(known) = self.peers.get_mut(&peer)
            {
                known.anchor_tried.insert(chain, tip.tip);
            }
            self.syncs.insert(
                chain,
                ActiveSync {
                    peer,
                    target_work: tip.cumulative_work,
                    phase: Phase::Preparing,
                    wanted: VecDeque::new(),
                    more_headers: false,
                    step_started_ms: now_ms,
                },
            );
            actions.push(SyncAction::PrepareHeadersRequest { peer, chain });
        }
        actions
    }

    /// For a chain whose anchored block is not here: the peer with the most work among those
    /// announcing a tip other than ours at least as high as the anchored block, and not
    /// already tried at that tip.
    fn anchored_branch_peer(&self, local: &LocalChain) -> Option<(P, ChainTip)> {
        let (_, anchored_height) = local.anchor_missing?;
        most_work(tracking(&self.peers, local.chain).filter(|(peer, tip)| {
            tip.tip != local.tip
                && tip.height >= anchored_height
                && self
                    .peers
                    .get(peer)
                    .is_none_or(|known| known.anchor_tried.get(&local.chain) != Some(&tip.tip))
        }))
    }

    /// The chain whose sync with `peer` waits for headers request `id`.
    fn awaiting_headers(&self, peer: P, id: SyncRequestId) -> Option<ChainId> {
        self.syncs.iter().find_map(|(chain, sync)| {
            (sync.peer == peer
                && matches!(sync.phase, Phase::AwaitingHeaders(asked) if asked == id))
            .then_some(*chain)
        })
    }

    /// The slice that blocks request `id` asked `peer` for, with its chain, if it still
    /// waits.
    fn waiting_slice(
        &mut self,
        peer: P,
        id: SyncRequestId,
    ) -> Option<(ChainId, &mut BlocksSlice<P>)> {
        self.syncs
            .iter_mut()
            .find_map(|(chain, sync)| match &mut sync.phase {
                Phase::AwaitingBlocks(slices) => slices
                    .iter_mut()
                    .find(|slice| slice.id == id && slice.peer == peer && slice.blocks.is_none())
                    .map(|slice| (*chain, slice)),
                _ => None,
            })
    }

    fn on_headers(
        &mut self,
        now_ms: u64,
        peer: P,
        id: SyncRequestId,
        headers: Vec<BlockHeader>,
    ) -> Vec<SyncAction<P>> {
        let Some(chain) = self.awaiting_headers(peer, id) else {
            return Vec::new();
        };
        let count = headers.len();
        if count > HEADERS_PER_RESPONSE_LEN_MAX {
            self.syncs.remove(&chain);
            return vec![SyncAction::Penalise {
                peer,
                reason: format!("{count} headers in one response"),
            }];
        }
        if count == 0 {
            // Nothing after our locator: its extra work is on a branch we have.
            tracing::debug!(%peer, %chain, "peer has no headers for us");
            self.syncs.remove(&chain);
            return Vec::new();
        }
        let Some(sync) = self.syncs.get_mut(&chain) else {
            return Vec::new();
        };
        sync.more_headers = count == HEADERS_PER_RESPONSE_LEN_MAX;
        sync.phase = Phase::CheckingHeaders;
        sync.step_started_ms = now_ms;
        vec![SyncAction::CheckHeaders {
            peer,
            chain,
            headers,
        }]
    }

    fn on_blocks(
        &mut self,
        now_ms: u64,
        peer: P,
        id: SyncRequestId,
        blocks: Vec<Block>,
    ) -> Vec<SyncAction<P>> {
        let Some((chain, slice)) = self.waiting_slice(peer, id) else {
            return Vec::new();
        };
        // The answer must be a non-empty prefix of what was asked, in order.
        let matches = !blocks.is_empty()
            && blocks.len() <= slice.hashes.len()
            && blocks
                .iter()
                .zip(&slice.hashes)
                .all(|(block, hash)| block.hash() == *hash);
        let mut actions = Vec::new();
        if matches {
            let count = u64::try_from(blocks.len()).unwrap_or(u64::MAX);
            slice.blocks = Some(blocks);
            if let Some(known) = self.peers.get_mut(&peer) {
                known.synced_blocks = known.synced_blocks.saturating_add(count);
            }
        } else {
            slice.blocks = Some(Vec::new());
            actions.push(SyncAction::Penalise {
                peer,
                reason: "blocks response does not match the request".to_owned(),
            });
        }
        actions.extend(self.maybe_import_slices(now_ms, chain));
        actions
    }

    /// Asks for the next blocks of `chain`'s sync, or for more headers when none is wanted
    /// and the last headers response was full; else the round is done and other syncs may
    /// start.
    fn next_step(&mut self, now_ms: u64, chain: ChainId) -> Vec<SyncAction<P>> {
        let Some(sync) = self.syncs.get(&chain) else {
            return Vec::new();
        };
        let peer = sync.peer;
        let room = self.open_room();
        if !sync.wanted.is_empty() {
            if room == 0 {
                // Too many requests still open: the sync starts again on a later tick.
                self.syncs.remove(&chain);
                return Vec::new();
            }
            // The sync's peer first, then the others with as much work, most work first.
            let mut helpers: Vec<(P, u128)> = tracking(&self.peers, chain)
                .filter(|(other, tip)| *other != peer && tip.cumulative_work >= sync.target_work)
                .map(|(other, tip)| (other, tip.cumulative_work))
                .collect();
            helpers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let asked_peers: Vec<P> = std::iter::once(peer)
                .chain(helpers.into_iter().map(|(other, _)| other))
                .take(SYNC_PEERS_PER_CHAIN_MAX.min(room))
                .collect();
            let wanted: Vec<Hash> = sync.wanted.iter().copied().collect();
            let mut actions = Vec::new();
            let mut slices = Vec::new();
            for (asked, hashes) in asked_peers
                .into_iter()
                .zip(wanted.chunks(BLOCKS_PER_REQUEST_MAX))
            {
                let id = self.send_id(now_ms, SyncRequestKind::Blocks);
                actions.push(SyncAction::Send {
                    id,
                    peer: asked,
                    request: SyncRequest::Blocks {
                        chain,
                        hashes: hashes.to_vec(),
                    },
                });
                slices.push(BlocksSlice {
                    id,
                    peer: asked,
                    hashes: hashes.to_vec(),
                    blocks: None,
                });
            }
            if let Some(sync) = self.syncs.get_mut(&chain) {
                sync.phase = Phase::AwaitingBlocks(slices);
                sync.step_started_ms = now_ms;
            }
            return actions;
        }
        if sync.more_headers {
            if let Some(sync) = self.syncs.get_mut(&chain) {
                sync.phase = Phase::Preparing;
                sync.step_started_ms = now_ms;
            }
            return vec![SyncAction::PrepareHeadersRequest { peer, chain }];
        }
        let height = self
            .local
            .iter()
            .find(|local| local.chain == chain)
            .map_or(0, |local| local.height);
        tracing::info!(%chain, height, "sync round done");
        self.syncs.remove(&chain);
        self.start_syncs(now_ms)
    }

    /// Once every slice of `chain`'s blocks step is answered, asks for the blocks that connect
    /// to be imported; when none came, the sync ends and starts again later.
    fn maybe_import_slices(&mut self, now_ms: u64, chain: ChainId) -> Vec<SyncAction<P>> {
        let Some(sync) = self.syncs.get_mut(&chain) else {
            return Vec::new();
        };
        let done = matches!(&sync.phase, Phase::AwaitingBlocks(slices)
            if slices.iter().all(|slice| slice.blocks.is_some()));
        if !done {
            return Vec::new();
        }
        let Phase::AwaitingBlocks(slices) = std::mem::replace(&mut sync.phase, Phase::Importing)
        else {
            return Vec::new();
        };
        let peers = slices.len();
        let blocks = contiguous_blocks(
            slices
                .into_iter()
                .map(|slice| (slice.hashes.len(), slice.blocks.unwrap_or_default())),
        );
        if blocks.is_empty() {
            self.syncs.remove(&chain);
            return Vec::new();
        }
        sync.wanted.drain(..blocks.len().min(sync.wanted.len()));
        tracing::debug!(%chain, blocks = blocks.len(), peers, "fetched blocks");
        sync.step_started_ms = now_ms;
        vec![SyncAction::ImportBlocks {
            peer: sync.peer,
            chain,
            blocks,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitverse_blocktree::{ChainParams, genesis_block};

    /// Peers are plain numbers here: the machine knows nothing of libp2p's ids.
    type Peer = u32;

    /// `count` distinct blocks of the root, heights `first..`, for their hashes and headers
    /// (the machine checks neither linkage nor work: the worker does).
    fn blocks_from(first: u64, count: u64) -> Vec<Block> {
        let params = ChainParams::dev();
        (first..first + count)
            .map(|height| {
                let mut block = genesis_block(&params).unwrap();
                block.header.height = height;
                block
            })
            .collect()
    }

    fn blocks(count: u64) -> Vec<Block> {
        blocks_from(1, count)
    }

    fn block_hashes(blocks: &[Block]) -> Vec<Hash> {
        blocks.iter().map(Block::hash).collect()
    }

    fn headers(blocks: &[Block]) -> Vec<BlockHeader> {
        blocks.iter().map(|b| b.header.clone()).collect()
    }

    fn data_chain(prefix: u64) -> ChainId {
        ChainId::new(4, prefix).unwrap()
    }

    fn tip(chain: ChainId, cumulative_work: u128) -> ChainTip {
        ChainTip {
            chain,
            height: u64::try_from(cumulative_work).unwrap(),
            tip: Hash::digest(&cumulative_work.to_le_bytes()),
            cumulative_work,
        }
    }

    fn local(chain: ChainId, cumulative_work: u128) -> LocalChain {
        LocalChain {
            chain,
            height: u64::try_from(cumulative_work).unwrap(),
            cumulative_work,
            tip: tip(chain, cumulative_work).tip,
            anchor_missing: None,
        }
    }

    /// A machine whose root is at work 10.
    fn machine() -> ChainSyncs<Peer> {
        let mut syncs = ChainSyncs::default();
        syncs.set_local(vec![local(ChainId::ROOT, 10)]);
        syncs
    }

    /// The blocks requests among `actions`: id, peer, chain, hashes.
    fn blocks_asked(actions: &[SyncAction<Peer>]) -> Vec<(SyncRequestId, Peer, Vec<Hash>)> {
        actions
            .iter()
            .filter_map(|action| match action {
                SyncAction::Send {
                    id,
                    peer,
                    request: SyncRequest::Blocks { hashes, .. },
                } => Some((*id, *peer, hashes.clone())),
                _ => None,
            })
            .collect()
    }

    fn imported(actions: &[SyncAction<Peer>]) -> Option<(Peer, ChainId, Vec<Hash>)> {
        actions.iter().find_map(|action| match action {
            SyncAction::ImportBlocks {
                peer,
                chain,
                blocks,
            } => Some((*peer, *chain, block_hashes(blocks))),
            _ => None,
        })
    }

    fn penalties(actions: &[SyncAction<Peer>]) -> Vec<(Peer, String)> {
        actions
            .iter()
            .filter_map(|action| match action {
                SyncAction::Penalise { peer, reason } => Some((*peer, reason.clone())),
                _ => None,
            })
            .collect()
    }

    fn prepared(actions: &[SyncAction<Peer>]) -> Vec<(Peer, ChainId)> {
        actions
            .iter()
            .filter_map(|action| match action {
                SyncAction::PrepareHeadersRequest { peer, chain } => Some((*peer, *chain)),
                _ => None,
            })
            .collect()
    }

    /// Drives the root's sync with `peer` up to its headers request; returns its id.
    fn ask_headers(syncs: &mut ChainSyncs<Peer>, now_ms: u64, peer: Peer) -> SyncRequestId {
        ask_headers_of(syncs, now_ms, peer, ChainId::ROOT)
    }

    fn ask_headers_of(
        syncs: &mut ChainSyncs<Peer>,
        now_ms: u64,
        peer: Peer,
        chain: ChainId,
    ) -> SyncRequestId {
        let request = SyncRequest::HeadersAfter {
            chain,
            locator: Vec::new(),
            count_max: HEADERS_PER_RESPONSE_MAX,
        };
        let actions = syncs.headers_request_ready(now_ms, peer, chain, request);
        match actions.as_slice() {
            [
                SyncAction::Send {
                    id, peer: asked, ..
                },
            ] => {
                assert_eq!(*asked, peer);
                *id
            }
            other => panic!("expected one headers request, got {other:?}"),
        }
    }

    /// Drives the root's sync with `peer` through headers to its first blocks step for
    /// `wanted`; returns the blocks requests sent.
    fn sync_to_blocks(
        syncs: &mut ChainSyncs<Peer>,
        peer: Peer,
        wanted: &[Block],
    ) -> Vec<(SyncRequestId, Peer, Vec<Hash>)> {
        let id = ask_headers(syncs, 1, peer);
        let actions = syncs.on_response(2, peer, id, SyncResponse::Headers(headers(wanted)));
        assert!(
            matches!(actions.as_slice(), [SyncAction::CheckHeaders { peer: p, .. }] if *p == peer)
        );
        let actions = syncs.headers_checked(3, peer, ChainId::ROOT, Ok(block_hashes(wanted)));
        blocks_asked(&actions)
    }

    /// The blocks `asked` names, out of `all`.
    fn answer(all: &[Block], asked: &[Hash]) -> Vec<Block> {
        asked
            .iter()
            .map(|h| all.iter().find(|b| b.hash() == *h).unwrap().clone())
            .collect()
    }

    #[test]
    fn blocks_from_several_peers_are_imported_in_order_up_to_the_first_gap() {
        let all = blocks(9);
        let slice = |asked: &[Block], got: usize| -> (usize, Vec<Block>) {
            (asked.len(), asked.iter().take(got).cloned().collect())
        };
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

    #[test]
    fn the_best_peer_has_the_most_work_and_ties_go_to_the_greater_id() {
        let tips = [
            (1, tip(ChainId::ROOT, 5)),
            (3, tip(ChainId::ROOT, 9)),
            (2, tip(ChainId::ROOT, 9)),
        ];
        assert_eq!(most_work(tips.into_iter()).map(|(p, _)| p), Some(3));
        assert_eq!(most_work(std::iter::empty::<(Peer, ChainTip)>()), None);
    }

    #[test]
    fn a_peer_ahead_is_followed_and_its_blocks_are_fetched_in_slices_across_peers_and_imported_in_order()
     {
        let mut syncs = machine();
        // Not ahead: nothing to do.
        assert!(
            syncs
                .peer_status(0, 9, &[tip(ChainId::ROOT, 10)])
                .is_empty()
        );
        let actions = syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 100)]);
        assert_eq!(prepared(&actions), vec![(1, ChainId::ROOT)]);
        assert!(syncs.is_syncing());
        assert_eq!(syncs.lead_peer(), Some(1));
        // Helpers: as much work or more; peer 4 has less and is not asked, and a peer with more
        // work arriving later does not take the sync over.
        for (peer, work) in [(2, 100), (3, 100), (4, 50), (5, 200), (6, 100)] {
            assert!(
                syncs
                    .peer_status(0, peer, &[tip(ChainId::ROOT, work)])
                    .is_empty()
            );
        }
        let all = blocks(600);
        let asked = sync_to_blocks(&mut syncs, 1, &all);
        // The sync's peer first, then the most work, then by id; four peers at most, one
        // request's worth each.
        let peers: Vec<Peer> = asked.iter().map(|(_, p, _)| *p).collect();
        assert_eq!(peers, vec![1, 5, 2, 3]);
        let per = BLOCKS_PER_REQUEST_MAX;
        for (i, (_, _, hashes)) in asked.iter().enumerate() {
            assert_eq!(*hashes, block_hashes(&all[i * per..(i + 1) * per]));
        }
        // Answers arrive in any order; the import waits for all of them.
        for (id, peer, hashes) in asked.iter().rev() {
            let actions =
                syncs.on_response(4, *peer, *id, SyncResponse::Blocks(answer(&all, hashes)));
            if *peer == 1 {
                let (lead, chain, got) = imported(&actions).unwrap();
                assert_eq!((lead, chain), (1, ChainId::ROOT));
                assert_eq!(got, block_hashes(&all[..4 * per]), "in order");
            } else {
                assert!(actions.is_empty());
            }
        }
        assert_eq!(syncs.synced_blocks_from(&5), u64::try_from(per).unwrap());
        // The rest in the next step, after the import.
        let actions = syncs.blocks_imported(5, 1, ChainId::ROOT, Ok(4 * per));
        let asked = blocks_asked(&actions);
        assert_eq!(asked.len(), 1);
        let (id, peer, rest) = &asked[0];
        assert_eq!(*rest, block_hashes(&all[4 * per..]));
        let actions = syncs.on_response(6, *peer, *id, SyncResponse::Blocks(answer(&all, rest)));
        assert_eq!(imported(&actions).unwrap().2, *rest);
        // The headers answer was not full: the round is done, and the node, now at peer 1's
        // work, follows peer 5, which has more.
        syncs.set_local(vec![local(ChainId::ROOT, 100)]);
        let actions = syncs.blocks_imported(7, 1, ChainId::ROOT, Ok(rest.len()));
        assert_eq!(prepared(&actions), vec![(5, ChainId::ROOT)]);
        assert_eq!(syncs.lead_peer(), Some(5));
        assert_eq!(syncs.synced_blocks(), 600);
        assert_eq!(
            syncs.synced_blocks_from(&1),
            u64::try_from(per + rest.len()).unwrap()
        );
        assert_eq!(syncs.synced_blocks_from(&4), 0);
        syncs.check_bounds().unwrap();
    }

    #[test]
    fn a_gap_left_by_a_slow_peer_is_asked_again_of_the_syncs_peer() {
        let mut syncs = machine();
        for peer in [1, 2, 3] {
            syncs.peer_status(0, peer, &[tip(ChainId::ROOT, 100)]);
        }
        // The first peer seen ahead leads; the others help, by id at equal work.
        assert_eq!(syncs.lead_peer(), Some(1));
        let all = blocks(300);
        let asked = sync_to_blocks(&mut syncs, 1, &all);
        let peers: Vec<Peer> = asked.iter().map(|(_, p, _)| *p).collect();
        assert_eq!(peers, vec![1, 2, 3]);
        let (first, slow, last) = (&asked[0], &asked[1], &asked[2]);
        assert!(
            syncs
                .on_response(
                    4,
                    first.1,
                    first.0,
                    SyncResponse::Blocks(answer(&all, &first.2))
                )
                .is_empty()
        );
        assert!(
            syncs
                .on_response(
                    4,
                    last.1,
                    last.0,
                    SyncResponse::Blocks(answer(&all, &last.2))
                )
                .is_empty()
        );
        // Peer 2's request times out: the blocks before the gap are imported, none after it.
        let actions = syncs.request_failed(5, slow.1, slow.0);
        assert_eq!(imported(&actions).unwrap().2, first.2);
        assert!(
            penalties(&actions).is_empty(),
            "a slow peer is not at fault"
        );
        let actions = syncs.blocks_imported(6, 1, ChainId::ROOT, Ok(first.2.len()));
        let again = blocks_asked(&actions);
        // The gap is asked of the sync's peer now; what followed it, though already fetched,
        // is asked again (FIXME: it could be kept), of the next peer, the slow one here.
        assert_eq!(again.len(), 2);
        assert_eq!(again[0].1, 1);
        assert_eq!(again[0].2, slow.2);
        assert_eq!(again[1].1, 2);
        assert_eq!(again[1].2, last.2);
        // A late answer to the request that failed is dropped.
        assert!(
            syncs
                .on_response(
                    7,
                    slow.1,
                    slow.0,
                    SyncResponse::Blocks(answer(&all, &slow.2))
                )
                .is_empty()
        );
    }

    #[test]
    fn a_short_answer_imports_what_connects_and_the_rest_is_asked_again() {
        let mut syncs = machine();
        syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 100)]);
        let all = blocks(5);
        let asked = sync_to_blocks(&mut syncs, 1, &all);
        let (id, _, wanted) = &asked[0];
        let actions =
            syncs.on_response(4, 1, *id, SyncResponse::Blocks(answer(&all, &wanted[..2])));
        assert_eq!(imported(&actions).unwrap().2, wanted[..2].to_vec());
        let actions = syncs.blocks_imported(5, 1, ChainId::ROOT, Ok(2));
        assert_eq!(blocks_asked(&actions)[0].2, wanted[2..].to_vec());
    }

    #[test]
    fn a_peer_whose_headers_do_not_link_is_penalised_and_its_sync_ends() {
        let mut syncs = machine();
        syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 100)]);
        let id = ask_headers(&mut syncs, 1, 1);
        let all = blocks(3);
        let actions = syncs.on_response(2, 1, id, SyncResponse::Headers(headers(&all)));
        assert_eq!(actions.len(), 1);
        // The worker found the first header's parent unknown.
        let actions = syncs.headers_checked(
            3,
            1,
            ChainId::ROOT,
            Err("first header's parent is not a block we can extend".to_owned()),
        );
        let penalised = penalties(&actions);
        assert_eq!(penalised.len(), 1);
        assert_eq!(penalised[0].0, 1);
        assert!(
            penalised[0].1.contains("invalid headers of chain root"),
            "{}",
            penalised[0].1
        );
        assert!(!syncs.is_syncing());
        // It starts again on the next tick, while the peer is not banned.
        assert_eq!(prepared(&syncs.tick(4)), vec![(1, ChainId::ROOT)]);
    }

    #[test]
    fn answers_over_their_limits_or_of_the_wrong_kind_are_the_peers_fault() {
        let mut syncs = machine();
        syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 100)]);
        let id = ask_headers(&mut syncs, 1, 1);
        let too_many = vec![blocks(1)[0].header.clone(); HEADERS_PER_RESPONSE_LEN_MAX + 1];
        let actions = syncs.on_response(2, 1, id, SyncResponse::Headers(too_many));
        assert_eq!(penalties(&actions).len(), 1);
        assert!(!syncs.is_syncing());

        syncs.tick(3);
        let id = ask_headers(&mut syncs, 4, 1);
        let actions = syncs.on_response(5, 1, id, SyncResponse::Blocks(blocks(1)));
        assert_eq!(
            penalties(&actions),
            vec![(1, "answer of the wrong kind".to_owned())]
        );
        assert!(!syncs.is_syncing(), "a failed headers step ends the sync");

        syncs.tick(6);
        let all = blocks(3);
        let asked = sync_to_blocks(&mut syncs, 1, &all);
        let (id, _, _) = asked[0];
        // Not a prefix of what was asked: the slice counts as failed, nothing to import.
        let actions = syncs.on_response(7, 1, id, SyncResponse::Blocks(blocks_from(50, 1)));
        assert_eq!(penalties(&actions).len(), 1);
        assert!(imported(&actions).is_none());
        assert!(!syncs.is_syncing());
        assert_eq!(syncs.synced_blocks_from(&1), 0);
    }

    #[test]
    fn a_refusal_or_no_headers_ends_the_sync_without_blame() {
        let mut syncs = machine();
        syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 100)]);
        let id = ask_headers(&mut syncs, 1, 1);
        let actions = syncs.on_response(2, 1, id, SyncResponse::Refused("busy".to_owned()));
        assert!(actions.is_empty());
        assert!(!syncs.is_syncing());
        syncs.tick(3);
        let id = ask_headers(&mut syncs, 4, 1);
        assert!(
            syncs
                .on_response(5, 1, id, SyncResponse::Headers(Vec::new()))
                .is_empty()
        );
        assert!(!syncs.is_syncing());
    }

    #[test]
    fn an_invalid_synced_block_is_the_peers_fault_and_a_local_failure_is_nobodys() {
        for (failure, blamed) in [
            (ImportFailure::Invalid("bad state root".to_owned()), true),
            (
                ImportFailure::Local("relay parent pending".to_owned()),
                false,
            ),
        ] {
            let mut syncs = machine();
            syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 100)]);
            let all = blocks(2);
            let asked = sync_to_blocks(&mut syncs, 1, &all);
            let (id, _, wanted) = &asked[0];
            syncs.on_response(4, 1, *id, SyncResponse::Blocks(answer(&all, wanted)));
            let actions = syncs.blocks_imported(5, 1, ChainId::ROOT, Err(failure));
            assert_eq!(penalties(&actions).len(), usize::from(blamed));
            assert!(!syncs.is_syncing());
            assert_eq!(syncs.synced_blocks(), 0);
        }
    }

    #[test]
    fn a_full_headers_answer_asks_for_more_headers_after_its_blocks() {
        let mut syncs = machine();
        syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 5000)]);
        let id = ask_headers(&mut syncs, 1, 1);
        let full = vec![blocks(1)[0].header.clone(); HEADERS_PER_RESPONSE_LEN_MAX];
        syncs.on_response(2, 1, id, SyncResponse::Headers(full));
        // Most were known here already: two blocks wanted.
        let all = blocks(2);
        let actions = syncs.headers_checked(3, 1, ChainId::ROOT, Ok(block_hashes(&all)));
        let (id, _, wanted) = blocks_asked(&actions).remove(0);
        syncs.on_response(4, 1, id, SyncResponse::Blocks(answer(&all, &wanted)));
        let actions = syncs.blocks_imported(5, 1, ChainId::ROOT, Ok(2));
        assert_eq!(prepared(&actions), vec![(1, ChainId::ROOT)]);
        assert!(syncs.is_syncing());
    }

    #[test]
    fn a_step_that_takes_too_long_ends_the_sync_and_it_starts_over() {
        let mut syncs = machine();
        syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 100)]);
        let id = ask_headers(&mut syncs, 1_000, 1);
        assert!(
            syncs.tick(1_000 + SYNC_STEP_TIMEOUT_MS).is_empty(),
            "not yet"
        );
        // Peer 2 came with more work meanwhile: the new sync follows it.
        syncs.peer_status(1_000, 2, &[tip(ChainId::ROOT, 200)]);
        let actions = syncs.tick(1_001 + SYNC_STEP_TIMEOUT_MS);
        assert_eq!(prepared(&actions), vec![(2, ChainId::ROOT)]);
        // The old step's answer comes too late.
        let late = syncs.on_response(50_000, 1, id, SyncResponse::Headers(headers(&blocks(1))));
        assert!(late.is_empty());
    }

    #[test]
    fn a_peer_that_leaves_ends_the_syncs_that_follow_it_and_is_forgotten() {
        let mut syncs = machine();
        syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 100)]);
        assert!(syncs.is_syncing());
        syncs.peer_gone(&1);
        assert!(!syncs.is_syncing());
        assert!(syncs.tick(1).is_empty(), "nobody left to follow");
    }

    #[test]
    fn a_job_the_worker_cannot_take_ends_its_sync_until_a_later_tick() {
        let mut syncs = machine();
        syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 100)]);
        syncs.job_not_queued(ChainId::ROOT);
        assert!(!syncs.is_syncing());
        assert_eq!(prepared(&syncs.tick(1)), vec![(1, ChainId::ROOT)]);
    }

    #[test]
    fn at_most_eight_chains_sync_at_once_the_root_first() {
        let mut syncs = ChainSyncs::default();
        let data: Vec<ChainId> = (0..9).map(data_chain).collect();
        let mut open = vec![local(ChainId::ROOT, 10)];
        open.extend(data.iter().map(|c| local(*c, 0)));
        syncs.set_local(open);
        let mut status = vec![tip(ChainId::ROOT, 100)];
        status.extend(data.iter().map(|c| tip(*c, 7)));
        let actions = syncs.peer_status(0, 1, &status);
        let started: Vec<ChainId> = prepared(&actions).into_iter().map(|(_, c)| c).collect();
        assert_eq!(started.len(), SYNCS_AT_ONCE_MAX);
        assert_eq!(started[0], ChainId::ROOT);
        assert_eq!(started[1..], data[..SYNCS_AT_ONCE_MAX - 1]);
        assert!(syncs.tick(1).is_empty(), "the bound holds");
        syncs.check_bounds().unwrap();
        // One ends, caught up: the next chain in order takes its place, and only it.
        syncs.job_not_queued(data[0]);
        let mut open = vec![local(ChainId::ROOT, 10), local(data[0], 7)];
        open.extend(data[1..].iter().map(|c| local(*c, 0)));
        syncs.set_local(open);
        assert_eq!(
            prepared(&syncs.tick(2)),
            vec![(1, data[SYNCS_AT_ONCE_MAX - 1])]
        );
    }

    #[test]
    fn a_data_chain_is_synced_only_from_peers_that_track_it() {
        let mut syncs = ChainSyncs::default();
        let chain = data_chain(3);
        syncs.set_local(vec![local(ChainId::ROOT, 100), local(chain, 0)]);
        // Peer 1 has more work on the root but does not track the chain.
        assert!(syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 500)]).len() == 1);
        let actions = syncs.peer_status(0, 2, &[tip(ChainId::ROOT, 50), tip(chain, 7)]);
        assert_eq!(prepared(&actions), vec![(2, chain)]);
    }

    #[test]
    fn a_missing_anchored_block_is_fetched_from_a_lighter_branch_once_per_peer_tip() {
        // The CI failure this caught: a node that missed the gossip of the branch its parent
        // anchored stayed on its own heavier branch for minutes, since a sync started only
        // from a peer announcing more work, and no proof through the chain could be served.
        let chain = data_chain(3);
        let anchored = tip(chain, 20).tip;
        let mut mine = local(chain, 30);
        let mut syncs = ChainSyncs::default();
        syncs.set_local(vec![local(ChainId::ROOT, 100), mine]);
        // Without a missing anchor, a lighter peer is not synced from.
        assert!(syncs.peer_status(0, 1, &[tip(chain, 25)]).is_empty());
        mine.anchor_missing = Some((anchored, 20));
        syncs.set_local(vec![local(ChainId::ROOT, 100), mine]);
        // Peer 1's lighter tip is high enough: its branch is fetched; peer 2's tip is below
        // the anchored block, so it cannot have it.
        let actions = syncs.peer_status(1, 2, &[tip(chain, 19)]);
        assert_eq!(prepared(&actions), vec![(1, chain)]);
        let id = ask_headers_of(&mut syncs, 3, 1, chain);
        assert!(
            syncs
                .on_response(4, 1, id, SyncResponse::Headers(Vec::new()))
                .is_empty()
        );
        // It had nothing new: not asked again at the same tip, but again once its tip moves.
        assert!(prepared(&syncs.tick(5)).is_empty());
        let actions = syncs.peer_status(6, 1, &[tip(chain, 26)]);
        assert_eq!(prepared(&actions), vec![(1, chain)]);
        // A peer announcing our own tip is never asked.
        syncs.peer_gone(&1);
        assert!(syncs.peer_status(7, 3, &[tip(chain, 30)]).is_empty());
    }

    #[test]
    fn the_machine_knows_at_most_its_maximum_of_peers() {
        let mut syncs = ChainSyncs::default();
        syncs.set_local(vec![local(ChainId::ROOT, 10)]);
        let peers = Peer::try_from(SYNC_PEERS_KNOWN_MAX).unwrap();
        for peer in 0..peers {
            syncs.peer_status(0, peer, &[tip(ChainId::ROOT, 10)]);
        }
        // One more, however far ahead, is not kept.
        assert!(
            syncs
                .peer_status(0, peers, &[tip(ChainId::ROOT, 1_000)])
                .is_empty()
        );
        assert!(!syncs.is_syncing());
        syncs.check_bounds().unwrap();
        // A known peer's news still counts.
        assert_eq!(
            prepared(&syncs.peer_status(0, 0, &[tip(ChainId::ROOT, 1_000)])),
            vec![(0, ChainId::ROOT)]
        );
    }

    #[test]
    fn leaders_that_leave_mid_step_cannot_pile_open_requests_on_the_others() {
        let mut syncs = machine();
        let all = blocks(600);
        // Three helpers with as much work as every leader, announced while nothing was ahead.
        syncs.set_local(vec![local(ChainId::ROOT, 100)]);
        for helper in [2, 3, 4] {
            assert!(
                syncs
                    .peer_status(0, helper, &[tip(ChainId::ROOT, 100)])
                    .is_empty()
            );
        }
        syncs.set_local(vec![local(ChainId::ROOT, 10)]);
        let mut open_to_helpers: Vec<(SyncRequestId, Peer)> = Vec::new();
        let mut slices_per_step = Vec::new();
        for leader in 10..30 {
            // A newcomer with as much work and the greatest id leads the next sync, asks the
            // helpers for slices, and leaves: the swarm fails its own request, and the
            // helpers' stay open until they answer.
            syncs.peer_status(0, leader, &[tip(ChainId::ROOT, 100)]);
            assert_eq!(syncs.lead_peer(), Some(leader));
            let asked = sync_to_blocks(&mut syncs, leader, &all);
            slices_per_step.push(asked.len());
            syncs.peer_gone(&leader);
            for (id, peer, _) in asked {
                if peer == leader {
                    syncs.request_failed(4, leader, id);
                } else {
                    open_to_helpers.push((id, peer));
                }
            }
            syncs.check_bounds().unwrap();
        }
        assert_eq!(slices_per_step[..10], [4; 10], "{slices_per_step:?}");
        assert_eq!(slices_per_step[10..12], [2, 1], "{slices_per_step:?}");
        assert_eq!(open_to_helpers.len(), OPEN_REQUESTS_MAX - 1);
        // Their late answers end them, and a step may again ask four peers.
        for (id, peer) in open_to_helpers {
            syncs.on_response(5, peer, id, SyncResponse::Blocks(Vec::new()));
        }
        assert!(syncs.open.is_empty());
        syncs.peer_status(6, 40, &[tip(ChainId::ROOT, 100)]);
        assert_eq!(sync_to_blocks(&mut syncs, 40, &all).len(), 4);
        // A request whose end the swarm never reports stops counting after its age limit.
        syncs.tick(3 + OPEN_REQUEST_AGE_MS_MAX + 1);
        assert!(syncs.open.is_empty());
    }

    #[test]
    fn check_bounds_names_the_bound_that_does_not_hold() {
        let mut syncs = machine();
        syncs.peer_status(0, 1, &[tip(ChainId::ROOT, 100)]);
        let all = blocks(3);
        sync_to_blocks(&mut syncs, 1, &all);
        syncs.check_bounds().unwrap();
        let Some(Phase::AwaitingBlocks(slices)) =
            syncs.syncs.get_mut(&ChainId::ROOT).map(|s| &mut s.phase)
        else {
            panic!("not fetching blocks");
        };
        let twice = BlocksSlice {
            id: slices[0].id,
            peer: slices[0].peer,
            hashes: slices[0].hashes.clone(),
            blocks: None,
        };
        slices.push(twice);
        let broken = syncs.check_bounds().unwrap_err();
        assert!(broken.contains("asked twice"), "{broken}");
        for n in 0..=SYNCS_AT_ONCE_MAX {
            syncs.syncs.insert(
                data_chain(u64::try_from(n).unwrap()),
                ActiveSync {
                    peer: 1,
                    target_work: 0,
                    phase: Phase::Preparing,
                    wanted: VecDeque::new(),
                    more_headers: false,
                    step_started_ms: 0,
                },
            );
        }
        let broken = syncs.check_bounds().unwrap_err();
        assert!(broken.contains("syncs at once"), "{broken}");
    }
}
