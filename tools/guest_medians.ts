/**
 * Every guest-memory speed goal (issue 10, docs/guest.md "Speed") as interleaved medians after
 * warm-up in one process, each case beside its baseline over the same memory, where
 * `deno bench`'s averages blur them on a shared machine:
 *
 * - `HostSharedMemory.copyToSlice`/`copyFromSlice` of 1 MiB and 64 MiB vs `Uint8Array.set`
 *   (goal: at least 0.9x its speed, i.e. at most 1.11x its time);
 * - `HostSharedMemory.readU64`/`writeU64` and `VolatileSlice.writeU64` vs a bare `DataView`
 *   (goal: within 2x);
 * - `GuestMemoryMmap.write` of 4 KiB, tracking off vs `Uint8Array.set` (goal: within 1.5x) and
 *   tracking on vs off (goal: within 1.3x);
 * - `GuestMemoryMmap.write` of 64 bytes across a region boundary vs inside one (goal: 3x);
 * - `findRegion` among 1,000 regions vs 10 (goal: within 1.5x).
 *
 * Each round times every case once, in turn; the first rounds are warm-up. Prints nanoseconds
 * per operation and the ratio to the baseline. Offsets and values change with each operation:
 * a constant store to one place is hoisted out of the loop by V8, and the baseline would time
 * nothing. An optional second argument keeps only the cases whose name contains it.
 *
 * Run: `deno run --allow-ffi --allow-read --allow-write tools/guest_medians.ts [rounds] [filter]`
 *
 * @module
 */

import { ExclusiveSharedMemory, GuestMemoryMmap } from "../mod.ts";
import { type MedianCase, printMedians } from "./medians.ts";

const ROUNDS = Number(Deno.args[0] ?? 21);
const FILTER = Deno.args[1] ?? "";
const WARMUP = 5;
const KiB = 1024;
const MiB = 1024 * KiB;
const P = 4096;
const N = 2_000_000;
const W = 500_000;

const cleanups: (() => void)[] = [];

/** A plain view over `len` bytes at `addr`, detached at the end. */
function rawBuffer(addr: number, len: number): ArrayBuffer {
  const buffer = Deno.UnsafePointerView.getArrayBuffer(
    Deno.UnsafePointer.create(BigInt(addr))!,
    len,
  ) as ArrayBuffer;
  cleanups.push(() => buffer.transfer(0));
  return buffer;
}

// ---- hyperlight's host side -------------------------------------------------------------------

const HOST_SIZE = 64 * MiB;
const [host, guest] = ExclusiveSharedMemory.create(HOST_SIZE).build();
host.fill(0x5a, 0, HOST_SIZE); // fault every page in
const hostRaw = rawBuffer(host.baseAddr(), HOST_SIZE);
const raw = new DataView(hostRaw);
const hostBytes = new Uint8Array(hostRaw);
const VALUES = Array.from({ length: 64 }, (_, k) => BigInt(k) * 0x0101_0101_0101n);

function copyCases(label: string, size: number, ops: number): MedianCase[] {
  const dst = new Uint8Array(size);
  const src = new Uint8Array(size).fill(3);
  const part = hostBytes.subarray(0, size);
  return [
    {
      name: `copyToSlice ${label}: set`,
      ops,
      fn: () => {
        for (let i = 0; i < ops; i++) dst.set(part);
        return dst[i7(ops)];
      },
    },
    {
      name: `copyToSlice ${label}: host`,
      ops,
      baseline: `copyToSlice ${label}: set`,
      fn: () => {
        for (let i = 0; i < ops; i++) host.copyToSlice(dst, 0);
        return dst[i7(ops)];
      },
    },
    {
      name: `copyFromSlice ${label}: set`,
      ops,
      fn: () => {
        for (let i = 0; i < ops; i++) hostBytes.set(src, 0);
        return 0;
      },
    },
    {
      name: `copyFromSlice ${label}: host`,
      ops,
      baseline: `copyFromSlice ${label}: set`,
      fn: () => {
        for (let i = 0; i < ops; i++) host.copyFromSlice(src, 0);
        return 0;
      },
    },
  ];
}

function i7(n: number): number {
  return n & 7;
}

// ---- vm-memory's guest memory -----------------------------------------------------------------

const mem = GuestMemoryMmap.fromRanges([[0, 64 * KiB], [64 * KiB, 64 * KiB]]);
const tracked = GuestMemoryMmap.fromRanges([[0, 64 * KiB], [64 * KiB, 64 * KiB]], {
  dirtyTracking: true,
});
mem.write(new Uint8Array(128 * KiB), 0);
tracked.write(new Uint8Array(128 * KiB), 0);
const guestRaw = new Uint8Array(rawBuffer(mem.findRegion(0)!.region().address(), 64 * KiB));
const slice = mem.getSlice(0, 64 * KiB);
const small = new Uint8Array(64).fill(2);
const page = new Uint8Array(4 * KiB).fill(1);
const PAGE_OPS = 50_000;

