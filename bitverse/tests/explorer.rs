//! Discovery and the explorer page against real node processes: `bitverse browse` lists what
//! the CLI wrote (keyspace, most written, most read, `--search`, `--json`) and, on a node that
//! synced over the network, what it synced; the index is rebuilt when deleted; the node serves
//! the page's assets on the RPC port, a module written with `put --file` is listed as a
//! transformation, and a real headless Chromium (Debian's `chromium`, driven
//! by playwright-core; `scripts/setup` installs both) loads the page, sees the block, watches a
//! new write arrive by subscription, follows the block to the key and sees its proof, with no
//! console error. Screenshots are saved under `TARGET_DIR/explorer-artifacts/`.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use bitverse_blocktree::{ChainParams, TxPayload, UnsignedTx};
use bitverse_primitives::{Amount, ChainId, SecretKey};
use common::{TestNode, binary, http_get, wait_for};
use serde_json::{Value, json};

/// How long the browser run may take, end to end (it has its own, shorter watchdog).
const BROWSER_RUN_TIMEOUT_MS: u64 = 180_000;
/// How long a late node may take to sync a short chain over the network.
const SYNC_TIMEOUT_MS: u64 = 120_000;
/// A transformation (docs/TRANSFORMS.md) that writes an empty output.
const TRANSFORM_WAT: &str = r#"(module
  (import "bitverse_transform_v1" "output_write" (func $output_write (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "transform") (result i32) (call $output_write (i32.const 0) (i32.const 0)) (i32.const 0)))"#;
/// The browser the test drives, as Debian installs it.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The target directory the test binary was built in (`…/target`), from the binary's path.
fn target_dir() -> PathBuf {
    Path::new(binary())
        .parent()
        .and_then(Path::parent)
        .expect("the bitverse binary lives in TARGET/PROFILE/")
        .to_path_buf()
}

/// The browser driver's directory (package.json, node_modules from `scripts/setup`).
fn driver_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/explorer")
}

fn json_of(output: &common::CliOutput) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", output.stdout_text()))
}

/// A dev node with keyspace `alice` bought and `alice/hello` written and read once; returns
/// the node and the height of the block that included the put.
fn node_with_a_key(dir: &Path) -> (TestNode, u64) {
    let node = TestNode::start(&dir.join("node"));
    node.cli(&[
        "keyspace",
        "buy",
        "alice",
        "--key",
        "dev:alice",
        "--quota",
        "100000",
    ])
    .assert_ok("keyspace buy");
    let put = node.cli(&[
        "put",
        "alice/hello",
        "--key",
        "dev:alice",
        "--value",
        "hello, explorer",
        "--json",
    ]);
    let height = json_of(put.assert_ok("put"))["height"]
        .as_u64()
        .expect("put --json says the height");
    node.cli(&["get", "alice/hello"]).assert_ok("get");
    (node, height)
}

