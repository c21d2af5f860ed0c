//! The network's chain worker: every piece of work the network asks of the blocktree (judging
//! gossip, serving sync and forwarded requests, checking and importing synced blocks) runs
//! here, one job at a time on the blocking pool, so the swarm loop never waits for a chain
//! lock. Jobs arrive on bounded queues, local work (sync) before remote work; results go back
//! on one bounded queue.

use std::sync::Arc;

use bitverse_blocktree::{AccountError, KeyspaceError, StatelessError, Transaction, TxError};
use bitverse_blocktree::{
    Block, BlockError, BlockHeader, Blocktree, BountyStatus, Chain, ChainError, ImportOutcome,
    TxStatus,
};
use bitverse_market_wire::Reveal;
use bitverse_primitives::{AccountId, ChainId, Hash};
use libp2p::PeerId;
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::request_response::ResponseChannel;
use tokio::sync::{Notify, mpsc};

use super::protocol::{
    BLOCKS_PER_REQUEST_MAX, BLOCKS_RESPONSE_BYTES_BUDGET, ChainTip, HEADERS_PER_RESPONSE_MAX,
    LOCATOR_HASHES_MAX, PeerStatus, SyncRequest, SyncResponse, WireTxStatus,
};
use super::sync::ImportFailure;
use bitverse_metrics::{BlockSource, GossipKind, GossipVerdict, NodeMetrics};

/// The wall clock in milliseconds since the Unix epoch: a gossiped block's time is judged
/// against it (the future-time rule), the only place the network reads the clock.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Gossiped blocks waiting to be judged. Each may be a maximal block, so the queue is short:
/// 8 × 8 MiB at most. When full, new blocks are ignored (not rejected): sync fetches them.
pub(crate) const BLOCK_JOBS_QUEUE_MAX: usize = 8;
/// Gossiped transactions waiting to be judged (each at most ~68 KiB).
pub(crate) const TX_JOBS_QUEUE_MAX: usize = 1024;
/// Gossiped reveals of settled results waiting to be judged against the root (each at most
/// 64 KiB). When full, new ones are ignored (not forwarded, not held against the sender).
pub(crate) const REVEAL_JOBS_QUEUE_MAX: usize = 16;
/// Sync requests from peers waiting to be served; when full, requests are dropped and the
/// requester's call fails, so remote work cannot grow the node's queues.
pub(crate) const SERVE_JOBS_QUEUE_MAX: usize = 32;
/// The node's own sync steps waiting: sync runs one step at a time, so a few suffice.
pub(crate) const SYNC_JOBS_QUEUE_MAX: usize = 4;
/// Results waiting for the swarm loop, which drains them first of all.
pub(crate) const RESULTS_QUEUE_MAX: usize = 64;

/// A gossip message to judge.
pub(crate) struct GossipJob {
    /// The chain whose topic carried it: a message for another chain is rejected.
    pub chain: ChainId,
    /// The peer that forwarded it: rewarded or punished for it.
    pub source: PeerId,
    /// Gossipsub's id, for reporting the verdict.
    pub message_id: MessageId,
    /// The message's bytes.
    pub data: Vec<u8>,
}

/// A gossiped reveal of a bounty's result, checked on its own already (its size), to judge
/// against the bounty as this node's root holds it.
pub(crate) struct RevealJob {
    /// The peer that forwarded it.
    pub source: PeerId,
    /// Gossipsub's id, for reporting the verdict.
    pub message_id: MessageId,
    /// The reveal.
    pub reveal: Reveal,
}

/// A peer's sync request to serve.
pub(crate) struct ServeJob {
    /// Who asked.
    pub peer: PeerId,
    /// What it asked.
    pub request: SyncRequest,
    /// Where the answer goes.
    pub channel: ResponseChannel<SyncResponse>,
}

/// A step of the node's own sync.
pub(crate) enum SyncJob {
    /// Build the request for headers of `chain` after our best-chain locator, to send to
    /// `peer`.
    PrepareHeadersRequest {
        /// The peer to ask.
        peer: PeerId,
        /// The chain.
        chain: ChainId,
    },
    /// Check headers a peer sent: linkage and proof of work; returns the hashes to fetch.
    CheckHeaders {
        /// The peer that sent them.
        peer: PeerId,
        /// Their chain.
        chain: ChainId,
        /// The headers, oldest first.
        headers: Vec<BlockHeader>,
    },
    /// Import blocks a peer sent, in order, fully validated.
    ImportBlocks {
        /// The peer that sent them.
        peer: PeerId,
        /// Their chain.
        chain: ChainId,
        /// The blocks, oldest first.
        blocks: Vec<Block>,
    },
}

/// Where the worker's queues start.
pub(crate) struct WorkerQueues {
    /// Gossiped blocks.
    pub blocks: mpsc::Sender<GossipJob>,
    /// Gossiped transactions.
    pub txs: mpsc::Sender<GossipJob>,
    /// Gossiped reveals.
    pub reveals: mpsc::Sender<RevealJob>,
    /// Requests to serve.
    pub serve: mpsc::Sender<ServeJob>,
    /// Sync steps.
    pub sync: mpsc::Sender<SyncJob>,
}

/// What a job came to.
pub(crate) enum WorkerOutput {
    /// A gossip message's verdict.
    Verdict {
        /// The peer that forwarded it.
        source: PeerId,
        /// Gossipsub's id.
        message_id: MessageId,
        /// Accept, Reject or Ignore.
        acceptance: MessageAcceptance,
        /// Why, for a rejection or an ignored message.
        reason: Option<String>,
        /// A block whose parent is unknown, as (its hash, that parent): the sender may know a
        /// better chain.
        orphan: Option<(Hash, Hash)>,
        /// Well-formed but of no use, however often it comes: an orphan block, a transaction
        /// whose sender cannot pay. Counted against the sender
        /// (`super::peers::USELESS_GOSSIP_MAX`).
        useless: bool,
    },
    /// A reveal's verdict: Accept when its bytes are the result the bounty settled with on
    /// this node's root, Reject when the bounty settled with another or ended unsettled,
    /// Ignore (not forwarded) when this node cannot judge it yet (the bounty is open or
    /// unknown here: its Settle's block may not have arrived).
    RevealVerdict {
        /// The peer that forwarded it.
        source: PeerId,
        /// Gossipsub's id.
        message_id: MessageId,
        /// Accept, Reject or Ignore.
        acceptance: MessageAcceptance,
        /// Why, for a rejection or an ignored reveal.
        reason: Option<String>,
        /// The reveal, to hand to the market's book: an accepted one, and one that cannot be
        /// judged yet (kept briefly and bounded there, judged by whoever reads it).
        keep: Option<Reveal>,
    },
    /// An answer to send.
    Served {
        /// The requester.
        peer: PeerId,
        /// Where it goes.
        channel: ResponseChannel<SyncResponse>,
        /// The answer.
        response: SyncResponse,
        /// A forwarded transaction this node admitted, to gossip on its chain's topic.
        publish_tx: Option<(ChainId, Vec<u8>)>,
    },
    /// The headers request to send.
    HeadersRequest {
        /// The peer to ask.
        peer: PeerId,
        /// The chain.
        chain: ChainId,
        /// The request.
        request: SyncRequest,
    },
    /// Headers checked.
    HeadersChecked {
        /// The peer that sent them.
        peer: PeerId,
        /// Their chain.
        chain: ChainId,
        /// The hashes of the blocks to fetch, oldest first, or why the headers are invalid.
        outcome: Result<Vec<Hash>, String>,
    },
    /// Blocks imported.
    BlocksImported {
        /// The peer that sent them.
        peer: PeerId,
        /// Their chain.
        chain: ChainId,
        /// How many were new to the node, or why importing stopped.
        outcome: Result<usize, ImportFailure>,
    },
}

