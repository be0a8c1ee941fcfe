/**
 * Run by tests/mapping/crash.test.ts in a child `deno run --allow-ffi`: calls every
 * `SharedBuffer`, slice, `Mapping` and `ImmutableMapping` method with hostile arguments, on
 * live, read-only, `PROT_NONE`, past-the-end and unmapped buffers. The process must survive
 * (a fault exits with 139). Prints one JSON line:
 *
 * - `calls`: how many calls were made;
 * - `nonZx`: calls with plain hostile values (wrong types, out-of-range numbers, typed arrays
 *   of other kinds, detached or shared buffers) that threw something other than a `ZxError`
 *   (docs/semantics.md §0: nothing else is thrown);
 * - `fakes`: outcomes of calls with objects that only pretend to be byte arrays (a prototype
 *   without a typed array, a Proxy, own `length`/`subarray` properties, a source whose
 *   elements are getters that protect or unmap the memory in the middle of the copy) and of
 *   methods called on the wrong `this`: only survival is required of those.
 *
 * @module
 */

import {
  ImmutableMapping,
  Mapping,
  PAGE_SIZE as P,
  SharedBuffer,
  SharedBufferSlice,
  SharedBufferSliceMut,
  statusName,
  Vmar,
  VmarFlags,
  Vmo,
  VmoOptions,
  ZxError,
} from "../../../mod.ts";

const R = VmarFlags.PERM_READ;
const RW = R | VmarFlags.PERM_WRITE;
const root = Vmar.root();

let calls = 0;
const nonZx: string[] = [];
const fakes: Record<string, string> = {};
const toClose: { close(): void }[] = [];

function outcome(fn: () => unknown): [string, boolean] {
  calls++;
  try {
    const result = fn();
    if (result instanceof Mapping || result instanceof ImmutableMapping) toClose.push(result);
    if (Array.isArray(result)) {
      for (const r of result) if (r instanceof Mapping || r instanceof Vmo) toClose.push(r);
    }
    return ["ok", true];
  } catch (error) {
    if (error instanceof ZxError) return [statusName(error.status), true];
    const e = error as Error;
    return [`${e?.name}: ${e?.message}`, false];
  }
}

function plain(name: string, fn: () => unknown): void {
  const [what, zx] = outcome(fn);
  if (!zx) nonZx.push(`${name} → ${what}`);
}

function fake(name: string, fn: () => unknown): void {
  fakes[name] = outcome(fn)[0];
}

