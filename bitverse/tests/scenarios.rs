//! Scenario tests of the real `bitverse` binary on loopback: the CLI round trip with local
//! proof verification, crash safety under SIGKILL during a stream of writes (a short run of
//! `bitverse bench crash`, against a replica that never crashed), and refusal of bad
//! input while the node keeps serving; the README walkthrough run as written, and a node run
//! from the bitverse.toml `init` wrote. One test binary, so the rig compiles and links once.

mod common;

use bitverse_blocktree::error::codes;
use bitverse_blocktree::{
    ChainParams, TxPayload, UnsignedTx, VALUE_SIZE_BYTES_MAX, chain_of_keyspace,
};
use bitverse_primitives::{Amount, ChainId, SecretKey};
use common::{
    TestNode, http_post_head_only, pending_nonce, pending_nonce_on, post_json, run_cli,
    run_cli_with_env, signed, signed_for, tx_hex, wait_included,
};
use serde_json::{Value, json};

/// Price of a byte of quota on the dev network's root: what a keyspace's prepaid must cover.
const ROOT_PRICE_PER_BYTE: u128 = 256;

/// Asserts a refusal is exactly one `error: …` line containing `needle`.
fn assert_refused(out: &common::CliOutput, needle: &str) {
    assert_eq!(
        out.code, 1,
        "expected exit 1, got {}; stderr {:?}",
        out.code, out.stderr
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "a refusal is one line, got {:?}",
        out.stderr
    );
    assert!(lines[0].starts_with("error: "), "{:?}", lines[0]);
    assert!(
        lines[0].contains(needle),
        "{:?} should say {needle:?}",
        lines[0]
    );
}

#[test]
fn put_get_verify_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(&dir.path().join("node"));

    let bought = node.cli(&[
        "keyspace",
        "buy",
        "alice",
        "--key",
        "dev:alice",
        "--quota",
        "100000",
    ]);
    assert!(
        bought
            .assert_ok("keyspace buy")
            .stdout_text()
            .contains("included at height")
    );
    let alice = SecretKey::dev("alice").account().to_string();
    let shown = node.cli(&["keyspace", "show", "alice"]);
    assert!(
        shown
            .assert_ok("keyspace show")
            .stdout_text()
            .contains(&alice)
    );

    // A text value, and a binary one through --file / --out.
    node.cli(&[
        "put",
        "alice/greeting",
        "--key",
        "dev:alice",
        "--value",
        "hello, bitverse",
    ])
    .assert_ok("put --value");
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, &binary).unwrap();
    node.cli(&[
        "put",
        "alice/blob",
        "--key",
        "dev:alice",
        "--file",
        input.to_str().unwrap(),
    ])
    .assert_ok("put --file");

    let got = node.cli(&["get", "alice/greeting"]);
    assert_eq!(got.assert_ok("get").stdout, b"hello, bitverse");
    let verified = node.cli(&["get", "alice/greeting", "--verify"]);
    assert_eq!(
        verified.assert_ok("get --verify").stdout,
        b"hello, bitverse"
    );
    assert!(verified.stderr.contains("verified:"), "{}", verified.stderr);
    let output = dir.path().join("out.bin");
    node.cli(&[
        "get",
        "alice/blob",
        "--verify",
        "--out",
        output.to_str().unwrap(),
    ])
    .assert_ok("get --verify --out");
    assert_eq!(std::fs::read(&output).unwrap(), binary);

    let absent = node.cli(&["get", "alice/missing"]);
    assert_eq!(absent.code, 1);
    assert!(
        absent.stdout.is_empty() && absent.stderr.contains("absent"),
        "{}",
        absent.stderr
    );
    let absent = node.cli(&["get", "alice/missing", "--verify"]);
    assert_eq!(absent.code, 1);
    assert!(
        absent.stderr.contains("absent (verified)"),
        "{}",
        absent.stderr
    );

    assert_refused(
        &node.cli(&["put", "alice/x", "--key", "dev:bob", "--value", "hi"]),
        "not the owner",
    );
    assert_refused(
        &node.cli(&["put", "nobody/x", "--key", "dev:bob", "--value", "hi"]),
        "unknown keyspace",
    );

    // A fresh wallet: funded by a transfer, then too poor for a keyspace.
    let key_file = dir.path().join("wallet.json");
    let key_path = key_file.to_str().unwrap();
    let created = run_cli(&["wallet", "new", "--out", key_path, "--json"]);
    let created: Value = serde_json::from_slice(&created.assert_ok("wallet new").stdout).unwrap();
    let address = created["address"].as_str().unwrap().to_owned();
    assert!(address.starts_with("bv1"), "{address}");
    assert_eq!(created["key_file"].as_str(), Some(key_path));
    assert_eq!(
        run_cli(&["wallet", "address", "--key", key_path])
            .stdout_text()
            .trim(),
        address
    );
    assert_eq!(
        run_cli(&["wallet", "new", "--out", key_path]).code,
        1,
        "wallet new must not overwrite"
    );
    // Coins in, coins out: 0.000001234 BV is 1234 base units, shown so with --raw.
    let sent = node.cli(&["send", "--key", "dev:alice", &address, "0.000001234"]);
    assert!(
        sent.assert_ok("send").stdout_text().starts_with(&format!(
            "sent 0.000001234 BV to {address}; fee 0.000000001 BV; included at height"
        )),
        "{}",
        sent.stdout_text()
    );
    assert_eq!(
        node.cli(&["balance", &address])
            .assert_ok("balance")
            .stdout_text(),
        "0.000001234 BV\n"
    );
    assert_eq!(
        node.cli(&["balance", &address, "--raw"])
            .assert_ok("balance --raw")
            .stdout_text(),
        "1234\n"
    );
    // Base units in, with their suffix; JSON out, amounts as strings of base units.
    let sent = node.cli(&["send", "--key", "dev:alice", &address, "766base", "--json"]);
    let sent: Value = serde_json::from_slice(&sent.assert_ok("send --json").stdout).unwrap();
    assert_eq!(sent["amount"], "766");
    assert_eq!(sent["status"], "included");
    let balance = node.cli(&["balance", &address, "--json"]);
    let balance: Value =
        serde_json::from_slice(&balance.assert_ok("balance --json").stdout).unwrap();
    assert_eq!(balance["balance"], "2000");
    let too_precise = node.cli(&["send", "--key", "dev:alice", &address, "0.0000000001"]);
    assert_eq!(too_precise.code, 2, "{}", too_precise.stderr);
    assert!(
        too_precise.stderr.contains("at most 9 decimals"),
        "{}",
        too_precise.stderr
    );
    assert_refused(
        &node.cli(&["keyspace", "buy", "poor", "--key", key_path]),
        "insufficient balance",
    );

    node.cli(&["delete", "alice/greeting", "--key", "dev:alice"])
        .assert_ok("delete");
    assert_eq!(node.cli(&["get", "alice/greeting"]).code, 1);

    let status = node.cli(&["status"]);
    assert!(status.assert_ok("status").stdout_text().contains("dev"));
    assert!(
        node.cli(&["chains"])
            .assert_ok("chains")
            .stdout_text()
            .contains("root")
    );

    every_read_command_ends_quietly_on_a_closed_pipe(&node, &address);
    top_level_help_gives_each_command_one_short_line();
    the_node_serves_the_checked_in_openrpc_document_that_rpc_doc_prints(&node);

    drop(node);
    let unreachable = run_cli(&["status", "--rpc", "http://127.0.0.1:1"]);
    assert_eq!(unreachable.code, 3, "{}", unreachable.stderr);
    assert!(
        unreachable
            .stderr
            .starts_with("error: cannot reach node at http://127.0.0.1:1")
    );
}

