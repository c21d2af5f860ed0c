//! One run: the nodes, the network, the scheduler and the invariants, driven event by event
//! on virtual time.
//!
//! Every event is taken from an ordered map keyed by (virtual time, sequence number), so two
//! events at one millisecond run in the order they were scheduled; every random choice is
//! drawn from the run's one seeded source in that order; nothing reads the wall clock. So a
//! seed and a configuration name a run, and the trace's hash says which.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bitverse_blocktree::store::{KvStore, MemoryStore};
use bitverse_blocktree::{
    Block, BlockError, Blocktree, ChainError, ChainParams, ImportOutcome, Tracking, TxPayload,
    UnsignedTx,
};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey};

use crate::config::SimConfig;
use crate::net::{Delivery, Network, NodeId};
use crate::report::{Broken, Propagation, SimReport};
use crate::rng::SimRng;

/// Events waiting in the scheduler at most; a run that needs more is refused, not grown.
pub const EVENTS_PENDING_MAX: usize = 4_000_000;
/// Trace lines kept for `--replay` at most; the hash covers every line either way.
pub const TRACE_LINES_MAX: usize = 2_000_000;
/// Blocks one node holds while it fetches their parent or waits for its root to reach their
/// relay parent.
pub const ORPHANS_PER_NODE_MAX: usize = 1_024;
/// Block requests one node remembers having sent (not asked again within
/// [`ASK_RETRY_MS`]).
pub const ASKED_PER_NODE_MAX: usize = 4_096;
/// How long a node waits before asking again for a block it asked for.
pub const ASK_RETRY_MS: u64 = 3_000;
/// How often each node tells its mesh peers its tips (the status that starts a catch-up).
pub const STATUS_INTERVAL_MS: u64 = 10_000;
/// Nonces a miner tries per mining event; at the run's tiny difficulty one is found at once.
pub const NONCE_ATTEMPTS_MAX: u64 = 1 << 20;
/// Virtual time starts this long after genesis, so the first blocks' times follow it.
const START_AFTER_GENESIS_MS: u64 = 1_000;
/// The fee of each transfer a miner sends (paid to the block's miner, so money moves but is
/// neither made nor lost).
const TRANSFER_FEE: u128 = 3;
/// Most a transfer moves.
const TRANSFER_AMOUNT_MAX: u64 = 1_000;
/// Time between two of the final rounds.
const FINAL_ROUND_GAP_MS: u64 = 1_000;
/// Share of nodes a crash schedule crashes, in percent.
const CRASHED_NODES_PERCENT: u64 = 30;

/// What travels between nodes.
#[derive(Clone, Debug)]
enum Message {
    /// A block on a chain's gossip topic: judged, imported, and forwarded to the mesh if new.
    Gossip(Block),
    /// Asks a peer for one block by hash.
    GetBlock { chain: ChainId, hash: Hash },
    /// A block asked for.
    BlockReply(Block),
    /// The sender's tips, each chain's best hash.
    Status(Vec<(ChainId, Hash)>),
}

impl Message {
    fn describe(&self) -> String {
        match self {
            Message::Gossip(block) => format!("gossip {}", short(&block.hash())),
            Message::GetBlock { hash, .. } => format!("get {}", short(hash)),
            Message::BlockReply(block) => format!("reply {}", short(&block.hash())),
            Message::Status(tips) => {
                let tips: Vec<String> = tips.iter().map(|(_, h)| short(h)).collect();
                format!("status {}", tips.join(","))
            }
        }
    }
}

/// What the scheduler runs.
#[derive(Clone, Debug)]
enum Event {
    /// A node's mining timer fires (a Poisson process per node, by its hash-rate share).
    Mine(NodeId),
    /// A message arrives.
    Deliver {
        from: NodeId,
        to: NodeId,
        message: Box<Message>,
    },
    /// A node sends its status to its mesh peers.
    Status(NodeId),
    /// The network splits in two.
    Partition,
    /// The network is whole again.
    Heal,
    /// A node stops: its memory (mempool, orphans, requests) is lost, its store kept.
    Crash(NodeId),
    /// A crashed node starts again on its store, or (`wiped`) on an empty one.
    Restart { node: NodeId, wiped: bool },
    /// After mining stops: one node mines a last round on its tips (one a level of the tree,
    /// and one more), which every node then follows, so ties left by the last blocks are
    /// broken and every chain's tip is anchored.
    FinalRound,
}

