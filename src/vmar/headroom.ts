/**
 * Stack headroom before a system call whose result the region tree must record.
 *
 * A `RangeError` (the JavaScript stack nearly exhausted) can be thrown by any function call.
 * Thrown between a system call and the tree update that records it, it would leave the tree
 * and the kernel apart. So each change first calls {@linkcode ensureHeadroom}, which makes one
 * call with `WIDTH` arguments (as much stack as 16 frames of eight arguments, several times
 * what the record needs after the call); if the stack is too short it throws the `RangeError` there, before anything
 * changed.
 *
 * Why one wide frame rather than a deep recursion of narrow ones: the arguments are pushed on
 * the stack whatever the callee does with them, and the stack check at the callee's entry sees
 * them all, while each extra frame costs a call (16 frames of eight arguments took 0.2 to 0.3 µs
 * a probe; one frame of 208 arguments well under 0.1 µs). The callee calls itself in its body (never with
 * `n` 0, which the probe passes), so its bytecode is far too large for V8 to inline it into the
 * probe, which would drop the pushes.
 *
 * @module
 */

/** Arguments of the probe's frame: 8 bytes each on x86-64 and arm64. */
const WIDTH = 208;

const names = Array.from({ length: WIDTH }, (_, i) => `p${i}`);
/** `wide(n, p0, ..., p207)`: one frame of `WIDTH` arguments when called with `n` 0. */
const wide = new Function(
  `return function wide(n, ${names.join(", ")}) {
    return n === 0 ? p0 + p${WIDTH - 1} : wide(n - 1, ${[...names.slice(1), "p0"].join(", ")}) + 1;
  };`,
)() as (n: number, ...rest: number[]) => number;
const call = new Function(
  "wide",
  `return function probe() { return wide(0, ${names.map((_, i) => i & 7).join(", ")}); };`,
)(wide) as () => number;

/**
 * Throws `RangeError` now, before any change, unless the stack has room for the tree update
 * that follows a system call.
 */
export function ensureHeadroom(): void {
  call();
}
