//! The market agent: what `bitverse node --offer --relay` does. It answers requests with
//! signed offers (after computing the result, so a module that loops or traps is declined,
//! not accepted), watches root blocks for bounties naming this node as offerer and lineups
//! drawing it as a relayer, computes over the pinned values, signs its commitment to the
//! result and passes the envelope chain on (never the result: see docs/MARKET.md, "Keeping
//! the result secret"), settles a chain it completes, disputes a commitment that is not to
//! its own result, and, once the root settled the bounty with the result it computed, reveals
//! the result's bytes on the market topic.
//!
//! It runs on a thread of its own: every step is a short read of the root, a sandbox run or
//! a signature, and the next step waits for the last. Its queues and caches are bounded.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use bitverse_blocktree::{
    Blocktree, Bounty, BountyStatus, BountyTerms, ChainError, KeyspaceError, Transaction, TxError,
    TxPayload, UnsignedTx,
};
use bitverse_compute::transform::FUEL_PER_TRANSFORM_MAX;
use bitverse_compute::{ScriptFault, TransformFault, TransformRequest, TransformRunner};
use bitverse_pricing::{TaskKind, tier_price};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey};
use bitverse_relay_lineup::{
    Envelope, LineupError, check_commitments, verify_envelope_chain, verify_envelope_prefix,
};
use tokio::sync::{Notify, watch};

use crate::Exchange;
use bitverse_market_wire::{MarketMessage, MarketRequest, Offer, OfferTerms, ResultChain, Reveal};
use bitverse_p2p::P2pHandle;

/// How often the agent looks at the root for new blocks when no message wakes it.
const TICK_MS: u64 = 200;
/// Root blocks read per tick at most (a node catching up reads the rest on later ticks).
const BLOCKS_PER_TICK_MAX: u64 = 32;
/// Root blocks read lately that the agent remembers, to find where a reorg left them.
const SCANNED_REMEMBERED: usize = 64;
/// Bounties worked on at once; more are left (they expire, a failure for this node).
const JOBS_MAX: usize = 64;
/// Results computed for offers, kept for the bounty that may follow (each up to 64 KiB).
const COMPUTED_MAX: usize = 64;
/// How far past a request's fuel budget a run that outgrew it is made again, to tell the
/// requester what it needs.
const FUEL_MEASURE_FACTOR: u64 = 16;
/// The fee of each transaction the agent sends (Settle, Dispute).
const MARKET_TX_FEE: Amount = Amount(1);
/// Root blocks an offerer waits, after it first sees its bounty's chain complete, before it
/// settles the chain itself: the relayer that completed it settles first, and its Settle may
/// be lost. (The requester cannot: it does not know the result's hash before settlement.)
const SETTLE_GRACE_BLOCKS: u64 = 3;

/// How a test node misbehaves as an offerer (`--market-fault`; never for real use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketFault {
    /// Signs a result with its first byte flipped.
    Lie,
    /// Takes bounties and never delivers; as the last relayer, never settles; never reveals.
    Silent,
}

/// Which roles this node takes, and the key it signs and pays with.
pub struct MarketRoles {
    /// Answers requests and computes bounties as their offerer.
    pub offer: bool,
    /// Recomputes and countersigns when drawn into a lineup.
    pub relay: bool,
    /// The staked account's key.
    pub key: SecretKey,
    /// A test-only fault.
    pub fault: Option<MarketFault>,
}

/// The inputs of one computation; two requests with equal ones have equal results.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ComputeKey {
    module: Hash,
    inputs: Vec<Hash>,
    args: Vec<u8>,
    fuel_budget: u64,
}

/// What one computation gave: output bytes and fuel, or why there is none.
type Computed = Result<(Vec<u8>, u64), String>;

/// This node's part in one bounty, from the block that names this node until the bounty
/// ends (settled: revealed; expired or disputed: dropped).
struct Job {
    bounty: Bounty,
    /// 0 as the offerer, `k + 1` as the lineup's `k`-th relayer.
    position: usize,
    computed: Option<Computed>,
    /// The bytes this node signed a commitment to, once it signed: what it reveals once the
    /// root settles the bounty with their hash.
    signed: Option<Vec<u8>>,
    /// As the offerer: the root height at which it first saw the chain complete.
    complete_at: Option<u64>,
    /// As the offerer: whether it sent the fallback Settle.
    settle_sent: bool,
}