/// Issue 17 §8: `bitverse status | head -3` panicked ("failed printing to stdout: Broken
/// pipe", exit 101). Every read command, its stdout a pipe whose reader is already gone (the
/// surest way to meet a closed pipe: `head` closes its end whenever it has read enough), ends
/// quietly: killed by SIGPIPE as git is, or done, never a panic.
fn every_read_command_ends_quietly_on_a_closed_pipe(node: &TestNode, address: &str) {
    use std::os::unix::process::ExitStatusExt;
    let commands: &[&[&str]] = &[
        &["status"],
        &["status", "--json"],
        &["chains"],
        &["chains", "--json"],
        &["browse"],
        &["browse", "--json"],
        &["balance", address],
        &["balance", address, "--json"],
        &["keyspace", "show", "alice"],
        &["keyspace", "show", "alice", "--json"],
        &["get", "alice/blob"],
        &["get", "alice/blob", "--json"],
        &["get", "alice/blob", "--verify"],
        &["proof", "alice/blob"],
        &["proof", "alice/blob", "--json"],
        &["ledger"],
        &["ledger", "--json"],
        &["earnings", "show", "--json"],
    ];
    // Commands that ask no node, with their flags as they are.
    let offline: &[&[&str]] = &[
        &["wallet", "address", "--key", "dev:alice"],
        &["--help"],
        &["get", "--help"],
        &["rpc-doc"],
    ];
    let rpc = ["--rpc", node.url.as_str()];
    let runs = commands
        .iter()
        .map(|args| [*args, &rpc[..]].concat())
        .chain(offline.iter().map(|args| args.to_vec()));
    for args in runs {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = std::process::Command::new(common::binary())
            .args(&args)
            .env("BITVERSE_STATE_DIR", node.data_dir.join("light-client"))
            .env(
                "BITVERSE_CHALLENGES_DIR",
                node.data_dir.join("light-client/challenges"),
            )
            .env("BITVERSE_NETWORK", &node.network)
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let quiet = output.status.success() || output.status.signal() == Some(13);
        assert!(
            quiet && !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "bitverse {}: {:?}, stderr {stderr:?}",
            args.join(" "),
            output.status
        );
    }
}

/// Issue 17 §2: one definition of the RPC surface. What `rpc.discover` answers on a running
/// node is what `bitverse rpc-doc` prints and what `docs/openrpc.json` holds.
fn the_node_serves_the_checked_in_openrpc_document_that_rpc_doc_prints(node: &TestNode) {
    let printed = run_cli(&["rpc-doc"]).assert_ok("rpc-doc").stdout_text();
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openrpc.json"))
            .unwrap();
    assert!(
        printed == checked_in,
        "docs/openrpc.json is stale: bitverse rpc-doc > docs/openrpc.json"
    );
    let served = node.rpc("rpc.discover", json!([])).unwrap();
    assert_eq!(served, serde_json::from_str::<Value>(&printed).unwrap());
}

/// Issue 17 §8: `bitverse --help` lists each command in one short line, as git and cargo do;
/// the details stay in `bitverse COMMAND --help`.
fn top_level_help_gives_each_command_one_short_line() {
    let help = run_cli(&["--help"]);
    let text = help.assert_ok("--help").stdout_text();
    let commands: Vec<&str> = text
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .collect();
    assert!(commands.len() > 20, "{text}");
    for line in commands {
        assert!(
            line.chars().count() <= 100 && line.starts_with("  ") && !line.starts_with("   "),
            "one short line a command: {line:?}"
        );
    }
}

/// A short run of `bitverse bench crash` (the full one is 200 cycles, docs/BENCHMARKS.md): a
/// `--dev` node killed with SIGKILL during writes on chains at depths 0, 1 and 3 (puts) and on
/// the root (transfers), at seeded moments, restarted on its data directory each time. After
/// each restart every write it acknowledged is still in a block and readable (before it may
/// sync from anyone), the newest value of each keyspace is proven against its root header,
/// and once it and a replica that never crashed have the same tips, every chain's state root
/// is the same on both. The command exits 0 only then, and prints JSON lines saying so.
#[test]
fn kill_9_during_writes_loses_no_acknowledged_write_and_matches_a_replica() {
    const CYCLES: u64 = 4;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("crash");
    let out = common::run_cli_with_env_timed(
        &[
            "bench",
            "crash",
            "--cycles",
            &CYCLES.to_string(),
            "--seed",
            "7",
            "--kill-within-ms",
            "800",
            "--json",
            "--dir",
            work.to_str().unwrap(),
        ],
        &[],
        150_000,
    );
    let text = out.stdout_text();
    assert_eq!(
        out.code, 0,
        "bench crash failed: stdout {text}\nstderr {}",
        out.stderr
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect();
    assert_eq!(
        lines.len() as u64,
        CYCLES + 1,
        "a line per cycle and a summary: {text}"
    );
    for (cycle, line) in lines[..lines.len() - 1].iter().enumerate() {
        assert_eq!(line["cycle"], cycle as u64 + 1, "{line}");
        assert_eq!(line["lost"], 0, "{line}");
        // The root, the chains of depths 1 and 3, and the two chains above the depth-3 one
        // (one of which may be the depth-1 keyspace's).
        assert!(line["chains_equal"].as_u64().unwrap() >= 4, "{line}");
    }
    let summary = &lines[lines.len() - 1];
    assert_eq!(summary["summary"], true, "{summary}");
    assert_eq!(summary["cycles"], CYCLES, "{summary}");
    assert_eq!(summary["lost"], 0, "{summary}");
    assert_eq!(summary["seed"], 7, "{summary}");
    assert!(summary["puts"].as_u64().unwrap() > 0, "{summary}");
    assert!(summary["transfers"].as_u64().unwrap() > 0, "{summary}");
    assert!(
        summary["restart_ms_p50"].as_f64().unwrap() > 0.0,
        "{summary}"
    );
}

/// The check above can fail: when the crash node's database is deleted after the kill in
/// cycle 2 (a hidden test-only flag), `bench crash` reports an acknowledged write lost, names
/// the cycle and the seed to replay, keeps the data, and exits 1.
#[test]
fn bench_crash_reports_a_lost_write_with_its_cycle_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("crash");
    let out = common::run_cli_with_env_timed(
        &[
            "bench",
            "crash",
            "--cycles",
            "3",
            "--seed",
            "7",
            "--kill-within-ms",
            "800",
            "--wipe-in-cycle",
            "2",
            "--dir",
            work.to_str().unwrap(),
        ],
        &[],
        120_000,
    );
    assert_eq!(
        out.code,
        1,
        "stdout {}\nstderr {}",
        out.stdout_text(),
        out.stderr
    );
    for needle in [
        "cycle 2 of 3 (seed 7)",
        "LOST on the restarted crash node after the kill in cycle 2",
        "seed 7",
        "--seed 7",
    ] {
        assert!(
            out.stderr.contains(needle),
            "stderr should say {needle:?}: {}",
            out.stderr
        );
    }
    assert!(
        out.stdout_text().starts_with("cycle 1/3: "),
        "cycle 1 passed: {}",
        out.stdout_text()
    );
    assert!(work.join("replica/node.log").exists(), "the data is kept");
}

