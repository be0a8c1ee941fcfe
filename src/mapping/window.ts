/**
 * The mapped memory behind a `SharedBuffer` and its slices, and the views vmo keeps over it.
 *
 * A window caches one view for reading and one for reading and writing, each registered with
 * the region tree, which detaches it before the memory under it loses the permission it needs
 * (unmap, protect, destroy, overwrite, VMO shrink). A detached view has length 0, so "is the
 * cached view usable" is one length test, and every copy on the fast path is a plain
 * `Uint8Array.set`. When the test fails, the slow path asks the tree with one query
 * (`queryRange`: one walk gives the status, the viewability and the mappings a new view is
 * watched on): `BAD_STATE` once the memory was unmapped, `ACCESS_DENIED` or `OUT_OF_RANGE` for
 * the pages touched, and otherwise a fresh view.
 *
 * Views over memory that is readable but not writable are kept internal and only read from:
 * JavaScript has no read-only typed array, and a write through one would kill the process.
 * Memory that someone else can cut (a regular file, a memfd a peer holds unsealed) gets no
 * view at all: its copies go through `process_vm_readv`/`writev`, which fail instead of
 * faulting.
 *
 * @module
 */

import { fail, Status } from "../status.ts";
import {
  copyMemory,
  type Lease,
  PERM_READ,
  PERM_WRITE,
  queryRange,
  type RangeQuery,
  type VmarObject,
  writeMemoryShort,
} from "../vmar/memory.ts";
import { MappingRecord } from "../vmar/region.ts";
import { addWatch, HeldLease, newWatch } from "../vmar/watch.ts";

const READ_WRITE = PERM_READ | PERM_WRITE;
const EMPTY = new Uint8Array(0);
const DEAD: Lease = { dead: true };
const EMPTY_DATA = new DataView(new ArrayBuffer(0));
/** The property by which a view's buffer keeps the window's owner (a `Mapping`) alive. */
const OWNER = Symbol("vmo.owner");

/** A range of mapped memory in a VMAR, with the cached views over it. */
export class Window {
  readonly vmar: VmarObject;
  readonly addr: number;
  readonly len: number;
  /**
   * What must stay alive while the window's memory is in use (a `Mapping`, which unmaps when
   * collected): held by the window, and so by every slice, and by every view's buffer.
   */
  owner: object | null = null;
  /**
   * What the owner's `close()` unmaps (`null` when there is no owner, or once it closed): kept
   * here rather than in a `WeakMap` by owner, whose set and delete cost a runtime call each.
   */
  unmapper: { addr: number; size: number; lease: Lease } | null = null;
  /** Dies when any of the memory is unmapped. */
  readonly lease: HeldLease = new HeldLease();
  /** Over the whole window while it is readable (length 0 otherwise). */
  readView: Uint8Array<ArrayBuffer> = EMPTY;
  readData: DataView<ArrayBuffer> = EMPTY_DATA;
  /** The subarray of `readView` the last `readAt` copied from, and where it starts. */
  lastRead: Uint8Array<ArrayBuffer> = EMPTY;
  lastReadAt = -1;
  /** Over the whole window while it is readable and writable (length 0 otherwise). */
  writeView: Uint8Array<ArrayBuffer> = EMPTY;
  writeData: DataView<ArrayBuffer> = EMPTY_DATA;
  /**
   * Alive while the whole window was last found readable and writable, but not viewable
   * (memory someone else can cut): writes then go straight to `process_vm_writev`, which
   * fails rather than faults, without asking the tree again. It dies when any of the memory
   * loses write permission or is unmapped (`RangeQuery.watchPermissions`).
   */
  #writeThrough: Lease = DEAD;

  /**
   * A window on `[addr, addr + len)`, which the caller checked is mapped. `ownsMemory`: the
   * window's owner unmaps the memory when it is collected (a `Mapping`), so the lease may be
   * held strongly.
   */
  constructor(vmar: VmarObject, addr: number, len: number, ownsMemory = false) {
    this.vmar = vmar;
    this.addr = addr;
    this.len = len;
    const end = addr + len;
    const direct = vmar.children.find(addr);
    if (direct instanceof MappingRecord && addr < end && end <= direct.end) {
      // One direct mapping (every `Mapping`'s case): the watch `queryRange` would register,
      // without the query's walk and allocations.
      addWatch(direct, newWatch(addr, end, 0, this.lease, ownsMemory));
    } else {
      queryRange(vmar, addr, end, 0).watch(0, this.lease, ownsMemory);
    }
  }

  /** `BAD_STATE` once any of the window's memory was unmapped. */
  checkLive(): void {
    if (this.lease.dead) fail(Status.BAD_STATE, "the memory under the buffer was unmapped");
  }

