//! The example transformations, built by `scripts/build-transforms` with the real
//! AssemblyScript compiler and run in the real sandbox, against independent references: the
//! `png` crate decodes every output PNG and its pixels are compared with Pillow's luma formula
//! and a box filter computed here; word counts with `str::split_whitespace`; JSON fields with
//! `serde_json`. Also: bad PNGs refused with the documented codes, determinism, fuel budgets,
//! and the output cap reached by a real module.

mod common;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use bitverse_compute::transform::{OUTPUT_SIZE_BYTES_MAX, TRANSFORM_MODULE_SIZE_BYTES_MAX};
use bitverse_compute::{
    ScriptFault, TransformFault, TransformOutcome, TransformRequest, TransformRunner,
};
use common::{Decoded, build_examples, decode_png, encode_png, photo, pillow_luma};
use proptest::prelude::*;

/// Fuel for every run here: far above what the examples use on these inputs.
const FUEL: u64 = 1_000_000_000;

/// Refusal codes of the examples (docs/TRANSFORMS.md).
const ERR_INPUT_COUNT: u32 = 1;
const ERR_ARGS: u32 = 2;
const ERR_MALFORMED: u32 = 3;
const ERR_UNSUPPORTED: u32 = 4;
const ERR_TOO_LARGE: u32 = 5;
const ERR_FIELD_NOT_FOUND: u32 = 6;
const ERR_NOT_AN_OBJECT: u32 = 7;

static MODULES: LazyLock<BTreeMap<&'static str, Vec<u8>>> = LazyLock::new(build_examples);

static RUNNER: LazyLock<TransformRunner> =
    LazyLock::new(|| TransformRunner::new().unwrap_or_else(|e| panic!("runner: {e}")));

fn module(name: &str) -> &'static [u8] {
    MODULES
        .get(name)
        .unwrap_or_else(|| panic!("no module {name}"))
}

fn run_with_fuel(name: &str, inputs: Vec<Vec<u8>>, args: &[u8], fuel_max: u64) -> TransformOutcome {
    let request = TransformRequest {
        inputs,
        args: args.to_vec(),
        fuel_max,
    };
    RUNNER
        .run(module(name), request)
        .unwrap_or_else(|e| panic!("{name} could not run: {e}"))
}

fn run(name: &str, inputs: Vec<Vec<u8>>, args: &[u8]) -> TransformOutcome {
    run_with_fuel(name, inputs, args, FUEL)
}

fn output(name: &str, inputs: Vec<Vec<u8>>, args: &[u8]) -> Vec<u8> {
    run(name, inputs, args)
        .result
        .unwrap_or_else(|fault| panic!("{name} failed: {fault}"))
}

fn refusal(name: &str, inputs: Vec<Vec<u8>>, args: &[u8]) -> u32 {
    match run(name, inputs, args).result {
        Err(TransformFault::Refused { code }) => code,
        other => panic!("{name}: expected a refusal, got {other:?}"),
    }
}

/// Runs bw over `png_bytes` and checks the output against Pillow's formula over `pixels`.
fn assert_bw_matches_pillow(
    png_bytes: Vec<u8>,
    width: u32,
    height: u32,
    channels: usize,
    pixels: &[u8],
) {
    assert!(
        png_bytes.len() <= 64 * 1024,
        "test input over the value cap"
    );
    let out = output("bw", vec![png_bytes], b"");
    let decoded = decode_png(&out);
    assert_eq!((decoded.width, decoded.height), (width, height));
    assert_eq!(decoded.color_type, png::ColorType::Grayscale);
    assert_eq!(decoded.bit_depth, png::BitDepth::Eight);
    let expected = pillow_luma(pixels, channels);
    assert_eq!(decoded.pixels.len(), expected.len());
    for (i, (got, want)) in decoded.pixels.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "pixel {i} of {width}x{height}x{channels}");
    }
}

const FILTERS: [png::Filter; 6] = [
    png::Filter::NoFilter,
    png::Filter::Sub,
    png::Filter::Up,
    png::Filter::Avg,
    png::Filter::Paeth,
    png::Filter::Adaptive,
];

