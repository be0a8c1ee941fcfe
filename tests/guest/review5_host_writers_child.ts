/**
 * Run by tests/guest/review5_host_writers.test.ts in a child `deno run`: attacks on the host
 * writers (`HostSharedMemory.writeU8` … `writeF64`) once their fast path is optimized, one mode
 * per run (the first argument), reporting a JSON line (its last). A fault ends the child with
 * 139, which the tests assert against.
 *
 * Whatever the fast path's shape (it was written against one that stored at -1 on a failed
 * check and took the slow path in a `catch`), a refused write must write nothing, give the status
 * of the slow path, and run none of the caller's code.
 *
 * @module
 */

import {
  ExclusiveSharedMemory,
  type HostSharedMemory,
  Mapping,
  PAGE_SIZE,
  statusName,
  Vmar,
  VmarFlags,
  ZxError,
} from "../../mod.ts";
import { atStackDepth, type StackCounts } from "../_support/stack.ts";

const P = PAGE_SIZE;
const out: Record<string, unknown> = {};
/** How many times any code of the caller's ran (valueOf, toString, a Proxy trap…). */
let userCode = 0;

/** What `f` did: `ok`, a status name without its prefix, or `<ErrorClass>!`. */
function outcome(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (error) {
    if (error instanceof ZxError) return statusName(error.status).replace("ZX_ERR_", "");
    return `${(error as Error).name}!`;
  }
}

type Write = (offset: unknown, value: unknown) => void;

/** Each writer's size, a good value, and a caller written out once per writer (its own IC). */
function writers(host: HostSharedMemory): [string, number, unknown, Write][] {
  // deno-lint-ignore no-explicit-any
  const h = host as any;
  return [
    ["U8", 1, 0xa5, (o, v) => h.writeU8(o, v)],
    ["I8", 1, -91, (o, v) => h.writeI8(o, v)],
    ["U16", 2, 0xa5b6, (o, v) => h.writeU16(o, v)],
    ["I16", 2, -23114, (o, v) => h.writeI16(o, v)],
    ["U32", 4, 0xa5b6c7d8, (o, v) => h.writeU32(o, v)],
    ["I32", 4, -1514748968, (o, v) => h.writeI32(o, v)],
    ["U64", 8, 0xa5b6c7d8e9fa0b1cn, (o, v) => h.writeU64(o, v)],
    ["I64", 8, -0x5a49382716059f4en, (o, v) => h.writeI64(o, v)],
    ["F32", 4, 1.5, (o, v) => h.writeF32(o, v)],
    ["F64", 8, -2.75, (o, v) => h.writeF64(o, v)],
  ];
}

/** Makes each writer's fast path hot (TurboFan) with good offsets and its good value. */
function warm(table: [string, number, unknown, Write][], size: number): void {
  for (const [, n, good, write] of table) {
    for (let i = 0; i < 40_000; i++) write((i * n) % (size - 8), good);
  }
}

/**
 * Objects that count every piece of their code that runs; those that would also act on the
 * memory (close a clone, protect it, take the lock) if ever run.
 */
export function hostileObjects(host: HostSharedMemory): [string, unknown][] {
  const count = () => {
    userCode++;
    return 8;
  };
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  const trapAll = new Proxy({}, {
    get() {
      userCode++;
      return count;
    },
    has() {
      userCode++;
      return true;
    },
    getPrototypeOf() {
      userCode++;
      return null;
    },
  });
  return [
    ["valueOf", { valueOf: count }],
    ["toString", { toString: count, valueOf: undefined }],
    ["toPrimitive", { [Symbol.toPrimitive]: count }],
    ["toPrimitiveGetter", {
      get [Symbol.toPrimitive]() {
        userCode++;
        return count;
      },
    }],
    ["bigintValueOf", { valueOf: () => (userCode++, 8n) }],
    ["closesClone", {
      valueOf() {
        userCode++;
        host.clone().close();
        return 8;
      },
    }],
    ["protects", {
      valueOf() {
        userCode++;
        Vmar.root().protect(host.baseAddr(), host.memSize(), VmarFlags.PERM_READ);
        return 8;
      },
    }],
    ["locks", {
      valueOf() {
        userCode++;
        host.withExclusivity(() => 0);
        return 8;
      },
    }],
    ["closesHost", {
      valueOf() {
        userCode++;
        host.close();
        return 8;
      },
    }],
    ["proxy", trapAll],
    ["revokedProxy", revocable.proxy],
    ["array", [8]],
    ["date", new Date(8)],
    ["boxedNumber", Object(8)],
    ["boxedBigint", Object(8n)],
    ["symbol", Symbol("8")],
    ["function", count],
  ];
}

