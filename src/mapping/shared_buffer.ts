/**
 * `SharedBuffer` and its slices: bounds-checked, zero-copy access to mapped memory that another
 * party (a process, a guest, a device) may be changing at the same time.
 *
 * Like Fuchsia's `shared-buffer`, every access is a copy (`Uint8Array.set`, a `DataView` read)
 * rather than a long-lived reference the caller could read twice and see two values through;
 * the copies stop short at the end of the buffer and fail past it. Unlike it, the memory may go
 * away under the buffer (unmap, protect, destroy, VMO shrink): the buffer then fails cleanly,
 * and views it handed out read as length 0, never fault.
 *
 * @module
 */

import { byteLength, bytesWindow, checkBytes, checkedEnd, checkU64, copyBytes } from "../args.ts";
import { fail, Status } from "../status.ts";
import { PERM_READ, walk } from "../vmar/region.ts";
import type { Vmar } from "../vmar/vmar.ts";
import { vmarObjectOf } from "../vmar/vmar.ts";
import { READ_WRITE, Window } from "./window.ts";
import * as generated from "./accessors.generated.ts";
import { type BufferState, checkLive } from "./buffer_state.ts";

// The generated accessors as module constants, called as such: a call through the imported
// binding itself measured 5-10% slower on readU32/writeU32 (V8 does not fold a module's
// exported function binding, which its module could reassign; it folds a local constant).
const {
  sharedReadU8,
  sharedWriteU8,
  sharedReadU16,
  sharedWriteU16,
  sharedReadU32,
  sharedWriteU32,
  sharedReadI32,
  sharedWriteI32,
  sharedReadU64,
  sharedWriteU64,
  sharedReadF32,
  sharedWriteF32,
  sharedReadF64,
  sharedWriteF64,
} = generated;

const CONSTRUCT = Symbol("SharedBuffer");
const FENCE = new Int32Array(new SharedArrayBuffer(4));

let stateOf: (buffer: SharedBufferSlice) => BufferState;

/** Builds a buffer object of class `cls` over part of a window (not for users). */
export function makeBuffer<T extends SharedBufferSlice>(
  cls: new (token: symbol, state: BufferState) => T,
  win: Window,
  start: number,
  len: number,
): T {
  return new cls(CONSTRUCT, { win, start, len });
}

/** The window of `value` when it is a buffer object, else `null` (not for users). */
export function windowIfBuffer(value: unknown): Window | null {
  return isBuffer(value) ? stateOf(value as SharedBufferSlice).win : null;
}

let isBuffer: (value: unknown) => boolean;

/** The window of a buffer object (not for users). */
export function windowOf(buffer: SharedBufferSlice): Window {
  return stateOf(buffer).win;
}

function live(buffer: SharedBufferSlice): BufferState {
  return checkLive(stateOf(buffer));
}

/** Rust's `read_at` rule: `OUT_OF_RANGE` past the end, otherwise the count that fits. */
function countAt(state: BufferState, offset: number, want: number): number {
  checkU64(offset, "offset");
  if (offset > state.len) {
    fail(
      Status.OUT_OF_RANGE,
      `byte offset ${offset} out of range for a buffer of length ${state.len}`,
    );
  }
  return Math.min(want, state.len - offset);
}

/** Rust's range rules for `(start, end)`: `end <= len`, `start <= end`. */
function rangeOf(
  state: BufferState,
  start: number | undefined,
  end: number | undefined,
): [number, number] {
  const from = start === undefined ? 0 : checkU64(start, "start");
  const to = end === undefined ? state.len : checkU64(end, "end");
  if (to > state.len) {
    fail(Status.OUT_OF_RANGE, `slice range end ${to} out of bounds (length ${state.len})`);
  }
  if (from > to) fail(Status.OUT_OF_RANGE, `invalid slice range ${from}..${to}`);
  return [from, to];
}

