//! `bitverse sim`: the deterministic simulator (`bitverse_sim`), run on this thread on
//! virtual time, with no runtime: its figures, or its trace, on stdout; a broken invariant
//! on stderr with the seed, and exit status 1.

use std::process::ExitCode;

use clap::Args;

use bitverse_sim::{Faults, SimConfig, SimReport};

/// Exit status of a run that broke an invariant.
const EXIT_INVARIANT_BROKEN: u8 = 1;
/// Exit status of a run that could not be made (bad arguments, a panic).
const EXIT_FAILED: u8 = 2;
/// Seeds one command runs at most.
const SEEDS_MAX: u64 = 1_000_000;

/// `bitverse sim`.
#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// The seed: the same arguments and seed give the same run, event for event.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub(crate) seed: u64,
    /// Virtual nodes, each with its own blocktree (1 to 20000).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) nodes: usize,
    /// Chains each node opens, the root included (the root, then depth 1, 2, …; up to 31).
    #[arg(long, value_name = "C", default_value_t = 3)]
    pub(crate) chains: usize,
    /// Faults to inject, comma-separated: partition, crash (store kept), wipe (store lost).
    #[arg(long, value_name = "LIST", default_value = "")]
    pub(crate) faults: String,
    /// Virtual seconds of mining (faults happen in the first two thirds).
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub(crate) mining_secs: u64,
    /// Virtual seconds after mining for the network to settle before the last check.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) settle_secs: u64,
    /// Mean seconds between two blocks of the whole network.
    #[arg(long, value_name = "MS", default_value_t = 3_000)]
    pub(crate) block_interval_ms: u64,
    /// Messages lost, in parts per million (default 1 %).
    #[arg(long, value_name = "PPM", default_value_t = 10_000)]
    pub(crate) loss_ppm: u32,
    /// Print the results as one line of JSON (identical for identical arguments).
    #[arg(long)]
    pub(crate) json: bool,
    /// Print the run's trace, event by event, then the results.
    #[arg(long)]
    pub(crate) replay: bool,
    /// Run this many seeds, from --seed on, one line each (one JSON line with --json), and
    /// exit 1 if any broke an invariant: the long fault runs.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) seeds: u64,
}

/// Runs the simulation `args` asks for: one seed, or `--seeds` of them.
pub(crate) fn run(args: &SimArgs) -> ExitCode {
    if args.seeds <= 1 {
        return run_one(args, args.seed);
    }
    if args.replay || args.seeds > SEEDS_MAX {
        eprintln!(
            "error: --seeds takes 2 to {SEEDS_MAX} seeds, without --replay (replay one seed)"
        );
        return ExitCode::from(EXIT_FAILED);
    }
    let mut broken = 0u64;
    for offset in 0..args.seeds {
        let seed = args.seed.wrapping_add(offset);
        let code = run_one(args, seed);
        if code == ExitCode::from(EXIT_FAILED) {
            return code;
        }
        if code != ExitCode::SUCCESS {
            broken += 1;
        }
    }
    eprintln!(
        "sim: {} seeds from {}: {broken} broke an invariant",
        args.seeds, args.seed
    );
    if broken == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVARIANT_BROKEN)
    }
}

/// Runs one seed: its report (or its trace) on stdout, a broken invariant on stderr.
fn run_one(args: &SimArgs, seed: u64) -> ExitCode {
    let faults: Faults = match args.faults.parse() {
        Ok(faults) => faults,
        Err(e) => {
            eprintln!("error: --faults: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let mut config = SimConfig::new(seed, args.nodes, args.chains);
    config.faults = faults;
    config.mining_ms = args.mining_secs.saturating_mul(1_000);
    config.settle_ms = args.settle_secs.saturating_mul(1_000);
    config.block_interval_ms = args.block_interval_ms;
    config.net.loss_ppm = args.loss_ppm;
    config.keep_trace = args.replay;
    let started = std::time::Instant::now();
    let report = match bitverse_sim::run(&config) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let wall_ms = started.elapsed().as_millis();
    if args.replay {
        for line in &report.trace {
            println!("{line}");
        }
    }
    if args.json {
        match serde_json::to_string(&report) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("error: cannot encode the report: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        }
    } else if args.seeds > 1 {
        let outcome = match &report.broken {
            None => "invariants held".to_owned(),
            Some(broken) => format!("BROKEN at {} ms: {}", broken.at_ms, broken.what),
        };
        println!(
            "seed {}: root h{}, {} events, trace {}: {outcome}",
            report.seed, report.root_height, report.events, report.trace_hash
        );
    } else {
        print_report(&report);
    }
    // The wall time is no part of the results: it goes to stderr, so --json stays identical.
    if args.seeds <= 1 {
        eprintln!("sim: {} events in {wall_ms} ms of wall time", report.events);
    }
    match &report.broken {
        None => ExitCode::SUCCESS,
        Some(broken) => {
            eprintln!(
                "sim: seed {} broke an invariant at {} ms (event {}): {}",
                report.seed, broken.at_ms, broken.event, broken.what
            );
            eprintln!(
                "sim: run it again with its trace: bitverse sim --seed {} --nodes {} --chains {} \
                 --faults '{}' --mining-secs {} --settle-secs {} --block-interval-ms {} \
                 --loss-ppm {} --replay",
                seed,
                args.nodes,
                args.chains,
                args.faults,
                args.mining_secs,
                args.settle_secs,
                args.block_interval_ms,
                args.loss_ppm
            );
            ExitCode::from(EXIT_INVARIANT_BROKEN)
        }
    }
}

fn print_report(report: &SimReport) {
    println!(
        "seed {}: {} nodes, {} chains, faults {}, {} virtual s, {} events",
        report.seed,
        report.nodes,
        report.chains,
        report.faults,
        report.virtual_ms / 1_000,
        report.events
    );
    println!(
        "blocks mined {} ({} root); root at height {} {}",
        report.blocks_mined, report.root_blocks_mined, report.root_height, report.root_tip
    );
    for (name, p) in [
        ("root blocks", &report.propagation_root),
        ("all blocks", &report.propagation_all),
    ] {
        println!(
            "propagation of {name}: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms ({} imports)",
            p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms, p.samples
        );
    }
    println!(
        "messages {} sent, {} lost, {} duplicated; {} partitions, {} crashes; {} transfers; deepest root reorg {} blocks; {} root blocks checked for conservation",
        report.messages_sent,
        report.messages_lost,
        report.messages_duplicated,
        report.partitions,
        report.crashes,
        report.transfers_sent,
        report.root_reorg_blocks_max,
        report.root_blocks_checked
    );
    println!("trace {}", report.trace_hash);
    match &report.broken {
        None => println!("invariants held"),
        Some(broken) => println!("BROKEN at {} ms: {}", broken.at_ms, broken.what),
    }
}
