/**
 * Run by tests/mapping/crash.test.ts in a child `deno run --allow-ffi`: holds zero-copy views
 * (`bytes()`, `int32View`, `bigInt64View`, a slice's `bytes()`, and subarrays of them) over a
 * two-page buffer, then takes the memory away (the scenario in `Deno.args[0]`) in the middle of
 * a hot loop that reads and writes through every view, keeps going for millions of iterations,
 * and tries `Atomics` on the old views. A fault would kill the process (exit 139); otherwise it
 * prints one JSON line for the parent to check.
 *
 * Scenarios: unmap, unmap-partial, protect-ro, protect-none, destroy, overwrite, close.
 *
 * @module
 */

import {
  Mapping,
  PAGE_SIZE as P,
  SharedBuffer,
  type SharedBufferSliceMut,
  statusName,
  Vmar,
  VmarFlags,
  Vmo,
  ZxError,
} from "../../../mod.ts";

const scenario = Deno.args[0];
const N = Number(Deno.args[1] ?? 2_000_000);
const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const SPECIFIC = VmarFlags.SPECIFIC;
const CAN_RWS = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC;
const root = Vmar.root();

interface Setup {
  buf: SharedBufferSliceMut;
  /** The VMO whose memory the views showed, to check that nothing was written after the op. */
  vmo: Vmo;
  op: () => void;
  /** Statuses and facts after the op (called after the loops). */
  after: () => Record<string, unknown>;
}

