//! The commands that run `bitverse` processes rather than talk to one: `devnet`, `demo`,
//! `bench puts`, `bench propagation`, `bench sync`, `bench request`, `bench crash`, `bench flood` and `bench cli`. They live in the `bitverse-devnet`
//! crate, which depends on this one, so this library cannot call them: the binary hands it an
//! implementation of [`Tools`], and [`crate::main`] calls it with the options parsed here.
//! The command line itself (flags, help) stays in `cli`, so users see one program.

use std::future::Future;
use std::path::PathBuf;

use bitverse_client::{CliError, NodeClient};

/// What `bitverse devnet` was asked to do.
#[derive(Clone, Debug)]
pub struct DevnetOptions {
    /// How many node processes to run.
    pub nodes: usize,
    /// Directory holding one data directory per node.
    pub dir: PathBuf,
    /// Test-only offerer faults: (node index, `lie` or `silent`).
    pub market_faults: Vec<(usize, String)>,
}

/// What `bitverse demo` was asked to do.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Where the demo's nodes keep their data; a temporary directory when `None`.
    pub dir: Option<PathBuf>,
    /// Keep the nodes' data directories after the demo.
    pub keep: bool,
}

/// What `bitverse bench puts` was asked to do.
#[derive(Clone, Debug)]
pub struct PutsBenchOptions {
    /// Puts in all.
    pub count: usize,
    /// Dev senders sharing them.
    pub senders: u8,
    /// Bytes per value.
    pub value_bytes: usize,
    /// Calls per batch request.
    pub batch: usize,
    /// Print one JSON line instead of prose.
    pub json: bool,
}

/// What `bitverse bench propagation` was asked to do.
#[derive(Clone, Debug)]
pub struct PropagationOptions {
    /// Node processes in the network.
    pub nodes: usize,
    /// Blocks to measure.
    pub blocks: u64,
    /// Where the nodes keep their data; a temporary directory when `None`.
    pub dir: Option<PathBuf>,
    /// Print one JSON line instead of prose.
    pub json: bool,
}

/// What `bitverse bench sync` was asked to do.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Length of the chain the new node syncs.
    pub blocks: u64,
    /// Transactions in each of its blocks.
    pub txs_per_block: usize,
    /// Where the nodes keep their data; a temporary directory when `None`.
    pub dir: Option<PathBuf>,
    /// Print one JSON line instead of prose.
    pub json: bool,
}

/// What `bitverse bench request` was asked to do.
#[derive(Clone, Debug)]
pub struct RequestBenchOptions {
    /// Market node processes in the network.
    pub nodes: usize,
    /// The tiers (relayers in the lineup) to measure, in this order.
    pub tiers: Vec<u8>,
    /// Requests per tier.
    pub runs: usize,
    /// The transformation module (WASM) to publish and request.
    pub module: PathBuf,
    /// The photo it is requested over.
    pub photo: PathBuf,
    /// Fuel each execution may use.
    pub fuel_budget: u64,
    /// Where the nodes keep their data; a temporary directory when `None`.
    pub dir: Option<PathBuf>,
    /// Print one JSON object instead of prose.
    pub json: bool,
}

/// What `bitverse bench crash` was asked to do.
#[derive(Clone, Debug)]
pub struct CrashBenchOptions {
    /// Kill-and-restart cycles.
    pub cycles: u32,
    /// Seed of the kill moments; a random one when `None`.
    pub seed: Option<u64>,
    /// Latest kill moment after a cycle's writes start, ms.
    pub kill_within_ms: u64,
    /// Where the nodes keep their data; a temporary directory when `None`.
    pub dir: Option<PathBuf>,
    /// Print JSON lines instead of prose.
    pub json: bool,
    /// Test only: delete the crash node's database after the kill in this cycle.
    pub wipe_in_cycle: Option<u32>,
}

