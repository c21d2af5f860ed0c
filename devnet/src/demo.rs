//! `bitverse demo`: the whole story on a fresh local network, each step explained as it
//! happens and shown as the command a user would type, with that command's own output: a
//! mining node starts, a keyspace guarded by a script is bought, written and read verified, a
//! write the script refuses is refused, a keyspace two levels down is written and proven
//! through the tree, and a second node syncs and serves the deep value it does not store.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use bitverse_node::tools::DemoOptions;

use crate::devnet::{self, DevnetNode, NodeLaunch, NodeNetwork, Nodes};

/// The validation script of the demo's keyspace: entries may be appended, never rewritten.
const APPEND_ONLY_SCRIPT: &str = include_str!("../../sandbox-scripts/append-only-log.wat");
/// How long the demo waits for the first block, for a deep write to be anchored up to the
/// root, or for the second node to catch up.
const STEP_TIMEOUT_MS: u64 = 180_000;
/// How often it looks again meanwhile.
const POLL_MS: u64 = 1_000;

/// Runs the demo; returns once every step has been shown, or at the first that fails.
pub(crate) async fn run(args: DemoOptions) -> anyhow::Result<()> {
    tokio::task::block_in_place(|| run_blocking(args))
}

fn run_blocking(args: DemoOptions) -> anyhow::Result<()> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("bitverse-demo-{}", std::process::id())),
    };
    if dir.exists()
        && std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty; the demo starts a fresh network (give --dir a new directory)",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let outcome = story(&dir);
    if args.keep {
        println!("\nThe network's data stays in {}.", dir.display());
    } else if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("demo: cannot remove {}: {e}", dir.display());
    }
    outcome
}

/// One demo: the shell it narrates into.
struct Demo {
    exe: PathBuf,
    /// Where the client keeps its verified root headers (the light client's state).
    state_dir: PathBuf,
    step: u32,
}

impl Demo {
    fn step(&mut self, title: &str, explanation: &str) {
        self.step += 1;
        println!("\n── {}. {title}", self.step);
        for line in explanation.lines() {
            println!("   {line}");
        }
    }

    /// Runs `bitverse ARGS… --rpc URL` quietly, with the demo's light-client state.
    fn output(&self, node: &DevnetNode, args: &[&str]) -> anyhow::Result<Output> {
        Command::new(&self.exe)
            .args(args)
            .args(["--rpc", &node.rpc_url])
            .env("BITVERSE_STATE_DIR", &self.state_dir)
            .env("BITVERSE_CHALLENGES_DIR", self.state_dir.join("challenges"))
            .output()
            .with_context(|| format!("cannot run {}", self.exe.display()))
    }

    /// Runs `bitverse ARGS… --rpc URL`, printing the command and what it printed; returns its
    /// exit status and stdout.
    fn run(&self, node: &DevnetNode, args: &[&str]) -> anyhow::Result<(bool, String)> {
        println!("\n   $ bitverse {}", args.join(" "));
        let output = self.output(node, args)?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        for text in [
            &stdout,
            &String::from_utf8_lossy(&output.stderr).into_owned(),
        ] {
            for line in text.lines() {
                println!("   {line}");
            }
        }
        Ok((output.status.success(), stdout))
    }

    /// Runs a command that must succeed.
    fn expect(&self, node: &DevnetNode, args: &[&str]) -> anyhow::Result<String> {
        let (ok, stdout) = self.run(node, args)?;
        if !ok {
            bail!("`bitverse {}` failed", args.join(" "));
        }
        Ok(stdout)
    }

    /// Runs a read until it succeeds with `want` on stdout, saying once why it waits.
    fn until(
        &self,
        node: &DevnetNode,
        args: &[&str],
        want: &str,
        waiting_for: &str,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_millis(STEP_TIMEOUT_MS);
        let mut told = false;
        loop {
            let output = self.output(node, args)?;
            if output.status.success() && String::from_utf8_lossy(&output.stdout) == want {
                return self.expect(node, args).map(|_| ());
            }
            if Instant::now() >= deadline {
                bail!(
                    "gave up after {} s waiting for {waiting_for}",
                    STEP_TIMEOUT_MS / 1000
                );
            }
            if !told {
                println!("   (waiting for {waiting_for} …)");
                told = true;
            }
            std::thread::sleep(Duration::from_millis(POLL_MS));
        }
    }
}

fn height(node: &DevnetNode) -> Option<u64> {
    let output = Command::new(crate::bitverse_exe().ok()?)
        .args(["status", "--json", "--rpc", &node.rpc_url])
        .output()
        .ok()?;
    let status: Value = serde_json::from_slice(&output.stdout).ok()?;
    status["chain"]["height"].as_u64()
}

fn wait_for_height(node: &DevnetNode, at_least: u64) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_millis(STEP_TIMEOUT_MS);
    loop {
        if let Some(height) = height(node).filter(|h| *h >= at_least) {
            return Ok(height);
        }
        if Instant::now() >= deadline {
            bail!("{} did not reach height {at_least} in time", node.name);
        }
        std::thread::sleep(Duration::from_millis(POLL_MS));
    }
}

