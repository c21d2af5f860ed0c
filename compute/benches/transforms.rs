//! Fuel and time of the black-and-white filter on a photo-like PNG of about 60 KiB (just under
//! the value cap), in the real sandbox. The module is built by `scripts/build-transforms`
//! with the real AssemblyScript compiler; the fuel used is printed once (it is the same on
//! every run), criterion measures the time of a whole run (instantiate, decode, convert,
//! encode; the module is compiled and cached before timing).

#[path = "../tests/common/mod.rs"]
mod common;

use bitverse_compute::{TransformRequest, TransformRunner};
use criterion::{Criterion, criterion_main};

/// The input photo's size must land in this range (bytes).
const PHOTO_BYTES_MIN: usize = 56 * 1024;
const PHOTO_BYTES_MAX: usize = 63 * 1024;

/// A photo-like RGB PNG between `PHOTO_BYTES_MIN` and `PHOTO_BYTES_MAX` bytes: the largest
/// height (at 240 columns) whose encoding fits.
fn photo_png() -> (u32, u32, Vec<u8>) {
    let width = 240;
    for height in (40..400).rev() {
        let pixels = common::photo(width, height, 3, 48, 7);
        let png_bytes = common::encode_png(
            width,
            height,
            3,
            &pixels,
            png::Filter::Adaptive,
            png::DeflateCompression::Level(6),
        );
        if png_bytes.len() <= PHOTO_BYTES_MAX {
            assert!(
                png_bytes.len() >= PHOTO_BYTES_MIN,
                "photo of {} bytes",
                png_bytes.len()
            );
            return (width, height, png_bytes);
        }
    }
    panic!("no photo size fits");
}

fn bench_bw(c: &mut Criterion) {
    let modules = common::build_examples();
    let bw = modules.get("bw").unwrap_or_else(|| panic!("bw not built"));
    let runner = TransformRunner::new().unwrap_or_else(|e| panic!("runner: {e}"));
    let (width, height, png_bytes) = photo_png();
    let request = TransformRequest {
        inputs: vec![png_bytes.clone()],
        args: Vec::new(),
        fuel_max: bitverse_compute::transform::FUEL_PER_TRANSFORM_MAX,
    };
    let outcome = runner
        .run(bw, request.clone())
        .unwrap_or_else(|e| panic!("bw: {e}"));
    let output = outcome.result.unwrap_or_else(|f| panic!("bw: {f}"));
    eprintln!(
        "bw on a {width}x{height} RGB PNG of {} bytes: {} fuel, output {} bytes",
        png_bytes.len(),
        outcome.fuel_used,
        output.len()
    );
    c.bench_function("bw_60KiB_png", |b| {
        b.iter(|| runner.run(bw, request.clone()).map(|o| o.fuel_used))
    });
}

// criterion's macros generate undocumented public items.
#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::bench_bw);
}
criterion_main!(harness::benches);
