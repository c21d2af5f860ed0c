// jsonfield: extracts one top-level field of a JSON object. One input, a JSON text (RFC 8259,
// UTF-8) whose top-level value is an object; arguments: the field name as UTF-8 bytes, matched
// against each member name after its escapes are decoded.
// Output: the field's value exactly as written in the input (the same bytes: the same escapes,
// number spelling and inner whitespace), without the whitespace around it. When a name occurs
// more than once, the last occurrence wins (as in JavaScript's JSON.parse and serde_json).
// The whole input is validated first: grammar of RFC 8259, UTF-8, no lone surrogate in a
// \u escape, nesting at most NESTING_MAX deep. Numbers are checked for grammar, not range.
// Codes: 1 not one input, 3 malformed (invalid UTF-8 or JSON), 5 nesting too deep,
// 6 no such field, 7 valid JSON but not an object.
import { ERR_FIELD_NOT_FOUND, ERR_INPUT_COUNT, ERR_MALFORMED, ERR_NOT_AN_OBJECT, ERR_TOO_LARGE, OK, alloc, input_count, output_write, read_args, read_input, read_len } from "./lib/host";
import { is_utf8 } from "./lib/utf8";

/** Deepest nesting of arrays and objects accepted (the top-level object is depth 1). */
const NESTING_MAX: i32 = 128;

let text: usize = 0;
let text_len: i32 = 0;
let pos: i32 = 0;
/** Set when the nesting limit was hit rather than a syntax error. */
let too_deep: bool = false;
/** Where a decoded member name is written (a name is never longer than its encoded form). */
let name_buf: usize = 0;
let name_len: i32 = 0;

@inline function peek(): i32 {
  return pos < text_len ? <i32>load<u8>(text + <usize>pos) : -1;
}

function skip_ws(): void {
  while (pos < text_len) {
    const c = <i32>load<u8>(text + <usize>pos);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return;
    pos++;
  }
}

function hex4(): i32 {
  if (text_len - pos < 4) return -1;
  let value = 0;
  for (let i = 0; i < 4; i++) {
    const c = <i32>load<u8>(text + <usize>(pos + i));
    let d = -1;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    if (d < 0) return -1;
    value = (value << 4) | d;
  }
  pos += 4;
  return value;
}

function put_name(byte: i32): void {
  store<u8>(name_buf + <usize>name_len, <u8>byte);
  name_len++;
}