function statusOf(fn: () => unknown): string {
  try {
    fn();
    return "ZX_OK";
  } catch (error) {
    if (error instanceof ZxError) return statusName(error.status);
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

function bufferStatuses(buf: SharedBufferSliceMut): Record<string, string> {
  return {
    readAt: statusOf(() => buf.readAt(0, new Uint8Array(8))),
    writeAt: statusOf(() => buf.writeAt(0, new Uint8Array(8))),
    bytes: statusOf(() => buf.bytes()),
  };
}

function setup(name: string): Setup {
  switch (name) {
    case "unmap":
    case "unmap-partial":
    case "protect-ro":
    case "protect-none": {
      const vmo = Vmo.create(2 * P);
      const addr = root.map(0, vmo, 0, 2 * P, RW);
      const buf = SharedBuffer.fromRange(root, addr, 2 * P);
      const ops: Record<string, () => void> = {
        "unmap": () => root.unmap(addr, 2 * P),
        "unmap-partial": () => root.unmap(addr + P, P),
        "protect-ro": () => root.protect(addr, 2 * P, VmarFlags.PERM_READ),
        "protect-none": () => root.protect(addr, 2 * P, 0),
      };
      return {
        buf,
        vmo,
        op: ops[name],
        after: () => bufferStatuses(buf),
      };
    }
    case "destroy": {
      const [vmar, base] = root.allocate(0, 4 * P, CAN_RWS);
      const vmo = Vmo.create(2 * P);
      vmar.map(P, vmo, 0, 2 * P, RW | SPECIFIC);
      const buf = SharedBuffer.fromRange(vmar, base + P, 2 * P);
      return { buf, vmo, op: () => vmar.destroy(), after: () => bufferStatuses(buf) };
    }
    case "overwrite": {
      const [vmar, base] = root.allocate(0, 4 * P, CAN_RWS);
      const vmo = Vmo.create(2 * P);
      const other = Vmo.create(2 * P);
      vmar.map(P, vmo, 0, 2 * P, RW | SPECIFIC);
      const buf = SharedBuffer.fromRange(vmar, base + P, 2 * P);
      return {
        buf,
        vmo,
        op: () => vmar.map(P, other, 0, 2 * P, RW | VmarFlags.SPECIFIC_OVERWRITE),
        after: () => ({
          ...bufferStatuses(buf),
          newMemoryUntouched: other.readToArray(0, 2 * P).every((b) => b === 0),
          newBufferWorks: statusOf(() => SharedBuffer.fromRange(vmar, base + P, 2 * P).bytes()),
        }),
      };
    }
    case "close": {
      const [m, vmo] = Mapping.allocate(2 * P);
      return { buf: m, vmo, op: () => m.close(), after: () => bufferStatuses(m) };
    }
  }
  throw new Error(`unknown scenario ${name}`);
}

interface Views {
  b: Uint8Array;
  bSub: Uint8Array;
  slice: Uint8Array;
  i32: Int32Array;
  i32Sub: Int32Array;
  i64: BigInt64Array;
  i64Sub: BigInt64Array;
}

function makeViews(buf: SharedBufferSliceMut): Views {
  const b = buf.bytes();
  const i32 = buf.int32View();
  const i64 = buf.bigInt64View();
  return {
    b,
    bSub: b.subarray(P - 64, P + 64),
    slice: buf.sliceMut(P / 2, P + P / 2).bytes(),
    i32,
    i32Sub: i32.subarray(P / 4 - 200, P / 4 + 800),
    i64,
    i64Sub: i64.subarray(P / 8 - 100, P / 8 + 200),
  };
}

/** Reads per iteration of `hammer` (each may be `undefined` once the views are detached). */
const READS_PER_ITERATION = 7;

/**
 * Writes and reads through every view, `n` times; calls `op` at iteration `mid` (before that
 * iteration's accesses). Returns how many reads gave `undefined` and a checksum of the rest.
 * Index masks are fixed from the live lengths, so detached views are indexed out of bounds.
 */
function hammer(v: Views, n: number, mid: number, op: () => void): [number, number] {
  const { b, bSub, slice, i32, i32Sub, i64, i64Sub } = v;
  let undef = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (i === mid) op();
    const k = (i * 31) & 8191;
    b[k] = i;
    const x0 = b[(k + 1) & 8191];
    bSub[i & 127] = i;
    const x1 = bSub[(i + 5) & 127];
    slice[i & 4095] = i;
    const x2 = slice[(i * 7) & 4095];
    i32[i & 2047] = i;
    const x3 = i32[(i + 9) & 2047];
    i32Sub[i & 511] = i;
    const x4 = i32Sub[(i + 1) & 511];
    if ((i & 15) === 0) i64[i & 1023] = (i & 16) === 0 ? 1n : -1n;
    const x5 = i64[(i + 3) & 1023];
    if ((i & 15) === 8) i64Sub[i & 255] = -1n;
    const x6 = i64Sub[i & 255];
    if (x0 === undefined) undef++;
    else sum = (sum + x0) | 0;
    if (x1 === undefined) undef++;
    else sum = (sum + x1) | 0;
    if (x2 === undefined) undef++;
    else sum = (sum + x2) | 0;
    if (x3 === undefined) undef++;
    else sum = (sum + x3) | 0;
    if (x4 === undefined) undef++;
    else sum = (sum + x4) | 0;
    if (x5 === undefined) undef++;
    else if (x5 !== 0n) sum = (sum + 1) | 0;
    if (x6 === undefined) undef++;
    else if (x6 !== 0n) sum = (sum + 3) | 0;
  }
  return [undef, sum];
}

/** `Atomics` on every typed view, `n` times: how many calls threw, by error name. */
function atomics(v: Views, n: number): Record<string, number> {
  const thrown: Record<string, number> = {};
  const note = (error: unknown) => {
    const name = (error as Error).name;
    thrown[name] = (thrown[name] ?? 0) + 1;
  };
  for (let i = 0; i < n; i++) {
    try {
      Atomics.add(v.i32, i & 2047, 1);
    } catch (error) {
      note(error);
    }
    try {
      Atomics.store(v.i32Sub, i & 511, i);
    } catch (error) {
      note(error);
    }
    try {
      Atomics.compareExchange(v.i64, i & 1023, 0n, 1n);
    } catch (error) {
      note(error);
    }
    try {
      Atomics.load(v.i64Sub, i & 255);
    } catch (error) {
      note(error);
    }
  }
  return thrown;
}

const s = setup(scenario);
const views = makeViews(s.buf);
const liveLengths = Object.values(views).map((a) => a.length);
const noop = () => {};

// 1. Warm up: everything live, the loop gets optimized.
const [warmUndef] = hammer(views, N, -1, noop);
const warmAtomics = atomics(views, 10_000);

// 2. The memory goes away in the middle of the (optimized) loop.
let snapshot = new Uint8Array(0);
const mid = N >> 1;
const [midUndef] = hammer(views, N, mid, () => {
  s.op();
  snapshot = s.vmo.readToArray(0, P);
});

// 3. Keep hammering the detached views, then Atomics on them.
const [postUndef, postSum] = hammer(views, N, -1, noop);
const postAtomics = atomics(views, 20_000);

// 4. Nothing was written after the op: the VMO's first page is as it was.
const now = s.vmo.readToArray(0, P);
let unchanged = now.length === snapshot.length;
for (let i = 0; unchanged && i < now.length; i++) unchanged = now[i] === snapshot[i];

console.log(JSON.stringify({
  scenario,
  n: N,
  readsPerIteration: READS_PER_ITERATION,
  liveLengths,
  lengths: Object.values(views).map((a) => a.length),
  byteLengths: Object.values(views).map((a) => a.byteLength),
  warmUndef,
  warmAtomics,
  midUndef,
  expectedMidUndef: READS_PER_ITERATION * (N - mid),
  postUndef,
  expectedPostUndef: READS_PER_ITERATION * N,
  postSum,
  postAtomics,
  vmoUnchangedSinceOp: unchanged,
  ...s.after(),
}));
