//! The sandbox's limits and determinism: every hostile module is refused at upload or ends in
//! the same fault with the same fuel on every run and on a fresh engine, and a good module
//! still runs on the same engine afterwards.

use std::sync::{Arc, LazyLock};

use bitverse_compute::host::{charge_fuel, memory_and_host, memory_slice};
use bitverse_compute::{
    Limits, LoadedModule, Sandbox, SandboxConfig, SandboxError, ScriptFault, TrapKind, UploadError,
};

/// Host state of the test API: a byte the script can read, and a way to re-enter the sandbox.
#[derive(Default)]
struct TestHost {
    answer: i32,
    reenter: Option<(Arc<Sandbox<TestHost>>, LoadedModule<TestHost>)>,
}

fn config(limits: Limits) -> SandboxConfig {
    SandboxConfig {
        limits,
        host_module: "test_v1",
        entry_export_name: "run",
    }
}

fn sandbox_with(limits: Limits) -> Sandbox<TestHost> {
    let sandbox = Sandbox::new(config(limits), |linker| {
        linker.func_wrap(
            "test_v1",
            "answer",
            |caller: bitverse_compute::host::Caller<'_, _>| {
                let data: &bitverse_compute::StoreData<TestHost> = caller.data();
                data.host().answer
            },
        )?;
        linker.func_wrap(
            "test_v1",
            "sum_bytes",
            |mut caller: bitverse_compute::host::Caller<
                '_,
                bitverse_compute::StoreData<TestHost>,
            >,
             ptr: u32,
             len: u32|
             -> Result<i32, bitverse_compute::host::HostError> {
                charge_fuel(&mut caller, u64::from(len))?;
                let (memory, _) = memory_and_host(&mut caller, "sum_bytes")?;
                let bytes = memory_slice(memory, "sum_bytes", ptr, len)?;
                Ok(bytes.iter().map(|b| i32::from(*b)).sum())
            },
        )?;
        linker.func_wrap(
            "test_v1",
            "reenter",
            |caller: bitverse_compute::host::Caller<'_, bitverse_compute::StoreData<TestHost>>| -> i32 {
                let Some((sandbox, module)) = &caller.data().host().reenter else { return -1 };
                match sandbox.call(module, TestHost::default()) {
                    Err(SandboxError::PoolExhausted { .. }) => 2,
                    Err(_) => 3,
                    Ok(_) => 1,
                }
            },
        )?;
        Ok(())
    });
    match sandbox {
        Ok(sandbox) => sandbox,
        Err(e) => panic!("sandbox: {e}"),
    }
}

/// One engine for the whole test binary: compiling is the slow part.
static SANDBOX: LazyLock<Sandbox<TestHost>> = LazyLock::new(|| sandbox_with(Limits::default()));

fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).unwrap_or_else(|e| panic!("bad test wat: {e}"))
}

const GOOD: &str = r#"(module
  (import "test_v1" "answer" (func $answer (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (i32.add (call $answer) (i32.const 1))))"#;

/// Runs `wat` on `sandbox` and returns the result and fuel.
fn run_on(sandbox: &Sandbox<TestHost>, wat: &str) -> (Result<i32, ScriptFault>, u64) {
    let module = sandbox
        .load(&wasm(wat))
        .unwrap_or_else(|e| panic!("upload refused: {e}"));
    let outcome = sandbox
        .call(
            &module,
            TestHost {
                answer: 41,
                reenter: None,
            },
        )
        .unwrap_or_else(|e| panic!("node error: {e}"));
    (outcome.result, outcome.fuel_used)
}

/// Runs a hostile module twice on the shared engine and once on a fresh one, asserts the same
/// outcome and fuel each time, then checks a good module still runs on the shared engine.
fn check_hostile(wat: &str) -> (Result<i32, ScriptFault>, u64) {
    let first = run_on(&SANDBOX, wat);
    let second = run_on(&SANDBOX, wat);
    assert_eq!(first, second, "same engine, same outcome and fuel");
    let fresh = run_on(&sandbox_with(Limits::default()), wat);
    assert_eq!(first, fresh, "fresh engine, same outcome and fuel");
    assert_eq!(
        run_on(&SANDBOX, GOOD).0,
        Ok(42),
        "good module runs after a hostile one"
    );
    first
}

fn upload_error(sandbox: &Sandbox<TestHost>, wat: &str) -> UploadError {
    match sandbox.load(&wasm(wat)) {
        Ok(_) => panic!("upload accepted"),
        Err(e) => e,
    }
}

#[test]
fn good_module_returns_its_value_with_fuel_counted() {
    let (result, fuel) = run_on(&SANDBOX, GOOD);
    assert_eq!(result, Ok(42));
    assert!(fuel > 0 && fuel < 100, "fuel {fuel}");
}

#[test]
fn infinite_loop_runs_out_of_the_fuel_per_call_max() {
    let (result, fuel) = check_hostile(
        r#"(module (memory (export "memory") 1)
          (func (export "run") (result i32) (loop $l (br $l)) (i32.const 0)))"#,
    );
    let fuel_max = Limits::default().fuel_per_call_max;
    assert_eq!(result, Err(ScriptFault::OutOfFuel { fuel_max }));
    assert_eq!(fuel, fuel_max);
}