/** The buffer of an `Atomics` view of `size`-byte elements (see `int32View`). */
function typedView(
  buffer: SharedBufferSlice,
  byteOffset: number,
  length: number | undefined,
  size: number,
): ArrayBuffer {
  const state = live(buffer);
  checkU64(byteOffset, "byteOffset");
  if (byteOffset > state.len) fail(Status.OUT_OF_RANGE, `byteOffset ${byteOffset} past the end`);
  const count = length === undefined
    ? Math.floor((state.len - byteOffset) / size)
    : checkU64(length, "length");
  if (byteOffset + count * size > state.len) {
    fail(Status.OUT_OF_RANGE, `${count} elements do not fit`);
  }
  const at = state.start + byteOffset;
  if ((state.win.addr + at) % size !== 0) {
    fail(Status.INVALID_ARGS, `the address is not ${size}-byte aligned`);
  }
  if (count === 0) return new ArrayBuffer(0);
  return state.win.keptView(at, count * size);
}

/**
 * A read-only slice of a {@linkcode SharedBuffer}: bounds-checked copies out of mapped memory,
 * and little-endian typed reads. Made by `slice` and `splitAt`.
 *
 * @example
 * ```ts
 * import { Mapping } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const [mapping, vmo] = Mapping.allocate(4096);
 * mapping.writeAt(0, new Uint8Array([1, 2, 3, 4]));
 * const [head, tail] = mapping.splitAt(2);
 * assert.equal(head.len(), 2);
 * assert.equal(tail.readU8(0), 3);
 * mapping.close();
 * vmo.close();
 * ```
 */
export class SharedBufferSlice {
  readonly #state: BufferState;

