/**
 * The demo (examples/host.ts with its guests, examples/guest.ts), run as `deno task demo` runs
 * it, with `--hostile`: exit 0 and nothing on stderr, every step's lines with the figures the
 * run gave, the PNG it wrote decoded and compared pixel by pixel with the same Mandelbrot
 * rendered here, the snapshot restored, and a hostile guest's garbage refused with statuses.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ROOT } from "../_support/mod.ts";
import { cleanLines, headerFlags, matchInOrder, runExample } from "./header.ts";
import { HEIGHT, palette, renderRow, VIEW, WIDTH } from "../../examples/job.ts";

const EXAMPLE = "examples/host.ts";

/** The RGBA pixels of a PNG that encodePng wrote (one IDAT, filter 0 on every row). */
async function pngPixels(
  png: Uint8Array,
): Promise<{ width: number; height: number; pixels: Uint8Array }> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  assert.equal(png[25], 6, "RGBA");
  const idatLength = view.getUint32(33);
  assert.equal(new TextDecoder().decode(png.subarray(37, 41)), "IDAT");
  const stream = new Blob([png.slice(41, 41 + idatLength)]).stream()
    .pipeThrough(new DecompressionStream("deflate"));
  const raw = new Uint8Array(await new Response(stream).arrayBuffer());
  const stride = width * 4;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (stride + 1)], 0);
    pixels.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { width, height, pixels };
}

Deno.test("examples/host.ts: the demo task runs it with its header's permissions", async () => {
  const flags = await headerFlags(EXAMPLE);
  const config = JSON.parse(await Deno.readTextFile(ROOT + "deno.json"));
  assert.equal(config.tasks.demo, `deno run ${flags.join(" ")} ${EXAMPLE}`);
  const cli = await Deno.readTextFile(ROOT + "cli.ts");
  assert.match(cli, new RegExp(`script: "${EXAMPLE}"`));
  assert.match(cli, new RegExp(`permissions: \\[${flags.map((f) => `"${f}"`).join(", ")}\\]`));
});

Deno.test("examples/host.ts --hostile: guests render, the host survives garbage", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vmo-host-test-" });
  try {
    const out = `${dir}/out.png`;
    const result = await runExample(EXAMPLE, ["--hostile", "--guests", "3", "--out", out], 180_000);
    const lines = cleanLines(result, EXAMPLE);
    const m = matchInOrder(lines, [
      /^GuestMemoryMmap: RAM 16 MiB at 0x0, framebuffer 1024x768 RGBA \(3 MiB\) at 0xe0000000; dirty tracking on$/,
      /^host loaded a palette at 0x10000 and a 1 MiB boot image at 0x100000: 257 pages dirty$/,
      /^control buffer: 4 KiB between guard pages at 0x[0-9a-f]+, .* that view now has length 0$/,
      /^spawned 3 guests .*, all started and mapped in [\d.]+ ms; .* the control VMO and 2 region VMOs \(0x0\+16 MiB, 0xe0000000\+3 MiB\)$/,
      /^all 3 guests done after [\d.]+ ms \((\d+) futex wake-ups seen\): [\d.]+ Mpixel\/s$/,
      /^ {2}guest 0 \(pid \d+\): rows 256, band 0xe0000000\+1 MiB in [\d.]+ ms \(writeSlice [\d.]+ ms: \d+ MiB\/s\); note "guest 0: rows 0-255"$/,
      /^ {2}guest 1 \(pid \d+\): rows 256, band 0xe0100000\+1 MiB in [\d.]+ ms \(writeSlice [\d.]+ ms: \d+ MiB\/s\); note "guest 1: rows 256-511"$/,
      /^ {2}guest 2 \(pid \d+\): rows 256, band 0xe0200000\+1 MiB in [\d.]+ ms \(writeSlice [\d.]+ ms: \d+ MiB\/s\); note "guest 2: rows 512-767"$/,
      /^copied 3 MiB out with readSlice in [\d.]+ ms \(\d+ MiB\/s\); PNG [\d.]+ KiB: (.*)$/,
      /^host's own bitmap since the render began: RAM 0 pages, framebuffer 0 pages$/,
      /^ {2}guest 0's bitmap: RAM 0 pages, framebuffer 256 pages \(0xe0000000\+256\)$/,
      /^ {2}guest 2's bitmap: RAM 0 pages, framebuffer 256 pages \(0xe0200000\+256\)$/,
      /768 of 768 framebuffer pages in all\)$/,
      /^root 0x[0-9a-f]+-0x[0-9a-f]+ /,
      /^snapshot of 16 MiB of RAM in [\d.]+ ms \(committed 16 MiB\); RAM sha256 ([0-9a-f]{12})…$/,
      /^guest 0 wrote random bytes over 64 pages of RAM: sha256 ([0-9a-f]{12})… \(changed\)$/,
      /^restored the \d+ dirty runs the guest reported in [\d.]+ ms: sha256 ([0-9a-f]{12})… \(the bytes are back\)$/,
      /^ {2}restoring all of RAM instead costs [\d.]+ ms/,
      /^== --hostile: guest 2 writes garbage/,
      /^(\d+) reads of guest-supplied values raced (\d+) garbage writes: (.*); the host carried on$/,
      /^the host still reads guest memory/,
      /^closed the channels: guests exited with 0, 0, 0; /,
    ]);
    assert.ok(Number(m[4][1]) >= 1, "the host saw at least one futex wake-up");
    assert.equal(m[8][1], out, "the PNG went where --out said");
    assert.equal(m[14][1], m[16][1], "the digest after the restore is the one before");
    assert.notEqual(m[14][1], m[15][1]);
    const maps = lines.join("\n");
    for (const name of ["guest-ram", "framebuffer", "control"]) {
      assert.match(maps, new RegExp(`rw- .* vmo "${name}" koid \\d+`), `${name} in formatMaps`);
    }
    const [, reads, writes, tally] = m[19];
    assert.ok(Number(reads) > 0 && Number(writes) > 0);
    assert.match(tally, /ZX_ERR_INVALID_ARGS \d+/);
    assert.match(tally, /ZX_ERR_OUT_OF_RANGE \d+/);
    assert.doesNotMatch(tally, /Error/, "every refusal is a ZxError status");
    assert.ok(lines.some((l) => /^ {2}band offset .*: ZX_ERR_\w+, skipped$/.test(l)));

    // The PNG holds the Mandelbrot the job describes, every pixel of it.
    const { width, height, pixels } = await pngPixels(await Deno.readFile(out));
    assert.deepEqual([width, height], [WIDTH, HEIGHT]);
    const colours = palette();
    const row = new Uint8Array(WIDTH * 4);
    const job = { width: WIDTH, height: HEIGHT, ...VIEW };
    let wrong = 0;
    for (let y = 0; y < HEIGHT; y++) {
      renderRow(job, y, colours, row);
      if (!row.every((b, i) => b === pixels[y * WIDTH * 4 + i])) wrong++;
    }
    assert.equal(wrong, 0, `${wrong} rows differ from the reference rendering`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
