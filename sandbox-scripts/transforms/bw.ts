// bw: a black-and-white photo filter. One input, a PNG (8-bit RGB or RGBA, non-interlaced);
// no arguments. Output: an 8-bit grayscale PNG of the same size whose every pixel is Pillow's
// convert("L") of the input pixel (ITU-R 601-2 luma, alpha ignored):
//   L = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16
// Codes: 1 not one input, 2 arguments given, 3 malformed PNG, 4 unsupported PNG, 5 too large.
import { args_len, ERR_ARGS, ERR_INPUT_COUNT, OK, alloc, input_count, read_input, read_len } from "./lib/host";
import { COLOR_GRAY, decode_png, image_channels, image_height, image_pixels, image_width, write_png } from "./lib/png";

export function transform(): i32 {
  if (input_count() != 1) return ERR_INPUT_COUNT;
  if (args_len() != 0) return ERR_ARGS;
  const png = read_input(0);
  const status = decode_png(png, read_len);
  if (status != OK) return status;
  const count = image_width * image_height;
  const gray = alloc(count);
  let src = image_pixels;
  const step = <usize>image_channels;
  for (let i = 0; i < count; i++) {
    const r = <u32>load<u8>(src);
    const g = <u32>load<u8>(src + 1);
    const b = <u32>load<u8>(src + 2);
    store<u8>(gray + <usize>i, <u8>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16));
    src += step;
  }
  write_png(gray, image_width, image_height, COLOR_GRAY, 1);
  return OK;
}
