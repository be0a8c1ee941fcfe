/**
 * Guest memory against its baselines (issue 10, "Speed"), each group in one run with
 * `baseline: true` on the plain operation over the same memory:
 *
 * - `host copyToSlice/copyFromSlice 1 MiB / 64 MiB`: `HostSharedMemory` copies vs
 *   `Uint8Array.set` on a plain view of the same buffer (goal: at least 0.9x its speed).
 * - `host readU64/writeU64`: vs `DataView.getBigUint64`/`setBigUint64` (goal: within 2x).
 * - `guest write 4 KiB`: `GuestMemoryMmap.write` with tracking off vs `Uint8Array.set` (goal:
 *   within 1.5x), and with tracking on (goal: within 1.3x of off); and, for "an untracked
 *   write pays nothing for the feature", the same write through the region's `VolatileSlice`
 *   and through a `SharedBuffer` over the same memory (the path without any dirty hook).
 * - `guest write 64 B across a boundary`: two adjacent regions vs inside one (goal: within 3x).
 * - `findRegion`: 1,000 regions vs 10 (goal: within 1.5x), at addresses spread over all of them.
 *
 * Every page is written before the benches run, so no case takes a page fault. Everything is
 * released when the bench process unloads. Run with `deno task bench`. `deno bench` averages one
 * call per iteration, and a constant store to one place (the `writeU64` baseline) is cheap to
 * the point of being hoisted: tools/guest_medians.ts times every goal above as interleaved
 * medians, with varying offsets and values.
 *
 * @module
 */

import { ExclusiveSharedMemory, GuestMemoryMmap, SharedBuffer, Vmar } from "../mod.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const P = 4096;

