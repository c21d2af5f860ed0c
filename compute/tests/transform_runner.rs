//! The transformation runner with hand-written modules: the host API passes inputs, arguments
//! and output faithfully; every hostile module ends in a fault a caller can act on, with the
//! same fuel every time; upload checks and request limits refuse what they should.

use std::sync::LazyLock;

use bitverse_compute::transform::{
    ARGS_SIZE_BYTES_MAX, FUEL_PER_TRANSFORM_MAX, INPUT_SIZE_BYTES_MAX, INPUTS_MAX,
    OUTPUT_SIZE_BYTES_MAX, TRANSFORM_MEMORY_PAGES_MAX, TRANSFORM_MODULE_SIZE_BYTES_MAX,
};
use bitverse_compute::{
    HostFault, ScriptFault, TransformError, TransformFault, TransformOutcome, TransformRequest,
    TransformRunner, TrapKind, UploadError,
};

const FUEL: u64 = 10_000_000;

static RUNNER: LazyLock<TransformRunner> =
    LazyLock::new(|| TransformRunner::new().unwrap_or_else(|e| panic!("runner: {e}")));

fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).unwrap_or_else(|e| panic!("bad test wat: {e}"))
}

fn request(inputs: Vec<Vec<u8>>, args: &[u8]) -> TransformRequest {
    TransformRequest {
        inputs,
        args: args.to_vec(),
        fuel_max: FUEL,
    }
}

fn run(wat: &str, request: TransformRequest) -> TransformOutcome {
    RUNNER
        .run(&wasm(wat), request)
        .unwrap_or_else(|e| panic!("could not run: {e}"))
}

/// Writes input 1, then the arguments, then input 0 to the output; returns 0.
const SHUFFLE: &str = r#"(module
  (import "bitverse_transform_v1" "input_count" (func $input_count (result i32)))
  (import "bitverse_transform_v1" "input_len" (func $input_len (param i32) (result i32)))
  (import "bitverse_transform_v1" "input_read" (func $input_read (param i32 i32 i32 i32)))
  (import "bitverse_transform_v1" "args_len" (func $args_len (result i32)))
  (import "bitverse_transform_v1" "args_read" (func $args_read (param i32 i32 i32)))
  (import "bitverse_transform_v1" "output_write" (func $output_write (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "transform") (result i32)
    (if (i32.ne (call $input_count) (i32.const 2)) (then (return (i32.const 9))))
    (call $input_read (i32.const 1) (i32.const 0) (i32.const 0) (call $input_len (i32.const 1)))
    (call $output_write (i32.const 0) (call $input_len (i32.const 1)))
    (call $args_read (i32.const 0) (i32.const 0) (call $args_len))
    (call $output_write (i32.const 0) (call $args_len))
    ;; input 0 from offset 1 on
    (call $input_read (i32.const 0) (i32.const 0) (i32.const 1)
      (i32.sub (call $input_len (i32.const 0)) (i32.const 1)))
    (call $output_write (i32.const 0) (i32.sub (call $input_len (i32.const 0)) (i32.const 1)))
    (i32.const 0)))"#;

#[test]
fn host_api_passes_inputs_arguments_and_output_through() {
    let outcome = run(
        SHUFFLE,
        request(vec![b"xabc".to_vec(), b"12".to_vec()], b"--"),
    );
    assert_eq!(outcome.result, Ok(b"12--abc".to_vec()));
    assert!(outcome.fuel_used > 0);
    assert_eq!(
        run(SHUFFLE, request(vec![b"x".to_vec()], b"")).result,
        Err(TransformFault::Refused { code: 9 })
    );
}

#[test]
fn reading_a_missing_input_or_beyond_one_is_a_host_fault() {
    let missing = r#"(module
      (import "bitverse_transform_v1" "input_len" (func $input_len (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "transform") (result i32) (drop (call $input_len (i32.const 3))) (i32.const 0)))"#;
    assert!(matches!(
        run(missing, request(vec![b"a".to_vec()], b"")).result,
        Err(TransformFault::Sandbox(ScriptFault::Host(
            HostFault::InvalidArgument { .. }
        )))
    ));
    let beyond = r#"(module
      (import "bitverse_transform_v1" "input_read" (func $input_read (param i32 i32 i32 i32)))
      (memory (export "memory") 1)
      (func (export "transform") (result i32)
        (call $input_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 5)) (i32.const 0)))"#;
    assert!(matches!(
        run(beyond, request(vec![b"abc".to_vec()], b"")).result,
        Err(TransformFault::Sandbox(ScriptFault::Host(
            HostFault::InvalidArgument { .. }
        )))
    ));
}