/** Appends code point `c` to the decoded name as UTF-8. */
function put_code_point(c: i32): void {
  if (c < 0x80) {
    put_name(c);
  } else if (c < 0x800) {
    put_name(0xc0 | (c >> 6));
    put_name(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    put_name(0xe0 | (c >> 12));
    put_name(0x80 | ((c >> 6) & 0x3f));
    put_name(0x80 | (c & 0x3f));
  } else {
    put_name(0xf0 | (c >> 18));
    put_name(0x80 | ((c >> 12) & 0x3f));
    put_name(0x80 | ((c >> 6) & 0x3f));
    put_name(0x80 | (c & 0x3f));
  }
}

/** A string at `pos` (which is at its opening quote); decodes it into `name_buf` if `keep`. */
function string(keep: bool): bool {
  pos++;
  name_len = 0;
  while (true) {
    if (pos >= text_len) return false;
    const c = <i32>load<u8>(text + <usize>pos);
    pos++;
    if (c == 0x22) return true;
    if (c < 0x20) return false;
    if (c != 0x5c) {
      if (keep) put_name(c);
      continue;
    }
    const e = peek();
    pos++;
    let decoded = -1;
    if (e == 0x22 || e == 0x5c || e == 0x2f) decoded = e;
    else if (e == 0x62) decoded = 0x08;
    else if (e == 0x66) decoded = 0x0c;
    else if (e == 0x6e) decoded = 0x0a;
    else if (e == 0x72) decoded = 0x0d;
    else if (e == 0x74) decoded = 0x09;
    else if (e == 0x75) {
      const unit = hex4();
      if (unit < 0) return false;
      if (unit >= 0xdc00 && unit <= 0xdfff) return false;
      if (unit >= 0xd800 && unit <= 0xdbff) {
        // A high surrogate must be followed by an escaped low surrogate.
        if (peek() != 0x5c) return false;
        pos++;
        if (peek() != 0x75) return false;
        pos++;
        const low = hex4();
        if (low < 0xdc00 || low > 0xdfff) return false;
        decoded = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
      } else {
        decoded = unit;
      }
    } else {
      return false;
    }
    if (keep) put_code_point(decoded);
  }
  return false;
}

function digits(): bool {
  const start = pos;
  while (pos < text_len) {
    const c = <i32>load<u8>(text + <usize>pos);
    if (c < 48 || c > 57) break;
    pos++;
  }
  return pos > start;
}

function number(): bool {
  if (peek() == 0x2d) pos++;
  const first = peek();
  if (first == 48) {
    pos++;
  } else if (first >= 49 && first <= 57) {
    digits();
  } else {
    return false;
  }
  if (peek() == 0x2e) {
    pos++;
    if (!digits()) return false;
  }
  const e = peek();
  if (e == 0x65 || e == 0x45) {
    pos++;
    const sign = peek();
    if (sign == 0x2b || sign == 0x2d) pos++;
    if (!digits()) return false;
  }
  return true;
}

function literal(a: i32, b: i32, c: i32, d: i32, e: i32, n: i32): bool {
  if (text_len - pos < n) return false;
  const p = text + <usize>pos;
  if (<i32>load<u8>(p) != a || <i32>load<u8>(p + 1) != b || <i32>load<u8>(p + 2) != c ||
    <i32>load<u8>(p + 3) != d) return false;
  if (n == 5 && <i32>load<u8>(p + 4) != e) return false;
  pos += n;
  return true;
}

/** A value at `pos` (whitespace skipped), `depth` containers deep; leaves `pos` after it. */
function value(depth: i32): bool {
  const c = peek();
  if (c == 0x7b || c == 0x5b) {
    if (depth >= NESTING_MAX) {
      too_deep = true;
      return false;
    }
    const object = c == 0x7b;
    const close = object ? 0x7d : 0x5d;
    pos++;
    skip_ws();
    if (peek() == close) {
      pos++;
      return true;
    }
    while (true) {
      if (object) {
        if (peek() != 0x22 || !string(false)) return false;
        skip_ws();
        if (peek() != 0x3a) return false;
        pos++;
        skip_ws();
      }
      if (!value(depth + 1)) return false;
      skip_ws();
      const next = peek();
      pos++;
      if (next == close) return true;
      if (next != 0x2c) return false;
      skip_ws();
    }
  }
  if (c == 0x22) return string(false);
  if (c == 0x74) return literal(0x74, 0x72, 0x75, 0x65, 0, 4);
  if (c == 0x66) return literal(0x66, 0x61, 0x6c, 0x73, 0x65, 5);
  if (c == 0x6e) return literal(0x6e, 0x75, 0x6c, 0x6c, 0, 4);
  return number();
}

function names_equal(args: usize, args_len: i32): bool {
  if (name_len != args_len) return false;
  for (let i = 0; i < args_len; i++) {
    if (load<u8>(name_buf + <usize>i) != load<u8>(args + <usize>i)) return false;
  }
  return true;
}

export function transform(): i32 {
  if (input_count() != 1) return ERR_INPUT_COUNT;
  const field = read_args();
  const field_len = read_len;
  text = read_input(0);
  text_len = read_len;
  if (!is_utf8(text, text_len)) return ERR_MALFORMED;
  name_buf = alloc(text_len);
  pos = 0;
  skip_ws();
  if (peek() != 0x7b) {
    // Not an object: tell a valid non-object from malformed input.
    if (!value(0)) return too_deep ? ERR_TOO_LARGE : ERR_MALFORMED;
    skip_ws();
    return pos == text_len ? ERR_NOT_AN_OBJECT : ERR_MALFORMED;
  }
  let found_start = -1;
  let found_end = -1;
  pos++;
  skip_ws();
  if (peek() == 0x7d) {
    pos++;
  } else {
    while (true) {
      if (peek() != 0x22 || !string(true)) return ERR_MALFORMED;
      const matches = names_equal(field, field_len);
      skip_ws();
      if (peek() != 0x3a) return ERR_MALFORMED;
      pos++;
      skip_ws();
      const start = pos;
      if (!value(1)) return too_deep ? ERR_TOO_LARGE : ERR_MALFORMED;
      if (matches) {
        found_start = start;
        found_end = pos;
      }
      skip_ws();
      const next = peek();
      pos++;
      if (next == 0x7d) break;
      if (next != 0x2c) return ERR_MALFORMED;
      skip_ws();
    }
  }
  skip_ws();
  if (pos != text_len) return ERR_MALFORMED;
  if (found_start < 0) return ERR_FIELD_NOT_FOUND;
  output_write(text + <usize>found_start, <u32>(found_end - found_start));
  return OK;
}