/** `n` regions of a page each, a page apart, and 1,024 addresses spread over all of them. */
function spread(n: number): [GuestMemoryMmap, number[]] {
  const ranges: [number, number][] = [];
  for (let i = 0; i < n; i++) ranges.push([i * 2 * P, P]);
  const m = GuestMemoryMmap.fromRanges(ranges);
  const addrs: number[] = [];
  for (let i = 0; i < 1024; i++) addrs.push(((i * 7919) % n) * 2 * P + (i % P));
  return [m, addrs];
}
const [ten, tenAddrs] = spread(10);
const [thousand, thousandAddrs] = spread(1000);

const cases: MedianCase[] = [
  ...copyCases("1 MiB", MiB, 20),
  ...copyCases("64 MiB", 64 * MiB, 1),
  {
    name: "DataView.getBigUint64",
    ops: N,
    fn: () => {
      let s = 0n;
      for (let i = 0; i < N; i++) s ^= raw.getBigUint64((i & 63) << 3, true);
      return Number(s & 1n);
    },
  },
  {
    name: "HostSharedMemory.readU64",
    ops: N,
    baseline: "DataView.getBigUint64",
    fn: () => {
      let s = 0n;
      for (let i = 0; i < N; i++) s ^= host.readU64((i & 63) << 3);
      return Number(s & 1n);
    },
  },
  {
    name: "DataView.setBigUint64",
    ops: N,
    fn: () => {
      for (let i = 0; i < N; i++) raw.setBigUint64((i & 63) << 3, VALUES[i & 63], true);
      return 0;
    },
  },
  {
    name: "HostSharedMemory.writeU64",
    ops: N,
    baseline: "DataView.setBigUint64",
    fn: () => {
      for (let i = 0; i < N; i++) host.writeU64((i & 63) << 3, VALUES[i & 63]);
      return 0;
    },
  },
  {
    name: "VolatileSlice.writeU64",
    ops: N,
    baseline: "DataView.setBigUint64",
    fn: () => {
      for (let i = 0; i < N; i++) slice.writeU64((i & 63) << 3, VALUES[i & 63]);
      return 0;
    },
  },
  {
    name: "write 4 KiB: Uint8Array.set",
    ops: PAGE_OPS,
    fn: () => {
      for (let i = 0; i < PAGE_OPS; i++) guestRaw.set(page, (i & 7) * P);
      return 0;
    },
  },
  {
    name: "write 4 KiB: tracking off",
    ops: PAGE_OPS,
    baseline: "write 4 KiB: Uint8Array.set",
    fn: () => {
      let s = 0;
      for (let i = 0; i < PAGE_OPS; i++) s += mem.write(page, (i & 7) * P);
      return s;
    },
  },
  {
    name: "write 4 KiB: tracking on",
    ops: PAGE_OPS,
    baseline: "write 4 KiB: tracking off",
    fn: () => {
      let s = 0;
      for (let i = 0; i < PAGE_OPS; i++) s += tracked.write(page, (i & 7) * P);
      return s;
    },
  },
  {
    name: "write 64 B inside a region",
    ops: W,
    fn: () => {
      let s = 0;
      for (let i = 0; i < W; i++) s += mem.write(small, 32 * KiB);
      return s;
    },
  },
  {
    name: "write 64 B across regions",
    ops: W,
    baseline: "write 64 B inside a region",
    fn: () => {
      let s = 0;
      for (let i = 0; i < W; i++) s += mem.write(small, 64 * KiB - 32);
      return s;
    },
  },
  {
    name: "findRegion: 10 regions",
    ops: W,
    fn: () => {
      let s = 0;
      for (let i = 0; i < W; i++) s += ten.findRegion(tenAddrs[i & 1023])!.len();
      return s;
    },
  },
  {
    name: "findRegion: 1,000 regions",
    ops: W,
    baseline: "findRegion: 10 regions",
    fn: () => {
      let s = 0;
      for (let i = 0; i < W; i++) s += thousand.findRegion(thousandAddrs[i & 1023])!.len();
      return s;
    },
  },
];

// A filter keeps a case's baseline too, so that every ratio printed has its pair.
const wanted = new Set(
  cases.filter((c) => c.name.includes(FILTER)).flatMap((c) => [c.name, c.baseline ?? c.name]),
);
printMedians(cases.filter((c) => wanted.has(c.name)), ROUNDS, WARMUP, "ns/op");
for (const cleanup of cleanups) cleanup();
for (const m of [host, guest, mem, tracked, ten, thousand]) m.close();
