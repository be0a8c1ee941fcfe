/**
 * Issue 8 §4: memory another process can cut. A RESIZABLE VMO's memfd is unsealed, so any
 * process of the same user (or this one, through /proc/self/fd/<n>) can truncate it. The
 * library must treat it as it treats regular files: copies bounce safely off the cut, and no
 * zero-copy view is given (`bytes()`, `int32View()`, `bigInt64View()` and slices' `bytes()`
 * throw `NOT_SUPPORTED`, as the `bytes()` docs already say for "a memfd whose size another
 * process can change", and as `Mapping.createFromVmo` already refuses resizable VMOs with
 * Zircon's REQUIRE_NON_RESIZABLE status). Each cut runs in cut_memory_child.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Mapping, PAGE_SIZE as P, Status, VmarFlags, Vmo, VmoOptions, ZxError } from "../../mod.ts";
import { RUN_KNOWN_DEFECTS, runChild, survived } from "./_util.ts";

const VIEWS = ["bytes", "int32View", "bigInt64View", "slice bytes", "later bytes"];

// Observed on main before the fix (flags now false): every cut kills the child with SIGBUS (135) at the first
// copying call after the cut (SharedBuffer.readAt), and all four views are given.
const cases = [
  { cut: "deno-open", flags: ["--allow-all"], KNOWN_DEFECT: false },
  { cut: "libc-open", flags: ["--allow-ffi", "--allow-read"], KNOWN_DEFECT: false },
  {
    cut: "other-process",
    flags: ["--allow-ffi", "--allow-read", "--allow-run=truncate"],
    KNOWN_DEFECT: false,
  },
  { cut: "shrink-half", flags: ["--allow-ffi", "--allow-read"], KNOWN_DEFECT: false },
  // The owner's own shrink is known to the tree: a later view of the cut pages is OUT_OF_RANGE.
  {
    cut: "set-size",
    flags: ["--allow-ffi", "--allow-read"],
    KNOWN_DEFECT: false,
    later: Status.OUT_OF_RANGE,
  },
];

for (const { cut, flags, KNOWN_DEFECT, later = Status.NOT_SUPPORTED } of cases) {
  Deno.test({
    name: `resizable VMO cut by ${cut}: no view given, copies bounce, no SIGBUS`,
    ignore: KNOWN_DEFECT && !RUN_KNOWN_DEFECTS,
    async fn() {
      const r = survived(await runChild("cut_memory_child.ts", [cut], flags), cut);
      const seen = r.seen as Record<string, string>;
      for (const view of VIEWS) {
        const want = view === "later bytes" ? later : Status.NOT_SUPPORTED;
        assert.equal(seen[view], String(want), `${view}: ${JSON.stringify(seen)}`);
      }
      assert.equal(r.viewsGiven, 0);
      for (const [call, outcome] of Object.entries(seen)) {
        assert.ok(!outcome.startsWith("not a ZxError"), `${call}: ${outcome}`);
      }
      assert.equal(r.viewsTouched, true);
      assert.equal(seen["big vmo.read"], "ok");
      assert.equal(seen["big vmo.read zeros"], "true");
      assert.equal(seen["big vmo.write"], "ok");
    },
  });
}

Deno.test("Mapping.createFromVmo refuses a resizable VMO (NOT_SUPPORTED)", () => {
  for (const options of [VmoOptions.RESIZABLE, VmoOptions.RESIZABLE | VmoOptions.DISCARDABLE]) {
    using vmo = Vmo.create(4 * P, options);
    assert.throws(
      () => Mapping.createFromVmo(vmo, 4 * P, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE),
      (e: unknown) => e instanceof ZxError && e.status === Status.NOT_SUPPORTED,
    );
  }
});
