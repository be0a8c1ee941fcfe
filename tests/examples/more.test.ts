/**
 * examples/ring/, examples/file.ts and examples/named/, each run as its header says (the
 * permissions it names, nothing more): exit 0, nothing on stderr, and the lines that show it did
 * what it claims, with the figures of the run. The ring's speed is printed, never asserted.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanLines, matchInOrder, runExample, startExample } from "./header.ts";

Deno.test("examples/ring/main.ts moves stamped 4 KiB messages through the ring and a socket", async () => {
  const result = await runExample("examples/ring/main.ts", ["--count", "5000", "--rounds", "2"]);
  const lines = cleanLines(result, "examples/ring/main.ts");
  const [, , , , , , ratio] = matchInOrder(lines, [
    /^producer pid \d+, consumer pid \d+: 5000 messages of 4096 B per run, ring of \d+ slots/,
    /^ {2}round 1 ring +[\d.]+ ms +\d+ MiB\/s +[\d.]+ M msg\/s, all 5000 stamps checked$/,
    /^ {2}round 1 ring-copy +[\d.]+ ms +\d+ MiB\/s +[\d.]+ M msg\/s, all 5000 stamps checked$/,
    /^ {2}round 1 socket +[\d.]+ ms +\d+ MiB\/s +[\d.]+ M msg\/s, all 5000 stamps checked$/,
    /^ {2}round 2 ring /,
    /^ {2}round 2 socket /,
    /^median: ring \d+ MiB\/s, ring-copy \d+ MiB\/s, Unix socket \d+ MiB\/s: the ring is ([\d.]+)x the socket, [\d.]+x copying out/,
  ]);
  console.log(`  ring/socket on this run: ${ratio[1]}x (printed, not asserted)`);
});

Deno.test("examples/file.ts creates, grows, edits and maps a file, and survives a truncate", async () => {
  const result = await runExample("examples/file.ts");
  const lines = cleanLines(result, "examples/file.ts");
  matchInOrder(lines, [
    /^created .*records\.bin: file 10000 B, VMO 12288 B \(whole pages\), stream size 10000 B$/,
    /^ {2}createNew again: ZX_ERR_ALREADY_EXISTS$/,
    /^ {2}setSize on a file VMO: ZX_ERR_UNAVAILABLE/,
    /^grown: file 1048576 B; the header still reads "vmo records v1"; at 512 KiB: "record 8192: far out"$/,
    /^edited record 2: Deno.readFile sees "record 2: quinces"$/,
    /^mapped 1048576 B at 0x[0-9a-f]+: readAt gives "record 3: written through the mapping"; bytes\(\) \(a zero-copy view\): ZX_ERR_NOT_SUPPORTED$/,
    /^truncated to 4 KiB by someone else: readAt at 512 KiB: ZX_ERR_OUT_OF_RANGE; at 0: ok \("vmo records v1"\), in [\d.]+ ms, no fault$/,
    /^unsafeBytes\(\): a 64 KiB view filled 4 KiB in place; the file reads "\.\.\.\."; after unmap the view has length 0$/,
    /^removed the temp directory$/,
  ]);
});

Deno.test("examples/named/: two programs exchange VMOs through listen/connect", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vmo-named-test-" });
  const path = `${dir}/vmo.sock`;
  const server = await startExample("examples/named/server.ts", [path]);
  try {
    // The server is ready once its socket exists.
    for (let i = 0; i < 600; i++) {
      try {
        await Deno.lstat(path);
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const client = await runExample("examples/named/client.ts", [path]);
    const [, greeting] = matchInOrder(cleanLines(client, "examples/named/client.ts"), [
      /^connected to .*; the server's VMO \(65536 B\) says:$/,
      /^ {2}"hello pid (\d+), from pid (\d+): this VMO is yours to read, not to write"$/,
      /^writing it: ZX_ERR_ACCESS_DENIED$/,
      /^sent back a VMO of my own$/,
    ]);
    const serverLines = cleanLines(await server.finish(30_000), "examples/named/server.ts");
    const [, connected, , answer] = matchInOrder(serverLines, [
      new RegExp(`^listening at ${path}$`),
      /^a client connected: pid (\d+), uid \d+$/,
      /^sent a read-only VMO of 65536 B \(koid \d+\)$/,
      /^the client sent back a VMO of 4096 B: "thanks, from pid (\d+)"$/,
      /^the notice is unchanged$/,
    ]);
    assert.equal(connected[1], greeting[1], "the server saw the client's pid (SO_PEERCRED)");
    assert.equal(answer[1], greeting[1]);
    assert.notEqual(greeting[1], greeting[2]);
  } finally {
    await server.finish(10_000);
    await Deno.remove(dir, { recursive: true });
  }
});
