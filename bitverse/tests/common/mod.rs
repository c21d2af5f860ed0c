//! The scenario-test rig, in one place: starts the real `bitverse` binary on loopback (port 0,
//! address read back from DATA_DIR/rpc.addr, and from DATA_DIR/p2p.addr for networked nodes),
//! kills every node it started when dropped, runs CLI commands with a timeout, and speaks
//! JSON-RPC over plain HTTP with std sockets so tests can also send malformed bytes.
// Each test binary (scenarios, network) uses its own part of the rig.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bitverse_blocktree::{Transaction, TxPayload, UnsignedTx};
use bitverse_primitives::{Amount, ChainId, SecretKey};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// How long a node may take to bind its RPC after start (RocksDB open and index load).
const NODE_START_TIMEOUT_MS: u64 = 30_000;
/// How long one CLI command may run.
const COMMAND_TIMEOUT_MS: u64 = 60_000;
/// How long one raw RPC call may take.
const RPC_TIMEOUT_MS: u64 = 30_000;
/// How long a test waits for a transaction to be in a block.
pub(crate) const INCLUSION_TIMEOUT_MS: u64 = 30_000;
/// Largest HTTP response a test reads: a few blocks' worth.
const RESPONSE_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Path of the binary under test.
pub(crate) fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_bitverse")
}

/// One `bitverse node` process on a data directory. Killed (SIGKILL) when dropped.
pub(crate) struct TestNode {
    child: Option<Child>,
    /// The node's data directory.
    pub(crate) data_dir: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// `/ip4/127.0.0.1/tcp/PORT/p2p/PEER_ID` for a node that runs the network.
    pub(crate) p2p_addr: Option<String>,
    /// The network it runs, which [`TestNode::cli`] names to the light client
    /// (`BITVERSE_NETWORK`), as a user of this node would configure theirs.
    pub(crate) network: String,
}

impl TestNode {
    /// Starts a dev node on `data_dir` and waits until it serves RPC.
    pub(crate) fn start(data_dir: &Path) -> TestNode {
        TestNode::launch(data_dir, &["--dev"])
    }

    /// Starts a node of the `local` network on `data_dir` that joins the peer-to-peer network
    /// on a loopback port chosen by the system, dials `bootstrap`, and mines if `mine`. Waits
    /// until it serves RPC; its p2p address is then in [`TestNode::p2p_addr`].
    pub(crate) fn start_networked(data_dir: &Path, mine: bool, bootstrap: &[&str]) -> TestNode {
        let mut args = vec!["--network", "local", "--p2p-addr", "/ip4/127.0.0.1/tcp/0"];
        if mine {
            args.extend(["--mine", "--miner", "dev:miner"]);
        }
        for addr in bootstrap {
            args.extend(["--bootstrap", addr]);
        }
        let node = TestNode::launch(data_dir, &args);
        assert!(
            node.p2p_addr.is_some(),
            "networked node wrote no p2p.addr; log:\n{}",
            node.log()
        );
        node
    }