  static {
    stateOf = (buffer) => {
      if (typeof buffer !== "object" || buffer === null || !(#state in buffer)) {
        fail(Status.BAD_HANDLE, "not a SharedBuffer or slice");
      }
      return buffer.#state;
    };
    isBuffer = (value) => typeof value === "object" && value !== null && #state in value;
  }

  /**
   * Not for direct use: buffers come from `SharedBuffer.fromRange`, `Mapping`, `slice` and
   * `splitAt`.
   * @ignore
   */
  constructor(token: symbol, state: BufferState) {
    if (token !== CONSTRUCT) fail(Status.INVALID_ARGS, "use SharedBuffer.fromRange or Mapping");
    this.#state = state;
  }

  /**
   * The length in bytes.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(100);
   * assert.equal(mapping.len(), 100);
   * mapping.close();
   * vmo.close();
   * ```
   */
  len(): number {
    return live(this).len;
  }

  /**
   * Copies from the start of the buffer into `dst`; returns the count, `min(dst.length,
   * len())`. Same as `readAt(0, dst)`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(2);
   * mapping.write(new Uint8Array([8, 9]));
   * const dst = new Uint8Array(5);
   * assert.equal(mapping.read(dst), 2);
   * mapping.close();
   * vmo.close();
   * ```
   */
  read(dst: Uint8Array): number {
    return SharedBufferSlice.prototype.readAt.call(this, 0, dst);
  }

  /**
   * Copies bytes from `offset` into `dst` and returns the count: `min(dst.length, len() -
   * offset)`, so 0 at `offset == len()`.
   *
   * Errors: `OUT_OF_RANGE` for `offset > len()`; `ACCESS_DENIED` when the memory is not
   * readable (before anything is copied); `OUT_OF_RANGE` for pages past the end of the VMO;
   * `BAD_STATE` once the memory was unmapped.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(4);
   * mapping.write(new Uint8Array([1, 2, 3, 4]));
   * const dst = new Uint8Array(8);
   * assert.equal(mapping.readAt(1, dst), 3);
   * assert.deepEqual([...dst.subarray(0, 3)], [2, 3, 4]);
   * assert.equal(mapping.readAt(4, dst), 0);
   * mapping.close();
   * vmo.close();
   * ```
   */
  readAt(offset: number, dst: Uint8Array): number {
    const state = stateOf(this);
    checkBytes(dst, "dst");
    const view = state.win.readView;
    // A usable cached view proves the memory is mapped and readable. The copy uses the built-in
    // set, never dst's own: a view over read-only memory must not reach user code.
    if (
      view.length !== 0 && typeof offset === "number" && offset === offset >>> 0 &&
      offset <= state.len
    ) {
      const count = Math.min(byteLength(dst), state.len - offset);
      if (count === 0) return 0;
      const at = state.start + offset;
      const win = state.win;
      // The last range read is kept: polling the same field costs no new subarray. A kept
      // subarray is detached with its view, so a non-empty one is still good.
      let sub = win.lastRead;
      if (win.lastReadAt !== at || sub.length !== count) {
        sub = view.subarray(at, at + count);
        win.lastRead = sub;
        win.lastReadAt = at;
      }
      copyBytes(dst, sub);
      return count;
    }
    live(this);
    const count = countAt(state, offset, byteLength(dst));
    if (count === 0) return 0;
    const at = state.start + offset;
    return state.win.withView(at, count, PERM_READ, (v, i) => {
      copyBytes(dst, v.subarray(i, i + count));
      return count;
    });
  }

  /**
   * An acquire fence: writes another party made before its release are visible to reads after
   * this. It runs a sequentially consistent `Atomics.add` on a shared cell: on x86-64 a `lock
   * xadd`, a full barrier (x86 loads are not reordered with older loads anyway); on arm64 V8's
   * `ldaxr`/`stlxr` pair, whose acquire half keeps later accesses after it.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.acquireWrites();
   * mapping.close();
   * vmo.close();
   * ```
   */
  acquireWrites(): void {
    live(this);
    Atomics.add(FENCE, 0, 0);
  }

  /**
   * A read-only slice `[start, end)` (defaults: 0 and `len()`). `OUT_OF_RANGE` if `end >
   * len()` or `start > end`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(10);
   * assert.equal(mapping.slice(2, 5).len(), 3);
   * assert.equal(mapping.slice(4).len(), 6);
   * mapping.close();
   * vmo.close();
   * ```
   */
  slice(start?: number, end?: number): SharedBufferSlice {
    const state = live(this);
    const [from, to] = rangeOf(state, start, end);
    return makeBuffer(SharedBufferSlice, state.win, state.start + from, to - from);
  }

  /**
   * Two read-only slices, `[0, idx)` and `[idx, len())`. `OUT_OF_RANGE` if `idx > len()`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(10);
   * const [a, b] = mapping.splitAt(3);
   * assert.deepEqual([a.len(), b.len()], [3, 7]);
   * mapping.close();
   * vmo.close();
   * ```
   */
  splitAt(idx: number): [SharedBufferSlice, SharedBufferSlice] {
    const state = live(this);
    checkU64(idx, "idx");
    if (idx > state.len) {
      fail(Status.OUT_OF_RANGE, `split index ${idx} out of bounds (length ${state.len})`);
    }
    return [
      makeBuffer(SharedBufferSlice, state.win, state.start, idx),
      makeBuffer(SharedBufferSlice, state.win, state.start + idx, state.len - idx),
    ];
  }

  /**
   * The byte at `offset`. `OUT_OF_RANGE` past the end; the memory errors of `readAt`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.writeU8(7, 255);
   * assert.equal(mapping.readU8(7), 255);
   * mapping.close();
   * vmo.close();
   * ```
   */
  readU8(offset: number): number {
    return sharedReadU8(stateOf(this), offset);
  }

  /**
   * The little-endian `u16` at `offset` (any alignment).
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.writeU16(1, 0xbeef);
   * assert.equal(mapping.readU16(1), 0xbeef);
   * mapping.close();
   * vmo.close();
   * ```
   */
  readU16(offset: number): number {
    return sharedReadU16(stateOf(this), offset);
  }

  /**
   * The little-endian `u32` at `offset` (any alignment).
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.writeU32(4, 0xdeadbeef);
   * assert.equal(mapping.readU32(4), 0xdeadbeef);
   * mapping.close();
   * vmo.close();
   * ```
   */
  readU32(offset: number): number {
    return sharedReadU32(stateOf(this), offset);
  }

  /**
   * The little-endian `i32` at `offset` (any alignment).
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.writeI32(0, -5);
   * assert.equal(mapping.readI32(0), -5);
   * mapping.close();
   * vmo.close();
   * ```
   */
  readI32(offset: number): number {
    return sharedReadI32(stateOf(this), offset);
  }

  /**
   * The little-endian `u64` at `offset`, as a bigint (any alignment). Not atomic: against a
   * concurrent writer in another process it can return a torn value even when aligned (seen
   * byte-granular tears); use `Atomics.load` on an aligned `bigInt64View` for that.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(16);
   * mapping.writeU64(8, 2n ** 64n - 1n);
   * assert.equal(mapping.readU64(8), 2n ** 64n - 1n);
   * mapping.close();
   * vmo.close();
   * ```
   */
  readU64(offset: number): bigint {
    return sharedReadU64(stateOf(this), offset);
  }

  /**
   * The little-endian `f32` at `offset`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.writeF32(0, 1.5);
   * assert.equal(mapping.readF32(0), 1.5);
   * mapping.close();
   * vmo.close();
   * ```
   */
  readF32(offset: number): number {
    return sharedReadF32(stateOf(this), offset);
  }

  /**
   * The little-endian `f64` at `offset`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.writeF64(0, Math.PI);
   * assert.equal(mapping.readF64(0), Math.PI);
   * mapping.close();
   * vmo.close();
   * ```
   */
  readF64(offset: number): number {
    return sharedReadF64(stateOf(this), offset);
  }
}

/**
 * A writable slice of a {@linkcode SharedBuffer}: everything a `SharedBufferSlice` does, plus
 * writes, typed writes, zero-copy views and `Atomics` views. Made by `sliceMut` and
 * `splitAtMut`.
 *
 * @example
 * ```ts
 * import { Mapping } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const [mapping, vmo] = Mapping.allocate(8);
 * const [, tail] = mapping.splitAtMut(4);
 * tail.writeAt(0, new Uint8Array([9]));
 * assert.equal(mapping.readU8(4), 9);
 * mapping.close();
 * vmo.close();
 * ```
 */
export class SharedBufferSliceMut extends SharedBufferSlice {
  /**
   * Copies `src` to the start of the buffer; returns the count, `min(src.length, len())`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(2);
   * assert.equal(mapping.write(new Uint8Array([1, 2, 3])), 2);
   * mapping.close();
   * vmo.close();
   * ```
   */
  write(src: Uint8Array): number {
    return SharedBufferSliceMut.prototype.writeAt.call(this, 0, src);
  }

