/**
 * `HostSharedMemory`: the host's side of hyperlight's shared memory after `build()`. It only
 * ever copies: a guest may rewrite any byte at any moment, and a copy reads each byte once, so
 * a value read is the value used (a long-lived view would let the host read a length twice and
 * see two values). Every access is checked against the size the host recorded when it mapped
 * the buffer, never a size stored in the buffer, so no guest write can move a host access
 * outside it.
 *
 * The typed accessors are generated from one table (tools/gen_accessors.ts, target `host`): a
 * fast path (the offset is a small integer within the cached view, which is empty while the
 * memory is closed, gone or held exclusively: one `DataView` call) and a slow path that runs
 * every check and gives the exact status.
 *
 * @module
 */

import { byteLength, checkBytes, checkU64, describe } from "../args.ts";
import { fail, Status } from "../status.ts";
import type { Vmo } from "../vmo/vmo.ts";
import { SharedBuffer, type SharedBufferSlice, windowOf } from "../mapping/shared_buffer.ts";
import { MEMORY_RANGE } from "../mapping/memory_range.ts";
import {
  checkRange,
  type GuardedLayout,
  guardLayout,
  INTERNAL,
  releaseLayout,
  unguardLayout,
} from "./layout.ts";
import type { ExclusiveSharedMemory } from "./shared_memory.ts";
import { HostState } from "./accessor_state.ts";
import * as generated from "./accessors.generated.ts";

// The generated accessors as module constants: V8 folds a constant, not an imported binding.
const {
  hostReadU8,
  hostReadU16,
  hostReadU32,
  hostReadU64,
  hostReadI8,
  hostReadI16,
  hostReadI32,
  hostReadI64,
  hostReadF32,
  hostReadF64,
  hostWriteU8,
  hostWriteU16,
  hostWriteU32,
  hostWriteU64,
  hostWriteI8,
  hostWriteI16,
  hostWriteI32,
  hostWriteI64,
  hostWriteF32,
  hostWriteF64,
} = generated;

/** Runs a function with exclusive access (`withExclusivity` of the layout). */
export type Lend = (fn: (ex: ExclusiveSharedMemory) => unknown) => unknown;

