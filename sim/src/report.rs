//! What a run reports: its figures, its trace's hash, and the first invariant it broke.

/// The first invariant a run broke.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Broken {
    /// Virtual time of the break.
    pub at_ms: u64,
    /// The event's number in the run.
    pub event: u64,
    /// What broke.
    pub what: String,
}

/// Block propagation: from a block's mining to each node's import of it, in virtual ms.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Propagation {
    /// Imports measured (blocks × nodes that imported them, miners not counted).
    pub samples: u64,
    /// Median delay.
    pub p50_ms: u64,
    /// 90th percentile.
    pub p90_ms: u64,
    /// 99th percentile.
    pub p99_ms: u64,
    /// Longest.
    pub max_ms: u64,
}

impl Propagation {
    /// The percentiles of `delays_ms`.
    pub fn of(mut delays_ms: Vec<u64>) -> Propagation {
        delays_ms.sort_unstable();
        Propagation {
            samples: delays_ms.len() as u64,
            p50_ms: percentile(&delays_ms, 50),
            p90_ms: percentile(&delays_ms, 90),
            p99_ms: percentile(&delays_ms, 99),
            max_ms: delays_ms.last().copied().unwrap_or(0),
        }
    }
}

/// The `percent`th percentile of ascending `sorted` by the nearest-rank rule (the smallest
/// value with at least `percent` % of the values at or below it), in integers; 0 if empty.
pub fn percentile(sorted: &[u64], percent: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let len = sorted.len() as u64;
    let rank = (percent.min(100) * len).div_ceil(100).max(1);
    sorted
        .get(usize::try_from(rank - 1).unwrap_or(usize::MAX))
        .copied()
        .unwrap_or(0)
}

/// A run's results: identical for identical configurations.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// Nodes simulated.
    pub nodes: usize,
    /// Chains each node had open, the root included.
    pub chains: usize,
    /// Faults injected (`none`, `partition`, `crash`, `partition,crash`).
    pub faults: String,
    /// Virtual time the run covered.
    pub virtual_ms: u64,
    /// Events run.
    pub events: u64,
    /// The hash of the whole trace, line by line: equal for two runs that were equal event
    /// for event.
    pub trace_hash: String,
    /// Blocks mined on every chain.
    pub blocks_mined: u64,
    /// Root blocks mined.
    pub root_blocks_mined: u64,
    /// The root's height at the end (the first live node's).
    pub root_height: u64,
    /// The root's tip at the end.
    pub root_tip: String,
    /// The root tip's state root.
    pub state_root: String,
    /// Propagation of every chain's blocks.
    pub propagation_all: Propagation,
    /// Propagation of root blocks.
    pub propagation_root: Propagation,
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages lost (loss or partition at sending).
    pub messages_lost: u64,
    /// Messages delivered twice.
    pub messages_duplicated: u64,
    /// Partitions made.
    pub partitions: u64,
    /// Node crashes.
    pub crashes: u64,
    /// Root blocks whose state was checked for the conservation of money.
    pub root_blocks_checked: u64,
    /// Transfers the miners sent (admitted to their own mempools).
    pub transfers_sent: u64,
    /// The deepest root reorg any node went through, in blocks rolled back.
    pub root_reorg_blocks_max: u64,
    /// The first broken invariant, if any.
    pub broken: Option<Broken>,
    /// The trace's lines, when asked for (`--replay`).
    #[serde(skip)]
    pub trace: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), 50);
        assert_eq!(percentile(&values, 99), 99);
        assert_eq!(percentile(&values, 100), 100);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[], 50), 0);
        assert_eq!(percentile(&[1, 2, 3], 50), 2);
    }
}
