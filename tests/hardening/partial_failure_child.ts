/**
 * Child of partial_failure.test.ts (issue 8 §3): the library's tree must stay the truth when a
 * syscall fails half-way. `Deno.args[0]` picks the attack; the child prints `RESULT {json}`
 * with the status of the failing call and every difference between `infoMaps()` and
 * /proc/self/maps, then touches every page the tree calls accessible through fresh views (a
 * wrong tree is a SIGSEGV there).
 *
 * - `sysfs-overwrite`: a VMO of a sysfs file (mmap gives ENODEV) mapped SPECIFIC_OVERWRITE
 *   over a read-write root mapping.
 * - `sysfs-sub-overwrite`: the same over a mapping inside a sub-VMAR.
 * - `sysfs-sub`: mapped SPECIFIC into an empty slot of a sub-VMAR; then 64 root allocations
 *   must not land inside the sub-VMAR's range.
 * - `sysfs-sub-firstfit`: mapped first-fit into a sub-VMAR.
 * - `sysfs-root`: mapped first-fit into the root.
 * - `procfs-<kind>`: the same with /proc/sys/kernel/hostname (ENODEV too, and a size of 0).
 * - `procversion-<kind>`: the same with /proc/version, whose mmap fails with EIO instead.
 * - `rangeerror-unmap`, `rangeerror-protect`: recursion to the JS stack's limit, then on the
 *   way back an `unmap` (or `protect` to read-only) at every depth, RangeErrors caught, with
 *   16 frame sizes.
 * - `max-map-count`: (slow) the process's mappings filled up to vm.max_map_count, then a
 *   SPECIFIC_OVERWRITE of a slice window plus reservation tail (two kernel calls), retried
 *   while freeing one mapping at a time, recording what the kernel has after each attempt
 *   (through a pipe, which reports EFAULT instead of faulting). `max-map-count-root` does the
 *   same with the mapping in the root.
 *
 * @module
 */

import {
  PAGE_SIZE as P,
  SharedBuffer,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  VmoChildOptions,
  ZxError,
} from "../../mod.ts";
import { checksum, pattern, readProcText, report, treeVersusKernel } from "./_util.ts";

const attack = Deno.args[0];
const root = Vmar.root();
const base = root.info().base;
const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const SUB_FLAGS = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC;

function statusOf(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    return e instanceof ZxError ? String(e.status) : `${(e as Error)?.name}: ${e}`;
  }
}

let sysfsRefusedAtCreate: string | undefined;

/** A readable sysfs regular file (whose mmap the kernel refuses with ENODEV). */
function sysfsFile(): string {
  for (
    const path of [
      "/sys/kernel/mm/transparent_hugepage/enabled",
      "/sys/kernel/mm/transparent_hugepage/defrag",
      "/sys/kernel/profiling",
      "/sys/power/state",
      "/sys/devices/system/cpu/online",
    ]
  ) {
    // Deno's own file APIs refuse /sys without --allow-all: probe with libc.
    if (readProcText(path) !== undefined) return path;
  }
  throw new Error("no readable sysfs file");
}

/**
 * Reads every page the tree lists as readable (and writes back the writable ones) through the
 * library; returns the bytes touched and the entries the library itself could not find (a
 * tree at odds with itself). Past the end of a slice the library refuses with a status: fine.
 */
function touchTree(vmar: Vmar): { touched: number; refused: string[] } {
  let touched = 0;
  const refused: string[] = [];
  for (const e of vmar.infoMaps()) {
    if (e.type !== 3 || !e.mapping || (e.mapping.mmuFlags & 1) === 0) continue;
    try {
      touched += vmar.readMemory(e.base, new Uint8Array(e.size));
      if ((e.mapping.mmuFlags & 3) === 3) {
        const view = SharedBuffer.fromRange(vmar, e.base, e.size).bytes();
        for (let i = 0; i < view.length; i += P) view[i] |= 0; // a write: faults if not rw
      }
    } catch (error) {
      if (!(error instanceof ZxError)) throw error;
      if (error.status === Status.NOT_FOUND) refused.push(error.message.slice(0, 100));
    }
  }
  return { touched, refused };
}