#[test]
fn every_example_passes_upload_checks_and_fits_a_value() {
    for (name, wasm) in MODULES.iter() {
        assert!(wasm.len() <= TRANSFORM_MODULE_SIZE_BYTES_MAX, "{name}");
        RUNNER
            .check_upload(wasm)
            .unwrap_or_else(|e| panic!("{name} refused at upload: {e}"));
    }
}

#[test]
fn bw_equals_pillow_luma_for_every_filter_type_rgb_and_rgba_and_several_sizes() {
    let sizes = [(1, 1), (2, 3), (17, 9), (64, 40), (101, 57)];
    for (width, height) in sizes {
        for channels in [3, 4] {
            let pixels = photo(width, height, channels, 40, u64::from(width * 7 + height));
            for filter in FILTERS {
                let png_bytes = encode_png(
                    width,
                    height,
                    channels,
                    &pixels,
                    filter,
                    png::DeflateCompression::Level(6),
                );
                assert_bw_matches_pillow(png_bytes, width, height, channels, &pixels);
            }
        }
    }
}

/// A PNG built by hand around a given zlib stream, its IDAT split into `idat_chunks` chunks.
fn png_around_zlib(
    width: u32,
    height: u32,
    color_type: u8,
    interlace: u8,
    zlib: &[u8],
    idat_chunks: usize,
) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, color_type, 0, 0, interlace]);
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"tEXt", b"Comment\0an ancillary chunk to skip");
    let part = zlib.len().div_ceil(idat_chunks.max(1)).max(1);
    for piece in zlib.chunks(part) {
        chunk(&mut out, b"IDAT", piece);
    }
    chunk(&mut out, b"IEND", b"");
    out
}

/// Scanlines with filter type 0, as PNG stores them before compression.
fn unfiltered_scanlines(pixels: &[u8], width: u32, channels: usize) -> Vec<u8> {
    pixels
        .chunks(width as usize * channels)
        .flat_map(|row| std::iter::once(0).chain(row.iter().copied()))
        .collect()
}

/// A zlib stream of `data` made by miniz_oxide at `level` with `strategy`.
fn zlib(
    data: &[u8],
    level: u8,
    strategy: miniz_oxide::deflate::core::CompressionStrategy,
) -> Vec<u8> {
    use miniz_oxide::deflate::core::{
        CompressorOxide, TDEFLFlush, TDEFLStatus, compress, create_comp_flags_from_zip_params,
    };
    let flags = create_comp_flags_from_zip_params(i32::from(level), 1, strategy as i32);
    let mut compressor = CompressorOxide::new(flags);
    let mut out = vec![0; data.len() * 2 + 1024];
    let (status, consumed, written) = compress(&mut compressor, data, &mut out, TDEFLFlush::Finish);
    assert_eq!(status, TDEFLStatus::Done);
    assert_eq!(consumed, data.len());
    out.truncate(written);
    out
}

/// BTYPE of the first deflate block of a zlib stream (0 stored, 1 fixed, 2 dynamic).
fn first_block_type(zlib: &[u8]) -> u8 {
    (zlib[2] >> 1) & 3
}

#[test]
fn bw_inflates_stored_fixed_and_dynamic_blocks_across_split_idat_chunks() {
    use miniz_oxide::deflate::core::CompressionStrategy;
    let (width, height, channels) = (90, 60, 3);
    // Stripes with long repeats, so that every compressor prefers Huffman blocks to stored ones.
    let pixels: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).flat_map(move |x| [(x / 8 * 40) as u8, (y / 4 * 30) as u8, 128]))
        .collect();
    let raw = unfiltered_scanlines(&pixels, width, channels);
    let cases = [
        (0, CompressionStrategy::Default, 0),
        (6, CompressionStrategy::Fixed, 1),
        (9, CompressionStrategy::Default, 2),
        (1, CompressionStrategy::RLE, 2),
    ];
    for (level, strategy, block_type) in cases {
        let stream = zlib(&raw, level, strategy);
        assert_eq!(first_block_type(&stream), block_type, "level {level}");
        for idat_chunks in [1, 3] {
            let png_bytes = png_around_zlib(width, height, 2, 0, &stream, idat_chunks);
            // The hand-made file is a valid PNG to the independent decoder too.
            assert_eq!(decode_png(&png_bytes).pixels, pixels);
            assert_bw_matches_pillow(png_bytes, width, height, channels, &pixels);
        }
    }
}