  /**
   * The cached view for `needs` (PERM_READ, or PERM_READ|PERM_WRITE), made anew when the whole
   * window allows it; an empty array when it does not.
   */
  refresh(needs: number): Uint8Array<ArrayBuffer> {
    this.checkLive();
    if (this.len === 0) return EMPTY;
    const query = queryRange(this.vmar, this.addr, this.addr + this.len, needs);
    if (query.status !== Status.OK) return EMPTY;
    if (!query.viewable) {
      if (needs === READ_WRITE && this.#writeThrough.dead) {
        const lease: Lease = { dead: false };
        query.watchPermissions(READ_WRITE, lease);
        this.#writeThrough = lease;
      }
      return EMPTY;
    }
    const view = this.#makeView(query, this.addr, this.len, needs);
    const data = new DataView(view.buffer);
    this.readView = view;
    this.readData = data;
    if (needs === READ_WRITE) {
      this.writeView = view;
      this.writeData = data;
    }
    return view;
  }

  /**
   * The slow path of a copy: checks `[at, at + count)` of the window for `needs`, then calls
   * `copy` with a view and the index in it of the window's byte `at`. A write (`needs` has
   * PERM_WRITE) must fill all `count` bytes of that range.
   */
  withView<T>(
    at: number,
    count: number,
    needs: number,
    copy: (view: Uint8Array<ArrayBuffer>, index: number) => T,
  ): T {
    const whole = this.refresh(needs);
    if (whole.length !== 0) return copy(whole, at);
    const start = this.addr + at;
    const query = queryRange(this.vmar, start, start + count, needs);
    if (query.status !== Status.OK) {
      fail(query.status, `${needs & PERM_WRITE ? "write" : "read"} of ${count} bytes at +${at}`);
    }
    if (!query.viewable) return this.#bounce(start, count, needs, copy);
    // Part of the window lacks the permission but these pages have it: a view of just them,
    // detached before anything else can run.
    const pointer = Deno.UnsafePointer.create(BigInt(start))!;
    const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, count) as ArrayBuffer;
    try {
      return copy(new Uint8Array(buffer), 0);
    } finally {
      buffer.transfer(0);
    }
  }

  /**
   * Writes the first `count` bytes of `src` at the window's byte `at` (checked to be inside the
   * window) with `process_vm_writev` when the window is known read-write but unviewable; false
   * when it is not known so (the caller takes {@linkcode Window.withView}).
   */
  writeThrough(at: number, src: Uint8Array, count: number): boolean {
    if (this.#writeThrough.dead) return false;
    if (writeMemoryShort(this.addr + at, src, count) === count) return true;
    if (copyMemory(this.vmar, this.addr + at, src, true) < count) {
      fail(Status.OUT_OF_RANGE, "the memory was cut short while being written");
    }
    return true;
  }

  /** A copy through a private buffer and `process_vm_readv`/`writev`, for unviewable memory. */
  #bounce<T>(
    start: number,
    count: number,
    needs: number,
    copy: (view: Uint8Array<ArrayBuffer>, index: number) => T,
  ): T {
    const write = (needs & PERM_WRITE) !== 0;
    const bounce = new Uint8Array(count);
    if (!write && copyMemory(this.vmar, start, bounce, false) < count) {
      fail(Status.OUT_OF_RANGE, "the memory was cut short while being read");
    }
    const result = copy(bounce, 0);
    if (write && copyMemory(this.vmar, start, bounce, true) < count) {
      fail(Status.OUT_OF_RANGE, "the memory was cut short while being written");
    }
    return result;
  }

  /**
   * A view over `[start, start + len)`, watched on the mappings `query` (of that range, just
   * made, which passed) found.
   */
  #makeView(
    query: RangeQuery,
    start: number,
    len: number,
    needs: number,
  ): Uint8Array<ArrayBuffer> {
    const pointer = Deno.UnsafePointer.create(BigInt(start))!;
    const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, len) as ArrayBuffer;
    if (this.owner !== null) Object.defineProperty(buffer, OWNER, { value: this.owner });
    query.watch(needs, buffer);
    return new Uint8Array(buffer);
  }

  /**
   * A new view of `len` bytes at `at` for the caller to keep: read-write memory only
   * (`ACCESS_DENIED`, `OUT_OF_RANGE`, `NOT_FOUND` otherwise), never memory someone else can cut
   * (`NOT_SUPPORTED`).
   */
  keptView(at: number, len: number, cuttableToo = false): ArrayBuffer {
    this.checkLive();
    const start = this.addr + at;
    const query = queryRange(this.vmar, start, start + len, READ_WRITE);
    if (query.status !== Status.OK) fail(query.status, `no read-write memory for a view at +${at}`);
    if (!query.viewable && !cuttableToo) {
      fail(
        Status.NOT_SUPPORTED,
        "the memory is a file (or a memfd another process holds) whose size can change under a view",
      );
    }
    return this.#makeView(query, start, len, READ_WRITE).buffer;
  }
}

export { READ_WRITE };
