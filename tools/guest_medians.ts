/**
 * The two guest-memory speed goals that `deno bench`'s averages blur on a shared machine
 * (docs/guest.md "Speed"), as interleaved medians after warm-up in one process: the host's
 * `writeU64` against a bare `DataView.setBigUint64` over the same memory, a `VolatileSlice`'s
 * against the same, and `GuestMemoryMmap.write` of 64 bytes across a region boundary against
 * the same write inside one region. Each round times every case once, in turn; the first rounds
 * are warm-up. Prints nanoseconds per operation and the ratio to the baseline.
 *
 * Run: `deno run --allow-ffi --allow-read --allow-write tools/guest_medians.ts [rounds]`
 *
 * @module
 */

import { ExclusiveSharedMemory, GuestMemoryMmap } from "../mod.ts";
import { type MedianCase, printMedians } from "./medians.ts";

const ROUNDS = Number(Deno.args[0] ?? 21);
const WARMUP = 5;
const KiB = 1024;
const N = 2_000_000;
const W = 500_000;

const [host, guest] = ExclusiveSharedMemory.create(64 * KiB).build();
const hostRaw = Deno.UnsafePointerView.getArrayBuffer(
  Deno.UnsafePointer.create(BigInt(host.baseAddr()))!,
  64 * KiB,
) as ArrayBuffer;
const raw = new DataView(hostRaw);
const mem = GuestMemoryMmap.fromRanges([[0, 64 * KiB], [64 * KiB, 64 * KiB]]);
mem.write(new Uint8Array(128 * KiB), 0);
const slice = mem.getSlice(0, 64 * KiB);
const small = new Uint8Array(64).fill(2);
// Offsets and values that change with each write: a constant store to one place is hoisted
// out of the loop by V8, and the baseline would time nothing.
const VALUES = Array.from({ length: 64 }, (_, k) => BigInt(k) * 0x0101_0101_0101n);

const cases: MedianCase[] = [
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
];

printMedians(cases, ROUNDS, WARMUP, "ns/op");
hostRaw.transfer(0);
host.close();
guest.close();
mem.close();
