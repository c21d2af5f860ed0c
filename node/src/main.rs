//! `bitverse`: the one program of Bitverse. `bitverse node` runs a node and its JSON-RPC
//! server; every other command is a client of that server. This file parses the command line,
//! sets up logging and the runtime, and turns each command's outcome into an exit code.
//!
//! Invariant: this crate is the only one that meets the outside world (HTTP, the command line,
//! signals, the clock); the chain's rules live in `bitverse-blocktree`.

mod bench;
mod bench_network;
mod cli;
mod client;
mod commands;
mod devnet;
mod keys;
mod metrics;
mod node;
mod openrpc;
mod p2p;
mod rpc_api;
mod server;
mod verify;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{BenchCommand, Cli, Command};
use crate::client::{CliError, NodeClient};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let is_node = matches!(cli.command, Command::Node(_));
    init_logging(cli.log_level.as_deref(), is_node);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, cli.log_level)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// Logs go to stderr, so stdout carries only a command's answer (e.g. a value's raw bytes).
fn init_logging(log_level: Option<&str>, is_node: bool) {
    let default_level = if is_node { "info" } else { "warn" };
    let filter = match log_level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
    };
    // Colour only on a terminal: logs redirected to a file stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

/// The errors of commands that run processes (node, devnet, network benches) are their own,
/// not a node's refusal: `{:#}` puts the whole cause chain on one line.
fn whole_chain(e: anyhow::Error) -> CliError {
    CliError::Failed(format!("{e:#}"))
}

async fn run(command: Command, log_level: Option<String>) -> Result<(), CliError> {
    match command {
        Command::Node(args) => node::run(args).await.map_err(whole_chain),
        Command::Devnet(args) => devnet::run(args, log_level).await.map_err(whole_chain),
        Command::Wallet(command) => commands::wallet(command),
        Command::Balance { address, rpc } => {
            commands::balance(&NodeClient::new(&rpc.url)?, &address).await
        }
        Command::Send {
            to,
            amount,
            write,
            rpc,
        } => commands::send(&NodeClient::new(&rpc.url)?, &to, amount, &write).await,
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
            rpc,
        } => {
            let client = NodeClient::new(&rpc.url)?;
            if verify {
                verify::get_verified(&client, &key, out.as_deref()).await
            } else {
                commands::get(&client, &key, out.as_deref()).await
            }
        }
        Command::Status { rpc } => commands::status(&NodeClient::new(&rpc.url)?).await,
        Command::Chains { rpc } => commands::chains(&NodeClient::new(&rpc.url)?).await,
        Command::Bench(BenchCommand::Puts {
            count,
            senders,
            value_bytes,
            batch,
            json,
            rpc,
        }) => {
            let options = bench::PutsBenchOptions {
                count,
                senders,
                value_bytes,
                batch,
                json,
            };
            bench::puts(&NodeClient::new(&rpc.url)?, &options).await
        }
        Command::Bench(BenchCommand::Propagation {
            nodes,
            blocks,
            dir,
            json,
        }) => bench_network::propagation(bench_network::PropagationOptions {
            nodes: usize::try_from(nodes).unwrap_or(usize::MAX),
            blocks,
            dir,
            json,
        })
        .await
        .map_err(whole_chain),
        Command::Bench(BenchCommand::Sync {
            blocks,
            txs,
            dir,
            json,
        }) => bench_network::sync(bench_network::SyncOptions {
            blocks,
            txs_per_block: txs,
            dir,
            json,
        })
        .await
        .map_err(whole_chain),
    }
}
