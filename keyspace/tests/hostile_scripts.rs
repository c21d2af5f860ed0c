//! Hostile validation scripts: each refuses the write (or its upload) with a clear reason,
//! with the same fuel on every run and on a fresh runner, and the runner keeps serving good
//! scripts afterwards.

mod common;

use bitverse_compute::{ScriptFault, UploadError};
use bitverse_keyspace::script::{
    REASON_HOST_CALL_REFUSED, REASON_OUT_OF_FUEL, REASON_RESOURCE_LIMIT, REASON_STACK_OVERFLOW,
    REASON_TRAP, ScriptError, ScriptOutcome, ScriptRunner, Verdict,
};
use common::{RUNNER, bob, example, no_payments, put, run, wasm};

/// Runs a hostile script: asserts it rejects with `reason_code`, identically on a second run
/// and on a fresh runner, then that owner-only still judges correctly on the same runner.
fn check_hostile(text: &str, reason_code: u32) -> ScriptOutcome {
    let script = wasm(text);
    let write = put("evil", "evil/k", b"v");
    let outcome = run(&script, &write);
    assert_eq!(
        outcome.verdict,
        Verdict::Reject { reason_code },
        "{outcome:?}"
    );
    let fresh = ScriptRunner::new()
        .and_then(|runner| runner.validate(&script, &write, no_payments()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        fresh, outcome,
        "a fresh engine reaches the same verdict and fuel"
    );
    let owner_only = example("owner-only");
    assert_eq!(run(&owner_only, &write).verdict, Verdict::Accept);
    let mut stranger = write.clone();
    stranger.writer = bob();
    assert_eq!(
        run(&owner_only, &stranger).verdict,
        Verdict::Reject { reason_code: 1 }
    );
    outcome
}

fn upload_error(text: &str) -> UploadError {
    let result = RUNNER.check_upload(&wasm(text));
    let owner_only = example("owner-only");
    assert_eq!(
        run(&owner_only, &put("ok", "ok/k", b"v")).verdict,
        Verdict::Accept
    );
    match result {
        Err(ScriptError::Upload(error)) => error,
        other => panic!("expected an upload refusal, got {other:?}"),
    }
}

#[test]
fn infinite_loop_rejects_out_of_fuel_with_the_whole_budget() {
    let outcome = check_hostile(
        r#"(module (memory (export "memory") 1)
          (func (export "validate") (result i32) (loop $l (br $l)) (i32.const 0)))"#,
        REASON_OUT_OF_FUEL,
    );
    assert_eq!(outcome.fuel_used, RUNNER.limits().fuel_per_call_max);
}

#[test]
fn host_calls_in_a_loop_run_out_of_fuel_too() {
    let outcome = check_hostile(
        r#"(module (import "bitverse_v1" "key_read" (func $read (param i32 i32 i32)))
          (memory (export "memory") 1)
          (func (export "validate") (result i32)
            (loop $l (call $read (i32.const 0) (i32.const 0) (i32.const 6)) (br $l)) (i32.const 0)))"#,
        REASON_OUT_OF_FUEL,
    );
    assert!(matches!(outcome.fault, Some(ScriptFault::OutOfFuel { .. })));
}

#[test]
fn memory_growth_bomb_rejects_at_the_memory_cap() {
    let outcome = check_hostile(
        r#"(module (memory (export "memory") 1)
          (func (export "validate") (result i32)
            (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
            (i32.const 0)))"#,
        REASON_RESOURCE_LIMIT,
    );
    assert!(
        matches!(outcome.fault, Some(ScriptFault::MemoryLimit { .. })),
        "{outcome:?}"
    );
}

#[test]
fn deep_recursion_rejects_with_stack_overflow() {
    let outcome = check_hostile(
        r#"(module (memory (export "memory") 1)
          (func $f (param i32) (result i32) (i32.add (call $f (local.get 0)) (i32.const 1)))
          (func (export "validate") (result i32) (call $f (i32.const 0))))"#,
        REASON_STACK_OVERFLOW,
    );
    assert_eq!(outcome.fault, Some(ScriptFault::StackOverflow));
}

#[test]
fn trap_rejects_with_the_trap_reason() {
    check_hostile(
        r#"(module (memory (export "memory") 1)
          (func (export "validate") (result i32) (i32.div_u (i32.const 1) (i32.const 0))))"#,
        REASON_TRAP,
    );
}

#[test]
fn huge_reason_text_is_a_refused_host_call() {
    let outcome = check_hostile(
        r#"(module (import "bitverse_v1" "reject_reason" (func $reason (param i32 i32)))
          (memory (export "memory") 1)
          (func (export "validate") (result i32) (call $reason (i32.const 0) (i32.const 257)) (i32.const 7)))"#,
        REASON_HOST_CALL_REFUSED,
    );
    assert_eq!(outcome.reason_text, None);
}

#[test]
fn copy_beyond_linear_memory_is_a_refused_host_call() {
    check_hostile(
        r#"(module (import "bitverse_v1" "key_read" (func $read (param i32 i32 i32)))
          (memory (export "memory") 1)
          (func (export "validate") (result i32) (call $read (i32.const 65534) (i32.const 0) (i32.const 6)) (i32.const 0)))"#,
        REASON_HOST_CALL_REFUSED,
    );
}

#[test]
fn read_beyond_the_key_is_a_refused_host_call() {
    check_hostile(
        r#"(module (import "bitverse_v1" "key_read" (func $read (param i32 i32 i32)))
          (memory (export "memory") 1)
          (func (export "validate") (result i32) (call $read (i32.const 0) (i32.const 1) (i32.const 6)) (i32.const 0)))"#,
        REASON_HOST_CALL_REFUSED,
    );
}

#[test]
fn forbidden_import_is_refused_at_upload() {
    let error = upload_error(
        r#"(module (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))
          (memory (export "memory") 1) (func (export "validate") (result i32) (i32.const 0)))"#,
    );
    assert!(
        matches!(error, UploadError::ForbiddenImport { .. }),
        "{error}"
    );
    let error = upload_error(
        r#"(module (import "bitverse_v1" "clock" (func (result i64)))
          (memory (export "memory") 1) (func (export "validate") (result i32) (i32.const 0)))"#,
    );
    assert!(
        matches!(error, UploadError::UnresolvedImport { .. }),
        "{error}"
    );
}

#[test]
fn oversized_module_is_refused_at_upload() {
    let padding = "\\00".repeat(RUNNER.limits().module_size_bytes_max);
    let error = upload_error(&format!(
        r#"(module (memory (export "memory") 16) (data (i32.const 0) "{padding}")
          (func (export "validate") (result i32) (i32.const 0)))"#
    ));
    assert!(matches!(error, UploadError::TooLarge { .. }), "{error}");
}

#[test]
fn float_script_is_refused_at_upload() {
    let error = upload_error(
        r#"(module (memory (export "memory") 1)
          (func (export "validate") (result i32) (i32.trunc_f64_s (f64.sqrt (f64.const 2)))))"#,
    );
    assert!(matches!(error, UploadError::Invalid(_)), "{error}");
}

#[test]
fn script_without_validate_is_refused_at_upload() {
    let error = upload_error(r#"(module (memory (export "memory") 1))"#);
    assert!(
        matches!(
            error,
            UploadError::MissingExport {
                name: "validate",
                ..
            }
        ),
        "{error}"
    );
}
