/**
 * Stack headroom before a system call whose result the region tree must record.
 *
 * A `RangeError` (the JavaScript stack nearly exhausted) can be thrown by any function call.
 * Thrown between a system call and the tree update that records it, it would leave the tree
 * and the kernel apart. So each change first calls {@linkcode ensureHeadroom}, which descends
 * `DEPTH` frames of eight arguments each, several times the stack the record needs after the
 * call; if the stack is too short it throws the `RangeError` there, before anything changed.
 *
 * @module
 */

/** Frames of the probe: each holds eight arguments, so about 100 bytes or more. */
const DEPTH = 16;

function probe(
  n: number,
  a: number,
  b: number,
  c: number,
  d: number,
  e: number,
  f: number,
  g: number,
  h: number,
): number {
  // Not a tail call (`+ 1`), and the arguments rotate, so each frame stays on the stack.
  return n === 0 ? a + h : probe(n - 1, b, c, d, e, f, g, h, a) + 1;
}

/**
 * Throws `RangeError` now, before any change, unless the stack has room for the tree update
 * that follows a system call.
 */
export function ensureHeadroom(): void {
  probe(DEPTH, 0, 1, 2, 3, 4, 5, 6, 7);
}