const cleanups: (() => void)[] = [];
globalThis.addEventListener("unload", () => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

/** A plain view over `len` bytes at `addr`, detached at unload. */
function rawView(addr: number, len: number): Uint8Array<ArrayBuffer> {
  const buffer = Deno.UnsafePointerView.getArrayBuffer(
    Deno.UnsafePointer.create(BigInt(addr))!,
    len,
  ) as ArrayBuffer;
  cleanups.push(() => buffer.transfer(0));
  return new Uint8Array(buffer);
}

// ---- hyperlight host copies -------------------------------------------------------------------

const HOST_SIZE = 64 * MiB;
const [host, guest] = ExclusiveSharedMemory.create(HOST_SIZE).build();
cleanups.push(() => guest.close());
cleanups.push(() => host.close());
host.fill(0x5a, 0, HOST_SIZE);
const hostRaw = rawView(host.baseAddr(), HOST_SIZE);
const hostData = new DataView(hostRaw.buffer);

for (const [label, size] of [["1 MiB", MiB], ["64 MiB", 64 * MiB]] as const) {
  const dst = new Uint8Array(size);
  const src = new Uint8Array(size).fill(3);
  const rawPart = hostRaw.subarray(0, size);
  Deno.bench(`copyToSlice ${label}: Uint8Array.set`, {
    group: `host copyToSlice ${label}`,
    baseline: true,
  }, () => {
    dst.set(rawPart);
  });
  Deno.bench(
    `copyToSlice ${label}: HostSharedMemory`,
    { group: `host copyToSlice ${label}` },
    () => {
      host.copyToSlice(dst, 0);
    },
  );
  Deno.bench(`copyFromSlice ${label}: Uint8Array.set`, {
    group: `host copyFromSlice ${label}`,
    baseline: true,
  }, () => {
    hostRaw.set(src, 0);
  });
  Deno.bench(`copyFromSlice ${label}: HostSharedMemory`, {
    group: `host copyFromSlice ${label}`,
  }, () => {
    host.copyFromSlice(src, 0);
  });
}

let sink = 0n;
Deno.bench("readU64: DataView", { group: "host readU64", baseline: true }, () => {
  sink ^= hostData.getBigUint64(64, true);
});
Deno.bench("readU64: HostSharedMemory", { group: "host readU64" }, () => {
  sink ^= host.readU64(64);
});
Deno.bench("writeU64: DataView", { group: "host writeU64", baseline: true }, () => {
  hostData.setBigUint64(64, 7n, true);
});
Deno.bench("writeU64: HostSharedMemory", { group: "host writeU64" }, () => {
  host.writeU64(64, 7n);
});

// ---- vm-memory guest writes -------------------------------------------------------------------

const untracked = GuestMemoryMmap.fromRanges([[0, 64 * KiB], [64 * KiB, 64 * KiB]]);
const tracked = GuestMemoryMmap.fromRanges([[0, 64 * KiB], [64 * KiB, 64 * KiB]], {
  dirtyTracking: true,
});
cleanups.push(() => untracked.close());
cleanups.push(() => tracked.close());
untracked.write(new Uint8Array(128 * KiB), 0);
tracked.write(new Uint8Array(128 * KiB), 0);
const region0 = untracked.findRegion(0)!.region();
const guestRaw = rawView(region0.address(), 64 * KiB);
const slice0 = region0.asVolatileSlice();
const plainBuffer = SharedBuffer.fromRange(Vmar.root(), region0.address(), 64 * KiB);
const page = new Uint8Array(4 * KiB).fill(1);

Deno.bench("write 4 KiB: Uint8Array.set", { group: "guest write 4 KiB", baseline: true }, () => {
  guestRaw.set(page, 8 * KiB);
});
Deno.bench("write 4 KiB: SharedBuffer.writeAt (no dirty hook)", {
  group: "guest write 4 KiB",
}, () => {
  plainBuffer.writeAt(8 * KiB, page);
});
Deno.bench("write 4 KiB: VolatileSlice.writeAt, tracking off", {
  group: "guest write 4 KiB",
}, () => {
  slice0.writeAt(8 * KiB, page);
});
Deno.bench("write 4 KiB: GuestMemoryMmap.write, tracking off", {
  group: "guest write 4 KiB",
}, () => {
  untracked.write(page, 8 * KiB);
});
Deno.bench("write 4 KiB: GuestMemoryMmap.write, tracking on", {
  group: "guest write 4 KiB",
}, () => {
  tracked.write(page, 8 * KiB);
});

const small = new Uint8Array(64).fill(2);
Deno.bench("write 64 B: inside one region", { group: "guest write 64 B", baseline: true }, () => {
  untracked.write(small, 32 * KiB);
});
Deno.bench("write 64 B: across a region boundary", { group: "guest write 64 B" }, () => {
  untracked.write(small, 64 * KiB - 32);
});

// ---- findRegion -------------------------------------------------------------------------------

function spread(n: number): [GuestMemoryMmap, number[]] {
  const ranges: [number, number][] = [];
  for (let i = 0; i < n; i++) ranges.push([i * 2 * P, P]);
  const mem = GuestMemoryMmap.fromRanges(ranges);
  cleanups.push(() => mem.close());
  // 1,024 probe addresses spread over every region, visited in a scrambled order.
  const addrs: number[] = [];
  for (let i = 0; i < 1024; i++) addrs.push(((i * 7919) % n) * 2 * P + (i % P));
  return [mem, addrs];
}
const [ten, tenAddrs] = spread(10);
const [thousand, thousandAddrs] = spread(1000);
let hits = 0;
let probe = 0;
Deno.bench("findRegion: 10 regions", { group: "findRegion", baseline: true }, () => {
  if (ten.findRegion(tenAddrs[probe++ & 1023]) !== undefined) hits++;
});
Deno.bench("findRegion: 1,000 regions", { group: "findRegion" }, () => {
  if (thousand.findRegion(thousandAddrs[probe++ & 1023]) !== undefined) hits++;
});

globalThis.addEventListener("unload", () => {
  if (sink === 1n && hits < 0) console.log(sink, hits);
});