function sysfs(kind: string, file: string): void {
  let sys: Vmo;
  try {
    sys = Vmo.fromFile(file);
  } catch (e) {
    // Refusing the unmappable file up front (NOT_SUPPORTED) also keeps the address space
    // untouched: report it as the map's status, with the tree checked all the same.
    if (!(e instanceof ZxError)) throw e;
    sys = undefined as unknown as Vmo;
    sysfsRefusedAtCreate = String(e.status);
  }
  const len = 4 * P;
  const old = Vmo.create(len);
  const bytes = pattern(len, 5);
  old.write(bytes, 0);
  let vmar = root;
  let subRange: [number, number] | null = null;
  let addr = 0;
  if (!kind.startsWith("sub")) {
    addr = root.map(0, old, 0, len, RW);
  } else {
    const [sub, subAddr] = root.allocate(0, 16 * P, SUB_FLAGS);
    vmar = sub;
    subRange = [subAddr, subAddr + 16 * P];
    addr = sub.map(4 * P, old, 0, len, RW | VmarFlags.SPECIFIC);
  }
  const vbase = vmar.info().base;
  let status: string;
  if (sysfsRefusedAtCreate !== undefined) {
    status = sysfsRefusedAtCreate;
  } else if (kind === "overwrite" || kind === "sub-overwrite") {
    status = statusOf(() =>
      vmar.map(addr - vbase + P, sys, 0, P, VmarFlags.PERM_READ | VmarFlags.SPECIFIC_OVERWRITE)
    );
  } else if (kind === "sub") {
    status = statusOf(() => vmar.map(10 * P, sys, 0, P, VmarFlags.PERM_READ | VmarFlags.SPECIFIC));
  } else if (kind === "sub-firstfit" || kind === "root") {
    status = statusOf(() => vmar.map(0, sys, 0, P, VmarFlags.PERM_READ));
  } else {
    throw new Error(`unknown attack ${attack}`);
  }
  const problems = treeVersusKernel(root.infoMaps());
  report({ attack, status, problems });
  // The old mapping, read through a fresh view: its bytes, not a fault.
  const fresh = SharedBuffer.fromRange(vmar, addr, len).bytes();
  const oldIntact = checksum(fresh) === checksum(bytes);
  let intruders = 0;
  if (subRange !== null) {
    for (let i = 0; i < 64; i++) {
      const [, at] = root.allocate(0, P, VmarFlags.CAN_MAP_READ);
      if (at >= subRange[0] && at < subRange[1]) intruders++;
    }
  }
  report({
    attack,
    status,
    refusedAtCreate: sysfsRefusedAtCreate !== undefined,
    problems,
    oldIntact,
    intruders,
    ...touchTree(root),
  });
}

