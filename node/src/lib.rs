//! The Bitverse node: configuration and wiring. `bitverse node` opens the blocktree and starts
//! the network (`bitverse-p2p`), the market agent (`bitverse-market-agent`), the browse index
//! (`bitverse-index`) and the JSON-RPC server (`bitverse-rpc-server`) around it; every other
//! command is a client of that server (`bitverse-client`). [`main`] parses the command line,
//! sets up logging and the runtime, runs the command (handing those that run processes to the
//! [`Tools`] it is given) and turns its outcome into an exit code; the `bitverse-full` binary
//! is that call, and the small `bitverse` binary (`bitverse_client::program`) hands it every
//! command that is not a client's.
//!
//! Layout: `cli` (the program's command line, the client's commands flattened into it),
//! `config` (`bitverse.toml` merged with the flags), `node` (the node's life: open, start,
//! produce blocks, stop), `challenger` (`--challenges`: the publishers' challenge schedules
//! run on their intervals), `tools` (what the devnet crate carries out for it).
//!
//! Invariant: the chain's rules live in `bitverse-blocktree`, the wire shapes in
//! `bitverse-rpc-api`; this crate only configures and connects the parts.

mod challenger;
mod cli;
mod config;
pub mod node;
mod sim;
pub mod tools;

pub use crate::tools::Tools;

use std::fs;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::cli::{BenchCommand, Cli, Command};
use crate::config::{LogTarget, NodeConfig};
use bitverse_client::{CliError, NodeClient, program};

/// Exit code of a bad configuration file, like clap's for a bad flag.
const EXIT_USAGE: u8 = 2;

/// Runs the `bitverse` program with the process's arguments; `tools` carries out the commands
/// that run `bitverse` processes (devnet, demo, benches).
pub fn main(tools: &impl Tools) -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        Command::Node(args) => return run_node(args, cli.log_level),
        Command::Init(args) => {
            return init(&args).map_or_else(|e| e.report(), |()| ExitCode::SUCCESS);
        }
        Command::Client(command) => {
            return program::run_command(command, cli.log_level.as_deref());
        }
        // The simulator runs on virtual time, on this thread: no runtime.
        Command::Sim(args) => {
            // `bitverse sim --replay | head` ends quietly, as the client commands do.
            program::end_quietly_on_a_closed_pipe();
            return sim::run(&args);
        }
        Command::RpcDoc => {
            program::end_quietly_on_a_closed_pipe();
            print!("{}", bitverse_rpc_api::openrpc::document_text());
            return ExitCode::SUCCESS;
        }
        other => other,
    };
    program::init_logging(cli.log_level.as_deref());
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(run(tools, command, cli.log_level)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// The runtime of the node and of the tools that supervise node processes: a worker per core.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

/// `bitverse node`: the configuration first (a bad file is a usage error), then the logging
/// it asks for, then the node.
fn run_node(args: config::NodeArgs, log_level: Option<String>) -> ExitCode {
    let config = match config::resolve(args, log_level) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(e) = init_node_logging(&config) {
        return e.report();
    }
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(node::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The log file should say why the node stopped, not only the terminal.
            tracing::error!(error = format!("{e:#}"), "node failed");
            whole_chain(e).report()
        }
    }
}

/// `init`: writes a commented bitverse.toml and says where.
fn init(args: &config::InitArgs) -> Result<(), CliError> {
    let path = config::init(args).map_err(|e| CliError::Failed(e.to_string()))?;
    let data_dir = path.parent().unwrap_or(Path::new("."));
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "config_file": path.display().to_string(),
                "data_dir": data_dir.display().to_string(),
            })
        );
    } else {
        println!(
            "wrote {}: every node option, commented out at its default; `bitverse node --data-dir {}` reads it",
            path.display(),
            data_dir.display()
        );
    }
    Ok(())
}

/// The node logs at info to its log file (appending), and says where in one line on stderr;
/// or to stderr when asked.
fn init_node_logging(config: &NodeConfig) -> Result<(), CliError> {
    let filter = program::log_filter(config.options.log_level.as_deref(), "info");
    match &config.log {
        LogTarget::Stderr => {
            // Colour only on a terminal: stderr redirected to a file stays plain text.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(ansi)
                .init();
        }
        LogTarget::File(path) => {
            let cannot = |e: std::io::Error| {
                CliError::Failed(format!("cannot open log file {}: {e}", path.display()))
            };
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir).map_err(cannot)?;
            }
            let file = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(cannot)?;
            // Each event is formatted whole and written with one write to an O_APPEND file,
            // so lines never interleave with another writer of the same file.
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(Arc::new(file))
                .with_ansi(false)
                .init();
            eprintln!(
                "bitverse node: logging to {} (--log-stderr to log here)",
                path.display()
            );
        }
    }
    Ok(())
}