#[test]
fn bad_input_is_refused_clearly_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(&dir.path().join("node"));
    let alice = SecretKey::dev("alice");
    let bob = SecretKey::dev("bob");
    let send =
        |tx: &bitverse_blocktree::Transaction| node.rpc("bv_sendTransaction", json!([tx_hex(tx)]));
    let buy = |name: &str, quota_bytes: u64| {
        let nonce = pending_nonce(&node, &alice);
        let payload = TxPayload::BuyKeyspace {
            name: name.into(),
            owner: alice.account(),
            quota_bytes,
            prepaid: Amount(u128::from(quota_bytes) * ROOT_PRICE_PER_BYTE),
            script: None,
            depth: 0,
        };
        let hash = send(&signed(&alice, nonce, payload)).expect("buy");
        wait_included(&node.url, hash.as_str().unwrap()).expect("bought");
    };
    buy("alice", 1_000_000);
    buy("tiny", 16);
    let mut good_count = 0;
    // After every refusal, the node still takes and includes a good write.
    let mut good_put = || {
        let nonce = pending_nonce(&node, &alice);
        let tx = signed(
            &alice,
            nonce,
            TxPayload::Put {
                key: format!("alice/good{good_count}"),
                value: b"ok".to_vec(),
            },
        );
        good_count += 1;
        let hash = send(&tx).expect("good put");
        wait_included(&node.url, hash.as_str().unwrap()).expect("good put included");
        tx
    };
    let expect_code = |outcome: Result<Value, common::RpcError>, code: i32, needle: &str| {
        let error = outcome.expect_err("must be refused");
        assert_eq!(error.code, i64::from(code), "{error:?}");
        assert!(
            error.message.contains(needle),
            "{:?} should say {needle:?}",
            error.message
        );
    };

    let answer = post_json(&node.url, b"{\"jsonrpc\":\"2.0\",\"method\":")
        .expect("answer to malformed JSON");
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    good_put();

    let status = http_post_head_only(&node.url, 2 * 1024 * 1024).expect("answer to oversized body");
    assert_eq!(
        status, 413,
        "a body above the limit is refused before it is read"
    );
    good_put();

    let nonce = pending_nonce(&node, &alice);
    let big = TxPayload::Put {
        key: "alice/big".into(),
        value: vec![7; VALUE_SIZE_BYTES_MAX + 1],
    };
    expect_code(
        send(&signed(&alice, nonce, big)),
        codes::VALUE_TOO_LARGE,
        "value too large",
    );
    good_put();

    let payload = TxPayload::Put {
        key: "alice/forged".into(),
        value: b"x".to_vec(),
    };
    let forged = UnsignedTx {
        chain: ChainId::ROOT,
        sender: alice.account(),
        nonce,
        fee: Amount(1),
        payload,
    }
    .sign(&bob);
    expect_code(send(&forged), codes::BAD_SIGNATURE, "bad signature");
    good_put();

    let included = good_put();
    expect_code(send(&included), codes::ALREADY_KNOWN, "already known");
    let reused = signed(
        &alice,
        included.body.nonce,
        TxPayload::Put {
            key: "alice/again".into(),
            value: b"y".to_vec(),
        },
    );
    expect_code(send(&reused), codes::BAD_NONCE, "bad nonce");
    good_put();

    expect_code(
        node.rpc("bv_sendTransaction", json!(["zz"])),
        -32602,
        "not hexadecimal",
    );
    expect_code(
        node.rpc("bv_sendTransaction", json!(["deadbeef"])),
        codes::MALFORMED_TX,
        "malformed transaction",
    );
    good_put();

    let nonce = pending_nonce(&node, &alice);
    let put = |key: &str, size: usize| TxPayload::Put {
        key: key.into(),
        value: vec![1; size],
    };
    expect_code(
        send(&signed(&alice, nonce, put("nobody/x", 1))),
        codes::UNKNOWN_KEYSPACE,
        "unknown keyspace",
    );
    expect_code(
        send(&signed(&bob, pending_nonce(&node, &bob), put("alice/x", 1))),
        codes::NOT_OWNER,
        "not the owner",
    );
    let pauper = SecretKey::from_seed(b"no funds");
    let transfer = TxPayload::Transfer {
        to: alice.account(),
        amount: Amount(1),
    };
    expect_code(
        send(&signed(&pauper, 0, transfer)),
        codes::INSUFFICIENT_BALANCE,
        "insufficient balance",
    );
    expect_code(
        send(&signed(&alice, nonce, put("tiny/x", 100))),
        codes::QUOTA_EXCEEDED,
        "quota exceeded",
    );
    good_put();

    expect_code(
        node.rpc("bv_getHeaders", json!([0, 5000])),
        -32602,
        "exceeds the maximum",
    );
    expect_code(
        node.rpc("bv_getAccount", json!(["bv1nonsense"])),
        -32602,
        "invalid address",
    );
    expect_code(node.rpc("bv_noSuchMethod", json!([])), -32601, "");
    good_put();
}

