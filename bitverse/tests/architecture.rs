//! The workspace's shape, checked from each crate's Cargo.toml (ARCHITECTURE.md, "Dependencies
//! point one way"): every crate depends only on the Bitverse crates below it, and only the
//! crates that meet the outside world (the node library, its devnet tools and the binary) use
//! the network, RPC, HTTP, metrics, command-line or async-runtime libraries, so the explorer,
//! the metrics endpoint and the peer-to-peer service cannot drift into a consensus crate.

use std::collections::BTreeSet;
use std::path::Path;

/// Each workspace member, bottom up, with the Bitverse crates it may depend on.
const LAYERS: &[(&str, &[&str])] = &[
    ("primitives", &[]),
    ("compute", &["bitverse-primitives"]),
    ("pricing", &["bitverse-primitives"]),
    ("keyspace", &["bitverse-primitives", "bitverse-compute"]),
    ("relay-lineup", &["bitverse-primitives", "bitverse-pricing"]),
    (
        "blocktree",
        &[
            "bitverse-primitives",
            "bitverse-compute",
            "bitverse-pricing",
            "bitverse-keyspace",
            "bitverse-relay-lineup",
        ],
    ),
    (
        "node",
        &[
            "bitverse-primitives",
            "bitverse-compute",
            "bitverse-pricing",
            "bitverse-keyspace",
            "bitverse-relay-lineup",
            "bitverse-blocktree",
        ],
    ),
    (
        "devnet",
        &[
            "bitverse-primitives",
            "bitverse-compute",
            "bitverse-pricing",
            "bitverse-blocktree",
            "bitverse-node",
        ],
    ),
    ("bitverse", &["bitverse-node", "bitverse-devnet"]),
];

/// The members that meet the outside world.
const OUTSIDE_WORLD: &[&str] = &["node", "devnet", "bitverse"];

/// Libraries of the outside world: networks, RPC and HTTP, metrics, the command line, signals
/// and the async runtime.
const OUTSIDE_WORLD_LIBRARIES: &[&str] = &[
    "libp2p",
    "jsonrpsee",
    "http",
    "http-body",
    "tower",
    "bytes",
    "prometheus-client",
    "clap",
    "toml",
    "nix",
    "tokio",
    "tracing-subscriber",
];

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn manifest(dir: &str) -> toml::Table {
    let path = root().join(dir).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names in `[dependencies]` (not dev-dependencies: tests may use anything).
fn dependencies(dir: &str) -> BTreeSet<String> {
    manifest(dir)
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .map(|deps| deps.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn every_workspace_member_has_its_place_in_the_layers() {
    let workspace = manifest(".");
    let members: BTreeSet<&str> = workspace["workspace"]["members"]
        .as_array()
        .expect("workspace members")
        .iter()
        .map(|m| m.as_str().expect("member path"))
        .collect();
    let layered: BTreeSet<&str> = LAYERS.iter().map(|(dir, _)| *dir).collect();
    assert_eq!(members, layered, "a new crate needs its place in LAYERS");
}

#[test]
fn each_crate_depends_only_on_bitverse_crates_below_it() {
    for (dir, allowed) in LAYERS {
        let allowed: BTreeSet<&str> = allowed.iter().copied().collect();
        let bitverse: Vec<String> = dependencies(dir)
            .into_iter()
            .filter(|dep| dep.starts_with("bitverse"))
            .filter(|dep| !allowed.contains(dep.as_str()))
            .collect();
        assert!(
            bitverse.is_empty(),
            "{dir} depends on {bitverse:?}, which are not below it"
        );
    }
}

#[test]
fn only_the_outside_world_crates_use_network_rpc_metrics_or_cli_libraries() {
    for (dir, _) in LAYERS {
        if OUTSIDE_WORLD.contains(dir) {
            continue;
        }
        let used: Vec<String> = dependencies(dir)
            .into_iter()
            .filter(|dep| OUTSIDE_WORLD_LIBRARIES.contains(&dep.as_str()))
            .collect();
        assert!(
            used.is_empty(),
            "{dir} uses {used:?}: outside-world code lives in node (ARCHITECTURE.md)"
        );
    }
}