/** Offsets to try (each with the writer's good value), by label. */
export function hostileOffsets(size: number, objects: [string, unknown][]): [string, unknown][] {
  return [
    ["0", 0],
    ["-0", -0],
    ["-1", -1],
    ["-8", -8],
    ["0.5", 0.5],
    ["8.000001", 8.000001],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["-Infinity", -Infinity],
    ["2**31", 2 ** 31],
    ["2**31-1", 2 ** 31 - 1],
    ["2**32-1", 2 ** 32 - 1],
    ["2**32", 2 ** 32],
    ["2**32+8", 2 ** 32 + 8],
    ["2**53-1", 2 ** 53 - 1],
    ["2**53", 2 ** 53],
    ["2**64", 2 ** 64],
    ["-(2**31)", -(2 ** 31)],
    ["size-1", size - 1],
    ["size-2", size - 2],
    ["size-4", size - 4],
    ["size-7", size - 7],
    ["size-8", size - 8],
    ["size", size],
    ["size+1", size + 1],
    ["string8", "8"],
    ["string-1", "-1"],
    ["emptyString", ""],
    ["bigint8", 8n],
    ["bigint-1", -1n],
    ["null", null],
    ["undefined", undefined],
    ["true", true],
    ["false", false],
    ...objects,
  ];
}

/** Values to try (each at offset 8), by label. */
export function hostileValues(objects: [string, unknown][]): [string, unknown][] {
  return [
    ["0", 0],
    ["-0", -0],
    ["1", 1],
    ["-1", -1],
    ["0.5", 0.5],
    ["-0.5", -0.5],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["-Infinity", -Infinity],
    ["127", 127],
    ["128", 128],
    ["-128", -128],
    ["-129", -129],
    ["255", 255],
    ["256", 256],
    ["32767", 32767],
    ["32768", 32768],
    ["-32768", -32768],
    ["-32769", -32769],
    ["65535", 65535],
    ["65536", 65536],
    ["2**31-1", 2 ** 31 - 1],
    ["2**31", 2 ** 31],
    ["-(2**31)", -(2 ** 31)],
    ["-(2**31)-1", -(2 ** 31) - 1],
    ["2**32-1", 2 ** 32 - 1],
    ["2**32", 2 ** 32],
    ["2**53", 2 ** 53],
    ["1e300", 1e300],
    ["5e-324", 5e-324],
    ["0n", 0n],
    ["1n", 1n],
    ["-1n", -1n],
    ["2n**63n-1n", 2n ** 63n - 1n],
    ["2n**63n", 2n ** 63n],
    ["-(2n**63n)", -(2n ** 63n)],
    ["-(2n**63n)-1n", -(2n ** 63n) - 1n],
    ["2n**64n-1n", 2n ** 64n - 1n],
    ["2n**64n", 2n ** 64n],
    ["string1", "1"],
    ["null", null],
    ["undefined", undefined],
    ["true", true],
    ...objects,
  ];
}

/** The bytes `value` is stored as by writer `name` (little-endian). */
function encode(name: string, value: unknown): Uint8Array {
  const b = new Uint8Array(8);
  const d = new DataView(b.buffer);
  // deno-lint-ignore no-explicit-any
  const v = value as any;
  switch (name) {
    case "U8":
      d.setUint8(0, v);
      return b.subarray(0, 1);
    case "I8":
      d.setInt8(0, v);
      return b.subarray(0, 1);
    case "U16":
      d.setUint16(0, v, true);
      return b.subarray(0, 2);
    case "I16":
      d.setInt16(0, v, true);
      return b.subarray(0, 2);
    case "U32":
      d.setUint32(0, v, true);
      return b.subarray(0, 4);
    case "I32":
      d.setInt32(0, v, true);
      return b.subarray(0, 4);
    case "U64":
      d.setBigUint64(0, v, true);
      return b;
    case "I64":
      d.setBigInt64(0, v, true);
      return b;
    case "F32":
      d.setFloat32(0, v, true);
      return b.subarray(0, 4);
    default:
      d.setFloat64(0, v, true);
      return b;
  }
}