#[test]
fn keyspace_scripts_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(&dir.path().join("node"));
    let posts = format!(
        "{}/../sandbox-scripts/posts.wat",
        env!("CARGO_MANIFEST_DIR")
    );

    let buy = |who: &str, name: &str| {
        let key = format!("dev:{who}");
        node.cli(&["keyspace", "buy", name, "--key", &key, "--script", &posts])
    };
    buy("alice", "twitter").assert_ok("buy twitter with posts.wat");
    let shown = node.cli(&["keyspace", "show", "twitter"]);
    let shown = shown.assert_ok("keyspace show").stdout_text();
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("script:") && l.len() > 70),
        "{shown}"
    );

    // Anyone buys a handle inside `twitter`, as its script allows; a bad handle is refused by
    // the script, with its reason code in the one-line error.
    buy("bob", "twitter/bob").assert_ok("bob buys his handle");
    assert_refused(
        &buy("carol", "twitter/no-dashes"),
        "the script of keyspace \"twitter\" rejected the write: reason 3",
    );

    let post = |who: &str, key: &str, text: &str| {
        let signer = format!("dev:{who}");
        node.cli(&["put", key, "--key", &signer, "--value", text])
    };
    post("bob", "twitter/bob/1", &"ü".repeat(140)).assert_ok("a 140-character post");
    assert_refused(
        &post("bob", "twitter/bob/2", &"ü".repeat(141)),
        "rejected the write: reason 4",
    );
    assert_refused(
        &post("carol", "twitter/bob/3", "not my handle"),
        "the script of keyspace \"twitter/bob\" rejected the write: reason 1",
    );
    let verified = node.cli(&["get", "twitter/bob/1", "--verify"]);
    assert_eq!(
        verified
            .assert_ok("get --verify under a sub-keyspace")
            .stdout,
        "ü".repeat(140).as_bytes()
    );

    // The error's data carries the reason code for programs.
    let carol = SecretKey::dev("carol");
    let nonce = pending_nonce(&node, &carol);
    let write = signed(
        &carol,
        nonce,
        TxPayload::Put {
            key: "twitter/bob/4".into(),
            value: b"x".to_vec(),
        },
    );
    let answer = post_json(
        &node.url,
        json!({"jsonrpc": "2.0", "id": 1, "method": "bv_sendTransaction", "params": [tx_hex(&write)]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(answer["error"]["code"], codes::SCRIPT_REJECTED, "{answer}");
    assert_eq!(answer["error"]["data"]["reason_code"], 1, "{answer}");
    assert_eq!(
        answer["error"]["data"]["keyspace"], "twitter/bob",
        "{answer}"
    );

    // Scripts that are not acceptable never reach the chain.
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm but not really").unwrap();
    let junk = junk.to_str().unwrap();
    assert_refused(
        &node.cli(&[
            "keyspace",
            "buy",
            "junk",
            "--key",
            "dev:carol",
            "--script",
            junk,
        ]),
        "script refused",
    );
    let text = dir.path().join("script.txt");
    std::fs::write(&text, "(module)").unwrap();
    assert_refused(
        &node.cli(&[
            "keyspace",
            "buy",
            "txt",
            "--key",
            "dev:carol",
            "--script",
            text.to_str().unwrap(),
        ]),
        "must be a .wasm module or a .wat text module",
    );

    // Only the current script may let the script go: posts.wat refuses carol, the owner may.
    let drop_script = |who: &str| {
        let key = format!("dev:{who}");
        node.cli(&[
            "keyspace",
            "set-script",
            "twitter",
            "--key",
            &key,
            "--owner-only",
        ])
    };
    assert_refused(&drop_script("carol"), "rejected the write");
    drop_script("alice").assert_ok("the owner drops the script");
    let shown = node.cli(&["keyspace", "show", "twitter"]);
    assert!(
        shown
            .assert_ok("keyspace show")
            .stdout_text()
            .contains("script:     none (owner-only)")
    );
}

#[test]
fn deep_keyspaces_through_the_cli_are_written_anchored_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(&dir.path().join("node"));
    // A chain the node tracks (a dev node tracks all) but which has no block yet: nobody has
    // sent anything on it, so the nonce to use is 0 — not "not tracked", which a client
    // asking just after buying its keyspace would once get while the purchase was noted.
    let alice = SecretKey::dev("alice").account().to_string();
    let fresh = node
        .rpc("bv_getAccount", json!([alice, "0110"]))
        .expect("bv_getAccount on a tracked chain with no block yet");
    assert_eq!(fresh["nonce"], 0, "{fresh}");
    assert_eq!(fresh["pending_nonce"], 0, "{fresh}");
    for depth in ["0", "1", "3"] {
        let name = format!("deep{depth}");
        node.cli(&[
            "keyspace",
            "buy",
            &name,
            "--key",
            "dev:alice",
            "--quota",
            "10000",
            "--depth",
            depth,
        ])
        .assert_ok("keyspace buy --depth");
        node.cli(&[
            "put",
            &format!("{name}/greeting"),
            "--key",
            "dev:alice",
            "--value",
            &format!("hello from depth {depth}"),
        ])
        .assert_ok("put at depth");
    }
    // Deeper than the network allows: refused with the limit.
    assert_refused(
        &node.cli(&[
            "keyspace",
            "buy",
            "toodeep",
            "--key",
            "dev:alice",
            "--depth",
            "9",
        ]),
        "at most 8",
    );

    for (depth, links) in [("0", 0usize), ("1", 1), ("3", 3)] {
        let key = format!("deep{depth}/greeting");
        let got = node.cli(&["get", &key, "--verify"]);
        assert_eq!(
            got.assert_ok("get --verify").stdout_text(),
            format!("hello from depth {depth}")
        );
        let plural = if links == 1 { "" } else { "s" };
        assert!(
            got.stderr
                .contains(&format!("through {links} link{plural} to root height"))
                && got.stderr.contains(", final;"),
            "{}",
            got.stderr
        );
        let proof = node.cli(&["proof", &key, "--json"]);
        let proof: Value = serde_json::from_str(&proof.assert_ok("proof --json").stdout_text())
            .expect("proof --json prints JSON");
        assert_eq!(proof["key"], key.as_str());
        assert_eq!(proof["depth"], depth.parse::<u64>().unwrap());
        assert_eq!(proof["links"].as_array().unwrap().len(), links);
        assert_eq!(proof["final"], true);
        assert!(proof["value_hash"].is_string());
        assert!(proof["proof_bytes"].as_u64().unwrap() > 0);
        for (i, link) in proof["links"].as_array().unwrap().iter().enumerate() {
            assert_eq!(link["chain"].as_str().unwrap().len(), i + 1);
        }
    }
    // An absent key at depth is proven absent: exit 1... of `get`, and `proof` says null.
    let absent = node.cli(&["proof", "deep3/nothing", "--json"]);
    let absent: Value =
        serde_json::from_str(&absent.assert_ok("proof of absence").stdout_text()).unwrap();
    assert!(absent["value_hash"].is_null());

    // The tree: root, then each chain after its parent, all anchored and final on dev.
    let chains = node.cli(&["chains", "--json"]);
    let chains: Value =
        serde_json::from_str(&chains.assert_ok("chains --json").stdout_text()).unwrap();
    let chains = chains.as_array().unwrap();
    assert_eq!(chains[0]["chain"], "root");
    assert!(
        chains.len() >= 4,
        "root and the chains to depths 1 and 3: {chains:?}"
    );
    for chain in &chains[1..] {
        assert_eq!(chain["anchored_height"], chain["height"], "{chain}");
        assert_eq!(chain["tracked"], true);
    }
    let drawn = node.cli(&["chains"]).assert_ok("chains").stdout_text();
    assert!(drawn.lines().count() == chains.len() + 1, "{drawn}");

    // The miner of the data chains (dev:miner, the dev node's default) earned a share of the
    // deep keyspaces' endowments in every block it sealed there, and claims it on the root.
    let shallow_proof = node.cli(&["proof", "deep1/greeting", "--json"]);
    let shallow_proof: Value =
        serde_json::from_str(&shallow_proof.assert_ok("proof").stdout_text()).unwrap();
    let shallow = shallow_proof["links"][0]["chain"]
        .as_str()
        .unwrap()
        .to_owned();
    let earnings = |chain: &str| -> Value {
        // Without an account: the node's own, dev:miner on a dev node without --miner.
        let out = node.cli(&["earnings", "show", "--chain", chain, "--json"]);
        let lines: Value = serde_json::from_str(&out.assert_ok("earnings show").stdout_text())
            .expect("earnings --json prints JSON");
        assert_eq!(lines.as_array().unwrap().len(), 1, "{lines}");
        lines[0].clone()
    };
    let amount = |v: &Value| v.as_str().unwrap().parse::<u128>().unwrap();
    let before = earnings(&shallow);
    assert!(amount(&before["earned"]) > 0, "{before}");
    // On dev every block is anchored at once: all of it is provable and unpaid.
    assert_eq!(before["provable"], before["earned"], "{before}");
    assert_eq!(amount(&before["claimed"]), 0);
    assert_eq!(before["claimable"], before["earned"]);
    let balance = || -> u128 {
        let out = node.cli(&["balance", "dev:miner", "--raw"]);
        out.assert_ok("balance")
            .stdout_text()
            .trim()
            .parse()
            .unwrap()
    };
    let balance_before = balance();
    let claim = node.cli(&[
        "earnings",
        "claim",
        &shallow,
        "--key",
        "dev:alice",
        "--json",
    ]);
    let claim: Value = serde_json::from_str(&claim.assert_ok("earnings claim").stdout_text())
        .expect("earnings claim --json prints JSON");
    assert_eq!(claim["action"], "claim");
    assert_eq!(claim["status"], "included");
    assert_eq!(claim["amount"], before["claimable"]);
    // dev:miner sealed the claim's block too, so it also has the claim's fee, and that root
    // block's share of the root's own pool (deep0's endowment: 10,000 bytes at 256 base
    // units, of which a block releases at most 1/2^16).
    let paid = balance() - balance_before;
    let paid_for_the_claim = amount(&before["claimable"]) + amount(&claim["fee"]);
    assert!(
        paid >= paid_for_the_claim && paid - paid_for_the_claim <= (10_000 * 256) >> 16,
        "paid {paid} on the root for a claim of {paid_for_the_claim}"
    );
    let after = earnings(&shallow);
    assert_eq!(after["claimed"], before["claimable"]);
    assert_eq!(amount(&after["claimable"]), 0);
    assert_eq!(
        amount(&after["pool_paid"]),
        amount(&before["pool_paid"]) + amount(&before["claimable"])
    );
    // Nothing more to claim until the chain has new blocks: refused before any fee is paid.
    assert_refused(
        &node.cli(&["earnings", "claim", &shallow, "--key", "dev:alice"]),
        "nothing to claim",
    );
    // The root's miners are paid in their blocks: no claims there.
    assert_refused(
        &node.cli(&["earnings", "show", "dev:miner", "--chain", "root"]),
        "name a data chain",
    );
    let table = node
        .cli(&["earnings", "show"])
        .assert_ok("earnings")
        .stdout_text();
    assert!(table.starts_with("chain "), "{table}");
    assert!(table.contains(&format!("\n{shallow} ")), "{table}");
}

/// The `bitverse …` command lines of README.md's "Try it" section, as written there, but for
/// `bitverse devnet` (a separate, long-running story).
fn readme_walkthrough_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("read README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Try it"))
        .expect("README has a \"Try it\" section");
    let mut in_code = false;
    let mut commands = Vec::new();
    for line in section.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if in_code && line.starts_with("bitverse ") && !line.starts_with("bitverse devnet") {
            commands.push(line.to_owned());
        }
    }
    commands
}

