/**
 * Review of issue 9's changes to `Mapping` (the window's lease held strongly, MAP_RANGE
 * dropped from `allocate`, lazy watch sets): in a child with --expose-gc (gc_child.ts), the
 * garbage-collection backstop still unmaps 400 dropped mappings, keeps one whose view is
 * alive, and leaves alone memory mapped at a dropped mapping's address after someone else
 * unmapped it.
 */

import assert from "node:assert/strict";
import { childJson, runDeno } from "../_support/mod.ts";

Deno.test("the GC backstop unmaps dropped Mappings, and only their own memory", async () => {
  const r = childJson<Record<string, number | boolean>>(
    await runDeno(
      ["--v8-flags=--expose-gc", "--allow-ffi", "--allow-read"],
      new URL("./gc_child.ts", import.meta.url),
    ),
    "gc",
  );
  assert.equal(r.afterChurn as number - (r.before as number), 400, "400 mappings were live");
  assert.ok((r.afterGc as number) <= (r.before as number) + 2, `after gc: ${r.afterGc}`);
  assert.equal(r.keptAlive, true, "a live view keeps its mapping");
  assert.equal(r.viewGone, true, "the mapping went once its view was dropped");
  assert.equal(r.otherStillMapped, true, "the backstop did not unmap the new mapping");
});