/// One chain's tip at a node: the chain, height, hash and state root.
type ChainTipAt = (ChainId, u64, Hash, Hash);

/// A block a node cannot import yet, and the peer it came from.
struct Orphan {
    block: Block,
    from: NodeId,
}

/// One virtual node.
struct SimNode {
    store: Arc<MemoryStore>,
    /// `None` while crashed.
    tree: Option<Blocktree>,
    /// Its miner's key: it is paid for its blocks, and sends transfers from what it earned.
    key: SecretKey,
    miner: AccountId,
    /// Its share of the hash rate, against the sum of all.
    weight: u64,
    /// Blocks waiting for a missing parent (keyed by that parent's hash).
    orphans: BTreeMap<Hash, Vec<Orphan>>,
    /// The parent of each block in `orphans`, by the block's hash: a node walking back a
    /// branch it lacks resumes at the deepest block it is missing, not at the branch's tip.
    orphan_parents: BTreeMap<Hash, Hash>,
    /// Blocks whose relay parent the root here has not reached (or not deep enough).
    relay_waiting: Vec<Orphan>,
    /// Blocks asked for, and when.
    asked: BTreeMap<Hash, u64>,
}

impl SimNode {
    fn orphans_len(&self) -> usize {
        self.orphans.values().map(Vec::len).sum::<usize>() + self.relay_waiting.len()
    }
}

/// The network's parameters in a run: the `local` network's rules with every block at one
/// small fixed difficulty, so a block's proof of work is real and checked but ground in
/// microseconds, and the block rate is the mining schedule's, not a retarget's.
pub fn sim_params(difficulty: u64) -> ChainParams {
    let mut params = ChainParams::local();
    params.network = "sim".into();
    params.difficulty_fixed = true;
    for depth in std::iter::once(&mut params.root).chain(params.deeper.iter_mut()) {
        depth.difficulty_min = difficulty;
        depth.difficulty_initial = difficulty;
    }
    params
}

/// The chains a run opens: the root, then each depth's chains in prefix order.
pub fn chain_ids(count: usize) -> Vec<ChainId> {
    let mut chains = Vec::with_capacity(count);
    let mut depth: u8 = 0;
    while chains.len() < count && depth < 16 {
        for prefix in 0..(1u64 << depth) {
            if chains.len() == count {
                break;
            }
            if let Ok(chain) = ChainId::new(depth, prefix) {
                chains.push(chain);
            }
        }
        depth += 1;
    }
    chains
}

/// A run in progress.
pub(crate) struct Sim {
    config: SimConfig,
    params: ChainParams,
    chains: Vec<ChainId>,
    rng: SimRng,
    net: Network,
    nodes: Vec<SimNode>,
    queue: BTreeMap<(u64, u64), Event>,
    seq: u64,
    /// Virtual time since the run began.
    now_ms: u64,
    trace_hash: Hash,
    trace: Vec<String>,
    events: u64,
    /// Every block mined: when, on which chain, by whom.
    mined: BTreeMap<Hash, (u64, ChainId, NodeId)>,
    /// Per block, nodes that imported it (the miner counted), for propagation.
    delays_ms: Vec<u64>,
    root_delays_ms: Vec<u64>,
    /// Root blocks whose state was checked for conservation.
    conserved: BTreeSet<Hash>,
    /// Accounts that can hold money in a run: the genesis allocations and the miners.
    accounts: Vec<AccountId>,
    genesis_supply: u128,
    broken: Option<Broken>,
    messages_sent: u64,
    messages_lost: u64,
    messages_duplicated: u64,
    partitions: u64,
    crashes: u64,
    blocks_refused_ignored: u64,
    transfers_sent: u64,
    /// The most root blocks one import rolled back at any node.
    root_reorg_blocks_max: u64,
}

