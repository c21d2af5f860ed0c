// Strict UTF-8 decoding (Unicode 15, table 3-7): no overlong forms, no surrogates, nothing
// above U+10FFFF. The same bytes are accepted as by Rust's `std::str::from_utf8`.

/** Bytes taken by the code point last decoded by `decode_at`. */
export let decoded_width: i32 = 0;

@inline function cont(ptr: usize, lo: i32, hi: i32): i32 {
  const b = <i32>load<u8>(ptr);
  return b >= lo && b <= hi ? b & 0x3f : -1;
}

/** The code point at `pos` in the `len` bytes at `ptr`, or -1 if the bytes there are not UTF-8. */
export function decode_at(ptr: usize, len: i32, pos: i32): i32 {
  const p = ptr + <usize>pos;
  const b0 = <i32>load<u8>(p);
  const left = len - pos;
  if (b0 < 0x80) {
    decoded_width = 1;
    return b0;
  }
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    if (left < 2) return -1;
    const c1 = cont(p + 1, 0x80, 0xbf);
    if (c1 < 0) return -1;
    decoded_width = 2;
    return ((b0 & 0x1f) << 6) | c1;
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (left < 3) return -1;
    const lo = b0 == 0xe0 ? 0xa0 : 0x80;
    const hi = b0 == 0xed ? 0x9f : 0xbf;
    const c1 = cont(p + 1, lo, hi);
    const c2 = cont(p + 2, 0x80, 0xbf);
    if (c1 < 0 || c2 < 0) return -1;
    decoded_width = 3;
    return ((b0 & 0x0f) << 12) | (c1 << 6) | c2;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (left < 4) return -1;
    const lo = b0 == 0xf0 ? 0x90 : 0x80;
    const hi = b0 == 0xf4 ? 0x8f : 0xbf;
    const c1 = cont(p + 1, lo, hi);
    const c2 = cont(p + 2, 0x80, 0xbf);
    const c3 = cont(p + 3, 0x80, 0xbf);
    if (c1 < 0 || c2 < 0 || c3 < 0) return -1;
    decoded_width = 4;
    return ((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
  }
  return -1;
}

/** Whether the `len` bytes at `ptr` are UTF-8. */
export function is_utf8(ptr: usize, len: i32): bool {
  let pos = 0;
  while (pos < len) {
    if (decode_at(ptr, len, pos) < 0) return false;
    pos += decoded_width;
  }
  return true;
}