    /// Starts `bitverse node ARGS… --data-dir DIR --rpc-addr 127.0.0.1:0` and waits until it
    /// serves RPC (and, when it runs the network, until its p2p address is written). The node
    /// logs to DIR/node.log; its stdout and stderr are appended there too.
    pub(crate) fn launch(data_dir: &Path, args: &[&str]) -> TestNode {
        fs::create_dir_all(data_dir).expect("create data dir");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("node.log"))
            .expect("open node log");
        let mut command = Command::new(binary());
        command
            .arg("node")
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--rpc-addr", "127.0.0.1:0", "--log-level", "info"])
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log);
        let network = if args.contains(&"--dev") {
            "dev"
        } else {
            args.iter()
                .position(|arg| *arg == "--network")
                .and_then(|at| args.get(at + 1))
                .copied()
                .unwrap_or("local")
        };
        TestNode::spawn(command, data_dir, network)
    }

    /// Starts a dev node as scripts/dev-node does (`node --dev --data-dir DIR --rpc-addr`, no
    /// logging flag), on a free port, with its stdout and stderr in the files given, apart from
    /// the log it writes itself.
    pub(crate) fn start_like_dev_node(data_dir: &Path, stdout: &Path, stderr: &Path) -> TestNode {
        fs::create_dir_all(data_dir).expect("create data dir");
        let mut command = Command::new(binary());
        command
            .args(["node", "--dev", "--data-dir"])
            .arg(data_dir)
            .args(["--rpc-addr", "127.0.0.1:0"])
            .stdout(fs::File::create(stdout).expect("create stdout file"))
            .stderr(fs::File::create(stderr).expect("create stderr file"));
        TestNode::spawn(command, data_dir, "dev")
    }

    /// Spawns a `bitverse node` command whose data directory is `data_dir` and waits until it
    /// serves RPC.
    fn spawn(mut command: Command, data_dir: &Path, network: &str) -> TestNode {
        let addr_file = data_dir.join("rpc.addr");
        let p2p_addr_file = data_dir.join("p2p.addr");
        // The node removes a stale address itself; removing it here too means the rig can never
        // read the previous run's port before the new node wrote its own.
        let _ = fs::remove_file(&addr_file);
        let _ = fs::remove_file(&p2p_addr_file);
        let child = command
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn bitverse node");
        let mut node = TestNode {
            child: Some(child),
            data_dir: data_dir.to_owned(),
            url: String::new(),
            p2p_addr: None,
            network: network.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_millis(NODE_START_TIMEOUT_MS);
        loop {
            if let Ok(text) = fs::read_to_string(&addr_file)
                && text.ends_with('\n')
            {
                node.url = text.trim().to_owned();
                // The node binds its p2p address before its RPC one, so it is there by now.
                node.p2p_addr = fs::read_to_string(&p2p_addr_file)
                    .ok()
                    .and_then(|t| t.lines().next().map(str::to_owned));
                return node;
            }
            if let Some(child) = node.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "node exited with {status} before serving RPC; log:\n{}",
                    node.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "node did not write rpc.addr in time; log:\n{}",
                node.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The node's p2p address with `/p2p/PEER_ID`; panics for a node without networking.
    pub(crate) fn p2p(&self) -> &str {
        self.p2p_addr.as_deref().expect("node runs without p2p")
    }

    /// The node's p2p address without its `/p2p/PEER_ID` suffix.
    pub(crate) fn p2p_plain(&self) -> &str {
        let full = self.p2p();
        full.find("/p2p/").map_or(full, |at| &full[..at])
    }

    /// The node's libp2p peer id.
    pub(crate) fn peer_id(&self) -> &str {
        let full = self.p2p();
        full.rsplit('/').next().unwrap_or(full)
    }

    /// `bv_status` as JSON.
    pub(crate) fn status(&self) -> Value {
        self.rpc("bv_status", json!([])).expect("bv_status")
    }

    /// `bv_networkStatus` as JSON.
    pub(crate) fn network_status(&self) -> Value {
        self.rpc("bv_networkStatus", json!([]))
            .expect("bv_networkStatus")
    }

    /// The node's log so far, for failure messages.
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(self.data_dir.join("node.log")).unwrap_or_default()
    }

    /// SIGKILL: the node gets no chance to flush or clean up.
    pub(crate) fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs a client command against this node.
    pub(crate) fn cli(&self, args: &[&str]) -> CliOutput {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--rpc", &self.url]);
        // The light client's header chains are this node's own: chains of other tests'
        // nodes share the dev genesis and must not be mistaken for this one's.
        run_cli_with_state(
            &all,
            &self.data_dir.join("light-client"),
            &[("BITVERSE_NETWORK", &self.network)],
        )
    }

    /// One JSON-RPC call; panics if the node does not answer over HTTP.
    pub(crate) fn rpc(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        rpc_call(&self.url, method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}; log:\n{}", self.log()))
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// What a CLI command did.
pub(crate) struct CliOutput {
    /// Exit code (-1 if killed by a signal).
    pub(crate) code: i32,
    /// Raw stdout.
    pub(crate) stdout: Vec<u8>,
    /// Stderr as text.
    pub(crate) stderr: String,
}

impl CliOutput {
    /// Stdout as text.
    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Panics with everything the command said unless it succeeded.
    pub(crate) fn assert_ok(&self, what: &str) -> &CliOutput {
        assert_eq!(
            self.code,
            0,
            "{what} failed: stdout {:?} stderr {:?}",
            self.stdout_text(),
            self.stderr
        );
        self
    }
}

/// Runs `bitverse ARGS…` with a timeout.
pub(crate) fn run_cli(args: &[&str]) -> CliOutput {
    let state = tempfile::tempdir().expect("light-client state dir");
    run_cli_with_state(args, state.path(), &[])
}

/// Runs `bitverse ARGS…` with a timeout and these environment variables set.
pub(crate) fn run_cli_with_env(args: &[&str], env: &[(&str, &str)]) -> CliOutput {
    let state = tempfile::tempdir().expect("light-client state dir");
    run_cli_with_state(args, state.path(), env)
}

/// Runs `bitverse ARGS…` with a timeout, the light client's state in `state_dir` (so that
/// other tests' dev chains, which share the genesis, are never mistaken for this one's), and
/// these environment variables set.
pub(crate) fn run_cli_with_state(
    args: &[&str],
    state_dir: &Path,
    env: &[(&str, &str)],
) -> CliOutput {
    run_cli_timed(args, state_dir, env, COMMAND_TIMEOUT_MS)
}

/// [`run_cli_with_env`] for a command allowed to run up to `timeout_ms` (a market request,
/// which may wait for a deep input to be anchored level by level before its own steps).
pub(crate) fn run_cli_with_env_timed(
    args: &[&str],
    env: &[(&str, &str)],
    timeout_ms: u64,
) -> CliOutput {
    let state = tempfile::tempdir().expect("light-client state dir");
    run_cli_timed(args, state.path(), env, timeout_ms)
}

fn run_cli_timed(
    args: &[&str],
    state_dir: &Path,
    env: &[(&str, &str)],
    timeout_ms: u64,
) -> CliOutput {
    let mut child = Command::new(binary())
        .args(args)
        .env("BITVERSE_STATE_DIR", state_dir)
        // Blob challenge schedules beside the light client's state, never in the real home.
        .env("BITVERSE_CHALLENGES_DIR", state_dir.join("challenges"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bitverse");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    // Pipes are drained on threads so a chatty command cannot block on a full pipe.
    let out_reader = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for bitverse") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`bitverse {}` timed out", args.join(" "));
        }
        thread::sleep(Duration::from_millis(10));
    };
    CliOutput {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone)]
pub(crate) struct RpcError {
    /// Its code.
    pub(crate) code: i64,
    /// Its message.
    pub(crate) message: String,
}

/// An agent for the tests' HTTP calls: every call bounded by [`RPC_TIMEOUT_MS`], and a status
/// other than 2xx returned as an answer rather than an error, since tests check statuses.
fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(RPC_TIMEOUT_MS)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// The body of an answer, at most [`RESPONSE_BYTES_MAX`].
fn read_body(answer: &mut ureq::http::Response<ureq::Body>) -> std::io::Result<Vec<u8>> {
    answer
        .body_mut()
        .with_config()
        .limit(RESPONSE_BYTES_MAX)
        .read_to_vec()
        .map_err(std::io::Error::other)
}

/// An HTTP exchange: status code and body.
pub(crate) fn http_post(url: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut answer = http_agent()
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .map_err(std::io::Error::other)?;
    let status = answer.status().as_u16();
    Ok((status, read_body(&mut answer)?))
}

/// Sends only the head of a POST that declares a `content_length`-byte body, and returns the
/// HTTP status. A server that enforces its body limit answers from the head alone; not sending
/// the body avoids a reset that could swallow that answer.
pub(crate) fn http_post_head_only(url: &str, content_length: usize) -> std::io::Result<u16> {
    let host_port = url.strip_prefix("http://").unwrap_or(url);
    let mut stream = TcpStream::connect(host_port)?;
    stream.set_read_timeout(Some(Duration::from_millis(RPC_TIMEOUT_MS)))?;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: application/json\r\nContent-Length: {content_length}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes())?;
    let mut response = [0u8; 1024];
    let read = stream.read(&mut response)?;
    let text = String::from_utf8_lossy(&response[..read]).to_string();
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP status in {text:?}")))
}

/// Posts raw bytes and parses the JSON answer.
pub(crate) fn post_json(url: &str, body: &[u8]) -> std::io::Result<Value> {
    let (status, body) = http_post(url, body)?;
    serde_json::from_slice(&body).map_err(|e| {
        std::io::Error::other(format!(
            "HTTP {status}, body not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        ))
    })
}

fn rpc_outcome(answer: &Value) -> Result<Value, RpcError> {
    if let Some(error) = answer.get("error") {
        return Err(RpcError {
            code: error["code"].as_i64().unwrap_or(0),
            message: error["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(answer["result"].clone())
}

/// One JSON-RPC call. The outer error is transport (node unreachable), the inner the node's.
pub(crate) fn rpc_call(
    url: &str,
    method: &str,
    params: Value,
) -> std::io::Result<Result<Value, RpcError>> {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let answer = post_json(url, request.to_string().as_bytes())?;
    Ok(rpc_outcome(&answer))
}

/// A JSON-RPC batch of calls to one method, answered in order.
pub(crate) fn rpc_batch(
    url: &str,
    method: &str,
    params: &[Value],
) -> std::io::Result<Vec<Result<Value, RpcError>>> {
    let requests: Vec<Value> = params
        .iter()
        .enumerate()
        .map(|(id, p)| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": p}))
        .collect();
    let answer = post_json(url, Value::Array(requests).to_string().as_bytes())?;
    let mut answers = answer
        .as_array()
        .cloned()
        .ok_or_else(|| std::io::Error::other(format!("not a batch answer: {answer}")))?;
    // The specification lets a server answer a batch in any order; ids put it back.
    answers.sort_by_key(|a| a["id"].as_u64().unwrap_or(u64::MAX));
    if answers.len() != params.len() {
        return Err(std::io::Error::other(format!(
            "{} answers to {} calls",
            answers.len(),
            params.len()
        )));
    }
    Ok(answers.iter().map(rpc_outcome).collect())
}

/// A signed root-chain transaction from a dev key.
pub(crate) fn signed(key: &SecretKey, nonce: u64, payload: TxPayload) -> Transaction {
    UnsignedTx {
        chain: ChainId::ROOT,
        sender: key.account(),
        nonce,
        fee: Amount(1),
        payload,
    }
    .sign(key)
}

/// `payload` signed by `key` with `nonce` for `chain`: a data chain's writes carry no fee.
pub(crate) fn signed_for(
    key: &SecretKey,
    chain: ChainId,
    nonce: u64,
    payload: TxPayload,
) -> Transaction {
    let fee = if chain.is_root() {
        Amount(1)
    } else {
        Amount::ZERO
    };
    UnsignedTx {
        chain,
        sender: key.account(),
        nonce,
        fee,
        payload,
    }
    .sign(key)
}

/// The next nonce `key` may use on `chain`, counting the node's mempool.
pub(crate) fn pending_nonce_on(node: &TestNode, key: &SecretKey, chain: ChainId) -> u64 {
    let account = node
        .rpc(
            "bv_getAccount",
            json!([key.account().to_string(), chain.to_string()]),
        )
        .expect("bv_getAccount");
    account["pending_nonce"].as_u64().expect("pending_nonce")
}

/// The hex a `bv_sendTransaction` takes.
pub(crate) fn tx_hex(tx: &Transaction) -> String {
    hex::encode(tx.to_bytes())
}

/// The next nonce of a dev account, counting its pending transactions.
pub(crate) fn pending_nonce(node: &TestNode, key: &SecretKey) -> u64 {
    let account = node
        .rpc("bv_getAccount", json!([key.account().to_string()]))
        .expect("bv_getAccount");
    account["pending_nonce"].as_u64().expect("pending_nonce")
}

/// Waits until a transaction is in a block; returns its height. Panics if dropped or late.
pub(crate) fn wait_included(url: &str, hash: &str) -> std::io::Result<u64> {
    let deadline = Instant::now() + Duration::from_millis(INCLUSION_TIMEOUT_MS);
    loop {
        let status = rpc_call(url, "bv_getTransaction", json!([hash]))?
            .map_err(|e| std::io::Error::other(format!("bv_getTransaction: {e:?}")))?;
        match status["status"].as_str() {
            Some("included") => return Ok(status["height"].as_u64().unwrap_or(0)),
            Some("dropped") => {
                return Err(std::io::Error::other(format!(
                    "tx {hash} dropped: {status}"
                )));
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(std::io::Error::other(format!(
                "tx {hash} not included in time: {status}"
            )));
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `probe` until it returns `Some`, every 50 ms, and panics with `what` and `context()`
/// (e.g. the nodes' logs) after `timeout_ms`.
pub(crate) fn wait_for<T>(
    timeout_ms: u64,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout_ms} ms waiting for {what}; {}",
            context()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// `GET path` (the RPC port also serves `/metrics` and the explorer's assets): the status
/// code, the content type and the body as text. Panics if the node does not answer over HTTP.
pub(crate) fn http_get(url: &str, path: &str) -> (u16, String, String) {
    let mut answer = http_agent()
        .get(format!("{url}{path}"))
        .call()
        .expect("an HTTP answer");
    let status = answer.status().as_u16();
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = read_body(&mut answer).expect("the body");
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// How long a devnet may take to print every node's RPC URL.
const DEVNET_START_TIMEOUT_MS: u64 = 90_000;
/// How long a devnet may take to stop every node after SIGTERM.
const DEVNET_STOP_TIMEOUT_MS: u64 = 30_000;

/// The devnet process, killed with its nodes if the test fails before stopping it.
pub(crate) struct Devnet {
    pub(crate) child: Child,
    pub(crate) urls: Vec<String>,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SIGTERM first: the devnet then stops its nodes, which SIGKILL would orphan.
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_millis(DEVNET_STOP_TIMEOUT_MS);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn start_devnet(dir: &Path, nodes: usize, extra_args: &[&str]) -> Devnet {
    let mut child = Command::new(binary())
        .args(["devnet", "--nodes", &nodes.to_string(), "--dir"])
        .arg(dir)
        .args(extra_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start bitverse devnet");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines_tx, lines_rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut devnet = Devnet {
        child,
        urls: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_millis(DEVNET_START_TIMEOUT_MS);
    while devnet.urls.len() < nodes {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines_rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("devnet printed {} RPC URLs, then {e}", devnet.urls.len()));
        if let Some((_, url)) = line.split_once("  rpc ") {
            devnet.urls.push(url.trim().to_owned());
        }
    }
    devnet
}