/// A result with the node's tips after the job.
pub(crate) struct WorkerResult {
    /// The node's status after a job that may have moved a tip (a block judged or imported);
    /// `None` after the others, which move none, so no job reads every chain's tip for nothing.
    pub status: Option<PeerStatus>,
    /// What the job came to.
    pub output: WorkerOutput,
}

/// One chain's tip as the node tells peers.
pub(crate) fn chain_tip(chain: &Chain) -> ChainTip {
    let tip = chain.tip();
    ChainTip {
        chain: chain.id(),
        height: tip.height,
        tip: tip.hash,
        cumulative_work: tip.cumulative_work,
    }
}

/// The node's status as it tells peers: the root, then every data chain it has open, each
/// locked alone in turn.
pub(crate) fn local_status(tree: &Blocktree) -> PeerStatus {
    let (genesis, root) = {
        let root = tree.root().lock();
        (root.genesis_hash(), chain_tip(&root))
    };
    let mut chains = vec![root];
    for id in tree.data_chains() {
        if let Some(chain) = tree.chain(id) {
            chains.push(chain_tip(&chain.lock()));
        }
    }
    PeerStatus { genesis, chains }
}

/// Starts the worker; it stops when every job queue is closed or the result queue is.
pub(crate) fn spawn(
    tree: Arc<Blocktree>,
    tx_admitted: Arc<Notify>,
    metrics: Arc<NodeMetrics>,
) -> (
    WorkerQueues,
    mpsc::Receiver<WorkerResult>,
    tokio::task::JoinHandle<()>,
) {
    let (blocks_tx, blocks_rx) = mpsc::channel(BLOCK_JOBS_QUEUE_MAX);
    let (txs_tx, txs_rx) = mpsc::channel(TX_JOBS_QUEUE_MAX);
    let (reveals_tx, reveals_rx) = mpsc::channel(REVEAL_JOBS_QUEUE_MAX);
    let (serve_tx, serve_rx) = mpsc::channel(SERVE_JOBS_QUEUE_MAX);
    let (sync_tx, sync_rx) = mpsc::channel(SYNC_JOBS_QUEUE_MAX);
    let (results_tx, results_rx) = mpsc::channel(RESULTS_QUEUE_MAX);
    let task = tokio::spawn(run(
        tree,
        tx_admitted,
        metrics,
        Inputs {
            blocks: blocks_rx,
            txs: txs_rx,
            reveals: reveals_rx,
            serve: serve_rx,
            sync: sync_rx,
        },
        results_tx,
    ));
    (
        WorkerQueues {
            blocks: blocks_tx,
            txs: txs_tx,
            reveals: reveals_tx,
            serve: serve_tx,
            sync: sync_tx,
        },
        results_rx,
        task,
    )
}

struct Inputs {
    blocks: mpsc::Receiver<GossipJob>,
    txs: mpsc::Receiver<GossipJob>,
    reveals: mpsc::Receiver<RevealJob>,
    serve: mpsc::Receiver<ServeJob>,
    sync: mpsc::Receiver<SyncJob>,
}

enum Job {
    Block(GossipJob),
    Tx(GossipJob),
    Reveal(RevealJob),
    Serve(ServeJob),
    Sync(SyncJob),
}

async fn run(
    tree: Arc<Blocktree>,
    tx_admitted: Arc<Notify>,
    metrics: Arc<NodeMetrics>,
    mut inputs: Inputs,
    results: mpsc::Sender<WorkerResult>,
) {
    loop {
        // Local work first (our own sync), then answers owed to peers, then gossip: a remote
        // cannot starve the node's own progress by flooding it.
        let job = tokio::select! {
            biased;
            Some(job) = inputs.sync.recv() => Job::Sync(job),
            Some(job) = inputs.serve.recv() => Job::Serve(job),
            Some(job) = inputs.blocks.recv() => Job::Block(job),
            Some(job) = inputs.txs.recv() => Job::Tx(job),
            Some(job) = inputs.reveals.recv() => Job::Reveal(job),
            else => return,
        };
        let tree = tree.clone();
        let tx_admitted = tx_admitted.clone();
        let metrics = metrics.clone();
        let done =
            tokio::task::spawn_blocking(move || perform(&tree, &tx_admitted, &metrics, job)).await;
        match done {
            Ok(result) => {
                if results.send(result).await.is_err() {
                    return;
                }
            }
            Err(e) => tracing::error!(error = %e, "network chain job failed"),
        }
    }
}