/// The errors of commands that run processes (node, devnet, network benches) are their own,
/// not a node's refusal: `{:#}` puts the whole cause chain on one line.
fn whole_chain(e: anyhow::Error) -> CliError {
    CliError::Failed(format!("{e:#}"))
}

async fn run(
    tools: &impl Tools,
    command: Command,
    log_level: Option<String>,
) -> Result<(), CliError> {
    match command {
        // `main` runs these before any runtime exists: the node's logging depends on its
        // configuration, and `init` needs no runtime. Never reached.
        Command::Node(_)
        | Command::Init(_)
        | Command::RpcDoc
        | Command::Client(_)
        | Command::Sim(_) => Err(CliError::Failed(
            "node, init, rpc-doc, sim and client commands run outside the tools' runtime"
                .to_owned(),
        )),
        Command::Devnet(args) => {
            let mut market_faults = Vec::new();
            for spec in &args.market_fault {
                let parsed = spec.split_once('=').and_then(|(index, fault)| {
                    let fault = matches!(fault, "lie" | "silent").then(|| fault.to_owned())?;
                    Some((index.parse::<usize>().ok()?, fault))
                });
                match parsed {
                    Some(fault) => market_faults.push(fault),
                    None => {
                        return Err(CliError::Failed(format!(
                            "--market-fault {spec:?}: expected INDEX=lie or INDEX=silent"
                        )));
                    }
                }
            }
            let options = tools::DevnetOptions {
                nodes: args.nodes,
                dir: args.dir,
                market_faults,
            };
            tools.devnet(options, log_level).await.map_err(whole_chain)
        }
        Command::Demo(args) => {
            let options = tools::DemoOptions {
                dir: args.dir,
                keep: args.keep,
            };
            tools.demo(options).await.map_err(whole_chain)
        }
        Command::Bench(BenchCommand::Puts {
            count,
            senders,
            value_bytes,
            batch,
            json,
            rpc,
        }) => {
            let options = tools::PutsBenchOptions {
                count,
                senders,
                value_bytes,
                batch,
                json,
            };
            tools.bench_puts(&NodeClient::new(&rpc.url)?, options).await
        }
        Command::Bench(BenchCommand::Propagation {
            nodes,
            blocks,
            dir,
            json,
        }) => tools
            .bench_propagation(tools::PropagationOptions {
                nodes: usize::try_from(nodes).unwrap_or(usize::MAX),
                blocks,
                dir,
                json,
            })
            .await
            .map_err(whole_chain),
        Command::Bench(BenchCommand::Request {
            nodes,
            tiers,
            runs,
            module,
            photo,
            fuel,
            dir,
            json,
        }) => tools
            .bench_request(tools::RequestBenchOptions {
                nodes: usize::try_from(nodes).unwrap_or(usize::MAX),
                tiers,
                runs: usize::try_from(runs).unwrap_or(usize::MAX),
                module,
                photo,
                fuel_budget: fuel,
                dir,
                json,
            })
            .await
            .map_err(whole_chain),
        Command::Bench(BenchCommand::Crash {
            cycles,
            seed,
            kill_within_ms,
            dir,
            json,
            wipe_in_cycle,
        }) => tools
            .bench_crash(tools::CrashBenchOptions {
                cycles,
                seed,
                kill_within_ms,
                dir,
                json,
                wipe_in_cycle,
            })
            .await
            .map_err(whole_chain),
        Command::Bench(BenchCommand::Flood {
            nodes,
            baseline,
            flood,
            after,
            rate,
            kinds,
            writes,
            dir,
            json,
        }) => tools
            .bench_flood(tools::FloodBenchOptions {
                nodes: usize::try_from(nodes).unwrap_or(usize::MAX),
                baseline_s: baseline,
                flood_s: flood,
                after_s: after,
                rate_per_s: rate,
                kinds,
                writes_per_s: writes,
                dir,
                json,
            })
            .await
            .map_err(whole_chain),
        Command::Bench(BenchCommand::Cli { runs, dir, json }) => tools
            .bench_cli(tools::CliBenchOptions {
                runs: usize::try_from(runs).unwrap_or(usize::MAX),
                dir,
                json,
            })
            .await
            .map_err(whole_chain),
        Command::Bench(BenchCommand::Blob {
            size,
            shares,
            storers,
            dir,
            json,
        }) => tools
            .bench_blob(tools::BlobBenchOptions {
                sizes_bytes: size,
                shares,
                storers: usize::try_from(storers).unwrap_or(usize::MAX),
                dir,
                json,
            })
            .await
            .map_err(whole_chain),
        Command::Bench(BenchCommand::LightClient {
            height,
            rounds,
            json,
        }) => bitverse_client::bench_light_client(height, rounds, json).map_err(whole_chain),
        Command::Bench(BenchCommand::Sync {
            blocks,
            txs,
            dir,
            json,
        }) => tools
            .bench_sync(tools::SyncOptions {
                blocks,
                txs_per_block: txs,
                dir,
                json,
            })
            .await
            .map_err(whole_chain),
    }
}