/// Splits a command line as the shell does for the README's simple lines: words separated by
/// spaces, double quotes grouping.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            ' ' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quote in {line:?}");
    if in_word {
        words.push(word);
    }
    words
}

#[test]
fn readme_walkthrough_runs_as_written_against_a_dev_node_logging_to_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("dev");
    let (stdout_path, stderr_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let node = TestNode::start_like_dev_node(&data_dir, &stdout_path, &stderr_path);

    // The node's own output is one line saying where the log is; the log is in that file.
    let log_path = data_dir.join("node.log");
    assert_eq!(std::fs::read_to_string(&stdout_path).unwrap(), "");
    assert_eq!(
        std::fs::read_to_string(&stderr_path).unwrap(),
        format!(
            "bitverse node: logging to {} (--log-stderr to log here)\n",
            log_path.display()
        )
    );
    assert!(node.log().contains("serving JSON-RPC"), "{}", node.log());

    let commands = readme_walkthrough_commands();
    assert!(commands.len() >= 3, "{commands:?}");
    let script =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/dev-node"))
            .expect("read scripts/dev-node");
    let env = [("BITVERSE_RPC", node.url.as_str())];
    for line in &commands {
        // scripts/dev-node walks through the same commands.
        let args_text = line.strip_prefix("bitverse ").unwrap();
        assert!(
            script.contains(&format!("\nrun {args_text}\n")),
            "scripts/dev-node does not run {line:?}"
        );
        let words = shell_words(line);
        let args: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
        let out = run_cli_with_env(&args, &env);
        out.assert_ok(line);
        let stdout = out.stdout_text();
        assert!(
            !stdout.contains(" INFO ") && !out.stderr.contains(" INFO "),
            "{line}: log lines in the output: {stdout:?} {:?}",
            out.stderr
        );
        match args.as_slice() {
            ["balance", ..] => assert_eq!(stdout, "1000 BV\n", "{line}"),
            ["keyspace", "buy", "hello", ..] => assert!(
                stdout.starts_with("bought keyspace hello for bv1")
                    && stdout.contains("prepaid 0.001048576 BV")
                    && stdout.contains("included at height 1, tx "),
                "{line}: {stdout:?}"
            ),
            ["keyspace", "show", ..] => {
                assert!(stdout.contains("endowment:  0.001048576 BV\n"), "{stdout}");
            }
            ["put", "hello/greeting", ..] => assert!(
                stdout.starts_with("put hello/greeting (15 bytes); fee 0.000000001 BV; included"),
                "{line}: {stdout:?}"
            ),
            // A data chain's write carries no fee.
            ["put", "deep/note", ..] => assert!(
                stdout.starts_with("put deep/note (17 bytes); fee 0 BV; included"),
                "{line}: {stdout:?}"
            ),
            ["get", "hello/greeting", ..] => {
                assert_eq!(stdout, "Hello, Bitverse", "{line}");
                assert!(out.stderr.starts_with("verified: "), "{}", out.stderr);
            }
            ["get", "deep/note", ..] => {
                assert_eq!(stdout, "three levels down", "{line}");
                assert!(
                    out.stderr.starts_with("verified: ") && out.stderr.contains("through 3 links"),
                    "{}",
                    out.stderr
                );
            }
            ["proof", ..] => assert!(stdout.contains("final:       yes"), "{stdout}"),
            _ => {}
        }
        // Every read command of the walkthrough has --json, and it parses.
        if !line.contains("--key") {
            let mut json_args = args.clone();
            json_args.push("--json");
            let out = run_cli_with_env(&json_args, &env);
            let parsed: Result<Value, _> = serde_json::from_slice(&out.assert_ok(line).stdout);
            assert!(parsed.is_ok(), "{line} --json: {:?}", out.stdout_text());
        }
    }
    // And a write with --json says what it did as JSON.
    let out = run_cli_with_env(
        &[
            "put",
            "hello/second",
            "--key",
            "dev:alice",
            "--value",
            "2",
            "--json",
        ],
        &env,
    );
    let done: Value = serde_json::from_slice(&out.assert_ok("put --json").stdout).unwrap();
    assert_eq!(done["action"], "put");
    assert_eq!(done["status"], "included");
    assert!(
        done["height"].as_u64().is_some() && done["tx"].as_str().is_some(),
        "{done}"
    );
    // The client commands logged nothing into the node's log, and it holds the node's lines.
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("sealed block"), "{log}");
}

