//! The node as an operator and a client program see it from outside: `GET /metrics` moves with
//! the chain and the RPC calls made, `rpc.discover` answers a well-formed OpenRPC document, and
//! WebSocket subscriptions on the RPC port deliver new heads and a transaction's fate. One dev
//! node process for all of it.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use bitverse_blocktree::TxPayload;
use bitverse_primitives::{Amount, SecretKey};
use common::{TestNode, signed, tx_hex, wait_included};
use jsonrpsee::core::client::{Subscription, SubscriptionClientT};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use serde_json::{Value, json};

/// How long a test waits for a scrape or a notification.
const WAIT_MS: u64 = 30_000;

/// `GET /metrics`: the status code, the content type and the body.
fn scrape(url: &str) -> (u16, String, String) {
    common::http_get(url, "/metrics")
}

/// The value of the sample line `series` (name and labels exactly as printed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.split(' ').next()?.parse().ok())
}

/// The sample names a scrape can show, from its `# TYPE` lines (empty families included).
fn exposed_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        if let ["#", "TYPE", name, kind] = words.as_slice() {
            match *kind {
                "counter" => {
                    names.insert(format!("{name}_total"));
                }
                "histogram" => {
                    for suffix in ["_bucket", "_count", "_sum"] {
                        names.insert(format!("{name}{suffix}"));
                    }
                }
                _ => {
                    names.insert((*name).to_owned());
                }
            }
        }
    }
    names
}

/// Sends a transaction; returns its hash.
fn send(node: &TestNode, tx: &bitverse_blocktree::Transaction) -> String {
    node.rpc("bv_sendTransaction", json!([tx_hex(tx)]))
        .unwrap_or_else(|e| panic!("send: {e:?}; log:\n{}", node.log()))
        .as_str()
        .unwrap()
        .to_owned()
}

