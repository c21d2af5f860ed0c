//! The workspace's shape, checked from each crate's Cargo.toml (ARCHITECTURE.md, "Dependencies
//! point one way"): every crate depends only on the Bitverse crates below it, and only the
//! crates that meet the outside world (the node library, its devnet tools and the binary) use
//! the network, RPC, HTTP, metrics, command-line or async-runtime libraries, so the explorer,
//! the metrics endpoint and the peer-to-peer service cannot drift into a consensus crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The consensus crates, bottom up: the chain's rules, which every node must compute alike.
const CONSENSUS: &[&str] = &[
    "bitverse-primitives",
    "bitverse-compute",
    "bitverse-pricing",
    "bitverse-keyspace",
    "bitverse-relay-lineup",
    "bitverse-storage",
    "bitverse-blocktree",
];

/// Each workspace member, bottom up, with the Bitverse crates it may depend on beyond the
/// consensus crates below it (every crate above `blocktree` may use all of those).
const LAYERS: &[(&str, &[&str])] = &[
    ("primitives", &[]),
    ("compute", &["bitverse-primitives"]),
    ("pricing", &["bitverse-primitives"]),
    ("keyspace", &["bitverse-primitives", "bitverse-compute"]),
    ("relay-lineup", &["bitverse-primitives", "bitverse-pricing"]),
    ("storage", &["bitverse-primitives"]),
    ("shard-store", &["bitverse-primitives", "bitverse-storage"]),
    ("blocktree", &[]),
    ("store-rocks", &[]),
    ("rpc-api", &[]),
    ("market-wire", &[]),
    ("metrics", &["bitverse-rpc-api"]),
    (
        "p2p",
        &[
            "bitverse-rpc-api",
            "bitverse-metrics",
            "bitverse-market-wire",
        ],
    ),
    // The simulator: the real blocktree on virtual time and a virtual network; above the
    // consensus crates and p2p (whose sync machine it may drive), below the node's command.
    ("sim", &["bitverse-p2p"]),
    ("market-agent", &["bitverse-market-wire", "bitverse-p2p"]),
    ("blob-agent", &["bitverse-p2p", "bitverse-shard-store"]),
    ("index", &["bitverse-rpc-api", "bitverse-metrics"]),
    (
        "rpc-server",
        &[
            "bitverse-rpc-api",
            "bitverse-metrics",
            "bitverse-market-wire",
            "bitverse-p2p",
            "bitverse-market-agent",
            "bitverse-index",
            "bitverse-blob-agent",
        ],
    ),
    ("client", &["bitverse-rpc-api", "bitverse-market-wire"]),
    (
        "node",
        &[
            "bitverse-rpc-api",
            "bitverse-metrics",
            "bitverse-p2p",
            "bitverse-market-agent",
            "bitverse-index",
            "bitverse-rpc-server",
            "bitverse-client",
            "bitverse-blob-agent",
            "bitverse-shard-store",
            "bitverse-store-rocks",
            "bitverse-sim",
        ],
    ),
    (
        "devnet",
        &[
            "bitverse-node",
            "bitverse-client",
            "bitverse-rpc-api",
            "bitverse-p2p",
            "bitverse-store-rocks",
        ],
    ),
    (
        "bitverse",
        &[
            "bitverse-node",
            "bitverse-devnet",
            "bitverse-client",
            "bitverse-store-rocks",
        ],
    ),
];

/// The members that meet the outside world. `rpc-api` and `market-wire` are not among them:
/// wire shapes and their codecs, with no network, runtime or clock of their own.
const OUTSIDE_WORLD: &[&str] = &[
    "metrics",
    "p2p",
    "market-agent",
    "index",
    "rpc-server",
    "client",
    "node",
    "devnet",
    "bitverse",
];

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
    "futures",
    "hyper",
    "reqwest",
    "rand",
];

/// Outside-world libraries a crate outside the outside world may name, and why: `rpc-api`
/// holds the RPC surface as jsonrpsee `#[rpc]` traits, from which the macro writes the server's
/// registration and the client's calls (it implements neither: no server, client or runtime).
const OUTSIDE_WORLD_EXCEPTIONS: &[(&str, &str)] = &[("rpc-api", "jsonrpsee")];

