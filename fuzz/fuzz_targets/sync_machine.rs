//! Headers-first sync (`ChainSyncs`, the plain state machine the swarm loop drives) under
//! whatever peers send: an arbitrary run of events — the chains open here and their tips,
//! peers' statuses with any tips (duplicates, unknown chains, more peers than may connect),
//! peers gone, answers to the requests it sent (honest, short, out of order, of the wrong kind,
//! from the wrong peer, twice), answers to requests it never sent, failures, the chain worker's
//! results (headers found valid or not, blocks imported or refused, a full job queue) and ticks
//! of an advancing clock — driven as `service` drives it, with the swarm's request timeout and
//! its failing of a gone peer's requests. After every event: nothing panicked, every bound the
//! machine names holds (`check_bounds`: peers known, chains, syncs at once, peers per chain,
//! requests awaited), every request it sends fits the wire and names at most
//! `BLOCKS_PER_REQUEST_MAX` blocks; headers go to the worker only from an answer to a headers
//! request it sent that peer, blocks go to import only if an answer to a blocks request it sent
//! brought them and the worker wanted them; an answer of the wrong kind to a request it sent
//! is penalised.
#![no_main]

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use bitverse_blocktree::{Block, BlockHeader, ChainParams, genesis_block};
use bitverse_p2p::fuzzing::{
    BLOCKS_PER_REQUEST_MAX, ChainSyncs, ChainTip, HEADERS_PER_RESPONSE_MAX, ImportFailure,
    LocalChain, SYNC_JOBS_QUEUE_MAX, SYNC_REQUEST_TIMEOUT_MS, SyncAction, SyncRequestId,
    encode_request,
};
use bitverse_p2p::{SyncRequest, SyncResponse, WireTxStatus};
use bitverse_primitives::{ChainId, Hash};

/// Peers are bytes: more than `PEERS_MAX` of them, so the known-peer bound is reached.
type Peer = u8;

/// Most events one input drives.
const EVENTS_MAX: usize = 256;
/// Blocks the answers are made of (their hashes are what the worker may want).
const POOL_BLOCKS: u64 = 48;
/// Chains the events name: the root and more data chains than sync at once.
const CHAINS: u64 = 12;
/// Most a tick moves the clock: more than a sync step's timeout in one tick.
const TICK_MS_MAX: u32 = 100_000;

/// Whether to print each action (`BITVERSE_FUZZ_TRACE=1`), to read what an input does:
/// `BITVERSE_FUZZ_TRACE=1 scripts/fuzz replay sync_machine FILE`.
fn tracing() -> bool {
    static TRACING: OnceLock<bool> = OnceLock::new();
    *TRACING.get_or_init(|| std::env::var_os("BITVERSE_FUZZ_TRACE").is_some())
}

/// The blocks answers are made of, built once: distinct headers of the dev genesis at heights
/// 1.. (the machine checks neither linkage nor work: the worker does, and it is modelled here).
fn pool() -> &'static Vec<(Hash, Block)> {
    static POOL: OnceLock<Vec<(Hash, Block)>> = OnceLock::new();
    POOL.get_or_init(|| {
        let params = ChainParams::dev();
        let Ok(genesis) = genesis_block(&params) else {
            panic!("the dev genesis must build");
        };
        (1..=POOL_BLOCKS)
            .map(|height| {
                let mut block = genesis.clone();
                block.header.height = height;
                (block.hash(), block)
            })
            .collect()
    })
}

fn pool_block(pick: u8) -> &'static Block {
    &pool_entry(pick).1
}

fn pool_hash(pick: u8) -> Hash {
    pool_entry(pick).0
}

fn pool_entry(pick: u8) -> &'static (Hash, Block) {
    let pool = pool();
    &pool[usize::from(pick) % pool.len()]
}

fn chain(pick: u8) -> ChainId {
    let pick = u64::from(pick) % CHAINS;
    if pick == 0 {
        return ChainId::ROOT;
    }
    // Depth 4 holds 16 chains: enough for CHAINS - 1.
    ChainId::new(4, pick).unwrap_or(ChainId::ROOT)
}

#[derive(Arbitrary, Debug)]
struct Tip {
    chain: u8,
    height: u16,
    tip: u8,
    work: u16,
}

