/**
 * hyperlight's shared memory in three phases: `ExclusiveSharedMemory` while the host sets the
 * buffer up (zero-copy views allowed), then `build()` into a `HostSharedMemory`
 * (`host_memory.ts`, copies only) and the `GuestSharedMemory` the guest side holds. Both share
 * one guard-paged mapping (`layout.ts`).
 *
 * Linux difference: hyperlight's lock is a process-local `RwLock` that host and guest
 * handles share; here it is the same (in-process), and a guest in another process is not
 * excluded by it (as in hyperlight, where the guest is a VM).
 *
 * @module
 */

import { byteLength, checkBytes, PAGE_SIZE } from "../args.ts";
import { fail, Status } from "../status.ts";
import { Vmo, vmoObjectOf } from "../vmo/vmo.ts";
import { SharedBuffer, type SharedBufferSliceMut } from "../mapping/shared_buffer.ts";
import {
  checkRange,
  createLayout,
  type GuardedLayout,
  guardLayout,
  holdLock,
  INTERNAL,
  layoutSize,
  releaseLayout,
  unguardLayout,
} from "./layout.ts";
import { type SharedBufferSlice, windowOf } from "../mapping/shared_buffer.ts";
import { MEMORY_RANGE } from "../mapping/memory_range.ts";
import { HostSharedMemory, type Lend } from "./host_memory.ts";

const BORROW = Symbol("borrowed");
const OWN = Symbol("owned");

function takeLock(layout: GuardedLayout): void {
  if (layout.destroyed) fail(Status.BAD_STATE, "the shared memory was closed");
  if (layout.lock.held) {
    fail(Status.SHOULD_WAIT, "the shared memory is held exclusively (try again later)");
  }
  holdLock(layout.lock);
}

/**
 * The set-up phase of hyperlight's shared memory: a page-rounded VMO mapped read-write
 * between two `PROT_NONE` guard pages in a sub-VMAR of its own. The host may take zero-copy
 * views (`asSlice`, `asMutSlice`) here; `build()` detaches them and splits the memory into a
 * {@linkcode HostSharedMemory} and a {@linkcode GuestSharedMemory}.
 *
 * @example
 * ```ts
 * import { ExclusiveSharedMemory, PAGE_SIZE } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const ex = ExclusiveSharedMemory.create(100);
 * assert.equal(ex.memSize(), PAGE_SIZE);
 * assert.equal(ex.rawMemSize(), 3 * PAGE_SIZE);
 * const view = ex.asMutSlice();
 * view[0] = 42;
 * using hostAndGuest = new DisposableStack();
 * const [host, guest] = ex.build();
 * hostAndGuest.use(host);
 * hostAndGuest.use(guest);
 * assert.equal(view.length, 0); // detached by build()
 * assert.equal(host.readU8(0), 42);
 * ```
 */
export class ExclusiveSharedMemory implements Disposable {
  readonly #layout: GuardedLayout;
  readonly #buffer: SharedBuffer;
  readonly #borrowed: boolean;
  #views: ArrayBuffer[] = [];
  #done = false;

  /** @ignore */
  constructor(token: symbol, layout: GuardedLayout) {
    if (token !== BORROW && token !== OWN) {
      fail(Status.INVALID_ARGS, "use ExclusiveSharedMemory.create");
    }
    this.#layout = layout;
    this.#borrowed = token === BORROW;
    this.#buffer = SharedBuffer.fromRange(layout.vmar, layout.base, layout.memSize);
    if (!this.#borrowed) {
      // Its views keep it alive; collected unclosed, it releases the memory.
      windowOf(this.#buffer).owner = this;
      guardLayout(this, layout);
    }
  }

  /**
   * Maps `minSizeBytes` rounded up to the page size between two guard pages.
   * Errors: `INVALID_ARGS` for 0 or a non-integer; `NO_MEMORY` when it cannot fit.
   *
   * @example
   * ```ts
   * import { ExclusiveSharedMemory, Status, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * assert.throws(() => ExclusiveSharedMemory.create(0), (e) => e instanceof ZxError && e.status === Status.INVALID_ARGS);
   * using ex = ExclusiveSharedMemory.create(4096);
   * assert.equal(ex.memSize(), 4096);
   * ```
   */
  static create(minSizeBytes: number): ExclusiveSharedMemory {
    const memSize = layoutSize(minSizeBytes);
    const layout = createLayout(Vmo.create(memSize), memSize);
    try {
      return new ExclusiveSharedMemory(OWN, layout);
    } catch (error) {
      releaseLayout(layout);
      throw error;
    }
  }

  #live(): GuardedLayout {
    if (this.#done) {
      fail(
        Status.BAD_STATE,
        this.#borrowed ? "the exclusive access has ended" : "already built or closed",
      );
    }
    return this.#layout;
  }

