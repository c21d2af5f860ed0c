//! What the node tells about itself: the Prometheus metrics served at `GET /metrics` on the
//! RPC port, and the feed of new best-chain heads that WebSocket subscriptions read. One
//! [`NodeMetrics`] per node, made by the node at start and handed to the RPC server, the block
//! producers and the network's chain worker, which report what they do through it.
//!
//! Every label set is bounded by a named maximum: chains by [`CHAINS_TRACKED_MAX`], RPC methods
//! by the OpenRPC table (unknown names share one label), gossip and block sources by enums. The
//! feed of heads is a bounded broadcast ([`NEW_HEADS_BUFFER_MAX`]); a subscriber that falls
//! further behind loses its subscription rather than growing the node's memory.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bitverse_blocktree::{Block, BlockHeader, Chain};
use bitverse_primitives::{ChainId, Hash};
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::broadcast;

use bitverse_rpc_api::NewHeadResult;

/// The HTTP path the metrics are served at, on the RPC port.
pub const METRICS_PATH: &str = "/metrics";
/// The content type of the answer: OpenMetrics text, which Prometheus asks for and reads.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Most chains the metrics label (`chain`): the root and the data chains a node tracks.
/// Chains beyond it are not measured, so a long-lived node's scrape stays bounded.
pub const CHAINS_TRACKED_MAX: usize = 64;
/// New heads buffered for WebSocket subscribers. A subscriber more than this many heads behind
/// is dropped with an error notification; it resubscribes and reads the chain to catch up.
pub const NEW_HEADS_BUFFER_MAX: usize = 256;
/// Most heads announced for one change of tip: a sync batch is at most 128 blocks, and a
/// reorganisation deeper than this is announced from its last 128 blocks.
pub const NEW_HEADS_PER_UPDATE_MAX: usize = 128;

/// Name prefix of every metric.
const METRIC_PREFIX: &str = "bitverse";

/// Where a block the node imported came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockSource {
    /// Sealed by this node in dev mode (building the block is included in its import time).
    Sealed,
    /// Mined by this node (its import time is not measured: mining and import are one call).
    Mined,
    /// Received by gossip.
    Gossip,
    /// Fetched by sync.
    Sync,
}

impl BlockSource {
    fn label(self) -> &'static str {
        match self {
            BlockSource::Sealed => "sealed",
            BlockSource::Mined => "mined",
            BlockSource::Gossip => "gossip",
            BlockSource::Sync => "sync",
        }
    }
}

/// What a gossip message carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GossipKind {
    /// A block.
    Block,
    /// A transaction.
    Transaction,
}

