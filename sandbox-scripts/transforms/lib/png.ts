// PNG (ISO/IEC 15948) decoding of 8-bit RGB and RGBA non-interlaced images, and encoding of
// 8-bit grayscale, RGB and RGBA images with stored (uncompressed) deflate blocks. Integers
// only; every chunk's CRC-32 and the zlib stream's Adler-32 are checked.

import { alloc, ERR_MALFORMED, ERR_TOO_LARGE, ERR_UNSUPPORTED, OK, output_write } from "./host";
import { adler32, zlib_inflate } from "./inflate";

/** PNG color types. */
export const COLOR_GRAY: i32 = 0;
export const COLOR_RGB: i32 = 2;
export const COLOR_RGBA: i32 = 6;

/**
 * Largest decoded image, filter bytes included: 4 MiB. The sandbox gives 32 MiB of memory;
 * thumbnail, the hungriest example, keeps five buffers of at most this size (scanlines, pixels,
 * its output pixels, their scanlines and the output PNG) next to the compressed input.
 */
export const RAW_BYTES_MAX: u64 = 4 * 1024 * 1024;

/** The decoded image: width, height, channels (3 or 4) and rows of width × channels bytes. */
export let image_width: i32 = 0;
export let image_height: i32 = 0;
export let image_channels: i32 = 0;
export let image_pixels: usize = 0;

const CRC_TABLE: usize = memory.data(256 * 4, 4);
let crc_table_ready: bool = false;

function crc_table(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = (c & 1) != 0 ? 0xedb88320 ^ (c >> 1) : c >> 1;
    }
    store<u32>(CRC_TABLE + (<usize>n << 2), c);
  }
  crc_table_ready = true;
}

/** CRC-32 (ISO 3309, as PNG uses it) of `len` bytes at `ptr`. */
export function crc32(ptr: usize, len: i32): u32 {
  if (!crc_table_ready) crc_table();
  let c: u32 = 0xffffffff;
  for (let i = 0; i < len; i++) {
    const index = (c ^ <u32>load<u8>(ptr + <usize>i)) & 0xff;
    c = load<u32>(CRC_TABLE + (<usize>index << 2)) ^ (c >> 8);
  }
  return c ^ 0xffffffff;
}

@inline function be32(ptr: usize): u32 {
  return (<u32>load<u8>(ptr) << 24) | (<u32>load<u8>(ptr + 1) << 16) |
    (<u32>load<u8>(ptr + 2) << 8) | <u32>load<u8>(ptr + 3);
}

@inline function put_be32(ptr: usize, value: u32): void {
  store<u8>(ptr, <u8>(value >> 24));
  store<u8>(ptr + 1, <u8>(value >> 16));
  store<u8>(ptr + 2, <u8>(value >> 8));
  store<u8>(ptr + 3, <u8>value);
}

@inline function chunk_is(ptr: usize, a: i32, b: i32, c: i32, d: i32): bool {
  return <i32>load<u8>(ptr) == a && <i32>load<u8>(ptr + 1) == b &&
    <i32>load<u8>(ptr + 2) == c && <i32>load<u8>(ptr + 3) == d;
}

@inline function abs(x: i32): i32 {
  return x < 0 ? -x : x;
}

/** The Paeth predictor of PNG filter type 4. */
@inline function paeth(a: i32, b: i32, c: i32): i32 {
  const p = a + b - c;
  const pa = abs(p - a);
  const pb = abs(p - b);
  const pc = abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  if (pb <= pc) return b;
  return c;
}

/**
 * Reverses the filters of `height` scanlines of `row_bytes` bytes (each after its filter
 * type byte) at `raw` into `out`, with `bpp` bytes per pixel. False on an unknown filter type.
 * The row above the first is all zeros, as the specification says.
 */
