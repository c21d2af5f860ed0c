//! What a run is asked to do: its seed, its size, its network and its faults.

use std::fmt;
use std::str::FromStr;

/// Most virtual nodes one run may hold.
pub const NODES_MAX: usize = 20_000;
/// Most chains (the root included) one run may open on every node.
pub const CHAINS_MAX: usize = 31;

/// Faults a run may inject, each scheduled from the seed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Faults {
    /// The network splits in two sides for a while, then heals.
    pub partition: bool,
    /// Nodes crash (in-flight messages to them lost, memory lost, store kept) and restart.
    pub crash: bool,
    /// Nodes crash and restart with their store lost too: they start again from genesis
    /// and catch up from their peers.
    pub wipe: bool,
}

impl FromStr for Faults {
    type Err = String;

    /// `partition,crash,wipe`, in any order; empty for none.
    fn from_str(text: &str) -> Result<Faults, String> {
        let mut faults = Faults::default();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "partition" => faults.partition = true,
                "crash" => faults.crash = true,
                "wipe" => faults.wipe = true,
                other => {
                    return Err(format!(
                        "unknown fault {other:?}: the simulator knows partition, crash and wipe \
                         (liars and flood are not built yet)"
                    ));
                }
            }
        }
        Ok(faults)
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            ("partition", self.partition),
            ("crash", self.crash),
            ("wipe", self.wipe),
        ]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

/// The virtual network's behaviour on every link.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NetConfig {
    /// Least one-way latency of a link, drawn per link at the start.
    pub latency_ms_min: u64,
    /// Greatest one-way latency of a link.
    pub latency_ms_max: u64,
    /// Extra delay of each message, drawn per message in `0..=jitter_ms`: messages on one
    /// link overtake each other.
    pub jitter_ms: u64,
    /// Messages lost, in parts per million.
    pub loss_ppm: u32,
    /// Messages delivered twice, in parts per million.
    pub duplicate_ppm: u32,
    /// Gossip mesh degree (gossipsub's D): each node keeps at least this many mesh peers.
    pub mesh_degree: usize,
}

impl Default for NetConfig {
    fn default() -> NetConfig {
        NetConfig {
            latency_ms_min: 20,
            latency_ms_max: 200,
            jitter_ms: 20,
            loss_ppm: 10_000,
            duplicate_ppm: 10_000,
            mesh_degree: 6,
        }
    }
}

/// One run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SimConfig {
    /// Names the run: the same configuration and seed give the same run, event for event.
    pub seed: u64,
    /// Virtual nodes, each with its own blocktree and store.
    pub nodes: usize,
    /// Chains every node opens, the root included: the root, then depth 1, 2, … in order.
    pub chains: usize,
    /// Faults injected during the fault phase.
    pub faults: Faults,
    /// The network.
    pub net: NetConfig,
    /// Mean gap between two blocks of the whole network (every node's mining together).
    pub block_interval_ms: u64,
    /// Virtual time during which nodes mine; faults happen in its first two thirds, and the
    /// last fault ends (heal, restart) by then.
    pub mining_ms: u64,
    /// Virtual time after mining stops before the last check, for the network to settle.
    pub settle_ms: u64,
    /// Proof-of-work difficulty of every block (fixed): hashes ground per block, on average.
    pub difficulty: u64,
    /// Whether to keep the trace's lines (for `--replay`); its hash is kept either way.
    pub keep_trace: bool,
}

impl SimConfig {
    /// A run of `nodes` nodes over `chains` chains with the default network, three-second
    /// blocks and two minutes of mining.
    pub fn new(seed: u64, nodes: usize, chains: usize) -> SimConfig {
        SimConfig {
            seed,
            nodes,
            chains,
            faults: Faults::default(),
            net: NetConfig::default(),
            block_interval_ms: 3_000,
            mining_ms: 120_000,
            settle_ms: 60_000,
            difficulty: 16,
            keep_trace: false,
        }
    }
}