/// Where a relay job stands after a step.
enum Relayed {
    /// The chain has not reached this node's place yet.
    Waiting,
    /// Countersigned: the job waits for the settlement, to reveal.
    Signed(Vec<u8>),
    /// Disputed, or nothing more to do.
    Over,
}

struct Agent {
    exchange: Arc<Exchange>,
    tree: Arc<Blocktree>,
    roles: MarketRoles,
    account: AccountId,
    runner: TransformRunner,
    p2p: Option<P2pHandle>,
    tx_admitted: Arc<Notify>,
    /// The root blocks read lately, oldest first, as (height, hash): the last is where reading
    /// goes on from, and a reorg is found by comparing them with the best chain.
    scanned: VecDeque<(u64, Hash)>,
    jobs: BTreeMap<Hash, Job>,
    computed: BTreeMap<ComputeKey, Computed>,
    computed_order: VecDeque<ComputeKey>,
}

/// Runs the agent on the calling thread until `stop` turns true.
pub fn run(
    exchange: Arc<Exchange>,
    tree: Arc<Blocktree>,
    roles: MarketRoles,
    inbound: Receiver<MarketMessage>,
    (p2p, tx_admitted): (Option<P2pHandle>, Arc<Notify>),
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let runner = TransformRunner::new()?;
    let scanned = {
        let tip = tree.root().lock().tip();
        VecDeque::from([(tip.height, tip.hash)])
    };
    let account = roles.key.account();
    tracing::info!(
        %account,
        offer = roles.offer,
        relay = roles.relay,
        fault = ?roles.fault,
        "market agent running"
    );
    let mut agent = Agent {
        exchange,
        tree,
        roles,
        account,
        runner,
        p2p,
        tx_admitted,
        scanned,
        jobs: BTreeMap::new(),
        computed: BTreeMap::new(),
        computed_order: VecDeque::new(),
    };
    let mut last_tick = Instant::now();
    while !*stop.borrow() {
        match inbound.recv_timeout(Duration::from_millis(TICK_MS)) {
            Ok(message) => agent.on_message(message),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_tick.elapsed() >= Duration::from_millis(TICK_MS) {
            last_tick = Instant::now();
            agent.on_tick();
        }
    }
    Ok(())
}

impl Agent {
    fn on_message(&mut self, message: MarketMessage) {
        match message {
            MarketMessage::Request(request) if self.roles.offer => self.answer(&request),
            // A chain moving on may be what a relay job waits for.
            MarketMessage::Result(_) => self.drive_jobs(),
            _ => {}
        }
    }

    fn on_tick(&mut self) {
        if let Err(e) = self.scan_blocks() {
            tracing::warn!(error = %e, "market agent cannot read the root");
        }
        self.drive_jobs();
    }

    /// Answers a request: declines when not staked as an offerer at the tip (no answer at
    /// all), or when the values are not there or the module gives no output; otherwise
    /// offers the tier's price at this node's expected latency, with the result computed.
    fn answer(&mut self, request: &MarketRequest) {
        let terms = match self.terms_for(request) {
            Ok(Some(terms)) => terms,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "market agent cannot read the root");
                return;
            }
        };
        tracing::info!(request = %request.id(), ?terms, "answering a market request");
        let offer = Offer::signed(&self.roles.key, request.id(), terms);
        self.exchange.say(MarketMessage::Offer(offer));
    }

    fn terms_for(&mut self, request: &MarketRequest) -> Result<Option<OfferTerms>, ChainError> {
        let (stake, params, record, tip, requester_balance) = {
            let chain = self.tree.root().lock();
            let tip = chain.tip().height;
            let stake = chain.stake_at(&self.account, tip)?.stake(TaskKind::Offer);
            let record = chain.reliability_record_at(&self.account, TaskKind::Offer, tip)?;
            let balance = chain.account(&request.requester)?.balance;
            (stake, chain.params().clone(), record, tip, balance)
        };
        if stake == Amount::ZERO {
            return Ok(None);
        }
        // Requests are unsigned and cost nothing to gossip; a requester who could not pay
        // the tier is not worth a sandbox run.
        let Ok(price) = tier_price(&params.quote, request.fuel_budget, request.hops) else {
            return Ok(None);
        };
        if requester_balance < price {
            return Ok(None);
        }
        let declined = |reason: String| Ok(Some(OfferTerms::Declined { reason }));
        let values = read_values(&self.tree, request);
        let (module, inputs) = match values {
            Ok(values) => values,
            Err(reason) => return declined(reason),
        };
        // An out-of-fuel decline says what the run needs by running it again with up to
        // FUEL_MEASURE_FACTOR times the budget: only for a requester that could pay that
        // tier, by the same rule as above (the measuring run costs this node as much).
        let measure = request
            .fuel_budget
            .saturating_mul(FUEL_MEASURE_FACTOR)
            .min(FUEL_PER_TRANSFORM_MAX);
        let measure = tier_price(&params.quote, measure, request.hops)
            .is_ok_and(|price| requester_balance >= price)
            .then_some(measure);
        let computed = self.compute(&module, inputs, &request.args, request.fuel_budget, measure);
        if let Err(reason) = computed {
            return declined(reason);
        }
        let latency_ms = record
            .unwrap_or_default()
            .decayed(tip, &params.ledger)
            .map(|r| r.estimate(&params.ledger).latency_ms)
            .unwrap_or(params.ledger.prior_latency_ms);
        // Accepting the terms at this price: the requester's PostBounty carries it, and the
        // bounty then counts against this node if it expires unserved.
        let terms = BountyTerms {
            requester: request.requester,
            offerer: self.account,
            amount: price,
            transform: &request.transform,
            inputs: &request.inputs,
            args: &request.args,
            pinned_height: request.pinned_height,
            hops: request.hops,
            fuel_budget: request.fuel_budget,
            expiry_height: request.expiry_height,
        };
        Ok(Some(OfferTerms::Priced {
            price,
            latency_ms: u64::from(latency_ms),
            acceptance: self.roles.key.sign(&terms.acceptance_hash()),
        }))
    }

    /// Runs the transformation, or takes the result of an equal run kept from before. Out of
    /// fuel, with `measure_fuel_max`, the run is made again with that budget to say what it
    /// needs ([`Agent::fuel_needed`]).
    fn compute(
        &mut self,
        module: &[u8],
        inputs: Vec<Vec<u8>>,
        args: &[u8],
        fuel_budget: u64,
        measure_fuel_max: Option<u64>,
    ) -> Computed {
        let key = ComputeKey {
            module: Hash::digest(module),
            inputs: inputs.iter().map(|i| Hash::digest(i)).collect(),
            args: args.to_vec(),
            fuel_budget,
        };
        if let Some(done) = self.computed.get(&key) {
            return done.clone();
        }
        let request = TransformRequest {
            inputs,
            args: args.to_vec(),
            fuel_max: fuel_budget,
        };
        let computed = match self.runner.run(module, request.clone()) {
            Ok(outcome) => match outcome.result {
                Ok(output) => Ok((output, outcome.fuel_used)),
                Err(TransformFault::Sandbox(ScriptFault::OutOfFuel { .. })) => {
                    Err(self.fuel_needed(module, request, measure_fuel_max))
                }
                Err(fault) => Err(format!("the transformation gives no output: {fault}")),
            },
            Err(e) => Err(format!("the transformation cannot run: {e}")),
        };
        if self.computed_order.len() >= COMPUTED_MAX
            && let Some(oldest) = self.computed_order.pop_front()
        {
            self.computed.remove(&oldest);
        }
        self.computed.insert(key.clone(), computed.clone());
        self.computed_order.push_back(key);
        computed
    }

    /// The decline of a request whose budget the run outgrew, saying what it needs: the run
    /// is made again with `measure` (up to [`FUEL_MEASURE_FACTOR`] times the budget, never
    /// above what a bounty may carry), so the requester learns the `--fuel` that works; without
    /// one (a requester that could not pay for it) the decline only says the budget is short.
    fn fuel_needed(
        &mut self,
        module: &[u8],
        mut request: TransformRequest,
        measure: Option<u64>,
    ) -> String {
        let budget = request.fuel_max;
        let Some(measure) = measure.filter(|m| *m > budget) else {
            return format!(
                "out of fuel: the budget of {budget} units is too small; give a larger --fuel"
            );
        };
        request.fuel_max = measure;
        let needed = match self.runner.run(module, request) {
            Ok(outcome) if outcome.result.is_ok() => Some(outcome.fuel_used),
            _ => None,
        };
        match needed {
            Some(used) => format!(
                "out of fuel: the budget of {budget} units is too small; the run needs {used} (request it with --fuel {used})"
            ),
            None if measure >= FUEL_PER_TRANSFORM_MAX => format!(
                "out of fuel: the run needs more than {measure} units, the most a request may carry"
            ),
            None => format!(
                "out of fuel: the budget of {budget} units is too small; the run needs more than {measure} (try --fuel {})",
                measure
                    .saturating_mul(FUEL_MEASURE_FACTOR)
                    .min(FUEL_PER_TRANSFORM_MAX)
            ),
        }
    }

    /// Reads the root blocks after the last one read, taking a job for each bounty that
    /// names this node as its offerer and each lineup that draws it. After a reorg it reads
    /// again from where the best chain left the blocks it had read (at most
    /// [`SCANNED_REMEMBERED`] back), since a bounty or a lineup may be in the new branch.
    fn scan_blocks(&mut self) -> Result<(), ChainError> {
        let chain = self.tree.root().clone();
        {
            let chain = chain.lock();
            rewind_to_best_chain(&mut self.scanned, |height| {
                Ok(chain.header_at(height)?.map(|h| h.hash()))
            })?;
        }
        let tip = chain.lock().tip().height;
        let from = self.scanned.back().map_or(tip, |(height, _)| *height);
        let last = tip.min(from.saturating_add(BLOCKS_PER_TICK_MAX));
        for height in from.saturating_add(1)..=last {
            let block = chain.lock().block_at(height)?;
            let Some(block) = block else { break };
            if self.scanned.len() >= SCANNED_REMEMBERED {
                self.scanned.pop_front();
            }
            self.scanned.push_back((height, block.hash()));
            for tx in &block.transactions {
                // The bounty, and whether this node is its offerer or may be in its lineup.
                let (bounty, as_offerer) = match &tx.body.payload {
                    TxPayload::PostBounty { offerer, .. }
                        if self.roles.offer && *offerer == self.account =>
                    {
                        (tx.hash(), true)
                    }
                    TxPayload::LineupProof { proof } if self.roles.relay => (proof.bounty, false),
                    _ => continue,
                };
                let found = {
                    let chain = chain.lock();
                    let tip = chain.tip().height;
                    chain.bounty_at(&bounty, tip)?
                };
                let Some(found) = found else { continue };
                let position = if as_offerer {
                    0
                } else {
                    let drawn = found
                        .lineup
                        .as_ref()
                        .and_then(|l| l.relayers.iter().position(|r| *r == self.account));
                    match drawn {
                        Some(k) => k.saturating_add(1),
                        None => continue,
                    }
                };
                self.take_job(found, position);
            }
        }
        Ok(())
    }

    fn take_job(&mut self, bounty: Bounty, position: usize) {
        if bounty.status != BountyStatus::Open || self.jobs.contains_key(&bounty.id) {
            return;
        }
        if self.jobs.len() >= JOBS_MAX {
            tracing::warn!(bounty = %bounty.id, "market agent has {JOBS_MAX} jobs; bounty left");
            return;
        }
        tracing::info!(bounty = %bounty.id, position, "market job taken");
        self.jobs.insert(
            bounty.id,
            Job {
                bounty,
                position,
                computed: None,
                signed: None,
                complete_at: None,
                settle_sent: false,
            },
        );
    }

    /// Moves every job as far as it can go now; drops those done or no longer open.
    fn drive_jobs(&mut self) {
        let ids: Vec<Hash> = self.jobs.keys().copied().collect();
        for id in ids {
            let Some(mut job) = self.jobs.remove(&id) else {
                continue;
            };
            match self.step(&mut job) {
                Ok(true) => {}
                Ok(false) => {
                    self.jobs.insert(id, job);
                }
                Err(e) => tracing::warn!(bounty = %id, error = %e, "market job failed"),
            }
        }
    }

    /// One step of a job; `Ok(true)` when the job is over.
    fn step(&mut self, job: &mut Job) -> Result<bool, ChainError> {
        // The bounty as the root holds it now (its lineup drawn, for a relayer), read once.
        let (current, tip, values) = {
            let chain = self.tree.root().lock();
            let tip = chain.tip().height;
            let current = chain.bounty_at(&job.bounty.id, tip)?;
            let values = match (&current, &job.computed) {
                (Some(b), None) if b.status == BountyStatus::Open => {
                    Some(chain.bounty_values(&job.bounty)?)
                }
                _ => None,
            };
            (current, tip, values)
        };
        let Some(current) = current else {
            return Ok(true);
        };
        match &current.status {
            BountyStatus::Open => {}
            BountyStatus::Settled { result_hash, .. } => {
                self.reveal(job, result_hash);
                return Ok(true);
            }
            BountyStatus::Expired { .. } | BountyStatus::Disputed { .. } => return Ok(true),
        }
        if let Some(signed) = &job.signed {
            // Signed already: waits for the settlement, settling itself as the offerer when
            // the completing relayer's Settle is late.
            if job.position == 0 {
                let signed = Hash::digest(signed);
                self.settle_if_late(job, &current, tip, signed);
            }
            return Ok(false);
        }
        if let Some((module, inputs)) = values {
            let bounty = &job.bounty;
            job.computed =
                Some(self.compute(&module, inputs, &bounty.args, bounty.fuel_budget, None));
        }
        let (output, fuel_used) = match &job.computed {
            None => return Ok(false),
            Some(Ok((output, fuel_used))) => (output.clone(), *fuel_used),
            Some(Err(reason)) => {
                tracing::warn!(bounty = %job.bounty.id, %reason, "cannot compute the bounty");
                return Ok(true);
            }
        };
        if job.position == 0 {
            job.signed = self.deliver(&current, output, fuel_used);
            return Ok(job.signed.is_none());
        }
        match self.relay(&current, job.position, output, fuel_used) {
            Relayed::Waiting => Ok(false),
            Relayed::Signed(bytes) => {
                job.signed = Some(bytes);
                Ok(false)
            }
            Relayed::Over => Ok(true),
        }
    }

    /// As the offerer: signs a commitment to the result and sends the chain of one on (or, by
    /// a test fault, lies or keeps silent); the result stays here. A tier without relayers is
    /// complete at once and settled. The bytes committed to, unless silent.
    fn deliver(&mut self, bounty: &Bounty, mut output: Vec<u8>, fuel_used: u64) -> Option<Vec<u8>> {
        match self.roles.fault {
            Some(MarketFault::Silent) => {
                tracing::warn!(bounty = %bounty.id, "test fault: keeping silent");
                return None;
            }
            Some(MarketFault::Lie) => {
                tracing::warn!(bounty = %bounty.id, "test fault: signing a false result");
                match output.first_mut() {
                    Some(byte) => *byte ^= 0xff,
                    None => output.push(0),
                }
            }
            None => {}
        }
        let result_hash = Hash::digest(&output);
        let envelope = Envelope::offer(&self.roles.key, bounty.id, result_hash, fuel_used);
        tracing::info!(bounty = %bounty.id, "result committed to as offerer");
        let chain = vec![envelope];
        self.exchange.say(MarketMessage::Result(ResultChain {
            chain: chain.clone(),
        }));
        if bounty.hops == 0 {
            self.send_tx(TxPayload::Settle {
                bounty: bounty.id,
                result_hash,
                chain,
            });
        }
        Some(output)
    }

    /// As the offerer whose result is `result_hash`: once a chain of its bounty is complete and
    /// commits to that result throughout, and the bounty is still open
    /// [`SETTLE_GRACE_BLOCKS`] root blocks later, settles it (once).
    fn settle_if_late(&mut self, job: &mut Job, bounty: &Bounty, tip: u64, result_hash: Hash) {
        if job.settle_sent || bounty.hops == 0 {
            return;
        }
        let expected = bounty.expected_chain();
        let complete = self.exchange.read(|book| {
            book.results(&bounty.id)
                .iter()
                .find(|heard| verify_envelope_chain(&heard.chain, &expected, &result_hash).is_ok())
                .map(|heard| heard.chain.clone())
        });
        let Some(chain) = complete else {
            return;
        };
        let complete_at = *job.complete_at.get_or_insert(tip);
        if tip < complete_at.saturating_add(SETTLE_GRACE_BLOCKS) {
            return;
        }
        job.settle_sent = true;
        tracing::info!(
            bounty = %bounty.id,
            "the complete chain is not settled {SETTLE_GRACE_BLOCKS} root blocks on: settling it"
        );
        self.send_tx(TxPayload::Settle {
            bounty: bounty.id,
            result_hash,
            chain,
        });
    }

    /// Once the root settled the bounty: gossips the bytes this node committed to, when they
    /// are the result the bounty settled with (`settled`). Whoever signed reveals, so one
    /// honest executor is enough for the requester to get its result.
    fn reveal(&self, job: &Job, settled: &Hash) {
        let Some(bytes) = &job.signed else {
            return;
        };
        if Hash::digest(bytes) != *settled {
            tracing::warn!(bounty = %job.bounty.id, "settled with another result than ours: not revealing");
            return;
        }
        if self.roles.fault == Some(MarketFault::Silent) {
            tracing::warn!(bounty = %job.bounty.id, "test fault: not revealing");
            return;
        }
        tracing::info!(bounty = %job.bounty.id, bytes = bytes.len(), "settled: result revealed");
        self.exchange.say(MarketMessage::Reveal(Reveal {
            bounty: job.bounty.id,
            result: bytes.clone(),
        }));
    }

    /// As a relayer at `position` of `bounty`'s drawn lineup: waits for the chain to reach
    /// it, checks it against the bounty, then compares every commitment before its place with
    /// its own result: all equal, it countersigns (settling when it completes the chain);
    /// one not, it disputes that envelope with its own, revealing its own result's hash.
    fn relay(
        &mut self,
        bounty: &Bounty,
        position: usize,
        output: Vec<u8>,
        fuel_used: u64,
    ) -> Relayed {
        let expected = bounty.expected_chain();
        // The first chain heard whose envelopes up to this node's place fit the bounty (a
        // stranger's chain never does); only those envelopes are copied out of the book.
        let found = self.exchange.read(|book| {
            book.results(&bounty.id).iter().find_map(|h| {
                let prefix = h.chain.get(..position)?;
                let verified = verify_envelope_prefix(prefix, &expected).ok()?;
                Some((prefix.to_vec(), verified))
            })
        });
        let Some((prefix, verified)) = found else {
            return Relayed::Waiting;
        };
        let Some(last) = prefix.last() else {
            return Relayed::Waiting;
        };
        let own_hash = Hash::digest(&output);
        let mine = Envelope::relay(&self.roles.key, last, own_hash, fuel_used);
        // Only the signer's commitment to this node's own result matches: a different
        // result, or a commitment copied from another signer, does not.
        let differing = match check_commitments(&prefix, &own_hash) {
            Err(LineupError::CommitmentMismatch { position }) => prefix.get(position).copied(),
            _ if verified.fuel_used != fuel_used => Some(*last),
            _ => None,
        };
        if let Some(theirs) = differing {
            tracing::warn!(
                bounty = %bounty.id,
                signer = %theirs.signer,
                ours = %own_hash,
                "a commitment before ours is not to our result: disputing"
            );
            self.send_tx(TxPayload::Dispute {
                bounty: bounty.id,
                first: Box::new(theirs),
                second: Box::new(mine),
                result_hash: own_hash,
            });
            return Relayed::Over;
        }
        let mut chain = prefix;
        chain.push(mine);
        tracing::info!(bounty = %bounty.id, position, "result recomputed and countersigned");
        self.exchange.say(MarketMessage::Result(ResultChain {
            chain: chain.clone(),
        }));
        if position == usize::from(bounty.hops) {
            if self.roles.fault == Some(MarketFault::Silent) {
                tracing::warn!(bounty = %bounty.id, "test fault: not settling a complete chain");
                return Relayed::Signed(output);
            }
            self.send_tx(TxPayload::Settle {
                bounty: bounty.id,
                result_hash: own_hash,
                chain,
            });
        }
        Relayed::Signed(output)
    }

    /// Signs and submits a root transaction from the market key, and hands it to the network.
    fn send_tx(&self, payload: TxPayload) {
        let nonce = match self.tree.root().lock().pending_nonce(&self.account) {
            Ok(nonce) => nonce,
            Err(e) => {
                tracing::warn!(error = %e, "market agent cannot read its nonce");
                return;
            }
        };
        let tx: Transaction = UnsignedTx {
            chain: ChainId::ROOT,
            sender: self.account,
            nonce,
            fee: MARKET_TX_FEE,
            payload,
        }
        .sign(&self.roles.key);
        let bytes = tx.to_bytes();
        match self.tree.submit(tx) {
            Ok(hash) => {
                tracing::info!(%hash, "market transaction sent");
                self.tx_admitted.notify_one();
                if let Some(p2p) = &self.p2p {
                    p2p.publish_transaction(ChainId::ROOT, bytes);
                }
            }
            Err(e) => tracing::warn!(error = %e, "market transaction refused"),
        }
    }
}

