//! The tools of the `bitverse` program that run `bitverse` processes instead of talking to one:
//! the local devnet launcher (`devnet`: starts and supervises `bitverse node` processes, stops
//! them all whenever it ends), the demo that tells the whole story on such a network (`demo`),
//! and the benchmarks of signed puts (`bench`), of block propagation and sync on real
//! processes (`bench_network`), of market requests per tier (`bench_request`), the crash
//! test that kills a node during writes against a replica (`bench_crash`), and the gossip
//! flood against honest nodes (`bench_flood`), and a client command's fixed cost
//! (`bench_cli`). The node library parses their command lines and calls them
//! through [`Launcher`], its [`Tools`].
//!
//! Invariant: no consensus or network logic here; nodes are driven through their command line,
//! files and JSON-RPC like a user's, and each process started is stopped (SIGTERM, then
//! SIGKILL) on every path out.

mod bench;
mod bench_blob;
mod bench_cli;
mod bench_crash;
mod bench_flood;
mod bench_network;
mod bench_request;
mod demo;
mod devnet;

use bitverse_client::{CliError, NodeClient};
use bitverse_node::Tools;
use bitverse_node::tools::{
    BlobBenchOptions, CliBenchOptions, CrashBenchOptions, DemoOptions, DevnetOptions,
    FloodBenchOptions, PropagationOptions, PutsBenchOptions, RequestBenchOptions, SyncOptions,
};

/// The `bitverse` program the tools start, for nodes and client commands alike: the one
/// beside this binary (`bitverse-full`), as a user runs it, so that a measured client command
/// costs what a user's does; this binary itself where there is none.
fn bitverse_exe() -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .context("cannot find the bitverse executable")?;
    let program = exe.with_file_name("bitverse");
    Ok(if program.is_file() { program } else { exe })
}

/// The devnet, the demo and the benchmarks, for [`bitverse_node::main`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Launcher;

impl Tools for Launcher {
    async fn devnet(
        &self,
        options: DevnetOptions,
        log_level: Option<String>,
    ) -> anyhow::Result<()> {
        devnet::run(options, log_level).await
    }

    async fn demo(&self, options: DemoOptions) -> anyhow::Result<()> {
        demo::run(options).await
    }

    async fn bench_puts(
        &self,
        client: &NodeClient,
        options: PutsBenchOptions,
    ) -> Result<(), CliError> {
        bench::puts(client, &options).await
    }

    async fn bench_propagation(&self, options: PropagationOptions) -> anyhow::Result<()> {
        bench_network::propagation(options).await
    }

    async fn bench_sync(&self, options: SyncOptions) -> anyhow::Result<()> {
        bench_network::sync(options).await
    }

    async fn bench_request(&self, options: RequestBenchOptions) -> anyhow::Result<()> {
        bench_request::run(options).await
    }

    async fn bench_crash(&self, options: CrashBenchOptions) -> anyhow::Result<()> {
        bench_crash::run(options).await
    }

    async fn bench_cli(&self, options: CliBenchOptions) -> anyhow::Result<()> {
        bench_cli::run(options).await
    }

    async fn bench_blob(&self, options: BlobBenchOptions) -> anyhow::Result<()> {
        bench_blob::run(options).await
    }

    async fn bench_flood(&self, options: FloodBenchOptions) -> anyhow::Result<()> {
        bench_flood::run(options).await
    }
}
