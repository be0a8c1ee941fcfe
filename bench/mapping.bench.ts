/**
 * `Mapping` copies and typed accesses against plain typed arrays over the same mapped memory.
 *
 * One `Mapping.allocate` of 2 MiB (read-write, every page written before the bench, so no case
 * takes a page fault) is the memory of every group. The baselines use a plain `Uint8Array` and a
 * `DataView` over that memory, made with `Deno.UnsafePointerView.getArrayBuffer` from the
 * mapping's `asPtrLen()`: what a caller would write without the library's checks.
 *
 * Groups `writeAt <size>` and `readAt <size>` (64 B, 4 KiB, 1 MiB, at offset 0 of the mapping)
 * compare, for each placement of the JavaScript buffer:
 * - `writeAt(0, src)` / `readAt(0, dst)`;
 * - `Uint8Array.set` on the plain view (the baseline): `raw.set(src, 0)` for a write and
 *   `dst.set(rawPart)` for a read, `rawPart` being a `subarray` made once, out of the loop;
 * - for reads, the same `set` with the `subarray` made on each call, as `readAt` does.
 * The placements: `page-aligned` (the buffer starts a page, as the mapping does) and `+16`
 * (the buffer starts 16 bytes into a page, as a fresh large `Uint8Array` does; see `placed`
 * in bench/vmo.bench.ts: `memcpy`'s `rep movsb` is several times slower on some AMD CPUs when
 * the destination sits 1 to 31 bytes past the source modulo 4096, which is the read case here).
 * The goals: 64 B within 2x, 1 MiB at no less than 0.9x the baseline's speed.
 *
 * Groups `readU32` and `writeU32` compare the library's typed accesses at offset 64 with
 * `DataView.getUint32`/`setUint32` (little-endian) on the plain view (the baseline); group
 * `writeU64` does the same with `setBigUint64`. Group `mixed widths` makes ten typed accesses
 * (u8/u16/u32/u64/f64 writes, then reads) at a moving, mostly unaligned offset per call,
 * against the same `DataView` calls. The goal: within 2x. (`deno bench` reports means, which
 * outliers skew on a shared machine: tools/accessor_medians.ts gives interleaved medians.)
 *
 * Everything is released when the bench process unloads (the plain view detached, the mapping
 * closed, the VMO closed).
 *
 * Run with `deno task bench`.
 *
 * @module
 */

import { Mapping } from "../mod.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const PAGE = 4096;