/// Drops the blocks read (`scanned`, oldest first) that are no longer on the best chain, whose
/// block hash at a height `best_hash_at` gives, so that reading goes on from the last one that
/// is; when none is, from the height below the oldest remembered.
fn rewind_to_best_chain(
    scanned: &mut VecDeque<(u64, Hash)>,
    best_hash_at: impl Fn(u64) -> Result<Option<Hash>, ChainError>,
) -> Result<(), ChainError> {
    while let Some(&(height, hash)) = scanned.back() {
        if best_hash_at(height)? == Some(hash) {
            return Ok(());
        }
        if scanned.len() == 1 {
            scanned.clear();
            let below = height.saturating_sub(1);
            scanned.push_back((below, best_hash_at(below)?.unwrap_or(Hash::ZERO)));
            return Ok(());
        }
        scanned.pop_back();
    }
    Ok(())
}

/// The module and inputs a request names, or why they cannot be had: a root key as root state
/// held it at the request's pinned height; a key on a data chain as this node holds it now (the
/// bounty will pin the value the requester proves, which is that one unless it changes).
fn read_values(
    tree: &Blocktree,
    request: &MarketRequest,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), String> {
    let read = |key: &str| -> Result<Vec<u8>, String> {
        let at_pin = tree.root().lock().value_at(key, request.pinned_height);
        let found = match at_pin {
            Err(ChainError::Tx(TxError::Keyspace(KeyspaceError::KeyOnOtherChain { .. }))) => {
                tree.value(key)
            }
            other => other,
        };
        match found {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(format!(
                "no value under {key} at root height {}",
                request.pinned_height
            )),
            Err(e) => Err(format!("cannot read {key}: {e}")),
        }
    };
    let module = read(&request.transform)?;
    let inputs = request
        .inputs
        .iter()
        .map(|key| read(key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((module, inputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(branch: u8, height: u64) -> Hash {
        let mut bytes = [branch; 32];
        bytes[..8].copy_from_slice(&height.to_le_bytes());
        Hash(bytes)
    }

    /// The best chain: branch 1 up to `fork`, branch 2 above it, up to `tip`.
    fn best(fork: u64, tip: u64) -> impl Fn(u64) -> Result<Option<Hash>, ChainError> {
        move |height| Ok((height <= tip).then(|| hash(if height <= fork { 1 } else { 2 }, height)))
    }

    #[test]
    fn a_reorg_rewinds_reading_to_where_the_branches_meet() {
        let mut scanned: VecDeque<(u64, Hash)> = (5..=9).map(|h| (h, hash(1, h))).collect();
        rewind_to_best_chain(&mut scanned, best(9, 12)).unwrap();
        assert_eq!(
            scanned.back(),
            Some(&(9, hash(1, 9))),
            "no reorg: nothing to read again"
        );

        rewind_to_best_chain(&mut scanned, best(7, 12)).unwrap();
        assert_eq!(
            scanned.back(),
            Some(&(7, hash(1, 7))),
            "heights 8 and 9 are read again"
        );

        // A reorg deeper than what is remembered: read again from below the oldest.
        rewind_to_best_chain(&mut scanned, best(2, 12)).unwrap();
        assert_eq!(
            scanned.iter().copied().collect::<Vec<_>>(),
            vec![(4, hash(2, 4))]
        );
        rewind_to_best_chain(&mut scanned, best(2, 12)).unwrap();
        assert_eq!(
            scanned.back(),
            Some(&(4, hash(2, 4))),
            "settled on the new branch"
        );
    }
}
