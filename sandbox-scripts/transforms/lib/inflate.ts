// zlib (RFC 1950) and deflate (RFC 1951) decompression: stored, fixed Huffman and dynamic
// Huffman blocks, Adler-32 checked. The structure of Mark Adler's puff.c (canonical decoding
// bit by bit), with a 9-bit lookup table in front for the common short codes; integers only. Every read is bounds-checked: a malformed stream ends in a `false` result, never a trap.

// Input and output windows of the current run.
let in_ptr: usize = 0;
let in_len: i32 = 0;
let in_pos: i32 = 0;
let bit_buf: u32 = 0;
let bit_cnt: i32 = 0;
let out_ptr: usize = 0;
let out_cap: i32 = 0;
let out_pos: i32 = 0;
/** Set when the stream is malformed (or wants more output than the window holds). */
let failed: bool = false;

// Huffman tables: counts of codes per length (16 entries) and symbols ordered by code.
const LEN_COUNT: usize = memory.data(16 * 2, 2);
const LEN_SYMBOL: usize = memory.data(288 * 2, 2);
const DIST_COUNT: usize = memory.data(16 * 2, 2);
const DIST_SYMBOL: usize = memory.data(30 * 2, 2);
const OFFSETS: usize = memory.data(16 * 2, 2);
const LENGTHS: usize = memory.data(320 * 2, 2);
const NEXT_CODE: usize = memory.data(16 * 2, 2);

/** Bits the fast decoding tables look at. */
const FAST_BITS: i32 = 9;
/**
 * Fast decoding tables, indexed by the next FAST_BITS input bits: `symbol << 4 | length` for
 * codes of at most FAST_BITS bits, 0 where a longer (or no) code starts.
 */
const LEN_FAST: usize = memory.data((1 << FAST_BITS) * 2, 2);
const DIST_FAST: usize = memory.data((1 << FAST_BITS) * 2, 2);

const LEN_BASE: usize = memory.data<u16>([
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
  131, 163, 195, 227, 258]);