/// Does one job and reports it to the metrics: the gossip verdict, the import time of an
/// accepted or synced block, and the root's tip if it moved.
fn perform(
    tree: &Blocktree,
    tx_admitted: &Notify,
    metrics: &NodeMetrics,
    job: Job,
) -> WorkerResult {
    let moved = match &job {
        Job::Block(job) => Some(job.chain),
        Job::Sync(SyncJob::ImportBlocks { chain, .. }) => Some(*chain),
        _ => None,
    };
    let output = match job {
        Job::Block(job) => {
            let started = std::time::Instant::now();
            let chain = job.chain;
            let output = judge_block(tree, job);
            let verdict = gossip_verdict(&output);
            if verdict == Some(GossipVerdict::Accept) {
                metrics.block_imported(chain, BlockSource::Gossip, started.elapsed());
            }
            if let Some(verdict) = verdict {
                metrics.gossip_judged(GossipKind::Block, verdict);
            }
            output
        }
        Job::Tx(job) => {
            let output = judge_tx(tree, tx_admitted, job);
            if let Some(verdict) = gossip_verdict(&output) {
                metrics.gossip_judged(GossipKind::Transaction, verdict);
            }
            output
        }
        Job::Reveal(job) => judge_reveal(tree, job),
        Job::Serve(job) => {
            let (response, publish_tx) = serve(tree, tx_admitted, job.request);
            WorkerOutput::Served {
                peer: job.peer,
                response,
                channel: job.channel,
                publish_tx,
            }
        }
        Job::Sync(SyncJob::PrepareHeadersRequest { peer, chain }) => {
            let locator = tree
                .chain(chain)
                .map(|c| c.lock().best_chain_locator(LOCATOR_HASHES_MAX))
                .unwrap_or_default();
            WorkerOutput::HeadersRequest {
                peer,
                chain,
                request: SyncRequest::HeadersAfter {
                    chain,
                    locator,
                    count_max: HEADERS_PER_RESPONSE_MAX,
                },
            }
        }
        Job::Sync(SyncJob::CheckHeaders {
            peer,
            chain,
            headers,
        }) => WorkerOutput::HeadersChecked {
            peer,
            chain,
            outcome: match tree.chain(chain) {
                Some(open) => check_headers(&open.lock(), &headers),
                None => Err(format!("chain {chain} is not open here")),
            },
        },
        Job::Sync(SyncJob::ImportBlocks {
            peer,
            chain,
            blocks,
        }) => WorkerOutput::BlocksImported {
            peer,
            chain,
            outcome: import_synced(tree, chain, blocks, metrics),
        },
    };
    // The heads feed, after a block job: the root (a data block never moves it, but a root
    // block settles its children) and the chain the job was about.
    if let Some(chain) = moved {
        metrics.tip_may_have_moved(&tree.root().lock());
        if !chain.is_root()
            && let Some(open) = tree.chain(chain)
        {
            metrics.tip_may_have_moved(&open.lock());
        }
    }
    WorkerResult {
        status: moved.is_some().then(|| local_status(tree)),
        output,
    }
}

/// The verdict of a gossip job's output, as the metrics count it.
fn gossip_verdict(output: &WorkerOutput) -> Option<GossipVerdict> {
    match output {
        WorkerOutput::Verdict { acceptance, .. } => Some(match acceptance {
            MessageAcceptance::Accept => GossipVerdict::Accept,
            MessageAcceptance::Ignore => GossipVerdict::Ignore,
            MessageAcceptance::Reject => GossipVerdict::Reject,
        }),
        _ => None,
    }
}

fn verdict(job: &GossipJob, acceptance: MessageAcceptance, reason: Option<String>) -> WorkerOutput {
    WorkerOutput::Verdict {
        source: job.source,
        message_id: job.message_id.clone(),
        acceptance,
        reason,
        orphan: None,
        useless: false,
    }
}

/// Ignore a message that is well-formed but of no use however often it comes (an `orphan`
/// block, a transaction whose sender cannot pay), counted against its sender.
fn useless_verdict(job: &GossipJob, reason: String, orphan: Option<(Hash, Hash)>) -> WorkerOutput {
    WorkerOutput::Verdict {
        source: job.source,
        message_id: job.message_id.clone(),
        acceptance: MessageAcceptance::Ignore,
        reason: Some(reason),
        orphan,
        useless: true,
    }
}

/// Accept a block that is valid as far as its place allows (a new tip, or a side branch whose
/// header and body check out); Ignore what cannot be judged now (known already, unknown parent,
/// time ahead of our clock, a relay parent the root here has not reached, a chain not open
/// here) or what failed on our side; Reject the rest, and a block gossiped on another chain's
/// topic.
fn judge_block(tree: &Blocktree, job: GossipJob) -> WorkerOutput {
    // Decoding and the header's own proof of work need no lock.
    let block = match Block::from_bytes(&job.data) {
        Ok(block) => block,
        Err(e) => return verdict(&job, MessageAcceptance::Reject, Some(e.to_string())),
    };
    if block.header.chain != job.chain {
        let reason = format!(
            "block of chain {} on chain {}'s topic",
            block.header.chain, job.chain
        );
        return verdict(&job, MessageAcceptance::Reject, Some(reason));
    }
    if !block.header.meets_difficulty() {
        let reason = BlockError::InsufficientWork.to_string();
        return verdict(&job, MessageAcceptance::Reject, Some(reason));
    }
    let hash = block.hash();
    let chain = block.header.chain;
    match tree.import(block, now_ms()) {
        Ok(outcome) => {
            if let ImportOutcome::NewTip { height, .. } = outcome {
                tracing::info!(%chain, %hash, height, source = %job.source, "imported gossiped block as new tip");
            }
            verdict(&job, MessageAcceptance::Accept, None)
        }
        Err(ChainError::Block(BlockError::UnknownParent(parent))) => useless_verdict(
            &job,
            format!("unknown parent {parent}"),
            Some((hash, parent)),
        ),
        Err(ChainError::Block(
            e @ (BlockError::AlreadyKnown(_) | BlockError::TimeTooNew { .. }),
        )) => verdict(&job, MessageAcceptance::Ignore, Some(e.to_string())),
        Err(ChainError::Block(e)) => verdict(&job, MessageAcceptance::Reject, Some(e.to_string())),
        Err(ChainError::Tx(e)) => verdict(&job, MessageAcceptance::Reject, Some(e.to_string())),
        Err(e @ (ChainError::RelayPending(_) | ChainError::NotTracked(_))) => {
            verdict(&job, MessageAcceptance::Ignore, Some(e.to_string()))
        }
        Err(e) => {
            tracing::error!(error = %e, %hash, "cannot import a gossiped block");
            verdict(&job, MessageAcceptance::Ignore, Some(e.to_string()))
        }
    }
}

/// Accept an admitted transaction; Reject one that no state could make valid (undecodable,
/// another chain than its topic's, bad syntax, bad signature); Ignore the rest, which may be
/// valid on a peer whose tip or mempool differs (nonce, balance, keyspace, mempool full, known
/// already).
fn judge_tx(tree: &Blocktree, tx_admitted: &Notify, job: GossipJob) -> WorkerOutput {
    let tx = match Transaction::from_bytes(&job.data) {
        Ok(tx) => tx,
        Err(e) => return verdict(&job, MessageAcceptance::Reject, Some(e.to_string())),
    };
    if let Err(e) = tx.check_stateless(job.chain) {
        return verdict(&job, MessageAcceptance::Reject, Some(e.to_string()));
    }
    match tree.submit(tx) {
        Ok(_) => {
            tx_admitted.notify_one();
            verdict(&job, MessageAcceptance::Accept, None)
        }
        Err(ChainError::Tx(e @ TxError::Stateless(StatelessError::BadSignature))) => {
            verdict(&job, MessageAcceptance::Reject, Some(e.to_string()))
        }
        // A sender that cannot pay here may be funded on a peer's tip for a moment, so it is
        // not invalid; a stream of them is a flood, which the sender's count catches.
        Err(ChainError::Tx(e @ TxError::Account(AccountError::InsufficientBalance { .. }))) => {
            useless_verdict(&job, e.to_string(), None)
        }
        Err(e) => verdict(&job, MessageAcceptance::Ignore, Some(e.to_string())),
    }
}

