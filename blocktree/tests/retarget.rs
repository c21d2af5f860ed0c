//! Simulated mining against the window-average retarget rule: a constant hash rate settles at
//! the target interval and stays there; a halved or doubled hash rate is followed within two
//! windows. Block times are drawn from the exponential distribution proof of work gives, from
//! fixed seeds, so every run sees the same chains.

use bitverse_blocktree::params::{ChainParams, DepthParams};
use bitverse_blocktree::pow::{PastBlock, next_difficulty};

/// A deterministic generator (splitmix64): the simulation must be the same on every run.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A draw from the exponential distribution with mean 1: the time to a block, in units of
    /// its expected time.
    fn exponential(&mut self) -> f64 {
        let uniform = ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        -uniform.ln()
    }
}

/// A simulated chain: blocks newest last, mined at a hash rate that can change.
struct Simulation {
    depth: DepthParams,
    blocks: Vec<PastBlock>,
    random: SplitMix,
}

impl Simulation {
    fn new(depth: DepthParams, seed: u64) -> Simulation {
        let genesis = PastBlock {
            height: 0,
            time_ms: 1_767_225_600_000,
            difficulty: depth.difficulty_initial,
        };
        Simulation {
            depth,
            // The network starts long after its genesis time, as a real one does.
            blocks: vec![genesis],
            random: SplitMix(seed),
        }
    }

    /// Mines `count` blocks at `hashes_per_ms`, starting now.
    fn mine(&mut self, count: usize, hashes_per_ms: f64) {
        for _ in 0..count {
            let parent = *self.blocks.last().unwrap();
            let recent: Vec<PastBlock> = self.blocks.iter().rev().take(200).copied().collect();
            let difficulty = next_difficulty(&self.depth, false, &recent);
            let expected_ms = difficulty as f64 / hashes_per_ms;
            let solve_ms = (expected_ms * self.random.exponential()).round() as u64;
            // The first block is mined days after genesis.
            let start_ms = if parent.height == 0 {
                parent.time_ms + 30 * 86_400_000
            } else {
                parent.time_ms
            };
            self.blocks.push(PastBlock {
                height: parent.height + 1,
                time_ms: start_ms + solve_ms.max(1),
                difficulty,
            });
        }
    }

    /// The mean interval between consecutive blocks from height `from` to `to`.
    fn mean_interval_ms(&self, from: usize, to: usize) -> f64 {
        let (first, last) = (&self.blocks[from], &self.blocks[to]);
        (last.time_ms - first.time_ms) as f64 / (to - from) as f64
    }

    /// Every span of `span` blocks from `from` to the tip has a mean interval within
    /// `tolerance` of the target; the offending span otherwise.
    fn check_spans(&self, from: usize, span: usize, tolerance: f64) -> Result<(), String> {
        let target = self.depth.block_interval_target_ms as f64;
        let mut start = from;
        while start + span < self.blocks.len() {
            let mean = self.mean_interval_ms(start, start + span);
            if (mean / target - 1.0).abs() > tolerance {
                return Err(format!(
                    "blocks {start}..{}: mean interval {mean:.0} ms against a target of {target} ms",
                    start + span
                ));
            }
            start += span;
        }
        Ok(())
    }
}

const SEEDS: [u64; 4] = [1, 2, 3, 0xb17c0de];

/// A hash rate whose steady difficulty is far above the `local` network's initial difficulty,
/// as three mining nodes on a laptop are.
const HASHES_PER_MS: f64 = 2_000.0;

fn local_root() -> DepthParams {
    ChainParams::local().root
}

#[test]
fn constant_hash_rate_converges_to_the_target_interval_and_stays_there() {
    let depth = local_root();
    let window = depth.retarget_window_blocks as usize;
    for seed in SEEDS {
        let mut sim = Simulation::new(depth.clone(), seed);
        sim.mine(40 * window, HASHES_PER_MS);
        // From 5 windows on (the climb from the initial difficulty takes about 3), every span of
        // 4 windows keeps within ±20 % of the target.
        sim.check_spans(5 * window, 4 * window, 0.20)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        // And over the long run, within 5 %.
        let long = sim.mean_interval_ms(5 * window, 40 * window);
        let target = depth.block_interval_target_ms as f64;
        assert!(
            (long / target - 1.0).abs() < 0.05,
            "seed {seed}: long-run interval {long:.0} ms"
        );
        // No runaway on the way up: the difficulty never overshoots the steady one fourfold
        // (the compounding rule reached 67 million at height 30, from 4 096).
        let steady = HASHES_PER_MS * target;
        let highest = sim.blocks.iter().map(|b| b.difficulty).max().unwrap() as f64;
        assert!(
            highest < 4.0 * steady,
            "seed {seed}: difficulty reached {highest}, steady is {steady}"
        );
    }
}

#[test]
fn halved_or_doubled_hash_rate_is_followed_within_two_windows() {
    let depth = local_root();
    let window = depth.retarget_window_blocks as usize;
    for seed in SEEDS {
        for factor in [0.5, 2.0] {
            let mut sim = Simulation::new(depth.clone(), seed);
            sim.mine(20 * window, HASHES_PER_MS);
            let change = sim.blocks.len() - 1;
            sim.mine(20 * window, HASHES_PER_MS * factor);
            sim.check_spans(change + 2 * window, 4 * window, 0.20)
                .unwrap_or_else(|e| panic!("seed {seed}, hash rate x{factor}: {e}"));
        }
    }
}

#[test]
fn difficulty_stays_at_the_floor_when_no_one_mines_faster() {
    // A hash rate far below the floor's: blocks come slowly, difficulty stays at its minimum
    // and never underflows.
    let depth = local_root();
    let mut sim = Simulation::new(depth.clone(), 9);
    sim.mine(300, 0.000_1);
    let lowest = sim
        .blocks
        .iter()
        .skip(1)
        .map(|b| b.difficulty)
        .min()
        .unwrap();
    assert_eq!(lowest, depth.difficulty_min);
}
