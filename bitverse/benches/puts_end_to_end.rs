//! Criterion benchmark: signed Puts imported per second end to end on one dev node (RPC in →
//! mempool → block → state root → RocksDB commit). It starts the real `bitverse node --dev` on
//! a temporary directory and, per iteration, runs `bitverse bench puts`, which pre-signs the
//! puts and reports only the time from first send to last inclusion; that time is what
//! criterion records, so process start and signing are not counted.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};

/// Puts per measured iteration: enough for many blocks and steady state, few enough that ten
/// samples finish in well under a minute.
const PUTS_PER_ITERATION: u64 = 5_000;
/// How long the node may take to serve RPC.
const NODE_START_TIMEOUT_MS: u64 = 30_000;

/// The dev node under measurement; killed when dropped.
struct BenchNode {
    child: Child,
    url: String,
}

impl BenchNode {
    fn start(data_dir: &Path) -> BenchNode {
        let child = Command::new(env!("CARGO_BIN_EXE_bitverse"))
            .args(["node", "--dev", "--data-dir"])
            .arg(data_dir)
            .args(["--rpc-addr", "127.0.0.1:0", "--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn bitverse node");
        // Owned by the guard at once, so a failed start still kills and reaps the node.
        let mut node = BenchNode {
            child,
            url: String::new(),
        };
        let addr_file = data_dir.join("rpc.addr");
        let deadline = Instant::now() + Duration::from_millis(NODE_START_TIMEOUT_MS);
        loop {
            if let Ok(text) = std::fs::read_to_string(&addr_file)
                && text.ends_with('\n')
            {
                node.url = text.trim().to_owned();
                return node;
            }
            assert!(Instant::now() < deadline, "node did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs one `bench puts` and returns the measured time.
    fn measure(&self, count: u64) -> Duration {
        let output = Command::new(env!("CARGO_BIN_EXE_bitverse"))
            .args([
                "bench",
                "puts",
                "--json",
                "--count",
                &count.to_string(),
                "--rpc",
                &self.url,
            ])
            .output()
            .expect("run bitverse bench puts");
        assert!(
            output.status.success(),
            "bench puts failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("bench puts JSON");
        Duration::from_secs_f64(report["elapsed_secs"].as_f64().expect("elapsed_secs"))
    }
}

impl Drop for BenchNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn puts_end_to_end(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = BenchNode::start(dir.path());
    let mut group = c.benchmark_group("node");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(PUTS_PER_ITERATION));
    group.bench_function("signed_puts_end_to_end", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| node.measure(PUTS_PER_ITERATION))
                .sum()
        })
    });
    group.finish();
}

// A plain main rather than criterion_main!, whose generated functions carry no docs.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    puts_end_to_end(&mut criterion);
    criterion.final_summary();
}
