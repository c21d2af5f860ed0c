//! The compute market across real processes (issue 10 §5): `bitverse devnet --nodes 4` whose
//! nodes all offer and relay, one of them lying as an offerer and one silent, and the
//! requester's `bitverse request` at every tier. Checks the outputs against an independent
//! reference (the `png` crate and Pillow's luma formula), the dispute and slash of the liar,
//! the expiry and refund of the silent offerer with its ledger and quote moving, the
//! refusals (duplicate and forged settlements, a changed deep value, a missing input, modules
//! that loop or trap), an input two levels down the tree, and that every node serves on.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bitverse_blocktree::error::codes;
use bitverse_blocktree::{DeepValue, TxPayload, ValueProof};
use bitverse_primitives::{Hash, SecretKey};
use bitverse_relay_lineup::{Envelope, decode_envelope_chain};
use common::{
    CliOutput, Devnet, rpc_call, run_cli_with_env, run_cli_with_env_timed, signed, start_devnet,
    tx_hex, wait_for,
};
use serde_json::{Value, json};

/// Nodes of the devnet: node-2 lies as an offerer, node-3 keeps silent as one.
const NODES: usize = 4;
const LIAR: usize = 2;
const SILENT: usize = 3;
/// How long the nodes' stakes may take to show on the root.
const STAKE_TIMEOUT_MS: u64 = 120_000;
/// Fuel per execution: the bw filter over the sample photo uses about 3.4 million.
const FUEL: &str = "10000000";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the package has a parent")
        .to_path_buf()
}

fn node(index: usize) -> String {
    format!("dev:node-{index}")
}

fn account(index: usize) -> String {
    SecretKey::dev(&format!("node-{index}"))
        .account()
        .to_string()
}

struct Market {
    devnet: Devnet,
    dir: tempfile::TempDir,
}

/// How long the rig lets one `bitverse request` run.
const REQUEST_TIMEOUT_MS: u64 = 180_000;

impl Market {
    fn url(&self) -> &str {
        &self.devnet.urls[0]
    }

    fn cli(&self, args: &[&str]) -> CliOutput {
        run_cli_with_env(args, &[("BITVERSE_RPC", self.url())])
    }

    fn rpc(&self, method: &str, params: Value) -> Result<Value, common::RpcError> {
        rpc_call(self.url(), method, params).expect("node reachable")
    }

    /// `bitverse request TRANSFORM INPUT --tier N` by dev:bob, with `extra` flags.
    fn request(
        &self,
        transform: &str,
        input: &str,
        tier: u8,
        out: &Path,
        extra: &[&str],
    ) -> CliOutput {
        let tier = tier.to_string();
        let out = out.display().to_string();
        // The command's own deadline (`--timeout-secs`) comes before the rig's, so a request
        // too slow fails with its own error. A deep input may wait up to a minute to be
        // anchored level by level to the root before the request's own root blocks, so
        // `request` gets more than the rig's usual minute.
        let timeout_secs = (REQUEST_TIMEOUT_MS / 1_000 - 10).to_string();
        let mut args = vec![
            "request",
            transform,
            input,
            "--tier",
            &tier,
            "--out",
            &out,
            "--key",
            "dev:bob",
            "--fuel",
            FUEL,
            "--json",
            "--timeout-secs",
            &timeout_secs,
        ];
        args.extend_from_slice(extra);
        run_cli_with_env_timed(&args, &[("BITVERSE_RPC", self.url())], REQUEST_TIMEOUT_MS)
    }