/// The one crate that names libp2p: the rest of the node sees its handle and its own types.
const LIBP2P_CRATE: &str = "p2p";

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn manifest(dir: &str) -> toml::Table {
    let path = root().join(dir).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The packages a member builds with: `[dependencies]` and `[build-dependencies]`, plain or
/// under a `[target.…]` table, each by the package it names (a dependency renamed with
/// `package = "…"`, here or in the workspace's table, counts as that package), so that no
/// spelling of a manifest dodges the layer checks. Not dev-dependencies: tests may use anything.
fn dependencies(dir: &str) -> BTreeSet<String> {
    let manifest = manifest(dir);
    let workspace = manifest_of_workspace();
    let workspace_deps = workspace
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(toml::Value::as_table);
    let mut tables: Vec<&toml::Table> = Vec::new();
    for kind in ["dependencies", "build-dependencies"] {
        tables.extend(manifest.get(kind).and_then(toml::Value::as_table));
        for target in manifest
            .get("target")
            .and_then(toml::Value::as_table)
            .into_iter()
            .flat_map(|t| t.values())
        {
            tables.extend(target.get(kind).and_then(toml::Value::as_table));
        }
    }
    let mut packages = BTreeSet::new();
    for table in tables {
        for (name, spec) in table {
            let renamed = |spec: &toml::Value| {
                spec.get("package")
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned)
            };
            let from_workspace = spec
                .get("workspace")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false);
            let package = renamed(spec)
                .or_else(|| {
                    from_workspace
                        .then(|| workspace_deps.and_then(|w| w.get(name)).and_then(renamed))
                        .flatten()
                })
                .unwrap_or_else(|| name.clone());
            packages.insert(package);
        }
    }
    packages
}

fn manifest_of_workspace() -> toml::Table {
    manifest(".")
}

#[test]
fn a_renamed_target_specific_or_build_dependency_is_still_seen() {
    let dir = tempfile_manifest(
        r#"
[package]
name = "probe"
[dependencies]
net = { package = "libp2p", version = "1" }
[build-dependencies]
tokio = "1"
[target.'cfg(unix)'.dependencies]
clap = "4"
"#,
    );
    // `manifest` joins its argument to the workspace root; an absolute path replaces it.
    let deps = dependencies(&dir.path().to_string_lossy());
    for package in ["libp2p", "tokio", "clap"] {
        assert!(deps.contains(package), "{package} not seen in {deps:?}");
    }
}

/// A directory holding a manifest of `text`, removed when dropped.
fn tempfile_manifest(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), text).unwrap();
    dir
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
        let position = LAYERS.iter().position(|(d, _)| d == dir).unwrap();
        let above_consensus =
            position >= LAYERS.iter().position(|(d, _)| *d == "blocktree").unwrap();
        let allowed: BTreeSet<&str> = allowed
            .iter()
            .copied()
            .chain(
                if above_consensus { CONSENSUS } else { &[] }
                    .iter()
                    .copied()
                    .filter(|c| {
                        // A crate never depends on itself.
                        c.strip_prefix("bitverse-") != Some(dir)
                    }),
            )
            .collect();
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
            .filter(|dep| !OUTSIDE_WORLD_EXCEPTIONS.contains(&(*dir, dep.as_str())))
            .collect();
        assert!(
            used.is_empty(),
            "{dir} uses {used:?}: outside-world code lives in the node's crates (ARCHITECTURE.md)"
        );
    }
}

/// The crates that link RocksDB: the node's store, and the browse index's database of its own.
const ROCKSDB_CRATES: &[&str] = &["store-rocks", "index"];

/// RocksDB's C++ in a process costs it static constructors, libstdc++ symbol bindings and
/// destructors at every start and exit (issue 17 §9), and would tie the chain's rules to a
/// database: only [`ROCKSDB_CRATES`] link it, and the client, whose `bitverse` binary starts
/// without it, reaches none of them.
#[test]
fn only_the_stores_link_rocksdb_and_the_client_never_does() {
    for (dir, _) in LAYERS {
        if !ROCKSDB_CRATES.contains(dir) {
            assert!(
                !dependencies(dir).contains("rocksdb"),
                "{dir} depends on rocksdb: only {ROCKSDB_CRATES:?} link the database"
            );
        }
    }
    let mut reachable: BTreeSet<String> = BTreeSet::from(["client".to_owned()]);
    let mut frontier = vec!["client".to_owned()];
    while let Some(dir) = frontier.pop() {
        for dep in dependencies(&dir) {
            if let Some(member) = dep.strip_prefix("bitverse-")
                && reachable.insert(member.to_owned())
            {
                frontier.push(member.to_owned());
            }
        }
    }
    let linked: Vec<&&str> = ROCKSDB_CRATES
        .iter()
        .filter(|c| reachable.contains(**c))
        .collect();
    assert!(
        linked.is_empty(),
        "the client reaches {linked:?}: its binary would link RocksDB"
    );
}

/// Libraries and build scripts, not tests: a libp2p type named anywhere but in `p2p` would tie
/// that crate to the network's library. (Scenario tests may speak the protocol as a peer.)
#[test]
fn only_p2p_names_libp2p() {
    for (dir, _) in LAYERS {
        if *dir == LIBP2P_CRATE {
            continue;
        }
        assert!(
            !dependencies(dir).contains("libp2p"),
            "{dir} depends on libp2p: only {LIBP2P_CRATE} names libp2p"
        );
        for file in sources(dir) {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                !text.contains("libp2p::"),
                "{} names a libp2p path: only {LIBP2P_CRATE} names libp2p",
                file.display()
            );
        }
    }
}

