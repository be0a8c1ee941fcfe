/**
 * Page-granular dirty bitmaps, in the manner of vm-memory's `AtomicBitmap`: one bit per page of
 * a region, set by every write made through the API and read back by page index.
 *
 * A region without tracking has no bitmap at all (`null`), and its writers test that once: the
 * feature costs an untracked write one comparison, as vm-memory's `()` bitmap costs nothing.
 * Writes made around the API (zero-copy views from `bytes()`, `getAtomicRef` views, another
 * process mapping the same memory) are not seen: vm-memory has the same limit for raw pointers.
 *
 * @module
 */

import { PAGE_SIZE } from "../args.ts";
import { checkedEnd, checkU64 } from "../args.ts";
import { fail, Status } from "../status.ts";

/**
 * What a region's dirty bitmap answers: which pages were written through the API since the
 * last reset. Page indices are `offset / PAGE_SIZE` within the region.
 *
 * @example
 * ```ts
 * import { MmapRegion, PAGE_SIZE } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using region = MmapRegion.create(4 * PAGE_SIZE, { dirtyTracking: true });
 * region.asVolatileSlice().writeAt(2 * PAGE_SIZE + 5, new Uint8Array([1]));
 * assert.deepEqual(region.bitmap()!.dirtyPages(), [2]);
 * assert.deepEqual(region.bitmap()!.getAndReset(), [2]);
 * assert.deepEqual(region.bitmap()!.dirtyPages(), []);
 * ```
 */
export interface Bitmap {
  /** Whether the page holding byte `offset` is dirty (false past the end). */
  dirtyAt(offset: number): boolean;
  /** The dirty pages' indices, ascending. */
  dirtyPages(): number[];
  /** The dirty pages' indices, ascending; then every page is clean. */
  getAndReset(): number[];
  /** Marks the pages touching `[offset, offset + len)` clean (clipped to the region). */
  resetAddrRange(offset: number, len: number): void;
}

/**
 * What users get from `MmapRegion.bitmap()`: the `Bitmap` calls only. The library's own
 * `mark` stays on the `DirtyBitmap` behind it, so no caller can mark pages (or hand `mark` a
 * length that would loop for hours) through the object it was given.
 */
class PublicBitmap implements Bitmap {
  readonly #of: DirtyBitmap;
  constructor(of: DirtyBitmap) {
    this.#of = of;
  }
  dirtyAt(offset: number): boolean {
    return this.#of.dirtyAt(offset);
  }
  dirtyPages(): number[] {
    return this.#of.dirtyPages();
  }
  getAndReset(): number[] {
    return this.#of.getAndReset();
  }
  resetAddrRange(offset: number, len: number): void {
    this.#of.resetAddrRange(offset, len);
  }
}

/** One bit per page of a region of `size` bytes. */
export class DirtyBitmap implements Bitmap {
  readonly #words: Uint32Array;
  readonly #size: number;
  /** The object users see (see `PublicBitmap`). */
  readonly public: Bitmap;

  /** A clean bitmap for a region of `size` bytes. */
  constructor(size: number) {
    this.#size = size;
    this.#words = new Uint32Array(Math.ceil(Math.ceil(size / PAGE_SIZE) / 32));
    this.public = new PublicBitmap(this);
  }

  /** Marks the pages of `[offset, offset + len)` dirty; the caller checked the range. */
  mark(offset: number, len: number): void {
    if (len === 0) return;
    const first = Math.floor(offset / PAGE_SIZE);
    const last = Math.floor((offset + len - 1) / PAGE_SIZE);
    const words = this.#words;
    for (let page = first; page <= last; page++) words[page >>> 5] |= 1 << (page & 31);
  }

  /** See {@linkcode Bitmap.dirtyAt}. */
  dirtyAt(offset: number): boolean {
    checkU64(offset, "offset");
    if (offset >= this.#size) return false;
    const page = Math.floor(offset / PAGE_SIZE);
    return (this.#words[page >>> 5] & (1 << (page & 31))) !== 0;
  }

  /** See {@linkcode Bitmap.dirtyPages}. */
  dirtyPages(): number[] {
    const out: number[] = [];
    const words = this.#words;
    for (let w = 0; w < words.length; w++) {
      let bits = words[w];
      while (bits !== 0) {
        const low = 31 - Math.clz32(bits & -bits);
        out.push(w * 32 + low);
        bits &= bits - 1;
      }
    }
    return out;
  }

  /** See {@linkcode Bitmap.getAndReset}. */
  getAndReset(): number[] {
    const out = this.dirtyPages();
    this.#words.fill(0);
    return out;
  }

  /** See {@linkcode Bitmap.resetAddrRange}. */
  resetAddrRange(offset: number, len: number): void {
    checkU64(offset, "offset");
    checkU64(len, "len");
    const end = Math.min(checkedEnd(offset, len, "resetAddrRange"), this.#size);
    if (end <= offset) return;
    const first = Math.floor(offset / PAGE_SIZE);
    const last = Math.floor((end - 1) / PAGE_SIZE);
    const words = this.#words;
    for (let page = first; page <= last; page++) words[page >>> 5] &= ~(1 << (page & 31));
  }
}

/** `OUT_OF_RANGE` unless `[offset, offset + len)` lies within `size`. */
export function checkWithin(offset: number, len: number, size: number, what: string): void {
  if (checkedEnd(offset, len, what) > size) {
    fail(Status.OUT_OF_RANGE, `${what}: ${len} bytes at ${offset} pass the end (${size})`);
  }
}