    fn logs(&self) -> String {
        (0..NODES)
            .map(|i| {
                let path = self.dir.path().join(format!("node-{i}/node.log"));
                let log = std::fs::read_to_string(&path).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                format!(
                    "--- node-{i}\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn offerer_stake(&self, index: usize) -> String {
        let stake = self
            .rpc("bv_getStake", json!([account(index)]))
            .expect("bv_getStake");
        stake["offerer"].as_str().expect("offerer stake").to_owned()
    }

    fn offerer_record(&self, index: usize) -> Value {
        let ledger = self
            .rpc("bv_getLedger", json!([account(index)]))
            .expect("bv_getLedger");
        ledger["records"][0].clone()
    }

    /// The quoted tier-0 undetected error of `index` as offerer, if it is quoted at all.
    fn quoted_error_ppm(&self, index: usize) -> Option<u64> {
        let quote = self
            .rpc(
                "bv_quote",
                json!(["filters/bw", ["photos/sample"], 10_000_000]),
            )
            .expect("bv_quote");
        quote["offers"]
            .as_array()?
            .iter()
            .find(|o| o["offerer"] == json!(account(index)))
            .and_then(|o| o["tiers"][0]["undetected_error_ppm"].as_u64())
    }
}

/// The JSON lines of `request --json`: the outcome object, if it got that far.
fn outcome(output: &CliOutput) -> Option<Value> {
    output
        .stdout_text()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v.get("outcome").cloned())
}

/// Decodes a PNG with the `png` crate: width, height, color type, pixels.
fn decode_png(bytes: &[u8]) -> (u32, u32, png::ColorType, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG the png crate reads");
    let mut pixels = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut pixels).expect("PNG data");
    pixels.truncate(info.buffer_size());
    (info.width, info.height, info.color_type, pixels)
}

/// Pillow's `convert("L")`: ITU-R 601-2 luma in 16-bit fixed point, rounded.
fn pillow_luma(rgb: &[u8], channels: usize) -> Vec<u8> {
    rgb.chunks_exact(channels)
        .map(|p| {
            let (r, g, b) = (u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
            ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) as u8
        })
        .collect()
}

/// Builds the example transformations with the documented command into `out`.
fn build_transforms(out: &Path) {
    let status = Command::new(repo_root().join("scripts/build-transforms"))
        .arg(out)
        .status()
        .expect("run scripts/build-transforms");
    assert!(
        status.success(),
        "scripts/build-transforms failed: {status}"
    );
}

/// A module that exports `transform` and `memory` and never returns, or traps.
fn write_module(dir: &Path, name: &str, body: &str) -> PathBuf {
    let text = format!(
        r#"(module (memory (export "memory") 1) (func (export "transform") (result i32) {body}))"#
    );
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, wat::parse_str(&text).expect("valid WAT")).expect("write module");
    path
}

fn start_market() -> Market {
    let dir = tempfile::tempdir().expect("tempdir");
    let lie = format!("{LIAR}=lie");
    let silent = format!("{SILENT}=silent");
    let devnet = start_devnet(
        dir.path(),
        NODES,
        &["--market-fault", &lie, "--market-fault", &silent],
    );
    let market = Market { devnet, dir };
    let per_role = json!((100 * bitverse_primitives::BASE_UNITS_PER_COIN).to_string());
    for index in 0..NODES {
        wait_for(
            STAKE_TIMEOUT_MS,
            &format!("node-{index}'s stakes"),
            || {
                let stake = market.rpc("bv_getStake", json!([account(index)])).ok()?;
                (stake["offerer"] == per_role && stake["relayer"] == per_role).then_some(())
            },
            || market.logs(),
        );
    }
    market
}