#[test]
fn init_writes_a_config_that_a_node_runs_from_with_flags_overriding_it() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("node");
    let data_dir_text = data_dir.to_str().unwrap();
    let written = run_cli(&["init", "--dir", data_dir_text, "--json"]);
    let written: Value = serde_json::from_slice(&written.assert_ok("init").stdout).unwrap();
    let config_path = data_dir.join("bitverse.toml");
    assert_eq!(written["config_file"].as_str(), config_path.to_str());
    let template = std::fs::read_to_string(&config_path).unwrap();
    let again = run_cli(&["init", "--dir", data_dir_text]);
    assert_eq!(again.code, 1, "init must not overwrite: {}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);

    // A bad key stops the node before it starts, naming the line.
    std::fs::write(
        &config_path,
        format!("{template}\nrpc_adr = \"127.0.0.1:1\"\n"),
    )
    .unwrap();
    let bad_line = template.lines().count() + 2;
    let refused = run_cli(&["node", "--data-dir", data_dir_text]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused.stderr.starts_with(&format!(
            "error: {} line {bad_line}: unknown field `rpc_adr`",
            config_path.display()
        )),
        "{}",
        refused.stderr
    );

    // The file turns on dev mode, names a miner and an RPC port and a log file; the rig's
    // --rpc-addr 127.0.0.1:0 and a --log-file flag override those two.
    let config = template
        .replace("# dev = false\n", "dev = true\n")
        .replace("# miner = \"dev:miner\"\n", "miner = \"dev:carol\"\n")
        .replace(
            "# rpc_addr = \"127.0.0.1:8645\"\n",
            "rpc_addr = \"127.0.0.1:1\"\n",
        )
        .replace(
            "# log_file = \"node.log\"\n",
            "log_file = \"from-file.log\"\n",
        );
    std::fs::write(&config_path, config).unwrap();
    let flag_log = data_dir.join("from-flag.log");
    let node = TestNode::launch(&data_dir, &["--log-file", flag_log.to_str().unwrap()]);
    assert!(
        !node.url.ends_with(":1"),
        "the flag's port wins: {}",
        node.url
    );
    assert_eq!(node.status()["dev"], true, "dev = true from the file");
    node.cli(&[
        "keyspace",
        "buy",
        "carolpays",
        "--key",
        "dev:alice",
        "--quota",
        "10",
    ])
    .assert_ok("keyspace buy");
    // The fee went to the file's miner, dev:carol.
    let carol = node.cli(&["balance", "dev:carol", "--raw"]);
    assert_eq!(carol.assert_ok("balance").stdout_text(), "1000000000001\n");
    let flag_log_text = std::fs::read_to_string(&flag_log).unwrap();
    assert!(
        flag_log_text.contains("configuration read"),
        "{flag_log_text}"
    );
    assert!(
        !data_dir.join("from-file.log").exists(),
        "the flag's log file wins"
    );
}

