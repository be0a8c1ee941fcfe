/**
 * Fourth review: the cut paths of commits 4e44e38/b464c69 (planCut, cutMapping in place,
 * abandonCut), attacked in review4_cut_child.ts; each child's exit status is asserted (139/135,
 * a memory fault, must never happen) and its report must list no problem.
 */

import assert from "node:assert/strict";
import { childJson, describeChild, runDeno } from "../_support/mod.ts";

const CHILD = new URL("./review4_cut_child.ts", import.meta.url);
const FLAGS = ["--v8-flags=--expose-gc", "--allow-ffi", "--allow-read", "--allow-write"];

async function clean(...args: string[]): Promise<void> {
  const r = childJson<{ problems: string[] }>(
    await runDeno(FLAGS, CHILD, args, 240_000),
    args.join(" "),
  );
  assert.deepEqual(r.problems, []);
}

Deno.test("random map/unmap/protect/overwrite/views in a sub-VMAR: tree, kernel, views and first fit agree", async () => {
  await clean("fuzz", "1", "sub", "40");
});

Deno.test("random map/unmap/protect/overwrite/views in the root: tree, kernel and views agree", async () => {
  await clean("fuzz", "1", "root", "40");
});

Deno.test("a middle cut under a SharedBuffer, views and a futex wait in the right part", async () => {
  await clean("lease");
});

// Near vm.max_map_count a cut's system call fails (NO_MEMORY) and must leave the tree as it
// was. V8 itself may then fail to map its own memory and abort (not a fault, not the
// library's): only a fault is an error then.
Deno.test("cuts and overwrites at the map-count limit: a failure leaves the tree as it was", async () => {
  const result = await runDeno(FLAGS, CHILD, ["mapcount"], 240_000);
  assert.ok(result.code !== 139 && result.code !== 135, describeChild(result));
  assert.ok(result.code === 0 || result.stderr.includes("Fatal"), describeChild(result));
  if (result.code === 0) {
    const lines = result.stdout.trim().split("\n");
    assert.deepEqual(JSON.parse(lines[lines.length - 1]).problems, []);
  }
});
