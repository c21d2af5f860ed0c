//! `bitverse devnet` as a user runs it: N real node processes on loopback that find each other,
//! mine one chain, answer on the RPC URLs the devnet prints, and all stop when the devnet is
//! told to.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use bitverse_primitives::{BASE_UNITS_PER_COIN, SecretKey};
use common::{rpc_call, start_devnet};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// Nodes in the test devnet.
const NODES: usize = 3;
/// How long the nodes may take to connect and mine a few blocks onto one chain.
const CONVERGE_TIMEOUT_MS: u64 = 120_000;
/// How long the devnet may take to stop every node after SIGTERM.
const STOP_TIMEOUT_MS: u64 = 30_000;
/// Height every node must reach, on one chain, for the test to pass.
const HEIGHT_MIN: u64 = 3;
/// How long the nodes' stakes (a funding block, then a staking block) may take to show.
const STAKE_TIMEOUT_MS: u64 = 120_000;

fn status(url: &str) -> Option<Value> {
    rpc_call(url, "bv_status", json!([])).ok()?.ok()
}

#[test]
fn devnet_nodes_connect_mine_one_chain_and_stop_together() {
    let dir = tempfile::tempdir().unwrap();
    let mut devnet = start_devnet(dir.path(), NODES, &[]);
    assert_eq!(devnet.urls.len(), NODES);

    // Every node reaches HEIGHT_MIN and, at one moment, all report the same block at the
    // height the lowest of them is at: one chain, mined together.
    let deadline = Instant::now() + Duration::from_millis(CONVERGE_TIMEOUT_MS);
    loop {
        let statuses: Vec<Option<Value>> = devnet.urls.iter().map(|u| status(u)).collect();
        let converged = statuses.iter().all(|s| {
            s.as_ref()
                .is_some_and(|s| s["height"].as_u64().unwrap_or(0) >= HEIGHT_MIN)
        }) && {
            let low = statuses
                .iter()
                .flatten()
                .map(|s| s["height"].as_u64().unwrap_or(0))
                .min()
                .unwrap_or(0);
            let at_low: Vec<Option<Value>> = devnet
                .urls
                .iter()
                .map(|u| {
                    rpc_call(u, "bv_getHeaders", json!([low, 1]))
                        .ok()
                        .and_then(Result::ok)
                })
                .collect();
            at_low.iter().all(|h| h.is_some() && *h == at_low[0])
        };
        if converged {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nodes did not converge on one chain of height {HEIGHT_MIN}: {statuses:?}"
        );
        thread::sleep(Duration::from_millis(500));
    }
    for url in &devnet.urls {
        let peers = status(url).unwrap()["peers"].as_u64().unwrap_or(0);
        assert!(peers >= 1, "{url} has no peers");
    }

    // Every node stakes from its own dev account (funded by dev:alice) as offerer and as
    // relayer, so a quote lists each of them at once.
    let per_role = (100 * BASE_UNITS_PER_COIN).to_string();
    let deadline = Instant::now() + Duration::from_millis(STAKE_TIMEOUT_MS);
    for index in 0..NODES {
        let node = SecretKey::dev(&format!("node-{index}"))
            .account()
            .to_string();
        loop {
            let stake = rpc_call(&devnet.urls[0], "bv_getStake", json!([node]))
                .ok()
                .and_then(Result::ok);
            if stake
                .as_ref()
                .is_some_and(|s| s["offerer"] == json!(per_role) && s["relayer"] == json!(per_role))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node-{index} did not stake: {stake:?}"
            );
            thread::sleep(Duration::from_millis(500));
        }
    }
    let quote = rpc_call(
        &devnet.urls[1],
        "bv_quote",
        json!(["filters/bw", ["photos/one"], 1_000_000]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        quote["offers"].as_array().unwrap().len(),
        NODES,
        "every node offers: {quote}"
    );

    // SIGTERM (as Ctrl-C would): the devnet stops every node and exits.
    kill(Pid::from_raw(devnet.child.id() as i32), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_millis(STOP_TIMEOUT_MS);
    let exit = loop {
        if let Some(status) = devnet.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "devnet did not stop");
        thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "devnet exited with {exit}");
    for url in &devnet.urls {
        assert!(
            rpc_call(url, "bv_status", json!([])).is_err(),
            "{url} still answers after the devnet stopped"
        );
    }
    for index in 0..NODES {
        let addr_file = dir.path().join(format!("node-{index}/rpc.addr"));
        assert!(
            !addr_file.exists(),
            "node-{index} did not stop cleanly: {} remains",
            addr_file.display()
        );
    }
}
