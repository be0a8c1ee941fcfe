/**
 * Third review of the map paths near the JavaScript stack's limit (commit 851d96d). Each
 * operation runs in review3_stack_child.ts at every frame from the limit up to 200 frames above
 * where it first completes, three passes, after a warm-up; then the root's tree is compared with
 * /proc/self/maps and fds, memfds and memfd mappings are counted once everything is closed. The
 * child's exit status is asserted (139/135 must never happen).
 */

import assert from "node:assert/strict";
import { childJson, runDeno } from "../_support/mod.ts";

const CHILD = new URL("./review3_stack_child.ts", import.meta.url);
const FLAGS = ["--v8-flags=--expose-gc", "--allow-ffi", "--allow-read", "--allow-write"];

// deno-lint-ignore no-explicit-any
async function run(...args: string[]): Promise<Record<string, any>> {
  return childJson(await runDeno(FLAGS, CHILD, args, 180_000), args.join(" "));
}

// deno-lint-ignore no-explicit-any
function clean(r: Record<string, any>): void {
  assert.ok(r.counts.ok > 0 && r.counts.rangeError > 0, JSON.stringify(r.counts));
  assert.equal(r.untrackedCount, 0, `kernel mappings the tree does not hold: ${r.untracked}`);
  assert.deepEqual(r.problems, []);
  assert.equal(r.after.untrackedCount, 0, `left after closing: ${r.after.untracked}`);
  assert.deepEqual(r.after.problems, []);
  // The protect path's first use opens one socket pair that it keeps (a lazy, one-time probe):
  // anything else left open is a leak.
  const left = (r.newFds as string[]).filter((f) => !f.includes("socket:"));
  assert.deepEqual(left, [], "fds left open");
  assert.equal(r.memfdsLeft, 0);
  assert.equal(r.mapsLeft, 0);
}

Deno.test("near the stack limit: root map then protect of part of it leaves tree and kernel agreeing", async () => {
  clean(await run("map-unmap-protect", "protect"));
});

// Found in this review: a partial unmap near the stack limit lost the remainder from the tree
// (a RangeError in `cutMapping` between its span-list remove and insert), leaving the page
// `[a, a + P)` mapped with no record, its VMO's memfd and fd leaked. A cut now changes the record
// in place and a middle cut's right-hand record is made before the system call.
Deno.test("near the stack limit: root map then unmap of its second page leaves tree and kernel agreeing", async () => {
  clean(await run("map-unmap-protect", "unmap"));
});

Deno.test("near the stack limit: map, protect and partial unmap together leave tree and kernel agreeing", async () => {
  clean(await run("map-unmap-protect", "both"));
});

Deno.test("near the stack limit: root map then unmap of its first page leaves tree and kernel agreeing", async () => {
  clean(await run("map-unmap-protect", "left"));
});

Deno.test("near the stack limit: root map then unmap of its middle page leaves tree and kernel agreeing", async () => {
  clean(await run("map-unmap-protect", "middle"));
});

Deno.test("near the stack limit: sub-VMAR allocations and maps never overlap and leave nothing", async () => {
  const r = await run("sub-allocate");
  clean(r);
  assert.equal(r.overlaps, 0);
  assert.ok(r.children > 500, `${r.children} children`);
});

Deno.test("near the stack limit: Vmo.create and Mapping.allocate leave no memfd once closed", async () => {
  clean(await run("create"));
});

Deno.test("near the stack limit: VMOs written into a channel and received leave nothing once closed", async () => {
  clean(await run("channel"));
});

Deno.test("near the stack limit: GuestMemoryMmap.fromRanges leaves nothing once closed", async () => {
  clean(await run("guest"));
});
