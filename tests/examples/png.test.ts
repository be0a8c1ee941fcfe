/**
 * examples/png.ts: the file structure (signature, IHDR, IDAT, IEND), every chunk's CRC, and the
 * pixels after `DecompressionStream("deflate")` and unfiltering, for fixed and random images;
 * the CRC against published check values; bad images refused; and, when python3 is present, the
 * file parsed by python's `zlib` and `struct` (an independent CRC and inflate).
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32, encodePng, PNG_SIGNATURE, type RgbImage } from "../../examples/png.ts";

interface Chunk {
  type: string;
  data: Uint8Array;
  crc: number;
}

/** The chunks after the signature, each with the CRC stored in the file. */
function chunks(png: Uint8Array): Chunk[] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Chunk[] = [];
  let at = 8;
  while (at < png.length) {
    const length = view.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    out.push({
      type,
      data: png.subarray(at + 8, at + 8 + length),
      crc: view.getUint32(at + 8 + length),
    });
    at += 12 + length;
  }
  assert.equal(at, png.length, "the last chunk ends the file");
  return out;
}

async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes.slice()]).stream().pipeThrough(
    new DecompressionStream("deflate"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Decodes what encodePng writes (filter type 0 only) and checks the structure on the way. */
async function decode(png: Uint8Array): Promise<RgbImage> {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const list = chunks(png);
  assert.deepEqual(list.map((c) => c.type), ["IHDR", "IDAT", "IEND"]);
  for (const c of list) {
    const typed = new Uint8Array(4 + c.data.length);
    typed.set(new TextEncoder().encode(c.type));
    typed.set(c.data, 4);
    assert.equal(c.crc, crc32(typed), `CRC of ${c.type}`);
  }
  const ihdr = new DataView(list[0].data.buffer, list[0].data.byteOffset, 13);
  assert.equal(list[0].data.length, 13);
  const [width, height] = [ihdr.getUint32(0), ihdr.getUint32(4)];
  const [depth, colour, compression, filter, interlace] = list[0].data.subarray(8);
  assert.deepEqual([depth, compression, filter, interlace], [8, 0, 0, 0]);
  assert.ok(colour === 2 || colour === 6, `colour type ${colour}`);
  const channels = colour === 2 ? 3 : 4;
  assert.equal(list[2].data.length, 0, "IEND is empty");
  const raw = await inflate(list[1].data);
  const stride = width * channels;
  assert.equal(raw.length, (stride + 1) * height);
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (stride + 1)], 0, `row ${y} filter type`);
    pixels.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { width, height, channels, pixels };
}

function gradient(width: number, height: number, channels: 3 | 4): RgbImage {
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + (i >> 8)) & 0xff;
  return { width, height, channels, pixels };
}