#[test]
fn memory_growth_bomb_stops_at_memory_pages_max() {
    let (result, _) = check_hostile(
        r#"(module (memory (export "memory") 1)
          (func (export "run") (result i32)
            (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
            (i32.const 0)))"#,
    );
    let pages_max = Limits::default().memory_pages_max;
    assert_eq!(
        result,
        Err(ScriptFault::MemoryLimit {
            pages_requested: u64::from(pages_max) + 1,
            pages_max
        })
    );
}

#[test]
fn growth_within_memory_pages_max_succeeds() {
    let (result, _) = run_on(
        &SANDBOX,
        r#"(module (memory (export "memory") 1)
          (func (export "run") (result i32) (memory.grow (i32.const 15))))"#,
    );
    assert_eq!(result, Ok(1), "memory.grow returns the old size");
}

#[test]
fn declared_memory_above_memory_pages_max_is_refused_at_upload() {
    let error = upload_error(
        &SANDBOX,
        r#"(module (memory (export "memory") 17) (func (export "run") (result i32) (i32.const 0)))"#,
    );
    assert_eq!(
        error,
        UploadError::MemoryTooLarge {
            pages: 17,
            pages_max: 16
        }
    );
}

#[test]
fn declared_table_above_table_elements_max_is_refused_at_upload() {
    let error = upload_error(
        &SANDBOX,
        r#"(module (memory (export "memory") 1) (table 1025 funcref)
           (func (export "run") (result i32) (i32.const 0)))"#,
    );
    assert_eq!(
        error,
        UploadError::TableTooLarge {
            elements: 1025,
            elements_max: 1024
        }
    );
}

#[test]
fn deep_recursion_overflows_the_stack_bytes_max() {
    let (result, fuel) = check_hostile(
        r#"(module (memory (export "memory") 1)
          (func $down (param i64) (result i64) (i64.add (call $down (local.get 0)) (i64.const 1)))
          (func (export "run") (result i32) (drop (call $down (i64.const 0))) (i32.const 0)))"#,
    );
    assert_eq!(result, Err(ScriptFault::StackOverflow));
    assert!(
        fuel < Limits::default().fuel_per_call_max,
        "stopped by the stack, not fuel"
    );
}

#[test]
fn trap_is_a_fault_not_a_node_error() {
    let (result, _) = check_hostile(
        r#"(module (memory (export "memory") 1) (func (export "run") (result i32) unreachable))"#,
    );
    assert_eq!(result, Err(ScriptFault::Trap(TrapKind::Unreachable)));
}

#[test]
fn out_of_bounds_host_read_is_a_host_fault() {
    let (result, _) = check_hostile(
        r#"(module (import "test_v1" "sum_bytes" (func $sum (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "run") (result i32) (call $sum (i32.const 65530) (i32.const 100))))"#,
    );
    assert!(
        matches!(
            result,
            Err(ScriptFault::Host(
                bitverse_compute::HostFault::MemoryOutOfBounds { .. }
            ))
        ),
        "{result:?}"
    );
}

#[test]
fn host_work_is_charged_fuel() {
    let sum = |len: u32| {
        format!(
            r#"(module (import "test_v1" "sum_bytes" (func $sum (param i32 i32) (result i32)))
              (memory (export "memory") 1) (data (i32.const 0) "\01\01\01\01")
              (func (export "run") (result i32) (call $sum (i32.const 0) (i32.const {len}))))"#
        )
    };
    let (short, short_fuel) = run_on(&SANDBOX, &sum(4));
    let (long, long_fuel) = run_on(&SANDBOX, &sum(4000));
    assert_eq!((short, long), (Ok(4), Ok(4)));
    assert_eq!(long_fuel - short_fuel, 3996);
}

#[test]
fn module_above_module_size_bytes_max_is_refused_at_upload() {
    let limits = Limits::default();
    let padding = "a".repeat(limits.module_size_bytes_max);
    let error = upload_error(
        &SANDBOX,
        &format!(
            r#"(module (memory (export "memory") 16) (data (i32.const 0) "{padding}")
              (func (export "run") (result i32) (i32.const 0)))"#
        ),
    );
    assert!(
        matches!(error, UploadError::TooLarge { size_bytes_max, .. } if size_bytes_max == limits.module_size_bytes_max),
        "{error:?}"
    );
    assert_eq!(run_on(&SANDBOX, GOOD).0, Ok(42));
}