#[test]
fn bw_decodes_the_long_huffman_codes_of_skewed_data() {
    use miniz_oxide::deflate::core::CompressionStrategy;
    // Mostly zeros with rare scattered values: Huffman-only coding gives the zero a 1- or
    // 2-bit code and the rare bytes codes longer than the 9-bit lookup table.
    let (width, height, channels) = (150, 100, 3);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let pixels: Vec<u8> = (0..width * height * channels as u32)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if i % 41 == 0 { (state % 256) as u8 } else { 0 }
        })
        .collect();
    let raw = unfiltered_scanlines(&pixels, width, channels);
    for strategy in [
        CompressionStrategy::HuffmanOnly,
        CompressionStrategy::Default,
    ] {
        let stream = zlib(&raw, 9, strategy);
        assert_eq!(first_block_type(&stream), 2);
        let png_bytes = png_around_zlib(width, height, 2, 0, &stream, 2);
        assert_eq!(decode_png(&png_bytes).pixels, pixels);
        assert_bw_matches_pillow(png_bytes, width, height, channels, &pixels);
    }
}

#[test]
fn bw_reads_the_fast_encoders_output_too() {
    let (width, height, channels) = (120, 80, 4);
    let pixels = photo(width, height, channels, 16, 9);
    let png_bytes = encode_png(
        width,
        height,
        channels,
        &pixels,
        png::Filter::Adaptive,
        png::DeflateCompression::FdeflateUltraFast,
    );
    assert_bw_matches_pillow(png_bytes, width, height, channels, &pixels);
}

#[test]
fn bw_output_over_the_output_cap_is_output_too_large() {
    // 260 x 260 gray is 260 * 261 bytes of scanlines, above 64 KiB; the input compresses well.
    let (width, height) = (260, 260);
    let pixels = photo(width, height, 3, 0, 1);
    let png_bytes = encode_png(
        width,
        height,
        3,
        &pixels,
        png::Filter::Adaptive,
        png::DeflateCompression::Level(9),
    );
    assert!(png_bytes.len() <= 64 * 1024);
    match run("bw", vec![png_bytes], b"").result {
        Err(TransformFault::OutputTooLarge {
            size_bytes,
            size_bytes_max,
        }) => {
            assert_eq!(size_bytes_max, OUTPUT_SIZE_BYTES_MAX);
            assert!(size_bytes > OUTPUT_SIZE_BYTES_MAX as u64);
        }
        other => panic!("expected output too large, got {other:?}"),
    }
}

fn small_rgb_png() -> (Vec<u8>, Vec<u8>) {
    let pixels = photo(8, 6, 3, 30, 2);
    let png_bytes = encode_png(
        8,
        6,
        3,
        &pixels,
        png::Filter::Paeth,
        png::DeflateCompression::Level(6),
    );
    (png_bytes, pixels)
}

/// Recomputes the CRC of the chunk whose type starts at `kind_at`, after an edit.
fn fix_crc(png_bytes: &mut [u8], kind_at: usize) {
    let len = u32::from_be_bytes(png_bytes[kind_at - 4..kind_at].try_into().unwrap()) as usize;
    let crc = crc32fast::hash(&png_bytes[kind_at..kind_at + 4 + len]);
    png_bytes[kind_at + 4 + len..kind_at + 8 + len].copy_from_slice(&crc.to_be_bytes());
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{needle:?} not found"))
}

