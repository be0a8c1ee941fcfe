/**
 * Child of short_write.test.ts: attacks on `writeAt` over memory others can cut, whose writes
 * go through the library's own sealed memfd (src/vmar/short_write.ts). Each mode runs in a
 * process of its own (a fault exits 139/135) and prints a JSON report as its last line.
 *
 * - `steal-vmo`: a VMO's high fd is closed outside vmo, then the first short write makes its
 *   memfd; a later map of that VMO must be `BAD_HANDLE`, not a mapping of another file.
 * - `steal-source`: the short write's memfd is closed outside vmo and a new VMO takes its
 *   number; a later `writeAt` must write the caller's bytes (or fail), never that VMO's.
 * - `cut`: a Worker truncates and regrows the mapped file (or a resizable memfd through
 *   /proc/self/fd) in a tight loop while `writeAt` writes of 1 byte to 16 KiB + 1, across
 *   pages; every outcome is a count or `OUT_OF_RANGE`.
 * - `limits`: 0, 1, 16 KiB - 1, 16 KiB and 16 KiB + 1 bytes across pages, a protected-down
 *   page and a cut end, against the file's bytes.
 * - `remap`: part of the mapping is unmapped and another file mapped at the same address; a
 *   late `writeAt` is `BAD_STATE` and writes nothing in the new file.
 * - `workers`: Workers making short writes at once, each into a file of its own.
 */

import { libc } from "../../ffi/libc.ts";
import {
  Mapping,
  PAGE_SIZE as P,
  SharedBuffer,
  Vmar,
  VmarFlags,
  Vmo,
  VmoOptions,
} from "../../mod.ts";
import { shortWriteSourceFd } from "../../src/vmar/short_write.ts";
import { listFds } from "../_support/proc.ts";
import { outcomeOf } from "../_support/status.ts";

const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const R = VmarFlags.PERM_READ;
const MAX = 16 * 1024;
const report: Record<string, unknown> = {};

/** The library's high fds (three quarters of the fd limit and up). */
function highFds(): number[] {
  return [...listFds().keys()].filter((n) => n >= 1000).sort((a, b) => a - b);
}

/** A temporary file of `size` zero bytes mapped read-write in `vmar` (root by default). */
function mappedFile(size: number) {
  const path = Deno.makeTempFileSync({ prefix: "vmo-rs2-" });
  Deno.writeFileSync(path, new Uint8Array(size));
  const vmo = Vmo.fromFile(path, { writable: true });
  const root = Vmar.root();
  const addr = root.map(0, vmo, 0, size, RW);
  const buffer = SharedBuffer.fromRange(root, addr, size);
  return { path, vmo, root, addr, buffer, bytes: () => Deno.readFileSync(path) };
}

/** Two writes: the first finds the memory unviewable, the second takes the short write. */
function warm(buffer: SharedBuffer): void {
  buffer.writeAt(0, new Uint8Array([9]));
  buffer.writeAt(0, new Uint8Array([9]));
}

const mode = Deno.args[0];

