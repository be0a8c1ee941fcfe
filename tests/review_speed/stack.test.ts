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

// DEFECT (pre-existing: the code before the speed merge shows it too, 5 to 15 per run). About
// one map in ten near the limit throws `RangeError` after its `mmap` succeeded: the mapping
// stays, in the tree and the kernel alike (no fault, the tree stays true, the tests above pass),
// but the caller never learns its address, so it can only go with its VMAR. The RangeErrors
// are thrown in src/vmar/region.ts `insertMapping` (at `vmar.children.find(merged.end)`, after
// the insert and the left merge) and inside src/vmar/span_list.ts `SpanList.insert` (after
// `insertAt`, at `innerGap`, before `#refresh`; before the merge, in `#rebuild`'s `Array.map`),
// which leaves the block's gap bookkeeping stale until the next change of that block. Root
// cause: `ensureHeadroom` (src/vmar/headroom.ts, WIDTH 208, and 16x8 before) reserves less
// stack than the post-syscall path `insertMapping` -> `SpanList.insert` -> `#rebuild` /
// `mergeInto` needs. Smallest fix: make the probe deeper than that path (measure it: run this
// child with a larger WIDTH until `untracked` is 0, then double it), or do the tree update's
// allocations (`new MappingRecord`, the span-list insert's room) before the `mmap` so that the
// code after it makes no call that can overflow.
Deno.test({
  name: "a root map that throws RangeError leaves nothing mapped",
  ignore: true,
  fn: async () => {
    assert.equal((await run("map")).untracked, 0);
  },
});

// DEFECT, same root cause as above, worse for `Mapping.allocate` (about 20 in 150 near the
// limit after the speed merge, about 8 before): the RangeError thrown in `insertMapping` after
// the `mmap` propagates out of `Mapping.createFromVmo` before the Mapping exists, so no
// garbage-collection backstop is registered; `allocate` closes the new VMO handle, but the
// mapping holds its memfd. Both stay until the process exits (the child counts them after
// ten `gc()` rounds). Fix: the one above (enough headroom, or no overflowable call after the
// syscall); as a backstop, `mapWindow` (src/mapping/mapping.ts) could catch a RangeError from
// `Vmar.map` and unmap what the tree holds at the address it was given, which it does not know
// today: `Vmar.map` would have to report the address of a mapping it made before failing.
Deno.test({
  name: "Mapping.allocate near the stack limit leaves no memfd or mapping behind",
  ignore: true,
  fn: async () => {
    const r = await run("allocate");
    assert.equal(r.memfdsAfterGc, 0);
    assert.equal(r.mappingsAfterGc, 0);
  },
});
