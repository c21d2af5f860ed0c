// thumbnail: a box-filter downscale. One input, a PNG (8-bit RGB or RGBA, non-interlaced);
// arguments: the target width as decimal ASCII digits ("64"), from 1 to the source width.
// Output: a PNG of the input's color type, `tw` wide and
//   th = max(1, (h * tw * 2 + w) / (w * 2))      (h * tw / w rounded half up)
// high. Output pixel (x, y) is the average of the source box of columns
// [x * w / tw, (x + 1) * w / tw) and rows [y * h / th, (y + 1) * h / th) (integer division),
// per channel (alpha too, not premultiplied), rounded half up: (sum + count / 2) / count.
// Codes: 1 not one input, 2 bad width, 3 malformed PNG, 4 unsupported PNG, 5 too large.
import { ERR_ARGS, ERR_INPUT_COUNT, OK, alloc, input_count, read_args, read_input, read_len } from "./lib/host";
import { COLOR_RGB, COLOR_RGBA, decode_png, image_channels, image_height, image_pixels, image_width, write_png } from "./lib/png";

/** Digits a width may have. */
const WIDTH_DIGITS_MAX: i32 = 9;

/** The width in the arguments, or -1 if they are not 1 to 9 decimal digits. */
function parse_width(): i32 {
  const args = read_args();
  const len = read_len;
  if (len == 0 || len > WIDTH_DIGITS_MAX) return -1;
  let value = 0;
  for (let i = 0; i < len; i++) {
    const c = <i32>load<u8>(args + <usize>i);
    if (c < 48 || c > 57) return -1;
    value = value * 10 + (c - 48);
  }
  return value;
}

/** Writes the `n + 1` box edges `i * size / n` for i in 0..=n as u32 at `edges`. */
function box_edges(edges: usize, size: i32, n: i32): void {
  for (let i = 0; i <= n; i++) {
    store<u32>(edges + (<usize>i << 2), <u32>((<u64>i * <u64>size) / <u64>n));
  }
}

export function transform(): i32 {
  if (input_count() != 1) return ERR_INPUT_COUNT;
  const tw = parse_width();
  if (tw < 1) return ERR_ARGS;
  const png = read_input(0);
  const status = decode_png(png, read_len);
  if (status != OK) return status;
  const w = image_width;
  const h = image_height;
  const ch = image_channels;
  if (tw > w) return ERR_ARGS;
  let th = <i32>((<u64>h * <u64>tw * 2 + <u64>w) / (<u64>w * 2));
  if (th < 1) th = 1;
  const xs = alloc((tw + 1) * 4);
  const ys = alloc((th + 1) * 4);
  box_edges(xs, w, tw);
  box_edges(ys, h, th);
  const out = alloc(tw * th * ch);
  const stride = <usize>(w * ch);
  let dst = out;
  for (let y = 0; y < th; y++) {
    const y0 = <i32>load<u32>(ys + (<usize>y << 2));
    const y1 = <i32>load<u32>(ys + (<usize>(y + 1) << 2));
    for (let x = 0; x < tw; x++) {
      const x0 = <i32>load<u32>(xs + (<usize>x << 2));
      const x1 = <i32>load<u32>(xs + (<usize>(x + 1) << 2));
      const count = <u32>((x1 - x0) * (y1 - y0));
      for (let c = 0; c < ch; c++) {
        let sum: u32 = 0;
        for (let sy = y0; sy < y1; sy++) {
          let src = image_pixels + <usize>sy * stride + <usize>(x0 * ch + c);
          for (let sx = x0; sx < x1; sx++) {
            sum += <u32>load<u8>(src);
            src += <usize>ch;
          }
        }
        store<u8>(dst, <u8>((sum + count / 2) / count));
        dst++;
      }
    }
  }
  write_png(out, tw, th, ch == 4 ? COLOR_RGBA : COLOR_RGB, ch);
  return OK;
}