  /**
   * Copies `src` to `offset` and returns the count, `min(src.length, len() - offset)`.
   *
   * Errors: `OUT_OF_RANGE` for `offset > len()`; `ACCESS_DENIED` when the memory is not
   * writable (nothing is written); `OUT_OF_RANGE` for pages past the end of the VMO;
   * `BAD_STATE` once the memory was unmapped.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(4);
   * assert.equal(mapping.writeAt(2, new Uint8Array([7, 7, 7])), 2);
   * assert.equal(vmo.readToArray(3, 1)[0], 7);
   * mapping.close();
   * vmo.close();
   * ```
   */
  writeAt(offset: number, src: Uint8Array): number {
    const state = stateOf(this);
    checkBytes(src, "src");
    const length = byteLength(src);
    const view = state.win.writeView;
    // A usable cached view proves the memory is mapped and writable: the fast path needs only
    // the bounds.
    if (
      view.length !== 0 && typeof offset === "number" && offset === offset >>> 0 &&
      offset <= state.len
    ) {
      const count = Math.min(length, state.len - offset);
      if (count === 0) return 0;
      copyBytes(view, count === length ? src : bytesWindow(src, 0, count), state.start + offset);
      return count;
    }
    live(this);
    const count = countAt(state, offset, length);
    if (count === 0) return 0;
    const at = state.start + offset;
    const part = bytesWindow(src, 0, count);
    if (state.win.writeThrough(at, part, count)) return count;
    return state.win.withView(at, count, READ_WRITE, (v, i) => {
      copyBytes(v, part, i);
      return count;
    });
  }