function unfilter(raw: usize, out: usize, row_bytes: i32, height: i32, bpp: i32): bool {
  const zeros = alloc(row_bytes);
  memory.fill(zeros, 0, <usize>row_bytes);
  const n = <usize>row_bytes;
  const left = <usize>bpp;
  for (let y = 0; y < height; y++) {
    const src = raw + <usize>y * (n + 1);
    const filter = <i32>load<u8>(src);
    const line = src + 1;
    const row = out + <usize>y * n;
    const prev = y > 0 ? row - n : zeros;
    if (filter == 0) {
      memory.copy(row, line, n);
    } else if (filter == 1) {
      for (let i: usize = 0; i < n; i++) {
        const a = i >= left ? <u32>load<u8>(row + i - left) : 0;
        store<u8>(row + i, <u8>(<u32>load<u8>(line + i) + a));
      }
    } else if (filter == 2) {
      for (let i: usize = 0; i < n; i++) {
        store<u8>(row + i, <u8>(<u32>load<u8>(line + i) + <u32>load<u8>(prev + i)));
      }
    } else if (filter == 3) {
      for (let i: usize = 0; i < n; i++) {
        const a = i >= left ? <u32>load<u8>(row + i - left) : 0;
        const b = <u32>load<u8>(prev + i);
        store<u8>(row + i, <u8>(<u32>load<u8>(line + i) + ((a + b) >> 1)));
      }
    } else if (filter == 4) {
      for (let i: usize = 0; i < n; i++) {
        const b = <i32>load<u8>(prev + i);
        let predictor = b;
        if (i >= left) {
          predictor = paeth(<i32>load<u8>(row + i - left), b, <i32>load<u8>(prev + i - left));
        }
        store<u8>(row + i, <u8>(<i32>load<u8>(line + i) + predictor));
      }
    } else {
      return false;
    }
  }
  return true;
}

/**
 * Decodes the PNG of `len` bytes at `ptr` into `image_*`. Returns OK, ERR_MALFORMED (bad
 * signature, chunk, CRC, header field, zlib stream or filter type; missing IHDR, IDAT or IEND),
 * ERR_UNSUPPORTED (interlaced, a bit depth other than 8, a color type other than RGB or RGBA,
 * an unknown critical chunk) or ERR_TOO_LARGE (more than RAW_BYTES_MAX decoded bytes).
 */
export function decode_png(ptr: usize, len: i32): i32 {
  if (len < 8) return ERR_MALFORMED;
  if (be32(ptr) != 0x89504e47 || be32(ptr + 4) != 0x0d0a1a0a) return ERR_MALFORMED;
  // IDAT data is concatenated here; it cannot be longer than the file.
  const idat = alloc(len);
  let idat_len: i32 = 0;
  let pos: i32 = 8;
  let seen_header = false;
  let seen_end = false;
  let width: u32 = 0;
  let height: u32 = 0;
  let channels: i32 = 0;
  while (!seen_end) {
    if (len - pos < 12) return ERR_MALFORMED;
    const chunk_len_u = be32(ptr + <usize>pos);
    if (chunk_len_u > <u32>(len - pos - 12)) return ERR_MALFORMED;
    const chunk_len = <i32>chunk_len_u;
    const kind = ptr + <usize>pos + 4;
    const data = kind + 4;
    if (crc32(kind, chunk_len + 4) != be32(data + <usize>chunk_len)) return ERR_MALFORMED;
    if (!seen_header) {
      if (!chunk_is(kind, 73, 72, 68, 82) || chunk_len != 13) return ERR_MALFORMED; // IHDR
      width = be32(data);
      height = be32(data + 4);
      const depth = <i32>load<u8>(data + 8);
      const color = <i32>load<u8>(data + 9);
      const compression = <i32>load<u8>(data + 10);
      const filter = <i32>load<u8>(data + 11);
      const interlace = <i32>load<u8>(data + 12);
      if (width == 0 || height == 0 || width > 0x7fffffff || height > 0x7fffffff) {
        return ERR_MALFORMED;
      }
      if (compression != 0 || filter != 0 || interlace > 1) return ERR_MALFORMED;
      if (interlace != 0 || depth != 8) return ERR_UNSUPPORTED;
      if (color == COLOR_RGB) channels = 3;
      else if (color == COLOR_RGBA) channels = 4;
      else return ERR_UNSUPPORTED;
      const raw = <u64>height * (<u64>width * <u64>channels + 1);
      if (raw > RAW_BYTES_MAX) return ERR_TOO_LARGE;
      seen_header = true;
    } else if (chunk_is(kind, 73, 68, 65, 84)) { // IDAT
      memory.copy(idat + <usize>idat_len, data, <usize>chunk_len);
      idat_len += chunk_len;
    } else if (chunk_is(kind, 73, 69, 78, 68)) { // IEND
      seen_end = true;
    } else if (chunk_is(kind, 73, 72, 68, 82)) { // a second IHDR
      return ERR_MALFORMED;
    } else if ((<i32>load<u8>(kind) & 0x20) == 0 && !chunk_is(kind, 80, 76, 84, 69)) {
      // A critical chunk other than PLTE (a suggested palette, ignored for RGB and RGBA).
      return ERR_UNSUPPORTED;
    }
    pos += 12 + chunk_len;
  }
  if (idat_len == 0) return ERR_MALFORMED;
  const row_bytes = <i32>width * channels;
  const h = <i32>height;
  const raw_len = h * (row_bytes + 1);
  const raw = alloc(raw_len);
  if (!zlib_inflate(idat, idat_len, raw, raw_len)) return ERR_MALFORMED;
  const pixels = alloc(row_bytes * h);
  if (!unfilter(raw, pixels, row_bytes, h, channels)) return ERR_MALFORMED;
  image_width = <i32>width;
  image_height = h;
  image_channels = channels;
  image_pixels = pixels;
  return OK;
}