/// Every `.rs` file under a member's `src/`.
fn sources(dir: &str) -> Vec<std::path::PathBuf> {
    fn walk(path: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(path).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join(dir).join("src"), &mut out);
    out.sort();
    out
}

/// The modules of a member's `src/` (`a::b` for `src/a/b.rs` or `src/a/b/mod.rs`; the root is
/// left out: it is the crate's façade of declarations and re-exports), each with its code
/// ([`code_of`]).
fn modules(dir: &str) -> BTreeMap<String, String> {
    let src = root().join(dir).join("src");
    let mut modules = BTreeMap::new();
    for file in sources(dir) {
        let relative = file.strip_prefix(&src).unwrap().with_extension("");
        let mut path: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(
            path.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            path.pop();
        }
        if path.is_empty() {
            continue;
        }
        modules.insert(path.join("::"), code_of(&file));
    }
    modules
}

/// A source file's code: comments and the `#[cfg(test)]` part at its end left out, since a
/// test may reach anywhere and a doc link is no dependency.
fn code_of(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths (`a::b::c`) that follow `prefix` in `code`: lower-case segments only, so a path's
/// modules and not the item it ends at. A group (`crate::{a::X, b::{c, D}}`) gives each of its
/// paths (`a`, `b::c`, `b`).
fn paths_after<'a>(code: &'a str, prefix: &'a str) -> impl Iterator<Item = String> + 'a {
    code.match_indices(prefix).flat_map(move |(at, _)| {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return Vec::new();
        }
        let mut paths = Vec::new();
        path_or_group(&code[at + prefix.len()..], "", &mut paths);
        paths
    })
}

/// Reads one path at the start of `rest`, after the segments `base` already read; a path that
/// ends in a `{` group reads each item of the group the same way.
fn path_or_group(rest: &str, base: &str, out: &mut Vec<String>) {
    let mut path = base.to_owned();
    let mut rest = rest.trim_start();
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = 0;
            for (at, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        path_or_group(&group[item_start..at], &path, out);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        path_or_group(&group[item_start..at], &path, out);
                        item_start = at + 1;
                    }
                    _ => {}
                }
            }
            return;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        if end > 0 && &rest[..end] != "self" {
            if !path.is_empty() {
                path.push_str("::");
            }
            path.push_str(&rest[..end]);
        }
        match rest[end..].strip_prefix("::") {
            // The path goes on, into a segment or a group.
            Some(more) if end > 0 => rest = more.trim_start(),
            _ => break,
        }
    }
    if !path.is_empty() {
        out.push(path);
    }
}

/// The module a path names: its longest prefix that is a module.
fn module_named(modules: &BTreeMap<String, String>, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|candidate| modules.contains_key(candidate))
}

/// Which modules each module uses, through `crate::` and `super::` paths.
fn module_graph(dir: &str) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(dir);
    let mut graph = BTreeMap::new();
    for (name, code) in &modules {
        let parent = name.rsplit_once("::").map(|(p, _)| p.to_owned());
        let mut uses = BTreeSet::new();
        for path in paths_after(code, "crate::") {
            uses.extend(module_named(&modules, &path));
        }
        for path in paths_after(code, "super::") {
            let full = match &parent {
                Some(parent) => format!("{parent}::{path}"),
                None => path,
            };
            uses.extend(module_named(&modules, &full));
        }
        // A module's own children and itself are not dependencies.
        uses.retain(|used| used != name && !used.starts_with(&format!("{name}::")));
        graph.insert(name.clone(), uses);
    }
    graph
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, done, path) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