#[test]
fn requests_at_every_tier_settle_liars_are_slashed_and_silence_expires() {
    let market = start_market();
    let work = tempfile::tempdir().expect("tempdir");
    build_transforms(work.path());
    let bw = work.path().join("bw.wasm");
    let photo = repo_root().join("sandbox-scripts/photos/sample.png");
    let bw = bw.display().to_string();
    let photo_arg = photo.display().to_string();
    market
        .cli(&["keyspace", "buy", "filters", "--key", "dev:alice"])
        .assert_ok("buy filters");
    market
        .cli(&["keyspace", "buy", "photos", "--key", "dev:bob"])
        .assert_ok("buy photos");
    market
        .cli(&["put", "filters/bw", "--file", &bw, "--key", "dev:alice"])
        .assert_ok("put bw");
    market
        .cli(&[
            "put",
            "photos/sample",
            "--file",
            &photo_arg,
            "--key",
            "dev:bob",
        ])
        .assert_ok("put the photo");

    // The reference: the input decoded and converted by Pillow's formula, independently.
    let (width, height, color, rgb) = decode_png(&std::fs::read(&photo).expect("sample photo"));
    let channels = match color {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("the sample photo is {other:?}"),
    };
    let reference = pillow_luma(&rgb, channels);

    // Every tier, honest offerers (the faulty nodes are honest as relayers, and are drawn).
    let mut settled = Vec::new();
    for (tier, offerer) in [(0u8, 0usize), (1, 1), (2, 0), (3, 1)] {
        let out = work.path().join(format!("bw-{tier}.png"));
        let output = market.request(
            "filters/bw",
            "photos/sample",
            tier,
            &out,
            &["--offerer", &node(offerer)],
        );
        output.assert_ok(&format!("request at tier {tier}"));
        let outcome = outcome(&output).expect("an outcome line");
        assert_eq!(
            outcome["lineup"].as_array().map(Vec::len),
            Some(usize::from(tier))
        );
        let written = std::fs::read(&out).expect("the result is written");
        let (w, h, grey, luma) = decode_png(&written);
        assert_eq!((w, h, grey), (width, height, png::ColorType::Grayscale));
        assert_eq!(
            luma, reference,
            "tier {tier}: pixels differ from Pillow's luma"
        );
        let bounty = market
            .rpc("bv_getBounty", json!([outcome["bounty"]]))
            .expect("bv_getBounty");
        assert_eq!(bounty["status"], "settled", "{bounty}");
        assert_eq!(
            bounty["result_hash"],
            json!(Hash::digest(&written).to_hex())
        );
        settled.push(outcome["bounty"].as_str().expect("bounty id").to_owned());
        // The result reached the requester only after the settlement, in a reveal whose
        // bytes the node checked against the settled hash; every node that heard it shows it.
        let heard = market
            .rpc("bv_getResult", json!([outcome["bounty"]]))
            .expect("bv_getResult");
        assert_eq!(heard["result_hash"], bounty["result_hash"], "{heard}");
        assert_eq!(
            heard["result_hex"],
            json!(hex::encode(&written)),
            "tier {tier}: the revealed bytes are the written result"
        );
        // Every node heard the reveal and checked it against the settle it imported: the
        // network's chain worker forwarded it only once it matched.
        for url in &market.devnet.urls {
            wait_for(
                20_000,
                &format!("tier {tier}'s reveal at {url}"),
                || {
                    let heard = rpc_call(url, "bv_getResult", json!([outcome["bounty"]]))
                        .ok()?
                        .ok()?;
                    (heard["result_hex"] == json!(hex::encode(&written))).then_some(())
                },
                || market.logs(),
            );
        }
        let text = output.stdout_text();
        let settled_at = text.find(r#""step":"settled""#).expect("a settled step");
        let revealed_at = text.find(r#""step":"revealed""#).expect("a revealed step");
        assert!(
            settled_at < revealed_at,
            "revealed only after the settlement"
        );
        // The envelopes the chain carried commit to the result under each signer: none is
        // the result's hash, and no two are equal (a relayer copying one would be refused).
        let chain = decode_envelope_chain(
            &hex::decode(heard["envelopes_hex"].as_str().expect("envelopes")).expect("hex"),
        )
        .expect("a chain");
        let result_hash = Hash::digest(&written);
        for (i, envelope) in chain.iter().enumerate() {
            assert!(envelope.commits_to(&result_hash));
            assert_ne!(envelope.commitment, result_hash);
            assert!(
                chain[..i]
                    .iter()
                    .all(|e| e.commitment != envelope.commitment)
            );
        }
        // The silent node never settles as the last relayer: when it is drawn last, the
        // offerer settles the complete chain itself a few root blocks later.
    }
    // A budget the run outgrows (the filter needs about 3.4 million): each offerer that
    // answers says what the run needs, the error names --fuel, and that budget settles.
    let tight_out = work.path().join("bw-tight.png");
    let request_with_fuel = |fuel: &str| {
        run_cli_with_env_timed(
            &[
                "request",
                "filters/bw",
                "photos/sample",
                "--tier",
                "0",
                "--out",
                tight_out.to_str().unwrap(),
                "--key",
                "dev:bob",
                "--fuel",
                fuel,
                "--offerer",
                &node(0),
                "--timeout-secs",
                "60",
            ],
            &[("BITVERSE_RPC", market.url())],
            REQUEST_TIMEOUT_MS,
        )
    };
    let tight = request_with_fuel("1000000");
    assert_ne!(tight.code, 0, "a budget too small cannot be served");
    assert!(
        tight.stderr.contains("give a larger one with --fuel"),
        "{}",
        tight.stderr
    );
    let needed: u64 = tight
        .stderr
        .split("request it with --fuel ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("no needed budget named: {}", tight.stderr));
    assert!((1_000_000..10_000_000).contains(&needed), "{needed}");
    let enough = request_with_fuel(&needed.to_string());
    enough.assert_ok("the request with the budget the offerer named");
    let (_, _, _, luma) = decode_png(&std::fs::read(&tight_out).expect("the result"));
    assert_eq!(luma, reference, "the same filtered photo");
    // An input two levels down the tree: the requester brings it to the root with its proof.
    market
        .cli(&[
            "keyspace", "buy", "deep", "--key", "dev:bob", "--depth", "2",
        ])
        .assert_ok("buy a deep keyspace");
    market
        .cli(&[
            "put",
            "deep/sample",
            "--file",
            &photo_arg,
            "--key",
            "dev:bob",
        ])
        .assert_ok("put the photo two levels down");
    let out = work.path().join("bw-deep.png");
    let output = market.request(
        "filters/bw",
        "deep/sample",
        1,
        &out,
        &["--offerer", &node(0)],
    );
    output.assert_ok("request over a deep input");
    assert!(
        output.stdout_text().contains("lives on chain"),
        "{}",
        output.stdout_text()
    );
    let (_, _, _, luma) = decode_png(&std::fs::read(&out).expect("the result is written"));
    assert_eq!(
        luma, reference,
        "the deep input's result differs from Pillow's luma"
    );

    // A deep value changed on its way to the root is refused, naming the input.
    let proof = market
        .rpc("bv_getProof", json!(["deep/sample"]))
        .expect("bv_getProof");
    let proof = ValueProof::from_bytes(
        &hex::decode(proof["proof_hex"].as_str().expect("proof_hex")).expect("hex"),
    )
    .expect("a value proof");
    let mut changed = DeepValue::from_value_proof(proof).expect("a deep value");
    changed.value[0] ^= 0xff;
    let tip = market.rpc("bv_status", json!([])).expect("status")["height"]
        .as_u64()
        .expect("height");
    let alice = SecretKey::dev("alice");
    let alice_nonce = market
        .rpc("bv_getAccount", json!([alice.account().to_string()]))
        .expect("bv_getAccount")["pending_nonce"]
        .as_u64()
        .expect("nonce");
    let forged_post = signed(
        &alice,
        alice_nonce,
        TxPayload::PostBounty {
            amount: bitverse_primitives::Amount(5_000),
            transform: "filters/bw".into(),
            inputs: vec!["deep/sample".into()],
            pinned_height: tip,
            args: Vec::new(),
            hops: 0,
            offerer: SecretKey::dev("node-0").account(),
            fuel_budget: 10_000_000,
            expiry_height: tip + 20,
            deep_values: vec![changed],
            acceptance: None,
        },
    );
    let refused = market
        .rpc("bv_sendTransaction", json!([tx_hex(&forged_post)]))
        .expect_err("a changed deep value");
    assert_eq!(
        refused.code,
        i64::from(codes::BAD_DEEP_VALUE),
        "{refused:?}"
    );

    let successes = market.offerer_record(0)["successes"].as_u64().unwrap_or(0);
    assert!(successes > 0, "node-0's settled offers are in the ledger");

    // A second Settle of a settled bounty is refused, and nothing moves.
    let carol = SecretKey::dev("carol");
    let carol_nonce = || {
        market
            .rpc("bv_getAccount", json!([carol.account().to_string()]))
            .expect("bv_getAccount")["pending_nonce"]
            .as_u64()
            .expect("nonce")
    };
    let heard = market
        .rpc("bv_getResult", json!([settled[1]]))
        .expect("bv_getResult");
    let chain = decode_envelope_chain(
        &hex::decode(heard["envelopes_hex"].as_str().expect("envelopes")).expect("hex"),
    )
    .expect("a chain");
    let bounty_id: Hash = settled[1].parse().expect("bounty id");
    let settled_hash: Hash = heard["result_hash"]
        .as_str()
        .expect("settled")
        .parse()
        .expect("a hash");
    let duplicate = signed(
        &carol,
        carol_nonce(),
        TxPayload::Settle {
            bounty: bounty_id,
            result_hash: settled_hash,
            chain: chain.clone(),
        },
    );
    let refused = market
        .rpc("bv_sendTransaction", json!([tx_hex(&duplicate)]))
        .expect_err("a second Settle");
    assert_eq!(refused.code, i64::from(codes::BOUNTY_CLOSED), "{refused:?}");

    // A lying offerer is caught by its lineup, disputed (the root re-executes over the deep
    // value it keeps for the bounty) and slashed; nothing is written.
    let liar_record_before = market.offerer_record(LIAR);
    let out = work.path().join("lie.png");
    let output = market.request(
        "filters/bw",
        "deep/sample",
        1,
        &out,
        &["--offerer", &node(LIAR)],
    );
    assert_ne!(output.code, 0, "a disputed request fails");
    assert!(output.stderr.contains("was disputed"), "{}", output.stderr);
    assert!(!out.exists(), "nothing is written for a disputed result");
    assert_eq!(
        market.offerer_stake(LIAR),
        "0",
        "the liar's offerer stake is burnt"
    );
    let liar_failures = market.offerer_record(LIAR)["failures"]
        .as_u64()
        .unwrap_or(0);
    assert!(liar_failures > liar_record_before["failures"].as_u64().unwrap_or(0));
    assert_eq!(
        market.quoted_error_ppm(LIAR),
        None,
        "an unstaked offerer is not quoted"
    );

    // A forged envelope chain on an open bounty is refused: node-3's envelope signed by carol.
    let posted = market.cli(&[
        "bounty",
        "post",
        "filters/bw",
        "photos/sample",
        "--offerer",
        &node(SILENT),
        "--amount",
        "2000base",
        "--hops",
        "0",
        "--fuel",
        FUEL,
        "--expires-in",
        "50",
        "--key",
        "dev:alice",
        "--json",
    ]);
    posted.assert_ok("bounty post");
    let posted: Value = serde_json::from_str(posted.stdout_text().trim()).expect("JSON");
    let open_id: Hash = posted["tx"].as_str().expect("tx").parse().expect("hash");
    let mut forged = Envelope::offer(&carol, open_id, Hash::digest(b"forged"), 1_000);
    forged.signer = SecretKey::dev(&format!("node-{SILENT}")).account();
    let forged_tx = signed(
        &carol,
        carol_nonce(),
        TxPayload::Settle {
            bounty: open_id,
            result_hash: Hash::digest(b"forged"),
            chain: vec![forged],
        },
    );
    let refused = market
        .rpc("bv_sendTransaction", json!([tx_hex(&forged_tx)]))
        .expect_err("a forged Settle");
    assert_eq!(
        refused.code,
        i64::from(codes::BAD_ENVELOPE_CHAIN),
        "{refused:?}"
    );

    // A silent offerer leaves the bounty to expire: refunded, a failure in its record, and
    // its quote moves.
    let silent_error_before = market.quoted_error_ppm(SILENT).expect("quoted");
    let bob = SecretKey::dev("bob").account().to_string();
    let out = work.path().join("silent.png");
    let output = market.request(
        "filters/bw",
        "photos/sample",
        0,
        &out,
        &["--offerer", &node(SILENT), "--expires-in", "3"],
    );
    assert_ne!(output.code, 0, "an expired request fails");
    assert!(output.stderr.contains("expired"), "{}", output.stderr);
    assert!(!out.exists());
    let silent_error_after = market.quoted_error_ppm(SILENT).expect("still quoted");
    assert!(
        silent_error_after > silent_error_before,
        "the silent offerer's quoted error rises: {silent_error_before} → {silent_error_after}"
    );
    let open_bounties = market
        .rpc("bv_getBounty", json!([open_id.to_hex()]))
        .expect("bv_getBounty");
    assert_eq!(
        open_bounties["status"], "open",
        "the other bounty is not touched"
    );

    // Refused before any money moves: a missing input, a module that loops, one that traps.
    let balance =
        |who: &str| market.rpc("bv_getAccount", json!([who])).expect("account")["balance"].clone();
    let bob_before = balance(&bob);
    let output = market.request(
        "filters/bw",
        "photos/none",
        0,
        &work.path().join("none.png"),
        &[],
    );
    assert_ne!(output.code, 0);
    assert!(
        output.stderr.contains("no value under photos/none"),
        "{}",
        output.stderr
    );
    for (name, body) in [
        ("loops", "(loop $l (br $l)) (i32.const 0)"),
        ("traps", "unreachable"),
    ] {
        let module = write_module(work.path(), name, body);
        let key = format!("filters/{name}");
        market
            .cli(&[
                "put",
                &key,
                "--file",
                &module.display().to_string(),
                "--key",
                "dev:alice",
            ])
            .assert_ok("put a bad module");
        let output = market.request(&key, "photos/sample", 0, &work.path().join("bad.png"), &[]);
        assert_ne!(output.code, 0, "{name}");
        assert!(
            output.stderr.contains("every offerer declined"),
            "{name}: {}",
            output.stderr
        );
    }
    assert_eq!(
        balance(&bob),
        bob_before,
        "no bounty was posted for refused requests"
    );

    // Every node serves on.
    for url in &market.devnet.urls {
        let status = rpc_call(url, "bv_status", json!([])).expect("reachable");
        assert!(status.is_ok(), "{url}: {status:?}");
    }
}
