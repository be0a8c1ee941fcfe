/**
 * `HostSharedMemory`: the host's side of hyperlight's shared memory after `build()`. It only
 * ever copies: a guest may rewrite any byte at any moment, and a copy reads each byte once, so
 * a value read is the value used (a long-lived view would let the host read a length twice and
 * see two values). Every access is checked against the size the host recorded when it mapped
 * the buffer, never a size stored in the buffer, so no guest write can move a host access
 * outside it.
 *
 * The typed accessors follow one table (`U8` ... `F64`): a fast path (the cached view is live,
 * the lock is free, the offset is a small integer within the size: one `DataView` call) and a
 * slow path that runs every check and gives the exact status.
 *
 * @module
 */

import { byteLength, checkBytes, checkU64, describe } from "../args.ts";
import { fail, Status } from "../status.ts";
import type { Vmo } from "../vmo/vmo.ts";
import { SharedBuffer } from "../mapping/shared_buffer.ts";
import { checkRange, type GuardedLayout, INTERNAL, releaseLayout } from "./layout.ts";
import type { ExclusiveSharedMemory } from "./shared_memory.ts";

/** Runs a function with exclusive access (`withExclusivity` of the layout). */
export type Lend = (fn: (ex: ExclusiveSharedMemory) => unknown) => unknown;

const FENCE = new Int32Array(new SharedArrayBuffer(4));
const EMPTY = new Uint8Array(0);
const EMPTY_DATA = new DataView(new ArrayBuffer(0));
const builtinFill = Function.prototype.call.bind(Uint8Array.prototype.fill) as (
  self: Uint8Array,
  value: number,
  start: number,
  end: number,
) => Uint8Array;

function badValue(kind: string, value: unknown): never {
  fail(Status.INVALID_ARGS, `value ${describe(value)} does not fit a ${kind}`);
}

/**
 * The host's side after `build()`: bounds-checked copies and typed accesses only, each
 * checked against the size the host recorded, so it stays correct (and never faults) while a
 * guest rewrites the memory concurrently. `withExclusivity` lends a temporary
 * {@linkcode ExclusiveSharedMemory}. The mapping goes when both sides are closed.
 *
 * @example
 * ```ts
 * import { ExclusiveSharedMemory, Status, ZxError } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const [host, guest] = ExclusiveSharedMemory.create(4096).build();
 * host.writeU64(8, 0x1122334455667788n);
 * assert.equal(host.readU32(8), 0x55667788);
 * assert.throws(() => host.readU64(4090), (e) => e instanceof ZxError && e.status === Status.OUT_OF_RANGE);
 * const sum = host.withExclusivity((ex) => ex.asSlice().reduce((a, b) => a + b, 0));
 * assert.ok(sum > 0);
 * host.close();
 * guest.close();
 * ```
 */
export class HostSharedMemory implements Disposable {
  readonly #layout: GuardedLayout;
  readonly #lock: { held: boolean };
  readonly #size: number;
  readonly #buffer: SharedBuffer;
  #u8: Uint8Array<ArrayBuffer> = EMPTY;
  #data: DataView<ArrayBuffer> = EMPTY_DATA;
  #closed = false;

  readonly #lend: Lend;

  /** @ignore */
  constructor(token: symbol, layout: GuardedLayout, lend: Lend) {
    if (token !== INTERNAL) fail(Status.INVALID_ARGS, "use ExclusiveSharedMemory.build");
    this.#layout = layout;
    this.#lend = lend;
    this.#lock = layout.lock;
    this.#size = layout.memSize;
    this.#buffer = SharedBuffer.fromRange(layout.vmar, layout.base, layout.memSize);
    this.#refresh();
  }