#[test]
fn forbidden_imports_are_refused_at_upload() {
    let wasi = upload_error(
        &SANDBOX,
        r#"(module (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
           (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#,
    );
    assert!(
        matches!(wasi, UploadError::ForbiddenImport { ref module, .. } if module == "wasi_snapshot_preview1"),
        "{wasi:?}"
    );
    let imported_memory = upload_error(
        &SANDBOX,
        r#"(module (import "test_v1" "mem" (memory 1)) (func (export "run") (result i32) (i32.const 0)))"#,
    );
    assert!(
        matches!(imported_memory, UploadError::ForbiddenImport { .. }),
        "{imported_memory:?}"
    );
    let unknown = upload_error(
        &SANDBOX,
        r#"(module (import "test_v1" "random" (func (result i32)))
           (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#,
    );
    assert!(
        matches!(unknown, UploadError::UnresolvedImport { .. }),
        "{unknown:?}"
    );
    let mistyped = upload_error(
        &SANDBOX,
        r#"(module (import "test_v1" "answer" (func (param i32) (result i32)))
           (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#,
    );
    assert!(
        matches!(mistyped, UploadError::UnresolvedImport { .. }),
        "{mistyped:?}"
    );
}

#[test]
fn float_code_is_refused_at_upload() {
    let error = upload_error(
        &SANDBOX,
        r#"(module (memory (export "memory") 1)
           (func (export "run") (result i32) (i32.trunc_f32_s (f32.add (f32.const 1) (f32.const 2)))))"#,
    );
    assert!(
        matches!(error, UploadError::Invalid(ref m) if m.contains("float")),
        "{error:?}"
    );
}

#[test]
fn threads_and_simd_are_refused_at_upload() {
    for wat in [
        r#"(module (memory (export "memory") 1 1 shared) (func (export "run") (result i32) (i32.const 0)))"#,
        r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (drop (v128.const i64x2 0 0)) (i32.const 0)))"#,
    ] {
        assert!(matches!(
            upload_error(&SANDBOX, wat),
            UploadError::Invalid(_)
        ));
    }
}

#[test]
fn entry_and_memory_exports_are_required() {
    let no_entry = upload_error(&SANDBOX, r#"(module (memory (export "memory") 1))"#);
    assert_eq!(
        no_entry,
        UploadError::MissingExport {
            name: "run",
            expected: "a function () -> i32"
        }
    );
    let wrong_type = upload_error(
        &SANDBOX,
        r#"(module (memory (export "memory") 1) (func (export "run") (param i32) (result i32) (i32.const 0)))"#,
    );
    assert!(matches!(
        wrong_type,
        UploadError::MissingExport { name: "run", .. }
    ));
    let no_memory = upload_error(
        &SANDBOX,
        r#"(module (func (export "run") (result i32) (i32.const 0)))"#,
    );
    assert!(matches!(
        no_memory,
        UploadError::MissingExport { name: "memory", .. }
    ));
}

#[test]
fn cache_keeps_at_most_compiled_modules_cached_max() {
    let sandbox = sandbox_with(Limits {
        compiled_modules_cached_max: 2,
        ..Limits::default()
    });
    let module = |n: i32| {
        wasm(&format!(
            r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (i32.const {n})))"#
        ))
    };
    let first = sandbox
        .load(&module(1))
        .map(|m| m.hash())
        .unwrap_or_else(|e| panic!("{e}"));
    for n in 2..=3 {
        sandbox.load(&module(n)).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(sandbox.cached_len(), 2);
    assert!(
        sandbox.cached(&first).is_none(),
        "least recently used was evicted"
    );
    // An evicted module reloads from its bytes, checked against its hash.
    let reloaded = sandbox
        .load_with_hash(&first, &module(1))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sandbox
            .call(&reloaded, TestHost::default())
            .map(|o| o.result)
            .ok(),
        Some(Ok(1))
    );
    let never_loaded = bitverse_primitives::Hash::digest(&module(7));
    assert!(matches!(
        sandbox.load_with_hash(&never_loaded, &module(9)),
        Err(SandboxError::HashMismatch { .. })
    ));
}

#[test]
fn instances_beyond_instances_concurrent_max_are_a_node_error_not_a_fault() {
    let sandbox = Arc::new(sandbox_with(Limits {
        instances_concurrent_max: 1,
        ..Limits::default()
    }));
    let module = sandbox
        .load(&wasm(
            r#"(module (import "test_v1" "reenter" (func $reenter (result i32)))
              (memory (export "memory") 1) (func (export "run") (result i32) (call $reenter)))"#,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let outcome = sandbox
        .call(
            &module,
            TestHost {
                answer: 0,
                reenter: Some((Arc::clone(&sandbox), module.clone())),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    // The outer call holds the only slot, so the nested call could not get one.
    assert_eq!(outcome.result, Ok(2));
}
