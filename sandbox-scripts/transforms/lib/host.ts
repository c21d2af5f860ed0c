// The bitverse_transform_v1 host API for AssemblyScript transformations, and the helpers every
// example shares. See docs/TRANSFORMS.md for the meaning of each function and of the codes.

@external("bitverse_transform_v1", "input_count")
export declare function input_count(): i32;
@external("bitverse_transform_v1", "input_len")
export declare function input_len(index: i32): i32;
@external("bitverse_transform_v1", "input_read")
export declare function input_read(index: i32, dst: usize, offset: u32, len: u32): void;
@external("bitverse_transform_v1", "args_len")
export declare function args_len(): i32;
@external("bitverse_transform_v1", "args_read")
export declare function args_read(dst: usize, offset: u32, len: u32): void;
@external("bitverse_transform_v1", "output_write")
export declare function output_write(src: usize, len: u32): void;

/** Success. */
export const OK: i32 = 0;
/** The request named the wrong number of inputs. */
export const ERR_INPUT_COUNT: i32 = 1;
/** The request's arguments are malformed or out of range. */
export const ERR_ARGS: i32 = 2;
/** The input is malformed (not a PNG, a bad CRC or zlib stream, invalid UTF-8 or JSON). */
export const ERR_MALFORMED: i32 = 3;
/** The input is well formed but of a kind this transformation does not handle. */
export const ERR_UNSUPPORTED: i32 = 4;
/** The decoded input would not fit the transformation's working memory. */
export const ERR_TOO_LARGE: i32 = 5;
/** jsonfield: the object has no such field. */
export const ERR_FIELD_NOT_FOUND: i32 = 6;
/** jsonfield: the input is valid JSON but not an object. */
export const ERR_NOT_AN_OBJECT: i32 = 7;

/** Allocates `size` bytes of fresh memory (the stub runtime never frees: one call, one run). */
export function alloc(size: i32): usize {
  return heap.alloc(<usize>size);
}

/** Length of the last buffer returned by `read_input` or `read_args`. */
export let read_len: i32 = 0;

/** Copies input `index` into fresh memory; its length is left in `read_len`. */
export function read_input(index: i32): usize {
  const len = input_len(index);
  const ptr = alloc(len);
  input_read(index, ptr, 0, <u32>len);
  read_len = len;
  return ptr;
}

/** Copies the request's arguments into fresh memory; their length is left in `read_len`. */
export function read_args(): usize {
  const len = args_len();
  const ptr = alloc(len);
  args_read(ptr, 0, <u32>len);
  read_len = len;
  return ptr;
}

/** Writes `value` as decimal ASCII digits to the output. */
export function output_decimal(value: u64): void {
  const buf = alloc(20);
  let pos: i32 = 20;
  do {
    pos--;
    store<u8>(buf + <usize>pos, <u8>(48 + <i32>(value % 10)));
    value /= 10;
  } while (value != 0);
  output_write(buf + <usize>pos, <u32>(20 - pos));
}
