/**
 * Child of review3_guest.test.ts: attacks on `HostSharedMemory`'s typed accessors, whose fast
 * path tests only `offset + N <= h.u8.length` on a cached view that taking the lock empties
 * ("parks") in every host state of the layout. Each mode runs in a process of its own (a fault
 * exits 139/135) and prints a JSON report as its last line.
 *
 * - `lock-hot`: a host and its clones in a hot loop (V8-optimised) while the guest, the host or
 *   a clone takes the lock every few rounds: every accessor answers SHOULD_WAIT while held and
 *   the values written inside (through the lent memory) are read after.
 * - `close-inside`: the host, a clone and the guest closed inside `withExclusivity`, one host
 *   closed while a clone writes hot, GC in between.
 * - `bounds`: every accessor at size-N, size-N+1, -1, -0, 2^32, 2^53, 1.5, NaN, "8", null and
 *   objects whose valueOf closes the memory or takes the lock, after a hot warm-up.
 * - `root-cut`: the root VMAR's unmap/protect over the host's buffer after a hot warm-up: the
 *   accessors must refuse (a status), never touch the gone memory.
 * - `churn`: thousands of memories built, cloned, locked, closed or dropped, with GC; fds,
 *   memfds and memfd mappings come back to where they were.
 * - `foreign`: the guest's VMO mapped again (`GuestSharedMemory.map`) as another process would,
 *   its lock taken while the host loop runs hot (a separate lock: no SHOULD_WAIT there).
 */

import {
  ExclusiveSharedMemory,
  GuestSharedMemory,
  type HostSharedMemory,
  PAGE_SIZE as P,
  Status,
  Vmar,
  VmarFlags,
  ZxError,
} from "../../mod.ts";
import { countFds, countMemfdMappings, countMemfds } from "../_support/proc.ts";

const report: Record<string, unknown> = {};
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function status(fn: () => unknown): string | number {
  try {
    const r = fn();
    return typeof r === "bigint" ? `ok:${r}n` : `ok:${r}`;
  } catch (e) {
    if (e instanceof ZxError) return e.status;
    throw e;
  }
}

type Acc = {
  name: string;
  n: number;
  read: (h: HostSharedMemory, o: number) => unknown;
  write: (h: HostSharedMemory, o: number, v: unknown) => void;
  value: unknown;
};
const A = (name: string, n: number, value: unknown): Acc => ({
  name,
  n,
  // deno-lint-ignore no-explicit-any
  read: (h, o) => (h as any)[`read${name}`](o),
  // deno-lint-ignore no-explicit-any
  write: (h, o, v) => (h as any)[`write${name}`](o, v),
  value,
});
const ACCESSORS: Acc[] = [
  A("U8", 1, 200),
  A("U16", 2, 60000),
  A("U32", 4, 4000000000),
  A("U64", 8, 0xfedcba9876543210n),
  A("I8", 1, -100),
  A("I16", 2, -30000),
  A("I32", 4, -2000000000),
  A("I64", 8, -0x123456789abcdefn),
  A("F32", 4, 1.5),
  A("F64", 8, -2.25),
];

/** Every accessor of `h` once: the statuses (for "all SHOULD_WAIT" / "all BAD_STATE"). */
function allStatuses(h: HostSharedMemory, offset: number): (string | number)[] {
  const out: (string | number)[] = [];
  for (const a of ACCESSORS) {
    out.push(status(() => a.read(h, offset)));
    out.push(status(() => a.write(h, offset, a.value)));
  }
  out.push(status(() => h.copyToSlice(new Uint8Array(8), offset)));
  out.push(status(() => h.copyFromSlice(new Uint8Array(8), offset)));
  out.push(status(() => h.fill(1, offset, 8)));
  return out;
}

function hot(h: HostSharedMemory, rounds: number): number {
  let sum = 0;
  for (let i = 0; i < rounds; i++) {
    const o = (i * 8) & 4087;
    h.writeU32(o, i);
    sum += h.readU32(o) + h.readU8(o) + h.readU16(o) + h.readF64(o);
    h.writeU64(o, BigInt(i & 0xff));
    h.writeF64(o, i);
    h.writeI8(o, -1);
    sum += h.readI8(o);
  }
  return sum;
}