/**
 * Every writer, hot, with every hostile offset and value, each tried three times between runs
 * of good writes (so the refusal happens in optimized code). The memory is seen through a
 * second mapping of `host.vmo()`: a refused write must change no byte, an accepted one exactly
 * its own bytes. The statuses go to the test, which compares them with the slow path's rules.
 */
function hostile(): void {
  const [host, guest] = ExclusiveSharedMemory.create(P).build();
  const size = host.memSize();
  const vmo = host.vmo();
  const other = Mapping.createFromVmo(vmo, size, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
  const seen = other.bytes();
  const table = writers(host);
  warm(table, size);
  const objects = hostileObjects(host);
  const statuses: Record<string, Record<string, string>> = {};
  const wrong: string[] = [];
  const before = new Uint8Array(size);
  const tryOne = (
    name: string,
    n: number,
    write: Write,
    offset: unknown,
    value: unknown,
    label: string,
  ) => {
    const results = new Set<string>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2000; i++) write(64 + (i % 8) * n, table.find((t) => t[0] === name)![2]);
      seen.fill(0x5a);
      before.set(seen);
      const got = outcome(() => write(offset, value));
      results.add(got);
      const changed: number[] = [];
      for (let i = 0; i < size; i++) if (seen[i] !== before[i]) changed.push(i);
      if (got === "ok") {
        const at = Number(offset);
        const want = encode(name, value);
        const bytes = Array.from(seen.subarray(at, at + n));
        if (
          changed.some((i) => i < at || i >= at + n) ||
          bytes.some((b, i) => b !== want[i])
        ) wrong.push(`${name} ${label}: accepted, wrote ${changed.length} bytes wrong`);
      } else if (changed.length !== 0) {
        wrong.push(`${name} ${label}: refused (${got}) but changed ${changed.length} bytes`);
      }
    }
    if (results.size !== 1) wrong.push(`${name} ${label}: differing results ${[...results]}`);
    return [...results].join("|");
  };
  for (const [name, n, good, write] of table) {
    const row: Record<string, string> = {};
    for (const [label, offset] of hostileOffsets(size, objects)) {
      row[`offset ${label}`] = tryOne(name, n, write, offset, good, `offset ${label}`);
    }
    for (const [label, value] of hostileValues(objects)) {
      row[`value ${label}`] = tryOne(name, n, write, 8, value, `value ${label}`);
      // A bad value and a bad offset together: the value is checked first.
      row[`value ${label} at size`] = tryOne(name, n, write, size, value, `value ${label} at size`);
      row[`value ${label} at -1`] = tryOne(name, n, write, -1, value, `value ${label} at -1`);
    }
    statuses[name] = row;
  }
  out.statuses = statuses;
  out.wrong = wrong;
  out.userCode = userCode;
  out.size = size;
  other.close();
  vmo.close();
  host.close();
  guest.close();
}

/**
 * Hot writers against every way the memory can stop being writable or usable: a clone closed,
 * the lock held (inside the callback and a nested call), the guest side closed, the buffer
 * protected through the root VMAR to read-only, to none and back, the layout unmapped through
 * the root, the host closed. Each step records each writer's status; the memory is checked
 * through a second mapping where it can be read.
 */