/// What `bitverse bench cli` was asked to do.
#[derive(Clone, Debug)]
pub struct CliBenchOptions {
    /// Measured runs of each command.
    pub runs: usize,
    /// Where the node keeps its data; a temporary directory when `None`.
    pub dir: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    pub json: bool,
}

/// What `bitverse bench blob` was asked to do.
#[derive(Clone, Debug)]
pub struct BlobBenchOptions {
    /// The file sizes put and got, in bytes.
    pub sizes_bytes: Vec<u64>,
    /// k-of-n.
    pub shares: bitverse_storage::Shares,
    /// Storer node processes (at least n).
    pub storers: usize,
    /// Where the nodes keep their data; a temporary directory when `None`.
    pub dir: Option<PathBuf>,
    /// Print one JSON object instead of lines.
    pub json: bool,
}

/// What `bitverse bench flood` was asked to do.
#[derive(Clone, Debug)]
pub struct FloodBenchOptions {
    /// Honest node processes: 2 or 3.
    pub nodes: usize,
    /// Seconds of honest writes before the flood.
    pub baseline_s: u64,
    /// Seconds of flood.
    pub flood_s: u64,
    /// Seconds of honest writes after the flood.
    pub after_s: u64,
    /// Messages per second each flooder connection sends.
    pub rate_per_s: u64,
    /// The kinds of message the flooder sends, by name.
    pub kinds: Vec<String>,
    /// Honest writes per second.
    pub writes_per_s: u64,
    /// Where the nodes keep their data; a temporary directory when `None`.
    pub dir: Option<PathBuf>,
    /// Print one JSON object instead of prose.
    pub json: bool,
}

/// The process-running commands, implemented by the `bitverse-devnet` crate. Their errors are
/// reports for a person (what failed, with its causes), printed on one line by the caller.
pub trait Tools {
    /// `bitverse devnet`: runs the devnet until Ctrl-C, SIGTERM or a node's death.
    fn devnet(
        &self,
        options: DevnetOptions,
        log_level: Option<String>,
    ) -> impl Future<Output = anyhow::Result<()>>;

    /// `bitverse demo`: tells the whole story on a fresh local network.
    fn demo(&self, options: DemoOptions) -> impl Future<Output = anyhow::Result<()>>;

    /// `bitverse bench puts`: measures signed puts against the dev node behind `client`.
    fn bench_puts(
        &self,
        client: &NodeClient,
        options: PutsBenchOptions,
    ) -> impl Future<Output = Result<(), CliError>>;

    /// `bitverse bench propagation`: block propagation over a network of node processes.
    fn bench_propagation(
        &self,
        options: PropagationOptions,
    ) -> impl Future<Output = anyhow::Result<()>>;

    /// `bitverse bench sync`: how fast a new node process catches up with a long chain.
    fn bench_sync(&self, options: SyncOptions) -> impl Future<Output = anyhow::Result<()>>;

    /// `bitverse bench crash`: SIGKILL a node during writes, again and again, and check it
    /// against a replica that never crashed.
    fn bench_crash(&self, options: CrashBenchOptions) -> impl Future<Output = anyhow::Result<()>>;

    /// `bitverse bench cli`: a client command's fixed cost over its RPC round trips.
    fn bench_cli(&self, options: CliBenchOptions) -> impl Future<Output = anyhow::Result<()>>;

    /// `bitverse bench blob`: files put and got through storers, against the encode rate.
    fn bench_blob(&self, options: BlobBenchOptions) -> impl Future<Output = anyhow::Result<()>>;

    /// `bitverse bench flood`: honest latency before, during and after a gossip flood, and
    /// whether the nodes drop the flooder.
    fn bench_flood(&self, options: FloodBenchOptions) -> impl Future<Output = anyhow::Result<()>>;

    /// `bitverse bench request`: request → settled latency per tier on a network of market
    /// nodes, against the same transformation run natively in the sandbox.
    fn bench_request(
        &self,
        options: RequestBenchOptions,
    ) -> impl Future<Output = anyhow::Result<()>>;
}