#[test]
fn browse_lists_the_keyspace_and_the_keys_written_and_read_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (node, height) = node_with_a_key(dir.path());

    let listed = json_of(node.cli(&["browse", "--json"]).assert_ok("browse --json"));
    let alice = &listed["keyspaces"][0];
    assert_eq!(alice["name"], "alice", "{listed}");
    assert_eq!(alice["chain"], "root");
    assert_eq!(alice["last_write_height"], height);
    assert_eq!(alice["script_hash"], Value::Null);
    assert_eq!(
        alice["size_bytes"],
        ("alice/hello".len() + "hello, explorer".len()) as u64
    );
    assert_eq!(
        listed["most_written"][0],
        json!({"key": "alice/hello", "count": 1, "chain": "root", "last_write_height": height})
    );
    assert_eq!(
        listed["most_read"][0],
        json!({"key": "alice/hello", "count": 1})
    );
    assert_eq!(listed["indexed"][0]["chain"], "root");

    // Human output: the tables, sizes readable; --search narrows every list.
    let text = node.cli(&["browse"]).assert_ok("browse").stdout_text();
    for expected in [
        "keyspaces (1)",
        "alice",
        "26 B",
        "97.6 KiB",
        "owner-only",
        "most read (1)",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    let none = json_of(
        node.cli(&["browse", "--search", "nothing-like-it", "--json"])
            .assert_ok("search"),
    );
    assert_eq!(none["keyspaces"], json!([]));
    assert_eq!(none["most_written"], json!([]));
    let refused = node.cli(&["browse", "--limit", "201"]);
    assert_ne!(refused.code, 0, "a limit above the maximum is refused");
    assert!(refused.stderr.contains("201"), "{}", refused.stderr);

    // The page's RPC methods over the same node.
    let recent = node.rpc("bv_getRecentBlocks", json!(["root", 2])).unwrap();
    assert_eq!(recent[0]["height"], height, "{recent}");
    let hash = recent[0]["hash"].as_str().unwrap().to_owned();
    let block = node.rpc("bv_getBlockByHash", json!([hash])).unwrap();
    assert_eq!(block["transactions"][0]["kind"], "put", "{block}");
    assert_eq!(block["transactions"][0]["key"], "alice/hello");
    assert_eq!(block["on_best_chain"], true);
    // A transformation module written with the CLI is listed as one.
    let module = wat::parse_str(TRANSFORM_WAT).unwrap();
    let module_file = dir.path().join("nothing.wasm");
    std::fs::write(&module_file, &module).unwrap();
    node.cli(&[
        "put",
        "alice/nothing",
        "--key",
        "dev:alice",
        "--file",
        module_file.to_str().unwrap(),
    ])
    .assert_ok("put a module");
    let listed = json_of(
        node.cli(&["browse", "--json"])
            .assert_ok("browse after module"),
    );
    assert_eq!(
        listed["transformations"][0]["key"], "alice/nothing",
        "{listed}"
    );
    assert_eq!(listed["transformations"][0]["size_bytes"], module.len());
    let keys = node.rpc("bv_getKeyspaceKeys", json!(["alice"])).unwrap();
    assert_eq!(
        keys,
        json!({"keyspace": "alice", "keys": [
            {"key": "alice/hello", "size_bytes": 26},
            {"key": "alice/nothing", "size_bytes": "alice/nothing".len() + module.len()},
        ], "truncated": false})
    );
}

#[test]
fn the_index_is_rebuilt_when_a_restarted_node_finds_it_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut node, height) = node_with_a_key(dir.path());
    let before = json_of(node.cli(&["browse", "--json"]).assert_ok("browse"));
    node.kill_9();
    std::fs::remove_dir_all(dir.path().join("node/browse")).expect("the index's directory");
    let node = TestNode::start(&dir.path().join("node"));
    let after = json_of(
        node.cli(&["browse", "--json"])
            .assert_ok("browse after restart"),
    );
    assert_eq!(after["keyspaces"], before["keyspaces"]);
    assert_eq!(after["most_written"], before["most_written"]);
    assert_eq!(after["indexed"][0]["height"], height);
}

#[test]
fn the_node_serves_the_explorer_assets_and_still_answers_json_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(&dir.path().join("node"));
    let (status, content_type, page) = http_get(&node.url, "/");
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains("/explorer.js") && page.contains("/explorer.css"));
    let (status, content_type, script) = http_get(&node.url, "/explorer.js");
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    assert!(script.contains("bv_subscribeNewHeads"));
    let (status, content_type, _) = http_get(&node.url, "/explorer.css");
    assert_eq!((status, content_type.starts_with("text/css")), (200, true));
    // JSON-RPC is a POST to the same path, and still answered.
    assert_eq!(node.status()["network"], "dev");
}

/// Runs the browser driver with `config`; panics with its output unless it succeeded.
fn run_browser(config: &Value) -> Value {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium)"
    );
    assert!(
        driver_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run scripts/setup (npm ci in bitverse/tests/explorer)"
    );
    let mut child = Command::new("node")
        .arg(driver_dir().join("explorer.mjs"))
        .current_dir(driver_dir())
        .env("EXPLORER_TEST_CONFIG", config.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node (scripts/setup installs Node.js)");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_millis(BROWSER_RUN_TIMEOUT_MS);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the browser run timed out; stderr:\n{}",
                err.join().unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    assert!(status.success(), "the browser run failed:\n{err}\n{out}");
    serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the driver's summary is not JSON ({e}): {out}"))
}

