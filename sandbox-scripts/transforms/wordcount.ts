// wordcount: counts the words of a UTF-8 text. One input, the text; no arguments.
// A word is a maximal non-empty run of code points none of which has the Unicode White_Space
// property (U+0009..U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029,
// U+202F, U+205F, U+3000) — what Rust's `str::split_whitespace` yields.
// Output: the count in decimal ASCII digits, no sign, no leading zeros, no newline ("0" for none).
// Codes: 1 not one input, 2 arguments given, 3 the input is not UTF-8.
import { ERR_ARGS, ERR_INPUT_COUNT, ERR_MALFORMED, OK, args_len, input_count, output_decimal, read_input, read_len } from "./lib/host";
import { decode_at, decoded_width } from "./lib/utf8";

function is_white_space(c: i32): bool {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0x85) return false;
  if (c == 0x85 || c == 0xa0 || c == 0x1680) return true;
  if (c >= 0x2000 && c <= 0x200a) return true;
  return c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

export function transform(): i32 {
  if (input_count() != 1) return ERR_INPUT_COUNT;
  if (args_len() != 0) return ERR_ARGS;
  const text = read_input(0);
  const len = read_len;
  let words: u64 = 0;
  let in_word = false;
  let pos = 0;
  while (pos < len) {
    const c = decode_at(text, len, pos);
    if (c < 0) return ERR_MALFORMED;
    pos += decoded_width;
    if (is_white_space(c)) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      words++;
    }
  }
  output_decimal(words);
  return OK;
}
