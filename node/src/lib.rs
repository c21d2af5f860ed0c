//! The Bitverse node as a library: `bitverse node` runs a node and its JSON-RPC server; every
//! other command is a client of that server. [`main`] parses the command line, sets up logging
//! and the runtime, runs the command (handing those that run processes to the [`Tools`] it is
//! given) and turns its outcome into an exit code; the `bitverse` binary is that call.
//!
//! Invariant: this crate (with the tools crate above it) is the only one that meets the
//! outside world (HTTP, the command line, signals, the clock); the chain's rules live in
//! `bitverse-blocktree`.

mod browse;
mod cli;
pub mod client;
pub mod commands;
mod config;
mod earnings;
mod exchange;
mod explorer;
mod forward;
mod keys;
mod light;
mod market;
mod metrics;
pub mod node;
mod openrpc;
pub mod p2p;
pub mod request;
pub mod rpc_api;
mod server;
pub mod tools;
mod verify;

pub use crate::tools::Tools;

use std::fs;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{BenchCommand, Cli, Command};
use crate::client::{CliError, NodeClient};
use crate::config::{LogTarget, NodeConfig};

/// Exit code of a bad configuration file, like clap's for a bad flag.
const EXIT_USAGE: u8 = 2;

/// Runs the `bitverse` program with the process's arguments; `tools` carries out the commands
/// that run `bitverse` processes (devnet, demo, benches).
pub fn main(tools: &impl Tools) -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        Command::Node(args) => return run_node(args, cli.log_level),
        Command::Init(args) => {
            return commands::init(&args).map_or_else(|e| e.report(), |()| ExitCode::SUCCESS);
        }
        other => other,
    };
    if !matches!(
        command,
        Command::Devnet(_) | Command::Demo(_) | Command::Bench(_)
    ) {
        end_quietly_on_a_closed_pipe();
    }
    init_logging(cli.log_level.as_deref());
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(run(tools, command, cli.log_level)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// A client command whose output is cut short (`bitverse status | head -3`) ends there
/// quietly, as git and cargo do, rather than panicking on the failed write: writing to a
/// closed pipe kills the process by SIGPIPE, whose default the Rust runtime replaced. Not for
/// the node and the tools that supervise node processes (`devnet`, `demo`, `bench`), which
/// must outlive a reader going away and stop their children on the way out.
// The one `unsafe` of the workspace (whose lint denies it): setting a signal's disposition
// is unsafe in general because a handler runs in signal context; SIG_DFL is no handler.
#[allow(unsafe_code)]
fn end_quietly_on_a_closed_pipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_DFL installs no handler of ours, so nothing runs in signal context; this
    // runs on the main thread before any other thread exists.
    if let Err(e) = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) } {
        eprintln!("warning: cannot restore SIGPIPE's default: {e}");
    }
}

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
fn run_node(args: cli::NodeArgs, log_level: Option<String>) -> ExitCode {
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

/// Client commands log to stderr, so stdout carries only a command's answer (e.g. a value's
/// raw bytes); only warnings by default.
fn init_logging(log_level: Option<&str>) {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(log_level, "warn"))
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

/// `--log-level` (or the file's `log_level`), else RUST_LOG, else `default_level`.
fn log_filter(log_level: Option<&str>, default_level: &str) -> EnvFilter {
    match log_level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
    }
}