/// `bitverse demo` tells the whole story on a fresh local network and ends cleanly: every
/// step is shown as the command a user would type with its output — the scripted write
/// refused, the deep value read verified through two links by the miner and by a second node
/// that does not store its chain — and nothing is left running or on disk.
#[test]
fn the_demo_runs_the_whole_story_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let output = std::process::Command::new(common::binary())
        .args(["demo", "--dir"])
        .arg(&demo_dir)
        .output()
        .expect("run bitverse demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "$ bitverse keyspace buy log --key dev:alice --quota 4096 --script",
        "$ bitverse put log/1 --key dev:alice --value rewritten",
        "rejected the write: reason 1 (code 4009)",
        "→ refused, as the script says.",
        "$ bitverse keyspace buy deep --key dev:alice --quota 4096 --depth 2",
        "node-1 synced to height",
        "Stopping the demo's nodes",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    let deep_reads = stdout
        .matches("verified: \"deep/note\" (15 bytes) on network local, chain")
        .count();
    assert_eq!(
        deep_reads, 2,
        "read by the miner and the follower:\n{stdout}"
    );
    assert!(stdout.contains("through 2 links"), "{stdout}");
    assert!(
        !demo_dir.exists(),
        "the demo's data is removed without --keep"
    );
    // A directory that is not empty is refused before anything starts.
    std::fs::create_dir_all(&demo_dir).unwrap();
    std::fs::write(demo_dir.join("something"), b"x").unwrap();
    let refused = std::process::Command::new(common::binary())
        .args(["demo", "--dir"])
        .arg(&demo_dir)
        .output()
        .expect("run bitverse demo");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is not empty"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[test]
fn send_transactions_answers_each_item_and_a_bad_one_spoils_none() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(&dir.path().join("node"));
    let alice = SecretKey::dev("alice");
    let bob = SecretKey::dev("bob");
    // A root keyspace and one at depth 2, so the batch spans two chains.
    for (name, depth) in [("alice", 0u8), ("deep", 2)] {
        let nonce = pending_nonce(&node, &alice);
        let price = ROOT_PRICE_PER_BYTE >> depth;
        let buy = signed(
            &alice,
            nonce,
            TxPayload::BuyKeyspace {
                name: name.into(),
                owner: alice.account(),
                quota_bytes: 100_000,
                prepaid: Amount(100_000 * price),
                script: None,
                depth,
            },
        );
        let hash = node
            .rpc("bv_sendTransaction", json!([tx_hex(&buy)]))
            .expect("buy");
        wait_included(&node.url, hash.as_str().unwrap()).expect("bought");
    }
    let deep = chain_of_keyspace("deep", 2).unwrap();
    let root_nonce = pending_nonce(&node, &alice);
    let deep_nonce = pending_nonce_on(&node, &alice, deep);
    let put = |key: &str| TxPayload::Put {
        key: key.into(),
        value: key.as_bytes().to_vec(),
    };
    let forged = UnsignedTx {
        chain: ChainId::ROOT,
        sender: alice.account(),
        nonce: root_nonce + 1,
        fee: Amount(1),
        payload: put("alice/forged"),
    }
    .sign(&bob);
    let items = vec![
        tx_hex(&signed(&alice, root_nonce, put("alice/a"))),
        tx_hex(&signed_for(&alice, deep, deep_nonce, put("deep/b"))),
        tx_hex(&forged),
        "zz".to_string(),
        "deadbeef".to_string(),
        tx_hex(&signed(&alice, root_nonce + 1, put("alice/c"))),
        tx_hex(&signed_for(&alice, deep, deep_nonce + 1, put("deep/d"))),
    ];
    // What bv_sendTransaction answers for each refused item alone (none of them is admitted,
    // so asking first changes nothing).
    let alone: Vec<(i64, String)> = [2usize, 3, 4]
        .iter()
        .map(|i| {
            let error = node
                .rpc("bv_sendTransaction", json!([items[*i]]))
                .expect_err("refused alone");
            (error.code, error.message)
        })
        .collect();
    let answers = node
        .rpc("bv_sendTransactions", json!([items]))
        .expect("bv_sendTransactions");
    let answers = answers.as_array().expect("an array");
    assert_eq!(answers.len(), items.len(), "{answers:?}");
    let refused: Vec<(i64, String)> = [2usize, 3, 4]
        .iter()
        .map(|i| {
            let answer = &answers[*i];
            assert!(answer["hash"].is_null(), "{answer}");
            (
                answer["error"]["code"].as_i64().unwrap(),
                answer["error"]["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(refused, alone);
    assert_eq!(
        refused.iter().map(|(code, _)| *code).collect::<Vec<_>>(),
        vec![
            i64::from(codes::BAD_SIGNATURE),
            -32602,
            i64::from(codes::MALFORMED_TX)
        ]
    );
    for (i, key) in [
        (0usize, "alice/a"),
        (1, "deep/b"),
        (5, "alice/c"),
        (6, "deep/d"),
    ] {
        let answer = &answers[i];
        assert!(answer["error"].is_null(), "item {i}: {answer}");
        let hash = answer["hash"].as_str().expect("a hash");
        wait_included(&node.url, hash).unwrap_or_else(|e| panic!("{key}: {e}"));
        let value = node.rpc("bv_getValue", json!([key])).expect("bv_getValue");
        assert_eq!(
            value["value_hex"].as_str(),
            Some(hex::encode(key).as_str()),
            "{key}"
        );
    }

    // One item over the limit: the whole call is refused and nothing is admitted.
    let nonce = pending_nonce(&node, &alice);
    let one = tx_hex(&signed(&alice, nonce, put("alice/over")));
    let over = vec![one; 1001];
    let error = node
        .rpc("bv_sendTransactions", json!([over]))
        .expect_err("over the limit");
    assert_eq!(error.code, -32602, "{error:?}");
    assert!(error.message.contains("at most 1000"), "{error:?}");
    assert_eq!(pending_nonce(&node, &alice), nonce, "nothing admitted");
    // Exactly the limit is taken (the same transaction: one admitted, the rest already known).
    let at_limit = vec![tx_hex(&signed(&alice, nonce, put("alice/at"))); 1000];
    let answers = node
        .rpc("bv_sendTransactions", json!([at_limit]))
        .expect("1000 items are taken");
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 1000);
    assert!(answers[0]["error"].is_null(), "{}", answers[0]);
    assert!(
        answers[1..]
            .iter()
            .all(|a| a["error"]["code"].as_i64() == Some(i64::from(codes::ALREADY_KNOWN))),
        "the copies are already known"
    );
}

#[test]
fn bench_puts_sends_its_batches_through_send_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(&dir.path().join("node"));
    let out = node.cli(&[
        "bench",
        "puts",
        "--count",
        "300",
        "--senders",
        "2",
        "--batch",
        "100",
        "--json",
    ]);
    let report: Value = serde_json::from_str(out.assert_ok("bench puts").stdout_text().trim())
        .expect("one line of JSON");
    assert_eq!(report["count"], 300, "{report}");
    assert!(report["puts_per_sec"].as_f64().unwrap() > 0.0, "{report}");
    // The bench waits until its last put is in a block: every batch was taken whole.
    assert!(report["blocks"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(report["batch"], 100, "{report}");
}

/// `bitverse bench light-client` builds the chain it asks for and reports both ways of opening
/// it, as JSON for scripts.
#[test]
fn bench_light_client_reports_both_ways_of_opening_the_stored_chain() {
    let output = run_cli(&[
        "bench",
        "light-client",
        "--height",
        "200",
        "--rounds",
        "2",
        "--json",
    ]);
    let report: Value = serde_json::from_str(&output.assert_ok("bench light-client").stdout_text())
        .expect("one line of JSON");
    assert_eq!(report["height"], 200);
    assert_eq!(report["rounds"], 2);
    for field in [
        "checkpoint_ms_best",
        "checkpoint_ms_mean",
        "relinked_ms_best",
        "relinked_ms_mean",
    ] {
        assert!(
            report[field].as_f64().is_some_and(|ms| ms >= 0.0),
            "{report}"
        );
    }
}

/// The CLI's `--json` line as JSON.
fn json_of(out: &common::CliOutput, what: &str) -> Value {
    serde_json::from_slice(&out.assert_ok(what).stdout)
        .unwrap_or_else(|e| panic!("{what}: {e}: {:?}", out.stdout_text()))
}

/// An amount in a JSON answer (a decimal string of base units).
fn amount_of(value: &Value) -> u128 {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not an amount: {value}"))
        .parse()
        .unwrap()
}

#[test]
fn stake_ledger_quote_and_unstake_through_the_cli_return_the_money_after_the_delay() {
    use bitverse_pricing::{QuoteRequest, ReliabilityRecord, StakedNode, quote};

    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(&dir.path().join("node"));
    let params = ChainParams::dev();
    let bob = SecretKey::dev("bob").account();
    let carol = SecretKey::dev("carol").account();
    let dave = SecretKey::dev("dave").account();

    // bob offers, carol and dave relay: 0.001 BV is 10^6 base units.
    let staked = json_of(
        &node.cli(&[
            "stake", "0.001", "--role", "offerer", "--key", "dev:bob", "--json",
        ]),
        "stake",
    );
    assert_eq!(staked["action"], "stake");
    assert_eq!(staked["role"], "offerer");
    assert_eq!(staked["amount"], "1000000");
    assert_eq!(staked["status"], "included");
    let line = node.cli(&[
        "stake",
        "2000base",
        "--role",
        "relayer",
        "--key",
        "dev:carol",
    ]);
    assert!(
        line.assert_ok("stake carol")
            .stdout_text()
            .starts_with("staked 0.000002 BV as relayer"),
        "{}",
        line.stdout_text()
    );
    node.cli(&[
        "stake", "3000base", "--role", "relayer", "--key", "dev:dave",
    ])
    .assert_ok("stake dave");

    // Without an account, the node's own: the one its blocks pay (dev:miner by default).
    let own = json_of(&node.cli(&["ledger", "--json"]), "ledger of the node");
    assert_eq!(
        own["stake"]["address"],
        SecretKey::dev("miner").account().to_string()
    );
    let status = node.cli(&["status"]);
    assert!(
        status.assert_ok("status").stdout_text().contains(&format!(
            "miner:       {} (the account its blocks pay)",
            SecretKey::dev("miner").account()
        )),
        "{}",
        status.stdout_text()
    );
    let ledger = json_of(&node.cli(&["ledger", "dev:bob", "--json"]), "ledger");
    let staked_height = ledger["stake"]["height"].as_u64().unwrap();
    assert_eq!(ledger["stake"]["address"], bob.to_string());
    assert_eq!(amount_of(&ledger["stake"]["offerer"]), 1_000_000);
    assert_eq!(amount_of(&ledger["stake"]["relayer"]), 0);
    assert_eq!(ledger["stake"]["unbonding"], json!([]));
    let text = node.cli(&["ledger", "dev:bob"]);
    let text = text.assert_ok("ledger").stdout_text();
    assert!(
        text.contains("staked: 0.001 BV as offerer, 0 BV as relayer")
            && text.contains("offerer: no record, the prior")
            && text.contains("failure 200000 ppm, reputation 800000 ppm, latency 1000 ms"),
        "{text}"
    );
    // Nothing writes the ledger yet: both records read as the prior (4 successes, 1 failure).
    let records = ledger["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    for (record, role) in records.iter().zip(["offerer", "relayer"]) {
        assert_eq!(record["role"], role);
        assert_eq!(record["recorded"], false);
        assert_eq!(record["failure_ppm"], 200_000);
        assert_eq!(record["reputation_ppm"], 800_000);
        assert_eq!(record["latency_ms"], 1_000);
    }

    // The quote is pricing's, over the staked nodes at that height: computed here from the
    // same stakes and the prior, independently of the node.
    let height_text = staked_height.to_string();
    let quote_args = [
        "quote",
        "filters/bw",
        "erik/photo",
        "--fuel",
        "5000000",
        "--height",
        &height_text,
        "--requester",
        "dev:alice",
        "--json",
    ];
    let quoted = json_of(&node.cli(&quote_args), "quote");
    assert_eq!(quoted["height"].as_u64(), Some(staked_height));
    assert_eq!(quoted["relayers_staked"], 2);
    let offers = quoted["offers"].as_array().unwrap();
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0]["offerer"], bob.to_string());
    let relayers = [
        StakedNode {
            account: carol,
            stake: Amount(2_000),
            record: ReliabilityRecord::default(),
        },
        StakedNode {
            account: dave,
            stake: Amount(3_000),
            record: ReliabilityRecord::default(),
        },
    ];
    let expected = quote(
        &params.ledger,
        &params.quote,
        &QuoteRequest {
            height: staked_height,
            fuel_budget: 5_000_000,
            requester: SecretKey::dev("alice").account(),
            offerer: bob,
            offerer_record: ReliabilityRecord::default(),
            relayers: &relayers,
        },
    )
    .unwrap();
    let tiers = offers[0]["tiers"].as_array().unwrap();
    assert_eq!(tiers.len(), expected.tiers.len());
    assert_eq!(tiers.len(), 3, "0, 1 and 2 hops with two relayers");
    for (tier, want) in tiers.iter().zip(&expected.tiers) {
        assert_eq!(tier["hops"], want.hops);
        assert_eq!(tier["undetected_error_ppm"], want.undetected_error_ppm);
        assert_eq!(tier["reliability_ppm"], want.reliability_ppm());
        assert_eq!(tier["latency_ms"], want.latency_ms);
        assert_eq!(amount_of(&tier["price"]), want.price.0);
    }
    // The human table says the same.
    let table = node.cli(&quote_args[..quote_args.len() - 1]);
    assert!(
        table
            .assert_ok("quote table")
            .stdout_text()
            .contains(&bob.to_string()),
        "{}",
        table.stdout_text()
    );

    // bob unstakes: the money is unbonding, then back after the delay (2 blocks on dev).
    let unstaked = json_of(
        &node.cli(&[
            "unstake", "0.001", "--role", "offerer", "--key", "dev:bob", "--json",
        ]),
        "unstake",
    );
    assert_eq!(unstaked["status"], "included");
    let unstake_height = unstaked["height"].as_u64().unwrap();
    let release_height = unstake_height + params.unbonding_delay_blocks;
    let balance =
        |what| amount_of(&json_of(&node.cli(&["balance", "dev:bob", "--json"]), what)["balance"]);
    let after_unstake = balance("balance after unstake");
    let ledger = json_of(&node.cli(&["ledger", "dev:bob", "--json"]), "ledger");
    assert_eq!(amount_of(&ledger["stake"]["offerer"]), 0);
    assert_eq!(
        ledger["stake"]["unbonding"],
        json!([{"role": "offerer", "amount": "1000000", "release_height": release_height}])
    );
    // A later quote has no offerer; the earlier height still quotes the same table.
    let later = json_of(
        &node.cli(&["quote", "filters/bw", "erik/photo", "--json"]),
        "later quote",
    );
    assert_eq!(later["offers"], json!([]));
    assert_eq!(json_of(&node.cli(&quote_args), "quote again"), quoted);

    // More than staked, or a height the root has not reached, is refused in one line.
    assert_refused(
        &node.cli(&["unstake", "1base", "--role", "relayer", "--key", "dev:bob"]),
        "insufficient stake",
    );
    assert_refused(
        &node.cli(&["ledger", "dev:bob", "--height", "1000000"]),
        "above the tip",
    );

    // Blocks until the release height: the money comes back in exactly that block.
    let mut height = unstake_height;
    while height < release_height {
        let sent = json_of(
            &node.cli(&["send", "dev:carol", "1base", "--key", "dev:alice", "--json"]),
            "send",
        );
        height = sent["height"].as_u64().unwrap();
        let expected = if height >= release_height {
            after_unstake + 1_000_000
        } else {
            after_unstake
        };
        assert_eq!(balance("balance while unbonding"), expected, "at {height}");
    }
    let ledger = json_of(&node.cli(&["ledger", "dev:bob", "--json"]), "ledger");
    assert_eq!(ledger["stake"]["unbonding"], json!([]));
}

#[test]
fn a_bounty_posted_through_the_cli_pins_its_values_and_shows_as_json() {
    use bitverse_primitives::Hash;

    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(&dir.path().join("node"));
    node.cli(&[
        "keyspace",
        "buy",
        "filters",
        "--key",
        "dev:alice",
        "--quota",
        "10000",
    ])
    .assert_ok("keyspace buy");
    node.cli(&[
        "put",
        "filters/bw",
        "--key",
        "dev:alice",
        "--value",
        "a module's bytes",
    ])
    .assert_ok("put the module");
    node.cli(&[
        "put",
        "filters/photo",
        "--key",
        "dev:alice",
        "--value",
        "a photo",
    ])
    .assert_ok("put the photo");
    node.cli(&["stake", "0.001", "--role", "offerer", "--key", "dev:bob"])
        .assert_ok("stake bob");

    // carol is not staked as an offerer: refused in one line, with the reason.
    let refused = node.cli(&[
        "bounty",
        "post",
        "filters/bw",
        "filters/photo",
        "--offerer",
        "dev:carol",
        "--amount",
        "5000base",
        "--key",
        "dev:alice",
    ]);
    assert_refused(&refused, "is not staked as an offerer at root height");
    // An input with no value at the pinned height.
    let refused = node.cli(&[
        "bounty",
        "post",
        "filters/bw",
        "filters/none",
        "--offerer",
        "dev:bob",
        "--amount",
        "5000base",
        "--key",
        "dev:alice",
    ]);
    assert_refused(&refused, "key \"filters/none\" has no value at root height");

    let posted = json_of(
        &node.cli(&[
            "bounty",
            "post",
            "filters/bw",
            "filters/photo",
            "--offerer",
            "dev:bob",
            "--amount",
            "5000base",
            "--args",
            "64",
            "--expires-in",
            "50",
            "--key",
            "dev:alice",
            "--json",
        ]),
        "bounty post",
    );
    assert_eq!(posted["action"], "post_bounty");
    assert_eq!(posted["status"], "included");
    let id = posted["tx"].as_str().unwrap().to_owned();
    let posted_height = posted["height"].as_u64().unwrap();

    let shown = json_of(&node.cli(&["bounty", "show", &id, "--json"]), "bounty show");
    assert_eq!(shown["id"], id.as_str());
    assert_eq!(shown["status"], "open");
    // `bounty post` carries no acceptance from the offerer: its expiry will not count against it.
    assert_eq!(shown["accepted"], false);
    assert_eq!(amount_of(&shown["amount"]), 5_000);
    assert_eq!(
        shown["requester"],
        SecretKey::dev("alice").account().to_string()
    );
    assert_eq!(
        shown["offerer"],
        SecretKey::dev("bob").account().to_string()
    );
    assert_eq!(shown["posted_height"].as_u64(), Some(posted_height));
    assert_eq!(shown["pinned_height"].as_u64(), Some(posted_height - 1));
    assert_eq!(shown["expiry_height"].as_u64(), Some(posted_height + 50));
    assert_eq!(shown["hops"], 0);
    assert_eq!(shown["args_hex"], "3634");
    assert_eq!(shown["lineup"], Value::Null);
    assert_eq!(
        shown["transform"],
        json!({"key": "filters/bw", "value_hash": Hash::digest(b"a module's bytes").to_hex()})
    );
    assert_eq!(
        shown["inputs"],
        json!([{"key": "filters/photo", "value_hash": Hash::digest(b"a photo").to_hex()}])
    );
    // The same through the RPC, and null for a bounty never posted.
    let rpc = node
        .rpc("bv_getBounty", json!([id, posted_height]))
        .unwrap();
    assert_eq!(rpc["status"], "open");
    assert_eq!(rpc["height"].as_u64(), Some(posted_height));
    let none = node
        .rpc("bv_getBounty", json!([Hash::digest(b"none").to_hex()]))
        .unwrap();
    assert_eq!(none, Value::Null);
    let text = node.cli(&["bounty", "show", &id]);
    let text = text.assert_ok("bounty show").stdout_text();
    assert!(
        text.contains("status: open") && text.contains("input filters/photo = "),
        "{text}"
    );
    assert_refused(
        &node.cli(&["bounty", "show", &Hash::digest(b"none").to_hex()]),
        "no bounty",
    );
}