  /**
   * A release fence: writes before it are visible to a party that acquires after it. Same
   * mechanism as {@linkcode SharedBufferSlice.acquireWrites}: on x86-64 a `lock xadd` (a full
   * barrier), on arm64 an `ldaxr`/`stlxr` pair whose release half keeps earlier accesses
   * before it.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.writeU32(0, 1);
   * mapping.releaseWrites();
   * mapping.close();
   * vmo.close();
   * ```
   */
  releaseWrites(): void {
    live(this);
    Atomics.add(FENCE, 0, 0);
  }

  /**
   * A writable slice `[start, end)`; the range rules of `slice`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.sliceMut(6).write(new Uint8Array([1, 1]));
   * assert.equal(mapping.readU16(6), 0x0101);
   * mapping.close();
   * vmo.close();
   * ```
   */
  sliceMut(start?: number, end?: number): SharedBufferSliceMut {
    const state = live(this);
    const [from, to] = rangeOf(state, start, end);
    return makeBuffer(SharedBufferSliceMut, state.win, state.start + from, to - from);
  }

  /**
   * Two writable slices, `[0, idx)` and `[idx, len())`. `OUT_OF_RANGE` if `idx > len()`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * const [a, b] = mapping.splitAtMut(8);
   * assert.deepEqual([a.len(), b.len()], [8, 0]);
   * mapping.close();
   * vmo.close();
   * ```
   */
  splitAtMut(idx: number): [SharedBufferSliceMut, SharedBufferSliceMut] {
    const state = live(this);
    checkU64(idx, "idx");
    if (idx > state.len) {
      fail(Status.OUT_OF_RANGE, `split index ${idx} out of bounds (length ${state.len})`);
    }
    return [
      makeBuffer(SharedBufferSliceMut, state.win, state.start, idx),
      makeBuffer(SharedBufferSliceMut, state.win, state.start + idx, state.len - idx),
    ];
  }

  /**
   * A zero-copy `Uint8Array` over the buffer's memory, which must be readable and writable
   * (`ACCESS_DENIED` otherwise) and not memory someone else can cut: a file, or a memfd not
   * sealed against shrinking, such as a `RESIZABLE` VMO's (`NOT_SUPPORTED`: a view of a page cut
   * off under it would fault; copy with `readAt`/`writeAt` instead). vmo detaches it (length 0,
   * reads `undefined`, writes ignored) before that memory stops being read-write, so using it
   * can never fault. Do not
   * move its buffer away (`transfer()`, `postMessage` with a transfer list): the moved memory
   * escapes that guarantee.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(4096);
   * const bytes = mapping.bytes();
   * bytes[0] = 42;
   * assert.equal(vmo.readToArray(0, 1)[0], 42);
   * mapping.close();
   * assert.equal(bytes.length, 0);
   * vmo.close();
   * ```
   */
  bytes(): Uint8Array<ArrayBuffer> {
    const state = live(this);
    if (state.len === 0) return new Uint8Array(0);
    const win = state.win;
    if (state.start === 0 && state.len === win.len) {
      const view = win.writeView.length !== 0 ? win.writeView : win.refresh(READ_WRITE);
      if (view.length !== 0) return view;
    }
    // A slice gets a buffer of its own bytes only: its `.buffer` must not reach past it.
    return new Uint8Array(win.keptView(state.start, state.len));
  }