function races(): void {
  const [host, guest] = ExclusiveSharedMemory.create(2 * P).build();
  const size = host.memSize();
  const base = host.baseAddr();
  const vmo = host.vmo();
  const other = Mapping.createFromVmo(vmo, size, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
  const seen = other.bytes();
  const table = writers(host);
  warm(table, size);
  const steps: Record<string, Record<string, string>> = {};
  const unchanged: Record<string, boolean> = {};
  /** Each writer at offset 8 and at the last offset it fits (and one past it). */
  const all = (step: string, checkBytes = true) => {
    if (checkBytes) seen.fill(0x33);
    const row: Record<string, string> = {};
    for (const [name, n, good, write] of table) {
      row[name] = outcome(() => write(8, good));
      row[`${name} last`] = outcome(() => write(size - n, good));
      row[`${name} past`] = outcome(() => write(size - n + 1, good));
    }
    steps[step] = row;
    if (checkBytes) {
      const refusedAll = Object.values(row).every((s) => s !== "ok");
      if (refusedAll) unchanged[step] = seen.every((b) => b === 0x33);
    }
  };
  all("fresh");
  const clone = host.clone();
  const cloneTable = writers(clone);
  warm(cloneTable, size);
  clone.close();
  all("after a clone closed");
  steps["the closed clone"] = Object.fromEntries(
    cloneTable.map(([name, , good, write]) => [name, outcome(() => write(8, good))]),
  );
  host.withExclusivity((ex) => {
    all("inside withExclusivity");
    ex.asMutSlice()[8] = 1; // the lent memory is writable, and the host's view parked
    steps["nested withExclusivity"] = {
      host: outcome(() => host.withExclusivity(() => all("inside nested"))),
      guest: outcome(() => guest.withExclusivity(() => 0)),
    };
  });
  all("after withExclusivity");
  const protect = (flags: number) => outcome(() => Vmar.root().protect(base, size, flags));
  // Write-only first: no view and no copy of the writer's bytes can be had.
  out.protects = [protect(VmarFlags.PERM_READ)];
  all("protected read-only");
  // Through the root a protection can only come down: raising it back is refused.
  (out.protects as string[]).push(protect(VmarFlags.PERM_READ | VmarFlags.PERM_WRITE));
  all("read-write refused");
  (out.protects as string[]).push(protect(0));
  all("protected none", false);
  (out.protects as string[]).push(protect(VmarFlags.PERM_READ));
  all("read-only refused", false);
  guest.close();
  all("guest closed");
  // Through the root, the memory and its guard pages (the whole sub-VMAR).
  out.unmap = outcome(() => Vmar.root().unmap(base - P, size + 2 * P));
  all("unmapped through the root", false);
  host.close();
  all("host closed", false);
  // Closed twice, the layout gone: still a status each.
  host.close();
  all("host closed twice", false);
  out.steps = steps;
  out.unchanged = unchanged;
  out.size = size;
  other.close();
  vmo.close();
}

/**
 * A hot writer called near the stack's limit, good and refused: a good write either happens
 * or throws the `RangeError` (never a status), a refused one either throws its status or the
 * `RangeError` (never writes).
 */
function stack(): void {
  const [host, guest] = ExclusiveSharedMemory.create(P).build();
  const size = host.memSize();
  const vmo = host.vmo();
  const other = Mapping.createFromVmo(vmo, size, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
  const seen = new DataView(other.bytes().buffer, other.bytes().byteOffset, size);
  const table = writers(host);
  warm(table, size);
  const result: Record<string, unknown> = {};
  for (const [name, n, good, write] of table) {
    const goodCounts: StackCounts = { ok: 0, rangeError: 0, zxError: 0 };
    const badCounts: StackCounts = { ok: 0, rangeError: 0, zxError: 0 };
    let badWrote = 0;
    for (let back = 0; back < 600; back += 3) {
      atStackDepth(back, () => write(16, good), goodCounts);
      seen.setBigUint64(size - 8, 0x5a5a5a5a5a5a5a5an, true);
      atStackDepth(back, () => write(size - n + 1, good), badCounts);
      if (seen.getBigUint64(size - 8, true) !== 0x5a5a5a5a5a5a5a5an) badWrote++;
    }
    result[name] = { good: goodCounts, bad: badCounts, badWrote };
  }
  out.stack = result;
  other.close();
  vmo.close();
  host.close();
  guest.close();
}

/** A size that is no page multiple: the view and the checks agree on the recorded size. */
function oddSize(): void {
  const [host, guest] = ExclusiveSharedMemory.create(100).build();
  const size = host.memSize();
  const table = writers(host);
  warm(table, size);
  const row: Record<string, string> = {};
  for (const [name, n, good, write] of table) {
    row[`${name} last`] = outcome(() => write(size - n, good));
    row[`${name} past`] = outcome(() => write(size - n + 1, good));
    row[`${name} at size`] = outcome(() => write(size, good));
  }
  out.size = size;
  out.oddSize = row;
  host.close();
  guest.close();
}

if (import.meta.main) {
  const modes: Record<string, () => void> = { hostile, races, stack, oddSize };
  const mode = Deno.args[0];
  if (!(mode in modes)) throw new Error(`unknown mode ${mode}`);
  modes[mode]();
  console.log(JSON.stringify(out));
}
