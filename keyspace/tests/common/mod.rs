//! Helpers shared by the script tests: one runner per test binary, the example scripts read
//! from `sandbox-scripts/`, and a context builder.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use bitverse_keyspace::script::{
    Payments, ScriptOutcome, ScriptRunner, ValidationContext, Verdict, WriteOp,
};
use bitverse_primitives::{AccountId, Amount, SecretKey};

/// One runner (engine, cache) per test binary: compiling is the slow part.
pub static RUNNER: LazyLock<ScriptRunner> =
    LazyLock::new(|| ScriptRunner::new().unwrap_or_else(|e| panic!("runner: {e}")));

/// The repository's `sandbox-scripts/` directory.
pub fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sandbox-scripts")
}

/// The example script `sandbox-scripts/<name>.wat`, as wasm.
pub fn example(name: &str) -> Vec<u8> {
    let path = scripts_dir().join(format!("{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// WAT text as wasm.
pub fn wasm(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|e| panic!("bad wat: {e}"))
}

pub fn alice() -> AccountId {
    SecretKey::dev("alice").account()
}

pub fn bob() -> AccountId {
    SecretKey::dev("bob").account()
}

/// A put of `value` under `key` in `keyspace` owned by alice, written by alice, at height 10.
pub fn put(keyspace: &str, key: &str, value: &[u8]) -> ValidationContext {
    ValidationContext {
        op: WriteOp::Put,
        keyspace: keyspace.as_bytes().to_vec(),
        key: key.as_bytes().to_vec(),
        value: value.to_vec(),
        writer: alice(),
        keyspace_owner: alice(),
        existing_value: None,
        block_height: 10,
        block_time_unix_s: 1_700_000_000,
    }
}

/// Payments where nobody paid anybody.
pub fn no_payments() -> Arc<dyn Payments> {
    Arc::new(|_: AccountId, _: AccountId| Amount::ZERO)
}

/// Runs `wasm` on `context` with no payments.
pub fn run(wasm: &[u8], context: &ValidationContext) -> ScriptOutcome {
    run_paying(wasm, context, no_payments())
}

/// Runs `wasm` on `context` with `payments`, asserting a second run is identical.
pub fn run_paying(
    wasm: &[u8],
    context: &ValidationContext,
    payments: Arc<dyn Payments>,
) -> ScriptOutcome {
    let first = RUNNER
        .validate(wasm, context, Arc::clone(&payments))
        .unwrap_or_else(|e| panic!("node error: {e}"));
    let again = RUNNER
        .validate(wasm, context, payments)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, again, "validation is deterministic");
    first
}

/// The verdict alone.
pub fn verdict(wasm: &[u8], context: &ValidationContext) -> Verdict {
    run(wasm, context).verdict
}

pub fn reject(reason_code: u32) -> Verdict {
    Verdict::Reject { reason_code }
}
