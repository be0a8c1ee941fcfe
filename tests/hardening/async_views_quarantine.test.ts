/**
 * Issue 8 §1, the fix's own angles: quarantine (src/vmar/quarantine.ts) seen from the kernel
 * and the API, and its end. Each case runs async_views_quarantine_child.ts with `--expose-gc`
 * (a late runtime operation is played by a raw pointer to the old address, which faults
 * unless zero pages are there) and checks:
 *
 * - unmap (sub-VMAR, root) and destroy under a kept view: zero pages (`rw-p`, private) in the
 *   range, not listed by `infoMaps`, `NOT_FOUND` to `readMemory`, `ALREADY_EXISTS` to a
 *   SPECIFIC map, skipped by first fit, the VMO untouched by the late write; once the view is
 *   collected, the range is reservation again (sub-VMAR) or free (root) and SPECIFIC works;
 * - protect to nothing under a kept view: the tree says 0 (`ACCESS_DENIED`) at once, the
 *   kernel keeps read-write until the view is collected (the late write lands in the VMO it
 *   was handed), then `---`;
 * - the same VMO window mapped again without an address reuses the quarantined range.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Status } from "../../mod.ts";
import { runChild, survived } from "./_util.ts";

const FLAGS = ["--allow-ffi", "--allow-read", "--v8-flags=--expose-gc"];

async function run(attack: string): Promise<Record<string, unknown>> {
  return survived(await runChild("async_views_quarantine_child.ts", [attack], FLAGS), attack);
}

for (const attack of ["sub", "root", "destroy"]) {
  Deno.test(`quarantine: ${attack} under a kept view gives zero pages until it is collected`, async () => {
    const r = await run(attack);
    assert.equal(r.viewLength, 0, "the view was detached");
    assert.equal(r.kernelAfterCut, "rw-p", JSON.stringify(r));
    assert.equal(r.listed, false, JSON.stringify(r));
    assert.equal(r.lateRead, 0, "a late read sees zeros");
    assert.equal(r.vmoIntact, true, "a late write lands nowhere");
    if (attack !== "destroy") {
      assert.equal(r.readMemory, Status.NOT_FOUND, JSON.stringify(r));
      assert.equal(r.specific, Status.ALREADY_EXISTS, JSON.stringify(r));
      assert.equal(r.specificAfterGc, 0, JSON.stringify(r));
    }
    if (attack === "sub") {
      assert.equal(r.firstFitOnIt, 0, JSON.stringify(r));
      assert.equal(r.firstFitPlaced, 7, "first fit used every other slot");
    }
    assert.equal(r.kernelAfterGc, attack === "sub" ? "---p" : "hole", JSON.stringify(r));
  });
}

Deno.test("quarantine: protect to nothing under a kept view reaches the kernel after it", async () => {
  const r = await run("protect");
  assert.equal(r.viewLength, 0);
  assert.equal(r.readMemory, Status.ACCESS_DENIED);
  assert.equal(r.treePerms, 0);
  assert.equal(r.kernelAfterCut, "rw-s", JSON.stringify(r));
  assert.equal(r.lateRead, 14, "the late read sees the VMO's bytes");
  assert.equal(r.vmoWritten, 0xee, "the late write lands in the VMO it was handed");
  assert.equal(r.kernelAfterGc, "---s", JSON.stringify(r));
  assert.equal(r.kernelAfterUp, "rw-s", JSON.stringify(r));
});

Deno.test("quarantine: the same VMO window mapped again reuses the range", async () => {
  const r = await run("reuse");
  assert.equal(r.sameAddress, true, JSON.stringify(r));
  assert.deepEqual(r.oldViews, [0, 0, 0]);
  assert.deepEqual(r.vmoBytes, [40, 41, 42]);
  assert.equal(r.kernelAfterCut, "rw-p", "the last unmap left zero pages");
});
