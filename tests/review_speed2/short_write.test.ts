/**
 * Second review of the short write (src/vmar/short_write.ts): `writeAt` over memory others can
 * cut copies into the library's own sealed memfd and `pread`s from it into the destination.
 * Every attack runs in short_write_child.ts, in a process of its own whose exit status is
 * asserted (139 SIGSEGV and 135 SIGBUS must never happen), against the files' bytes.
 */

import assert from "node:assert/strict";
import { Status } from "../../mod.ts";
import { childJson, runDeno } from "../_support/mod.ts";

const CHILD = new URL("./short_write_child.ts", import.meta.url);
const FLAGS = ["--allow-ffi", "--allow-read", "--allow-write"];

// deno-lint-ignore no-explicit-any
async function run(mode: string): Promise<Record<string, any>> {
  return childJson(await runDeno(FLAGS, CHILD, [mode], 60_000), mode);
}

Deno.test({
  // Found in review: the short write's memfd took a high number without telling the backing
  // table, so a VMO whose fd was closed outside vmo mapped that 16 KiB memfd under its 64 KiB
  // size (SIGBUS on page 5). The memfd now claims its number in the table (claimHighFd).
  name: "a VMO whose fd was closed outside vmo never maps the short write's memfd",
  async fn() {
    const r = await run("steal-vmo");
    assert.equal(r.closed, 0);
    assert.equal(r.map, Status.BAD_HANDLE, JSON.stringify(r));
  },
});

Deno.test({
  // Found in review: once the short write's memfd was closed outside vmo, the next Vmo.create
  // took its number and writeAt copied that VMO's bytes into the file. A VMO taking the number
  // now marks the memfd lost, and writes fall back to the general path.
  name:
    "writeAt after the short write's memfd was closed and its number reused never writes that file's bytes",
  async fn() {
    const r = await run("steal-source");
    assert.equal(r.closed, 0);
    assert.equal(r.otherTookNumber, true, "the attack needs the number reused");
    if (r.write === "ok:32") assert.deepEqual(r.bytes, new Array(32).fill(7));
    else assert.deepEqual(r.bytes, new Array(32).fill(0), "a refused write wrote nothing");
  },
});

for (const mode of ["cut", "cut-memfd"]) {
  Deno.test(`writeAt of 1 B to 16 KiB + 1 while a Worker cuts the ${mode} never faults`, async () => {
    const r = await run(mode);
    assert.ok(r.cuts > 100, `the worker cut ${r.cuts} times`);
    const outcomes = r.outcomes as Record<string, number>;
    assert.ok(outcomes.ok > 0, JSON.stringify(r));
    assert.ok((outcomes[Status.OUT_OF_RANGE] ?? 0) > 0, `never met a cut: ${JSON.stringify(r)}`);
    for (const key of Object.keys(outcomes)) {
      assert.ok(key === "ok" || key === String(Status.OUT_OF_RANGE), `outcome ${key}`);
    }
    assert.equal(r.after, "ok:1", "a write after the file is whole again");
  });
}

Deno.test("writeAt of 0, 16 KiB - 1, 16 KiB, 16 KiB + 1 bytes, across read-only and cut pages", async () => {
  const r = await run("limits");
  const sizes: [string, number][] = [["zero", 0], ["one", 1], ["maxLess", 16383], ["max", 16384]];
  for (const [name, len] of sizes) {
    assert.equal(r[name], `ok:${len}`, name);
    assert.equal(r[`${name}:bytes`], true, `${name}: the file has the bytes`);
  }
  assert.equal(r.maxMore, "ok:16385");
  assert.equal(r["maxMore:bytes"], true);
  assert.equal(r.acrossReadOnly, Status.ACCESS_DENIED);
  assert.equal(r.onReadOnly, Status.ACCESS_DENIED);
  assert.equal(r.readOnlyUnchanged, true, "a refused write wrote nothing");
  assert.equal(r.backToRw, "ok:8");
  assert.equal(r.acrossCut, Status.OUT_OF_RANGE);
  assert.equal(r.pastCut, Status.OUT_OF_RANGE);
  assert.equal(r.inCutPage, "ok:8", "the page the cut end is in is still whole");
  assert.equal(r.fileSize, 3 * 4096 + 100, "no write grew the file");
});

Deno.test("writeAt after part of the range is unmapped and remapped never lands in the new file", async () => {
  const r = await run("remap");
  assert.equal(r.first, "ok:1");
  assert.equal(r.remapAt, true, "the other file is at the same address");
  assert.equal(r.lateMiddle, Status.BAD_STATE);
  assert.equal(r.lateFirst, Status.BAD_STATE);
  assert.equal(r.bHas, 0);
  assert.equal(r.aPage1, 1);
  assert.equal(r.lateAfterAll, Status.BAD_STATE);
  assert.equal(r.bHasAfter, 0);
});

Deno.test("Workers and the main thread making short writes at once each write their bytes", async () => {
  const r = await run("workers");
  assert.equal(r.main, true);
  assert.equal(r.workers.length, 3);
  for (const w of r.workers) assert.equal(w.bad, 0, JSON.stringify(w));
});
