//! Shared by the transformation tests and bench: building the example modules with the real
//! AssemblyScript compiler, and making test photos as PNGs with the `png` crate.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The example transformations `scripts/build-transforms` builds.
pub const EXAMPLE_NAMES: [&str; 4] = ["bw", "thumbnail", "wordcount", "jsonfield"];

/// How long `scripts/build-transforms` may take, `npm ci` included, before the test gives up.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("compute has a parent directory"))
        .to_path_buf()
}

/// Runs `command` to completion within `timeout`, panicking with `what` on failure.
pub fn run_bounded(mut command: Command, timeout: Duration, what: &str) {
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
                let _ = child.wait();
                panic!("{what} did not finish within {timeout:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// Builds every example with the documented command (`scripts/build-transforms OUT_DIR`, which
/// runs the pinned `asc`, installing it with `npm ci` when missing) into a temporary directory
/// and returns the modules by name.
pub fn build_examples() -> BTreeMap<&'static str, Vec<u8>> {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut command = Command::new(repo_root().join("scripts/build-transforms"));
    command.arg(out.path());
    run_bounded(command, BUILD_TIMEOUT, "scripts/build-transforms");
    EXAMPLE_NAMES
        .iter()
        .map(|name| {
            let path = out.path().join(format!("{name}.wasm"));
            let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (*name, wasm)
        })
        .collect()
}

/// A deterministic photo-like image: smooth gradients with `noise` of texture on top (more
/// noise compresses worse), `channels` 3 (RGB) or 4 (RGBA, alpha varying too).
pub fn photo(width: u32, height: u32, channels: usize, noise: u32, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut pixels = Vec::with_capacity(width as usize * height as usize * channels);
    for y in 0..height {
        for x in 0..width {
            let base = [
                x * 255 / width.max(1),
                y * 255 / height.max(1),
                (x + y) * 127 / (width + height).max(1) + 64,
                255 - (x * y) % 200,
            ];
            for c in base.iter().take(channels) {
                let jitter = if noise == 0 {
                    0
                } else {
                    (next() % u64::from(noise)) as u32
                };
                pixels.push(((c + jitter) % 256) as u8);
            }
        }
    }
    pixels
}

/// The `png` crate's color type for 3 or 4 channels.
pub fn color_type(channels: usize) -> png::ColorType {
    match channels {
        3 => png::ColorType::Rgb,
        4 => png::ColorType::Rgba,
        other => panic!("no color type for {other} channels"),
    }
}

/// Encodes an 8-bit RGB or RGBA image with the `png` crate, with `filter` on every row (or its
/// adaptive choice) and the given deflate compression.
pub fn encode_png(
    width: u32,
    height: u32,
    channels: usize,
    pixels: &[u8],
    filter: png::Filter,
    compression: png::DeflateCompression,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color_type(channels));
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_deflate_compression(compression);
        encoder.set_filter(filter);
        let mut writer = encoder
            .write_header()
            .unwrap_or_else(|e| panic!("png header: {e}"));
        writer
            .write_image_data(pixels)
            .unwrap_or_else(|e| panic!("png data: {e}"));
    }
    out
}

/// A decoded PNG: its header facts and pixel bytes.
#[derive(Debug)]
pub struct Decoded {
    pub width: u32,
    pub height: u32,
    pub color_type: png::ColorType,
    pub bit_depth: png::BitDepth,
    pub pixels: Vec<u8>,
}

/// Decodes a PNG with the `png` crate (no transformations).
pub fn decode_png(bytes: &[u8]) -> Decoded {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("png crate refuses the output: {e}"));
    let size = reader
        .output_buffer_size()
        .unwrap_or_else(|| panic!("output buffer size"));
    let mut pixels = vec![0; size];
    let info = reader
        .next_frame(&mut pixels)
        .unwrap_or_else(|e| panic!("png crate refuses the output's data: {e}"));
    pixels.truncate(info.buffer_size());
    Decoded {
        width: info.width,
        height: info.height,
        color_type: info.color_type,
        bit_depth: info.bit_depth,
        pixels,
    }
}

/// Pillow's `convert("L")` of RGB or RGBA pixels (alpha ignored): ITU-R 601-2 luma in 16-bit
/// fixed point, rounded, as `src/libImaging/Convert.c` computes it.
pub fn pillow_luma(pixels: &[u8], channels: usize) -> Vec<u8> {
    pixels
        .chunks_exact(channels)
        .map(|p| {
            let (r, g, b) = (u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
            ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) as u8
        })
        .collect()
}