  /**
   * **Unsafe**: a zero-copy `Uint8Array` like {@linkcode SharedBufferSliceMut.bytes}, given also
   * over memory someone else can cut: a file-backed VMO's pages, or a `RESIZABLE` VMO's memfd.
   * vmo still detaches it before unmap, protect, destroy or its own `setSize` takes the memory
   * away, but it cannot know when another process (or `Deno.truncate`) shortens the file: a read
   * or write of a page past the new end then kills the process with SIGBUS. Use it only on files
   * nobody else resizes while the view lives; `readAt`/`writeAt` are the safe way.
   *
   * @example
   * ```ts
   * import { SharedBuffer, Vmar, VmarFlags, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempFileSync();
   * using vmo = Vmo.fromFile(path, { writable: true, size: 4096 });
   * const root = Vmar.root();
   * const addr = root.map(0, vmo, 0, 4096, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
   * const buffer = SharedBuffer.fromRange(root, addr, 4096);
   * assert.throws(() => buffer.bytes()); // a file can be cut under a view: NOT_SUPPORTED
   * const view = buffer.unsafeBytes(); // this program promises nobody truncates the file
   * view.set([1, 2, 3]);
   * assert.deepEqual([...Deno.readFileSync(path).subarray(0, 3)], [1, 2, 3]);
   * root.unmap(addr, 4096);
   * assert.equal(view.length, 0);
   * Deno.removeSync(path);
   * ```
   */
  unsafeBytes(): Uint8Array<ArrayBuffer> {
    const state = live(this);
    if (state.len === 0) return new Uint8Array(0);
    return new Uint8Array(state.win.keptView(state.start, state.len, true));
  }

  /**
   * An `Int32Array` of `length` elements (default: as many as fit) over the buffer from
   * `byteOffset`, for `Atomics` (atomic across processes that map the same VMO). The address
   * must be 4-byte aligned (`INVALID_ARGS`), the memory read-write (`ACCESS_DENIED`); the
   * view is detached like `bytes()`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(4096);
   * const counters = mapping.int32View(0, 4);
   * Atomics.add(counters, 1, 5);
   * assert.equal(mapping.readI32(4), 5);
   * mapping.close();
   * vmo.close();
   * ```
   */
  int32View(byteOffset = 0, length?: number): Int32Array<ArrayBuffer> {
    return new Int32Array(typedView(this, byteOffset, length, 4));
  }

  /**
   * A `BigInt64Array` of `length` elements over the buffer from `byteOffset`, for 64-bit
   * `Atomics`; 8-byte alignment, otherwise as {@linkcode SharedBufferSliceMut.int32View}.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(64);
   * const cell = mapping.bigInt64View(8, 1);
   * Atomics.store(cell, 0, 7n);
   * assert.equal(mapping.readU64(8), 7n);
   * mapping.close();
   * vmo.close();
   * ```
   */
  bigInt64View(byteOffset = 0, length?: number): BigInt64Array<ArrayBuffer> {
    return new BigInt64Array(typedView(this, byteOffset, length, 8));
  }

  /**
   * Writes the byte `value` (0 to 255) at `offset`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(1);
   * mapping.writeU8(0, 1);
   * assert.equal(mapping.readU8(0), 1);
   * mapping.close();
   * vmo.close();
   * ```
   */
  writeU8(offset: number, value: number): void {
    sharedWriteU8(stateOf(this), offset, value);
  }

  /**
   * Writes `value` (0 to 65535) as a little-endian `u16` at `offset`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(2);
   * mapping.writeU16(0, 0x1234);
   * assert.equal(mapping.readU8(0), 0x34);
   * mapping.close();
   * vmo.close();
   * ```
   */
  writeU16(offset: number, value: number): void {
    sharedWriteU16(stateOf(this), offset, value);
  }

  /**
   * Writes `value` (0 to 2^32 - 1) as a little-endian `u32` at `offset`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(4);
   * mapping.writeU32(0, 1);
   * assert.equal(mapping.readU32(0), 1);
   * mapping.close();
   * vmo.close();
   * ```
   */
  writeU32(offset: number, value: number): void {
    sharedWriteU32(stateOf(this), offset, value);
  }

  /**
   * Writes `value` (-2^31 to 2^31 - 1) as a little-endian `i32` at `offset`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(4);
   * mapping.writeI32(0, -1);
   * assert.equal(mapping.readU32(0), 0xffffffff);
   * mapping.close();
   * vmo.close();
   * ```
   */
  writeI32(offset: number, value: number): void {
    sharedWriteI32(stateOf(this), offset, value);
  }

