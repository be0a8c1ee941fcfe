/**
 * `VolatileSlice`: vm-memory's bounds-checked window on guest memory. Every access is a copy
 * (never a reference a racing guest could change between two reads), and every write made
 * through it marks its pages in the region's dirty bitmap, when the region has one.
 *
 * @module
 */

import { checkedEnd, checkU64 } from "../args.ts";
import { fail, Status } from "../status.ts";
import type { DirtyBitmap } from "./bitmap.ts";
import type { BufferLike } from "./raw_buffer.ts";
import { SliceState } from "./accessor_state.ts";
import { RawBuffer } from "./raw_buffer.ts";
import { MEMORY_RANGE } from "../mapping/memory_range.ts";
import type { SharedBufferSlice } from "../mapping/shared_buffer.ts";
import * as generated from "./accessors.generated.ts";

// The generated accessors (target `slice`, with the dirty-marking hook on every writer) as
// module constants: V8 folds a constant, not an imported binding.
const {
  sliceReadU8,
  sliceReadU16,
  sliceReadU32,
  sliceReadI32,
  sliceReadU64,
  sliceReadF32,
  sliceReadF64,
  sliceWriteU8,
  sliceWriteU16,
  sliceWriteU32,
  sliceWriteI32,
  sliceWriteU64,
  sliceWriteF32,
  sliceWriteF64,
} = generated;

const CONSTRUCT = Symbol("VolatileSlice");

/** The vmo buffer behind a slice or region: `NOT_SUPPORTED` for raw memory vmo did not map. */
export function rangeOf(buffer: BufferLike): SharedBufferSlice {
  if (buffer instanceof RawBuffer) {
    fail(Status.NOT_SUPPORTED, "memory vmo did not map (unsafeBuildRaw) has no futex words");
  }
  return buffer as unknown as SharedBufferSlice;
}

/** Builds a slice (not for users). */
export function makeSlice(
  buffer: BufferLike,
  bitmap: DirtyBitmap | null,
  regionOffset: number,
): VolatileSlice {
  return new VolatileSlice(CONSTRUCT, buffer, bitmap, regionOffset);
}

/**
 * A bounds-checked slice of a guest memory region: the operations of `SharedBufferSliceMut`
 * (copies, typed little-endian accesses, fences), with every write marking its pages dirty in
 * the region's bitmap. Made by `MmapRegion.getSlice`/`asVolatileSlice` and
 * `GuestMemoryMmap.getSlice`.
 *
 * `bytes()` hands out a zero-copy view, and writes through it are not tracked: use it only
 * where the caller accepts that (as vm-memory's raw pointers).
 *
 * @example
 * ```ts
 * import { MmapRegion } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using region = MmapRegion.create(4096, { dirtyTracking: true });
 * const slice = region.getSlice(16, 8);
 * slice.writeU32(0, 0xdeadbeef);
 * assert.equal(slice.readU32(0), 0xdeadbeef);
 * assert.deepEqual(region.bitmap()!.dirtyPages(), [0]);
 * ```
 */
export class VolatileSlice {
  readonly #s: SliceState;
  readonly #buf: BufferLike;
  readonly #bitmap: DirtyBitmap | null;
  readonly #base: number;

  /** @ignore */
  constructor(token: symbol, buffer: BufferLike, bitmap: DirtyBitmap | null, base: number) {
    if (token !== CONSTRUCT) fail(Status.INVALID_ARGS, "use MmapRegion.getSlice");
    this.#s = new SliceState(buffer, bitmap, base);
    this.#buf = buffer;
    this.#bitmap = bitmap;
    this.#base = base;
  }