impl Tip {
    fn chain_tip(&self) -> ChainTip {
        ChainTip {
            chain: chain(self.chain),
            height: u64::from(self.height),
            tip: pool_hash(self.tip),
            cumulative_work: u128::from(self.work),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Local {
    chain: u8,
    height: u16,
    tip: u8,
    work: u16,
    /// The anchored block missing here, with its height.
    anchor_missing: Option<(u8, u16)>,
}

/// What a peer (or the harness) answers.
#[derive(Arbitrary, Debug)]
enum Answer {
    /// For a headers request, pool headers from `first` on, `count` of them; for a blocks
    /// request, the asked blocks the pool has, the first `count`.
    Honest {
        first: u8,
        count: u8,
    },
    /// Headers picked from the pool, then `repeat` copies of the first (up to a response over
    /// its limit).
    Headers {
        picks: Vec<u8>,
        repeat: u16,
    },
    /// Blocks picked from the pool.
    Blocks(Vec<u8>),
    Refused,
    /// An answer of another kind.
    Other(u8),
}

/// Who an answer comes from.
#[derive(Arbitrary, Debug)]
enum From {
    /// The peer the request went to.
    Asked,
    /// Another peer (the swarm never does this; the machine must not care).
    Other(Peer),
}

/// What the worker reports for a job.
#[derive(Arbitrary, Debug)]
enum Outcome {
    /// Headers: the hashes of `take` of them from `skip` on, then pool hashes `extra`; import:
    /// `count` blocks new.
    Ok {
        skip: u16,
        take: u16,
        extra: Vec<u8>,
        count: u16,
    },
    Invalid,
    Local,
}

#[derive(Arbitrary, Debug)]
enum Event {
    SetLocal(Vec<Local>),
    Status {
        peer: Peer,
        tips: Vec<Tip>,
    },
    Gone(Peer),
    Tick(u32),
    /// Answers the request in flight `pick` (modulo their number).
    Answer {
        pick: u8,
        from: From,
        answer: Answer,
    },
    /// The request in flight `pick` fails (timeout, connection closed).
    Fail(u8),
    /// Answers or fails a request id the machine may never have given.
    Forged {
        peer: Peer,
        seq: u64,
        blocks: bool,
        answer: Option<Answer>,
    },
    /// The worker finishes its oldest job (the queue is in order).
    Work(Outcome),
    /// A worker result for a job never asked: any peer, any chain.
    StrayWork {
        peer: Peer,
        chain: u8,
        kind: u8,
        outcome: Outcome,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    local: Vec<Local>,
    events: Vec<Event>,
}

/// A request the machine sent that the swarm has not reported on yet.
struct InFlight {
    id: SyncRequestId,
    peer: Peer,
    request: SyncRequest,
    sent_ms: u64,
}

/// A chain job the machine asked for, queued at the worker.
enum Job {
    Prepare {
        peer: Peer,
        chain: ChainId,
    },
    Check {
        peer: Peer,
        chain: ChainId,
        headers: Vec<BlockHeader>,
    },
    Import {
        peer: Peer,
        chain: ChainId,
    },
}

/// The swarm loop and the worker around the machine, and what the oracle remembers.
struct Harness {
    syncs: ChainSyncs<Peer>,
    now_ms: u64,
    in_flight: Vec<InFlight>,
    jobs: VecDeque<Job>,
    /// Every id the machine gave, so none is given twice.
    ids: HashSet<SyncRequestId>,
    /// Per chain, the hashes the worker reported wanted.
    wanted: BTreeMap<ChainId, BTreeSet<Hash>>,
    /// Per chain, the blocks hashes answers to blocks requests it sent brought.
    delivered: BTreeMap<ChainId, BTreeSet<Hash>>,
}

/// What the event being driven permits the machine to do.
#[derive(Default)]
struct Allowed {
    /// Headers it may send to the worker: those of an answer to a headers request it sent,
    /// with the peer and chain.
    headers: Option<(Peer, ChainId, Vec<BlockHeader>)>,
    /// A peer it must penalise: it answered a request sent to it with the wrong kind.
    must_penalise: Option<Peer>,
}

impl Harness {
    /// Carries out the machine's actions as `service::apply_sync` does, checking each.
    fn apply(&mut self, actions: Vec<SyncAction<Peer>>, allowed: &Allowed) {
        let mut penalised = BTreeSet::new();
        for action in actions {
            if tracing() {
                trace(self.now_ms, &action);
            }
            match action {
                SyncAction::Send { id, peer, request } => {
                    assert!(self.ids.insert(id), "request id {id:?} given twice");
                    match &request {
                        SyncRequest::Blocks { hashes, .. } => assert!(
                            !hashes.is_empty() && hashes.len() <= BLOCKS_PER_REQUEST_MAX,
                            "a blocks request of {} hashes",
                            hashes.len()
                        ),
                        SyncRequest::HeadersAfter { .. } => {}
                        other => panic!("the machine sent {other:?}"),
                    }
                    if let Err(e) = encode_request(&request) {
                        panic!("a request the wire refuses: {e}");
                    }
                    self.in_flight.push(InFlight {
                        id,
                        peer,
                        request,
                        sent_ms: self.now_ms,
                    });
                }
                SyncAction::Penalise { peer, .. } => {
                    penalised.insert(peer);
                }
                SyncAction::PrepareHeadersRequest { peer, chain } => {
                    self.queue(chain, Job::Prepare { peer, chain });
                }
                SyncAction::CheckHeaders {
                    peer,
                    chain,
                    headers,
                } => {
                    assert!(
                        allowed
                            .headers
                            .as_ref()
                            .is_some_and(|(p, c, h)| *p == peer && *c == chain && *h == headers),
                        "headers of {peer} for {chain} sent to the worker that no answer to a \
                         headers request brought"
                    );
                    self.queue(
                        chain,
                        Job::Check {
                            peer,
                            chain,
                            headers,
                        },
                    );
                }
                SyncAction::ImportBlocks {
                    peer,
                    chain,
                    blocks,
                } => {
                    assert!(!blocks.is_empty(), "an empty import");
                    for block in &blocks {
                        let hash = block.hash();
                        assert!(
                            self.delivered
                                .get(&chain)
                                .is_some_and(|d| d.contains(&hash)),
                            "block {hash} imported into {chain}: no answer to a blocks request \
                             brought it"
                        );
                        assert!(
                            self.wanted.get(&chain).is_some_and(|w| w.contains(&hash)),
                            "block {hash} imported into {chain}: the worker never wanted it"
                        );
                    }
                    self.queue(chain, Job::Import { peer, chain });
                }
            }
        }
        if let Some(peer) = allowed.must_penalise {
            assert!(
                penalised.contains(&peer),
                "an answer of the wrong kind from {peer} not penalised"
            );
        }
        if let Err(broken) = self.syncs.check_bounds() {
            panic!("a bound does not hold: {broken}");
        }
    }

    /// Queues a chain job, or, when the worker's queue is full, tells the machine.
    fn queue(&mut self, chain: ChainId, job: Job) {
        if self.jobs.len() >= SYNC_JOBS_QUEUE_MAX {
            self.syncs.job_not_queued(chain);
        } else {
            self.jobs.push_back(job);
        }
    }

    fn response(&self, request: &SyncRequest, answer: &Answer) -> SyncResponse {
        match answer {
            Answer::Honest { first, count } => match request {
                SyncRequest::Blocks { hashes, .. } => SyncResponse::Blocks(
                    hashes
                        .iter()
                        .take(usize::from(*count))
                        .filter_map(|hash| {
                            pool()
                                .iter()
                                .find(|(h, _)| h == hash)
                                .map(|(_, b)| b.clone())
                        })
                        .collect(),
                ),
                _ => SyncResponse::Headers(
                    pool()
                        .iter()
                        .skip(usize::from(*first))
                        .take(usize::from(*count))
                        .map(|(_, b)| b.header.clone())
                        .collect(),
                ),
            },
            Answer::Headers { picks, repeat } => {
                let mut headers: Vec<BlockHeader> = picks
                    .iter()
                    .map(|p| pool_block(*p).header.clone())
                    .collect();
                let copies = usize::from(*repeat) % (HEADERS_PER_RESPONSE_MAX as usize + 2);
                if let Some(first) = headers.first().cloned() {
                    headers.extend(std::iter::repeat_n(first, copies));
                }
                SyncResponse::Headers(headers)
            }
            Answer::Blocks(picks) => {
                SyncResponse::Blocks(picks.iter().map(|p| pool_block(*p).clone()).collect())
            }
            Answer::Refused => SyncResponse::Refused("no".to_owned()),
            Answer::Other(kind) => match kind % 4 {
                0 => SyncResponse::TxStatus(WireTxStatus::Pending),
                1 => SyncResponse::ValueProof(vec![*kind]),
                2 => SyncResponse::TxAdmitted(Hash::digest(&[*kind])),
                _ => SyncResponse::Account {
                    balance: 1,
                    nonce: 2,
                    pending_nonce: 3,
                },
            },
        }
    }

    /// `peer` answers request `id` (sent as `sent`, if the machine sent it to `peer` and the
    /// swarm has not reported on it yet) with `response`.
    fn answer(
        &mut self,
        peer: Peer,
        id: SyncRequestId,
        sent: Option<&SyncRequest>,
        response: SyncResponse,
    ) {
        let mut allowed = Allowed::default();
        match (sent, &response) {
            (Some(SyncRequest::HeadersAfter { chain, .. }), SyncResponse::Headers(headers)) => {
                allowed.headers = Some((peer, *chain, headers.clone()));
            }
            (Some(SyncRequest::Blocks { chain, hashes }), SyncResponse::Blocks(blocks)) => {
                // Only a prefix of what was asked counts as brought.
                let delivered = self.delivered.entry(*chain).or_default();
                for (block, hash) in blocks.iter().zip(hashes) {
                    if block.hash() != *hash {
                        break;
                    }
                    delivered.insert(*hash);
                }
            }
            (Some(_), SyncResponse::Refused(_)) | (None, _) => {}
            (Some(_), _) => allowed.must_penalise = Some(peer),
        }
        let actions = self.syncs.on_response(self.now_ms, peer, id, response);
        self.apply(actions, &allowed);
    }

    fn fail(&mut self, peer: Peer, id: SyncRequestId) {
        let actions = self.syncs.request_failed(self.now_ms, peer, id);
        self.apply(actions, &Allowed::default());
    }

    /// The worker's result for `job` (`job` may be one never asked for).
    fn work(&mut self, job: Job, outcome: &Outcome) {
        let now_ms = self.now_ms;
        let actions = match job {
            Job::Prepare { peer, chain } => {
                let request = SyncRequest::HeadersAfter {
                    chain,
                    locator: vec![pool_hash(0)],
                    count_max: HEADERS_PER_RESPONSE_MAX,
                };
                self.syncs
                    .headers_request_ready(now_ms, peer, chain, request)
            }
            Job::Check {
                peer,
                chain,
                headers,
            } => {
                let result = match outcome {
                    Outcome::Ok {
                        skip, take, extra, ..
                    } => {
                        let mut hashes: Vec<Hash> = headers
                            .iter()
                            .skip(usize::from(*skip))
                            .take(usize::from(*take))
                            .map(BlockHeader::hash)
                            .collect();
                        hashes.extend(extra.iter().map(|p| pool_hash(*p)));
                        self.wanted
                            .entry(chain)
                            .or_default()
                            .extend(hashes.iter().copied());
                        Ok(hashes)
                    }
                    Outcome::Invalid | Outcome::Local => Err("invalid".to_owned()),
                };
                self.syncs.headers_checked(now_ms, peer, chain, result)
            }
            Job::Import { peer, chain } => {
                let result = match outcome {
                    Outcome::Ok { count, .. } => Ok(usize::from(*count)),
                    Outcome::Invalid => Err(ImportFailure::Invalid("bad".to_owned())),
                    Outcome::Local => Err(ImportFailure::Local("busy".to_owned())),
                };
                self.syncs.blocks_imported(now_ms, peer, chain, result)
            }
        };
        self.apply(actions, &Allowed::default());
    }

    /// The swarm reports every request unanswered for its timeout as failed.
    fn time_out_requests(&mut self) {
        let now_ms = self.now_ms;
        let (late, live): (Vec<InFlight>, Vec<InFlight>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|r| now_ms.saturating_sub(r.sent_ms) >= SYNC_REQUEST_TIMEOUT_MS);
        self.in_flight = live;
        for request in late {
            self.fail(request.peer, request.id);
        }
    }

    fn set_local(&mut self, local: &[Local]) {
        // The root first and each chain once, as the loop reads them from the tree.
        let mut seen = BTreeSet::from([ChainId::ROOT]);
        let root = local.first().map_or(
            LocalChain {
                chain: ChainId::ROOT,
                height: 0,
                cumulative_work: 0,
                tip: Hash::ZERO,
                anchor_missing: None,
            },
            |l| local_chain(ChainId::ROOT, l),
        );
        let mut open = vec![root];
        for l in local.iter().skip(1) {
            let c = chain(l.chain);
            if seen.insert(c) {
                open.push(local_chain(c, l));
            }
        }
        self.syncs.set_local(open);
    }
}

fn trace(now_ms: u64, action: &SyncAction<Peer>) {
    let what = match action {
        SyncAction::Send {
            peer,
            request: SyncRequest::Blocks { chain, hashes },
            ..
        } => format!("send {peer} blocks of {chain}: {}", hashes.len()),
        SyncAction::Send { peer, .. } => format!("send {peer} headers request"),
        SyncAction::PrepareHeadersRequest { peer, chain } => format!("prepare {peer} {chain}"),
        SyncAction::CheckHeaders {
            peer,
            chain,
            headers,
        } => format!("check {peer} {chain}: {} headers", headers.len()),
        SyncAction::ImportBlocks {
            peer,
            chain,
            blocks,
        } => format!("import {peer} {chain}: {} blocks", blocks.len()),
        SyncAction::Penalise { peer, reason } => format!("penalise {peer}: {reason}"),
    };
    eprintln!("{now_ms} ms: {what}");
}

fn local_chain(chain: ChainId, l: &Local) -> LocalChain {
    LocalChain {
        chain,
        height: u64::from(l.height),
        cumulative_work: u128::from(l.work),
        tip: pool_hash(l.tip),
        anchor_missing: l
            .anchor_missing
            .map(|(block, height)| (pool_hash(block), u64::from(height))),
    }
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    let mut h = Harness {
        syncs: ChainSyncs::default(),
        now_ms: 0,
        in_flight: Vec::new(),
        jobs: VecDeque::new(),
        ids: HashSet::new(),
        wanted: BTreeMap::new(),
        delivered: BTreeMap::new(),
    };
    h.set_local(&input.local);
    for event in input.events.iter().take(EVENTS_MAX) {
        match event {
            Event::SetLocal(local) => h.set_local(local),
            Event::Status { peer, tips } => {
                let tips: Vec<ChainTip> = tips.iter().map(Tip::chain_tip).collect();
                let actions = h.syncs.peer_status(h.now_ms, *peer, &tips);
                h.apply(actions, &Allowed::default());
            }
            Event::Gone(peer) => {
                h.syncs.peer_gone(peer);
                h.apply(Vec::new(), &Allowed::default());
                // The connection closed: the swarm fails every request still out to it.
                let (gone, live): (Vec<InFlight>, Vec<InFlight>) = std::mem::take(&mut h.in_flight)
                    .into_iter()
                    .partition(|r| r.peer == *peer);
                h.in_flight = live;
                for request in gone {
                    h.fail(request.peer, request.id);
                }
            }
            Event::Tick(step_ms) => {
                h.now_ms = h.now_ms.saturating_add(u64::from(step_ms % TICK_MS_MAX));
                h.time_out_requests();
                let actions = h.syncs.tick(h.now_ms);
                h.apply(actions, &Allowed::default());
            }
            Event::Answer { pick, from, answer } => {
                if h.in_flight.is_empty() {
                    continue;
                }
                let index = usize::from(*pick) % h.in_flight.len();
                let response = h.response(&h.in_flight[index].request, answer);
                match from {
                    From::Asked => {
                        let sent = h.in_flight.remove(index);
                        h.answer(sent.peer, sent.id, Some(&sent.request), response);
                    }
                    From::Other(peer) => {
                        let (id, asked) = (h.in_flight[index].id, h.in_flight[index].peer);
                        if *peer != asked {
                            h.answer(*peer, id, None, response);
                        }
                    }
                }
            }
            Event::Fail(pick) => {
                if h.in_flight.is_empty() {
                    continue;
                }
                let index = usize::from(*pick) % h.in_flight.len();
                let sent = h.in_flight.remove(index);
                h.fail(sent.peer, sent.id);
            }
            Event::Forged {
                peer,
                seq,
                blocks,
                answer,
            } => {
                let id = SyncRequestId::forged(*seq, *blocks);
                // A forged id that happens to be one in flight to this peer is a real answer.
                if h.ids.contains(&id) {
                    continue;
                }
                match answer {
                    Some(answer) => {
                        let request = SyncRequest::Blocks {
                            chain: ChainId::ROOT,
                            hashes: Vec::new(),
                        };
                        let response = h.response(&request, answer);
                        h.answer(*peer, id, None, response);
                    }
                    None => h.fail(*peer, id),
                }
            }
            Event::Work(outcome) => {
                if let Some(job) = h.jobs.pop_front() {
                    h.work(job, outcome);
                }
            }
            Event::StrayWork {
                peer,
                chain: pick,
                kind,
                outcome,
            } => {
                let chain = chain(*pick);
                let job = match kind % 3 {
                    0 => Job::Prepare { peer: *peer, chain },
                    1 => Job::Check {
                        peer: *peer,
                        chain,
                        headers: vec![pool_block(*kind).header.clone()],
                    },
                    _ => Job::Import { peer: *peer, chain },
                };
                h.work(job, outcome);
            }
        }
    }
});