  #view(): Uint8Array<ArrayBuffer> {
    this.#live();
    const view = this.#buffer.bytes();
    this.#views.push(view.buffer);
    return view;
  }

  /** A zero-copy view of the whole buffer, detached (length 0) by `build()` or `close()`. */
  asSlice(): Uint8Array<ArrayBuffer> {
    return this.#view();
  }

  /** A zero-copy writable view of the whole buffer, detached by `build()` or `close()`. */
  asMutSlice(): Uint8Array<ArrayBuffer> {
    return this.#view();
  }

  /**
   * The futex protocol (`src/mapping/memory_range.ts`): a buffer over exactly this memory.
   * @ignore
   */
  [MEMORY_RANGE](): SharedBufferSlice {
    this.#live();
    return this.#buffer;
  }

  /** Copies all of `src` to `offset`, or nothing (`OUT_OF_RANGE`). */
  copyFromSlice(src: Uint8Array, offset: number): void {
    const layout = this.#live();
    checkBytes(src, "src");
    checkRange(offset, byteLength(src), layout.memSize, "copyFromSlice");
    this.#buffer.writeAt(offset, src);
  }

  /** Fills all of `dst` from `offset`, or nothing (`OUT_OF_RANGE`). */
  copyToSlice(dst: Uint8Array, offset: number): void {
    const layout = this.#live();
    checkBytes(dst, "dst");
    checkRange(offset, byteLength(dst), layout.memSize, "copyToSlice");
    this.#buffer.readAt(offset, dst);
  }

  /** A copy of the whole buffer (hyperlight's `copy_all_to_vec`). */
  copyAllToVec(): Uint8Array<ArrayBuffer> {
    const layout = this.#live();
    const out = new Uint8Array(layout.memSize);
    this.#buffer.readAt(0, out);
    return out;
  }

  /** The address of the buffer's first byte (after the leading guard page). */
  baseAddr(): number {
    return this.#live().base;
  }

  /** The buffer's size, a multiple of the page size. */
  memSize(): number {
    return this.#live().memSize;
  }

  /** The size including the two guard pages. */
  rawMemSize(): number {
    return this.#live().memSize + 2 * PAGE_SIZE;
  }

  /** A duplicate handle to the VMO (for a guest process to `GuestSharedMemory.map`). */
  vmo(): Vmo {
    return this.#live().vmo.duplicate();
  }

  /**
   * Consumes this object (every later call is `BAD_STATE`; its views are detached) and
   * returns the host and guest sides of the same memory. Inside `withExclusivity` it is
   * `BAD_STATE`: the borrowed memory is not this object's to give away.
   */
  build(): [HostSharedMemory, GuestSharedMemory] {
    const layout = this.#live();
    if (this.#borrowed) fail(Status.BAD_STATE, "cannot build memory borrowed by withExclusivity");
    this.#retire();
    unguardLayout(this);
    layout.refs = 2;
    const lend: Lend = (fn) => withExclusivity(layout, fn);
    return [
      new HostSharedMemory(INTERNAL, layout, lend),
      new GuestSharedMemory(INTERNAL, layout),
    ];
  }

  /** Detaches the views and ends this object (not for users). */
  #retire(): void {
    this.#done = true;
    for (const view of this.#views) if (!view.detached) view.transfer(0);
    this.#views = [];
  }

  /** @ignore */
  static retire(ex: ExclusiveSharedMemory): void {
    ex.#retire();
  }

  /** Unmaps the memory unless it was built (or is borrowed). Idempotent. */
  close(): void {
    if (this.#done) return;
    this.#retire();
    if (!this.#borrowed) {
      unguardLayout(this);
      releaseLayout(this.#layout);
    }
  }

  /** = `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function withExclusivity<T>(layout: GuardedLayout, fn: (ex: ExclusiveSharedMemory) => T): T {
  if (typeof fn !== "function") fail(Status.INVALID_ARGS, "fn must be a function");
  takeLock(layout);
  let ex: ExclusiveSharedMemory | undefined;
  try {
    ex = new ExclusiveSharedMemory(BORROW, layout);
    return fn(ex);
  } finally {
    if (ex !== undefined) ExclusiveSharedMemory.retire(ex);
    layout.lock.held = false;
  }
}

/**
 * What the guest side holds: the VMO and, in this process or another (`map`), the same
 * guard-paged layout with zero-copy access through `buffer()`.
 *
 * @example
 * ```ts
 * import { ExclusiveSharedMemory, GuestSharedMemory } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const [host, guest] = ExclusiveSharedMemory.create(4096).build();
 * using vmo = guest.vmo();
 * using mapped = GuestSharedMemory.map(vmo); // what a guest process does with the VMO
 * mapped.buffer().writeU32(0, 7);
 * assert.equal(host.readU32(0), 7);
 * host.close();
 * guest.close();
 * ```
 */
export class GuestSharedMemory implements Disposable {
  readonly #layout: GuardedLayout;
  #closed = false;
  /** The buffer futexes use, made on first use. */
  #range: SharedBuffer | undefined;

  /** @ignore */
  constructor(token: symbol, layout: GuardedLayout) {
    if (token !== INTERNAL) fail(Status.INVALID_ARGS, "use build() or GuestSharedMemory.map");
    this.#layout = layout;
    guardLayout(this, layout);
  }

  /**
   * Maps `vmo` (its whole size) between two guard pages, as `ExclusiveSharedMemory.create`
   * does: what the guest's process calls with the VMO it was sent. The handle is duplicated.
   * Errors: `BAD_HANDLE`/`WRONG_TYPE` for `vmo`; `INVALID_ARGS` for an empty VMO;
   * `ACCESS_DENIED` without `READ`, `WRITE` or `MAP`; `NO_MEMORY`.
   */
  static map(vmo: Vmo): GuestSharedMemory {
    vmoObjectOf(vmo, "vmo");
    const memSize = layoutSize(vmo.getSize());
    const layout = createLayout(vmo.duplicate(), memSize);
    return new GuestSharedMemory(INTERNAL, layout);
  }

  #live(): GuardedLayout {
    if (this.#closed || this.#layout.destroyed) {
      fail(Status.BAD_STATE, "the guest memory was closed");
    }
    return this.#layout;
  }

  /** A duplicate handle to the VMO. */
  vmo(): Vmo {
    return this.#live().vmo.duplicate();
  }

  /** The buffer's size. */
  memSize(): number {
    return this.#live().memSize;
  }

  /** The address of the buffer's first byte in this process. */
  baseAddr(): number {
    return this.#live().base;
  }

  /** The guest's own access: a buffer over the whole memory (views detached on close). */
  buffer(): SharedBufferSliceMut {
    const layout = this.#live();
    const buffer = SharedBuffer.fromRange(layout.vmar, layout.base, layout.memSize);
    // The buffer, its slices and its views keep this object (and so the memory) alive.
    windowOf(buffer).owner = this;
    return buffer.sliceMut();
  }

  /**
   * The futex protocol (`src/mapping/memory_range.ts`): a buffer over exactly this memory.
   * @ignore
   */
  [MEMORY_RANGE](): SharedBufferSlice {
    const layout = this.#live();
    if (this.#range === undefined) {
      const buffer = SharedBuffer.fromRange(layout.vmar, layout.base, layout.memSize);
      windowOf(buffer).owner = this;
      this.#range = buffer;
    }
    return this.#range;
  }

  /** As `HostSharedMemory.withExclusivity`, sharing its lock. */
  withExclusivity<T>(fn: (ex: ExclusiveSharedMemory) => T): T {
    return withExclusivity(this.#live(), fn);
  }

  /** Drops the guest side; the mapping goes when the host side is closed too. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    unguardLayout(this);
    releaseLayout(this.#layout);
  }

  /** = `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