  /**
   * Writes a bigint `value` (0 to 2^64 - 1) as a little-endian `u64` at `offset` (not atomic).
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.writeU64(0, 1n << 40n);
   * assert.equal(mapping.readU64(0), 1n << 40n);
   * mapping.close();
   * vmo.close();
   * ```
   */
  writeU64(offset: number, value: bigint): void {
    sharedWriteU64(stateOf(this), offset, value);
  }

  /**
   * Writes `value` as a little-endian `f32` at `offset` (rounded to single precision).
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(4);
   * mapping.writeF32(0, 0.25);
   * assert.equal(mapping.readF32(0), 0.25);
   * mapping.close();
   * vmo.close();
   * ```
   */
  writeF32(offset: number, value: number): void {
    sharedWriteF32(stateOf(this), offset, value);
  }

  /**
   * Writes `value` as a little-endian `f64` at `offset`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.writeF64(0, -0.5);
   * assert.equal(mapping.readF64(0), -0.5);
   * mapping.close();
   * vmo.close();
   * ```
   */
  writeF64(offset: number, value: number): void {
    sharedWriteF64(stateOf(this), offset, value);
  }
}

/**
 * A bounds-checked window on mapped memory, in the manner of Fuchsia's `SharedBuffer`: copies
 * in and out, typed accesses, slices, fences, and zero-copy views that vmo detaches before the
 * memory under them stops being read-write.
 *
 * @example Over memory mapped with `Vmar.map`
 * ```ts
 * import { SharedBuffer, Vmar, VmarFlags, Vmo } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4096);
 * const root = Vmar.root();
 * const addr = root.map(0, vmo, 0, 4096, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
 * const buffer = SharedBuffer.fromRange(root, addr + 16, 32);
 * buffer.writeU32(0, 7);
 * assert.equal(vmo.readToArray(16, 1)[0], 7);
 * root.unmap(addr, 4096);
 * ```
 */
export class SharedBuffer extends SharedBufferSliceMut {
  /**
   * A buffer over `[addr, addr + len)` of `vmar`, which must be wholly mapped in `vmar` or its
   * sub-VMARs (`NOT_FOUND` otherwise; any alignment). Each access checks the memory's current
   * permissions.
   *
   * Errors: `BAD_HANDLE`/`WRONG_TYPE` for `vmar`; `INVALID_ARGS` for a bad `addr` or `len`;
   * `OUT_OF_RANGE` if `addr + len` overflows; `BAD_STATE` for a destroyed VMAR; `NOT_FOUND`.
   *
   * @example
   * ```ts
   * import { SharedBuffer, Status, Vmar, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [region, addr] = Vmar.root().allocate(0, 1 << 16, 0);
   * assert.throws(
   *   () => SharedBuffer.fromRange(region, addr, 16),
   *   (e) => e instanceof ZxError && e.status === Status.NOT_FOUND,
   * );
   * region.destroy();
   * ```
   */
  static fromRange(vmar: Vmar, addr: number, len: number): SharedBuffer {
    const object = vmarObjectOf(vmar, "vmar");
    checkU64(addr, "addr");
    checkU64(len, "len");
    const end = checkedEnd(addr, len, "fromRange");
    if (!object.alive) fail(Status.BAD_STATE, "the VMAR was destroyed");
    for (const step of walk(object, addr, end)) {
      if (step.kind === "gap") fail(Status.NOT_FOUND, `0x${step.start.toString(16)} is not mapped`);
    }
    return makeBuffer(SharedBuffer, new Window(object, addr, len), 0, len);
  }

  /**
   * The buffer's address, as a pointer, and its length. Reading or writing through the
   * pointer is outside vmo's guarantees.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(64);
   * const [ptr, len] = mapping.asPtrLen();
   * assert.equal(Number(Deno.UnsafePointer.value(ptr)), mapping.addr);
   * assert.equal(len, 64);
   * mapping.close();
   * vmo.close();
   * ```
   */
  asPtrLen(): [Deno.PointerValue, number] {
    const state = live(this);
    return [Deno.UnsafePointer.create(BigInt(state.win.addr + state.start)), state.len];
  }
}