/** `op` on as many targets as there are frames near the JS stack's limit, in `rounds`. */
function nearStackLimit(op: (addr: number) => void, targets: number[]): Record<string, number> {
  const counts: Record<string, number> = { ok: 0, rangeError: 0, zxError: 0, other: 0, rounds: 0 };
  let next = 0;
  let calmFrames = 0;
  function attempt(): void {
    if (next >= targets.length || calmFrames > 8) return;
    const target = targets[next++];
    try {
      op(target);
      counts.ok++;
      calmFrames++;
    } catch (e) {
      if (e instanceof RangeError) counts.rangeError++;
      else if (e instanceof ZxError) counts.zxError++;
      else counts.other++;
      calmFrames = 0;
    }
  }
  // Each extra argument widens the frame, so the ops start at 16 different headrooms.
  function dive(..._pad: unknown[]): void {
    try {
      dive(..._pad);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
    attempt();
  }
  for (let pad = 0; pad < 16 && next < targets.length; pad++) {
    calmFrames = 0;
    counts.rounds++;
    dive(...new Array(pad).fill(0));
  }
  return counts;
}

function rangeError(kind: "unmap" | "protect"): void {
  const count = 3000;
  // One page in every two, so that no two mappings merge into one VMA.
  const [sub, subAddr] = root.allocate(0, 2 * count * P, SUB_FLAGS);
  const vmo = Vmo.create(P);
  void subAddr;
  const targets: number[] = [];
  for (let i = 0; i < count; i++) {
    targets.push(sub.map(2 * i * P, vmo, 0, P, RW | VmarFlags.SPECIFIC));
  }
  const op = kind === "unmap"
    ? (addr: number) => sub.unmap(addr, P)
    : (addr: number) => sub.protect(addr, P, VmarFlags.PERM_READ);
  const counts = nearStackLimit(op, targets);
  const problems = treeVersusKernel(sub.infoMaps());
  report({ attack, counts, problems: problems.slice(0, 10), mismatches: problems.length });
  const touched = touchTree(sub);
  report({
    attack,
    counts,
    problems: problems.slice(0, 10),
    mismatches: problems.length,
    ...touched,
  });
}

const libc = Deno.dlopen("libc.so.6", {
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  pipe: { parameters: ["buffer"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
}).symbols;

const writeFd = Deno.dlopen("libc.so.6", {
  write: { parameters: ["i32", "pointer", "usize"], result: "isize" },
}).symbols.write;

/**
 * The first byte at `addr`, or -1 when the kernel says it is not readable: copied through a
 * pipe (`write` returns EFAULT instead of faulting), so probing allocates nothing in JS.
 */
function makeProbe(): (addr: number) => number {
  const fds = new Int32Array(2);
  if (libc.pipe(new Uint8Array(fds.buffer)) !== 0) throw new Error("pipe");
  const one = new Uint8Array(1);
  return (addr: number) => {
    const n = writeFd(fds[1], Deno.UnsafePointer.create(BigInt(addr)), 1n);
    if (n !== 1n) return -1;
    libc.read(fds[0], one, 1n);
    return one[0];
  };
}

function maxMapCount(inRoot: boolean): void {
  // Everything the attack needs exists before the process runs out of mappings, and the
  // attempts allocate as little as they can: V8 itself dies when it cannot map (it is the
  // library's calls that must fail, not the runtime's).
  const sub = inRoot ? root : root.allocate(0, 16 * P, SUB_FLAGS)[0];
  const subBase = sub.info().base;
  const big = Vmo.create(6 * P);
  const bigBytes = pattern(6 * P, 9);
  big.write(bigBytes, 0);
  const small = Vmo.create(P);
  const slice = small.createChild(VmoChildOptions.SLICE, 0, P);
  const mapped = inRoot
    ? root.map(0, big, 0, 6 * P, RW)
    : sub.map(P, big, 0, 6 * P, RW | VmarFlags.SPECIFIC);
  const probe = makeProbe();
  const PAGES = 6;
  const original = new Int16Array(PAGES);
  for (let i = 0; i < PAGES; i++) original[i] = probe(mapped + i * P);
  const MAX_ATTEMPTS = 12;
  const seen = new Int16Array(MAX_ATTEMPTS * PAGES);
  const statuses = new Int32Array(MAX_ATTEMPTS);
  const tryMap = () => {
    try {
      sub.map(mapped - subBase + P, slice, 0, 4 * P, RW | VmarFlags.SPECIFIC_OVERWRITE);
      return 0;
    } catch (e) {
      return e instanceof ZxError ? e.status : -999;
    }
  };
  const started = performance.now();
  // Filler: one PROT_NONE reservation, every other page turned readable (+2 VMAs each).
  const pages = 140_000;
  const region = libc.mmap(null, BigInt(pages * P), 0, 0x22, /* PRIVATE|ANON */ -1, 0n);
  const regionAt = Deno.UnsafePointer.value(region);
  const page = (i: number) => Deno.UnsafePointer.create(regionAt + BigInt(i * P));
  let last = -1;
  for (let i = 1; i < pages; i += 2) {
    if (libc.mprotect(page(i), BigInt(P), 1) !== 0) break;
    last = i;
  }
  const fillMs = performance.now() - started;
  // Free one VMA at a time from the end of the filler (each page there is a whole VMA),
  // retrying the two-call map, and record what the kernel has after each attempt.
  let attempts = 0;
  for (; attempts < MAX_ATTEMPTS; attempts++) {
    const status = tryMap();
    statuses[attempts] = status;
    for (let i = 0; i < PAGES; i++) seen[attempts * PAGES + i] = probe(mapped + i * P);
    if (status === 0) {
      attempts++;
      break;
    }
    libc.munmap(page(last), BigInt(P));
    last--;
  }
  libc.munmap(region, BigInt(pages * P));
  // What the tree promises: after a failure, the old pages unchanged; after success, the
  // slice's page (zeros) then three reserved (unreadable) pages.
  const afterSuccess = [original[0], 0, -1, -1, -1, original[5]];
  const report_: { status: number; pages: number[]; agrees: boolean }[] = [];
  for (let a = 0; a < attempts; a++) {
    const pagesSeen = Array.from(seen.subarray(a * PAGES, (a + 1) * PAGES));
    const want = statuses[a] === 0 ? afterSuccess : Array.from(original);
    report_.push({
      status: statuses[a],
      pages: pagesSeen,
      agrees: pagesSeen.every((v, i) => v === want[i]),
    });
  }
  report({
    attack,
    fillMs: Math.round(fillMs),
    attempts: report_,
    problems: treeVersusKernel(
      sub.infoMaps(),
      (e) => e.mapping?.vmoKoid === slice.koid ? Math.min(e.size, P) : e.size,
    ),
    ...touchTree(sub),
  });
}

if (attack.startsWith("sysfs-")) sysfs(attack.slice(6), sysfsFile());
else if (attack.startsWith("procfs-")) sysfs(attack.slice(7), "/proc/sys/kernel/hostname");
else if (attack.startsWith("procversion-")) sysfs(attack.slice(12), "/proc/version");
else if (attack === "rangeerror-unmap") rangeError("unmap");
else if (attack === "rangeerror-protect") rangeError("protect");
else if (attack === "max-map-count") maxMapCount(false);
else if (attack === "max-map-count-root") maxMapCount(true);
else throw new Error(`unknown attack ${attack}`);
void base;
