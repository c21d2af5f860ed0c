//! A short run of `bitverse bench flood` (issue 18 §6; the full run is in docs/BENCHMARKS.md):
//! two honest nodes on loopback carry honest transfers while a flooder in the bench's process
//! sends them orphan blocks, transfers from an unfunded key and invalid messages under one
//! fresh identity after another. Every kind of flooding identity is dropped, the nodes say
//! they banned it, and the report holds every figure.

mod common;

use serde_json::Value;

/// How long the whole command may take: two nodes' start, 3 + 6 + 2 s of writes, the stop.
const BENCH_TIMEOUT_MS: u64 = 90_000;

#[test]
fn a_flooder_of_each_kind_is_dropped_and_the_report_holds_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("flood");
    let out = common::run_cli_with_env_timed(
        &[
            "bench",
            "flood",
            "--nodes",
            "2",
            "--baseline",
            "3",
            "--flood",
            "6",
            "--after",
            "2",
            "--rate",
            "300",
            "--json",
            "--dir",
            work.to_str().unwrap(),
        ],
        &[],
        BENCH_TIMEOUT_MS,
    );
    let text = out.stdout_text();
    // On a loaded CI machine the latency bound may fail; nothing else may.
    assert!(
        out.code == 0 || (out.code == 1 && out.stderr.contains("over the bound of 2×")),
        "bench flood failed: code {}, stdout {text}\nstderr {}",
        out.code,
        out.stderr
    );
    let report: Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("one JSON object: {e}: {text}\nstderr {}", out.stderr));

    for phase in ["baseline", "flood", "after"] {
        let stats = &report["latency"][phase];
        assert!(stats["samples"].as_u64().unwrap() > 0, "{phase}: {report}");
        assert!(stats["p50_ms"].as_f64().unwrap() > 0.0, "{phase}: {report}");
        assert!(
            stats["p99_ms"].as_f64().unwrap() >= stats["p50_ms"].as_f64().unwrap(),
            "{phase}: {report}"
        );
    }
    let ratio = report["flood_p50_ratio"].as_f64().unwrap();
    assert_eq!(
        report["within_bound"].as_bool().unwrap(),
        ratio <= 2.0,
        "{report}"
    );

    let flooder = &report["flooder"];
    assert_eq!(flooder["disconnected"], true, "{report}");
    assert!(flooder["messages_sent"].as_u64().unwrap() > 0, "{report}");
    assert!(
        flooder["identities_tried"].as_u64().unwrap() >= 6,
        "{report}"
    );
    assert!(
        flooder["identities_admitted"].as_u64().unwrap() >= 3,
        "{report}"
    );
    assert!(flooder["cpu_ms"].as_u64().is_some(), "{report}");
    for kind in ["orphan", "unfunded", "invalid"] {
        let figures = &flooder["by_kind"][kind];
        assert!(figures["sent"].as_u64().unwrap() > 0, "{kind}: {report}");
        assert!(
            figures["dropped"].as_u64().unwrap() >= 1,
            "a flooder sending {kind} messages was never dropped: {report}"
        );
        assert!(
            figures["connected_ms"]["samples"].as_u64().unwrap() >= 1,
            "{kind}: {report}"
        );
    }

    // The nodes' own view: they banned the flooder's identities, for what each kind did.
    let honest = report["honest"].as_array().unwrap();
    assert_eq!(honest.len(), 2, "{report}");
    let bans = |why: &str| -> u64 {
        honest
            .iter()
            .map(|node| node["bans"][why].as_u64().unwrap_or(0))
            .sum()
    };
    assert!(
        bans("useless gossip") >= 2,
        "orphans and unfunded: {report}"
    );
    assert!(bans("invalid messages") >= 1, "{report}");
    assert!(
        honest
            .iter()
            .any(|node| node["gossip_during_flood"]["transaction/reject"].as_u64() > Some(0)),
        "{report}"
    );
}
