/**
 * The warm-up of the region tree at load (see `headroom.ts`): the first call of a function
 * compiles it, and compiling near the JavaScript stack's limit throws `RangeError`, which must
 * not fall between a system call and its record in the tree. `mod.ts` of this folder imports
 * this file for its effect.
 *
 * @module
 */

import { PAGE_SIZE } from "../args.ts";
import { Vmo } from "../vmo/vmo.ts";
import { VmarFlags } from "./constants.ts";
import { SpanList } from "./span_list.ts";
import { Vmar } from "./vmar.ts";

const CAN_MAP_RW = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE;

/**
 * Runs the tree's paths once, at load, at a shallow depth: the first call of a function
 * compiles it, and compiling near the stack's limit throws `RangeError`. Compiled now, the
 * calls that record a system call cannot fail that way later (see `headroom.ts`).
 */
function warmUp(): void {
  const vmo = Vmo.create(4 * PAGE_SIZE);
  try {
    const rw = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
    const [sub, base] = Vmar.root().allocate(
      0,
      8 * PAGE_SIZE,
      CAN_MAP_RW | VmarFlags.CAN_MAP_SPECIFIC,
    );
    for (let i = 0; i < 4; i++) {
      sub.map(2 * i * PAGE_SIZE, vmo, 0, PAGE_SIZE, rw | VmarFlags.SPECIFIC);
    }
    sub.protect(base, PAGE_SIZE, VmarFlags.PERM_READ);
    sub.map(0, vmo, 0, PAGE_SIZE, rw | VmarFlags.SPECIFIC_OVERWRITE);
    sub.unmap(base + 2 * PAGE_SIZE, 3 * PAGE_SIZE);
    sub.unmap(base, 8 * PAGE_SIZE);
    // Merges with the left and the right neighbour (same VMO window, adjacent).
    const specific = rw | VmarFlags.SPECIFIC;
    sub.map(0, vmo, 0, PAGE_SIZE, specific);
    sub.map(PAGE_SIZE, vmo, PAGE_SIZE, PAGE_SIZE, specific);
    sub.map(5 * PAGE_SIZE, vmo, PAGE_SIZE, PAGE_SIZE, specific);
    sub.map(4 * PAGE_SIZE, vmo, 0, PAGE_SIZE, specific);
    sub.unmap(base, 8 * PAGE_SIZE);
    // Cuts (`cutMapping`): a hole in the middle, a left part and a right part, one call each
    // and through the general unmap; an overwrite inside one mapping.
    sub.map(0, vmo, 0, 4 * PAGE_SIZE, specific);
    sub.unmap(base + PAGE_SIZE, PAGE_SIZE);
    sub.unmap(base + 2 * PAGE_SIZE, PAGE_SIZE);
    sub.unmap(base, 8 * PAGE_SIZE);
    sub.map(0, vmo, 0, 4 * PAGE_SIZE, specific);
    sub.unmap(base + 3 * PAGE_SIZE, PAGE_SIZE);
    sub.map(PAGE_SIZE, vmo, 0, PAGE_SIZE, rw | VmarFlags.SPECIFIC_OVERWRITE);
    sub.map(4 * PAGE_SIZE, vmo, 0, 4 * PAGE_SIZE, specific);
    sub.unmap(base + 2 * PAGE_SIZE, 3 * PAGE_SIZE);
    sub.destroy();
    for (
      const [from, size] of [[PAGE_SIZE, PAGE_SIZE], [0, PAGE_SIZE], [3 * PAGE_SIZE, PAGE_SIZE]]
    ) {
      const at = Vmar.root().map(0, vmo, 0, 4 * PAGE_SIZE, rw);
      Vmar.root().unmap(at + from, size);
      Vmar.root().unmap(at, 4 * PAGE_SIZE);
    }
    const addr = Vmar.root().map(0, vmo, 0, PAGE_SIZE, rw);
    Vmar.root().protect(addr, PAGE_SIZE, VmarFlags.PERM_READ);
    Vmar.root().unmap(addr, PAGE_SIZE);
  } finally {
    vmo.close();
  }
}
/** The span list's rarer paths: a block that splits, blocks that empty, a gap search. */
function warmUpSpanList(): void {
  const list = new SpanList<{ base: number; size: number }>();
  for (let i = 0; i < 300; i++) list.insert({ base: 2 * i, size: 1 });
  list.findFree(0, 1000, 1, 1);
  for (const span of [...list]) list.remove(span);
}

warmUpSpanList();
warmUp();