fn story(dir: &Path) -> anyhow::Result<()> {
    let exe = crate::bitverse_exe()?;
    let script = dir.join("append-only-log.wat");
    std::fs::write(&script, APPEND_ONLY_SCRIPT)
        .with_context(|| format!("cannot write {}", script.display()))?;
    let script = script.to_string_lossy().into_owned();
    let mut demo = Demo {
        exe: exe.clone(),
        state_dir: dir.join("light-client"),
        step: 0,
    };
    let mut nodes = Nodes::default();

    demo.step(
        "A network of one",
        "A node of the `local` test network starts mining on this machine, tracking every\n\
         chain of the blocktree. Blocks come every few seconds once the difficulty settles.",
    );
    let launch = NodeLaunch {
        network: NodeNetwork::Local,
        mine: true,
        track_all: true,
        bootstrap: Vec::new(),
        log_level: None,
        market: None,
        store: false,
    };
    nodes
        .0
        .push(devnet::start_node(&exe, &dir.join("node-0"), &launch)?);
    let miner = nodes.0.first().context("the miner did not start")?;
    wait_for_height(miner, 1)?;
    demo.expect(miner, &["status"])?;

    demo.step(
        "A keyspace guarded by a script",
        "alice, a development account funded at genesis, buys the keyspace `log`. Its\n\
         validation script (WebAssembly, run by every node) lets anyone append numbered\n\
         entries and no one rewrite them.",
    );
    demo.expect(
        miner,
        &[
            "keyspace",
            "buy",
            "log",
            "--key",
            "dev:alice",
            "--quota",
            "4096",
            "--script",
            &script,
        ],
    )?;
    demo.expect(
        miner,
        &[
            "put",
            "log/1",
            "--key",
            "dev:alice",
            "--value",
            "the first entry",
        ],
    )?;

    demo.step(
        "A verified read",
        "The client checks the value against the root's chain of headers itself (proof of work,\n\
         difficulty rules, timestamps) and a Merkle proof from the header's state root: it\n\
         trusts no node.",
    );
    demo.expect(miner, &["get", "log/1", "--verify"])?;

    demo.step(
        "A write the script refuses",
        "Rewriting entry 1 breaks the keyspace's rule: every node refuses it, with the\n\
         script's reason code.",
    );
    let (accepted, _) = demo.run(
        miner,
        &["put", "log/1", "--key", "dev:alice", "--value", "rewritten"],
    )?;
    if accepted {
        bail!("the script accepted a rewrite it should refuse");
    }
    println!("   → refused, as the script says.");

    demo.step(
        "Two levels down the tree",
        "A keyspace bought at depth 2 lives on a data chain two levels below the root: storage\n\
         there costs a quarter of the root's. Its blocks are anchored by its parent's, whose\n\
         are anchored by the root's; a read is proven through both links.",
    );
    demo.expect(
        miner,
        &[
            "keyspace",
            "buy",
            "deep",
            "--key",
            "dev:alice",
            "--quota",
            "4096",
            "--depth",
            "2",
        ],
    )?;
    demo.expect(
        miner,
        &[
            "put",
            "deep/note",
            "--key",
            "dev:alice",
            "--value",
            "two levels down",
        ],
    )?;
    demo.until(
        miner,
        &["get", "deep/note", "--verify"],
        "two levels down",
        "the write to be anchored up to the root",
    )?;
    demo.expect(miner, &["chains"])?;

    demo.step(
        "A second node joins",
        "A node that tracks only the root joins through the first and syncs its chain, headers\n\
         first. It does not store the deep chain: asked for the deep value, it fetches it with\n\
         its proof from a peer that does, checks it, and answers; the client checks it again.",
    );
    let target = height(miner).unwrap_or(1);
    let launch = NodeLaunch {
        network: NodeNetwork::Local,
        mine: false,
        track_all: false,
        bootstrap: vec![miner.p2p_addr.clone()],
        log_level: None,
        market: None,
        store: false,
    };
    nodes
        .0
        .push(devnet::start_node(&exe, &dir.join("node-1"), &launch)?);
    let follower = nodes.0.get(1).context("the second node did not start")?;
    let synced = wait_for_height(follower, target)?;
    println!("   node-1 synced to height {synced}.");
    demo.expect(follower, &["get", "deep/note", "--verify"])?;
    demo.expect(follower, &["chains"])?;

    demo.step(
        "Next",
        "Run your own network with `bitverse devnet --nodes 4 --dir DIR`: its nodes stake as\n\
         offerers and relayers, so `bitverse request` gets a value transformed through the\n\
         compute market (README, \"The compute market, on a devnet\").",
    );
    println!("\nStopping the demo's nodes …");
    drop(nodes);
    Ok(())
}