const mode = Deno.args[0];

if (mode === "lock-hot") {
  const [host, guest] = ExclusiveSharedMemory.create(4096).build();
  const clones = [host.clone(), host.clone()];
  const all = [host, ...clones];
  let wrong = 0;
  let heldOk = 0;
  const bad: unknown[] = [];
  for (let round = 0; round < 300; round++) {
    for (const h of all) hot(h, 1000);
    const lockers = [
      (f: () => void) => guest.withExclusivity(f),
      (f: () => void) => host.withExclusivity(f),
      (f: () => void) => clones[round % 2].withExclusivity(f),
    ];
    lockers[round % 3](
      (() => {
        // While held: every accessor of every host refuses; a nested lock too.
        for (const h of all) {
          for (const s of allStatuses(h, round % 4000)) {
            if (s === Status.SHOULD_WAIT) heldOk++;
            else if (bad.length < 5) bad.push(s);
          }
        }
        // A clone made while held is parked from the start.
        const late = host.clone();
        if (status(() => late.readU32(0)) !== Status.SHOULD_WAIT) bad.push("late clone");
        late.close();
        if (status(() => guest.withExclusivity(() => 0)) !== Status.SHOULD_WAIT) bad.push("nest");
        if (status(() => host.withExclusivity(() => 0)) !== Status.SHOULD_WAIT) bad.push("nest");
        // deno-lint-ignore no-explicit-any
      }) as any,
    );
    // The write made inside is read after by every host (the lent memory is the same).
    guest.withExclusivity((ex) => ex.copyFromSlice(new Uint8Array([round & 0xff, 1, 2, 3]), 64));
    for (const h of all) if (h.readU8(64) !== (round & 0xff)) wrong++;
    if (round % 50 === 0) gc();
  }
  // A lock whose fn throws releases it.
  status(() =>
    host.withExclusivity(() => {
      throw new ZxError(Status.INTERNAL, "thrown inside");
    })
  );
  report.afterThrow = status(() => host.readU8(64));
  report.wrong = wrong;
  report.heldOk = heldOk;
  report.bad = bad;
  for (const h of all) h.close();
  guest.close();
} else if (mode === "close-inside") {
  const results: Record<string, unknown> = {};
  {
    const [host, guest] = ExclusiveSharedMemory.create(8192).build();
    const clone = host.clone();
    hot(host, 100_000);
    hot(clone, 100_000);
    let slice: Uint8Array | null = null;
    results.inside = status(() =>
      guest.withExclusivity((ex) => {
        slice = ex.asMutSlice();
        slice[0] = 5;
        host.close();
        clone.close();
        guest.close();
        // Everything closed: the lent memory refuses, its old view is gone.
        results.exAfter = status(() => ex.asSlice().length);
        results.viewAfter = slice.length;
        return 0;
      })
    );
    results.sliceAfter = (slice as Uint8Array | null)?.length;
    results.host = allStatuses(host, 0);
    results.clone = allStatuses(clone, 0);
    hot2(host, results, "hostHot");
  }
  {
    // One host closed while a clone keeps writing hot, GC between.
    const [host, guest] = ExclusiveSharedMemory.create(4096).build();
    const clone = host.clone();
    hot(host, 100_000);
    hot(clone, 100_000);
    host.close();
    gc();
    results.cloneAfterHostClose = hot(clone, 100_000) > 0;
    results.hostAfterClose = allStatuses(host, 0);
    guest.close();
    gc();
    // Host side still open (the clone): the mapping stays, the clone works.
    results.cloneAfterGuestClose = status(() => clone.readU32(0));
    clone.close();
    results.cloneAfterAll = allStatuses(clone, 0);
  }
  {
    // Guest closed first, then the host used hot, then the host closed inside its own lock.
    const [host, guest] = ExclusiveSharedMemory.create(4096).build();
    guest.close();
    hot(host, 100_000);
    results.selfClose = status(() =>
      host.withExclusivity(() => {
        host.close();
        return 1;
      })
    );
    results.afterSelfClose = allStatuses(host, 0);
    results.lockAfterClose = status(() => host.withExclusivity(() => 1));
  }
  Object.assign(report, results);
} else if (mode === "bounds") {
  const [host, guest] = ExclusiveSharedMemory.create(4096).build();
  const size = host.memSize();
  for (let i = 0; i < 5; i++) hot(host, 50_000);
  // Warm every accessor's fast path.
  for (const a of ACCESSORS) {
    for (let i = 0; i < 50_000; i++) {
      a.write(host, (i * a.n) % (size - a.n), a.value);
      a.read(host, (i * a.n) % (size - a.n));
    }
  }
  const got: Record<string, unknown> = {};
  let valueOfCalls = 0;
  const closer = {
    valueOf() {
      valueOfCalls++;
      host.close();
      return 0;
    },
  };
  const locker = {
    valueOf() {
      valueOfCalls++;
      return guest.withExclusivity(() => 0);
    },
  };
  const offsets: [string, unknown][] = [
    ["-1", -1],
    ["-0", -0],
    ["2^32", 2 ** 32],
    ["2^32+0", 2 ** 32 + 0],
    ["2^53", 2 ** 53],
    ["2^64", 2 ** 64],
    ["1.5", 1.5],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ['"8"', "8"],
    ["null", null],
    ["8n", 8n],
    ["closer", closer],
    ["locker", locker],
  ];
  for (const a of ACCESSORS) {
    got[`${a.name}:end`] = status(() => a.read(host, size - a.n));
    got[`${a.name}:endW`] = status(() => a.write(host, size - a.n, a.value));
    got[`${a.name}:endR`] = status(() => a.read(host, size - a.n));
    got[`${a.name}:past`] = status(() => a.read(host, size - a.n + 1));
    got[`${a.name}:pastW`] = status(() => a.write(host, size - a.n + 1, a.value));
    got[`${a.name}:size`] = status(() => a.read(host, size));
    for (const [label, o] of offsets) {
      got[`${a.name}:${label}`] = status(() => a.read(host, o as number));
      got[`${a.name}:${label}:w`] = status(() => a.write(host, o as number, a.value));
    }
    // Values the kind cannot hold.
    got[`${a.name}:badValue`] = status(() =>
      a.write(host, 0, a.n === 8 && typeof a.value === "bigint" ? 2n ** 64n : 2 ** 64)
    );
    got[`${a.name}:objValue`] = status(() => a.write(host, 0, closer));
  }
  for (const [label, o] of offsets) {
    got[`copyTo:${label}`] = status(() => host.copyToSlice(new Uint8Array(4), o as number));
    got[`copyFrom:${label}`] = status(() => host.copyFromSlice(new Uint8Array(4), o as number));
    got[`fill:${label}`] = status(() => host.fill(1, o as number, 4));
    got[`fillLen:${label}`] = status(() => host.fill(1, 0, o as number));
  }
  got["copyTo:end"] = status(() => host.copyToSlice(new Uint8Array(4), size - 4));
  got["copyTo:past"] = status(() => host.copyToSlice(new Uint8Array(4), size - 3));
  got["copyFrom:past"] = status(() => host.copyFromSlice(new Uint8Array(4), size - 3));
  got["fill:end"] = status(() => host.fill(9, size - 4, 4));
  got["fill:past"] = status(() => host.fill(9, size - 3, 4));
  got["fill:zeroAtSize"] = status(() => host.fill(9, size, 0));
  got["fill:badValue"] = status(() => host.fill(256, 0, 4));
  got["fill:objValue"] = status(() => host.fill(closer as unknown as number, 0, 4));
  got["copyTo:empty"] = status(() => host.copyToSlice(new Uint8Array(0), size));
  got["lastByte"] = status(() => host.readU8(size - 1));
  report.valueOfCalls = valueOfCalls;
  report.stillOpen = status(() => host.readU32(0));
  report.got = got;
  report.size = size;
  host.close();
  guest.close();
} else if (mode === "root-cut") {
  const results: Record<string, unknown> = {};
  for (const how of ["unmap", "unmapPart", "protect", "protectNone"]) {
    const [host, guest] = ExclusiveSharedMemory.create(3 * P).build();
    const clone = host.clone();
    for (let i = 0; i < 3; i++) hot(host, 50_000);
    hot(clone, 50_000);
    const base = host.baseAddr();
    const root = Vmar.root();
    let op: string | number = "";
    if (how === "unmap") op = status(() => root.unmap(base - P, 5 * P));
    else if (how === "unmapPart") op = status(() => root.unmap(base + P, P));
    else if (how === "protect") op = status(() => root.protect(base, 3 * P, VmarFlags.PERM_READ));
    else op = status(() => root.protect(base, 3 * P, 0));
    // The accessors after: a status or the right bytes, never a fault.
    const after: Record<string, unknown> = {};
    for (const o of [0, P, 2 * P + 8]) {
      after[`w${o}`] = status(() => host.writeU32(o, 77));
      after[`r${o}`] = status(() => host.readU32(o));
      after[`cw${o}`] = status(() => clone.writeU64(o, 5n));
      after[`cr${o}`] = status(() => clone.readF64(o));
      after[`fill${o}`] = status(() => host.fill(3, o, 8));
      after[`copy${o}`] = status(() => host.copyToSlice(new Uint8Array(8), o));
    }
    // Hot again after the cut: the fast path must not come back over the cut memory.
    let errors = 0;
    for (let i = 0; i < 100_000; i++) {
      try {
        host.writeU32((i * 4) % (3 * P - 4), i);
      } catch {
        errors++;
      }
    }
    after.hotErrors = errors;
    // Locked and released: the refresh must not take a view over the cut memory.
    after.lock = status(() => guest.withExclusivity((ex) => ex.asSlice().length));
    after.afterLock = status(() => host.readU32(P));
    results[how] = { op, after };
    host.close();
    clone.close();
    guest.close();
  }
  Object.assign(report, results);
} else if (mode === "churn") {
  const fds = countFds();
  const memfds = countMemfds();
  const maps = countMemfdMappings();
  let ok = 0;
  for (let i = 0; i < 3000; i++) {
    const [host, guest] = ExclusiveSharedMemory.create(4096 * (1 + (i % 3))).build();
    const clone = i % 2 === 0 ? host.clone() : null;
    host.writeU32(0, i);
    if ((clone ?? host).readU32(0) === i) ok++;
    if (i % 7 === 0) {
      guest.withExclusivity(() => {
        host.close();
      });
    }
    if (i % 5 === 0) {
      // Dropped unclosed: the backstop releases it when collected.
      continue;
    }
    host.close();
    clone?.close();
    guest.close();
    if (i % 500 === 0) gc();
  }
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  report.ok = ok;
  report.fdsLeft = countFds() - fds;
  report.memfdsLeft = countMemfds() - memfds;
  report.mapsLeft = countMemfdMappings() - maps;
} else if (mode === "foreign") {
  const [host, guest] = ExclusiveSharedMemory.create(4096).build();
  const vmo = guest.vmo();
  const mapped = GuestSharedMemory.map(vmo);
  vmo.close();
  const buf = mapped.buffer();
  let seen = 0;
  let held = 0;
  for (let round = 0; round < 200; round++) {
    hot(host, 1000);
    mapped.withExclusivity(() => {
      // Another mapping's lock (as another process's): the host is not excluded by it.
      held++;
      buf.writeU32(128, round);
      if (host.readU32(128) === round) seen++;
      host.writeU32(132, round);
    });
    if (buf.readU32(132) !== round) seen = -1e9;
  }
  report.seen = seen;
  report.held = held;
  mapped.close();
  report.afterForeignClose = status(() => host.readU32(128));
  host.close();
  guest.close();
} else {
  throw new Error(`unknown mode ${mode}`);
}

function hot2(h: HostSharedMemory, results: Record<string, unknown>, key: string): void {
  let errors = 0;
  for (let i = 0; i < 100_000; i++) {
    try {
      h.writeU32((i * 4) & 4092, i);
    } catch {
      errors++;
    }
  }
  results[key] = errors;
}

console.log(JSON.stringify(report));
