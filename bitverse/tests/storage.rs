//! Storage across real processes (issue 19): a dev node and three storer nodes on loopback,
//! each `bitverse node --store` with its own shard store; a 12 MB photo quoted (`quote --put`)
//! and put as a blob at 2-of-3 through the CLI (the chain draws the storers, the gateway pushes
//! the shards, the storers confirm them), shown (`blob show`), read back byte for byte with
//! its manifest verified as a light client, served by range over HTTP, and read back
//! again after one storer is killed with kill -9; the killed storer, restarted, still holds
//! its acknowledged shard. And ten storers keeping a 64 MiB file at 3-of-10, read back after
//! seven of them are killed.

mod common;

use std::fs;
use std::io::Read;

use common::{TestNode, run_cli, wait_for};
use serde_json::json;

const STORERS: [&str; 3] = ["bob", "carol", "dave"];
const TIMEOUT_MS: u64 = 60_000;
const PHOTO_BYTES: usize = 12_000_000;

fn photo() -> Vec<u8> {
    let mut bytes = vec![0; PHOTO_BYTES];
    blake3::Hasher::new()
        .update(b"a phone photo")
        .finalize_xof()
        .fill(&mut bytes);
    // A PNG signature first, so the client names its content type.
    bytes[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    bytes
}

/// A file `name` in `dir` of `size_bytes` reproducible, incompressible bytes (seeded by its
/// name), and its bytes.
fn random_file(
    dir: &std::path::Path,
    name: &str,
    size_bytes: usize,
) -> (std::path::PathBuf, Vec<u8>) {
    let mut bytes = vec![0; size_bytes];
    blake3::Hasher::new()
        .update(name.as_bytes())
        .finalize_xof()
        .fill(&mut bytes);
    let path = dir.join(name);
    fs::write(&path, &bytes).expect("write the file");
    (path, bytes)
}

fn storer(dir: &std::path::Path, name: &str, bootstrap: &str) -> TestNode {
    let key = format!("dev:{name}");
    TestNode::launch(
        &dir.join(name),
        &[
            "--network",
            "dev",
            "--p2p-addr",
            "/ip4/127.0.0.1/tcp/0",
            "--bootstrap",
            bootstrap,
            "--store",
            "--store-capacity",
            "1GiB",
            "--market-key",
            &key,
        ],
    )
}

/// Storer nodes `names` beside `node`: each funded by alice with 11 BV, staked with 10 as
/// storer, launched, and seen on the chain with its capacity and peer declared.
fn staked_storers(node: &TestNode, dir: &std::path::Path, names: &[String]) -> Vec<TestNode> {
    for name in names {
        let key = format!("dev:{name}");
        node.cli(&["send", &key, "11", "--key", "dev:alice"])
            .assert_ok("fund a storer");
        node.cli(&["stake", "10", "--role", "storer", "--key", &key])
            .assert_ok("stake as storer");
    }
    let storers: Vec<TestNode> = names
        .iter()
        .map(|name| storer(dir, name, node.p2p()))
        .collect();
    wait_for(
        TIMEOUT_MS,
        "every storer declaring a peer",
        || {
            let listed = node.rpc("bv_getStorers", json!([])).ok()?;
            let declared = listed
                .as_array()?
                .iter()
                .filter(|s| s["peer"].is_string())
                .count();
            (declared == names.len()).then_some(())
        },
        || node.log(),
    );
    storers
}

#[test]
fn a_photo_put_on_three_storers_comes_back_after_one_is_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::launch(
        &dir.path().join("node"),
        &["--dev", "--p2p-addr", "/ip4/127.0.0.1/tcp/0"],
    );
    for name in STORERS {
        node.cli(&[
            "stake",
            "100",
            "--role",
            "storer",
            "--key",
            &format!("dev:{name}"),
        ])
        .assert_ok("stake as storer");
    }
    let mut storers: Vec<TestNode> = STORERS
        .iter()
        .map(|name| storer(dir.path(), name, node.p2p()))
        .collect();
    // Each storer declares its capacity and peer id on its own once it sees its stake.
    wait_for(
        TIMEOUT_MS,
        "three storers declaring a peer",
        || {
            let listed = node.rpc("bv_getStorers", json!([])).ok()?;
            let declared = listed
                .as_array()?
                .iter()
                .filter(|s| s["peer"].is_string() && s["capacity_bytes"] == json!(1u64 << 30))
                .count();
            (declared == STORERS.len()).then_some(())
        },
        || node.log(),
    );
    node.cli(&[
        "keyspace",
        "buy",
        "photos",
        "--key",
        "dev:alice",
        "--quota",
        "100000",
    ])
    .assert_ok("buy keyspace");

    let photo = photo();
    let photo_path = dir.path().join("photo.png");
    fs::write(&photo_path, &photo).expect("write photo");
    // The price first, from the file's length alone: the least endowment is what `put` pays.
    let quote = node.cli(&[
        "quote",
        "--put",
        photo_path.to_str().unwrap(),
        "--shares",
        "2-of-3",
        "--json",
    ]);
    quote.assert_ok("quote --put");
    let quote: serde_json::Value =
        serde_json::from_str(quote.stdout_text().trim()).expect("quote --json answers JSON");
    assert_eq!(quote["size_bytes"], json!(PHOTO_BYTES));
    assert_eq!(quote["total_shards"], 3);
    let kept: Vec<u128> = quote["kept_for"]
        .as_array()
        .expect("kept_for")
        .iter()
        .map(|k| k["endowment"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        kept.windows(2).all(|w| w[0] < w[1]),
        "keeping longer costs more: {quote}"
    );
    let put = node.cli(&[
        "put",
        "photos/beach",
        "--file",
        photo_path.to_str().unwrap(),
        "--shares",
        "2-of-3",
        "--key",
        "dev:alice",
        "--json",
    ]);
    put.assert_ok("put a 12 MB photo");
    let answer: serde_json::Value =
        serde_json::from_str(put.stdout_text().trim()).expect("put --json answers JSON");
    assert_eq!(answer["status"], "stored", "{answer}");
    assert_eq!(answer["content_type"], "image/png");
    let blob = node
        .rpc("bv_getBlob", json!(["photos/beach"]))
        .expect("bv_getBlob");
    assert_eq!(blob["size_bytes"], json!(PHOTO_BYTES));
    let mut holders = Vec::new();
    for (index, shard) in blob["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .enumerate()
    {
        assert_eq!(shard["confirmed"], true, "shard {index}: {blob}");
        holders.push(shard["storer"].as_str().expect("a storer").to_owned());
    }
    holders.sort();
    holders.dedup();
    assert_eq!(holders.len(), 3, "three distinct storers: {blob}");

    // The placement charge went to the root's pool; the rest of the quoted least endowment
    // is the blob's escrow.
    let units = |v: &serde_json::Value| v.as_str().unwrap().parse::<u128>().unwrap();
    assert_eq!(
        units(&blob["endowment_remaining"]) + units(&quote["placement"]),
        units(&quote["endowment_min"]),
        "put paid the quoted least endowment: {blob} {quote}"
    );
    let shown = node.cli(&["blob", "show", "photos/beach"]);
    shown.assert_ok("blob show");
    let shown = shown.stdout_text();
    assert!(
        shown.contains("3 of 3 shards confirmed, 2 needed: readable")
            && shown.contains("2-of-3")
            && shown.contains("image/png"),
        "{shown}"
    );
    let back = dir.path().join("back.png");
    let verified = node.cli(&[
        "get",
        "photos/beach",
        "--out",
        back.to_str().unwrap(),
        "--verify",
    ]);
    verified.assert_ok("get the photo, its manifest verified");
    assert!(
        verified.stderr.contains("is a blob of 12000000 bytes"),
        "{}",
        verified.stderr
    );
    assert!(
        fs::read(&back).expect("read back") == photo,
        "the photo came back different"
    );

    // The gateway serves it as a browser asks: its type, and exactly the bytes of a range.
    let agent = ureq::Agent::new_with_defaults();
    let mut response = agent
        .get(format!("{}/blob/photos/beach", node.url))
        .header("Range", "bytes=4000000-4000999")
        .call()
        .expect("ranged GET");
    assert_eq!(response.status(), 206);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    let mut part = Vec::new();
    response
        .body_mut()
        .as_reader()
        .read_to_end(&mut part)
        .expect("read the range");
    assert!(
        part == photo[4_000_000..4_001_000],
        "the range is not the photo's bytes"
    );

    // One storer killed outright: any two of three still rebuild the photo.
    storers[0].kill_9();
    let again = dir.path().join("again.png");
    node.cli(&["get", "photos/beach", "--out", again.to_str().unwrap()])
        .assert_ok("get with a storer down");
    assert!(
        fs::read(&again).expect("read again") == photo,
        "rebuilt photo differs"
    );

    // Restarted on its data directory, the killed storer still holds the shard it confirmed.
    let restarted = storer(dir.path(), STORERS[0], node.p2p());
    assert!(
        restarted.log().contains("shards=1"),
        "the restarted storer lost its shard: {}",
        restarted.log()
    );
    storers[0] = restarted;

    // A file that is empty is refused with a reason, and nothing is registered.
    let empty = dir.path().join("empty");
    fs::write(&empty, b"").expect("write empty");
    let refused = node.cli(&[
        "put",
        "photos/empty",
        "--file",
        empty.to_str().unwrap(),
        "--key",
        "dev:alice",
    ]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("is empty"), "{}", refused.stderr);
}

#[test]
fn ten_storers_keep_a_64_mib_file_readable_after_seven_are_killed() {
    const SIZE: usize = 64 * 1024 * 1024;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::launch(
        &dir.path().join("node"),
        &["--dev", "--p2p-addr", "/ip4/127.0.0.1/tcp/0"],
    );
    let names: Vec<String> = (0..10).map(|i| format!("storer-{i}")).collect();
    let mut storers = staked_storers(&node, dir.path(), &names);
    node.cli(&[
        "keyspace",
        "buy",
        "album",
        "--key",
        "dev:alice",
        "--quota",
        "100000",
    ])
    .assert_ok("buy keyspace");
    let (path, file) = random_file(dir.path(), "album.bin", SIZE);
    node.cli(&[
        "put",
        "album/2026",
        "--file",
        path.to_str().unwrap(),
        "--key",
        "dev:alice",
    ])
    .assert_ok("put 64 MiB at 3-of-10");
    let blob = node
        .rpc("bv_getBlob", json!(["album/2026"]))
        .expect("bv_getBlob");
    assert_eq!(blob["total_shards"], 10);
    assert_eq!(blob["data_shards"], 3);
    assert_eq!(blob["status"], "stored", "{blob}");

    // Seven storers killed outright, whichever shards they held: any three rebuild it.
    for storer in storers.iter_mut().take(7) {
        storer.kill_9();
    }
    let back = dir.path().join("back.bin");
    node.cli(&["get", "album/2026", "--out", back.to_str().unwrap()])
        .assert_ok("get with seven storers down");
    assert!(
        fs::read(&back).expect("read back") == file,
        "the album came back different"
    );
}

/// Issue 19 §3 and §6, across real processes: a storer that deletes its shard fails the
/// chain's audit of it (it cannot make the proof), is slashed, and the shard is re-placed for
/// repair on the spare storer, whose node rebuilds it from the other two over libp2p and
/// confirms it; the honest storers' audits pass. Afterwards, kill -9 of any other n − k
/// storers still leaves the file readable.
#[test]
fn a_storer_that_deletes_its_shard_is_slashed_and_the_shard_is_repaired_elsewhere() {
    const SIZE: usize = 3_000_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::launch(
        &dir.path().join("node"),
        &["--dev", "--p2p-addr", "/ip4/127.0.0.1/tcp/0"],
    );
    let names: Vec<String> = (0..4).map(|i| format!("keeper-{i}")).collect();
    let mut storers = staked_storers(&node, dir.path(), &names);
    let addresses: Vec<String> = names
        .iter()
        .map(|name| {
            let key = format!("dev:{name}");
            let address = run_cli(&["wallet", "address", "--key", &key]);
            address.assert_ok("address").stdout_text().trim().to_owned()
        })
        .collect();
    node.cli(&[
        "keyspace",
        "buy",
        "vault",
        "--key",
        "dev:alice",
        "--quota",
        "100000",
    ])
    .assert_ok("buy keyspace");
    let (path, file) = random_file(dir.path(), "document.bin", SIZE);
    node.cli(&[
        "put",
        "vault/document",
        "--file",
        path.to_str().unwrap(),
        "--shares",
        "2-of-3",
        // Paid for thousands of dev blocks: the least endowment lasts one period, and this
        // test makes hundreds of blocks go by.
        "--endowment",
        "1",
        "--key",
        "dev:alice",
    ])
    .assert_ok("put at 2-of-3");
    let blob = node
        .rpc("bv_getBlob", json!(["vault/document"]))
        .expect("bv_getBlob");
    let holder_of = |blob: &serde_json::Value, shard: usize| {
        let storer = blob["shards"][shard]["storer"].as_str().map(str::to_owned);
        storer.and_then(|s| addresses.iter().position(|a| *a == s))
    };
    let cheat = holder_of(&blob, 0).expect("shard 0 placed");
    let honest: Vec<usize> = [1, 2].iter().filter_map(|s| holder_of(&blob, *s)).collect();
    let spare = (0..4)
        .find(|i| *i != cheat && !honest.contains(i))
        .expect("a spare storer");

    // The cheat deletes its shard; its node still lists it, but can prove nothing from disk.
    let id = blob["id"].as_str().unwrap();
    let shard_file = storers[cheat]
        .data_dir
        .join("shards")
        .join(format!("{id}-00.data"));
    fs::remove_file(&shard_file).expect("delete the shard");

    // Blocks go by (a dev node seals one a write): the audit's deadline passes, the shard is
    // re-placed on the spare, which rebuilds and confirms it.
    let sent = std::cell::Cell::new(0u32);
    let repaired = wait_for(
        2 * TIMEOUT_MS,
        "the deleted shard repaired on the spare storer",
        || {
            node.cli(&["send", "dev:bob", "1base", "--key", "dev:alice"])
                .assert_ok("a write, for a block");
            sent.set(sent.get() + 1);
            let blob = node.rpc("bv_getBlob", json!(["vault/document"])).ok()?;
            let shard = &blob["shards"][0];
            (holder_of(&blob, 0) == Some(spare) && shard["confirmed"] == true).then_some(blob)
        },
        || {
            let tail = |node: &TestNode| {
                let log = node.log();
                let lines: Vec<&str> = log
                    .lines()
                    .filter(|l| l.contains("audit") || l.contains("repair") || l.contains("WARN"))
                    .collect();
                lines[lines.len().saturating_sub(12)..].join("\n")
            };
            format!(
                "after {} writes, blob {}\n--- cheat ---\n{}\n--- spare ---\n{}",
                sent.get(),
                node.rpc("bv_getBlob", json!(["vault/document"])).unwrap(),
                tail(&storers[cheat]),
                tail(&storers[spare])
            )
        },
    );
    assert_eq!(repaired["shards"][0]["repair"], false, "{repaired}");
    for shard in [1, 2] {
        assert!(
            repaired["shards"][shard]["last_audit_height"].is_u64(),
            "the honest storers' audits passed: {repaired}"
        );
    }
    let listed = node.rpc("bv_getStorers", json!([])).expect("bv_getStorers");
    let stake_of = |address: &str| -> u128 {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["address"] == address)
            .map(|s| s["stake"].as_str().unwrap().parse().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(
        stake_of(&addresses[cheat]),
        9_900_000_000,
        "1 % of the cheat's 10 BV burnt ({} writes)",
        sent.get()
    );
    assert_eq!(stake_of(&addresses[honest[0]]), 10_000_000_000);
    assert!(
        storers[spare]
            .log()
            .contains("repaired shard rebuilt and stored"),
        "{}",
        storers[spare].log()
    );

    // Any other n − k = 1 storer killed: the repaired shard and the last one rebuild the file.
    storers[honest[0]].kill_9();
    let back = dir.path().join("back.bin");
    node.cli(&["get", "vault/document", "--out", back.to_str().unwrap()])
        .assert_ok("get after the repair with another storer down");
    assert!(
        fs::read(&back).expect("read back") == file,
        "the document came back different"
    );
}

/// Challenge bounties across real processes (issue 19 §3): `put` writes the publisher's
/// schedule; `blob challenge` on an honest storer's shard is claimed by its node from its disk
/// and the shard's next interval doubles; a storer that deleted its shard cannot claim, so at
/// the deadline the amount comes back, the challenge is recorded unclaimed and the shard is
/// re-placed on the spare storer, which rebuilds it.
#[test]
fn an_honest_storer_claims_its_challenge_and_one_that_deleted_its_shard_cannot() {
    const SIZE: usize = 2_000_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::launch(
        &dir.path().join("node"),
        &["--dev", "--p2p-addr", "/ip4/127.0.0.1/tcp/0"],
    );
    let names: Vec<String> = (0..4).map(|i| format!("challenged-{i}")).collect();
    let storers = staked_storers(&node, dir.path(), &names);
    let addresses: Vec<String> = names
        .iter()
        .map(|name| {
            let address = run_cli(&["wallet", "address", "--key", &format!("dev:{name}")]);
            address.assert_ok("address").stdout_text().trim().to_owned()
        })
        .collect();
    node.cli(&[
        "keyspace",
        "buy",
        "vault",
        "--key",
        "dev:alice",
        "--quota",
        "100000",
    ])
    .assert_ok("buy keyspace");
    let (path, _) = random_file(dir.path(), "ledger.bin", SIZE);
    let put = node.cli(&[
        "put",
        "vault/ledger",
        "--file",
        path.to_str().unwrap(),
        "--shares",
        "2-of-3",
        "--challenges",
        "3",
        "--endowment",
        "1",
        "--key",
        "dev:alice",
        "--json",
    ]);
    put.assert_ok("put with a challenge schedule");
    let answer: serde_json::Value = serde_json::from_slice(&put.stdout).expect("put's JSON");
    let schedule_path = answer["challenge_schedule"]
        .as_str()
        .expect("a schedule written");
    let schedule: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(schedule_path).expect("read the schedule"))
            .expect("the schedule's JSON");
    assert_eq!(schedule["shards"].as_array().unwrap().len(), 3);
    assert_eq!(schedule["shards"][1]["keys"].as_array().unwrap().len(), 3);
    let blob = node
        .rpc("bv_getBlob", json!(["vault/ledger"]))
        .expect("bv_getBlob");
    let id = blob["id"].as_str().unwrap().to_owned();
    let holder_of = |blob: &serde_json::Value, shard: usize| {
        let storer = blob["shards"][shard]["storer"].as_str().map(str::to_owned);
        storer.and_then(|s| addresses.iter().position(|a| *a == s))
    };
    let cheat = holder_of(&blob, 0).expect("shard 0 placed");
    let challenge = |shard: &str| {
        node.cli(&[
            "blob",
            "challenge",
            "vault/ledger",
            "--shard",
            shard,
            "--amount",
            "0.5",
            "--key",
            "dev:alice",
            "--json",
            "--wait-timeout-secs",
            "120",
        ])
    };

    // The honest storer of shard 1 claims from its disk: a write of its own makes the block.
    let honest = challenge("1");
    honest.assert_ok("challenge an honest storer");
    let outcome: serde_json::Value = serde_json::from_slice(&honest.stdout).expect("JSON");
    assert_eq!(outcome["end"]["claimed"], true, "{outcome}");
    assert_eq!(outcome["index"], 0);
    // dev's audit deadline is 100 blocks: the first interval is twice that, and each claim
    // after doubles it (by hand, a challenge need not wait for its interval).
    assert_eq!(outcome["interval_blocks"], 200, "{outcome}");
    let again = challenge("1");
    again.assert_ok("challenge the honest storer again");
    let outcome: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(outcome["end"]["claimed"], true, "{outcome}");
    assert_eq!(outcome["index"], 1);
    assert_eq!(outcome["interval_blocks"], 400, "{outcome}");
    let blob = node
        .rpc("bv_getBlob", json!(["vault/ledger"]))
        .expect("bv_getBlob");
    assert_eq!(
        blob["shards"][1]["last_challenge"]["claimed"], true,
        "{blob}"
    );
    assert!(blob["shards"][1]["challenge"].is_null(), "{blob}");

    // The cheat deletes its shard; its challenge runs while blocks go by (one a write).
    let shard_file = storers[cheat]
        .data_dir
        .join("shards")
        .join(format!("{id}-00.data"));
    fs::remove_file(&shard_file).expect("delete the shard");
    let cheated = std::thread::scope(|scope| {
        let running = scope.spawn(|| challenge("0"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(3 * TIMEOUT_MS);
        while !running.is_finished() && std::time::Instant::now() < deadline {
            node.cli(&["send", "dev:bob", "1base", "--key", "dev:carol"])
                .assert_ok("a write, for a block");
        }
        running.join().expect("the challenge's thread")
    });
    cheated.assert_ok("challenge the storer that deleted its shard");
    let outcome: serde_json::Value = serde_json::from_slice(&cheated.stdout).expect("JSON");
    assert_eq!(outcome["end"]["claimed"], false, "{outcome}");
    assert!(
        storers[cheat]
            .log()
            .contains("cannot read a challenged shard"),
        "{}",
        storers[cheat].log()
    );
    // Re-placed on another storer, which rebuilds and confirms it.
    let repaired = wait_for(
        TIMEOUT_MS,
        "the challenged shard repaired elsewhere",
        || {
            node.cli(&["send", "dev:bob", "1base", "--key", "dev:carol"])
                .assert_ok("a write, for a block");
            let blob = node.rpc("bv_getBlob", json!(["vault/ledger"])).ok()?;
            let holder = holder_of(&blob, 0)?;
            (holder != cheat && blob["shards"][0]["confirmed"] == true).then_some(blob)
        },
        || {
            format!(
                "{}",
                node.rpc("bv_getBlob", json!(["vault/ledger"])).unwrap()
            )
        },
    );
    assert_eq!(repaired["shards"][0]["last_challenge"]["claimed"], false);
    // The schedule counts both challenges used.
    let schedule: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(schedule_path).expect("read the schedule"))
            .expect("the schedule's JSON");
    assert_eq!(schedule["shards"][0]["next"], 1);
    assert_eq!(schedule["shards"][1]["next"], 2);
}

/// `bitverse node --challenges` runs the schedule `put` wrote on its own: every confirmed
/// shard is challenged, each storer's node claims, and the schedule records each end and the
/// next challenge's height.
#[test]
fn a_node_with_challenges_runs_the_publisher_s_schedule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node_dir = dir.path().join("node");
    // Where the rig's CLI commands against this node keep their state, schedules included.
    let schedules = node_dir.join("light-client/challenges");
    let node = TestNode::launch(
        &node_dir,
        &[
            "--dev",
            "--p2p-addr",
            "/ip4/127.0.0.1/tcp/0",
            "--challenges",
            "--challenges-dir",
            schedules.to_str().unwrap(),
        ],
    );
    let names: Vec<String> = (0..3).map(|i| format!("scheduled-{i}")).collect();
    let _storers = staked_storers(&node, dir.path(), &names);
    node.cli(&[
        "keyspace",
        "buy",
        "vault",
        "--key",
        "dev:alice",
        "--quota",
        "100000",
    ])
    .assert_ok("buy keyspace");
    let (path, _) = random_file(dir.path(), "minutes.bin", 1_000_000);
    node.cli(&[
        "put",
        "vault/minutes",
        "--file",
        path.to_str().unwrap(),
        "--shares",
        "2-of-3",
        "--challenges",
        "2",
        "--endowment",
        "1",
        "--key",
        "dev:alice",
    ])
    .assert_ok("put with a challenge schedule");
    let blob = wait_for(
        TIMEOUT_MS,
        "every shard's first challenge claimed",
        || {
            let blob = node.rpc("bv_getBlob", json!(["vault/minutes"])).ok()?;
            blob["shards"]
                .as_array()?
                .iter()
                .all(|s| s["last_challenge"]["claimed"] == true)
                .then_some(blob)
        },
        || {
            format!(
                "{}\n{}",
                node.rpc("bv_getBlob", json!(["vault/minutes"])).unwrap(),
                node.log()
            )
        },
    );
    let id = blob["id"].as_str().unwrap();
    let schedule = wait_for(
        TIMEOUT_MS,
        "the schedule to record every end",
        || {
            let text = fs::read_to_string(schedules.join(format!("{id}.json"))).ok()?;
            let schedule: serde_json::Value = serde_json::from_str(&text).ok()?;
            schedule["shards"]
                .as_array()?
                .iter()
                .all(|s| s["open"].is_null() && s["interval_blocks"] == 200)
                .then_some(schedule)
        },
        || node.log(),
    );
    for (shard, planned) in schedule["shards"].as_array().unwrap().iter().enumerate() {
        assert_eq!(planned["next"], 1, "{schedule}");
        let ended = blob["shards"][shard]["last_challenge"]["height"]
            .as_u64()
            .unwrap();
        assert_eq!(
            planned["next_height"].as_u64().unwrap(),
            ended + 200,
            "{schedule}"
        );
    }
}
