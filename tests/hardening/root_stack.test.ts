/**
 * Issue 8 §2: the root VMAR must never place or accept a mapping in the main thread's stack
 * growth area ([stack] start - RLIMIT_STACK - the kernel's 256-page guard gap, up to [stack]),
 * so that an ordinary deep recursion still ends in V8's `RangeError` instead of SIGSEGV. Each
 * attack runs in root_stack_child.ts; the parent asserts the child survived, the recursion
 * ended in a RangeError, nothing landed in the growth area, and explicit requests there failed
 * with the status below.
 *
 * Which status: the API contract says the root "never unmaps, protects or overwrites anything it did not
 * map, and a SPECIFIC request that would touch such memory fails with ALREADY_EXISTS"; the
 * growth area is the stack's, so a SPECIFIC (or SPECIFIC_OVERWRITE) map or allocate inside the
 * root's range there is ALREADY_EXISTS. If the fix instead shrinks the root so that it ends
 * below the growth area, the same request is out of the VMAR's bounds, which docs/semantics.md §2.3
 * step 9 makes INVALID_ARGS; the child reports which case holds (`underStackInRoot`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Status } from "../../mod.ts";
import { RUN_KNOWN_DEFECTS, runChild, survived } from "./_util.ts";

interface Case {
  attack: string;
  /** Whether the attack is a single explicit request that must be refused. */
  explicit: boolean;
  /** True while today's code still fails this attack. */
  KNOWN_DEFECT: boolean;
}

// Observed on main before the fix: upper-limit, upper-limit-under, specific-map, overwrite-map
// and specific-allocate die of SIGSEGV (139) in the recursion; upper-limit-map and
// specific-growth survive the recursion but place a mapping in the growth area.
const cases: Case[] = [
  { attack: "baseline", explicit: false, KNOWN_DEFECT: false },
  { attack: "upper-limit", explicit: false, KNOWN_DEFECT: false },
  { attack: "upper-limit-map", explicit: false, KNOWN_DEFECT: false },
  { attack: "upper-limit-under", explicit: false, KNOWN_DEFECT: false },
  { attack: "specific-map", explicit: true, KNOWN_DEFECT: false },
  { attack: "overwrite-map", explicit: true, KNOWN_DEFECT: false },
  { attack: "specific-allocate", explicit: true, KNOWN_DEFECT: false },
  { attack: "specific-growth", explicit: true, KNOWN_DEFECT: false },
];

for (const { attack, explicit, KNOWN_DEFECT } of cases) {
  Deno.test({
    name: `root placements near [stack]: ${attack} leaves recursion a RangeError`,
    ignore: KNOWN_DEFECT && !RUN_KNOWN_DEFECTS,
    async fn() {
      const r = survived(await runChild("root_stack_child.ts", [attack], ["--allow-ffi"]), attack);
      assert.equal(r.recursion, "RangeError", JSON.stringify(r));
      assert.equal(r.inGrowthArea, 0, `placed in the stack's growth area: ${JSON.stringify(r)}`);
      if (explicit) {
        const expected = r.underStackInRoot ? Status.ALREADY_EXISTS : Status.INVALID_ARGS;
        assert.equal(r.placed, 0, JSON.stringify(r));
        assert.deepEqual(r.statuses, { [String(expected)]: 1 }, JSON.stringify(r));
      } else if (attack !== "baseline") {
        // Non-specific placements may fail for lack of room (NO_RESOURCES) but nothing else;
        // an upper limit at the stack's start is out of bounds (INVALID_ARGS, docs/semantics.md §2.3
        // step 9) if the root no longer reaches the stack.
        const allowed = [String(Status.NO_RESOURCES)];
        if (attack === "upper-limit-under" && !r.underStackInRoot) {
          allowed.push(String(Status.INVALID_ARGS));
        }
        for (const key of Object.keys(r.statuses as object)) {
          assert.ok(allowed.includes(key), JSON.stringify(r));
        }
      }
    },
  });
}