/// Judges a reveal against the bounty at the root's tip (see [`WorkerOutput::RevealVerdict`]).
fn judge_reveal(tree: &Blocktree, job: RevealJob) -> WorkerOutput {
    let found = {
        let root = tree.root().lock();
        let tip = root.tip().height;
        root.bounty_at(&job.reveal.bounty, tip)
    };
    let pending = |reason: &str| (MessageAcceptance::Ignore, Some(reason.to_owned()), true);
    let (acceptance, reason, keep) = match found {
        Ok(Some(bounty)) => match bounty.status {
            BountyStatus::Settled { result_hash, .. } if job.reveal.matches(&result_hash) => {
                (MessageAcceptance::Accept, None, true)
            }
            BountyStatus::Settled { result_hash, .. } => (
                MessageAcceptance::Reject,
                Some(format!(
                    "revealed bytes are not bounty {}'s settled result {result_hash}",
                    bounty.id
                )),
                false,
            ),
            BountyStatus::Open => pending("the bounty is not settled here yet"),
            other => (
                MessageAcceptance::Reject,
                Some(format!("a reveal for bounty {}, {other}", bounty.id)),
                false,
            ),
        },
        Ok(None) => pending("the bounty is unknown here"),
        Err(e) => (MessageAcceptance::Ignore, Some(e.to_string()), false),
    };
    WorkerOutput::RevealVerdict {
        source: job.source,
        message_id: job.message_id,
        acceptance,
        reason,
        keep: keep.then_some(job.reveal),
    }
}

/// Admits a transaction a peer forwarded because it does not track its chain; returns what to
/// answer and, when admitted, the bytes to gossip on its chain's topic.
fn serve_submit(
    tree: &Blocktree,
    tx_admitted: &Notify,
    bytes: Vec<u8>,
) -> (SyncResponse, Option<(ChainId, Vec<u8>)>) {
    let refused = |code: i32, message: String| SyncResponse::TxRefused { code, message };
    let tx = match Transaction::from_bytes(&bytes) {
        Ok(tx) => tx,
        Err(e) => return (refused(e.code(), e.to_string()), None),
    };
    let chain = tx.body.chain;
    if let Err(e) = tx.check_stateless(chain) {
        return (refused(e.code(), e.to_string()), None);
    }
    match tree.submit(tx) {
        Ok(hash) => {
            tx_admitted.notify_one();
            (SyncResponse::TxAdmitted(hash), Some((chain, bytes)))
        }
        Err(e) => {
            let mut message = e.to_string();
            message.truncate(super::protocol::REFUSAL_TEXT_BYTES_MAX);
            (
                refused(bitverse_rpc_api::chain_error_code(&e), message),
                None,
            )
        }
    }
}

/// A transaction's status on a chain, as the wire carries it.
pub fn wire_tx_status(status: TxStatus) -> WireTxStatus {
    match status {
        TxStatus::Unknown => WireTxStatus::Unknown,
        TxStatus::Pending => WireTxStatus::Pending,
        TxStatus::Included {
            height,
            block,
            index,
        } => WireTxStatus::Included {
            height,
            block,
            index,
        },
        TxStatus::Dropped { error } => WireTxStatus::Dropped {
            code: error.code(),
            script_reason_code: match &error {
                TxError::Keyspace(KeyspaceError::ScriptRejected { reason_code, .. }) => {
                    Some(*reason_code)
                }
                _ => None,
            },
            message: error.to_string(),
        },
    }
}

/// Answers a peer's request; a forwarded transaction that was admitted comes back too, to be
/// gossiped.
fn serve(
    tree: &Blocktree,
    tx_admitted: &Notify,
    request: SyncRequest,
) -> (SyncResponse, Option<(ChainId, Vec<u8>)>) {
    let open = |chain: ChainId| {
        tree.chain(chain)
            .ok_or_else(|| SyncResponse::refused(format!("chain {chain} is not tracked here")))
    };
    let response = match request {
        SyncRequest::Status(_) => SyncResponse::Status(local_status(tree)),
        SyncRequest::HeadersAfter {
            chain,
            locator,
            count_max,
        } => {
            let chain = match open(chain) {
                Ok(chain) => chain,
                Err(refusal) => return (refusal, None),
            };
            if locator.len() > LOCATOR_HASHES_MAX {
                let refusal = SyncResponse::refused(format!(
                    "locator of {} hashes; the maximum is {LOCATOR_HASHES_MAX}",
                    locator.len()
                ));
                return (refusal, None);
            }
            let count = count_max.min(HEADERS_PER_RESPONSE_MAX);
            let count = usize::try_from(count).unwrap_or(0);
            SyncResponse::Headers(chain.lock().headers_after_locator(&locator, count))
        }
        SyncRequest::Blocks { chain, hashes } => {
            let chain = match open(chain) {
                Ok(chain) => chain,
                Err(refusal) => return (refusal, None),
            };
            if hashes.len() > BLOCKS_PER_REQUEST_MAX {
                let refusal = SyncResponse::refused(format!(
                    "{} blocks asked; the maximum is {BLOCKS_PER_REQUEST_MAX}",
                    hashes.len()
                ));
                return (refusal, None);
            }
            let mut blocks = Vec::new();
            let mut size_bytes = 0usize;
            for hash in hashes {
                // One block at a time under the lock: a long answer does not hold it.
                let block = match chain.lock().block_by_hash(&hash) {
                    Ok(Some(block)) => block,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::error!(error = %e, %hash, "cannot read a block to serve");
                        break;
                    }
                };
                let block_bytes = block.to_bytes().len();
                if !blocks.is_empty()
                    && size_bytes.saturating_add(block_bytes) > BLOCKS_RESPONSE_BYTES_BUDGET
                {
                    break;
                }
                size_bytes = size_bytes.saturating_add(block_bytes);
                blocks.push(block);
            }
            SyncResponse::Blocks(blocks)
        }
        SyncRequest::ValueProof { key } => match tree.value_proof(&key) {
            Ok(proof) => SyncResponse::ValueProof(proof.to_bytes()),
            Err(e) => SyncResponse::refused(e),
        },
        SyncRequest::SubmitTx { tx } => return serve_submit(tree, tx_admitted, tx),
        SyncRequest::TxStatus { chain, hash } => match tree.tx_status(chain, &hash) {
            Ok(status) => SyncResponse::TxStatus(wire_tx_status(status)),
            Err(e) => SyncResponse::refused(e),
        },
        SyncRequest::Account { chain, account } => {
            let chain = match open(chain) {
                Ok(chain) => chain,
                Err(refusal) => return (refusal, None),
            };
            let chain = chain.lock();
            let account = AccountId(account);
            match (chain.account(&account), chain.pending_nonce(&account)) {
                (Ok(state), Ok(pending_nonce)) => SyncResponse::Account {
                    balance: state.balance.0,
                    nonce: state.nonce,
                    pending_nonce,
                },
                (Err(e), _) | (_, Err(e)) => SyncResponse::refused(e),
            }
        }
    };
    (response, None)
}