impl Sim {
    pub(crate) fn new(config: &SimConfig) -> Result<Sim, ChainError> {
        let params = sim_params(config.difficulty);
        let chains = chain_ids(config.chains);
        let mut rng = SimRng::new(config.seed, 0);
        let net = Network::build(&config.net, config.nodes, &mut rng);
        let mut nodes = Vec::with_capacity(config.nodes);
        for index in 0..config.nodes {
            let store = Arc::new(MemoryStore::default());
            let tree = open_tree(&store, &params, &chains)?;
            let key = SecretKey::from_seed(format!("sim miner {index}").as_bytes());
            nodes.push(SimNode {
                store,
                tree: Some(tree),
                miner: key.account(),
                key,
                weight: rng.between(1, 4),
                orphans: BTreeMap::new(),
                orphan_parents: BTreeMap::new(),
                relay_waiting: Vec::new(),
                asked: BTreeMap::new(),
            });
        }
        let mut accounts: Vec<AccountId> =
            params.genesis_allocations.iter().map(|(a, _)| *a).collect();
        accounts.extend(nodes.iter().map(|n| n.miner));
        accounts.sort();
        accounts.dedup();
        let genesis_supply = params
            .genesis_allocations
            .iter()
            .map(|(_, amount)| amount.0)
            .sum();
        Ok(Sim {
            config: config.clone(),
            params,
            chains,
            rng,
            net,
            nodes,
            queue: BTreeMap::new(),
            seq: 0,
            now_ms: 0,
            trace_hash: Hash::tagged("bitverse sim trace v1", &[&config.seed.to_le_bytes()]),
            trace: Vec::new(),
            events: 0,
            mined: BTreeMap::new(),
            delays_ms: Vec::new(),
            root_delays_ms: Vec::new(),
            conserved: BTreeSet::new(),
            accounts,
            genesis_supply,
            broken: None,
            messages_sent: 0,
            messages_lost: 0,
            messages_duplicated: 0,
            partitions: 0,
            crashes: 0,
            blocks_refused_ignored: 0,
            transfers_sent: 0,
            root_reorg_blocks_max: 0,
        })
    }

    /// The wall-clock-free "now" the blocktree is told: genesis plus the run's time.
    fn clock_ms(&self) -> u64 {
        self.params.genesis_time_ms + START_AFTER_GENESIS_MS + self.now_ms
    }

    fn schedule(&mut self, at_ms: u64, event: Event) {
        if self.queue.len() >= EVENTS_PENDING_MAX {
            self.fail(format!(
                "the scheduler holds {EVENTS_PENDING_MAX} events (EVENTS_PENDING_MAX)"
            ));
            return;
        }
        self.seq += 1;
        self.queue.insert((at_ms, self.seq), event);
    }

    fn fail(&mut self, what: String) {
        if self.broken.is_none() {
            self.broken = Some(Broken {
                at_ms: self.now_ms,
                event: self.events,
                what,
            });
        }
    }

    fn record(&mut self, line: String) {
        let line = format!("{:>9} {line}", self.now_ms);
        self.trace_hash = Hash::tagged(
            "bitverse sim trace line",
            &[self.trace_hash.as_bytes(), line.as_bytes()],
        );
        if self.config.keep_trace && self.trace.len() < TRACE_LINES_MAX {
            self.trace.push(line);
        }
    }

    /// Runs to the end (or to the first broken invariant) and reports.
    pub(crate) fn run(mut self) -> SimReport {
        self.schedule_start();
        let end_ms = self.config.mining_ms + self.config.settle_ms;
        while let Some(((at_ms, _), event)) = self.queue.pop_first() {
            if at_ms > end_ms || self.broken.is_some() {
                break;
            }
            self.now_ms = at_ms;
            self.events += 1;
            self.handle(event);
        }
        self.now_ms = self.now_ms.max(end_ms);
        if self.broken.is_none() {
            self.check_converged();
        }
        self.report()
    }