#[test]
fn bw_refuses_bad_pngs_with_the_documented_codes() {
    let (good, _) = small_rgb_png();
    let ihdr = find(&good, b"IHDR");
    let idat = find(&good, b"IDAT");

    let mut bad_crc = good.clone();
    bad_crc[idat + 6] ^= 0x40;
    let truncated = good[..good.len() - 20].to_vec();
    let mut not_png = good.clone();
    not_png[1] = b'Q';
    let mut bad_adler = good.clone();
    let idat_len = u32::from_be_bytes(bad_adler[idat - 4..idat].try_into().unwrap()) as usize;
    bad_adler[idat + 4 + idat_len - 1] ^= 1;
    fix_crc(&mut bad_adler, idat);
    // Stored scanlines whose first filter type is 9.
    let mut raw = unfiltered_scanlines(&photo(8, 6, 3, 30, 2), 8, 3);
    raw[0] = 9;
    let stream = zlib(
        &raw,
        0,
        miniz_oxide::deflate::core::CompressionStrategy::Default,
    );
    let bad_filter = png_around_zlib(8, 6, 2, 0, &stream, 1);
    let mut zero_width = good.clone();
    zero_width[ihdr + 4..ihdr + 8].copy_from_slice(&0u32.to_be_bytes());
    fix_crc(&mut zero_width, ihdr);
    for (what, png_bytes) in [
        ("bad CRC", bad_crc),
        ("truncated", truncated),
        ("bad signature", not_png),
        ("bad Adler-32", bad_adler),
        ("unknown filter type", bad_filter),
        ("zero width", zero_width),
        ("empty", Vec::new()),
    ] {
        assert_eq!(refusal("bw", vec![png_bytes], b""), ERR_MALFORMED, "{what}");
    }
}

#[test]
fn bw_refuses_interlaced_other_color_types_and_bit_depths_as_unsupported() {
    let raw = unfiltered_scanlines(&photo(4, 4, 3, 0, 3), 4, 3);
    let stream = zlib(
        &raw,
        6,
        miniz_oxide::deflate::core::CompressionStrategy::Default,
    );
    let interlaced = png_around_zlib(4, 4, 2, 1, &stream, 1);
    let gray = {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 4, 4);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[7; 16]).unwrap();
        drop(writer);
        out
    };
    let sixteen_bit = {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 4, 4);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Sixteen);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[9; 4 * 4 * 6]).unwrap();
        drop(writer);
        out
    };
    let palette = {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 4, 4);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_palette(vec![0, 0, 0, 255, 255, 255]);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[1; 16]).unwrap();
        drop(writer);
        out
    };
    for (what, png_bytes) in [
        ("interlaced", interlaced),
        ("grayscale", gray),
        ("16-bit", sixteen_bit),
        ("palette", palette),
    ] {
        assert_eq!(
            refusal("bw", vec![png_bytes], b""),
            ERR_UNSUPPORTED,
            "{what}"
        );
    }
}

#[test]
fn bw_refuses_images_over_the_decoded_size_max_as_too_large() {
    // 1 600 x 1 000 RGB is 4 801 000 bytes of scanlines, above the modules' 4 MiB; one color
    // compresses it far below the value cap.
    let (width, height) = (1600, 1000);
    let pixels = vec![90; width as usize * height as usize * 3];
    let png_bytes = encode_png(
        width,
        height,
        3,
        &pixels,
        png::Filter::Up,
        png::DeflateCompression::Level(9),
    );
    assert!(png_bytes.len() <= 64 * 1024);
    assert_eq!(refusal("bw", vec![png_bytes], b""), ERR_TOO_LARGE);
}

#[test]
fn bw_refuses_a_wrong_input_count_and_arguments() {
    let (good, _) = small_rgb_png();
    assert_eq!(refusal("bw", vec![], b""), ERR_INPUT_COUNT);
    assert_eq!(
        refusal("bw", vec![good.clone(), good.clone()], b""),
        ERR_INPUT_COUNT
    );
    assert_eq!(refusal("bw", vec![good], b"64"), ERR_ARGS);
}

