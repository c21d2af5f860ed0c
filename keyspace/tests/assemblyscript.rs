//! The AssemblyScript examples, compiled by the real `asc` compiler during the test (running
//! `npm ci` first if `node_modules` is missing), pass upload checks and judge writes exactly
//! like their WAT twins.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use bitverse_keyspace::script::{ValidationContext, Verdict, WriteOp};
use common::{RUNNER, bob, example, put, reject, scripts_dir, verdict};

/// How long `npm ci` may take before the test gives up.
const NPM_CI_TIMEOUT: Duration = Duration::from_secs(180);

fn project_dir() -> PathBuf {
    scripts_dir().join("assemblyscript")
}

/// Runs `command` to completion within `timeout`, panicking with `what` on failure.
fn run_bounded(mut command: Command, timeout: Duration, what: &str) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return,
            Ok(Some(status)) => panic!("{what} failed: {status}"),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("{what} did not finish within {timeout:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// Makes sure the pinned compiler is installed, installing it from the lock file if needed.
fn ensure_compiler(project: &Path) -> PathBuf {
    let asc = project.join("node_modules/assemblyscript/bin/asc.js");
    if !asc.exists() {
        let npm_present = Command::new("npm")
            .arg("--version")
            .stdout(Stdio::null())
            .status();
        if !npm_present.is_ok_and(|status| status.success()) {
            panic!(
                "the AssemblyScript tests need Node.js and npm: install nodejs and npm \
                 (e.g. `apt-get install nodejs npm`), then rerun"
            );
        }
        let mut npm = Command::new("npm");
        npm.args(["ci", "--no-audit", "--no-fund"])
            .current_dir(project);
        run_bounded(
            npm,
            NPM_CI_TIMEOUT,
            "npm ci in sandbox-scripts/assemblyscript",
        );
    }
    asc
}

/// The compiler, installed once per test binary (tests run in parallel; one `npm ci` only).
static ASC: LazyLock<PathBuf> = LazyLock::new(|| ensure_compiler(&project_dir()));

/// Compiles `assembly/<name>.ts` with the sandbox's flags into a temp dir and returns the wasm.
fn compile(name: &str) -> Vec<u8> {
    let project = project_dir();
    let asc: &Path = &ASC;
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let wasm_path = out.path().join(format!("{name}.wasm"));
    let mut node = Command::new("node");
    node.arg(asc)
        .arg(project.join(format!("assembly/{name}.ts")))
        .args([
            "--runtime",
            "stub",
            "--use",
            "abort=",
            "--optimize",
            "--noAssert",
            "-o",
        ])
        .arg(&wasm_path)
        .current_dir(&project);
    run_bounded(node, Duration::from_secs(120), &format!("asc {name}.ts"));
    std::fs::read(&wasm_path).unwrap_or_else(|e| panic!("{}: {e}", wasm_path.display()))
}

/// Asserts the AssemblyScript and WAT versions of a script agree on every write, and
/// returns the verdicts.
fn same_verdicts(name: &str, writes: &[ValidationContext]) -> Vec<Verdict> {
    let compiled = compile(name);
    RUNNER
        .check_upload(&compiled)
        .unwrap_or_else(|e| panic!("{name}.ts refused: {e}"));
    let twin = example(name);
    writes
        .iter()
        .map(|write| {
            let from_ts = verdict(&compiled, write);
            assert_eq!(from_ts, verdict(&twin, write), "{name}: {write:?}");
            from_ts
        })
        .collect()
}

#[test]
fn owner_only_in_assemblyscript_matches_the_wat_script() {
    let owner = put("erik", "erik/a", b"v");
    let mut stranger = owner.clone();
    stranger.writer = bob();
    assert_eq!(
        same_verdicts("owner-only", &[owner, stranger]),
        [Verdict::Accept, reject(1)]
    );
}

#[test]
fn append_only_log_in_assemblyscript_matches_the_wat_script() {
    let append = put("log", "log/7", b"entry");
    let mut overwrite = append.clone();
    overwrite.existing_value = Some(b"old".to_vec());
    let mut delete = append.clone();
    delete.op = WriteOp::Delete;
    let mut bad_key = append.clone();
    bad_key.key = b"log/x".to_vec();
    let mut buy = append.clone();
    buy.op = WriteOp::BuySubKeyspace;
    assert_eq!(
        same_verdicts(
            "append-only-log",
            &[append, overwrite, delete, bad_key, buy]
        ),
        [Verdict::Accept, reject(1), reject(2), reject(3), reject(4)]
    );
}