function python(): boolean {
  try {
    return new Deno.Command("python3", { args: ["-c", "import zlib, struct"] }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** Parses a PNG with python's struct and zlib; prints width, height, colour type, pixels hex. */
const PY_DECODE = `
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n", "signature"
at, chunks = 8, []
while at < len(data):
    (length,) = struct.unpack(">I", data[at:at + 4])
    kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
    (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
    assert zlib.crc32(kind + body) & 0xffffffff == crc, kind
    chunks.append((kind, body))
    at += 12 + length
assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"], chunks
w, h, depth, colour, comp, filt, inter = struct.unpack(">IIBBBBB", chunks[0][1])
raw = zlib.decompress(chunks[1][1])
stride = w * (3 if colour == 2 else 4)
assert all(raw[y * (stride + 1)] == 0 for y in range(h))
pixels = b"".join(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)] for y in range(h))
print(w, h, depth, colour, pixels.hex())
`;

/** Encodes a Mapping's bytes, closes the Mapping before awaiting, and compares the result. */
const MAPPING_CHILD = `
import { Mapping } from ${JSON.stringify(new URL("../../mod.ts", import.meta.url).href)};
import { encodePng } from ${JSON.stringify(new URL("../../examples/png.ts", import.meta.url).href)};
const [mapping, vmo] = Mapping.allocate(64 * 64 * 4);
vmo.close();
const view = mapping.bytes();
for (let i = 0; i < view.length; i++) view[i] = (i * 13) & 0xff;
const copy = view.slice();
const pending = encodePng({ width: 64, height: 64, channels: 4, pixels: view });
mapping.close();
const png = await pending;
const raw = new Uint8Array(
  await new Response(
    new Blob([png.subarray(33 + 8, png.length - 16)]).stream()
      .pipeThrough(new DecompressionStream("deflate")),
  ).arrayBuffer(),
);
const pixels = new Uint8Array(copy.length);
for (let y = 0; y < 64; y++) pixels.set(raw.subarray(y * 257 + 1, (y + 1) * 257), y * 256);
const same = pixels.every((b, i) => b === copy[i]);
console.log((same ? "same pixels" : "DIFFERENT pixels") + "; detached: " + view.length);
`;

Deno.test("examples/png.ts", async (t) => {
  await t.step("crc32 matches the published check values", () => {
    assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
    assert.equal(crc32(new TextEncoder().encode("IEND")), 0xae426082);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  await t.step("the signature constant is PNG's", () => {
    assert.deepEqual([...PNG_SIGNATURE], [137, 80, 78, 71, 13, 10, 26, 10]);
  });

  await t.step("RGB and RGBA images round-trip, chunks and CRCs check", async () => {
    for (const image of [gradient(1, 1, 3), gradient(37, 19, 3), gradient(64, 48, 4)]) {
      const back = await decode(await encodePng(image));
      assert.deepEqual(
        [back.width, back.height, back.channels],
        [image.width, image.height, image.channels],
      );
      assert.deepEqual(back.pixels, image.pixels);
    }
  });

  await t.step("the checks catch a flipped byte in any chunk", async () => {
    const png = await encodePng(gradient(8, 8, 3));
    for (const at of [10, 20, 40, png.length - 6]) {
      const broken = png.slice();
      broken[at] ^= 0x01;
      await assert.rejects(decode(broken), `byte ${at}`);
    }
  });

  await t.step("a large flat image compresses", async () => {
    const image = { width: 1024, height: 768, channels: 4 as const };
    const pixels = new Uint8Array(image.width * image.height * 4).fill(0x80);
    const png = await encodePng({ ...image, pixels });
    assert.ok(png.length < pixels.length / 50, `${png.length} bytes`);
    assert.deepEqual((await decode(png)).pixels, pixels);
  });

  await t.step("random images round-trip (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom<3 | 4>(3, 4),
        fc.integer(),
        async (width, height, channels, seed) => {
          const pixels = new Uint8Array(width * height * channels);
          let x = seed | 1;
          for (let i = 0; i < pixels.length; i++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            pixels[i] = x & 0xff;
          }
          const back = await decode(await encodePng({ width, height, channels, pixels }));
          assert.deepEqual(back.pixels, pixels);
        },
      ),
      { numRuns: 60 },
    );
  });

  await t.step("bad images are refused with RangeError", async () => {
    const ok = gradient(2, 2, 3);
    const bad: [Partial<RgbImage> & Record<string, unknown>, RegExp][] = [
      [{ width: 0 }, /width/],
      [{ width: 1.5 }, /width/],
      [{ height: -1 }, /height/],
      [{ height: NaN }, /height/],
      [{ width: 2 ** 31 }, /width/],
      [{ channels: 2 as 3 }, /channels/],
      [{ pixels: new Uint8Array(11) }, /12 bytes/],
      [{ pixels: [1, 2, 3] as unknown as Uint8Array }, /12 bytes/],
    ];
    for (const [change, message] of bad) {
      await assert.rejects(encodePng({ ...ok, ...change }), (error: unknown) => {
        assert.ok(error instanceof RangeError);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  await t.step("pixels viewed over a Mapping closed during the encode (child)", async () => {
    // encodePng copies the pixels before its first await: closing the mapping (which detaches
    // the view) while the compression runs changes nothing, and nothing can fault.
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/png_child.ts`, MAPPING_CHILD);
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-ffi", `${dir}/png_child.ts`],
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr);
      assert.equal(new TextDecoder().decode(output.stdout).trim(), "same pixels; detached: 0");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("detached or empty pixels are refused, not read", async () => {
    const buffer = new ArrayBuffer(12);
    const pixels = new Uint8Array(buffer);
    buffer.transfer(0);
    await assert.rejects(encodePng({ width: 2, height: 2, channels: 3, pixels }), RangeError);
  });

  await t.step("python3's zlib and struct read the file", async () => {
    if (!python()) {
      console.log("  skipped: python3 (with zlib) is not installed");
      return;
    }
    const dir = await Deno.makeTempDir();
    try {
      for (const image of [gradient(33, 17, 3), gradient(20, 9, 4)]) {
        const path = `${dir}/image.png`;
        await Deno.writeFile(path, await encodePng(image));
        const output = await new Deno.Command("python3", { args: ["-c", PY_DECODE, path] })
          .output();
        assert.ok(output.success, new TextDecoder().decode(output.stderr));
        const [w, h, depth, colour, hex] = new TextDecoder().decode(output.stdout).trim().split(
          " ",
        );
        assert.deepEqual(
          [Number(w), Number(h), Number(depth), Number(colour)],
          [image.width, image.height, 8, image.channels === 3 ? 2 : 6],
        );
        assert.equal(
          hex,
          Array.from(image.pixels, (b) => b.toString(16).padStart(2, "0")).join(""),
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