  #refresh(): void {
    // The window's view: vmo detaches it before the memory goes, so a non-empty one is live.
    const view = this.#buffer.bytes();
    this.#u8 = view;
    this.#data = new DataView(view.buffer, view.byteOffset, view.length);
  }

  /** Every check of the slow path; a usable `DataView` for `[offset, offset + size)`. */
  #slow(offset: number, size: number): DataView<ArrayBuffer> {
    if (this.#closed || this.#layout.destroyed) {
      fail(Status.BAD_STATE, "the host memory was closed");
    }
    if (this.#lock.held) fail(Status.SHOULD_WAIT, "the memory is held exclusively");
    checkRange(offset, size, this.#size, "access");
    if (this.#u8.length === 0) this.#refresh();
    return this.#data;
  }

  #check(offset: number, len: number, what: string): void {
    if (this.#closed || this.#layout.destroyed) {
      fail(Status.BAD_STATE, "the host memory was closed");
    }
    if (this.#lock.held) fail(Status.SHOULD_WAIT, "the memory is held exclusively");
    checkRange(offset, len, this.#size, what);
  }

  /** Fills all of `dst` with the bytes at `offset`, or nothing (`OUT_OF_RANGE`). */
  copyToSlice(dst: Uint8Array, offset: number): void {
    checkBytes(dst, "dst");
    this.#check(offset, byteLength(dst), "copyToSlice");
    this.#buffer.readAt(offset, dst);
  }

  /** Copies all of `src` to `offset`, or nothing (`OUT_OF_RANGE`). */
  copyFromSlice(src: Uint8Array, offset: number): void {
    checkBytes(src, "src");
    this.#check(offset, byteLength(src), "copyFromSlice");
    this.#buffer.writeAt(offset, src);
  }

  /** Sets `len` bytes at `offset` to `value` (a byte), or nothing (`OUT_OF_RANGE`). */
  fill(value: number, offset: number, len: number): void {
    if ((value & 0xff) !== value) badValue("u8", value);
    checkU64(len, "len");
    this.#check(offset, len, "fill");
    if (this.#u8.length === 0) this.#refresh();
    builtinFill(this.#u8, value, offset, offset + len);
  }

  /**
   * Runs `fn` with exclusive access (hyperlight's `with_exclusivity`): a temporary
   * {@linkcode ExclusiveSharedMemory} whose views are detached when `fn` returns or throws.
   * While it runs, host accesses and another `withExclusivity` (a nested call, or the guest
   * side's) throw `SHOULD_WAIT` instead of waiting. `fn` must be synchronous: a promise it
   * returns settles after the access has ended.
   */
  withExclusivity<T>(fn: (ex: ExclusiveSharedMemory) => T): T {
    if (this.#closed) fail(Status.BAD_STATE, "the host memory was closed");
    return this.#lend(fn) as T;
  }

  /**
   * An acquire fence (a sequentially consistent `Atomics.add` on a shared cell, as
   * `SharedBufferSlice.acquireWrites`): a guest's writes released before it are seen by reads
   * after it. JavaScript orders nothing for plain memory that another process writes (it is no
   * `SharedArrayBuffer`), so a loop that polls the memory should call it each round.
   */
  acquireWrites(): void {
    Atomics.add(FENCE, 0, 0);
  }

  /** A release fence: writes before it are seen by a guest that acquires after it. */
  releaseWrites(): void {
    Atomics.add(FENCE, 0, 0);
  }

  /** A second host handle on the same memory (hyperlight's `Clone`). */
  clone(): HostSharedMemory {
    if (this.#closed || this.#layout.destroyed) {
      fail(Status.BAD_STATE, "the host memory was closed");
    }
    this.#layout.refs++;
    return new HostSharedMemory(INTERNAL, this.#layout, this.#lend);
  }

  /** The address of the buffer's first byte. */
  baseAddr(): number {
    if (this.#closed) fail(Status.BAD_STATE, "the host memory was closed");
    return this.#layout.base;
  }

  /** The buffer's size as the host recorded it. */
  memSize(): number {
    if (this.#closed) fail(Status.BAD_STATE, "the host memory was closed");
    return this.#size;
  }

  /** A duplicate handle to the VMO. */
  vmo(): Vmo {
    if (this.#closed || this.#layout.destroyed) {
      fail(Status.BAD_STATE, "the host memory was closed");
    }
    return this.#layout.vmo.duplicate();
  }

  /** Drops the host side; the mapping goes when the guest side is closed too. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#u8 = EMPTY;
    this.#data = EMPTY_DATA;
    releaseLayout(this.#layout);
  }

  /** = `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The `u8` at `offset`: `OUT_OF_RANGE` past the end. */
  readU8(offset: number): number {
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 1 <= this.#size
    ) {
      return this.#data.getUint8(offset);
    }
    return this.#slow(offset, 1).getUint8(offset);
  }

  /** The little-endian `u16` at `offset`: `OUT_OF_RANGE` past the end. */
  readU16(offset: number): number {
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 2 <= this.#size
    ) {
      return this.#data.getUint16(offset, true);
    }
    return this.#slow(offset, 2).getUint16(offset, true);
  }

  /** The little-endian `u32` at `offset`: `OUT_OF_RANGE` past the end. */
  readU32(offset: number): number {
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 4 <= this.#size
    ) {
      return this.#data.getUint32(offset, true);
    }
    return this.#slow(offset, 4).getUint32(offset, true);
  }

  /** The little-endian `u64` at `offset`: `OUT_OF_RANGE` past the end. */
  readU64(offset: number): bigint {
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 8 <= this.#size
    ) {
      return this.#data.getBigUint64(offset, true);
    }
    return this.#slow(offset, 8).getBigUint64(offset, true);
  }

  /** The `i8` at `offset`: `OUT_OF_RANGE` past the end. */
  readI8(offset: number): number {
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 1 <= this.#size
    ) {
      return this.#data.getInt8(offset);
    }
    return this.#slow(offset, 1).getInt8(offset);
  }

  /** The little-endian `i16` at `offset`: `OUT_OF_RANGE` past the end. */
  readI16(offset: number): number {
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 2 <= this.#size
    ) {
      return this.#data.getInt16(offset, true);
    }
    return this.#slow(offset, 2).getInt16(offset, true);
  }

  /** The little-endian `i32` at `offset`: `OUT_OF_RANGE` past the end. */
  readI32(offset: number): number {
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 4 <= this.#size
    ) {
      return this.#data.getInt32(offset, true);
    }
    return this.#slow(offset, 4).getInt32(offset, true);
  }

  /** The little-endian `i64` at `offset`: `OUT_OF_RANGE` past the end. */
  readI64(offset: number): bigint {
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 8 <= this.#size
    ) {
      return this.#data.getBigInt64(offset, true);
    }
    return this.#slow(offset, 8).getBigInt64(offset, true);
  }

  /** The little-endian `f32` at `offset`: `OUT_OF_RANGE` past the end. */
  readF32(offset: number): number {
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 4 <= this.#size
    ) {
      return this.#data.getFloat32(offset, true);
    }
    return this.#slow(offset, 4).getFloat32(offset, true);
  }

  /** The little-endian `f64` at `offset`: `OUT_OF_RANGE` past the end. */
  readF64(offset: number): number {
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 8 <= this.#size
    ) {
      return this.#data.getFloat64(offset, true);
    }
    return this.#slow(offset, 8).getFloat64(offset, true);
  }

  /** Writes `value` as a `u8` at `offset`; a value out of its range is `INVALID_ARGS`. */
  writeU8(offset: number, value: number): void {
    if (!((value & 0xff) === value)) badValue("U8", value);
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 1 <= this.#size
    ) {
      return this.#data.setUint8(offset, value);
    }
    this.#slow(offset, 1).setUint8(offset, value);
  }

  /** Writes `value` as a little-endian `u16` at `offset`; a value out of its range is `INVALID_ARGS`. */
  writeU16(offset: number, value: number): void {
    if (!((value & 0xffff) === value)) badValue("U16", value);
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 2 <= this.#size
    ) {
      return this.#data.setUint16(offset, value, true);
    }
    this.#slow(offset, 2).setUint16(offset, value, true);
  }

  /** Writes `value` as a little-endian `u32` at `offset`; a value out of its range is `INVALID_ARGS`. */
  writeU32(offset: number, value: number): void {
    if (!(value >>> 0 === value)) badValue("U32", value);
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 4 <= this.#size
    ) {
      return this.#data.setUint32(offset, value, true);
    }
    this.#slow(offset, 4).setUint32(offset, value, true);
  }

  /** Writes `value` as a little-endian `u64` at `offset`; a value out of its range is `INVALID_ARGS`. */
  writeU64(offset: number, value: bigint): void {
    if (!(typeof value === "bigint" && BigInt.asUintN(64, value) === value)) badValue("U64", value);
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 8 <= this.#size
    ) {
      return this.#data.setBigUint64(offset, value, true);
    }
    this.#slow(offset, 8).setBigUint64(offset, value, true);
  }

  /** Writes `value` as a `i8` at `offset`; a value out of its range is `INVALID_ARGS`. */
  writeI8(offset: number, value: number): void {
    if (!((value << 24) >> 24 === value)) badValue("I8", value);
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 1 <= this.#size
    ) {
      return this.#data.setInt8(offset, value);
    }
    this.#slow(offset, 1).setInt8(offset, value);
  }

  /** Writes `value` as a little-endian `i16` at `offset`; a value out of its range is `INVALID_ARGS`. */
  writeI16(offset: number, value: number): void {
    if (!((value << 16) >> 16 === value)) badValue("I16", value);
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 2 <= this.#size
    ) {
      return this.#data.setInt16(offset, value, true);
    }
    this.#slow(offset, 2).setInt16(offset, value, true);
  }

  /** Writes `value` as a little-endian `i32` at `offset`; a value out of its range is `INVALID_ARGS`. */
  writeI32(offset: number, value: number): void {
    if (!((value | 0) === value)) badValue("I32", value);
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 4 <= this.#size
    ) {
      return this.#data.setInt32(offset, value, true);
    }
    this.#slow(offset, 4).setInt32(offset, value, true);
  }

  /** Writes `value` as a little-endian `i64` at `offset`; a value out of its range is `INVALID_ARGS`. */
  writeI64(offset: number, value: bigint): void {
    if (!(typeof value === "bigint" && BigInt.asIntN(64, value) === value)) badValue("I64", value);
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 8 <= this.#size
    ) {
      return this.#data.setBigInt64(offset, value, true);
    }
    this.#slow(offset, 8).setBigInt64(offset, value, true);
  }

  /** Writes `value` as a little-endian `f32` at `offset`; a value out of its range is `INVALID_ARGS`. */
  writeF32(offset: number, value: number): void {
    if (!(typeof value === "number")) badValue("F32", value);
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 4 <= this.#size
    ) {
      return this.#data.setFloat32(offset, value, true);
    }
    this.#slow(offset, 4).setFloat32(offset, value, true);
  }

  /** Writes `value` as a little-endian `f64` at `offset`; a value out of its range is `INVALID_ARGS`. */
  writeF64(offset: number, value: number): void {
    if (!(typeof value === "number")) badValue("F64", value);
    if (
      this.#u8.length !== 0 && !this.#lock.held && offset >>> 0 === offset &&
      offset + 8 <= this.#size
    ) {
      return this.#data.setFloat64(offset, value, true);
    }
    this.#slow(offset, 8).setFloat64(offset, value, true);
  }
}