/// The verdict on a gossip message, as gossipsub is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GossipVerdict {
    /// Valid: forwarded.
    Accept,
    /// Not judged invalid, not forwarded (known, orphan, may be valid elsewhere).
    Ignore,
    /// Invalid: counted against the sender.
    Reject,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChainLabels {
    chain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ImportLabels {
    chain: String,
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GossipLabels {
    kind: &'static str,
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    method: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Block import times: 0.5 ms to about 16 s, doubling.
fn block_import_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// RPC call times: 50 µs to about 1.6 s, doubling.
fn rpc_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// What a scrape reads from the chain and the network, under their locks, before encoding.
#[derive(Clone, Debug, Default)]
pub struct ScrapeSample {
    /// Height of each tracked chain's best block.
    pub chain_heights: Vec<(ChainId, u64)>,
    /// Transactions in the mempool.
    pub mempool_txs: usize,
    /// Connected peers.
    pub peers: usize,
    /// Fuel burned by validation scripts since the chain was opened.
    pub script_fuel_used_total: u64,
}

/// The node's metrics and its feed of new heads.
pub struct NodeMetrics {
    registry: Registry,
    chain_height: Family<ChainLabels, Gauge>,
    block_import_seconds: HistogramFamily<ImportLabels>,
    peers: Gauge,
    mempool_txs: Gauge,
    gossip_messages: Family<GossipLabels, Counter>,
    script_fuel_used: Counter,
    rpc_request_seconds: HistogramFamily<RpcLabels>,
    blocks_produced: Family<ChainLabels, Counter>,
    produced_rewards_base_units: Family<ChainLabels, Counter>,
    /// The chains labelled so far, at most [`CHAINS_TRACKED_MAX`].
    chains_labelled: Mutex<BTreeSet<ChainId>>,
    /// The script fuel total seen at the last scrape; the counter grows by the difference.
    /// Its lock also makes scrapes one at a time.
    script_fuel_seen: Mutex<u64>,
    heads: broadcast::Sender<Arc<NewHeadResult>>,
    /// The tip last announced on the feed (at first, the tip the node started at).
    /// The last tip announced on the heads feed, per chain (at most [`CHAINS_TRACKED_MAX`]).
    announced_tips: Mutex<BTreeMap<ChainId, Hash>>,
}

impl NodeMetrics {
    /// A registry with every metric, all at zero, and a heads feed that announces what joins
    /// the best chain after `tip`, the tip the node starts at.
    pub fn new(tip: Hash) -> NodeMetrics {
        let mut registry = Registry::with_prefix(METRIC_PREFIX);
        let chain_height = Family::<ChainLabels, Gauge>::default();
        registry.register(
            "chain_height",
            "Height of the best block, per tracked chain",
            chain_height.clone(),
        );
        let block_import_seconds: HistogramFamily<ImportLabels> =
            Family::new_with_constructor(block_import_histogram);
        registry.register(
            "block_import_seconds",
            "Time to validate and connect a block, per chain and source (sealed includes building it)",
            block_import_seconds.clone(),
        );
        let peers = Gauge::default();
        registry.register("peers", "Connected peers", peers.clone());
        let mempool_txs = Gauge::default();
        registry.register(
            "mempool_transactions",
            "Transactions waiting in the mempool",
            mempool_txs.clone(),
        );
        let gossip_messages = Family::<GossipLabels, Counter>::default();
        registry.register(
            "gossip_messages",
            "Gossip messages judged, by kind and verdict",
            gossip_messages.clone(),
        );
        let script_fuel_used = Counter::default();
        registry.register(
            "script_fuel_used",
            "Fuel burned by validation scripts (admission, block building and validation)",
            script_fuel_used.clone(),
        );
        let rpc_request_seconds: HistogramFamily<RpcLabels> =
            Family::new_with_constructor(rpc_histogram);
        registry.register(
            "rpc_request_seconds",
            "Time to answer a JSON-RPC call, per method",
            rpc_request_seconds.clone(),
        );
        let blocks_produced = Family::<ChainLabels, Counter>::default();
        registry.register(
            "blocks_produced",
            "Blocks this node sealed or mined that became its tip, per chain",
            blocks_produced.clone(),
        );
        let produced_rewards_base_units = Family::<ChainLabels, Counter>::default();
        registry.register(
            "produced_rewards_base_units",
            "Subsidy and fees of the blocks this node produced, in base units, per chain",
            produced_rewards_base_units.clone(),
        );
        let (heads, _) = broadcast::channel(NEW_HEADS_BUFFER_MAX);
        let metrics = NodeMetrics {
            registry,
            chain_height,
            block_import_seconds,
            peers,
            mempool_txs,
            gossip_messages,
            script_fuel_used,
            rpc_request_seconds,
            blocks_produced,
            produced_rewards_base_units,
            chains_labelled: Mutex::new(BTreeSet::new()),
            script_fuel_seen: Mutex::new(0),
            heads,
            announced_tips: Mutex::new(BTreeMap::from([(ChainId::ROOT, tip)])),
        };
        metrics.create_known_series();
        metrics
    }

    /// Creates every series whose labels are known at start, at zero, so that a scrape shows
    /// them (and a dashboard draws 0, not "no data") before anything happened: the root chain's,
    /// each gossip kind and verdict, and each method of the API.
    fn create_known_series(&self) {
        if let Some(labels) = self.chain_labels(ChainId::ROOT) {
            drop(self.chain_height.get_or_create(&labels));
            drop(self.blocks_produced.get_or_create(&labels));
            drop(self.produced_rewards_base_units.get_or_create(&labels));
            for source in [BlockSource::Sealed, BlockSource::Gossip, BlockSource::Sync] {
                let labels = ImportLabels {
                    chain: labels.chain.clone(),
                    source: source.label(),
                };
                drop(self.block_import_seconds.get_or_create(&labels));
            }
        }
        for kind in ["block", "transaction"] {
            for verdict in ["accept", "ignore", "reject"] {
                drop(
                    self.gossip_messages
                        .get_or_create(&GossipLabels { kind, verdict }),
                );
            }
        }
        for method in bitverse_rpc_api::openrpc::METHODS {
            let labels = RpcLabels {
                method: method.name,
            };
            drop(self.rpc_request_seconds.get_or_create(&labels));
        }
    }

    /// The label of `chain`, or `None` once [`CHAINS_TRACKED_MAX`] other chains are labelled.
    fn chain_labels(&self, chain: ChainId) -> Option<ChainLabels> {
        let mut labelled = self.chains_labelled.lock();
        if !labelled.contains(&chain) {
            if labelled.len() >= CHAINS_TRACKED_MAX {
                return None;
            }
            labelled.insert(chain);
        }
        Some(ChainLabels {
            chain: chain.to_string(),
        })
    }

    /// A block was imported (and, for this node's own blocks, produced) in `elapsed`.
    pub fn block_imported(&self, chain: ChainId, source: BlockSource, elapsed: Duration) {
        let Some(ChainLabels { chain }) = self.chain_labels(chain) else {
            return;
        };
        self.block_import_seconds
            .get_or_create(&ImportLabels {
                chain,
                source: source.label(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// This node sealed or mined `block` in `elapsed` and it is `chain`'s tip now: counts it
    /// and its reward, records its import time (sealed blocks only: a mined block's time is
    /// mostly the search for a nonce) and announces it. Called with the chain locked.
    pub fn produced(&self, chain: &Chain, block: &Block, source: BlockSource, elapsed: Duration) {
        self.block_produced(chain, block);
        if source != BlockSource::Mined {
            self.block_imported(block.header.chain, source, elapsed);
        }
        self.tip_may_have_moved(chain);
    }

    /// Counts `block`, produced by this node, and its reward (saturating at `u64::MAX` base
    /// units): on the root the fees, the subsidy and the endowment pool's release; on a data
    /// chain the release, which the root pays on a claim.
    fn block_produced(&self, chain: &Chain, block: &Block) {
        let Some(labels) = self.chain_labels(block.header.chain) else {
            return;
        };
        let fees = block
            .transactions
            .iter()
            .fold(0u128, |sum, tx| sum.saturating_add(tx.body.fee.0));
        // The release is read back from the state; a block that is not on the best chain
        // (sealed as a side branch) counts none.
        let on_best = chain
            .best_header(&block.hash(), block.header.height)
            .is_some();
        let release = if on_best {
            chain
                .released_by_block(block.header.height)
                .map_or(0, |a| a.0)
        } else {
            0
        };
        let reward = if block.header.chain.is_root() {
            fees.saturating_add(chain.params().block_subsidy.0)
                .saturating_add(release)
        } else {
            release
        };
        self.blocks_produced.get_or_create(&labels).inc();
        self.produced_rewards_base_units
            .get_or_create(&labels)
            .inc_by(u64::try_from(reward).unwrap_or(u64::MAX));
    }

    /// Counts a gossip message's verdict.
    pub fn gossip_judged(&self, kind: GossipKind, verdict: GossipVerdict) {
        let kind = match kind {
            GossipKind::Block => "block",
            GossipKind::Transaction => "transaction",
        };
        let verdict = match verdict {
            GossipVerdict::Accept => "accept",
            GossipVerdict::Ignore => "ignore",
            GossipVerdict::Reject => "reject",
        };
        self.gossip_messages
            .get_or_create(&GossipLabels { kind, verdict })
            .inc();
    }

    /// Records one RPC call; `method` is a name from the OpenRPC table, or its label for
    /// unknown names, so the label set stays bounded.
    pub fn rpc_answered(&self, method: &'static str, elapsed: Duration) {
        self.rpc_request_seconds
            .get_or_create(&RpcLabels { method })
            .observe(elapsed.as_secs_f64());
    }

    /// The metrics as OpenMetrics text, with the gauges set from `sample`.
    pub fn render(&self, sample: &ScrapeSample) -> Result<String, std::fmt::Error> {
        let mut fuel_seen = self.script_fuel_seen.lock();
        for (chain, height) in &sample.chain_heights {
            if let Some(labels) = self.chain_labels(*chain) {
                self.chain_height
                    .get_or_create(&labels)
                    .set(i64::try_from(*height).unwrap_or(i64::MAX));
            }
        }
        self.mempool_txs
            .set(i64::try_from(sample.mempool_txs).unwrap_or(i64::MAX));
        self.peers
            .set(i64::try_from(sample.peers).unwrap_or(i64::MAX));
        // The chain's total restarts with the process, as the counter does.
        let fuel_new = sample.script_fuel_used_total.saturating_sub(*fuel_seen);
        self.script_fuel_used.inc_by(fuel_new);
        *fuel_seen = (*fuel_seen).max(sample.script_fuel_used_total);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// A receiver of the heads announced from now on.
    pub fn subscribe_heads(&self) -> broadcast::Receiver<Arc<NewHeadResult>> {
        self.heads.subscribe()
    }

    /// Announces the blocks that joined `chain`'s best chain since the last call: called,
    /// with the chain locked, by whoever may have moved the tip. Cheap when it did not move.
    pub fn tip_may_have_moved(&self, chain: &Chain) {
        let mut announced_tips = self.announced_tips.lock();
        let tip = chain.tip();
        let announced = match announced_tips.get_mut(&chain.id()) {
            Some(announced) => announced,
            None => {
                // A chain seen first now: its feed starts with its tip (genesis is no new head).
                // Past the maximum, the chain has no feed (its label would be refused too).
                if announced_tips.len() >= CHAINS_TRACKED_MAX {
                    return;
                }
                let start = match chain.header_by_hash(&tip.hash) {
                    Some(header) if header.height > 0 => header.parent,
                    _ => tip.hash,
                };
                announced_tips.entry(chain.id()).or_insert(start)
            }
        };
        if *announced == tip.hash {
            return;
        }
        let headers = headers_since(chain, *announced);
        *announced = tip.hash;
        let chain_name = chain.id().to_string();
        for header in headers {
            let head = NewHeadResult {
                chain: chain_name.clone(),
                height: header.height,
                hash: header.hash(),
                parent: header.parent,
                time_ms: header.time_ms,
                difficulty: header.difficulty,
                miner: header.miner,
                state_root: header.state_root,
                header_hex: hex::encode(header.to_bytes()),
            };
            // No subscriber is not an error: the feed is for whoever listens.
            let _ = self.heads.send(Arc::new(head));
        }
    }
}

/// The best chain's headers after `announced`, oldest first: from the fork point when the tip
/// moved to another branch, at most [`NEW_HEADS_PER_UPDATE_MAX`] (the newest).
fn headers_since(chain: &Chain, announced: Hash) -> Vec<BlockHeader> {
    let tip = chain.tip();
    let Some(mut new) = chain.header_by_hash(&tip.hash) else {
        return Vec::new();
    };
    let mut old = chain.header_by_hash(&announced);
    let mut headers = Vec::new();
    loop {
        let old_height = old.as_ref().map(|o| o.height);
        // Walk the previous tip down to the new header's height first.
        if old_height.is_some_and(|h| h > new.height) {
            old = old.and_then(|o| chain.header_by_hash(&o.parent));
            continue;
        }
        if old.as_ref().is_some_and(|o| o.hash() == new.hash())
            || headers.len() >= NEW_HEADS_PER_UPDATE_MAX
        {
            break;
        }
        if old_height == Some(new.height) {
            old = old.and_then(|o| chain.header_by_hash(&o.parent));
        }
        let parent = new.parent;
        let height = new.height;
        headers.push(new);
        if height == 0 {
            break;
        }
        match chain.header_by_hash(&parent) {
            Some(header) => new = header,
            None => break,
        }
    }
    headers.reverse();
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitverse_blocktree::ChainParams;
    use bitverse_primitives::SecretKey;

    fn dev_chain() -> Chain {
        Chain::in_memory(ChainParams::dev()).unwrap()
    }

    /// Metrics of a node that started on a fresh dev chain.
    fn metrics_at_genesis() -> NodeMetrics {
        NodeMetrics::new(dev_chain().genesis_hash())
    }

    fn extend(chain: &mut Chain, who: &str, first: u64, count: u64) -> Vec<Block> {
        let miner = SecretKey::dev(who).account();
        (first..first + count)
            .map(|i| {
                chain
                    .produce_block(
                        miner,
                        ChainParams::dev().genesis_time_ms + i * 1_000,
                        true,
                        u64::MAX,
                    )
                    .unwrap()
                    .unwrap()
            })
            .collect()
    }

    fn drain(feed: &mut broadcast::Receiver<Arc<NewHeadResult>>) -> Vec<(u64, Hash)> {
        let mut seen = Vec::new();
        while let Ok(head) = feed.try_recv() {
            seen.push((head.height, head.hash));
        }
        seen
    }

    fn line_value(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
    }

    #[test]
    fn every_block_that_joins_the_best_chain_is_announced_once_in_order() {
        let metrics = metrics_at_genesis();
        let mut chain = dev_chain();
        let mut feed = metrics.subscribe_heads();
        let first = extend(&mut chain, "miner", 1, 1);
        metrics.tip_may_have_moved(&chain);
        assert_eq!(drain(&mut feed), vec![(1, first[0].hash())]);
        metrics.tip_may_have_moved(&chain);
        assert!(
            drain(&mut feed).is_empty(),
            "an unmoved tip announces nothing"
        );
        let more = extend(&mut chain, "miner", 2, 3);
        metrics.tip_may_have_moved(&chain);
        let expected: Vec<(u64, Hash)> = more.iter().map(|b| (b.header.height, b.hash())).collect();
        assert_eq!(drain(&mut feed), expected);
    }

    /// Blocks of every chain reach the heads feed, each under its chain's name, each once and
    /// in order per chain; a data chain's blocks never pass for the root's.
    #[test]
    fn blocks_sealed_on_data_chains_are_announced_under_their_own_chain() {
        use bitverse_blocktree::{Blocktree, Tracking};
        let tree = Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap();
        let metrics = NodeMetrics::new(tree.root().lock().tip().hash);
        let mut feed = metrics.subscribe_heads();
        let alice = SecretKey::dev("alice");
        let price = ChainParams::dev().depth(2).unwrap().storage_price_per_byte;
        let buy = bitverse_blocktree::UnsignedTx {
            chain: ChainId::ROOT,
            sender: alice.account(),
            nonce: 0,
            fee: bitverse_primitives::Amount(1),
            payload: bitverse_blocktree::TxPayload::BuyKeyspace {
                name: "deep".into(),
                owner: alice.account(),
                quota_bytes: 100,
                prepaid: bitverse_primitives::Amount(price.0 * 100),
                script: None,
                depth: 2,
            },
        }
        .sign(&alice);
        tree.submit(buy).unwrap();
        let now = ChainParams::dev().genesis_time_ms + 1_000;
        let report = |blocks: &[Block]| {
            for block in blocks {
                let chain = tree.chain(block.header.chain).unwrap();
                let chain = chain.lock();
                metrics.produced(&chain, block, BlockSource::Sealed, Duration::ZERO);
            }
        };
        report(&tree.seal_dev(alice.account(), now).unwrap());
        let chain = tree.chain_of_key("deep/x").unwrap();
        let put = bitverse_blocktree::UnsignedTx {
            chain,
            sender: alice.account(),
            nonce: 0,
            fee: bitverse_primitives::Amount::ZERO,
            payload: bitverse_blocktree::TxPayload::Put {
                key: "deep/x".into(),
                value: b"v".to_vec(),
            },
        }
        .sign(&alice);
        tree.submit(put).unwrap();
        // The data chain's block, its parent's anchoring it, then the root's.
        let sealed = tree.seal_dev(alice.account(), now + 1).unwrap();
        assert_eq!(sealed.len(), 3);
        report(&sealed);
        let mut by_chain: BTreeMap<String, Vec<(u64, Hash)>> = BTreeMap::new();
        while let Ok(head) = feed.try_recv() {
            by_chain
                .entry(head.chain.clone())
                .or_default()
                .push((head.height, head.hash));
        }
        for id in std::iter::once(ChainId::ROOT).chain(tree.data_chains()) {
            let chain = tree.chain(id).unwrap();
            let chain = chain.lock();
            let expected: Vec<(u64, Hash)> = (1..=chain.tip().height)
                .map(|h| (h, chain.header_at(h).unwrap().unwrap().hash()))
                .collect();
            assert_eq!(
                by_chain.remove(&id.to_string()).unwrap_or_default(),
                expected,
                "chain {id}: each head once, in order"
            );
        }
        assert!(by_chain.is_empty(), "{by_chain:?}");
    }

    #[test]
    fn a_reorganisation_is_announced_from_the_fork_point() {
        let mut other = dev_chain();
        let winning = extend(&mut other, "bob", 1, 3);
        let metrics = metrics_at_genesis();
        let mut chain = dev_chain();
        let mut feed = metrics.subscribe_heads();
        extend(&mut chain, "miner", 1, 2);
        metrics.tip_may_have_moved(&chain);
        drain(&mut feed);
        for block in &winning {
            chain
                .import_block(block.clone(), ChainParams::dev().genesis_time_ms + 10_000)
                .unwrap();
        }
        assert_eq!(chain.tip().hash, winning[2].hash(), "the longer branch won");
        metrics.tip_may_have_moved(&chain);
        let expected: Vec<(u64, Hash)> = winning
            .iter()
            .map(|b| (b.header.height, b.hash()))
            .collect();
        assert_eq!(drain(&mut feed), expected);
    }

    #[test]
    fn a_long_catch_up_announces_at_most_the_newest_heads_per_update() {
        let metrics = metrics_at_genesis();
        let mut chain = dev_chain();
        let mut feed = metrics.subscribe_heads();
        metrics.tip_may_have_moved(&chain);
        assert!(
            drain(&mut feed).is_empty(),
            "the tip the node started at is not new"
        );
        let count = NEW_HEADS_PER_UPDATE_MAX as u64 + 5;
        let blocks = extend(&mut chain, "miner", 1, count);
        metrics.tip_may_have_moved(&chain);
        let seen = drain(&mut feed);
        assert_eq!(seen.len(), NEW_HEADS_PER_UPDATE_MAX);
        assert_eq!(seen.last().unwrap().1, blocks.last().unwrap().hash());
        assert_eq!(seen[0].0, 6, "the oldest heads are the ones left out");
    }

    #[test]
    fn rendering_reports_the_sample_and_what_was_recorded() {
        let metrics = metrics_at_genesis();
        let mut chain = dev_chain();
        let block = extend(&mut chain, "miner", 1, 1).remove(0);
        metrics.block_produced(&chain, &block);
        metrics.block_imported(ChainId::ROOT, BlockSource::Sealed, Duration::from_millis(3));
        metrics.gossip_judged(GossipKind::Transaction, GossipVerdict::Reject);
        metrics.rpc_answered("bv_status", Duration::from_micros(300));
        let sample = ScrapeSample {
            chain_heights: vec![(ChainId::ROOT, 7)],
            mempool_txs: 3,
            peers: 2,
            script_fuel_used_total: 1_000,
        };
        let text = metrics.render(&sample).unwrap();
        assert_eq!(
            line_value(&text, "bitverse_chain_height{chain=\"root\"}"),
            Some(7.0)
        );
        assert_eq!(
            line_value(&text, "bitverse_mempool_transactions "),
            Some(3.0)
        );
        assert_eq!(line_value(&text, "bitverse_peers "), Some(2.0));
        assert_eq!(
            line_value(&text, "bitverse_script_fuel_used_total "),
            Some(1_000.0)
        );
        assert_eq!(
            line_value(&text, "bitverse_blocks_produced_total{chain=\"root\"}"),
            Some(1.0)
        );
        let subsidy = ChainParams::dev().block_subsidy.0 as f64;
        assert_eq!(
            line_value(
                &text,
                "bitverse_produced_rewards_base_units_total{chain=\"root\"}"
            ),
            Some(subsidy)
        );
        assert_eq!(
            line_value(
                &text,
                "bitverse_block_import_seconds_count{chain=\"root\",source=\"sealed\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            line_value(
                &text,
                "bitverse_gossip_messages_total{kind=\"transaction\",verdict=\"reject\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            line_value(
                &text,
                "bitverse_rpc_request_seconds_count{method=\"bv_status\"}"
            ),
            Some(1.0)
        );
        // The fuel counter grows by what was burned since the last scrape, not by the total.
        let later = ScrapeSample {
            script_fuel_used_total: 1_500,
            ..sample
        };
        let text = metrics.render(&later).unwrap();
        assert_eq!(
            line_value(&text, "bitverse_script_fuel_used_total "),
            Some(1_500.0)
        );
    }

    /// The sample names a scrape can show, from its `# TYPE` lines: a counter `x` is sampled
    /// as `x_total`, a histogram as `x_bucket`, `x_count` and `x_sum`, a gauge as `x`. Families
    /// without series yet still have their `# TYPE` line.
    fn exposed_names(text: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for line in text.lines() {
            let mut words = line.split(' ');
            if words.next() != Some("#") || words.next() != Some("TYPE") {
                continue;
            }
            let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                continue;
            };
            match kind {
                "counter" => {
                    names.insert(format!("{name}_total"));
                }
                "histogram" => {
                    for suffix in ["_bucket", "_count", "_sum"] {
                        names.insert(format!("{name}{suffix}"));
                    }
                }
                _ => {
                    names.insert(name.to_owned());
                }
            }
        }
        names
    }

    /// Every `bitverse_…` name in `text`.
    fn mentioned_names(text: &str) -> BTreeSet<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|word| word.starts_with("bitverse_"))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_grafana_dashboard_queries_only_metrics_the_node_exposes() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../deploy/grafana/bitverse.json")).unwrap();
        let mut queried = BTreeSet::new();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                queried.extend(mentioned_names(target["expr"].as_str().unwrap()));
            }
        }
        assert!(queried.len() >= 9, "a panel per metric: {queried:?}");
        let exposed = exposed_names(
            &NodeMetrics::new(Hash::ZERO)
                .render(&ScrapeSample::default())
                .unwrap(),
        );
        let missing: Vec<&String> = queried.difference(&exposed).collect();
        assert!(
            missing.is_empty(),
            "the dashboard queries unknown metrics {missing:?}"
        );
        // And every metric is on the dashboard.
        let unused: Vec<&String> = exposed
            .iter()
            .filter(|name| !name.ends_with("_sum") && !name.ends_with("_count"))
            .filter(|name| !queried.contains(*name))
            .collect();
        assert!(unused.is_empty(), "metrics without a panel: {unused:?}");
    }

    #[test]
    fn the_rpc_reference_lists_exactly_the_metrics_the_node_exposes() {
        let reference = include_str!("../../docs/RPC.md");
        let section = reference
            .split("## Metrics")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap();
        let documented: BTreeSet<String> = section
            .lines()
            .filter(|line| line.starts_with("| `bitverse_"))
            .flat_map(mentioned_names)
            .collect();
        let exposed: BTreeSet<String> = exposed_names(
            &NodeMetrics::new(Hash::ZERO)
                .render(&ScrapeSample::default())
                .unwrap(),
        )
        .into_iter()
        .map(|name| {
            ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix).map(str::to_owned))
                .unwrap_or(name)
        })
        .collect();
        assert_eq!(documented, exposed);
    }

    #[test]
    fn chains_beyond_the_tracked_maximum_are_not_labelled() {
        let metrics = metrics_at_genesis();
        let chains: Vec<(ChainId, u64)> = (0..CHAINS_TRACKED_MAX as u64 + 10)
            .map(|i| (ChainId::new(16, i).unwrap(), i))
            .collect();
        let sample = ScrapeSample {
            chain_heights: chains,
            ..ScrapeSample::default()
        };
        let text = metrics.render(&sample).unwrap();
        let labelled = text
            .lines()
            .filter(|l| l.starts_with("bitverse_chain_height{"))
            .count();
        assert_eq!(labelled, CHAINS_TRACKED_MAX);
    }
}