#[test]
fn headless_chromium_sees_the_block_a_live_write_and_the_keys_proof_without_console_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (node, height) = node_with_a_key(dir.path());
    // A keyspace one level down, so the tree has a data chain anchored in the root.
    node.cli(&[
        "keyspace",
        "buy",
        "deep",
        "--key",
        "dev:alice",
        "--quota",
        "1000",
        "--depth",
        "1",
    ])
    .assert_ok("keyspace buy --depth 1");
    node.cli(&[
        "put",
        "deep/x",
        "--key",
        "dev:alice",
        "--value",
        "down here",
    ])
    .assert_ok("put deep/x");
    let data_chain = node.rpc("bv_getKeyChain", json!(["deep/x"])).unwrap()["chain"]
        .as_str()
        .unwrap()
        .to_owned();
    let artifacts = target_dir().join("explorer-artifacts");
    // Fresh each run, so a screenshot there is this run's.
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    let config = json!({
        "url": node.url,
        "artifacts": artifacts,
        "userDataDir": dir.path().join("chromium-profile"),
        "chromium": CHROMIUM,
        "height": height,
        "dataChain": data_chain,
        "key": "alice/hello",
        "value": "hello, explorer",
        "liveKey": "alice/live",
        "liveWrite": [
            binary(), "put", "alice/live", "--key", "dev:alice", "--value", "written while watching",
            "--rpc", node.url,
        ],
    });
    let summary = run_browser(&config);
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(
        summary["http_requests"], 3,
        "the page's three assets, then WebSocket only"
    );
    for name in summary["screenshots"].as_array().unwrap() {
        let path = artifacts.join(name.as_str().unwrap());
        let png = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", path.display());
    }
    eprintln!("explorer screenshots: {}", artifacts.display());
}

/// Builds a `local` chain in `db_dir` as a miner would (past times, minimum work): alice buys
/// keyspace `synced` and writes `synced/k` three times and `synced/other` once. Returns the
/// tip's height.
fn build_local_chain_with_writes(db_dir: &Path) -> u64 {
    let params = ChainParams::local();
    let spacing_ms = params.root.block_interval_target_ms * 4;
    let start_ms = params.genesis_time_ms;
    let price = params.root.storage_price_per_byte;
    let mut chain = bitverse_store_rocks::open_chain(db_dir, params).unwrap();
    let alice = SecretKey::dev("alice");
    let miner = SecretKey::dev("miner").account();
    let payloads = [
        TxPayload::BuyKeyspace {
            name: "synced".into(),
            owner: alice.account(),
            quota_bytes: 1000,
            prepaid: Amount(price.0 * 1000),
            script: None,
            depth: 0,
        },
        TxPayload::Put {
            key: "synced/k".into(),
            value: b"1".to_vec(),
        },
        TxPayload::Put {
            key: "synced/k".into(),
            value: b"2".to_vec(),
        },
        TxPayload::Put {
            key: "synced/other".into(),
            value: b"x".to_vec(),
        },
        TxPayload::Put {
            key: "synced/k".into(),
            value: b"3".to_vec(),
        },
    ];
    for (i, payload) in payloads.into_iter().enumerate() {
        let tx = UnsignedTx {
            chain: ChainId::ROOT,
            sender: alice.account(),
            nonce: i as u64,
            fee: Amount(1),
            payload,
        }
        .sign(&alice);
        chain.submit_transaction(tx).unwrap();
        chain
            .produce_block(
                miner,
                start_ms + (i as u64 + 1) * spacing_ms,
                true,
                u64::MAX,
            )
            .unwrap()
            .expect("unbounded attempts always seal");
    }
    chain.tip().height
}

#[test]
fn a_node_that_synced_over_the_network_browses_what_it_synced() {
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = dir.path().join("seed");
    // `chain` is where `bitverse node` keeps its database inside the data directory.
    let tip_height = build_local_chain_with_writes(&seed_dir.join("chain"));
    let seed = TestNode::start_networked(&seed_dir, false, &[]);
    let late = TestNode::start_networked(&dir.path().join("late"), false, &[seed.p2p_plain()]);
    wait_for(
        SYNC_TIMEOUT_MS,
        "the late node to sync the seed's chain",
        || (late.status()["height"] == json!(tip_height)).then_some(()),
        || format!("late at {}; log:\n{}", late.status()["height"], late.log()),
    );
    // The blocks came through p2p sync (the chain worker's imports), not a sealer: the index
    // follows them all the same.
    let listed = json_of(
        late.cli(&["browse", "--json"])
            .assert_ok("browse on the late node"),
    );
    assert_eq!(listed["keyspaces"][0]["name"], "synced", "{listed}");
    assert_eq!(listed["keyspaces"][0]["last_write_height"], tip_height);
    let written: Vec<(Value, Value)> = listed["most_written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["key"].clone(), w["count"].clone()))
        .collect();
    assert_eq!(
        written,
        [
            (json!("synced/k"), json!(3)),
            (json!("synced/other"), json!(1))
        ]
    );
    assert_eq!(listed["indexed"][0]["height"], tip_height);
}
