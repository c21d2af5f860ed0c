//! The command-line client: every `bitverse` command that talks to a node, over JSON-RPC
//! ([`NodeClient`]). [`run`] carries out one [`args::ClientCommand`]; `program` is the small
//! `bitverse` binary, which runs these commands itself and hands every other one to the whole
//! program (`bitverse-full`, whose command line, in `bitverse-node`, flattens these commands
//! into its own).
//!
//! Layout: `args` (the commands' flags and help), `node_client` (the typed JSON-RPC client and
//! [`CliError`], whose kinds are the exit codes), `commands` (wallet, keyspaces, values,
//! stakes, bounties, status), `blob` (files as blobs), `challenge` (the publisher's
//! challenge schedules), `light` and `verify` (the light client: header chains checked
//! from genesis, proofs checked against them), `request` (a market request, end to end),
//! `wait` (until a transaction is in a block), `output` (where an answer is written),
//! `keys` (key files and addresses) and `program` (a client command as a process: routing,
//! logging, runtime, exit code).
//!
//! Invariant: the client trusts no node for what it verifies (the network it verifies against
//! is its own flag); it knows the node only through `bitverse-rpc-api`'s wire shapes and the
//! market's gossip messages (`bitverse-market-wire`), never the node's internals, libp2p or
//! the server.

pub mod args;
mod blob;
pub mod challenge;
mod commands;
pub mod keys;
mod light;
mod node_client;
mod output;
pub mod program;
pub mod request;
mod submit;
mod verify;
mod wait;

pub use crate::light::bench as bench_light_client;
pub use crate::node_client::{CliError, NodeClient};
pub use crate::wait::wait_for_inclusion;

use crate::args::{BlobCommand, BountyCommand, ClientCommand, EarningsCommand, KeyspaceCommand};

/// Runs one client command against the node its `--rpc` names.
pub async fn run(command: ClientCommand) -> Result<(), CliError> {
    match command {
        ClientCommand::Wallet(command) => commands::wallet(command),
        ClientCommand::Balance {
            address,
            output,
            rpc,
        } => commands::balance(&NodeClient::new(&rpc.url)?, &address, &output).await,
        ClientCommand::Send {
            to,
            amount,
            write,
            rpc,
        } => commands::send(&NodeClient::new(&rpc.url)?, &to, amount.0, &write).await,
        ClientCommand::Stake {
            amount,
            role,
            write,
            rpc,
        } => commands::stake(&NodeClient::new(&rpc.url)?, amount.0, role, false, &write).await,
        ClientCommand::Unstake {
            amount,
            role,
            write,
            rpc,
        } => commands::stake(&NodeClient::new(&rpc.url)?, amount.0, role, true, &write).await,
        ClientCommand::Ledger {
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
        ClientCommand::Request {
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
        ClientCommand::Quote {
            put: Some(path),
            shares,
            output,
            rpc,
            ..
        } => blob::quote(&NodeClient::new(&rpc.url)?, &path, shares, &output).await,
        ClientCommand::Quote {
            transform,
            inputs,
            fuel,
            height,
            requester,
            output,
            rpc,
            ..
        } => {
            let transform = transform.unwrap_or_default();
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
        ClientCommand::Keyspace(command) => {
            let url = match &command {
                KeyspaceCommand::Buy { rpc, .. }
                | KeyspaceCommand::SetScript { rpc, .. }
                | KeyspaceCommand::Show { rpc, .. } => rpc.url.clone(),
            };
            commands::keyspace(&NodeClient::new(&url)?, command).await
        }
        ClientCommand::Blob(BlobCommand::Show { key, output, rpc }) => {
            blob::show(&NodeClient::new(&rpc.url)?, &key, &output).await
        }
        ClientCommand::Blob(BlobCommand::Challenge {
            target,
            shard,
            amount,
            challenges_dir,
            write,
            rpc,
        }) => {
            let dir = challenges_dir.unwrap_or_else(challenge::default_dir);
            blob::challenge(
                &NodeClient::new(&rpc.url)?,
                &target,
                shard,
                amount.0,
                &write,
                &dir,
            )
            .await
        }
        ClientCommand::Put {
            target,
            value: None,
            file: Some(path),
            shares,
            content_type,
            endowment,
            challenges,
            challenges_dir,
            write,
            rpc,
        } => {
            let put = blob::BlobPut {
                path: &path,
                shares,
                content_type,
                endowment: endowment.map(|a| a.0),
                challenges,
                challenges_dir: challenges_dir.unwrap_or_else(challenge::default_dir),
            };
            commands::put_file(&NodeClient::new(&rpc.url)?, target, put, &write).await
        }
        ClientCommand::Put {
            target,
            value,
            file,
            write,
            rpc,
            ..
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
        ClientCommand::Delete { target, write, rpc } => {
            commands::delete(&NodeClient::new(&rpc.url)?, target, &write).await
        }
        ClientCommand::Get {
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
        ClientCommand::Proof {
            key,
            json,
            light,
            rpc,
        } => {
            let client = NodeClient::new(&rpc.url)?;
            verify::proof(&client, &key, &verify::LightClient::from_args(light), json).await
        }
        ClientCommand::Status {
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
        ClientCommand::Earnings(command) => {
            let url = match &command {
                EarningsCommand::Show { rpc, .. } | EarningsCommand::Claim { rpc, .. } => {
                    rpc.url.clone()
                }
            };
            commands::earnings(&NodeClient::new(&url)?, command).await
        }
        ClientCommand::Bounty(command) => {
            let url = match &command {
                BountyCommand::Post { rpc, .. } | BountyCommand::Show { rpc, .. } => {
                    rpc.url.clone()
                }
            };
            commands::bounty(&NodeClient::new(&url)?, command).await
        }
        ClientCommand::Chains { json, rpc } => {
            commands::chains(&NodeClient::new(&rpc.url)?, json).await
        }
        ClientCommand::Browse {
            search,
            limit,
            json,
            rpc,
        } => commands::browse(&NodeClient::new(&rpc.url)?, search.as_deref(), limit, json).await,
    }
}