  /**
   * The futex protocol (`src/mapping/memory_range.ts`): a buffer over exactly this memory.
   * @ignore
   */
  [MEMORY_RANGE](): SharedBufferSlice {
    return rangeOf(this.#buf);
  }

  /** The length in bytes. */
  len(): number {
    return this.#buf.len();
  }

  /** Whether the slice is empty. */
  isEmpty(): boolean {
    return this.#buf.len() === 0;
  }

  /** Copies from the start into `dst`; returns `min(dst.length, len())`. */
  read(dst: Uint8Array): number {
    return this.#buf.readAt(0, dst);
  }

  /** Copies from `offset` into `dst`; the count that fits (`OUT_OF_RANGE` past the end). */
  readAt(offset: number, dst: Uint8Array): number {
    return this.#buf.readAt(offset, dst);
  }

  /** Copies `src` to the start; returns the count that fits. Marks the pages dirty. */
  write(src: Uint8Array): number {
    return this.writeAt(0, src);
  }

  /** Copies `src` to `offset`; returns the count that fits. Marks the pages dirty. */
  writeAt(offset: number, src: Uint8Array): number {
    const n = this.#buf.writeAt(offset, src);
    if (this.#bitmap !== null) this.#bitmap.mark(this.#base + offset, n);
    return n;
  }

  /** vm-memory's `copy_to`: copies `min(dst.length, len())` bytes out; returns the count. */
  copyTo(dst: Uint8Array): number {
    return this.#buf.readAt(0, dst);
  }

  /** vm-memory's `copy_from`: copies `min(src.length, len())` bytes in; returns the count. */
  copyFrom(src: Uint8Array): number {
    return this.writeAt(0, src);
  }

  /** The sub-slice `[offset, offset + count)`: `OUT_OF_RANGE` past the end. */
  subslice(offset: number, count: number): VolatileSlice {
    checkU64(offset, "offset");
    checkU64(count, "count");
    const end = checkedEnd(offset, count, "subslice");
    if (end > this.#buf.len()) {
      fail(Status.OUT_OF_RANGE, `subslice ${offset}+${count} past the end (${this.#buf.len()})`);
    }
    return new VolatileSlice(
      CONSTRUCT,
      this.#buf.sliceMut(offset, end),
      this.#bitmap,
      this.#base + offset,
    );
  }

  /** vm-memory's `offset`: the slice from `count` to the end. */
  offset(count: number): VolatileSlice {
    checkU64(count, "count");
    if (count > this.#buf.len()) fail(Status.OUT_OF_RANGE, `offset ${count} past the end`);
    return this.subslice(count, this.#buf.len() - count);
  }

  /**
   * A zero-copy view (read-write memory only). Writes through it are NOT marked dirty, and it
   * is detached (length 0) when the region is closed.
   */
  bytes(): Uint8Array<ArrayBuffer> {
    return this.#buf.bytes();
  }

  /** An acquire fence (see `SharedBufferSlice.acquireWrites`). */
  acquireWrites(): void {
    this.#buf.acquireWrites();
  }

  /** A release fence (see `SharedBufferSliceMut.releaseWrites`). */
  releaseWrites(): void {
    this.#buf.releaseWrites();
  }

  /** The little-endian `u8` at `offset` (`OUT_OF_RANGE` past the end). */
  readU8(offset: number): number {
    return sliceReadU8(this.#s, offset);
  }

  /** The little-endian `u16` at `offset` (`OUT_OF_RANGE` past the end). */
  readU16(offset: number): number {
    return sliceReadU16(this.#s, offset);
  }

  /** The little-endian `u32` at `offset` (`OUT_OF_RANGE` past the end). */
  readU32(offset: number): number {
    return sliceReadU32(this.#s, offset);
  }

  /** The little-endian `i32` at `offset` (`OUT_OF_RANGE` past the end). */
  readI32(offset: number): number {
    return sliceReadI32(this.#s, offset);
  }

  /** The little-endian `u64` at `offset` (`OUT_OF_RANGE` past the end). */
  readU64(offset: number): bigint {
    return sliceReadU64(this.#s, offset);
  }

  /** The little-endian `f32` at `offset` (`OUT_OF_RANGE` past the end). */
  readF32(offset: number): number {
    return sliceReadF32(this.#s, offset);
  }

  /** The little-endian `f64` at `offset` (`OUT_OF_RANGE` past the end). */
  readF64(offset: number): number {
    return sliceReadF64(this.#s, offset);
  }

  /** Writes a little-endian `u8` at `offset`; marks its pages dirty. */
  writeU8(offset: number, value: number): void {
    sliceWriteU8(this.#s, offset, value);
  }

  /** Writes a little-endian `u16` at `offset`; marks its pages dirty. */
  writeU16(offset: number, value: number): void {
    sliceWriteU16(this.#s, offset, value);
  }

  /** Writes a little-endian `u32` at `offset`; marks its pages dirty. */
  writeU32(offset: number, value: number): void {
    sliceWriteU32(this.#s, offset, value);
  }

  /** Writes a little-endian `i32` at `offset`; marks its pages dirty. */
  writeI32(offset: number, value: number): void {
    sliceWriteI32(this.#s, offset, value);
  }

  /** Writes a little-endian `u64` at `offset`; marks its pages dirty. */
  writeU64(offset: number, value: bigint): void {
    sliceWriteU64(this.#s, offset, value);
  }

  /** Writes a little-endian `f32` at `offset`; marks its pages dirty. */
  writeF32(offset: number, value: number): void {
    sliceWriteF32(this.#s, offset, value);
  }

  /** Writes a little-endian `f64` at `offset`; marks its pages dirty. */
  writeF64(offset: number, value: number): void {
    sliceWriteF64(this.#s, offset, value);
  }
}