/// The checks of headers-first sync, before any body is fetched: the first header extends a
/// block we have, and each header meets the full header rules (linkage, height, the difficulty
/// retargeting demands, proof of work, median time past) through the same checker a light
/// client uses. The future-time rule waits for import, where a block ahead of our clock is not
/// held against the peer; state is checked there too. Returns the hashes of the headers'
/// blocks we do not have.
fn check_headers(chain: &Chain, headers: &[BlockHeader]) -> Result<Vec<Hash>, String> {
    if headers.len() > usize::try_from(HEADERS_PER_RESPONSE_MAX).unwrap_or(usize::MAX) {
        return Err(format!("{} headers in one response", headers.len()));
    }
    let Some(first) = headers.first() else {
        return Ok(Vec::new());
    };
    let mut checker = chain.header_checker_from(&first.parent).map_err(|e| {
        format!(
            "first header's parent {} is not a block we can extend: {e}",
            first.parent
        )
    })?;
    let mut wanted = Vec::new();
    for header in headers {
        let hash = header.hash();
        if chain.is_known_invalid(&hash) {
            return Err(format!("header {hash} is of a block known to be invalid"));
        }
        checker
            .push(header.clone(), u64::MAX)
            .map_err(|e| format!("header {hash} at height {}: {e}", header.height))?;
        if !chain.knows_block(&hash) {
            wanted.push(hash);
        }
    }
    Ok(wanted)
}