#[test]
fn same_module_and_inputs_give_the_same_output_and_fuel_on_every_run_and_engine() {
    let (good, _) = small_rgb_png();
    let fresh_runner = TransformRunner::new().unwrap();
    let cases: [(&str, Vec<u8>, &[u8]); 6] = [
        ("bw", good.clone(), b""),
        ("thumbnail", good, b"3"),
        ("wordcount", "a b\u{3000}c".as_bytes().to_vec(), b""),
        ("jsonfield", br#"{"k": [1, "x"]}"#.to_vec(), b"k"),
        // A refusal is as repeatable as a success.
        ("bw", b"not a png".to_vec(), b""),
        ("jsonfield", b"{".to_vec(), b"k"),
    ];
    for (name, input, args) in cases {
        let first = run(name, vec![input.clone()], args);
        let second = run(name, vec![input.clone()], args);
        let fresh = fresh_runner
            .run(
                module(name),
                TransformRequest {
                    inputs: vec![input],
                    args: args.to_vec(),
                    fuel_max: FUEL,
                },
            )
            .unwrap();
        assert!(first.fuel_used > 0, "{name}");
        assert_eq!(first, second, "{name}");
        assert_eq!(first, fresh, "{name}");
    }
}

#[test]
fn the_requests_fuel_budget_bounds_the_run() {
    let (good, _) = small_rgb_png();
    let needed = run("bw", vec![good.clone()], b"").fuel_used;
    let exact = run_with_fuel("bw", vec![good.clone()], b"", needed);
    assert!(exact.result.is_ok(), "the fuel it used is enough");
    // Fuel is checked at function entries and loop headers only: a budget one unit short
    // still lets the last straight-line stretch finish, and the whole budget is reported used.
    let one_short = run_with_fuel("bw", vec![good.clone()], b"", needed - 1);
    assert_eq!(one_short.result, exact.result);
    assert_eq!(one_short.fuel_used, needed - 1);
    // Fuel is checked at function entries and loop headers, so a budget below what the run
    // needs stops it at one of those, and the whole budget is reported used.
    let short = run_with_fuel("bw", vec![good], b"", needed / 2);
    assert_eq!(
        short.result,
        Err(TransformFault::Sandbox(ScriptFault::OutOfFuel {
            fuel_max: needed / 2
        }))
    );
    assert_eq!(short.fuel_used, needed / 2);
}

/// A box filter to `target_width`, with the rounding rules of docs/TRANSFORMS.md.
fn box_filter(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: usize,
    target_width: u32,
) -> (u32, Vec<u8>) {
    let (w, h, tw) = (u64::from(width), u64::from(height), u64::from(target_width));
    let th = ((h * tw * 2 + w) / (w * 2)).max(1);
    let mut out = Vec::new();
    for y in 0..th {
        let (y0, y1) = (y * h / th, (y + 1) * h / th);
        for x in 0..tw {
            let (x0, x1) = (x * w / tw, (x + 1) * w / tw);
            let count = (x1 - x0) * (y1 - y0);
            for c in 0..channels {
                let mut sum = 0u64;
                for sy in y0..y1 {
                    for sx in x0..x1 {
                        sum += u64::from(pixels[(sy * w + sx) as usize * channels + c]);
                    }
                }
                out.push(((sum + count / 2) / count) as u8);
            }
        }
    }
    (th as u32, out)
}

#[test]
fn thumbnail_equals_a_box_filter_for_rgb_and_rgba() {
    let cases = [
        (1, 1, 1),
        (10, 7, 3),
        (64, 48, 16),
        (101, 57, 40),
        (99, 120, 33),
        (50, 3, 49),
        (30, 30, 30),
    ];
    for (width, height, target) in cases {
        for channels in [3, 4] {
            let pixels = photo(width, height, channels, 60, u64::from(width + target));
            let png_bytes = encode_png(
                width,
                height,
                channels,
                &pixels,
                png::Filter::Adaptive,
                png::DeflateCompression::Level(6),
            );
            let out = output("thumbnail", vec![png_bytes], target.to_string().as_bytes());
            let Decoded {
                width: ow,
                height: oh,
                color_type,
                bit_depth,
                pixels: got,
            } = decode_png(&out);
            let (th, want) = box_filter(&pixels, width, height, channels, target);
            assert_eq!((ow, oh), (target, th), "{width}x{height} to {target}");
            assert_eq!(color_type, common::color_type(channels));
            assert_eq!(bit_depth, png::BitDepth::Eight);
            assert_eq!(got, want, "{width}x{height}x{channels} to {target}");
        }
    }
}

/// A large RGBA image of flat 100 x 100 tiles, which compresses far below the value cap.
fn tiles(width: u32, height: u32) -> Vec<u8> {
    (0..height)
        .flat_map(|y| {
            (0..width).flat_map(move |x| {
                let (tx, ty) = (x / 100, y / 100);
                [
                    (tx * 25) as u8,
                    (ty * 25) as u8,
                    ((tx + ty) % 2 * 200) as u8,
                    255 - (tx * 9) as u8,
                ]
            })
        })
        .collect()
}

#[test]
fn thumbnail_of_the_largest_image_fits_in_memory_or_reaches_the_output_cap() {
    // 1 000 x 1 000 RGBA is 4 001 000 bytes of scanlines, just under the modules' 4 MiB.
    let (width, height) = (1000, 1000);
    let pixels = tiles(width, height);
    let png_bytes = encode_png(
        width,
        height,
        4,
        &pixels,
        png::Filter::Up,
        png::DeflateCompression::Level(9),
    );
    assert!(png_bytes.len() <= 64 * 1024, "{} bytes", png_bytes.len());
    let out = decode_png(&output("thumbnail", vec![png_bytes.clone()], b"64"));
    let (th, want) = box_filter(&pixels, width, height, 4, 64);
    assert_eq!((out.width, out.height), (64, th));
    assert_eq!(out.pixels, want);
    // The full width needs every buffer at its largest: the output cap ends it, not memory.
    assert!(matches!(
        run("thumbnail", vec![png_bytes], b"1000").result,
        Err(TransformFault::OutputTooLarge { .. })
    ));
}

#[test]
fn thumbnail_to_the_source_width_is_the_source() {
    let pixels = photo(21, 13, 4, 90, 4);
    let png_bytes = encode_png(
        21,
        13,
        4,
        &pixels,
        png::Filter::Sub,
        png::DeflateCompression::Level(6),
    );
    let out = decode_png(&output("thumbnail", vec![png_bytes], b"21"));
    assert_eq!((out.width, out.height), (21, 13));
    assert_eq!(out.pixels, pixels);
}

#[test]
fn thumbnail_refuses_widths_that_are_not_1_to_the_source_width() {
    let (good, _) = small_rgb_png();
    for args in [&b""[..], b"0", b"9", b"-1", b"4x", b" 4", b"1234567890"] {
        assert_eq!(
            refusal("thumbnail", vec![good.clone()], args),
            ERR_ARGS,
            "{args:?}"
        );
    }
    assert_eq!(
        refusal("thumbnail", vec![b"nope".to_vec()], b"4"),
        ERR_MALFORMED
    );
}

fn wordcount(text: &[u8]) -> TransformOutcome {
    run("wordcount", vec![text.to_vec()], b"")
}

#[test]
fn wordcount_counts_runs_between_unicode_white_space() {
    let cases: [&str; 9] = [
        "",
        "   \t\n ",
        "one",
        "two words",
        "  leading and trailing  ",
        "tabs\tnew\nlines\r\nform\u{c}feed\u{b}vt",
        "no\u{a0}break\u{3000}ideographic\u{2029}para\u{85}nel",
        "zero\u{200b}width is not white space",
        "émoji 🎉 mixed 文字 text",
    ];
    for text in cases {
        let out = wordcount(text.as_bytes())
            .result
            .unwrap_or_else(|f| panic!("{text:?}: {f}"));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            text.split_whitespace().count().to_string(),
            "{text:?}"
        );
    }
}