/// Inside each crate too, modules depend one way: a module's reader can take the modules it
/// uses as given, and a newcomer can read a crate bottom up. No crate is exempt: blocktree's
/// modules, once one strongly connected component of 15, were untangled into layers (header
/// types and rules, state, proofs, the state modules, transactions and blocks, the
/// dispatcher, chains, the tree: ARCHITECTURE.md) in issue 17 §7.
#[test]
fn no_crate_has_a_cycle_among_its_modules() {
    let mut cycles = Vec::new();
    for (dir, _) in LAYERS {
        if let Some(found) = cycle(&module_graph(dir)) {
            cycles.push(format!("{dir}: {}", found.join(" → ")));
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_module_cycle_check_sees_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(n, uses)| (n.to_owned(), uses.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let code = "use crate::peers::{PEERS_MAX};\nlet x = super::sync::most_work(); notcrate::x;";
    assert_eq!(paths_after(code, "crate::").collect::<Vec<_>>(), ["peers"]);
    let grouped = "use crate::{\n    cli::Cli,\n    config::{self, NodeArgs, parse::{a, B}},\n};";
    assert_eq!(
        paths_after(grouped, "crate::").collect::<Vec<_>>(),
        [
            "cli",
            "config",
            "config",
            "config::parse::a",
            "config::parse"
        ]
    );
    assert_eq!(
        paths_after(code, "super::").collect::<Vec<_>>(),
        ["sync::most_work"]
    );
}

/// The consensus crates' directories: what every node must compute alike.
const CONSENSUS_DIRS: &[&str] = &[
    "primitives",
    "compute",
    "pricing",
    "keyspace",
    "relay-lineup",
    "storage",
    "blocktree",
];

/// What consensus code never names, and why: a rule that depends on the node's clock, the
/// network, a float's rounding or a random draw would let two honest nodes disagree. (The
/// clock reaches a block's rules as an argument: the future-time rule takes `now_ms`.)
const CONSENSUS_FORBIDDEN: &[(&str, &str)] = &[
    ("SystemTime", "the clock"),
    ("Instant::now", "the clock"),
    ("std::net", "the network"),
    ("f32", "floats"),
    ("f64", "floats"),
    ("rand::", "randomness"),
    ("thread_rng", "randomness"),
];

/// Whether `word` occurs in `code` as a whole token (not inside a longer identifier).
fn has_token(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && (!ident(after) || word.ends_with("::"))
    })
}

#[test]
fn consensus_code_names_no_clock_network_float_or_randomness() {
    let mut found = Vec::new();
    for dir in CONSENSUS_DIRS {
        for file in sources(dir) {
            let code = code_of(&file);
            for (word, what) in CONSENSUS_FORBIDDEN {
                if has_token(&code, word) {
                    found.push(format!("{} names `{word}` ({what})", file.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// What the simulator never names: a clock, a runtime or a thread, the OS's randomness, a float
/// or a hash map would make a seed name more than one run (ARCHITECTURE.md, `sim/`).
const SIM_FORBIDDEN: &[(&str, &str)] = &[
    ("SystemTime", "the clock"),
    ("Instant::now", "the clock"),
    ("std::net", "the network"),
    ("std::thread", "threads"),
    ("tokio", "an async runtime"),
    ("f32", "floats"),
    ("f64", "floats"),
    ("thread_rng", "OS randomness"),
    ("OsRng", "OS randomness"),
    ("from_entropy", "OS randomness"),
    ("from_os_rng", "OS randomness"),
    ("HashMap", "a hash map's order"),
    ("HashSet", "a hash set's order"),
];

#[test]
fn the_simulator_names_no_clock_runtime_os_randomness_float_or_hash_map() {
    let mut found = Vec::new();
    for file in sources("sim") {
        let code = code_of(&file);
        for (word, what) in SIM_FORBIDDEN {
            if has_token(&code, word) {
                found.push(format!("{} names `{word}` ({what})", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
    let deps = dependencies("sim");
    for library in ["tokio", "rocksdb", "libp2p", "getrandom", "rand"] {
        assert!(!deps.contains(library), "sim depends on {library}");
    }
}

#[test]
fn the_token_check_sees_whole_tokens_only() {
    assert!(has_token("let x: f64 = 1.0;", "f64"));
    assert!(!has_token("let buf64 = 1;", "f64"));
    assert!(has_token("use std::net::TcpStream;", "std::net"));
    assert!(has_token("let t = SystemTime::now();", "SystemTime"));
}

/// The lints that make consensus code total (no panic on any input), as each consensus crate's
/// root declares them for the whole crate outside its unit tests. They live in source rather
/// than in the workspace's `[lints]` table because a `[lints]` table binds every target of a
/// crate, tests included, and clippy has test allowances for `unwrap`, `expect`, `panic` and
/// indexing but none for `arithmetic_side_effects`: a workspace-wide deny would need an allow
/// in each of the eleven crates above consensus and in every test file. So the block is
/// written once a consensus crate, and this check keeps the six copies one text.
const CONSENSUS_LINT_BLOCK: &str = "#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]";

#[test]
fn every_consensus_crate_denies_panics_at_its_root_and_only_there() {
    let mut wrong = Vec::new();
    for dir in CONSENSUS_DIRS {
        for file in sources(dir) {
            let text = std::fs::read_to_string(&file).unwrap();
            let is_root = file == root().join(dir).join("src").join("lib.rs");
            let blocks = text.matches(CONSENSUS_LINT_BLOCK).count();
            let lints = text.matches("clippy::arithmetic_side_effects").count();
            if is_root && (blocks != 1 || lints != 1) {
                wrong.push(format!("{} lacks the consensus lint block", file.display()));
            }
            if !is_root && lints > 0 {
                wrong.push(format!(
                    "{} repeats or loosens the crate's lint block",
                    file.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
