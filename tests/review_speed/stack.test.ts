/**
 * Review of issue 9's headroom probe (`src/vmar/headroom.ts`: one frame of 208 arguments built
 * with `new Function`, instead of 16 frames of eight) and fast map paths near the JavaScript
 * stack's limit, after a warm-up for the optimising compiler, each in a child `deno run`
 * (stack_child.ts): every map is tried once per frame while unwinding from the limit.
 */

import assert from "node:assert/strict";
import { childJson, runDeno } from "../_support/mod.ts";

const CHILD = new URL("./stack_child.ts", import.meta.url);

async function run(mode: string): Promise<Record<string, unknown>> {
  return childJson(
    await runDeno(
      ["--v8-flags=--expose-gc", "--allow-ffi", "--allow-read"],
      CHILD,
      [mode],
      120_000,
    ),
    mode,
  );
}

Deno.test("root maps near the stack limit: tree and kernel agree", async () => {
  const r = await run("map");
  const counts = r.counts as Record<string, number>;
  assert.ok(counts.rangeError > 0 && counts.ok > 0, "the limit was met and maps landed");
  assert.equal(r.missing, 0, "every returned address is mapped");
  assert.equal(r.notInTree, 0, "nothing mapped in the kernel is missing from the tree");
  assert.equal(r.notInKernel, 0, "nothing in the tree is missing from the kernel");
});

Deno.test("sub-VMAR maps near the stack limit, then filled: no overlap, tree is true", async () => {
  const r = await run("sub");
  assert.equal(r.overlaps, 0);
  assert.equal(r.pages, r.PAGES, "every page mapped once");
  assert.deepEqual(r.problems, []);
});

// A map that throws near the limit (a `RangeError` after its `mmap`, most often V8 compiling
// again a function it had never run or had flushed, which needs far more stack than the
// headroom probe reserves) must leave nothing mapped: `insertMapping` gives the pages back
// when the record did not make it into the tree, and completes without the merge when it did.
Deno.test("a root map that throws RangeError leaves nothing mapped", async () => {
  assert.equal((await run("map")).untracked, 0);
});

// The same for `Mapping.allocate`: a `RangeError` after the map unmaps (mapping.ts), after the
// memfd closes it (`Vmo.create`), and `allocate` closes the VMO it made.
Deno.test("Mapping.allocate near the stack limit leaves no memfd or mapping behind", async () => {
  const r = await run("allocate");
  assert.ok((r.counts as Record<string, number>).rangeError > 0, "the limit was met");
  assert.equal(r.memfdsLeft, 0);
  assert.equal(r.mappingsLeft, 0);
  assert.equal(r.memfdsAfterGc, 0);
  assert.equal(r.mappingsAfterGc, 0);
});

// The headroom probe is built with `new Function`; a process run with
// `--disallow-code-generation-from-strings` must still import the library and map.
Deno.test("the library loads and maps without code generation from strings", async () => {
  const r: Record<string, unknown> = childJson(
    await runDeno(
      ["--v8-flags=--disallow-code-generation-from-strings", "--allow-ffi", "--allow-read"],
      CHILD,
      ["noeval"],
      120_000,
    ),
    "noeval",
  );
  assert.equal(r.evalRefused, true, "the flag took effect");
  assert.deepEqual(r.read, [7, 7]);
  assert.ok((r.counts as Record<string, number>).rangeError > 0, "the limit was met");
  assert.equal(r.untracked, 0);
});