#[test]
fn wordcount_refuses_invalid_utf8() {
    for bytes in [
        &b"\xff"[..],
        b"ok \xc0\xaf overlong",
        b"\xed\xa0\x80 surrogate",
        b"\xf4\x90\x80\x80 above U+10FFFF",
        b"cut \xe2\x82",
    ] {
        assert_eq!(
            wordcount(bytes).result,
            Err(TransformFault::Refused {
                code: ERR_MALFORMED
            }),
            "{bytes:?}"
        );
    }
}

fn jsonfield(json: &str, field: &str) -> TransformOutcome {
    run(
        "jsonfield",
        vec![json.as_bytes().to_vec()],
        field.as_bytes(),
    )
}

/// Checks jsonfield's output against serde_json's reading of the same document.
fn assert_field_matches_serde(json: &str, field: &str) {
    let document: serde_json::Value = serde_json::from_str(json).unwrap();
    let out = jsonfield(json, field)
        .result
        .unwrap_or_else(|f| panic!("{json} [{field}]: {f}"));
    let text = std::str::from_utf8(&out).unwrap();
    assert!(json.contains(text), "output is a slice of the input");
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(Some(&value), document.get(field), "{json} [{field}]");
}

#[test]
fn jsonfield_returns_the_fields_value_as_written() {
    let doc = r#" { "name" : "erik", "n": -12.5e+3, "list": [1, {"a": [true, false, null]}, "x"],
        "nested": {"deep": {"er": []}}, "caf\u00e9": "escaped name", "quote\"d": "\u263a\n",
        "empty": {}, "": "empty name" } "#;
    for field in [
        "name", "n", "list", "nested", "café", "quote\"d", "empty", "",
    ] {
        assert_field_matches_serde(doc, field);
    }
    assert_eq!(jsonfield(doc, "n").result.unwrap(), b"-12.5e+3");
    assert_eq!(jsonfield(doc, "name").result.unwrap(), b"\"erik\"");
}