/// Imports synced blocks of `chain` one by one, each under its chain's lock only for its own
/// import, so RPC and block production interleave with a long sync.
fn import_synced(
    tree: &Blocktree,
    chain: ChainId,
    blocks: Vec<Block>,
    metrics: &NodeMetrics,
) -> Result<usize, ImportFailure> {
    let mut imported = 0usize;
    for block in blocks {
        let hash = block.hash();
        if block.header.chain != chain {
            return Err(ImportFailure::Invalid(format!(
                "block {hash} of chain {} sent for chain {chain}",
                block.header.chain
            )));
        }
        let started = std::time::Instant::now();
        let outcome = tree.import(block, now_ms());
        match outcome {
            Ok(_) => {
                metrics.block_imported(chain, BlockSource::Sync, started.elapsed());
                imported = imported.saturating_add(1);
            }
            Err(ChainError::Block(BlockError::AlreadyKnown(_))) => {}
            // Ahead of our clock: maybe ours is behind; not proof the peer lies.
            Err(ChainError::Block(e @ BlockError::TimeTooNew { .. })) => {
                return Err(ImportFailure::Local(format!("block {hash}: {e}")));
            }
            Err(ChainError::Block(e)) => {
                return Err(ImportFailure::Invalid(format!("block {hash}: {e}")));
            }
            // Its relay parent is not (yet) on our root's best chain: our root may be behind.
            Err(e @ (ChainError::RelayPending(_) | ChainError::NotTracked(_))) => {
                return Err(ImportFailure::Local(format!("block {hash}: {e}")));
            }
            Err(e) => {
                tracing::error!(error = %e, %hash, "cannot import a synced block");
                return Err(ImportFailure::Local(e.to_string()));
            }
        }
    }
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitverse_blocktree::{ChainParams, Tracking, TxPayload, UnsignedTx, ValueProof};
    use bitverse_primitives::{Amount, SecretKey};
    use parking_lot::Mutex;

    use crate::sync::{ChainSyncs, LocalChain, SyncAction};

    fn dev_chain() -> Mutex<Chain> {
        Mutex::new(Chain::in_memory(ChainParams::dev()).unwrap())
    }

    fn dev_tree() -> Blocktree {
        Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap()
    }

    fn time(i: u64) -> u64 {
        ChainParams::dev().genesis_time_ms + i * 1_000
    }

    fn extend(chain: &Mutex<Chain>, who: &str, first: u64, count: u64) -> Vec<Block> {
        let miner = SecretKey::dev(who).account();
        (first..first + count)
            .map(|i| {
                chain
                    .lock()
                    .produce_block(miner, time(i), true, u64::MAX)
                    .unwrap()
                    .unwrap()
            })
            .collect()
    }

    fn tx(who: &str, nonce: u64, signer: &str) -> Transaction {
        UnsignedTx {
            chain: ChainId::ROOT,
            sender: SecretKey::dev(who).account(),
            nonce,
            fee: Amount(1),
            payload: TxPayload::Transfer {
                to: SecretKey::dev("dave").account(),
                amount: Amount(5),
            },
        }
        .sign(&SecretKey::dev(signer))
    }

    fn job(data: Vec<u8>) -> GossipJob {
        GossipJob {
            chain: ChainId::ROOT,
            source: PeerId::random(),
            message_id: MessageId::new(b"id"),
            data,
        }
    }

    fn acceptance(output: &WorkerOutput) -> (MessageAcceptance, bool) {
        match output {
            WorkerOutput::Verdict {
                acceptance, orphan, ..
            } => (*acceptance, orphan.is_some()),
            _ => panic!("not a verdict"),
        }
    }

    #[test]
    fn gossiped_transactions_are_accepted_ignored_or_rejected_by_what_they_are() {
        let chain = dev_tree();
        let notify = Notify::new();
        let judge = |data: Vec<u8>| acceptance(&judge_tx(&chain, &notify, job(data))).0;
        let valid = tx("alice", 0, "alice").to_bytes();
        assert_eq!(judge(valid.clone()), MessageAcceptance::Accept);
        assert_eq!(judge(valid), MessageAcceptance::Ignore, "known already");
        assert_eq!(judge(b"garbage".to_vec()), MessageAcceptance::Reject);
        assert_eq!(
            judge(tx("alice", 1, "bob").to_bytes()),
            MessageAcceptance::Reject,
            "bad signature"
        );
        assert_eq!(
            judge(tx("alice", 7_000_000, "alice").to_bytes()),
            MessageAcceptance::Ignore,
            "a nonce far ahead may be valid on another node"
        );
    }

    /// Issue 18 §5: a reveal this node cannot judge yet (its bounty is not on the root here,
    /// so its Settle's block has not arrived) is neither forwarded nor held against its
    /// sender, but kept for the book, whose readers judge it once the bounty is settled.
    #[test]
    fn a_reveal_for_a_bounty_not_settled_here_is_kept_unforwarded() {
        let tree = dev_tree();
        let reveal = Reveal {
            bounty: Hash::digest(b"a bounty posted on a block not here yet"),
            result: b"grey".to_vec(),
        };
        let job = RevealJob {
            source: PeerId::random(),
            message_id: MessageId::new(b"id"),
            reveal: reveal.clone(),
        };
        match judge_reveal(&tree, job) {
            WorkerOutput::RevealVerdict {
                acceptance, keep, ..
            } => {
                assert_eq!(acceptance, MessageAcceptance::Ignore);
                assert_eq!(keep, Some(reveal));
            }
            _ => panic!("not a reveal verdict"),
        }
    }

    /// Issue 18 §6: an orphan block and a transfer from a key that holds nothing are ignored
    /// (they may be of use elsewhere) but counted against their sender as useless; a
    /// transaction merely known already is not.
    #[test]
    fn orphans_and_unfunded_transactions_are_marked_useless() {
        let useless = |output: &WorkerOutput| match output {
            WorkerOutput::Verdict { useless, .. } => *useless,
            _ => panic!("not a verdict"),
        };
        let chain = dev_tree();
        let notify = Notify::new();
        let unfunded = SecretKey::from_seed(b"a key that holds nothing");
        let transfer = UnsignedTx {
            chain: ChainId::ROOT,
            sender: unfunded.account(),
            nonce: 0,
            fee: Amount(1),
            payload: TxPayload::Transfer {
                to: SecretKey::dev("dave").account(),
                amount: Amount(5),
            },
        }
        .sign(&unfunded);
        let output = judge_tx(&chain, &notify, job(transfer.to_bytes()));
        assert_eq!(acceptance(&output).0, MessageAcceptance::Ignore);
        assert!(useless(&output), "unfunded");
        let valid = tx("alice", 0, "alice").to_bytes();
        judge_tx(&chain, &notify, job(valid.clone()));
        assert!(
            !useless(&judge_tx(&chain, &notify, job(valid))),
            "known already"
        );
        let source = dev_chain();
        let blocks = extend(&source, "miner", 1, 2);
        assert!(
            useless(&judge_block(&chain, job(blocks[1].to_bytes()))),
            "orphan"
        );
    }

    #[test]
    fn verdicts_imports_and_new_tips_are_reported_to_the_metrics() {
        let source = dev_chain();
        let blocks = extend(&source, "miner", 1, 1);
        let chain = dev_tree();
        let notify = Notify::new();
        let metrics = NodeMetrics::new(chain.root().lock().tip().hash);
        let mut heads = metrics.subscribe_heads();
        perform(&chain, &notify, &metrics, Job::Tx(job(b"garbage".to_vec())));
        perform(
            &chain,
            &notify,
            &metrics,
            Job::Block(job(blocks[0].to_bytes())),
        );
        perform(
            &chain,
            &notify,
            &metrics,
            Job::Block(job(blocks[0].to_bytes())),
        );
        let text = metrics
            .render(&bitverse_metrics::ScrapeSample::default())
            .unwrap();
        for line in [
            "bitverse_gossip_messages_total{kind=\"transaction\",verdict=\"reject\"} 1",
            "bitverse_gossip_messages_total{kind=\"block\",verdict=\"accept\"} 1",
            "bitverse_gossip_messages_total{kind=\"block\",verdict=\"ignore\"} 1",
            "bitverse_block_import_seconds_count{chain=\"root\",source=\"gossip\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        let head = heads.try_recv().unwrap();
        assert_eq!((head.height, head.hash), (1, blocks[0].hash()));
        assert!(heads.try_recv().is_err(), "one new tip, announced once");
    }

    #[test]
    fn gossiped_blocks_are_accepted_ignored_or_rejected_by_what_they_are() {
        let source = dev_chain();
        let blocks = extend(&source, "miner", 1, 2);
        let chain = dev_tree();
        let judge = |block: Vec<u8>| acceptance(&judge_block(&chain, job(block)));
        assert_eq!(
            judge(blocks[1].to_bytes()),
            (MessageAcceptance::Ignore, true),
            "orphan"
        );
        assert_eq!(judge(blocks[0].to_bytes()).0, MessageAcceptance::Accept);
        assert_eq!(judge(blocks[0].to_bytes()).0, MessageAcceptance::Ignore);
        assert_eq!(judge(b"garbage".to_vec()).0, MessageAcceptance::Reject);
        let mut bad = blocks[1].clone();
        bad.header.height = 5;
        assert_eq!(judge(bad.to_bytes()).0, MessageAcceptance::Reject);
        let mut lying = blocks[1].clone();
        lying.header.state_root = Hash::digest(b"lie");
        assert_eq!(judge(lying.to_bytes()).0, MessageAcceptance::Reject);
        let mut other_topic = job(blocks[1].to_bytes());
        other_topic.chain = ChainId::new(1, 0).unwrap();
        assert_eq!(
            acceptance(&judge_block(&chain, other_topic)).0,
            MessageAcceptance::Reject,
            "a root block on a data chain's topic"
        );
        assert_eq!(judge(blocks[1].to_bytes()).0, MessageAcceptance::Accept);
    }

    #[test]
    fn headers_from_a_longer_chain_check_out_and_name_the_blocks_to_fetch() {
        let source = dev_chain();
        extend(&source, "miner", 1, 30);
        let chain = dev_chain();
        let locator = chain.lock().best_chain_locator(LOCATOR_HASHES_MAX);
        let headers = source.lock().headers_after_locator(&locator, 1000);
        let wanted = check_headers(&chain.lock(), &headers).unwrap();
        assert_eq!(wanted.len(), 30);
        assert_eq!(wanted[0], headers[0].hash());
        assert!(check_headers(&chain.lock(), &[]).unwrap().is_empty());

        let mut gap = headers.clone();
        gap.remove(5);
        assert!(check_headers(&chain.lock(), &gap).is_err());
        let mut renumbered = headers.clone();
        renumbered[0].height = 9;
        assert!(check_headers(&chain.lock(), &renumbered).is_err());
        let mut unanchored = headers.clone();
        unanchored.remove(0);
        assert!(check_headers(&chain.lock(), &unanchored).is_err());
    }

    #[test]
    fn headers_lacking_proof_of_work_are_refused() {
        let params = ChainParams::local();
        let chain = Mutex::new(Chain::in_memory(params.clone()).unwrap());
        let genesis = chain.lock().genesis_hash();
        let mut header = BlockHeader {
            chain: ChainId::ROOT,
            parent: genesis,
            height: 1,
            time_ms: params.genesis_time_ms + 1,
            difficulty: params.root.difficulty_initial,
            nonce: 0,
            merged: bitverse_blocktree::MergedWork::default(),
            miner: SecretKey::dev("miner").account(),
            tx_root: Hash::ZERO,
            state_root: Hash::ZERO,
            relay_parent: Hash::ZERO,
            anchors: Vec::new(),
            anchor_headers_hash: Hash::ZERO,
        };
        while header.meets_difficulty() {
            header.nonce += 1;
        }
        let error = check_headers(&chain.lock(), std::slice::from_ref(&header)).unwrap_err();
        assert!(error.contains("proof of work"), "{error}");
        // A header claiming a difficulty its work meets, but not the one the retarget rule
        // demands, is refused before any body is fetched: forged cheap headers cost nothing.
        header.difficulty = 1;
        let error = check_headers(&chain.lock(), &[header]).unwrap_err();
        assert!(error.contains("bad difficulty"), "{error}");
    }

    #[test]
    fn requests_over_their_limits_or_for_chains_not_here_are_refused() {
        let tree = Blocktree::in_memory(
            ChainParams::dev(),
            Tracking::Prefixes(vec![ChainId::new(1, 0).unwrap()]),
        )
        .unwrap();
        let notify = Notify::new();
        let serve = |request| serve(&tree, &notify, request).0;
        let locator = vec![Hash::ZERO; LOCATOR_HASHES_MAX + 1];
        let answer = serve(SyncRequest::HeadersAfter {
            chain: ChainId::ROOT,
            locator,
            count_max: 10,
        });
        assert!(matches!(answer, SyncResponse::Refused(_)), "{answer:?}");
        let hashes = vec![Hash::ZERO; BLOCKS_PER_REQUEST_MAX + 1];
        let answer = serve(SyncRequest::Blocks {
            chain: ChainId::ROOT,
            hashes,
        });
        assert!(matches!(answer, SyncResponse::Refused(_)), "{answer:?}");
        let untracked = ChainId::new(1, 1).unwrap();
        for request in [
            SyncRequest::Blocks {
                chain: untracked,
                hashes: vec![Hash::ZERO],
            },
            SyncRequest::HeadersAfter {
                chain: untracked,
                locator: vec![],
                count_max: 1,
            },
            SyncRequest::TxStatus {
                chain: untracked,
                hash: Hash::ZERO,
            },
            SyncRequest::Account {
                chain: untracked,
                account: [0; 32],
            },
        ] {
            let answer = serve(request);
            assert!(matches!(answer, SyncResponse::Refused(_)), "{answer:?}");
        }
    }

    #[test]
    fn a_forwarded_transaction_is_admitted_and_gossiped_or_refused_with_its_code() {
        let tree = dev_tree();
        let notify = Notify::new();
        let admitted = tx("alice", 0, "alice");
        let (answer, publish) = serve(
            &tree,
            &notify,
            SyncRequest::SubmitTx {
                tx: admitted.to_bytes(),
            },
        );
        assert_eq!(answer, SyncResponse::TxAdmitted(admitted.hash()));
        assert_eq!(publish, Some((ChainId::ROOT, admitted.to_bytes())));
        let (answer, _) = serve(
            &tree,
            &notify,
            SyncRequest::TxStatus {
                chain: ChainId::ROOT,
                hash: admitted.hash(),
            },
        );
        assert_eq!(answer, SyncResponse::TxStatus(WireTxStatus::Pending));
        let (answer, publish) = serve(
            &tree,
            &notify,
            SyncRequest::SubmitTx {
                tx: tx("alice", 1, "bob").to_bytes(),
            },
        );
        assert_eq!(
            answer,
            SyncResponse::TxRefused {
                code: StatelessError::BadSignature.code(),
                message: StatelessError::BadSignature.to_string(),
            }
        );
        assert_eq!(publish, None);
        let (answer, _) = serve(
            &tree,
            &notify,
            SyncRequest::Account {
                chain: ChainId::ROOT,
                account: SecretKey::dev("alice").account().0,
            },
        );
        let SyncResponse::Account {
            nonce,
            pending_nonce,
            ..
        } = answer
        else {
            panic!("not an account: {answer:?}");
        };
        assert_eq!((nonce, pending_nonce), (0, 1));
    }

    #[test]
    fn headers_answers_are_capped_and_blocks_answers_are_a_prefix_of_what_was_asked() {
        let tree = dev_tree();
        let notify = Notify::new();
        let blocks = extend(tree.root(), "miner", 1, 5);
        let genesis = tree.root().lock().genesis_hash();
        let SyncResponse::Headers(headers) = serve(
            &tree,
            &notify,
            SyncRequest::HeadersAfter {
                chain: ChainId::ROOT,
                locator: vec![genesis],
                count_max: 3,
            },
        )
        .0
        else {
            panic!("not headers");
        };
        assert_eq!(headers.len(), 3);
        let mut hashes: Vec<Hash> = blocks.iter().map(Block::hash).collect();
        hashes.insert(2, Hash::digest(b"unknown"));
        let request = SyncRequest::Blocks {
            chain: ChainId::ROOT,
            hashes,
        };
        let SyncResponse::Blocks(served) = serve(&tree, &notify, request).0 else {
            panic!("not blocks");
        };
        assert_eq!(served, blocks[..2].to_vec());
    }

    #[test]
    fn a_value_proof_is_served_that_checks_against_the_tip() {
        let tree = dev_tree();
        let notify = Notify::new();
        let chain = tree.root();
        let alice = SecretKey::dev("alice");
        let buy = UnsignedTx {
            chain: ChainId::ROOT,
            sender: alice.account(),
            nonce: 0,
            fee: Amount(1),
            payload: TxPayload::BuyKeyspace {
                name: "alice".into(),
                owner: alice.account(),
                quota_bytes: 1000,
                prepaid: Amount(1000 * ChainParams::dev().root.storage_price_per_byte.0),
                script: None,
                depth: 0,
            },
        }
        .sign(&alice);
        chain.lock().submit_transaction(buy).unwrap();
        extend(chain, "miner", 1, 1);
        let answer = serve(
            &tree,
            &notify,
            SyncRequest::ValueProof {
                key: "alice/nothing".into(),
            },
        )
        .0;
        let SyncResponse::ValueProof(bytes) = answer else {
            panic!("not a proof: {answer:?}");
        };
        let proof = ValueProof::from_bytes(&bytes).unwrap();
        proof.verify().unwrap();
        assert_eq!(proof.header, chain.lock().header_at(1).unwrap().unwrap());
        assert!(proof.value.is_none());
        let answer = serve(
            &tree,
            &notify,
            SyncRequest::ValueProof {
                key: "nobody/x".into(),
            },
        )
        .0;
        assert!(matches!(answer, SyncResponse::Refused(_)), "{answer:?}");
    }

    #[test]
    fn synced_blocks_import_in_order_and_an_invalid_one_is_the_peers_fault() {
        let source = dev_chain();
        let blocks = extend(&source, "miner", 1, 4);
        let tree = dev_tree();
        let metrics = NodeMetrics::new(tree.root().lock().tip().hash);
        let root = ChainId::ROOT;
        assert_eq!(
            import_synced(&tree, root, blocks[..2].to_vec(), &metrics).unwrap(),
            2
        );
        assert_eq!(
            import_synced(&tree, root, blocks[..3].to_vec(), &metrics).unwrap(),
            1
        );
        let mut bad = blocks[3].clone();
        bad.header.state_root = Hash::digest(b"lie");
        assert!(matches!(
            import_synced(&tree, root, vec![bad], &metrics),
            Err(ImportFailure::Invalid(_))
        ));
        assert!(
            matches!(
                import_synced(
                    &tree,
                    ChainId::new(1, 0).unwrap(),
                    blocks[3..].to_vec(),
                    &metrics
                ),
                Err(ImportFailure::Invalid(_))
            ),
            "a root block sent as another chain's"
        );
        assert_eq!(tree.root().lock().tip().height, 3);
    }

    /// Plays the swarm loop and the worker for the sync state machine with the real chain
    /// work: locators, headers and blocks served by `source` (as every peer's), headers
    /// checked and blocks imported into `target`. Peer 0 lies: the headers it serves have a
    /// gap. Returns the penalties handed out.
    fn drive_sync(
        source: &Blocktree,
        target: &Blocktree,
        syncs: &mut ChainSyncs<u8>,
        mut pending: std::collections::VecDeque<SyncAction<u8>>,
    ) -> Vec<(u8, String)> {
        let notify = Notify::new();
        let metrics = NodeMetrics::new(target.root().lock().tip().hash);
        let local = |tree: &Blocktree| {
            let tip = chain_tip(&tree.root().lock());
            vec![LocalChain {
                chain: tip.chain,
                height: tip.height,
                cumulative_work: tip.cumulative_work,
                tip: tip.tip,
                anchor_missing: None,
            }]
        };
        let mut penalties = Vec::new();
        let mut steps = 0;
        while let Some(action) = pending.pop_front() {
            steps += 1;
            assert!(steps < 1_000, "the sync does not end");
            let next = match action {
                SyncAction::PrepareHeadersRequest { peer, chain } => {
                    let locator = target
                        .chain(chain)
                        .unwrap()
                        .lock()
                        .best_chain_locator(LOCATOR_HASHES_MAX);
                    let request = SyncRequest::HeadersAfter {
                        chain,
                        locator,
                        count_max: HEADERS_PER_RESPONSE_MAX,
                    };
                    syncs.headers_request_ready(0, peer, chain, request)
                }
                SyncAction::Send { id, peer, request } => {
                    let mut response = serve(source, &notify, request).0;
                    if let (0, SyncResponse::Headers(headers)) = (peer, &mut response) {
                        headers.remove(headers.len() / 2);
                    }
                    syncs.on_response(0, peer, id, response)
                }
                SyncAction::CheckHeaders {
                    peer,
                    chain,
                    headers,
                } => {
                    let outcome = check_headers(&target.chain(chain).unwrap().lock(), &headers);
                    syncs.headers_checked(0, peer, chain, outcome)
                }
                SyncAction::ImportBlocks {
                    peer,
                    chain,
                    blocks,
                } => {
                    let outcome = import_synced(target, chain, blocks, &metrics);
                    syncs.set_local(local(target));
                    syncs.blocks_imported(0, peer, chain, outcome)
                }
                SyncAction::Penalise { peer, reason } => {
                    penalties.push((peer, reason));
                    Vec::new()
                }
            };
            pending.extend(next);
        }
        penalties
    }

    #[test]
    fn the_sync_machine_with_the_real_chain_work_catches_up_and_penalises_headers_with_a_gap() {
        let source = dev_tree();
        let blocks = 150;
        extend(source.root(), "miner", 1, blocks);
        let source_tip = chain_tip(&source.root().lock());
        let target = dev_tree();
        let mut syncs = ChainSyncs::<u8>::default();
        let target_tip = chain_tip(&target.root().lock());
        syncs.set_local(vec![LocalChain {
            chain: ChainId::ROOT,
            height: 0,
            cumulative_work: target_tip.cumulative_work,
            tip: target_tip.tip,
            anchor_missing: None,
        }]);
        // The liar is the only peer at first: its sync ends at its headers.
        let pending = syncs.peer_status(0, 0, &[source_tip]).into();
        let penalties = drive_sync(&source, &target, &mut syncs, pending);
        assert_eq!(penalties.len(), 1, "{penalties:?}");
        assert_eq!(penalties[0].0, 0);
        assert!(
            penalties[0].1.contains("invalid headers of chain root"),
            "{}",
            penalties[0].1
        );
        assert_eq!(target.root().lock().tip().height, 0);
        // An honest peer comes: it is followed, and the liar, which has the same blocks, serves
        // the second slice (its blocks are true).
        let pending = syncs.peer_status(0, 1, &[source_tip]).into();
        let penalties = drive_sync(&source, &target, &mut syncs, pending);
        assert!(penalties.is_empty(), "{penalties:?}");
        assert_eq!(target.root().lock().tip().hash, source_tip.tip);
        assert_eq!(syncs.synced_blocks(), blocks);
        let first_slice = u64::try_from(BLOCKS_PER_REQUEST_MAX).unwrap();
        assert_eq!(syncs.synced_blocks_from(&1), first_slice);
        assert_eq!(syncs.synced_blocks_from(&0), blocks - first_slice);
        assert!(!syncs.is_syncing());
    }
}
