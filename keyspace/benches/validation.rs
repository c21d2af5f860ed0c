//! Validation cost per write: a no-op script and owner-only through the sandbox, beside a
//! native Rust owner-only check. Criterion reports means and medians; the timed loop at the
//! start prints p50 and p99 per write and validations per second on one core.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitverse_keyspace::script::{Payments, ScriptRunner, ValidationContext, Verdict, WriteOp};
use bitverse_primitives::{AccountId, Amount, SecretKey};
use criterion::Criterion;

/// Runs in the percentile loop.
const PERCENTILE_RUNS: usize = 20_000;

const NO_OP: &str = r#"(module (memory (export "memory") 1)
  (func (export "validate") (result i32) (i32.const 0)))"#;

fn owner_only() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sandbox-scripts/owner-only.wat");
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn context() -> ValidationContext {
    let alice = SecretKey::dev("alice").account();
    ValidationContext {
        op: WriteOp::Put,
        keyspace: b"erik".to_vec(),
        key: b"erik/photos/3j903".to_vec(),
        value: vec![7; 64],
        writer: alice,
        keyspace_owner: alice,
        existing_value: None,
        block_height: 1,
        block_time_unix_s: 1_700_000_000,
    }
}

fn payments() -> Arc<dyn Payments> {
    Arc::new(|_: AccountId, _: AccountId| Amount::ZERO)
}

/// The native equivalent of owner-only.
fn native_owner_only(context: &ValidationContext) -> Verdict {
    if context.writer == context.keyspace_owner {
        Verdict::Accept
    } else {
        Verdict::Reject { reason_code: 1 }
    }
}

/// Times `PERCENTILE_RUNS` calls of `f` and prints p50, p99 and calls per second.
fn percentiles(name: &str, mut f: impl FnMut()) {
    for _ in 0..1_000 {
        f();
    }
    let mut samples: Vec<Duration> = Vec::with_capacity(PERCENTILE_RUNS);
    let start = Instant::now();
    for _ in 0..PERCENTILE_RUNS {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    let total = start.elapsed();
    samples.sort();
    let p50 = samples[PERCENTILE_RUNS / 2];
    let p99 = samples[PERCENTILE_RUNS * 99 / 100];
    let per_second = PERCENTILE_RUNS as f64 / total.as_secs_f64();
    println!(
        "{name:<28} p50 {:>9.2} µs   p99 {:>9.2} µs   {per_second:>12.0} validations/s/core",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}

fn runner() -> ScriptRunner {
    ScriptRunner::new().unwrap_or_else(|e| panic!("runner: {e}"))
}

fn validate(runner: &ScriptRunner, wasm: &[u8], context: &ValidationContext) -> Verdict {
    match runner.validate(wasm, context, payments()) {
        Ok(outcome) => outcome.verdict,
        Err(e) => panic!("{e}"),
    }
}

fn print_percentiles() {
    let runner = runner();
    let no_op = wat::parse_str(NO_OP).unwrap_or_else(|e| panic!("{e}"));
    let owner_only = owner_only();
    let context = context();
    assert_eq!(validate(&runner, &owner_only, &context), Verdict::Accept);
    println!("validation cost per write ({PERCENTILE_RUNS} runs each, one thread):");
    percentiles("no-op script", || {
        black_box(validate(&runner, black_box(&no_op), black_box(&context)));
    });
    percentiles("owner-only script", || {
        black_box(validate(
            &runner,
            black_box(&owner_only),
            black_box(&context),
        ));
    });
    percentiles("owner-only native Rust", || {
        black_box(native_owner_only(black_box(&context)));
    });
}

fn bench(c: &mut Criterion) {
    let runner = runner();
    let no_op = wat::parse_str(NO_OP).unwrap_or_else(|e| panic!("{e}"));
    let owner_only = owner_only();
    let context = context();
    let mut group = c.benchmark_group("validation");
    group.bench_function("no_op_script", |b| {
        b.iter(|| validate(&runner, black_box(&no_op), black_box(&context)))
    });
    group.bench_function("owner_only_script", |b| {
        b.iter(|| validate(&runner, black_box(&owner_only), black_box(&context)))
    });
    group.bench_function("owner_only_native", |b| {
        b.iter(|| native_owner_only(black_box(&context)))
    });
    group.finish();
}

/// Runs the criterion group.
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
}

fn main() {
    print_percentiles();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