#[test]
fn jsonfield_takes_the_last_of_duplicate_names() {
    assert_eq!(jsonfield(r#"{"a": 1, "a": 2}"#, "a").result.unwrap(), b"2");
    let parsed: serde_json::Value = serde_json::from_str(r#"{"a": 1, "a": 2}"#).unwrap();
    assert_eq!(parsed["a"], 2);
}

#[test]
fn jsonfield_refuses_missing_fields_non_objects_and_malformed_json() {
    let refused = |json: &str, field: &str| match jsonfield(json, field).result {
        Err(TransformFault::Refused { code }) => code,
        other => panic!("{json}: {other:?}"),
    };
    assert_eq!(refused(r#"{"a": 1}"#, "b"), ERR_FIELD_NOT_FOUND);
    assert_eq!(refused(r#"{"outer": {"b": 1}}"#, "b"), ERR_FIELD_NOT_FOUND);
    for not_object in ["[1, 2]", "\"a\"", "12", "true", " null "] {
        assert_eq!(refused(not_object, "a"), ERR_NOT_AN_OBJECT, "{not_object}");
    }
    for malformed in [
        "",
        "{",
        r#"{"a": 1,}"#,
        r#"{"a" 1}"#,
        r#"{"a": 01}"#,
        r#"{"a": 1.}"#,
        r#"{"a": tru}"#,
        r#"{"a": "\x"}"#,
        r#"{"a": "\ud800"}"#,
        "{\"a\": \"raw\ttab\"}",
        r#"{"a": 1} x"#,
        r#"{a: 1}"#,
    ] {
        assert!(serde_json::from_str::<serde_json::Value>(malformed).is_err());
        assert_eq!(refused(malformed, "a"), ERR_MALFORMED, "{malformed}");
    }
}

#[test]
fn jsonfield_accepts_nesting_up_to_128_and_refuses_deeper_as_too_large() {
    // The top-level object is depth 1; `arrays` arrays inside it make depth 1 + arrays.
    let nested = |arrays: usize| format!("{{\"a\": {}{}}}", "[".repeat(arrays), "]".repeat(arrays));
    let deepest = nested(127);
    assert_eq!(
        jsonfield(&deepest, "a").result.unwrap(),
        format!("{}{}", "[".repeat(127), "]".repeat(127)).into_bytes()
    );
    assert_eq!(
        jsonfield(&nested(128), "a").result,
        Err(TransformFault::Refused {
            code: ERR_TOO_LARGE
        })
    );
}

/// JSON values of bounded size and depth.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1_000_000i64..1_000_000, 1u32..1000)
            .prop_map(|(a, b)| Value::from(a as f64 / f64::from(b))),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn wordcount_equals_split_whitespace_on_any_text(
        text in "([ \t\n\u{a0}\u{3000}\u{2028}]{0,3}[a-zé文🎉\u{200b}]{0,4}){0,12}|\\PC*"
    ) {
        let out = wordcount(text.as_bytes()).result.unwrap();
        prop_assert_eq!(String::from_utf8(out).unwrap(), text.split_whitespace().count().to_string());
    }

    #[test]
    fn wordcount_refuses_exactly_the_bytes_that_are_not_utf8(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        let result = wordcount(&bytes).result;
        match std::str::from_utf8(&bytes) {
            Ok(text) => prop_assert_eq!(result.unwrap(), text.split_whitespace().count().to_string().into_bytes()),
            Err(_) => prop_assert_eq!(result, Err(TransformFault::Refused { code: ERR_MALFORMED })),
        }
    }

    #[test]
    fn jsonfield_equals_serde_json_on_any_object(
        members in prop::collection::btree_map("[a-z\"\\\\é ]{0,6}", json_value(), 1..6),
        pick in any::<prop::sample::Index>(),
        pretty in any::<bool>(),
    ) {
        let object = serde_json::Value::Object(members.clone().into_iter().collect());
        let json = if pretty {
            serde_json::to_string_pretty(&object).unwrap()
        } else {
            serde_json::to_string(&object).unwrap()
        };
        let keys: Vec<&String> = members.keys().collect();
        let field = keys[pick.index(keys.len())];
        assert_field_matches_serde(&json, field);
        prop_assert_eq!(
            jsonfield(&json, "no such field \u{1}").result,
            Err(TransformFault::Refused { code: ERR_FIELD_NOT_FOUND })
        );
    }

    #[test]
    fn bw_never_traps_on_corrupted_image_data(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        seed in any::<u64>(),
    ) {
        // Garbage inside the zlib stream, with the chunk CRC made right again so that it
        // reaches the inflater: the result is a refusal as malformed, or an image.
        let pixels = photo(23, 17, 3, 40, seed);
        let mut png_bytes = encode_png(23, 17, 3, &pixels, png::Filter::Paeth, png::DeflateCompression::Level(6));
        let idat = find(&png_bytes, b"IDAT");
        let idat_len = u32::from_be_bytes(png_bytes[idat - 4..idat].try_into().unwrap()) as usize;
        for (at, byte) in edits {
            png_bytes[idat + 4 + at.index(idat_len)] = byte;
        }
        fix_crc(&mut png_bytes, idat);
        match run("bw", vec![png_bytes], b"").result {
            Ok(out) => prop_assert_eq!(decode_png(&out).pixels.len(), 23 * 17),
            Err(fault) => prop_assert_eq!(fault, TransformFault::Refused { code: ERR_MALFORMED }),
        }
    }

    #[test]
    fn bw_equals_pillow_luma_on_random_small_images(
        width in 1u32..24,
        height in 1u32..24,
        rgba in any::<bool>(),
        filter in 0usize..6,
        seed in any::<u64>(),
    ) {
        let channels = if rgba { 4 } else { 3 };
        let pixels = photo(width, height, channels, 256, seed);
        let png_bytes = encode_png(width, height, channels, &pixels, FILTERS[filter], png::DeflateCompression::Level(6));
        assert_bw_matches_pillow(png_bytes, width, height, channels, &pixels);
    }
}