/// Writes `$n` bytes per call, `$calls` times.
fn writer(bytes_per_call: u32, calls: u32) -> String {
    format!(
        r#"(module
      (import "bitverse_transform_v1" "output_write" (func $output_write (param i32 i32)))
      (memory (export "memory") 2)
      (func (export "transform") (result i32) (local $i i32)
        (loop $again
          (call $output_write (i32.const 0) (i32.const {bytes_per_call}))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $again (i32.lt_u (local.get $i) (i32.const {calls}))))
        (i32.const 0)))"#
    )
}

#[test]
fn output_up_to_the_cap_is_accepted_and_one_byte_more_is_output_too_large() {
    let cap = OUTPUT_SIZE_BYTES_MAX as u32;
    let at_cap = run(&writer(cap / 4, 4), request(vec![], b""));
    assert_eq!(
        at_cap.result.map(|out| out.len()),
        Ok(OUTPUT_SIZE_BYTES_MAX)
    );
    let over = run(&writer(cap / 4 + 1, 4), request(vec![], b""));
    assert_eq!(
        over.result,
        Err(TransformFault::OutputTooLarge {
            size_bytes: u64::from(cap + 4),
            size_bytes_max: OUTPUT_SIZE_BYTES_MAX
        })
    );
}

const LOOP: &str = r#"(module (memory (export "memory") 1)
  (func (export "transform") (result i32) (loop $l (br $l)) (i32.const 0)))"#;

#[test]
fn a_looping_module_uses_its_whole_budget_and_is_out_of_fuel_the_same_way_every_time() {
    let budget = 123_456;
    let run_once = || {
        RUNNER
            .run(
                &wasm(LOOP),
                TransformRequest {
                    fuel_max: budget,
                    ..request(vec![], b"")
                },
            )
            .unwrap()
    };
    let first = run_once();
    assert_eq!(
        first.result,
        Err(TransformFault::Sandbox(ScriptFault::OutOfFuel {
            fuel_max: budget
        }))
    );
    assert_eq!(first.fuel_used, budget);
    assert_eq!(first, run_once());
}

#[test]
fn a_trapping_module_is_a_trap_fault_with_repeatable_fuel() {
    let trap = r#"(module (memory (export "memory") 1)
      (func (export "transform") (result i32)
        (drop (i32.div_u (i32.const 1) (i32.const 0))) (i32.const 0)))"#;
    let first = run(trap, request(vec![], b""));
    assert_eq!(
        first.result,
        Err(TransformFault::Sandbox(ScriptFault::Trap(
            TrapKind::IntegerDivisionByZero
        )))
    );
    assert_eq!(first, run(trap, request(vec![], b"")));
    let unreachable = r#"(module (memory (export "memory") 1)
      (func (export "transform") (result i32) unreachable))"#;
    assert_eq!(
        run(unreachable, request(vec![], b"")).result,
        Err(TransformFault::Sandbox(ScriptFault::Trap(
            TrapKind::Unreachable
        )))
    );
}

#[test]
fn growing_memory_past_the_transform_cap_is_a_memory_limit_fault() {
    let within = format!(
        r#"(module (memory (export "memory") 1)
      (func (export "transform") (result i32)
        (if (i32.lt_s (memory.grow (i32.const {})) (i32.const 0)) (then (return (i32.const 1))))
        (i32.const 0)))"#,
        TRANSFORM_MEMORY_PAGES_MAX - 1
    );
    assert_eq!(run(&within, request(vec![], b"")).result, Ok(Vec::new()));
    let beyond = format!(
        r#"(module (memory (export "memory") 1)
      (func (export "transform") (result i32) (drop (memory.grow (i32.const {}))) (i32.const 0)))"#,
        TRANSFORM_MEMORY_PAGES_MAX
    );
    assert!(matches!(
        run(&beyond, request(vec![], b"")).result,
        Err(TransformFault::Sandbox(ScriptFault::MemoryLimit { .. }))
    ));
}

fn upload_error(wat: &str) -> UploadError {
    match RUNNER.check_upload(&wasm(wat)) {
        Err(TransformError::Upload(e)) => e,
        other => panic!("expected an upload error, got {other:?}"),
    }
}

