/**
 * The plain state objects the generated typed accessors of guest memory work on
 * (`accessors.generated.ts`, from tools/gen_accessors.ts): the generated functions cannot reach
 * a class's `#private` fields, so each class keeps its hot fields here.
 *
 * @module
 */

import { checkedEnd, checkU64, describe } from "../args.ts";
import { fail, Status, ZxError } from "../status.ts";
import type { DirtyBitmap } from "./bitmap.ts";
import type { GuardedLayout, LayoutLock } from "./layout.ts";
import type { BufferLike } from "./raw_buffer.ts";

const EMPTY = new Uint8Array(0);
const EMPTY_DATA = new DataView(new ArrayBuffer(0));
/** Where a read of memory no view can be had over (protected read-only) is copied to. */
const READ_COPY = new Uint8Array(8);
const READ_COPY_DATA = new DataView(READ_COPY.buffer);

/** `INVALID_ARGS` unless `value` is a bigint that fits 64 signed bits (the `i64` check). */
export function checkI64Big(value: unknown): bigint {
  if (typeof value !== "bigint" || BigInt.asIntN(64, value) !== value) {
    fail(Status.INVALID_ARGS, `value must be a bigint in [-2^63, 2^63), got ${describe(value)}`);
  }
  return value;
}

/** `OUT_OF_RANGE` unless `[offset, offset + len)` is within `size` (all or nothing). */
function checkRange(offset: number, len: number, size: number, what: string): void {
  checkU64(offset, "offset");
  if (checkedEnd(offset, len, what) > size) {
    fail(Status.OUT_OF_RANGE, `${what}: ${len} bytes at ${offset} pass the end (${size})`);
  }
}

/**
 * What `HostSharedMemory`'s accessors read: its view (the fast path's only test, see
 * `park`/`refresh`), its recorded size and the lock.
 */
export class HostState {
  /**
   * The library's cached view over exactly `size` bytes; length 0 once closed, detached, or
   * while the lock is held (parked).
   */
  u8: Uint8Array<ArrayBuffer> = EMPTY;
  data: DataView<ArrayBuffer> = EMPTY_DATA;
  readonly lock: LayoutLock;
  /** The size the host recorded when it mapped the buffer: every access is checked by it. */
  readonly size: number;
  closed = false;
  readonly #layout: GuardedLayout;
  readonly #refresh: () => Uint8Array<ArrayBuffer>;
  readonly #readCopy: (offset: number, dst: Uint8Array) => void;
  readonly #self = new WeakRef(this);

  /**
   * The state of a host over `layout`; `refresh` makes a new view (or throws), `readCopy`
   * copies bytes out without one.
   */
  constructor(
    layout: GuardedLayout,
    refresh: () => Uint8Array<ArrayBuffer>,
    readCopy: (offset: number, dst: Uint8Array) => void,
  ) {
    this.#layout = layout;
    this.#readCopy = readCopy;
    this.lock = layout.lock;
    this.size = layout.memSize;
    this.#refresh = refresh;
    this.lock.hosts.add(this.#self);
    if (!this.lock.held) this.refresh();
  }

  /**
   * Takes a fresh view of the buffer. A view of any other length than the recorded size is
   * not kept (the fast path would trust its length): every access then takes the slow path.
   */
  refresh(): void {
    const view = this.#refresh();
    if (view.length !== this.size) return;
    this.u8 = view;
    this.data = new DataView(view.buffer, view.byteOffset, view.length);
  }

  /** Empties the view while the lock is held: the fast path refuses, the slow path checks. */
  park(): void {
    this.u8 = EMPTY;
    this.data = EMPTY_DATA;
  }

  /** `BAD_STATE` when closed, `SHOULD_WAIT` when held exclusively. */
  checkUsable(): void {
    if (this.closed || this.#layout.destroyed) fail(Status.BAD_STATE, "the host memory was closed");
    if (this.lock.held) fail(Status.SHOULD_WAIT, "the memory is held exclusively");
  }

  /** Every check of the slow path; a usable `DataView` for `[offset, offset + size)`. */
  slow(offset: number, size: number): DataView<ArrayBuffer> {
    this.checkUsable();
    checkRange(offset, size, this.size, "access");
    if (this.u8.length === 0) this.refresh();
    if (this.u8.length === 0) fail(Status.BAD_STATE, "the host memory has no view");
    return this.data;
  }

  /** Where the value of the last {@linkcode slowRead} starts in the view it returned. */
  at = 0;

  /**
   * Every check of a read's slow path; a `DataView` holding `[offset, offset + size)` at
   * {@linkcode at}: the view, or a copy of the bytes when no view can be had because the memory
   * was protected down to read-only (a view needs read-write memory; a copy only reading).
   */
  slowRead(offset: number, size: number): DataView<ArrayBuffer> {
    this.checkUsable();
    checkRange(offset, size, this.size, "access");
    if (this.u8.length === 0) {
      try {
        this.refresh();
      } catch (error) {
        if (!(error instanceof ZxError) || error.status !== Status.ACCESS_DENIED) throw error;
        this.#readCopy(offset, READ_COPY.subarray(0, size));
        this.at = 0;
        return READ_COPY_DATA;
      }
    }
    if (this.u8.length === 0) fail(Status.BAD_STATE, "the host memory has no view");
    this.at = offset;
    return this.data;
  }

  /** Drops the view (the host side was closed). */
  close(): void {
    this.closed = true;
    this.park();
    this.lock.hosts.delete(this.#self);
  }
}

/** What a `VolatileSlice`'s accessors read: its buffer, a lazily cached view and its bitmap. */
export class SliceState {
  readonly buf: BufferLike;
  readonly bitmap: DirtyBitmap | null;
  /** Where the slice starts in its region (the bitmap's offsets). */
  readonly base: number;
  /** A view over the slice once asked for (length 0 before, or when none can be had). */
  view: Uint8Array<ArrayBuffer> = EMPTY;
  data: DataView<ArrayBuffer> = EMPTY_DATA;
  #tried = false;

  /** The state of a slice over `buf`. */
  constructor(buf: BufferLike, bitmap: DirtyBitmap | null, base: number) {
    this.buf = buf;
    this.bitmap = bitmap;
    this.base = base;
  }

  /**
   * Takes a view the first time the slow path runs, when the memory allows one (read-write,
   * not a file): vmo detaches it before the memory goes, so a non-empty one is always live.
   */
  cache(): void {
    if (this.#tried) return;
    this.#tried = true;
    try {
      const view = this.buf.bytes();
      this.view = view;
      this.data = new DataView(view.buffer, view.byteOffset, view.length);
    } catch {
      // No view over this memory: every access takes the checked path.
    }
  }
}

/** What `GuestMemoryMmap`'s accessors read: the regions by guest address. */
export interface GuestMemState {
  /** The index of the region holding `addr`, or -1 (`BAD_STATE` once closed). */
  find(addr: number): number;
  starts: number[];
  ends: number[];
  bufs: BufferLike[];
  bitmaps: (DirtyBitmap | null)[];
  /** The `size` bytes at `addr` across adjacent regions, copied (`OUT_OF_RANGE` at a hole). */
  spanning(addr: number, size: number): DataView;
  /** Writes `bytes` at `addr` across adjacent regions, all or nothing, marking them dirty. */
  writeSlice(bytes: Uint8Array, addr: number): void;
}