const cleanups: (() => void)[] = [];
globalThis.addEventListener("unload", () => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

const MAPPING_SIZE = 2 * MiB;
const [mapping, vmo] = Mapping.allocate(MAPPING_SIZE);
cleanups.push(() => vmo.close());
cleanups.push(() => mapping.close());
mapping.writeAt(0, new Uint8Array(MAPPING_SIZE).fill(0x5a)); // fault every page in

const [ptr, len] = mapping.asPtrLen();
const rawBuffer = Deno.UnsafePointerView.getArrayBuffer(ptr!, len) as ArrayBuffer;
cleanups.push(() => rawBuffer.transfer(0)); // detach before the memory goes away
const raw = new Uint8Array(rawBuffer);
const rawData = new DataView(rawBuffer);

/**
 * A `size`-byte view whose first byte sits `pageOffset` bytes into a page (as in
 * bench/vmo.bench.ts).
 */
function placed(size: number, pageOffset: number): Uint8Array<ArrayBuffer> {
  const buffer = new Uint8Array(size + 2 * PAGE);
  const address = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
  const start = (PAGE - (address % PAGE)) % PAGE + pageOffset;
  return buffer.subarray(start, start + size);
}

const SIZES = [
  { label: "64 B", size: 64 },
  { label: "4 KiB", size: 4 * KiB },
  { label: "1 MiB", size: MiB },
];
const PLACEMENTS = [
  { label: "page-aligned", pageOffset: 0 },
  { label: "+16", pageOffset: 16 },
];

for (const { label, size } of SIZES) {
  for (const placement of PLACEMENTS) {
    const src = placed(size, placement.pageOffset).fill(0xa5);
    const dst = placed(size, placement.pageOffset);
    const rawPart = raw.subarray(0, size);
    const writeGroup = `writeAt ${label}, buffer ${placement.label}`;
    const readGroup = `readAt ${label}, buffer ${placement.label}`;

    Deno.bench({
      name: "Mapping.writeAt",
      group: writeGroup,
      fn: () => {
        if (mapping.writeAt(0, src) !== size) throw new Error("short write");
      },
    });
    Deno.bench({
      name: "Uint8Array.set into the plain view",
      group: writeGroup,
      baseline: true,
      fn: () => {
        raw.set(src, 0);
      },
    });

    Deno.bench({
      name: "Mapping.readAt",
      group: readGroup,
      fn: () => {
        if (mapping.readAt(0, dst) !== size) throw new Error("short read");
      },
    });
    Deno.bench({
      name: "Uint8Array.set out of the plain view",
      group: readGroup,
      baseline: true,
      fn: () => {
        dst.set(rawPart);
      },
    });
    Deno.bench({
      name: "Uint8Array.set out of the plain view, subarray per call",
      group: readGroup,
      fn: () => {
        dst.set(raw.subarray(0, size));
      },
    });
  }
}

// ---- typed accesses --------------------------------------------------------------------------

const TYPED_AT = 64;
let sink = 0;
let value = 0;
cleanups.push(() => {
  if (sink === -1) console.log(sink); // keep the reads observable
});

Deno.bench({
  name: "Mapping.readU32",
  group: "readU32",
  fn: () => {
    sink ^= mapping.readU32(TYPED_AT);
  },
});
Deno.bench({
  name: "DataView.getUint32 on the plain view",
  group: "readU32",
  baseline: true,
  fn: () => {
    sink ^= rawData.getUint32(TYPED_AT, true);
  },
});

Deno.bench({
  name: "Mapping.writeU32",
  group: "writeU32",
  fn: () => {
    value = (value + 1) >>> 0;
    mapping.writeU32(TYPED_AT, value);
  },
});
Deno.bench({
  name: "DataView.setUint32 on the plain view",
  group: "writeU32",
  baseline: true,
  fn: () => {
    value = (value + 1) >>> 0;
    rawData.setUint32(TYPED_AT, value, true);
  },
});

let wide = 0n;
Deno.bench({
  name: "Mapping.writeU64",
  group: "writeU64",
  fn: () => {
    wide = (wide + 1n) & 0xffff_ffff_ffff_ffffn;
    mapping.writeU64(TYPED_AT, wide);
  },
});
Deno.bench({
  name: "DataView.setBigUint64 on the plain view",
  group: "writeU64",
  baseline: true,
  fn: () => {
    wide = (wide + 1n) & 0xffff_ffff_ffff_ffffn;
    rawData.setBigUint64(TYPED_AT, wide, true);
  },
});

let at = 0;
Deno.bench({
  name: "Mapping, u8/u16/u32/u64/f64 writes and reads",
  group: "mixed widths",
  fn: () => {
    at = (at + 37) & 0xfff;
    mapping.writeU8(at, at & 0xff);
    mapping.writeU16(at + 1, at);
    mapping.writeU32(at + 3, at);
    mapping.writeU64(at + 7, 1n);
    mapping.writeF64(at + 15, at * 0.5);
    sink ^= mapping.readU8(at + 2) ^ mapping.readU16(at + 5) ^ mapping.readU32(at + 9) ^
      Number(mapping.readU64(at + 11) & 0xffn) ^ (mapping.readF64(at + 17) | 0);
  },
});
Deno.bench({
  name: "DataView, the same accesses on the plain view",
  group: "mixed widths",
  baseline: true,
  fn: () => {
    at = (at + 37) & 0xfff;
    rawData.setUint8(at, at & 0xff);
    rawData.setUint16(at + 1, at, true);
    rawData.setUint32(at + 3, at, true);
    rawData.setBigUint64(at + 7, 1n, true);
    rawData.setFloat64(at + 15, at * 0.5, true);
    sink ^= rawData.getUint8(at + 2) ^ rawData.getUint16(at + 5, true) ^
      rawData.getUint32(at + 9, true) ^ Number(rawData.getBigUint64(at + 11, true) & 0xffn) ^
      (rawData.getFloat64(at + 17, true) | 0);
  },
});
