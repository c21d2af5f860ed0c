//! Runs of the simulator small enough for a debug build: determinism by the trace's hash,
//! invariants held under partitions and crashes, and propagation measured.

use bitverse_sim::{Faults, SimConfig, run};

/// A small, quick run: 6 nodes, the root and its two children, a minute of mining.
fn small(seed: u64) -> SimConfig {
    SimConfig {
        mining_ms: 60_000,
        settle_ms: 45_000,
        ..SimConfig::new(seed, 6, 3)
    }
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_another() {
    let first = run(&small(11)).unwrap();
    let again = run(&small(11)).unwrap();
    assert_eq!(first.trace_hash, again.trace_hash);
    assert_eq!(first, again);
    let other = run(&small(12)).unwrap();
    assert_ne!(first.trace_hash, other.trace_hash);
    assert!(first.broken.is_none(), "{:?}", first.broken);
}

#[test]
fn nodes_converge_after_partitions_crashes_and_lost_stores_with_money_conserved() {
    for seed in [1, 2] {
        let config = SimConfig {
            faults: Faults {
                partition: true,
                crash: true,
                wipe: true,
            },
            ..small(seed)
        };
        let report = run(&config).unwrap();
        assert!(report.broken.is_none(), "seed {seed}: {:?}", report.broken);
        assert!(report.partitions > 0, "seed {seed}: no partition made");
        assert!(
            report.root_height > 5,
            "seed {seed}: root at {}",
            report.root_height
        );
        assert!(report.root_blocks_checked > 5);
        assert!(report.transfers_sent > 0, "seed {seed}: no money moved");
    }
}

#[test]
fn blocks_propagate_to_every_node_and_the_delays_are_measured() {
    let report = run(&small(3)).unwrap();
    assert!(report.broken.is_none(), "{:?}", report.broken);
    let root = &report.propagation_root;
    assert!(root.samples >= report.root_blocks_mined, "{report:?}");
    assert!(root.p50_ms >= 20, "faster than the fastest link: {root:?}");
    assert!(root.p50_ms <= root.p99_ms && root.p99_ms <= root.max_ms);
}

#[test]
fn the_trace_is_kept_when_asked_and_hashes_the_same() {
    let kept = run(&SimConfig {
        keep_trace: true,
        ..small(5)
    })
    .unwrap();
    let plain = run(&small(5)).unwrap();
    assert_eq!(kept.trace_hash, plain.trace_hash);
    assert!(plain.trace.is_empty());
    assert!(kept.trace.iter().any(|line| line.contains("mine ")));
}

#[test]
fn a_configuration_out_of_bounds_is_refused() {
    assert!(run(&SimConfig::new(1, 0, 1)).is_err());
    assert!(run(&SimConfig::new(1, 3, 0)).is_err());
    assert!(run(&SimConfig::new(1, 3, 1000)).is_err());
}

#[test]
fn a_run_ended_before_the_network_settles_reports_the_broken_convergence() {
    let report = run(&SimConfig {
        faults: Faults {
            partition: true,
            ..Faults::default()
        },
        settle_ms: 0,
        ..small(9)
    })
    .unwrap();
    let broken = report
        .broken
        .expect("the tips cannot agree without time to settle");
    assert!(broken.what.starts_with("convergence"), "{broken:?}");
}