#[test]
fn upload_refuses_floats_foreign_imports_a_missing_transform_export_and_big_modules() {
    assert!(matches!(
        upload_error(
            r#"(module (memory (export "memory") 1)
          (func (export "transform") (result i32) (i32.trunc_f32_s (f32.const 1.5))))"#
        ),
        UploadError::Invalid(_)
    ));
    assert!(matches!(
        upload_error(
            r#"(module (import "bitverse_v1" "op" (func (result i32))) (memory (export "memory") 1)
          (func (export "transform") (result i32) (i32.const 0)))"#
        ),
        UploadError::ForbiddenImport { .. }
    ));
    assert!(matches!(
        upload_error(
            r#"(module (import "bitverse_transform_v1" "clock" (func (result i64)))
          (memory (export "memory") 1) (func (export "transform") (result i32) (i32.const 0)))"#
        ),
        UploadError::UnresolvedImport { .. }
    ));
    assert!(matches!(
        upload_error(
            r#"(module (memory (export "memory") 1) (func (export "validate") (result i32) (i32.const 0)))"#
        ),
        UploadError::MissingExport {
            name: "transform",
            ..
        }
    ));
    let big = format!(
        r#"(module (memory (export "memory") 2) (data (i32.const 0) "{}")
      (func (export "transform") (result i32) (i32.const 0)))"#,
        "x".repeat(TRANSFORM_MODULE_SIZE_BYTES_MAX)
    );
    assert!(matches!(upload_error(&big), UploadError::TooLarge { .. }));
}

#[test]
fn requests_over_the_input_argument_and_fuel_limits_are_refused_before_running() {
    let module = wasm(SHUFFLE);
    let too_many = request(vec![Vec::new(); INPUTS_MAX + 1], b"");
    assert!(matches!(
        RUNNER.run(&module, too_many),
        Err(TransformError::TooManyInputs { .. })
    ));
    let big_input = request(vec![Vec::new(), vec![0; INPUT_SIZE_BYTES_MAX + 1]], b"");
    assert!(matches!(
        RUNNER.run(&module, big_input),
        Err(TransformError::InputTooLarge { index: 1, .. })
    ));
    let big_args = request(vec![], &vec![b'a'; ARGS_SIZE_BYTES_MAX + 1]);
    assert!(matches!(
        RUNNER.run(&module, big_args),
        Err(TransformError::ArgsTooLarge { .. })
    ));
    let fuel = TransformRequest {
        fuel_max: FUEL_PER_TRANSFORM_MAX + 1,
        ..request(vec![], b"")
    };
    assert!(matches!(
        RUNNER.run(&module, fuel),
        Err(TransformError::FuelAboveMax { .. })
    ));
    // At the limits, it runs: this module refuses with the sum of the sizes it sees.
    let sizes = wasm(
        r#"(module
      (import "bitverse_transform_v1" "input_len" (func $input_len (param i32) (result i32)))
      (import "bitverse_transform_v1" "input_count" (func $input_count (result i32)))
      (import "bitverse_transform_v1" "args_len" (func $args_len (result i32)))
      (memory (export "memory") 1)
      (func (export "transform") (result i32)
        (i32.add (i32.add (call $input_len (i32.const 0)) (call $args_len)) (call $input_count))))"#,
    );
    let at_limits = TransformRequest {
        inputs: vec![vec![b'i'; INPUT_SIZE_BYTES_MAX]; INPUTS_MAX],
        args: vec![b'a'; ARGS_SIZE_BYTES_MAX],
        fuel_max: FUEL_PER_TRANSFORM_MAX,
    };
    let expected = INPUT_SIZE_BYTES_MAX + ARGS_SIZE_BYTES_MAX + INPUTS_MAX;
    assert_eq!(
        RUNNER.run(&sizes, at_limits).unwrap().result,
        Err(TransformFault::Refused {
            code: expected as u32
        })
    );
}

#[test]
fn run_by_hash_checks_the_bytes_against_the_hash() {
    let module = wasm(SHUFFLE);
    let hash = RUNNER.check_upload(&module).unwrap();
    let inputs = vec![b"ab".to_vec(), b"c".to_vec()];
    let by_hash = RUNNER
        .run_by_hash(&hash, &module, request(inputs.clone(), b""))
        .unwrap();
    assert_eq!(by_hash.result, Ok(b"cb".to_vec()));
    let other = wasm(LOOP);
    let fresh = TransformRunner::new().unwrap();
    assert!(matches!(
        fresh.run_by_hash(&hash, &other, request(inputs, b"")),
        Err(TransformError::Node(_))
    ));
}
