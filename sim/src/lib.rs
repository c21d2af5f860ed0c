//! A deterministic simulator of the network (issue 21): N virtual nodes in one process, each
//! running the real [`bitverse_blocktree::Blocktree`] over its own in-memory store, mining
//! real (tiny-difficulty) proof of work as a seeded Poisson process by its hash-rate share,
//! gossiping blocks over a mesh of degree D with the real import as the validation before
//! forwarding, and catching up by asking peers for the blocks their status names and for
//! the parents it lacks; on virtual time, over a virtual network (per-link latency, jitter
//! that reorders, loss, duplication, partitions), with faults (partitions and heals,
//! crashes and restarts on the kept store) drawn from the seed.
//!
//! Invariants are checked as the run goes and at its end: no honest block refused, the
//! conservation of money on every root block any node reached, every node on the same tips
//! and state roots once the faults are over; a panic is caught and reported with the seed.
//! The same configuration and seed give the same run, event for event: the report carries
//! the hash of its trace.
//!
//! Invariant: no async runtime, no wall clock, no OS randomness, no RocksDB, no hash map
//! whose order could reach an event; time is a `u64` of virtual milliseconds, every choice a
//! draw from one ChaCha8 stream of the seed, and figures are integers.

mod config;
mod net;
mod report;
mod rng;
mod world;

use std::panic::{AssertUnwindSafe, catch_unwind};

pub use config::{CHAINS_MAX, Faults, NODES_MAX, NetConfig, SimConfig};
pub use net::NodeId;
pub use report::{Broken, Propagation, SimReport, percentile};
pub use world::{
    ASK_RETRY_MS, ASKED_PER_NODE_MAX, EVENTS_PENDING_MAX, NONCE_ATTEMPTS_MAX, ORPHANS_PER_NODE_MAX,
    STATUS_INTERVAL_MS, TRACE_LINES_MAX, chain_ids, sim_params,
};

/// Why a run could not be made (a broken invariant is not an error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration asks for something the simulator does not do.
    #[error("invalid simulation: {0}")]
    Config(String),
    /// A node's blocktree could not be set up.
    #[error("cannot set up a node: {0}")]
    Setup(#[from] bitverse_blocktree::ChainError),
    /// Something panicked: a bug the seed reproduces.
    #[error("seed {seed}: panicked: {message}")]
    Panicked {
        /// The run's seed.
        seed: u64,
        /// The panic's message.
        message: String,
    },
}

/// Runs one simulation to its end, or to the first broken invariant (`report.broken`).
pub fn run(config: &SimConfig) -> Result<SimReport, SimError> {
    if config.nodes == 0 || config.nodes > NODES_MAX {
        return Err(SimError::Config(format!(
            "{} nodes: between 1 and {NODES_MAX}",
            config.nodes
        )));
    }
    if config.chains == 0 || config.chains > CHAINS_MAX {
        return Err(SimError::Config(format!(
            "{} chains: between 1 (the root alone) and {CHAINS_MAX}",
            config.chains
        )));
    }
    if config.net.latency_ms_min > config.net.latency_ms_max {
        return Err(SimError::Config(
            "the least latency is above the greatest".into(),
        ));
    }
    if config.block_interval_ms == 0 || config.difficulty < 2 {
        return Err(SimError::Config(
            "block interval must be above 0 and difficulty at least 2 (real work)".into(),
        ));
    }
    let seed = config.seed;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world::Sim::new(config).map(world::Sim::run)
    }));
    match outcome {
        Ok(result) => Ok(result?),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            Err(SimError::Panicked { seed, message })
        }
    }
}