function label(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "symbol") return "Symbol";
  if (typeof v === "function") return "function";
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (v === null) return "null";
  if (typeof v === "object") {
    if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as Uint8Array).length})`;
    return Object.getPrototypeOf(v) === null ? "Object.create(null)" : v.constructor.name;
  }
  return JSON.stringify(v) ?? String(v);
}

// ---------------------------------------------------------------------------------------------
// Hostile values

const NUMBERS: unknown[] = [
  -1,
  -0,
  0.5,
  NaN,
  Infinity,
  -Infinity,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 64,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  "0",
  "",
  null,
  undefined,
  true,
  {},
  [],
  [0],
  0n,
  -1n,
  2n ** 64n,
  Symbol("x"),
  () => 0,
  { valueOf: () => 0 },
  new Number(0),
  Object.create(null),
];

function detached(): Uint8Array {
  const a = new Uint8Array(16);
  a.buffer.transfer(0);
  return a;
}

function shrunk(): Uint8Array {
  const buffer = new ArrayBuffer(16, { maxByteLength: 64 });
  const a = new Uint8Array(buffer, 0, 16);
  buffer.resize(4);
  return a;
}

function tracking(): Uint8Array {
  const buffer = new ArrayBuffer(16, { maxByteLength: 64 });
  const a = new Uint8Array(buffer);
  buffer.resize(40);
  return a;
}

class Sub extends Uint8Array {}

function byteArgs(self: Uint8Array | null): unknown[] {
  return [
    null,
    undefined,
    0,
    "abcd",
    [1, 2, 3],
    { length: 4 },
    new ArrayBuffer(4),
    new DataView(new ArrayBuffer(4)),
    new Int8Array(4),
    new Uint8ClampedArray(4),
    new Uint16Array(4),
    new Float64Array(1),
    new BigInt64Array(1),
    new Uint8Array(0),
    new Uint8Array(1 << 22),
    detached(),
    shrunk(),
    tracking(),
    new Uint8Array(new SharedArrayBuffer(16)),
    new Sub(8),
    ...(self && self.length > 0 ? [self, self.subarray(1), self.subarray(3, 9)] : []),
  ];
}

// ---------------------------------------------------------------------------------------------
// The buffers

const vmo = Vmo.create(2 * P);
vmo.write(new Uint8Array(2 * P).fill(0x5a), 0);
const live = Mapping.createFromVmo(vmo, 2 * P, RW);
const ro = Mapping.createFromVmo(vmo, 2 * P, R);
const noneAddr = root.map(0, vmo, 0, 2 * P, RW);
const none = SharedBuffer.fromRange(root, noneAddr, 2 * P);
root.protect(noneAddr + P, P, 0);
const mixedAddr = root.map(0, vmo, 0, 2 * P, RW);
const mixed = SharedBuffer.fromRange(root, mixedAddr + 5, 2 * P - 10);
root.protect(mixedAddr + P, P, R);
const short = Vmo.create(P);
const pastEnd = Mapping.createFromVmo(short, 3 * P, RW);
const [dead, deadVmo] = Mapping.allocate(P);
dead.close();
const empty = ImmutableMapping.createFromVmo(Vmo.create(0));
const frozen = ImmutableMapping.createFromVmo(vmo, true);

const buffers: [string, SharedBufferSlice][] = [
  ["live", live],
  ["ro", ro],
  ["none", none],
  ["mixed", mixed],
  ["pastEnd", pastEnd],
  ["dead", dead],
  ["sliceMut", live.sliceMut(3, 50)],
  ["slice", live.slice(P - 7)],
  ["emptySlice", live.sliceMut(2 * P)],
  ["split", live.splitAtMut(P + 1)[1]],
  ["immutable", frozen],
  ["emptyImmutable", empty],
];

const READS = ["readU8", "readU16", "readU32", "readI32", "readU64", "readF32", "readF64"];
const WRITES = ["writeU8", "writeU16", "writeU32", "writeI32", "writeU64", "writeF32", "writeF64"];
const VALID_VALUE: Record<string, unknown> = {
  writeU8: 1,
  writeU16: 1,
  writeU32: 1,
  writeI32: -1,
  writeU64: 1n,
  writeF32: 1.5,
  writeF64: 2.5,
};

type AnyFn = (...args: unknown[]) => unknown;

for (const [name, buf] of buffers) {
  const b = buf as unknown as Record<string, AnyFn>;
  const has = (m: string) => typeof b[m] === "function";
  const call = (m: string, ...args: unknown[]) => () => b[m].apply(buf, args);
  let selfView: Uint8Array | null = null;
  if (buf instanceof SharedBufferSliceMut) {
    try {
      selfView = buf.bytes();
    } catch {
      selfView = null;
    }
  }
  for (const m of ["len", "acquireWrites", "releaseWrites", "bytes", "asPtrLen"]) {
    if (has(m)) plain(`${name}.${m}()`, call(m));
  }
  for (const v of NUMBERS) {
    const l = label(v);
    for (const m of ["readAt", "writeAt"]) {
      if (has(m)) plain(`${name}.${m}(${l}, bytes)`, call(m, v, new Uint8Array(8)));
    }
    for (const m of ["slice", "sliceMut", "int32View", "bigInt64View"]) {
      if (!has(m)) continue;
      plain(`${name}.${m}(${l})`, call(m, v));
      plain(`${name}.${m}(0, ${l})`, call(m, 0, v));
      plain(`${name}.${m}(${l}, ${l})`, call(m, v, v));
    }
    for (const m of ["splitAt", "splitAtMut", ...READS]) {
      if (has(m)) plain(`${name}.${m}(${l})`, call(m, v));
    }
    for (const m of WRITES) {
      if (!has(m)) continue;
      plain(`${name}.${m}(${l}, valid)`, call(m, v, VALID_VALUE[m]));
      plain(`${name}.${m}(0, ${l})`, call(m, 0, v));
    }
  }
  for (const d of byteArgs(selfView)) {
    const l = label(d);
    for (const m of ["read", "write"]) if (has(m)) plain(`${name}.${m}(${l})`, call(m, d));
    for (const m of ["readAt", "writeAt"]) {
      if (!has(m)) continue;
      for (const off of [0, 1, P - 3, P, 2 * P - 1, 2 * P]) {
        plain(`${name}.${m}(${off}, ${l})`, call(m, off, d));
      }
    }
  }
  // Every offset around the page boundaries and the ends, every typed access.
  for (const off of [0, 1, P - 9, P - 4, P - 1, P, P + 1, 2 * P - 8, 2 * P - 1, 2 * P, 3 * P]) {
    for (const m of READS) if (has(m)) plain(`${name}.${m}(${off})`, call(m, off));
    for (const m of WRITES) if (has(m)) plain(`${name}.${m}(${off})`, call(m, off, VALID_VALUE[m]));
    for (const m of ["int32View", "bigInt64View"]) {
      if (has(m)) plain(`${name}.${m}(${off & ~7}, 1)`, call(m, off & ~7, 1));
    }
  }
}

// Static constructors with hostile arguments (sizes that are valid but large are left out:
// they would map gigabytes).
const SMALL = NUMBERS.filter((v) => !(typeof v === "number" && v >= 1 && Number.isInteger(v)));
for (const v of SMALL) {
  const l = label(v);
  plain(`fromRange(${l}, addr, 8)`, () => SharedBuffer.fromRange(v as Vmar, noneAddr, 8));
  plain(`fromRange(root, ${l}, 8)`, () => SharedBuffer.fromRange(root, v as number, 8));
  plain(`fromRange(root, addr, ${l})`, () => SharedBuffer.fromRange(root, noneAddr, v as number));
  plain(`Mapping.allocate(${l})`, () => Mapping.allocate(v as number));
  plain(`Mapping.allocateWithName(${l}, "n")`, () => Mapping.allocateWithName(v as number, "n"));
  plain(`Mapping.allocateWithName(4096, ${l})`, () => Mapping.allocateWithName(P, v as string));
  plain(`Mapping.createFromVmo(${l}, P, RW)`, () => Mapping.createFromVmo(v as Vmo, P, RW));
  plain(`Mapping.createFromVmo(vmo, ${l}, RW)`, () => Mapping.createFromVmo(vmo, v as number, RW));
  plain(`Mapping.createFromVmo(vmo, P, ${l})`, () => Mapping.createFromVmo(vmo, P, v as number));
  plain(`ImmutableMapping.createFromVmo(${l})`, () => ImmutableMapping.createFromVmo(v as Vmo));
}
for (const big of [2 ** 53 - 1, 2 ** 53, 2 ** 64, Number.MAX_VALUE, 2 ** 63]) {
  plain(`Mapping.allocate(${big})`, () => Mapping.allocate(big));
  plain(`fromRange(root, ${big}, 1)`, () => SharedBuffer.fromRange(root, big, 1));
  plain(`fromRange(root, addr, ${big})`, () => SharedBuffer.fromRange(root, noneAddr, big));
  plain(`createFromVmo(vmo, ${big}, RW)`, () => Mapping.createFromVmo(vmo, big, RW));
}
// Memory the library did not map: the JS heap, a typed array's own memory.
const own = new Uint8Array(4096);
const ownAddr = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(own)));
plain("fromRange(root, a JS buffer's address)", () => SharedBuffer.fromRange(root, ownAddr, 8));
plain("fromRange(root, 0, 0)", () => SharedBuffer.fromRange(root, 0, 0));
plain("fromRange(root, 4096, 8)", () => SharedBuffer.fromRange(root, 4096, 8));
plain("new SharedBuffer()", () => new (SharedBuffer as unknown as new () => unknown)());
plain(
  "new SharedBufferSlice(symbol, state)",
  () =>
    new (SharedBufferSlice as unknown as new (...a: unknown[]) => unknown)(Symbol("x"), {
      start: 0,
      len: 1 << 30,
    }),
);
plain("resizable VMO → createFromVmo", () => {
  using r = Vmo.create(P, VmoOptions.RESIZABLE);
  return Mapping.createFromVmo(r, P, RW);
});

// ---------------------------------------------------------------------------------------------
// Objects that only pretend to be byte arrays, and the wrong `this`

const notTyped = Object.create(Uint8Array.prototype);
const proxied = new Proxy(new Uint8Array(8), {});
const longLength = new Uint8Array(8);
Object.defineProperty(longLength, "length", { value: 1 << 30 });
const shortLength = new Uint8Array(64);
Object.defineProperty(shortLength, "length", { value: 2 });
for (
  const [l, d] of [
    ["Object.create(Uint8Array.prototype)", notTyped],
    ["Proxy(Uint8Array)", proxied],
    ["own length 2^30", longLength],
    ["own length 2", shortLength],
  ] as [string, Uint8Array][]
) {
  fake(`live.readAt(0, ${l})`, () => live.readAt(0, d));
  fake(`live.writeAt(0, ${l})`, () => live.writeAt(0, d));
  fake(`ro.readAt(0, ${l})`, () => ro.readAt(0, d));
  fake(`ro.writeAt(0, ${l})`, () => ro.writeAt(0, d));
  fake(`pastEnd.writeAt(P - 4, ${l})`, () => pastEnd.writeAt(P - 4, d));
}

/**
 * A source whose `subarray` hands back an array-like whose element getters take the memory
 * away (protect to read-only, or unmap) while `writeAt` is copying it in.
 */
function treacherous(takeAway: () => void): Uint8Array {
  const src = new Uint8Array(16);
  Object.defineProperty(src, "subarray", {
    value: () => {
      const like: Record<string, unknown> = { length: 8 };
      for (let i = 0; i < 8; i++) {
        Object.defineProperty(like, i, {
          get() {
            if (i === 1) takeAway();
            return 0xee;
          },
        });
      }
      return like;
    },
  });
  return src;
}
{
  const addr = root.map(0, vmo, 0, 2 * P, RW);
  const b = SharedBuffer.fromRange(root, addr, 2 * P);
  b.writeU8(0, 1); // the fast path's cached view now exists
  fake(
    "writeAt: source getters protect the memory read-only mid-copy",
    () => b.writeAt(2 * P - 8, treacherous(() => root.protect(addr, 2 * P, R))),
  );
  fake("  then a read of the last 8 bytes", () => b.readU64(2 * P - 8).toString(16));
  const addr2 = root.map(0, vmo, 0, 2 * P, RW);
  const b2 = SharedBuffer.fromRange(root, addr2, 2 * P);
  b2.writeU8(0, 1);
  fake(
    "writeAt: source getters unmap the memory mid-copy",
    () => b2.writeAt(2 * P - 8, treacherous(() => root.unmap(addr2, 2 * P))),
  );
}
for (const m of ["readAt", "len", "readU8", "slice", "bytes", "writeAt", "asPtrLen"]) {
  const fn = (SharedBuffer.prototype as unknown as Record<string, AnyFn>)[m];
  fake(`SharedBuffer.prototype.${m}.call({})`, () => fn.call({}, 0, new Uint8Array(1)));
  fake(`SharedBuffer.prototype.${m}.call(vmo)`, () => fn.call(vmo, 0, new Uint8Array(1)));
}
fake("Mapping.prototype.close.call({})", () => Mapping.prototype.close.call({} as Mapping));

for (const c of toClose) {
  try {
    c.close();
  } catch {
    // already closed
  }
}
deadVmo.close();

console.log(JSON.stringify({ calls, nonZx, fakes }));