const LEN_EXTRA: usize = memory.data<u8>([
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
const DIST_BASE: usize = memory.data<u16>([
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
  2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]);
const DIST_EXTRA: usize = memory.data<u8>([
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
  13]);
const CODE_LENGTH_ORDER: usize = memory.data<u8>([
  16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

@inline function get16(table: usize, index: i32): i32 {
  return <i32>load<u16>(table + (<usize>index << 1));
}

@inline function set16(table: usize, index: i32, value: i32): void {
  store<u16>(table + (<usize>index << 1), <u16>value);
}

/**
 * Loads whole input bytes into the bit buffer while it holds at most 24 bits. Bytes loaded but
 * not consumed are handed back (`unload`) before reading bytes directly.
 */
@inline function fill(): void {
  while (bit_cnt <= 24 && in_pos < in_len) {
    bit_buf |= (<u32>load<u8>(in_ptr + <usize>in_pos)) << <u32>bit_cnt;
    in_pos++;
    bit_cnt += 8;
  }
}

/** Drops the bits left of the current byte and hands back the whole bytes still buffered. */
function unload(): void {
  in_pos -= bit_cnt >> 3;
  bit_buf = 0;
  bit_cnt = 0;
}

/** The next `need` bits (at most 16), least significant first; 0 and `failed` past the end. */
function bits(need: i32): i32 {
  let value: u32 = bit_buf;
  while (bit_cnt < need) {
    if (in_pos >= in_len) {
      failed = true;
      return 0;
    }
    value |= (<u32>load<u8>(in_ptr + <usize>in_pos)) << <u32>bit_cnt;
    in_pos++;
    bit_cnt += 8;
  }
  bit_buf = value >> <u32>need;
  bit_cnt -= need;
  return <i32>(value & ((1 << <u32>need) - 1));
}

/** A stored block: LEN, NLEN, then LEN raw bytes. */
function stored(): bool {
  unload();
  if (in_pos + 4 > in_len) return false;
  const p = in_ptr + <usize>in_pos;
  const len = <i32>load<u8>(p) | (<i32>load<u8>(p + 1) << 8);
  const nlen = <i32>load<u8>(p + 2) | (<i32>load<u8>(p + 3) << 8);
  if (len != (~nlen & 0xffff)) return false;
  in_pos += 4;
  if (in_pos + len > in_len) return false;
  if (out_pos + len > out_cap) return false;
  memory.copy(out_ptr + <usize>out_pos, in_ptr + <usize>in_pos, <usize>len);
  in_pos += len;
  out_pos += len;
  return true;
}

/** Decodes one symbol with the canonical code given by `count` and `symbol`; -1 on error. */
function decode(count: usize, symbol: usize): i32 {
  let code: i32 = 0;
  let first: i32 = 0;
  let index: i32 = 0;
  for (let len = 1; len <= 15; len++) {
    code |= bits(1);
    if (failed) return -1;
    const n = get16(count, len);
    if (code - n < first) return get16(symbol, index + (code - first));
    index += n;
    first += n;
    first <<= 1;
    code <<= 1;
  }
  return -1;
}

/** Decodes one symbol, through the fast table `fast` when the next code is short enough. */
function decode_fast(fast: usize, count: usize, symbol: usize): i32 {
  fill();
  if (bit_cnt >= FAST_BITS) {
    const entry = get16(fast, <i32>(bit_buf & ((1 << FAST_BITS) - 1)));
    if (entry != 0) {
      const len = entry & 15;
      bit_buf >>= <u32>len;
      bit_cnt -= len;
      return entry >> 4;
    }
  }
  return decode(count, symbol);
}

/** Fills the fast table for the `n` code lengths at `lengths` (a code `construct` accepted). */
function build_fast(fast: usize, lengths: usize, n: i32, count: usize): void {
  memory.fill(fast, 0, (1 << FAST_BITS) * 2);
  // The first canonical code of each length (RFC 1951 section 3.2.2; `count` holds the
  // number of unused symbols at length 0, which takes no code).
  let code = 0;
  set16(NEXT_CODE, 0, 0);
  for (let len = 1; len <= 15; len++) {
    code = (code + (len == 1 ? 0 : get16(count, len - 1))) << 1;
    set16(NEXT_CODE, len, code);
  }
  for (let s = 0; s < n; s++) {
    const len = get16(lengths, s);
    if (len == 0) continue;
    const c = get16(NEXT_CODE, len);
    set16(NEXT_CODE, len, c + 1);
    if (len > FAST_BITS) continue;
    // Codes are packed most significant bit first: reverse them to index by input order.
    let reversed = 0;
    for (let i = 0; i < len; i++) reversed |= ((c >> i) & 1) << (len - 1 - i);
    for (let fill = reversed; fill < (1 << FAST_BITS); fill += 1 << len) {
      set16(fast, fill, (s << 4) | len);
    }
  }
}

/**
 * Builds a canonical code from `n` code lengths at `lengths`. Returns 0 for a complete code,
 * a positive number for an incomplete one, a negative one for an over-subscribed one.
 */
function construct(count: usize, symbol: usize, lengths: usize, n: i32): i32 {
  for (let len = 0; len <= 15; len++) set16(count, len, 0);
  for (let s = 0; s < n; s++) {
    const len = get16(lengths, s);
    set16(count, len, get16(count, len) + 1);
  }
  if (get16(count, 0) == n) return 0;
  let left: i32 = 1;
  for (let len = 1; len <= 15; len++) {
    left <<= 1;
    left -= get16(count, len);
    if (left < 0) return left;
  }
  set16(OFFSETS, 1, 0);
  for (let len = 1; len < 15; len++) {
    set16(OFFSETS, len + 1, get16(OFFSETS, len) + get16(count, len));
  }
  for (let s = 0; s < n; s++) {
    const len = get16(lengths, s);
    if (len != 0) {
      const at = get16(OFFSETS, len);
      set16(symbol, at, s);
      set16(OFFSETS, len, at + 1);
    }
  }
  return left;
}

/** Decodes literal/length and distance codes until end of block. */
function codes(): bool {
  while (true) {
    let sym = decode_fast(LEN_FAST, LEN_COUNT, LEN_SYMBOL);
    if (sym < 0) return false;
    if (sym < 256) {
      if (out_pos >= out_cap) return false;
      store<u8>(out_ptr + <usize>out_pos, <u8>sym);
      out_pos++;
    } else if (sym == 256) {
      return true;
    } else {
      sym -= 257;
      if (sym >= 29) return false;
      const len = get16(LEN_BASE, sym) + bits(<i32>load<u8>(LEN_EXTRA + <usize>sym));
      const dsym = decode_fast(DIST_FAST, DIST_COUNT, DIST_SYMBOL);
      if (dsym < 0 || dsym >= 30) return false;
      const dist = get16(DIST_BASE, dsym) + bits(<i32>load<u8>(DIST_EXTRA + <usize>dsym));
      if (failed) return false;
      if (dist > out_pos) return false;
      if (out_pos + len > out_cap) return false;
      // Byte by byte: the source may overlap the destination (a run).
      let from = out_ptr + <usize>(out_pos - dist);
      let to = out_ptr + <usize>out_pos;
      const end = to + <usize>len;
      while (to < end) {
        store<u8>(to, load<u8>(from));
        to++;
        from++;
      }
      out_pos += len;
    }
  }
  return false;
}

/** A block with the fixed codes of RFC 1951 §3.2.6. */
function fixed(): bool {
  let s = 0;
  for (; s < 144; s++) set16(LENGTHS, s, 8);
  for (; s < 256; s++) set16(LENGTHS, s, 9);
  for (; s < 280; s++) set16(LENGTHS, s, 7);
  for (; s < 288; s++) set16(LENGTHS, s, 8);
  construct(LEN_COUNT, LEN_SYMBOL, LENGTHS, 288);
  build_fast(LEN_FAST, LENGTHS, 288, LEN_COUNT);
  for (s = 0; s < 30; s++) set16(LENGTHS, s, 5);
  construct(DIST_COUNT, DIST_SYMBOL, LENGTHS, 30);
  build_fast(DIST_FAST, LENGTHS, 30, DIST_COUNT);
  return codes();
}

/** A block with codes described at its start (RFC 1951 §3.2.7). */
function dynamic(): bool {
  const nlen = bits(5) + 257;
  const ndist = bits(5) + 1;
  const ncode = bits(4) + 4;
  if (failed || nlen > 286 || ndist > 30) return false;
  let index = 0;
  for (; index < ncode; index++) {
    set16(LENGTHS, <i32>load<u8>(CODE_LENGTH_ORDER + <usize>index), bits(3));
  }
  for (; index < 19; index++) {
    set16(LENGTHS, <i32>load<u8>(CODE_LENGTH_ORDER + <usize>index), 0);
  }
  if (failed) return false;
  // The code-length code must be complete.
  if (construct(LEN_COUNT, LEN_SYMBOL, LENGTHS, 19) != 0) return false;
  index = 0;
  while (index < nlen + ndist) {
    let symbol = decode(LEN_COUNT, LEN_SYMBOL);
    if (symbol < 0) return false;
    if (symbol < 16) {
      set16(LENGTHS, index, symbol);
      index++;
    } else {
      let len = 0;
      let repeat = 0;
      if (symbol == 16) {
        if (index == 0) return false;
        len = get16(LENGTHS, index - 1);
        repeat = 3 + bits(2);
      } else if (symbol == 17) {
        repeat = 3 + bits(3);
      } else {
        repeat = 11 + bits(7);
      }
      if (failed || index + repeat > nlen + ndist) return false;
      while (repeat > 0) {
        set16(LENGTHS, index, len);
        index++;
        repeat--;
      }
    }
  }
  // An end-of-block code is required.
  if (get16(LENGTHS, 256) == 0) return false;
  // Incomplete codes are allowed only for a single code of length 1.
  let err = construct(LEN_COUNT, LEN_SYMBOL, LENGTHS, nlen);
  if (err < 0 || (err > 0 && nlen - get16(LEN_COUNT, 0) != 1)) return false;
  build_fast(LEN_FAST, LENGTHS, nlen, LEN_COUNT);
  const dist_lengths = LENGTHS + (<usize>nlen << 1);
  err = construct(DIST_COUNT, DIST_SYMBOL, dist_lengths, ndist);
  if (err < 0 || (err > 0 && ndist - get16(DIST_COUNT, 0) != 1)) return false;
  build_fast(DIST_FAST, dist_lengths, ndist, DIST_COUNT);
  return codes();
}

/** Adler-32 of `len` bytes at `ptr`. */
export function adler32(ptr: usize, len: i32): u32 {
  let a: u32 = 1;
  let b: u32 = 0;
  let i = 0;
  while (i < len) {
    // 5552 bytes is the most that cannot overflow 32 bits before the modulo.
    let block = len - i;
    if (block > 5552) block = 5552;
    const end = i + block;
    for (; i < end; i++) {
      a += <u32>load<u8>(ptr + <usize>i);
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return (b << 16) | a;
}

/**
 * Inflates the zlib stream of `src_len` bytes at `src` into exactly `dst_cap` bytes at `dst`.
 * False if the header is bad, a preset dictionary is asked for, a block is malformed, the data
 * is longer or shorter than `dst_cap`, the Adler-32 differs, or bytes follow the stream.
 */
export function zlib_inflate(src: usize, src_len: i32, dst: usize, dst_cap: i32): bool {
  if (src_len < 6) return false;
  const cmf = <i32>load<u8>(src);
  const flg = <i32>load<u8>(src + 1);
  if ((cmf & 15) != 8 || (cmf >> 4) > 7) return false;
  if (((cmf << 8) | flg) % 31 != 0) return false;
  if ((flg & 0x20) != 0) return false;
  in_ptr = src;
  in_len = src_len;
  in_pos = 2;
  bit_buf = 0;
  bit_cnt = 0;
  out_ptr = dst;
  out_cap = dst_cap;
  out_pos = 0;
  failed = false;
  let last = 0;
  do {
    last = bits(1);
    const kind = bits(2);
    if (failed) return false;
    let ok = false;
    if (kind == 0) ok = stored();
    else if (kind == 1) ok = fixed();
    else if (kind == 2) ok = dynamic();
    if (!ok || failed) return false;
  } while (last == 0);
  if (out_pos != out_cap) return false;
  // The Adler-32 follows the last block, byte aligned, and ends the stream.
  unload();
  if (in_pos + 4 != in_len) return false;
  const p = in_ptr + <usize>in_pos;
  const expected: u32 = (<u32>load<u8>(p) << 24) | (<u32>load<u8>(p + 1) << 16) |
    (<u32>load<u8>(p + 2) << 8) | <u32>load<u8>(p + 3);
  return adler32(dst, dst_cap) == expected;
}