async fn next_item(subscription: &mut Subscription<Value>, what: &str) -> Value {
    tokio::time::timeout(Duration::from_millis(WAIT_MS), subscription.next())
        .await
        .unwrap_or_else(|_| panic!("no {what} in time"))
        .unwrap_or_else(|| panic!("{what}: subscription ended"))
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[test]
fn metrics_discovery_and_subscriptions_follow_a_written_value() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(&dir.path().join("node"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ws_url = node.url.replacen("http://", "ws://", 1);
    let client = runtime
        .block_on(WsClientBuilder::default().build(&ws_url))
        .unwrap_or_else(|e| panic!("WebSocket connect to {ws_url}: {e}"));
    let mut heads: Subscription<Value> = runtime
        .block_on(client.subscribe(
            "bv_subscribeNewHeads",
            rpc_params!["root"],
            "bv_unsubscribeNewHeads",
        ))
        .expect("subscribe to new heads");

    // Before: a scrape in the OpenMetrics text format, at height 0 and an empty mempool.
    let (status, content_type, before) = scrape(&node.url);
    assert_eq!(status, 200, "{before}");
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(before.trim_end().ends_with("# EOF"), "{before}");
    assert_eq!(
        sample(&before, "bitverse_chain_height{chain=\"root\"}"),
        Some(0.0)
    );
    assert_eq!(sample(&before, "bitverse_mempool_transactions"), Some(0.0));
    let sends_before = sample(
        &before,
        "bitverse_rpc_request_seconds_count{method=\"bv_sendTransaction\"}",
    )
    .unwrap_or(0.0);

    // Write a value: buy a keyspace, then put.
    let alice = SecretKey::dev("alice");
    let buy = signed(
        &alice,
        0,
        TxPayload::BuyKeyspace {
            name: "alice".into(),
            owner: alice.account(),
            quota_bytes: 10_000,
            // The dev network's root price: 256 base units a byte.
            prepaid: Amount(10_000 * 256),
            script: None,
            depth: 0,
        },
    );
    let buy_hash = send(&node, &buy);
    let buy_height = wait_included(&node.url, &buy_hash).unwrap();
    let put = signed(
        &alice,
        1,
        TxPayload::Put {
            key: "alice/hello".into(),
            value: b"world".to_vec(),
        },
    );
    let put_hash = send(&node, &put);
    // The transaction's fate over WebSocket: pending or already included, ending included.
    let mut fate: Subscription<Value> = runtime
        .block_on(client.subscribe(
            "bv_subscribeTransaction",
            rpc_params![put_hash.clone()],
            "bv_unsubscribeTransaction",
        ))
        .expect("subscribe to the put's fate");
    let put_height = wait_included(&node.url, &put_hash).unwrap();
    assert_eq!(put_height, buy_height + 1);
    let mut final_fate = runtime.block_on(next_item(&mut fate, "the put's status"));
    if final_fate["status"] == "pending" {
        final_fate = runtime.block_on(next_item(&mut fate, "the put's inclusion"));
    }
    assert_eq!(final_fate["status"], "included", "{final_fate}");
    assert_eq!(final_fate["height"], json!(put_height));

    // New heads over WebSocket: both blocks, in order, with their hashes.
    for height in [buy_height, put_height] {
        let head = runtime.block_on(next_item(&mut heads, "a new head"));
        assert_eq!(head["height"], json!(height), "{head}");
        assert_eq!(head["chain"], "root");
        let header = node
            .rpc("bv_getHeaders", json!([height, 1]))
            .expect("bv_getHeaders");
        assert_eq!(head["header_hex"], header[0], "{head}");
    }

    // A transaction with a nonce gap waits in the mempool: the gauge moves.
    let gap = signed(
        &alice,
        3,
        TxPayload::Put {
            key: "alice/later".into(),
            value: b"x".to_vec(),
        },
    );
    send(&node, &gap);

    let (_, _, after) = scrape(&node.url);
    assert_eq!(
        sample(&after, "bitverse_chain_height{chain=\"root\"}"),
        Some(put_height as f64),
        "{after}"
    );
    assert_eq!(sample(&after, "bitverse_mempool_transactions"), Some(1.0));
    let sends_after = sample(
        &after,
        "bitverse_rpc_request_seconds_count{method=\"bv_sendTransaction\"}",
    )
    .expect("bv_sendTransaction is timed");
    assert_eq!(sends_after - sends_before, 3.0, "{after}");
    assert_eq!(
        sample(&after, "bitverse_blocks_produced_total{chain=\"root\"}"),
        Some(put_height as f64)
    );
    assert_eq!(
        sample(
            &after,
            "bitverse_block_import_seconds_count{chain=\"root\",source=\"sealed\"}"
        ),
        Some(put_height as f64),
        "{after}"
    );
    assert!(
        sample(
            &after,
            "bitverse_produced_rewards_base_units_total{chain=\"root\"}"
        )
        .is_some_and(|fees| fees >= 2.0),
        "the two fees at least: {after}"
    );
    assert_eq!(sample(&after, "bitverse_peers"), Some(0.0));

    // A data chain: its height is scraped under its own label, as bv_chains reports it.
    node.cli(&[
        "keyspace", "buy", "obs", "--key", "dev:bob", "--quota", "1000", "--depth", "1",
    ])
    .assert_ok("keyspace buy --depth 1");
    node.cli(&["put", "obs/x", "--key", "dev:bob", "--value", "v"])
        .assert_ok("put on a data chain");
    let data_chain = node
        .rpc("bv_getKeyChain", json!(["obs/x"]))
        .expect("bv_getKeyChain")["chain"]
        .as_str()
        .unwrap()
        .to_owned();
    let height = node
        .rpc("bv_chains", json!([]))
        .expect("bv_chains")
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chain"] == data_chain.as_str())
        .and_then(|c| c["height"].as_u64())
        .expect("the data chain in bv_chains");
    let (_, _, with_data) = scrape(&node.url);
    assert_eq!(
        sample(
            &with_data,
            &format!("bitverse_chain_height{{chain=\"{data_chain}\"}}")
        ),
        Some(height as f64),
        "{with_data}"
    );

    // Every metric the Grafana dashboard queries is in the scrape.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../deploy/grafana/bitverse.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let exposed = exposed_names(&after);
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            for name in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("bitverse_"))
            {
                assert!(
                    exposed.contains(name),
                    "dashboard queries {name}, not exposed"
                );
            }
        }
    }

    // rpc.discover: an OpenRPC document naming every method, each with params and a result.
    let document = node.rpc("rpc.discover", json!([])).expect("rpc.discover");
    assert!(
        document["openrpc"].as_str().unwrap().starts_with("1."),
        "{document}"
    );
    assert!(document["info"]["title"].is_string());
    assert!(document["info"]["version"].is_string());
    let methods = document["methods"].as_array().expect("methods");
    let names: BTreeSet<&str> = methods
        .iter()
        .map(|m| m["name"].as_str().expect("a name"))
        .collect();
    for expected in [
        "rpc.discover",
        "bv_status",
        "bv_sendTransaction",
        "bv_getProof",
        "bv_subscribeNewHeads",
        "bv_subscribeTransaction",
    ] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
    for method in methods {
        assert!(method["params"].is_array(), "{method}");
        assert!(method["result"]["schema"].is_object(), "{method}");
        for error in method["errors"].as_array().unwrap() {
            let reference = error["$ref"].as_str().unwrap();
            let name = reference.rsplit('/').next().unwrap();
            assert!(
                document["components"]["errors"][name]["code"].is_i64(),
                "{reference}"
            );
        }
    }
    let subscribe = methods
        .iter()
        .find(|m| m["name"] == "bv_subscribeNewHeads")
        .unwrap();
    assert_eq!(subscribe["x-subscription"]["notification"], "bv_newHead");

    // The latency of rpc.discover itself is now on the scrape too.
    let (_, _, last) = scrape(&node.url);
    assert_eq!(
        sample(
            &last,
            "bitverse_rpc_request_seconds_count{method=\"rpc.discover\"}"
        ),
        Some(1.0),
        "{last}"
    );
}