if (mode === "steal-vmo") {
  const before = highFds();
  const a = Vmo.create(64 * 1024);
  const aFd = highFds().find((fd) => !before.includes(fd))!;
  const f = mappedFile(2 * P);
  // Something outside vmo closes A's fd; vmo's contract: a map of A is BAD_HANDLE from now on.
  report.closed = libc.close(aFd);
  warm(f.buffer);
  report.sourceFd = shortWriteSourceFd();
  report.aFd = aFd;
  report.sameNumber = report.sourceFd === aFd;
  let m: Mapping | null = null;
  report.map = outcomeOf(() => m = Mapping.createFromVmo(a, 64 * 1024, RW));
  if (m !== null) {
    // A mapping of whatever file now holds the number: 16 KiB of a 64 KiB view are backed.
    const mm = m as Mapping;
    report.viewLength = mm.bytes().length;
    report.farWrite = outcomeOf(() => mm.writeAt(40_000, new Uint8Array([5])));
  }
} else if (mode === "steal-source") {
  const f = mappedFile(2 * P);
  warm(f.buffer);
  const fd = shortWriteSourceFd();
  report.closed = libc.close(fd);
  const other = Vmo.create(2 * P);
  other.write(new Uint8Array(64).fill(0xee), 0);
  report.otherTookNumber = highFds().includes(fd);
  report.write = outcomeOf(() => f.buffer.writeAt(100, new Uint8Array(32).fill(7)));
  report.bytes = [...f.bytes().subarray(100, 132)];
} else if (mode === "cut" || mode === "cut-memfd") {
  const size = 8 * P;
  let path: string;
  let buffer: SharedBuffer;
  if (mode === "cut") {
    const f = mappedFile(size);
    path = f.path;
    buffer = f.buffer;
  } else {
    const vmo = Vmo.create(size, VmoOptions.RESIZABLE);
    const root = Vmar.root();
    const addr = root.map(0, vmo, 0, size, RW);
    buffer = SharedBuffer.fromRange(root, addr, size);
    // The memfd's path through /proc: another party's fd, as far as vmo knows.
    const memfd = [...listFds()].find(([n, t]) => n >= 1000 && t.startsWith("/memfd:"))![0];
    path = `/proc/${Deno.pid}/fd/${memfd}`;
  }
  warm(buffer);
  const worker = new Worker(new URL("./short_write_worker_child.ts", import.meta.url), {
    type: "module",
  });
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const started = new Promise((resolve) => worker.onmessage = resolve);
  worker.postMessage({ kind: "cut", path, size, stop });
  await started;
  const outcomes: Record<string, number> = {};
  const lengths = [1, 7, P - 1, P, P + 1, MAX - 1, MAX, MAX + 1, 3 * P];
  const deadline = Date.now() + 1500;
  let i = 0;
  while (Date.now() < deadline) {
    const len = lengths[i % lengths.length];
    const at = (i * 977) % (size - len + 1);
    const s = outcomeOf(() => buffer.writeAt(at, new Uint8Array(len).fill(i & 0xff)));
    const key = typeof s === "string" ? (s === `ok:${len}` ? "ok" : s) : String(s);
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    i++;
  }
  Atomics.store(stop, 0, 1);
  const done = new Promise((resolve) => worker.onmessage = resolve);
  report.cuts = ((await done) as MessageEvent).data;
  worker.terminate();
  report.after = outcomeOf(() => buffer.writeAt(P + 3, new Uint8Array([42])));
  report.outcomes = outcomes;
} else if (mode === "limits") {
  const size = 24 * 1024;
  const f = mappedFile(size);
  warm(f.buffer);
  const fill = (len: number, v: number) => new Uint8Array(len).fill(v);
  const cases: [string, number, number][] = [
    ["zero", 100, 0],
    ["one", P - 1, 1],
    ["maxLess", 1, MAX - 1],
    ["max", P - 5, MAX],
    ["maxMore", 2, MAX + 1],
  ];
  let v = 1;
  for (const [name, at, len] of cases) {
    const value = v++;
    report[name] = outcomeOf(() => f.buffer.writeAt(at, fill(len, value)));
    const bytes = f.bytes().subarray(at, at + len);
    report[`${name}:bytes`] = bytes.every((b) => b === value);
  }
  // A page protected down in the middle: refused whole, nothing written.
  f.root.protect(f.addr + 2 * P, P, R);
  const before = f.bytes();
  report.acrossReadOnly = outcomeOf(() => f.buffer.writeAt(P, fill(MAX, 0x55)));
  report.onReadOnly = outcomeOf(() => f.buffer.writeAt(2 * P + 1, fill(8, 0x55)));
  report.readOnlyUnchanged = f.bytes().every((b, i) => b === before[i]);
  f.root.protect(f.addr + 2 * P, P, RW);
  report.backToRw = outcomeOf(() => f.buffer.writeAt(2 * P + 1, fill(8, 0x66)));
  // Cut in the middle of a page: the write across the cut is refused or short, never faulted.
  Deno.truncateSync(f.path, 3 * P + 100);
  report.acrossCut = outcomeOf(() => f.buffer.writeAt(3 * P, fill(MAX, 0x77)));
  report.pastCut = outcomeOf(() => f.buffer.writeAt(4 * P + 8, fill(8, 0x77)));
  report.inCutPage = outcomeOf(() => f.buffer.writeAt(3 * P + 50, fill(8, 0x78)));
  report.fileSize = Deno.statSync(f.path).size;
} else if (mode === "remap") {
  const root = Vmar.root();
  const [sub, base] = root.allocate(
    0,
    4 * P,
    VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC,
  );
  const pathA = Deno.makeTempFileSync();
  const pathB = Deno.makeTempFileSync();
  Deno.writeFileSync(pathA, new Uint8Array(3 * P));
  Deno.writeFileSync(pathB, new Uint8Array(P));
  const a = Vmo.fromFile(pathA, { writable: true });
  const b = Vmo.fromFile(pathB, { writable: true });
  sub.map(0, a, 0, 3 * P, RW | VmarFlags.SPECIFIC);
  const buffer = SharedBuffer.fromRange(sub, base, 3 * P);
  warm(buffer);
  report.first = outcomeOf(() => buffer.writeAt(P + 8, new Uint8Array([1])));
  sub.unmap(base + P, P);
  report.remapAt = sub.map(P, b, 0, P, RW | VmarFlags.SPECIFIC) === base + P;
  report.lateMiddle = outcomeOf(() => buffer.writeAt(P + 8, new Uint8Array([2])));
  report.lateFirst = outcomeOf(() => buffer.writeAt(8, new Uint8Array([3])));
  report.bHas = [...Deno.readFileSync(pathB)].filter((x) => x !== 0).length;
  report.aPage1 = Deno.readFileSync(pathA)[P + 8];
  // The whole range unmapped and mapped again, B first: never a write into B.
  sub.unmap(base, 3 * P);
  sub.map(0, b, 0, P, RW | VmarFlags.SPECIFIC);
  report.lateAfterAll = outcomeOf(() => buffer.writeAt(8, new Uint8Array([4])));
  report.bHasAfter = [...Deno.readFileSync(pathB)].filter((x) => x !== 0).length;
} else if (mode === "workers") {
  const n = 3;
  const workers = [];
  const results: unknown[] = [];
  for (let w = 0; w < n; w++) {
    const worker = new Worker(new URL("./short_write_worker_child.ts", import.meta.url), {
      type: "module",
    });
    workers.push(
      new Promise((resolve) => {
        worker.onmessage = (e) => {
          results.push(e.data);
          worker.terminate();
          resolve(null);
        };
      }),
    );
    worker.postMessage({ kind: "write", seed: w + 1 });
  }
  // The main thread writes at the same time.
  const f = mappedFile(4 * P);
  warm(f.buffer);
  let ok = true;
  for (let i = 0; i < 3000; i++) {
    const at = (i * 131) % (3 * P);
    const data = new Uint8Array(200).fill((i % 250) + 1);
    f.buffer.writeAt(at, data);
    const got = f.bytes().subarray(at, at + 200);
    if (!got.every((x) => x === (i % 250) + 1)) ok = false;
  }
  await Promise.all(workers);
  report.main = ok;
  report.workers = results;
}

console.log(JSON.stringify(report));
