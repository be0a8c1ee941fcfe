/**
 * Typed accessors against a plain `DataView` over the same mapped memory, as interleaved
 * medians after warm-up in one process (what `deno bench`'s averages blur with outliers).
 *
 * Cases: `readU32`/`writeU32` at one offset, and a mixed-width loop (u8/u16/u32/u64/f64 reads
 * and writes at moving, mostly unaligned offsets). Each round times every case once, in turn;
 * the first rounds are warm-up. Prints nanoseconds per access and the ratio to the baseline.
 *
 * Run: `deno run --allow-ffi --allow-read --allow-write tools/accessor_medians.ts [rounds]`
 *
 * @module
 */

import { Mapping } from "../mod.ts";
import { type MedianCase, printMedians } from "./medians.ts";

const ROUNDS = Number(Deno.args[0] ?? 7);
const WARMUP = 3;
const SIZE = 64 * 1024;
const [mapping, vmo] = Mapping.allocate(SIZE);
mapping.writeAt(0, new Uint8Array(SIZE).fill(0x5a)); // fault every page in
const [ptr, len] = mapping.asPtrLen();
const rawBuffer = Deno.UnsafePointerView.getArrayBuffer(ptr!, len) as ArrayBuffer;
const raw = new DataView(rawBuffer);

const N = 2_000_000;
const MIXED = 200_000; // iterations; 10 accesses each

const cases: MedianCase[] = [
  {
    name: "SharedBuffer.readU32",
    ops: N,
    baseline: "DataView.getUint32",
    fn: () => {
      let s = 0;
      for (let i = 0; i < N; i++) s ^= mapping.readU32(64);
      return s;
    },
  },
  {
    name: "DataView.getUint32",
    ops: N,
    fn: () => {
      let s = 0;
      for (let i = 0; i < N; i++) s ^= raw.getUint32(64, true);
      return s;
    },
  },
  {
    name: "SharedBuffer.writeU32",
    ops: N,
    baseline: "DataView.setUint32",
    fn: () => {
      for (let i = 0; i < N; i++) mapping.writeU32(64, i);
      return 0;
    },
  },
  {
    name: "DataView.setUint32",
    ops: N,
    fn: () => {
      for (let i = 0; i < N; i++) raw.setUint32(64, i, true);
      return 0;
    },
  },
  {
    name: "SharedBuffer mixed widths",
    ops: MIXED * 10,
    baseline: "DataView mixed widths",
    fn: () => {
      let s = 0;
      for (let i = 0; i < MIXED; i++) {
        const o = (i * 37) & 0xfff;
        mapping.writeU8(o, i & 0xff);
        mapping.writeU16(o + 1, i & 0xffff);
        mapping.writeU32(o + 3, i);
        mapping.writeU64(o + 7, BigInt(i));
        mapping.writeF64(o + 15, i * 0.5);
        s ^= mapping.readU8(o + 2);
        s ^= mapping.readU16(o + 5);
        s ^= mapping.readU32(o + 9);
        s ^= Number(mapping.readU64(o + 11) & 0xffn);
        s ^= mapping.readF64(o + 17) | 0;
      }
      return s;
    },
  },
  {
    name: "DataView mixed widths",
    ops: MIXED * 10,
    fn: () => {
      let s = 0;
      for (let i = 0; i < MIXED; i++) {
        const o = (i * 37) & 0xfff;
        raw.setUint8(o, i & 0xff);
        raw.setUint16(o + 1, i & 0xffff, true);
        raw.setUint32(o + 3, i, true);
        raw.setBigUint64(o + 7, BigInt(i), true);
        raw.setFloat64(o + 15, i * 0.5, true);
        s ^= raw.getUint8(o + 2);
        s ^= raw.getUint16(o + 5, true);
        s ^= raw.getUint32(o + 9, true);
        s ^= Number(raw.getBigUint64(o + 11, true) & 0xffn);
        s ^= raw.getFloat64(o + 17, true) | 0;
      }
      return s;
    },
  },
];

printMedians(cases, ROUNDS, WARMUP, "ns/access");
rawBuffer.transfer(0);
mapping.close();
vmo.close();