/** Largest payload of one stored deflate block. */
const STORED_BLOCK_BYTES_MAX: i32 = 65535;

/** Appends a chunk of `data_len` bytes (already at `at + 8`) and returns the next position. */
function finish_chunk(at: usize, data_len: i32): usize {
  put_be32(at, <u32>data_len);
  const crc = crc32(at + 4, data_len + 4);
  put_be32(at + 8 + <usize>data_len, crc);
  return at + 12 + <usize>data_len;
}

/**
 * Encodes `height` rows of `width` × `channels` bytes at `pixels` (color type `color`, 8 bits)
 * as a PNG with filter type 0 on every row and stored deflate blocks, and writes it to the
 * output with one host call.
 */
export function write_png(pixels: usize, width: i32, height: i32, color: i32, channels: i32): void {
  const row_bytes = width * channels;
  const raw_len = height * (row_bytes + 1);
  const raw = alloc(raw_len);
  for (let y = 0; y < height; y++) {
    const line = raw + <usize>y * <usize>(row_bytes + 1);
    store<u8>(line, 0);
    memory.copy(line + 1, pixels + <usize>y * <usize>row_bytes, <usize>row_bytes);
  }
  let blocks = (raw_len + STORED_BLOCK_BYTES_MAX - 1) / STORED_BLOCK_BYTES_MAX;
  if (blocks == 0) blocks = 1;
  const zlib_len = 2 + raw_len + 5 * blocks + 4;
  const total = 8 + (12 + 13) + (12 + zlib_len) + 12;
  const png = alloc(total);
  put_be32(png, 0x89504e47);
  put_be32(png + 4, 0x0d0a1a0a);
  // IHDR
  let at = png + 8;
  put_be32(at + 4, 0x49484452);
  put_be32(at + 8, <u32>width);
  put_be32(at + 12, <u32>height);
  store<u8>(at + 16, 8);
  store<u8>(at + 17, <u8>color);
  store<u8>(at + 18, 0);
  store<u8>(at + 19, 0);
  store<u8>(at + 20, 0);
  at = finish_chunk(at, 13);
  // IDAT: a zlib header (deflate, 32 KiB window, no dictionary, check bits), stored blocks,
  // the Adler-32.
  const idat = at;
  put_be32(idat + 4, 0x49444154);
  let z = idat + 8;
  store<u8>(z, 0x78);
  store<u8>(z + 1, 0x01);
  z += 2;
  let done = 0;
  for (let b = 0; b < blocks; b++) {
    let n = raw_len - done;
    if (n > STORED_BLOCK_BYTES_MAX) n = STORED_BLOCK_BYTES_MAX;
    store<u8>(z, b == blocks - 1 ? 1 : 0);
    store<u8>(z + 1, <u8>n);
    store<u8>(z + 2, <u8>(n >> 8));
    store<u8>(z + 3, <u8>(~n));
    store<u8>(z + 4, <u8>(~n >> 8));
    memory.copy(z + 5, raw + <usize>done, <usize>n);
    z += 5 + <usize>n;
    done += n;
  }
  put_be32(z, adler32(raw, raw_len));
  at = finish_chunk(idat, zlib_len);
  // IEND
  put_be32(at + 4, 0x49454e44);
  at = finish_chunk(at, 0);
  output_write(png, <u32>(at - png));
}
