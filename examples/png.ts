/**
 * A PNG encoder with no dependency: 8-bit RGB or RGBA, one IDAT chunk compressed by the
 * runtime's `CompressionStream("deflate")` (which writes the zlib format PNG asks for), every
 * scanline with filter type 0 (None), chunk CRCs computed here.
 *
 * Run as a program it writes a small test image:
 * `deno run --allow-write examples/png.ts gradient.png`.
 *
 * @module
 */

/** An image as rows of pixels, top to bottom, each pixel `channels` bytes (R, G, B[, A]). */
export interface RgbImage {
  width: number;
  height: number;
  /** 3 for RGB, 4 for RGBA. */
  channels: 3 | 4;
  /** `width * height * channels` bytes. */
  pixels: Uint8Array;
}

/** The 8 bytes every PNG file starts with. */
export const PNG_SIGNATURE: Uint8Array<ArrayBuffer> = Uint8Array.from(
  [137, 80, 78, 71, 13, 10, 26, 10],
);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC-32 (ISO 3309, as PNG and zlib use it) of `bytes`.
 *
 * @example
 * ```ts
 * import { crc32 } from "./png.ts";
 * crc32(new TextEncoder().encode("IEND")); // 0xae426082
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A chunk: length, type, data, and the CRC of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function deflate(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * `image` as the bytes of a PNG file. Throws `RangeError` for a size that is not a positive
 * integer up to 2^31 - 1, a `channels` other than 3 or 4, or pixels of the wrong length.
 *
 * @example
 * ```ts
 * import { encodePng } from "./png.ts";
 * const red = new Uint8Array([255, 0, 0]);
 * const png = await encodePng({ width: 1, height: 1, channels: 3, pixels: red });
 * await Deno.writeFile("red.png", png);
 * ```
 */
export async function encodePng(image: RgbImage): Promise<Uint8Array<ArrayBuffer>> {
  const { width, height, channels, pixels } = image;
  for (const [name, value] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 0x7fffffff) {
      throw new RangeError(`${name} must be an integer from 1 to 2^31 - 1, not ${value}`);
    }
  }
  if (channels !== 3 && channels !== 4) {
    throw new RangeError(`channels must be 3 (RGB) or 4 (RGBA), not ${channels}`);
  }
  const stride = width * channels;
  if (!(pixels instanceof Uint8Array) || pixels.length !== stride * height) {
    throw new RangeError(
      `pixels must be ${stride * height} bytes (${width} x ${height} x ${channels})`,
    );
  }

  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bits per channel
  header[9] = channels === 3 ? 2 : 6; // colour type: truecolour, or truecolour with alpha
  // Compression 0 (deflate), filter method 0, interlace 0 (none): the zero bytes left.

  // Each scanline is a filter-type byte (0: None) followed by its pixels.
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }

  const parts = [
    PNG_SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", await deflate(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

if (import.meta.main) {
  const path = Deno.args[0];
  if (path === undefined) {
    console.error("usage: deno run --allow-write examples/png.ts OUT.png");
    Deno.exit(2);
  }
  const width = 256;
  const height = 128;
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      pixels.set([x, y * 2, 255 - x], (y * width + x) * 3);
    }
  }
  const png = await encodePng({ width, height, channels: 3, pixels });
  await Deno.writeFile(path, png);
  console.log(`wrote ${path}: ${width} x ${height} RGB, ${png.length} bytes`);
}