/// The node logs at info to its log file (appending), and says where in one line on stderr;
/// or to stderr when asked.
fn init_node_logging(config: &NodeConfig) -> Result<(), CliError> {
    let filter = log_filter(config.log_level.as_deref(), "info");
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
        // `main` runs both before any runtime exists: the node's logging depends on its
        // configuration, and `init` needs no runtime. Never reached.
        Command::Node(_) | Command::Init(_) => Err(CliError::Failed(
            "node and init run outside the client runtime".to_owned(),
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
        Command::Wallet(command) => commands::wallet(command),
        Command::Balance {
            address,
            output,
            rpc,
        } => commands::balance(&NodeClient::new(&rpc.url)?, &address, &output).await,
        Command::Send {
            to,
            amount,
            write,
            rpc,
        } => commands::send(&NodeClient::new(&rpc.url)?, &to, amount.0, &write).await,
        Command::Stake {
            amount,
            role,
            write,
            rpc,
        } => commands::stake(&NodeClient::new(&rpc.url)?, amount.0, role, false, &write).await,
        Command::Unstake {
            amount,
            role,
            write,
            rpc,
        } => commands::stake(&NodeClient::new(&rpc.url)?, amount.0, role, true, &write).await,
        Command::Ledger {
            node,
            height,
            output,
            rpc,
        } => {
            commands::ledger(
                &NodeClient::new(&rpc.url)?,
                node.as_deref(),
                height,
                &output,
            )
            .await
        }
        Command::Request {
            transform,
            inputs,
            tier,
            out,
            force,
            args,
            fuel,
            offerer,
            max_price,
            offers_wait_ms,
            expires_in,
            timeout_secs,
            key,
            fee,
            json,
            rpc,
        } => {
            let options = request::RequestOptions {
                transform,
                inputs,
                args: args.into_bytes(),
                fuel_budget: fuel,
                hops: tier,
                offerer: offerer.as_deref().map(keys::parse_address).transpose()?,
                price_max: max_price.map(|m| m.0),
                offers_wait_ms,
                expires_in_blocks: expires_in,
                fee: fee.0,
                timeout_ms: timeout_secs.saturating_mul(1000),
            };
            commands::request(
                &NodeClient::new(&rpc.url)?,
                &key,
                &options,
                &out,
                force,
                json,
            )
            .await
        }
        Command::Quote {
            transform,
            inputs,
            fuel,
            height,
            requester,
            output,
            rpc,
        } => {
            commands::quote(
                &NodeClient::new(&rpc.url)?,
                &transform,
                &inputs,
                fuel,
                height,
                requester.as_deref(),
                &output,
            )
            .await
        }
        Command::Keyspace(command) => {
            let url = match &command {
                cli::KeyspaceCommand::Buy { rpc, .. }
                | cli::KeyspaceCommand::SetScript { rpc, .. }
                | cli::KeyspaceCommand::Show { rpc, .. } => rpc.url.clone(),
            };
            commands::keyspace(&NodeClient::new(&url)?, command).await
        }
        Command::Put {
            target,
            value,
            file,
            write,
            rpc,
        } => {
            commands::put(
                &NodeClient::new(&rpc.url)?,
                target,
                value,
                file.as_deref(),
                &write,
            )
            .await
        }
        Command::Delete { target, write, rpc } => {
            commands::delete(&NodeClient::new(&rpc.url)?, target, &write).await
        }
        Command::Get {
            key,
            out,
            verify,
            json,
            light,
            rpc,
        } => {
            let client = NodeClient::new(&rpc.url)?;
            let light = verify::LightClient::from_args(light);
            match (verify, json) {
                (true, true) => verify::get_verified_json(&client, &key, &light).await,
                (true, false) => verify::get_verified(&client, &key, out.as_deref(), &light).await,
                (false, true) => commands::get_json(&client, &key).await,
                (false, false) => commands::get(&client, &key, out.as_deref()).await,
            }
        }
        Command::Proof {
            key,
            json,
            light,
            rpc,
        } => {
            let client = NodeClient::new(&rpc.url)?;
            verify::proof(&client, &key, &verify::LightClient::from_args(light), json).await
        }
        Command::Status {
            wait_sync,
            wait_sync_timeout_secs,
            output,
            rpc,
        } => {
            let client = NodeClient::new(&rpc.url)?;
            if wait_sync {
                commands::wait_for_sync(
                    &client,
                    std::time::Duration::from_secs(wait_sync_timeout_secs),
                )
                .await?;
            }
            commands::status(&client, &output).await
        }
        Command::Earnings(command) => {
            let url = match &command {
                cli::EarningsCommand::Show { rpc, .. }
                | cli::EarningsCommand::Claim { rpc, .. } => rpc.url.clone(),
            };
            commands::earnings(&NodeClient::new(&url)?, command).await
        }
        Command::Bounty(command) => {
            let url = match &command {
                cli::BountyCommand::Post { rpc, .. } | cli::BountyCommand::Show { rpc, .. } => {
                    rpc.url.clone()
                }
            };
            commands::bounty(&NodeClient::new(&url)?, command).await
        }
        Command::Chains { json, rpc } => commands::chains(&NodeClient::new(&rpc.url)?, json).await,
        Command::Browse {
            search,
            limit,
            json,
            rpc,
        } => commands::browse(&NodeClient::new(&rpc.url)?, search.as_deref(), limit, json).await,
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
        Command::Bench(BenchCommand::LightClient {
            height,
            rounds,
            json,
        }) => light::bench(height, rounds, json).map_err(whole_chain),
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
