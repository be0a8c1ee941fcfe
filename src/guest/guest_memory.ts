/**
 * `GuestMemoryMmap`: vm-memory's guest-physical address space, a sorted set of non-overlapping
 * `GuestRegionMmap`s. Lookups are a binary search over the region starts (O(log n)); reads and
 * writes that run past a region's end continue into the next region when it starts right
 * there, and stop at a hole.
 *
 * @module
 */

import { byteLength, checkBytes, checkedEnd, checkU64, copyBytes, describe } from "../args.ts";
import { PAGE_SIZE } from "../args.ts";
import { fail, Status } from "../status.ts";
import type { DirtyBitmap } from "./bitmap.ts";
import { GuestRegionMmap } from "./guest_region.ts";
import {
  type FileOffset,
  MmapRegion,
  type MmapRegionOptions,
  regionInternals,
} from "./mmap_region.ts";
import type { BufferLike } from "./raw_buffer.ts";
import { type GuestMemorySharing, makeSharing, type SharedPart } from "./sharing.ts";
import type { VolatileSlice } from "./volatile_slice.ts";
import type { GuestMemState } from "./accessor_state.ts";
import * as generated from "./accessors.generated.ts";
import { copyAcross, type RegionTable } from "./cross_region.ts";

// The generated accessors (target `guest`) as module constants: V8 folds a constant, not an
// imported binding.
const {
  guestReadU8,
  guestReadU16,
  guestReadU32,
  guestReadI32,
  guestReadU64,
  guestReadF32,
  guestReadF64,
  guestWriteU8,
  guestWriteU16,
  guestWriteU32,
  guestWriteI32,
  guestWriteU64,
  guestWriteF32,
  guestWriteF64,
} = generated;

const CONSTRUCT = Symbol("GuestMemoryMmap");

/**
 * Guest-physical memory made of mmap regions (vm-memory's `GuestMemoryMmap`): reads and writes
 * by guest address, typed accesses, slices, dirty pages in guest addresses, and OpenVMM-style
 * `sharing()`. It owns its regions: `close()` closes them all.
 *
 * A hole between regions: `read`/`write` return the count up to it; `readSlice`/`writeSlice`,
 * typed accessors and `getSlice` throw `OUT_OF_RANGE` and touch nothing. An access starting in
 * a hole is `OUT_OF_RANGE` (vm-memory's `InvalidGuestAddress`).
 *
 * @example
 * ```ts
 * import { GuestMemoryMmap } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using mem = GuestMemoryMmap.fromRanges([[0, 0x1000], [0x1000, 0x1000]]);
 * // 8 bytes across the boundary of two adjacent regions
 * mem.writeU64(0xffc, 0x0102030405060708n);
 * assert.equal(mem.readU64(0xffc), 0x0102030405060708n);
 * assert.equal(mem.numRegions(), 2);
 * assert.equal(mem.lastAddr(), 0x1fff);
 * ```
 */
export class GuestMemoryMmap implements Disposable {
  readonly #regions: GuestRegionMmap[];
  readonly #starts: number[];
  readonly #ends: number[];
  readonly #bufs: BufferLike[];
  readonly #bitmaps: (DirtyBitmap | null)[];
  /**
   * Per region, the library's cached read-write view (length 0 when the region has none: a
   * file, read-only memory, or memory since unmapped, which vmo detaches first): the write
   * fast path copies into it directly.
   */
  readonly #views: Uint8Array<ArrayBuffer>[];
  /** The slot index of `#find`: see `#buildIndex`. */
  #slotBase = 0;
  #slotSize = 1;
  #slots: Int32Array = new Int32Array(1);
  /** What the generated accessors read (the same arrays, and lookups bound to this memory). */
  readonly #m: GuestMemState;
  /** The same arrays, for the copies that cross regions (cross_region.ts). */
  readonly #table: RegionTable;
  #closed = false;