    fn schedule_start(&mut self) {
        let total_weight: u64 = self.nodes.iter().map(|n| n.weight).sum();
        for node in 0..self.nodes.len() {
            let delay = self.next_mining_delay(node, total_weight);
            self.schedule(delay, Event::Mine(node));
            let first_status = self.rng.below(STATUS_INTERVAL_MS);
            self.schedule(first_status, Event::Status(node));
        }
        // Faults happen between a tenth and two thirds of the mining time, so the network
        // has formed before and has time to settle after.
        let window = (self.config.mining_ms / 10, self.config.mining_ms * 2 / 3);
        if self.config.faults.partition {
            let mut at = window.0;
            loop {
                at += self.rng.between(2_000, 20_000);
                if at >= window.1 {
                    break;
                }
                let heal = (at + self.rng.between(5_000, 30_000)).min(window.1);
                self.schedule(at, Event::Partition);
                self.schedule(heal, Event::Heal);
                at = heal;
            }
        }
        for (on, wiped) in [
            (self.config.faults.crash, false),
            (self.config.faults.wipe, true),
        ] {
            if !on {
                continue;
            }
            for node in 0..self.nodes.len() {
                if self.rng.below(100) >= CRASHED_NODES_PERCENT {
                    continue;
                }
                let at = self.rng.between(window.0, window.1);
                let back = (at + self.rng.between(2_000, 30_000)).min(window.1);
                self.schedule(at, Event::Crash(node));
                self.schedule(back.max(at + 1), Event::Restart { node, wiped });
            }
        }
        // One round a level of the tree and one more: each round's root block anchors the
        // depth-1 tips of the round before, and so on down, so the last rounds pin every
        // chain's tip for every node.
        let depth_max = self
            .chains
            .iter()
            .map(|c| u64::from(c.depth()))
            .max()
            .unwrap_or(0);
        let final_at = self.config.mining_ms + self.config.settle_ms / 3;
        for round in 0..depth_max + 2 {
            self.schedule(final_at + round * FINAL_ROUND_GAP_MS, Event::FinalRound);
        }
    }

