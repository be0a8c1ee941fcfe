/**
 * What an exit costs a checked 64-bit store inlined into its caller's loop, in this V8: the
 * measurements behind the host writers' shape (tools/gen_accessors.ts `valueGuard`,
 * docs/guest.md "Speed"). Each shape stores through a `DataView` over a plain buffer after the
 * checks a host writer makes (the offset an integer inside the view, the value a bigint in
 * `[0, 2^64)`), and differs only in where a failed check goes:
 *
 * - `inline`: the checks written in the loop itself, a `throw` there;
 * - `branch`: a method whose failure branch calls the slow path (the shape vmo uses);
 * - `boolean`: a method that returns false, the loop throwing;
 * - `minus-one`: a method with no branch: a failed check stores at offset -1, where the view's
 *   own check throws into a `catch` that calls the slow path.
 *
 * The shapes run interleaved beside the bare store (medians of ns per write after warm-up);
 * then one write is refused in each method's loop, and the loops are timed again: the
 * `minus-one` store is never inlined again after it went out of bounds once.
 *
 * Run: `deno run tools/inlined_exit.ts [rounds]`
 *
 * @module
 */

const ROUNDS = Number(Deno.args[0] ?? 9);
const N = 2_000_000;
const buffer = new ArrayBuffer(4096);
const bare = new DataView(buffer);
const VALUES = Array.from({ length: 64 }, (_, k) => BigInt(k) * 0x0101_0101_0101n);

/** Where a writer keeps its view: a field, as a host's state does. */
class State {
  u8 = new Uint8Array(buffer);
  data = new DataView(buffer);
}
const state = new State();

function good(h: State, o: number, v: bigint): boolean {
  return typeof o === "number" && o === o >>> 0 && o + 8 <= h.u8.length &&
    typeof v === "bigint" && BigInt.asUintN(64, v) === v;
}

function slowPath(h: State, o: number, v: bigint): void {
  if (!good(h, o, v)) throw new RangeError(`refused: ${o}`);
  h.data.setBigUint64(o, v, true);
}

function branch(h: State, o: number, v: bigint): void {
  if (good(h, o, v)) {
    h.data.setBigUint64(o, v, true);
    return;
  }
  slowPath(h, o, v);
}

function boolean(h: State, o: number, v: bigint): boolean {
  if (!good(h, o, v)) return false;
  h.data.setBigUint64(o, v, true);
  return true;
}

function minusOne(h: State, o: number, v: bigint): void {
  const ok = good(h, o, v);
  try {
    h.data.setBigUint64(ok ? o : -1, v, true);
  } catch {
    slowPath(h, o, v);
  }
}

/** The offset of write `i`; `bad` is the one write to refuse (-1: none). */
const at = (i: number, bad: number) => i === bad ? 4096 : (i & 63) << 3;

const loops: Record<string, (bad: number) => void> = {
  bare: () => {
    for (let i = 0; i < N; i++) bare.setBigUint64((i & 63) << 3, VALUES[i & 63], true);
  },
  inline: (bad) => {
    for (let i = 0; i < N; i++) {
      const o = at(i, bad);
      const v = VALUES[i & 63];
      const h = state;
      if (
        typeof o === "number" && o === o >>> 0 && o + 8 <= h.u8.length &&
        typeof v === "bigint" && BigInt.asUintN(64, v) === v
      ) h.data.setBigUint64(o, v, true);
      else throw new RangeError(`refused: ${o}`);
    }
  },
  branch: (bad) => {
    for (let i = 0; i < N; i++) branch(state, at(i, bad), VALUES[i & 63]);
  },
  boolean: (bad) => {
    for (let i = 0; i < N; i++) {
      if (!boolean(state, at(i, bad), VALUES[i & 63])) throw new RangeError("refused");
    }
  },
  "minus-one": (bad) => {
    for (let i = 0; i < N; i++) minusOne(state, at(i, bad), VALUES[i & 63]);
  },
};

function timeRounds(): Record<string, number> {
  const times: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS + 2; r++) {
    for (const [name, loop] of Object.entries(loops)) {
      const start = performance.now();
      loop(-1);
      if (r >= 2) (times[name] ??= []).push((performance.now() - start) * 1e6 / N);
    }
  }
  const medians: Record<string, number> = {};
  for (const [name, xs] of Object.entries(times)) {
    medians[name] = xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  }
  return medians;
}

const before = timeRounds();
for (const [name, loop] of Object.entries(loops)) {
  if (name === "bare") continue;
  try {
    loop(3);
  } catch {
    // The one refused write.
  }
}
const after = timeRounds();
console.log("shape        ns/write (x bare)   after one refused write");
for (const name of Object.keys(loops)) {
  const row = (m: Record<string, number>) =>
    `${m[name].toFixed(2)} (${(m[name] / m.bare).toFixed(2)}x)`;
  console.log(`${name.padEnd(12)} ${row(before).padEnd(19)} ${row(after)}`);
}