  /** @ignore */
  constructor(token: symbol, regions: GuestRegionMmap[]) {
    if (token !== CONSTRUCT) fail(Status.INVALID_ARGS, "use GuestMemoryMmap.fromRegions");
    this.#regions = regions;
    this.#starts = regions.map((r) => r.startAddr());
    this.#ends = regions.map((r) => r.startAddr() + r.len());
    const internals = regions.map((r) => regionInternals(r.region()));
    this.#bufs = internals.map((i) => i.buffer);
    this.#bitmaps = internals.map((i) => i.bitmap);
    this.#views = internals.map((i) => {
      try {
        return i.buffer.bytes();
      } catch {
        return new Uint8Array(0);
      }
    });
    this.#buildIndex();
    this.#table = {
      regions: this.#regions,
      starts: this.#starts,
      ends: this.#ends,
      bufs: this.#bufs,
      bitmaps: this.#bitmaps,
      views: this.#views,
    };
    this.#m = {
      find: (addr) => this.#find(addr),
      starts: this.#starts,
      ends: this.#ends,
      bufs: this.#bufs,
      bitmaps: this.#bitmaps,
      spanning: (addr, size) => this.#spanning(addr, size),
      writeSlice: (bytes, addr) => this.writeSlice(bytes, addr),
    };
  }

  /**
   * An index that makes most lookups O(1) and all O(log n): the span of guest addresses is cut
   * into about `2n` equal slots (a power of two bytes each), and each slot records the last
   * region starting at or before it. A lookup reads its slot and the next, and binary-searches
   * only the regions between the two (usually none or one).
   */
  #buildIndex(): void {
    const n = this.#starts.length;
    const base = this.#starts[0];
    const span = this.#ends[n - 1] - base;
    let slotSize = 1;
    while (span / slotSize > 2 * n + 2) slotSize *= 2;
    const count = Math.floor(span / slotSize) + 2;
    const slots = new Int32Array(count);
    let r = 0;
    for (let k = 0; k < count; k++) {
      const at = base + k * slotSize;
      while (r + 1 < n && this.#starts[r + 1] <= at) r++;
      slots[k] = r;
    }
    this.#slotBase = base;
    this.#slotSize = slotSize;
    this.#slots = slots;
  }

  /**
   * Takes `regions` over (sorted by address). Errors: `INVALID_ARGS` for an empty list,
   * something that is not a `GuestRegionMmap`, or two regions that overlap.
   */
  static fromRegions(regions: GuestRegionMmap[]): GuestMemoryMmap {
    if (!Array.isArray(regions) || regions.length === 0) {
      fail(Status.INVALID_ARGS, "regions must be a non-empty array");
    }
    const sorted = [...regions];
    for (const r of sorted) {
      if (!(r instanceof GuestRegionMmap)) {
        fail(Status.INVALID_ARGS, `not a GuestRegionMmap: ${describe(r)}`);
      }
    }
    sorted.sort((a, b) => a.startAddr() - b.startAddr());
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].startAddr() <= sorted[i - 1].lastAddr()) {
        fail(
          Status.INVALID_ARGS,
          `regions at 0x${sorted[i - 1].startAddr().toString(16)} and 0x${
            sorted[i].startAddr().toString(16)
          } overlap`,
        );
      }
    }
    return new GuestMemoryMmap(CONSTRUCT, sorted);
  }

  /**
   * Fresh anonymous regions at the given `[guestAddr, size]` ranges (`opts` as
   * `MmapRegion.create`: `dirtyTracking`, `hugetlb`). Overlapping ranges: `INVALID_ARGS`.
   */
  static fromRanges(
    ranges: [guestAddr: number, size: number][],
    opts: MmapRegionOptions = {},
  ): GuestMemoryMmap {
    if (!Array.isArray(ranges)) fail(Status.INVALID_ARGS, "ranges must be an array");
    return GuestMemoryMmap.fromRangesWithFiles(
      ranges.map((r) => {
        if (!Array.isArray(r)) fail(Status.INVALID_ARGS, "each range is [guestAddr, size]");
        return [r[0], r[1], null] as [number, number, null];
      }),
      opts,
    );
  }

  /** As `fromRanges`, each range backed by a file (`MmapRegion.fromFile`) or, for null, fresh memory. */
  static fromRangesWithFiles(
    ranges: [guestAddr: number, size: number, file: FileOffset | null][],
    opts: MmapRegionOptions = {},
  ): GuestMemoryMmap {
    if (!Array.isArray(ranges) || ranges.length === 0) {
      fail(Status.INVALID_ARGS, "ranges must be a non-empty array");
    }
    // Everything is checked before any memory is made, so a bad list leaks nothing.
    const checked = ranges.map((r) => {
      if (!Array.isArray(r)) fail(Status.INVALID_ARGS, "each range is [guestAddr, size, file]");
      const addr = checkU64(r[0], "guestAddr");
      const size = checkU64(r[1], "size");
      if (size === 0) fail(Status.INVALID_ARGS, "a range of size 0");
      checkedEnd(addr, size, "guestAddr + size");
      return [addr, size, r[2] ?? null] as const;
    });
    const order = [...checked].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < order.length; i++) {
      if (order[i][0] < order[i - 1][0] + order[i - 1][1]) {
        fail(Status.INVALID_ARGS, `ranges at 0x${order[i][0].toString(16)} overlap`);
      }
    }
    const made: GuestRegionMmap[] = [];
    try {
      for (const [addr, size, file] of order) {
        const region = file === null
          ? MmapRegion.create(size, opts)
          : MmapRegion.fromFile(file, size, opts);
        made.push(new GuestRegionMmap(region, addr));
      }
    } catch (error) {
      for (const r of made) r.close();
      throw error;
    }
    return new GuestMemoryMmap(CONSTRUCT, made);
  }

  #live(): void {
    if (this.#closed) fail(Status.BAD_STATE, "the guest memory was closed");
  }

  /** The index of the region holding `addr`, or -1 (see `#buildIndex`). */
  #find(addr: number): number {
    if (this.#closed) fail(Status.BAD_STATE, "the guest memory was closed");
    // Before any arithmetic: a string or an object would be coerced (running its code), and a
    // fraction inside a region would pass the range test and be truncated by the copy.
    if (typeof addr !== "number" || !Number.isInteger(addr) || addr < 0) checkU64(addr, "addr");
    const starts = this.#starts;
    const slot = Math.floor((addr - this.#slotBase) / this.#slotSize);
    let i: number;
    if (slot >= 0 && slot + 1 < this.#slots.length) {
      let lo = this.#slots[slot];
      let hi = this.#slots[slot + 1];
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (starts[mid] <= addr) lo = mid;
        else hi = mid - 1;
      }
      i = lo;
    } else {
      i = starts.length - 1;
    }
    return addr >= starts[i] && addr < this.#ends[i] ? i : -1;
  }

  /** How many regions there are. */
  numRegions(): number {
    this.#live();
    return this.#regions.length;
  }

  /** The highest guest address of any region. */
  lastAddr(): number {
    this.#live();
    return this.#ends[this.#ends.length - 1] - 1;
  }

  /** The region holding `addr`, if any (O(log n)). */
  findRegion(addr: number): GuestRegionMmap | undefined {
    const i = this.#find(addr);
    return i < 0 ? undefined : this.#regions[i];
  }

  /** The regions, ascending. */
  regions(): GuestRegionMmap[] {
    this.#live();
    return [...this.#regions];
  }

  /** Whether `addr` is in a region. */
  checkAddress(addr: number): boolean {
    return this.#find(addr) >= 0;
  }

  /** Whether every byte of `[addr, addr + len)` is in a region (no hole). */
  checkRange(addr: number, len: number): boolean {
    checkU64(addr, "addr");
    checkU64(len, "len");
    if (len === 0) {
      this.#find(addr);
      return true;
    }
    if (addr + len > Number.MAX_SAFE_INTEGER) return false;
    return this.#reach(addr, len) === len;
  }

  /** How many bytes from `addr` (up to `len`) lie in contiguous regions. */
  #reach(addr: number, len: number): number {
    let i = this.#find(addr);
    if (i < 0) return 0;
    let at = addr;
    const end = checkedEnd(addr, len, "addr + len");
    while (at < end) {
      at = Math.min(end, this.#ends[i]);
      if (at === end) break;
      i++;
      if (i >= this.#starts.length || this.#starts[i] !== at) break;
    }
    return at - addr;
  }

  /**
   * Copies into `dst` from `addr` and returns the count: all of it, or up to a hole.
   * `OUT_OF_RANGE` when `addr` itself is in no region.
   */
  read(dst: Uint8Array, addr: number): number {
    checkBytes(dst, "dst");
    const n = byteLength(dst);
    const i = this.#find(addr);
    if (i >= 0 && addr + n <= this.#ends[i]) {
      return this.#bufs[i].readAt(addr - this.#starts[i], dst);
    }
    return copyAcross(this.#table, i, addr, dst, n, false);
  }

  /**
   * Copies `src` to `addr` and returns the count: all of it, or up to a hole. Marks the pages
   * written dirty. `OUT_OF_RANGE` when `addr` itself is in no region.
   */
  write(src: Uint8Array, addr: number): number {
    checkBytes(src, "src");
    const n = byteLength(src);
    const i = this.#find(addr);
    if (i >= 0 && addr + n <= this.#ends[i]) {
      const offset = addr - this.#starts[i];
      const view = this.#views[i];
      // A non-empty cached view is live read-write memory (vmo detaches it first).
      if (view.length !== 0) copyBytes(view, src, offset);
      else this.#bufs[i].writeAt(offset, src);
      const bitmap = this.#bitmaps[i];
      if (bitmap !== null) bitmap.mark(offset, n);
      return n;
    }
    return copyAcross(this.#table, i, addr, src, n, true);
  }

  /** Fills all of `dst` from `addr`, or nothing (`OUT_OF_RANGE` across a hole). */
  readSlice(dst: Uint8Array, addr: number): void {
    checkBytes(dst, "dst");
    const n = byteLength(dst);
    if (this.#reach(addr, n) < n) {
      fail(Status.OUT_OF_RANGE, `${n} bytes at 0x${addr.toString(16)} cross a hole`);
    }
    copyAcross(this.#table, this.#find(addr), addr, dst, n, false);
  }

  /** Writes all of `src` to `addr`, or nothing (`OUT_OF_RANGE` across a hole). */
  writeSlice(src: Uint8Array, addr: number): void {
    checkBytes(src, "src");
    const n = byteLength(src);
    if (this.#reach(addr, n) < n) {
      fail(Status.OUT_OF_RANGE, `${n} bytes at 0x${addr.toString(16)} cross a hole`);
    }
    copyAcross(this.#table, this.#find(addr), addr, src, n, true);
  }

  /** A typed value that spans adjacent regions, read through a scratch copy. */
  #spanning(addr: number, size: number): DataView {
    const scratch = new Uint8Array(size);
    this.readSlice(scratch, addr);
    return new DataView(scratch.buffer);
  }

  /** A slice of `len` bytes at `addr`, which must lie within one region (`OUT_OF_RANGE`). */
  getSlice(addr: number, len: number): VolatileSlice {
    checkU64(len, "len");
    const i = this.#find(addr);
    if (i < 0 || checkedEnd(addr, len, "addr + len") > this.#ends[i]) {
      fail(Status.OUT_OF_RANGE, `${len} bytes at 0x${addr.toString(16)} are not in one region`);
    }
    return this.#regions[i].region().getSlice(addr - this.#starts[i], len);
  }

  /** Runs of dirty pages, `[guestAddr, pages]`, ascending (regions with tracking only). */
  dirtyPages(): [guestAddr: number, pages: number][] {
    this.#live();
    const runs: [number, number][] = [];
    for (let i = 0; i < this.#regions.length; i++) {
      const bitmap = this.#bitmaps[i];
      if (bitmap === null) continue;
      for (const page of bitmap.dirtyPages()) {
        const addr = this.#starts[i] + page * PAGE_SIZE;
        const last = runs[runs.length - 1];
        if (last !== undefined && last[0] + last[1] * PAGE_SIZE === addr) last[1]++;
        else runs.push([addr, 1]);
      }
    }
    return runs;
  }

  /** Marks every page clean. */
  resetDirty(): void {
    this.#live();
    for (const bitmap of this.#bitmaps) bitmap?.getAndReset();
  }

  /**
   * OpenVMM's sharing: the regions as VMOs another process can map, or null when one cannot
   * be shared (a `PRIVATE` or raw region).
   */
  sharing(): GuestMemorySharing | null {
    this.#live();
    const parts: SharedPart[] = [];
    for (let i = 0; i < this.#regions.length; i++) {
      const share = regionInternals(this.#regions[i].region()).share;
      if (share === null) return null;
      parts.push({
        guestAddress: this.#starts[i],
        size: this.#regions[i].len(),
        vmo: share.vmo,
        fileOffset: share.offset,
      });
    }
    return makeSharing(parts);
  }

  /** Closes every region. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of this.#regions) r.close();
  }

  /** = `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The little-endian `u8` at guest address `addr` (across adjacent regions too; a hole: `OUT_OF_RANGE`). */
  readU8(addr: number): number {
    return guestReadU8(this.#m, addr);
  }

  /** The little-endian `u16` at guest address `addr` (across adjacent regions too; a hole: `OUT_OF_RANGE`). */
  readU16(addr: number): number {
    return guestReadU16(this.#m, addr);
  }

  /** The little-endian `u32` at guest address `addr` (across adjacent regions too; a hole: `OUT_OF_RANGE`). */
  readU32(addr: number): number {
    return guestReadU32(this.#m, addr);
  }

  /** The little-endian `i32` at guest address `addr` (across adjacent regions too; a hole: `OUT_OF_RANGE`). */
  readI32(addr: number): number {
    return guestReadI32(this.#m, addr);
  }

  /** The little-endian `u64` at guest address `addr` (across adjacent regions too; a hole: `OUT_OF_RANGE`). */
  readU64(addr: number): bigint {
    return guestReadU64(this.#m, addr);
  }

  /** The little-endian `f32` at guest address `addr` (across adjacent regions too; a hole: `OUT_OF_RANGE`). */
  readF32(addr: number): number {
    return guestReadF32(this.#m, addr);
  }

  /** The little-endian `f64` at guest address `addr` (across adjacent regions too; a hole: `OUT_OF_RANGE`). */
  readF64(addr: number): number {
    return guestReadF64(this.#m, addr);
  }

  /** Writes a little-endian `u8` at guest address `addr`; marks its pages dirty. */
  writeU8(addr: number, value: number): void {
    guestWriteU8(this.#m, addr, value);
  }

  /** Writes a little-endian `u16` at guest address `addr`; marks its pages dirty. */
  writeU16(addr: number, value: number): void {
    guestWriteU16(this.#m, addr, value);
  }

  /** Writes a little-endian `u32` at guest address `addr`; marks its pages dirty. */
  writeU32(addr: number, value: number): void {
    guestWriteU32(this.#m, addr, value);
  }

  /** Writes a little-endian `i32` at guest address `addr`; marks its pages dirty. */
  writeI32(addr: number, value: number): void {
    guestWriteI32(this.#m, addr, value);
  }

  /** Writes a little-endian `u64` at guest address `addr`; marks its pages dirty. */
  writeU64(addr: number, value: bigint): void {
    guestWriteU64(this.#m, addr, value);
  }

  /** Writes a little-endian `f32` at guest address `addr`; marks its pages dirty. */
  writeF32(addr: number, value: number): void {
    guestWriteF32(this.#m, addr, value);
  }

  /** Writes a little-endian `f64` at guest address `addr`; marks its pages dirty. */
  writeF64(addr: number, value: number): void {
    guestWriteF64(this.#m, addr, value);
  }
}