    fn next_mining_delay(&mut self, node: NodeId, total_weight: u64) -> u64 {
        let weight = self.nodes[node].weight.max(1);
        let mean_ms = self.config.block_interval_ms.saturating_mul(total_weight) / weight;
        self.rng.exponential_ms(mean_ms).max(1)
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Mine(node) => {
                if self.now_ms >= self.config.mining_ms {
                    return;
                }
                self.send_transfer(node);
                self.mine(node);
                let total_weight: u64 = self.nodes.iter().map(|n| n.weight).sum();
                let delay = self.next_mining_delay(node, total_weight);
                self.schedule(self.now_ms + delay, Event::Mine(node));
            }
            Event::FinalRound => {
                let node = (0..self.nodes.len()).find(|&n| self.nodes[n].tree.is_some());
                self.record(format!("final round by {node:?}"));
                if let Some(node) = node {
                    self.mine(node);
                }
            }
            Event::Deliver { from, to, message } => self.deliver(from, to, *message),
            Event::Status(node) => {
                self.send_status(node);
                let next = self.now_ms + STATUS_INTERVAL_MS;
                if next <= self.config.mining_ms + self.config.settle_ms {
                    self.schedule(next, Event::Status(node));
                }
            }
            Event::Partition => {
                let sides: Vec<bool> = (0..self.nodes.len())
                    .map(|_| self.rng.below(2) == 1)
                    .collect();
                let on_one = sides.iter().filter(|s| **s).count();
                self.partitions += 1;
                self.record(format!("partition {on_one}/{}", sides.len()));
                self.net.partition(sides);
            }
            Event::Heal => {
                if self.net.is_partitioned() {
                    self.record("heal".into());
                    self.net.heal();
                }
            }
            Event::Crash(node) => {
                let entry = &mut self.nodes[node];
                if entry.tree.take().is_some() {
                    entry.orphans.clear();
                    entry.orphan_parents.clear();
                    entry.relay_waiting.clear();
                    entry.asked.clear();
                    self.crashes += 1;
                    self.record(format!("crash {node}"));
                }
            }
            Event::Restart { node, wiped } => {
                if self.nodes[node].tree.is_some() {
                    return;
                }
                if wiped {
                    self.nodes[node].store = Arc::new(MemoryStore::default());
                    self.record(format!("wipe {node}"));
                }
                let store = self.nodes[node].store.clone();
                match open_tree(&store, &self.params, &self.chains) {
                    Ok(tree) => {
                        let tip = tree.root().lock().tip();
                        self.record(format!(
                            "restart {node} at root {} {}",
                            tip.height,
                            short(&tip.hash)
                        ));
                        self.nodes[node].tree = Some(tree);
                        // It tells its peers where it stands, and learns where they do.
                        self.send_status(node);
                    }
                    Err(e) => self.fail(format!("node {node} cannot restart on its store: {e}")),
                }
            }
        }
    }

    /// `node`'s miner sends what it can of a random amount to a random node's miner, through
    /// the real admission (signature, nonce, balance dry run) into its own mempool: the money
    /// the conservation check counts moves between accounts and into fees.
    fn send_transfer(&mut self, node: NodeId) {
        let to = self.nodes[self.rng.below(self.nodes.len() as u64) as usize].miner;
        let amount = u128::from(self.rng.between(1, TRANSFER_AMOUNT_MAX));
        let entry = &self.nodes[node];
        let Some(tree) = &entry.tree else {
            return;
        };
        let sender = entry.miner;
        let (nonce, balance) = {
            let root = tree.root().lock();
            match (root.pending_nonce(&sender), root.account(&sender)) {
                (Ok(nonce), Ok(account)) => (nonce, account.balance.0),
                _ => return,
            }
        };
        if balance < amount + TRANSFER_FEE {
            return;
        }
        let tx = UnsignedTx {
            chain: ChainId::ROOT,
            sender,
            nonce,
            fee: Amount(TRANSFER_FEE),
            payload: TxPayload::Transfer {
                to,
                amount: Amount(amount),
            },
        }
        .sign(&entry.key);
        match tree.submit(tx) {
            Ok(hash) => {
                self.transfers_sent += 1;
                self.record(format!(
                    "transfer {node} n{nonce} {amount} {}",
                    short(&hash)
                ));
            }
            // Refused at admission against this node's own tip and mempool (its earnings
            // reorged away, say): no invariant, the trace says so.
            Err(e) => self.record(format!("transfer {node} refused: {e}")),
        }
    }

    /// `node` mines one merged round on its tips and gossips what it sealed.
    fn mine(&mut self, node: NodeId) {
        let clock_ms = self.clock_ms();
        let miner = self.nodes[node].miner;
        let Some(tree) = &self.nodes[node].tree else {
            return;
        };
        let previous_root = tree.root().lock().tip().hash;
        let blocks = match tree.mine_round(miner, clock_ms, NONCE_ATTEMPTS_MAX) {
            Ok(blocks) => blocks,
            Err(e) => {
                self.fail(format!("node {node} cannot mine: {e}"));
                return;
            }
        };
        for block in blocks {
            let hash = block.hash();
            let chain = block.header.chain;
            self.record(format!(
                "mine {node} {chain} h{} {}",
                block.header.height,
                short(&hash)
            ));
            self.mined.insert(hash, (self.now_ms, chain, node));
            self.gossip(node, None, &block);
        }
        self.after_root_moved(node, previous_root);
        self.retry_relay_waiting(node);
    }

    /// Sends `block` to each mesh peer of `node` but `except`.
    fn gossip(&mut self, node: NodeId, except: Option<NodeId>, block: &Block) {
        let peers: Vec<NodeId> = self.net.peers(node).to_vec();
        for peer in peers {
            if Some(peer) != except {
                self.send(node, peer, Message::Gossip(block.clone()));
            }
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, message: Message) {
        self.messages_sent += 1;
        match self.net.send(from, to, &mut self.rng) {
            Delivery::Lost => self.messages_lost += 1,
            Delivery::After(delays) => {
                if delays.len() > 1 {
                    self.messages_duplicated += 1;
                }
                for delay in delays {
                    let message = Box::new(message.clone());
                    self.schedule(self.now_ms + delay, Event::Deliver { from, to, message });
                }
            }
        }
    }

    fn send_status(&mut self, node: NodeId) {
        let Some(tree) = &self.nodes[node].tree else {
            return;
        };
        let mut tips = Vec::new();
        for &chain in &self.chains {
            if let Some(chain_lock) = tree.chain(chain) {
                tips.push((chain, chain_lock.lock().tip().hash));
            }
        }
        let peers: Vec<NodeId> = self.net.peers(node).to_vec();
        for peer in peers {
            self.send(node, peer, Message::Status(tips.clone()));
        }
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, message: Message) {
        // A message in flight when the network split, or to a node that crashed, is lost.
        if !self.net.connected(from, to) || self.nodes[to].tree.is_none() {
            self.record(format!("drop {from}->{to} {}", message.describe()));
            return;
        }
        self.record(format!("recv {from}->{to} {}", message.describe()));
        match message {
            Message::Gossip(block) => self.receive_block(to, from, block, true),
            Message::BlockReply(block) => self.receive_block(to, from, block, false),
            Message::GetBlock { chain, hash } => {
                let Some(tree) = &self.nodes[to].tree else {
                    return;
                };
                let block = match tree.chain(chain) {
                    Some(chain) => chain.lock().block_by_hash(&hash),
                    None => Ok(None),
                };
                match block {
                    Ok(Some(block)) => self.send(to, from, Message::BlockReply(block)),
                    Ok(None) => {}
                    Err(e) => self.fail(format!("node {to} cannot read block {hash}: {e}")),
                }
            }
            Message::Status(tips) => {
                let Some(tree) = &self.nodes[to].tree else {
                    return;
                };
                let mut unknown = Vec::new();
                for (chain, hash) in tips {
                    if let Some(chain_lock) = tree.chain(chain)
                        && !chain_lock.lock().knows_block(&hash)
                    {
                        unknown.push((chain, hash));
                    }
                }
                for (chain, hash) in unknown {
                    self.ask(to, from, chain, hash);
                }
            }
        }
    }

    /// `node` asks `peer` for a block, unless it asked lately.
    fn ask(&mut self, node: NodeId, peer: NodeId, chain: ChainId, hash: Hash) {
        let now_ms = self.now_ms;
        let entry = &mut self.nodes[node];
        if let Some(&at) = entry.asked.get(&hash)
            && now_ms < at + ASK_RETRY_MS
        {
            return;
        }
        if entry.asked.len() >= ASKED_PER_NODE_MAX {
            // Forget the oldest request: it may be asked again.
            let oldest = entry.asked.iter().min_by_key(|(h, at)| (**at, **h));
            if let Some((&oldest, _)) = oldest {
                entry.asked.remove(&oldest);
            }
        }
        entry.asked.insert(hash, now_ms);
        self.send(node, peer, Message::GetBlock { chain, hash });
    }

    /// The real gossip rule (`p2p`'s `judge_block`): a block is imported through the real
    /// `Blocktree::import`; accepted (a new tip or a valid side branch) it is forwarded, if it
    /// came by gossip; a block whose parent or relay parent is missing waits while the node
    /// asks its sender; a block no state could make valid is a broken invariant here, since
    /// every node of this run is honest.
    fn receive_block(&mut self, node: NodeId, from: NodeId, block: Block, gossiped: bool) {
        let mut work = vec![(block, from, gossiped)];
        while let Some((block, from, gossiped)) = work.pop() {
            if self.broken.is_some() {
                return;
            }
            let hash = block.hash();
            if !block.header.meets_difficulty() {
                self.fail(format!(
                    "node {node} got block {hash} from honest node {from} without its work"
                ));
                return;
            }
            let clock_ms = self.clock_ms();
            let Some(tree) = &self.nodes[node].tree else {
                return;
            };
            let chain = block.header.chain;
            let relay_parent = block.header.relay_parent;
            let previous_root = tree.root().lock().tip().hash;
            match tree.import(block.clone(), clock_ms) {
                Ok(outcome) => {
                    let height = block.header.height;
                    let kind = match outcome {
                        ImportOutcome::NewTip { reorged_blocks, .. } => {
                            if chain.is_root() {
                                self.root_reorg_blocks_max =
                                    self.root_reorg_blocks_max.max(reorged_blocks);
                                // Without partitions no honest node's root may roll back a
                                // block buried `final_depth_blocks` deep: what it confirmed
                                // as final would be reverted.
                                let final_depth = self.params.final_depth_blocks;
                                if !self.config.faults.partition && reorged_blocks > final_depth {
                                    self.fail(format!(
                                        "finality: node {node} rolled back {reorged_blocks} \
                                         root blocks (final at {final_depth} deep) for {hash}"
                                    ));
                                }
                            }
                            format!("tip (reorg {reorged_blocks})")
                        }
                        ImportOutcome::SideChain => "side".into(),
                    };
                    self.record(format!(
                        "import {node} {chain} h{height} {} {kind}",
                        short(&hash)
                    ));
                    if let Some(&(mined_ms, _, _)) = self.mined.get(&hash) {
                        let delay = self.now_ms - mined_ms;
                        self.delays_ms.push(delay);
                        if chain.is_root() {
                            self.root_delays_ms.push(delay);
                        }
                    }
                    self.nodes[node].asked.remove(&hash);
                    if gossiped {
                        self.gossip(node, Some(from), &block);
                    }
                    work.extend(self.release_orphans(node, &hash));
                    if chain.is_root() {
                        self.after_root_moved(node, previous_root);
                        let waiting = std::mem::take(&mut self.nodes[node].relay_waiting);
                        for orphan in waiting {
                            work.push((orphan.block, orphan.from, false));
                        }
                    }
                }
                Err(ChainError::Block(BlockError::UnknownParent(parent))) => {
                    self.hold(node, parent, Orphan { block, from });
                    let missing = self.deepest_missing(node, parent);
                    let known = self.nodes[node]
                        .tree
                        .as_ref()
                        .and_then(|tree| tree.chain(chain))
                        .is_some_and(|lock| lock.lock().knows_block(&missing));
                    if known {
                        // Stored already (a block stored before it could be connected, then
                        // connected by a later settle): what waits on it can go on.
                        work.extend(self.release_orphans(node, &missing));
                    } else {
                        self.ask(node, from, chain, missing);
                    }
                }
                Err(ChainError::RelayPending(_)) => {
                    let known = tree.root().lock().knows_block(&relay_parent);
                    self.hold_for_relay(node, Orphan { block, from });
                    if !known {
                        self.ask(node, from, ChainId::ROOT, relay_parent);
                    }
                }
                Err(ChainError::Block(BlockError::AlreadyKnown(_))) => {
                    self.blocks_refused_ignored += 1;
                    // Known, perhaps stored before it could be connected: what waits on it
                    // is tried again.
                    work.extend(self.release_orphans(node, &hash));
                }
                Err(ChainError::Block(BlockError::TimeTooNew { .. }))
                | Err(ChainError::NotTracked(_)) => {
                    self.blocks_refused_ignored += 1;
                }
                Err(e) => {
                    self.fail(format!(
                        "node {node} refused block {hash} of chain {chain} from honest node \
                         {from}: {e}"
                    ));
                }
            }
        }
    }

    fn hold(&mut self, node: NodeId, parent: Hash, orphan: Orphan) {
        let entry = &mut self.nodes[node];
        if entry.orphans_len() >= ORPHANS_PER_NODE_MAX {
            return;
        }
        let waiting = entry.orphans.entry(parent).or_default();
        let hash = orphan.block.hash();
        if !waiting.iter().any(|o| o.block.hash() == hash) {
            waiting.push(orphan);
            entry.orphan_parents.insert(hash, parent);
        }
    }

    /// The blocks `node` held waiting for `parent`, to be tried again.
    fn release_orphans(&mut self, node: NodeId, parent: &Hash) -> Vec<(Block, NodeId, bool)> {
        let entry = &mut self.nodes[node];
        let waiting = entry.orphans.remove(parent).unwrap_or_default();
        waiting
            .into_iter()
            .map(|orphan| {
                entry.orphan_parents.remove(&orphan.block.hash());
                (orphan.block, orphan.from, false)
            })
            .collect()
    }

    /// The first block `node` lacks on the way back from `parent`: `parent` itself, or, if
    /// it is held waiting for its own parent, that one's, and so on.
    fn deepest_missing(&self, node: NodeId, parent: Hash) -> Hash {
        let held = &self.nodes[node].orphan_parents;
        let mut missing = parent;
        // Bounded by the orphans held: each step moves to a held block's parent.
        for _ in 0..=held.len() {
            match held.get(&missing) {
                Some(&further) => missing = further,
                None => break,
            }
        }
        missing
    }

    fn hold_for_relay(&mut self, node: NodeId, orphan: Orphan) {
        let entry = &mut self.nodes[node];
        if entry.orphans_len() >= ORPHANS_PER_NODE_MAX {
            return;
        }
        let hash = orphan.block.hash();
        if !entry.relay_waiting.iter().any(|o| o.block.hash() == hash) {
            entry.relay_waiting.push(orphan);
        }
    }

    /// Blocks waiting on the root's progress at `node` are tried again.
    fn retry_relay_waiting(&mut self, node: NodeId) {
        let waiting = std::mem::take(&mut self.nodes[node].relay_waiting);
        for orphan in waiting {
            self.receive_block(node, orphan.from, orphan.block, false);
        }
    }

    /// After `node`'s root may have moved from `previous`: its new tip's state is checked for
    /// the conservation of money, once per root block in the run.
    fn after_root_moved(&mut self, node: NodeId, previous: Hash) {
        let Some(tree) = &self.nodes[node].tree else {
            return;
        };
        let root = tree.root().lock();
        let tip = root.tip();
        if tip.hash == previous || self.conserved.contains(&tip.hash) {
            return;
        }
        let mut held: u128 = 0;
        let mut failure = None;
        for account in &self.accounts {
            match root.account(account) {
                Ok(state) => held = held.saturating_add(state.balance.0),
                Err(e) => failure = Some(format!("node {node} cannot read an account: {e}")),
            }
        }
        for chain in &self.chains {
            match root.endowment_pool(chain) {
                Ok(pool) => held = held.saturating_add(pool.held().0),
                Err(e) => failure = Some(format!("node {node} cannot read a pool: {e}")),
            }
        }
        drop(root);
        if let Some(failure) = failure {
            self.fail(failure);
            return;
        }
        let minted = u128::from(tip.height).saturating_mul(self.params.block_subsidy.0);
        let expected = self.genesis_supply.saturating_add(minted);
        if held != expected {
            self.fail(format!(
                "conservation of money: root block {} at height {} holds {held}, expected \
                 {expected} (genesis {} + {} blocks' subsidy)",
                tip.hash, tip.height, self.genesis_supply, tip.height
            ));
        }
        self.conserved.insert(tip.hash);
    }

    /// The end: every node (all are up again) holds the same tip and state root on every
    /// chain.
    fn check_converged(&mut self) {
        let mut reference: Option<(NodeId, Vec<ChainTipAt>)> = None;
        for node in 0..self.nodes.len() {
            let Some(tree) = &self.nodes[node].tree else {
                self.fail(format!("node {node} is still down at the end"));
                return;
            };
            let mut tips = Vec::new();
            for &chain in &self.chains {
                match tree.chain(chain) {
                    Some(lock) => {
                        let tip = lock.lock().tip();
                        tips.push((chain, tip.height, tip.hash, tip.state_root));
                    }
                    None => {
                        self.fail(format!("node {node} does not have chain {chain} open"));
                        return;
                    }
                }
            }
            match &reference {
                None => reference = Some((node, tips)),
                Some((first, expected)) => {
                    for (theirs, ours) in expected.iter().zip(&tips) {
                        if theirs != ours {
                            let what = format!(
                                "convergence: after the last heal node {node} has chain {} at \
                                 h{} {} (state {}), node {first} at h{} {} (state {})",
                                ours.0,
                                ours.1,
                                short(&ours.2),
                                short(&ours.3),
                                theirs.1,
                                short(&theirs.2),
                                short(&theirs.3)
                            );
                            self.fail(what);
                            return;
                        }
                    }
                }
            }
        }
    }

    fn report(self) -> SimReport {
        let (root_height, root_tip, state_root) = self
            .nodes
            .iter()
            .find_map(|n| n.tree.as_ref())
            .map(|tree| {
                let tip = tree.root().lock().tip();
                (tip.height, tip.hash.to_hex(), tip.state_root.to_hex())
            })
            .unwrap_or_default();
        let root_blocks_mined = self.mined.values().filter(|(_, c, _)| c.is_root()).count();
        SimReport {
            seed: self.config.seed,
            nodes: self.config.nodes,
            chains: self.config.chains,
            faults: self.config.faults.to_string(),
            virtual_ms: self.now_ms,
            events: self.events,
            trace_hash: self.trace_hash.to_hex(),
            blocks_mined: self.mined.len() as u64,
            root_blocks_mined: root_blocks_mined as u64,
            root_height,
            root_tip,
            state_root,
            propagation_all: Propagation::of(self.delays_ms),
            propagation_root: Propagation::of(self.root_delays_ms),
            messages_sent: self.messages_sent,
            messages_lost: self.messages_lost,
            messages_duplicated: self.messages_duplicated,
            partitions: self.partitions,
            crashes: self.crashes,
            root_blocks_checked: self.conserved.len() as u64,
            transfers_sent: self.transfers_sent,
            root_reorg_blocks_max: self.root_reorg_blocks_max,
            broken: self.broken,
            trace: self.trace,
        }
    }
}

/// A blocktree over `store` tracking every chain, with `chains` open.
fn open_tree(
    store: &Arc<MemoryStore>,
    params: &ChainParams,
    chains: &[ChainId],
) -> Result<Blocktree, ChainError> {
    let store: Arc<dyn KvStore> = store.clone();
    let tree = Blocktree::in_store(store, params.clone(), Tracking::All)?;
    for &chain in chains {
        tree.open_chain(chain)?;
    }
    Ok(tree)
}

/// A hash's first eight hex digits, for the trace.
fn short(hash: &Hash) -> String {
    hash.to_hex().chars().take(8).collect()
}
