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
 * The probe covers depth, not compilation: V8 compiles a function at its first call (and again
 * after flushing the bytecode of one not run for a while), and compiling needs far more stack
 * than any probe here, so a `RangeError` can still come after a system call. `warm_up.ts` runs
 * the tree's paths once at load, and the changes catch what gets through: a map whose record
 * did not make it into the tree gives its pages back (`place.ts` `insertMapping`).
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

/** The wide probe, or the deep one where code generation from strings is disallowed. */
function makeProbe(): () => number {
  const names = Array.from({ length: WIDTH }, (_, i) => `p${i}`);
  try {
    /** `wide(n, p0, ..., p207)`: one frame of `WIDTH` arguments when called with `n` 0. */
    const wide = new Function(
      `return function wide(n, ${names.join(", ")}) {
        return n === 0 ? p0 + p${WIDTH - 1} : wide(n - 1, ${
        [...names.slice(1), "p0"].join(", ")
      }) + 1;
      };`,
    )() as (n: number, ...rest: number[]) => number;
    return new Function(
      "wide",
      `return function probe() { return wide(0, ${names.map((_, i) => i & 7).join(", ")}); };`,
    )(wide) as () => number;
  } catch {
    // `--disallow-code-generation-from-strings` (an `EvalError`): as much stack in frames of
    // eight arguments, at the cost of the calls.
    return deepProbe;
  }
}

/** Frames of eight arguments, each passing them on rotated so none can be dropped. */
function deep(
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
  return n === 0 ? a + h : deep(n - 1, b, c, d, e, f, g, h, a) + 1;
}

/** `WIDTH / 8` frames of {@linkcode deep}, plus their own words: more than the wide frame. */
function deepProbe(): number {
  return deep(WIDTH / 8, 0, 1, 2, 3, 4, 5, 6, 7);
}

const call = makeProbe();

/**
 * Throws `RangeError` now, before any change, unless the stack has room for the tree update
 * that follows a system call.
 */
export function ensureHeadroom(): void {
  call();
}
