/**
 * Running a call near the JS stack's limit, for the tests that check a map, unmap or cut either
 * completes or leaves nothing (docs/semantics.md §2.1: the tree changes only after the system call
 * succeeded, and agrees with the kernel).
 *
 * @module
 */

import { ZxError } from "../../mod.ts";

/** How the calls made by {@linkcode atStackDepth} ended. */
export interface StackCounts {
  ok: number;
  rangeError: number;
  zxError: number;
}

/**
 * Recurses until `RangeError`, then runs `op` once, `back` frames above the deepest frame
 * reached (the same function's frames all the way: the depth is measured, not guessed), and
 * counts how it ended in `counts`; anything but a `RangeError` or `ZxError` is rethrown.
 */
export function atStackDepth(back: number, op: () => void, counts: StackCounts): void {
  let bottom = -1;
  function dive(n: number): void {
    try {
      dive(n + 1);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      if (bottom < 0) bottom = n;
    }
    if (bottom - n !== back) return;
    try {
      op();
      counts.ok++;
    } catch (e) {
      if (e instanceof RangeError) counts.rangeError++;
      else if (e instanceof ZxError) counts.zxError++;
      else throw e;
    }
  }
  dive(0);
}