const FENCE = new Int32Array(new SharedArrayBuffer(4));
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
  readonly #h: HostState;
  readonly #buffer: SharedBuffer;
  readonly #lend: Lend;

  /** @ignore */
  constructor(token: symbol, layout: GuardedLayout, lend: Lend) {
    if (token !== INTERNAL) fail(Status.INVALID_ARGS, "use ExclusiveSharedMemory.build");
    this.#layout = layout;
    this.#lend = lend;
    const buffer = SharedBuffer.fromRange(layout.vmar, layout.base, layout.memSize);
    this.#buffer = buffer;
    // Views over it (a futex's word) keep this object, and so the memory, alive.
    windowOf(buffer).owner = this;
    // The window's view: vmo detaches it before the memory goes, so a non-empty one is live.
    this.#h = new HostState(layout, () => buffer.bytes(), (offset, dst) => {
      buffer.readAt(offset, dst);
    });
    guardLayout(this, layout);
  }

  #check(offset: number, len: number, what: string): void {
    this.#h.checkUsable();
    checkRange(offset, len, this.#h.size, what);
  }

  /**
   * The futex protocol (`src/mapping/memory_range.ts`): a buffer over exactly this memory.
   * @ignore
   */
  [MEMORY_RANGE](): SharedBufferSlice {
    if (this.#h.closed || this.#layout.destroyed) {
      fail(Status.BAD_STATE, "the host memory was closed");
    }
    return this.#buffer;
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
    if (typeof value !== "number" || (value & 0xff) !== value) badValue("u8", value);
    checkU64(len, "len");
    this.#check(offset, len, "fill");
    const h = this.#h;
    if (h.u8.length === 0) h.refresh();
    builtinFill(h.u8, value, offset, offset + len);
  }

  /**
   * Runs `fn` with exclusive access (hyperlight's `with_exclusivity`): a temporary
   * {@linkcode ExclusiveSharedMemory} whose views are detached when `fn` returns or throws.
   * While it runs, host accesses and another `withExclusivity` (a nested call, or the guest
   * side's) throw `SHOULD_WAIT` instead of waiting. `fn` must be synchronous: a promise it
   * returns settles after the access has ended.
   */
  withExclusivity<T>(fn: (ex: ExclusiveSharedMemory) => T): T {
    if (this.#h.closed) fail(Status.BAD_STATE, "the host memory was closed");
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
    if (this.#h.closed || this.#layout.destroyed) {
      fail(Status.BAD_STATE, "the host memory was closed");
    }
    this.#layout.refs++;
    return new HostSharedMemory(INTERNAL, this.#layout, this.#lend);
  }

  /** The address of the buffer's first byte. */
  baseAddr(): number {
    if (this.#h.closed) fail(Status.BAD_STATE, "the host memory was closed");
    return this.#layout.base;
  }

  /** The buffer's size as the host recorded it. */
  memSize(): number {
    if (this.#h.closed) fail(Status.BAD_STATE, "the host memory was closed");
    return this.#h.size;
  }

  /** A duplicate handle to the VMO. */
  vmo(): Vmo {
    if (this.#h.closed || this.#layout.destroyed) {
      fail(Status.BAD_STATE, "the host memory was closed");
    }
    return this.#layout.vmo.duplicate();
  }

  /** Drops the host side; the mapping goes when the guest side is closed too. Idempotent. */
  close(): void {
    if (this.#h.closed) return;
    this.#h.close();
    unguardLayout(this);
    releaseLayout(this.#layout);
  }

  /** = `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The little-endian `u8` at `offset`: `OUT_OF_RANGE` past the end, `SHOULD_WAIT` while held. */
  readU8(offset: number): number {
    return hostReadU8(this.#h, offset);
  }

  /** The little-endian `u16` at `offset`: `OUT_OF_RANGE` past the end, `SHOULD_WAIT` while held. */
  readU16(offset: number): number {
    return hostReadU16(this.#h, offset);
  }

  /** The little-endian `u32` at `offset`: `OUT_OF_RANGE` past the end, `SHOULD_WAIT` while held. */
  readU32(offset: number): number {
    return hostReadU32(this.#h, offset);
  }

  /** The little-endian `u64` at `offset`: `OUT_OF_RANGE` past the end, `SHOULD_WAIT` while held. */
  readU64(offset: number): bigint {
    return hostReadU64(this.#h, offset);
  }

  /** The little-endian `i8` at `offset`: `OUT_OF_RANGE` past the end, `SHOULD_WAIT` while held. */
  readI8(offset: number): number {
    return hostReadI8(this.#h, offset);
  }

  /** The little-endian `i16` at `offset`: `OUT_OF_RANGE` past the end, `SHOULD_WAIT` while held. */
  readI16(offset: number): number {
    return hostReadI16(this.#h, offset);
  }

  /** The little-endian `i32` at `offset`: `OUT_OF_RANGE` past the end, `SHOULD_WAIT` while held. */
  readI32(offset: number): number {
    return hostReadI32(this.#h, offset);
  }

  /** The little-endian `i64` at `offset`: `OUT_OF_RANGE` past the end, `SHOULD_WAIT` while held. */
  readI64(offset: number): bigint {
    return hostReadI64(this.#h, offset);
  }

  /** The little-endian `f32` at `offset`: `OUT_OF_RANGE` past the end, `SHOULD_WAIT` while held. */
  readF32(offset: number): number {
    return hostReadF32(this.#h, offset);
  }

  /** The little-endian `f64` at `offset`: `OUT_OF_RANGE` past the end, `SHOULD_WAIT` while held. */
  readF64(offset: number): number {
    return hostReadF64(this.#h, offset);
  }

  /** Writes `value` as a little-endian `u8` at `offset` (`INVALID_ARGS` when it does not fit). */
  writeU8(offset: number, value: number): void {
    hostWriteU8(this.#h, offset, value);
  }

  /** Writes `value` as a little-endian `u16` at `offset` (`INVALID_ARGS` when it does not fit). */
  writeU16(offset: number, value: number): void {
    hostWriteU16(this.#h, offset, value);
  }

  /** Writes `value` as a little-endian `u32` at `offset` (`INVALID_ARGS` when it does not fit). */
  writeU32(offset: number, value: number): void {
    hostWriteU32(this.#h, offset, value);
  }

  /** Writes `value` as a little-endian `u64` at `offset` (`INVALID_ARGS` when it does not fit). */
  writeU64(offset: number, value: bigint): void {
    hostWriteU64(this.#h, offset, value);
  }

  /** Writes `value` as a little-endian `i8` at `offset` (`INVALID_ARGS` when it does not fit). */
  writeI8(offset: number, value: number): void {
    hostWriteI8(this.#h, offset, value);
  }

  /** Writes `value` as a little-endian `i16` at `offset` (`INVALID_ARGS` when it does not fit). */
  writeI16(offset: number, value: number): void {
    hostWriteI16(this.#h, offset, value);
  }

  /** Writes `value` as a little-endian `i32` at `offset` (`INVALID_ARGS` when it does not fit). */
  writeI32(offset: number, value: number): void {
    hostWriteI32(this.#h, offset, value);
  }

  /** Writes `value` as a little-endian `i64` at `offset` (`INVALID_ARGS` when it does not fit). */
  writeI64(offset: number, value: bigint): void {
    hostWriteI64(this.#h, offset, value);
  }

  /** Writes `value` as a little-endian `f32` at `offset` (`INVALID_ARGS` when it does not fit). */
  writeF32(offset: number, value: number): void {
    hostWriteF32(this.#h, offset, value);
  }

  /** Writes `value` as a little-endian `f64` at `offset` (`INVALID_ARGS` when it does not fit). */
  writeF64(offset: number, value: number): void {
    hostWriteF64(this.#h, offset, value);
  }
}
