/**
 * Child of root_stack.test.ts (issue 8 §2): placements in the root VMAR under the main
 * thread's `[stack]`, then an ordinary deep recursion, which must end in a `RangeError` (V8's
 * own limit), not SIGSEGV (the stack cannot grow into a mapping, nor within the kernel's guard
 * gap of one). `Deno.args[0]` picks the attack:
 *
 * - `baseline`: recursion only (proves the recursion reaches V8's limit here).
 * - `upper-limit`: 300 root allocations with `OFFSET_IS_UPPER_LIMIT` at the top of the root,
 *   each 1/280 of the space above `[stack]` (so that the last ones go below it).
 * - `upper-limit-map`: the same with 300 maps of one VMO.
 * - `upper-limit-under`: 300 one-page allocations with the upper limit at the stack's start.
 * - `specific-map`: one `SPECIFIC` map at the page under `[stack]`.
 * - `specific-allocate`: one `SPECIFIC` allocate at the page under `[stack]`.
 * - `specific-growth`: one `SPECIFIC` map half-way down RLIMIT_STACK below `[stack]`.
 * - `overwrite-map`: one `SPECIFIC_OVERWRITE` map at the page under `[stack]`.
 *
 * The RESULT line lists every status seen, how many placements landed in the growth area
 * ([stack start - RLIMIT_STACK - guard gap, stack start)), and how the recursion ended.
 *
 * @module
 */

import { PAGE_SIZE as P, Vmar, VmarFlags, Vmo, ZxError } from "../../mod.ts";
import { report, stackLimit, stackMap } from "./_util.ts";

const attack = Deno.args[0];
const root = Vmar.root();
const { base, len } = root.info();
const stack = stackMap();
const limit = Math.min(stackLimit(), 1 << 30);
/** The kernel's default stack_guard_gap is 256 pages. */
const GUARD_GAP = 256 * P;
const growthStart = stack.start - limit - GUARD_GAP;
const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;

const statuses: Record<string, number> = {};
let inGrowthArea = 0;
let placed = 0;
/** The smallest distance from the end of a placement under the stack to the stack. */
let closestBelow = Infinity;
function note(addrOrError: number | unknown, size: number): void {
  if (typeof addrOrError === "number") {
    placed++;
    if (addrOrError < stack.start) {
      closestBelow = Math.min(closestBelow, stack.start - (addrOrError + size));
    }
    if (addrOrError < stack.start && addrOrError + size > growthStart) inGrowthArea++;
    return;
  }
  const key = addrOrError instanceof ZxError ? String(addrOrError.status) : String(addrOrError);
  statuses[key] = (statuses[key] ?? 0) + 1;
}
function attempt(size: number, fn: () => number): void {
  try {
    note(fn(), size);
  } catch (e) {
    note(e, size);
  }
}

const underStack = stack.start - P;
/** Whether the page under the stack is inside the root's range at all. */
const underStackInRoot = underStack >= base && underStack + P <= base + len;
const vmo = Vmo.create(64 * 1024);

// Sized so that about 280 of 300 placements fill the space between [stack] and the top of
// the root (several GiB, randomised), and the rest go on below the stack.
const fill = Math.ceil((base + len - stack.end) / 280 / P) * P;
const UPPER = VmarFlags.OFFSET_IS_UPPER_LIMIT;
const CAN_RW = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE;

if (attack === "upper-limit") {
  for (let i = 0; i < 300; i++) attempt(fill, () => root.allocate(len, fill, UPPER | CAN_RW)[1]);
} else if (attack === "upper-limit-map") {
  const big = Vmo.create(fill);
  for (let i = 0; i < 300; i++) attempt(fill, () => root.map(len, big, 0, fill, RW | UPPER));
} else if (attack === "upper-limit-under") {
  // The limit is the stack's own start: top-down placement lands right under it.
  for (let i = 0; i < 300; i++) {
    attempt(P, () => root.allocate(stack.start - base, P, UPPER | CAN_RW)[1]);
  }
} else if (attack === "specific-map") {
  attempt(P, () => root.map(underStack - base, vmo, 0, P, RW | VmarFlags.SPECIFIC));
} else if (attack === "overwrite-map") {
  attempt(P, () => root.map(underStack - base, vmo, 0, P, RW | VmarFlags.SPECIFIC_OVERWRITE));
} else if (attack === "specific-allocate") {
  attempt(
    P,
    () => root.allocate(underStack - base, P, VmarFlags.SPECIFIC | VmarFlags.CAN_MAP_READ)[1],
  );
} else if (attack === "specific-growth") {
  const at = stack.start - Math.floor(limit / 2 / P) * P;
  attempt(P, () => root.map(at - base, vmo, 0, P, RW | VmarFlags.SPECIFIC));
} else if (attack !== "baseline") {
  throw new Error(`unknown attack ${attack}`);
}

// An ordinary deep recursion: V8 stops it with a RangeError near ~1 MB of native stack.
let depth = 0;
function recurse(n: number): number {
  depth = Math.max(depth, n);
  return recurse(n + 1) + 1;
}
let recursion = "returned";
try {
  recurse(0);
} catch (e) {
  recursion = e instanceof RangeError ? "RangeError" : String(e);
}

report({
  attack,
  statuses,
  placed,
  inGrowthArea,
  closestBelow: closestBelow === Infinity ? null : closestBelow,
  underStackInRoot,
  recursion,
  depth,
  stack: [stack.start.toString(16), stack.end.toString(16)],
  root: [base.toString(16), (base + len).toString(16)],
  rlimit: limit,
});
