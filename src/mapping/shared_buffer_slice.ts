/**
 * `SharedBufferSlice`, the read side of a `SharedBuffer`, and what every buffer class shares:
 * the private state behind each buffer object, how buffer objects are made and recognised, and
 * the range rules of reads and slices. Writes are in shared_buffer_slice_mut.ts, `SharedBuffer`
 * itself in shared_buffer.ts.
 *
 * Like Fuchsia's `shared-buffer`, every access is a copy (`Uint8Array.set`, a `DataView` read)
 * rather than a long-lived reference the caller could read twice and see two values through;
 * the copies stop short at the end of the buffer and fail past it. Unlike it, the memory may go
 * away under the buffer (unmap, protect, destroy, VMO shrink): the buffer then fails cleanly,
 * and views it handed out read as length 0, never fault.
 *
 * @module
 */

import { byteLength, checkBytes, checkU64, copyBytes } from "../args.ts";
import { fail, Status } from "../status.ts";
import { PERM_READ } from "../vmar/region.ts";
import type { Window } from "./window.ts";
import * as generated from "./accessors.generated.ts";
import { type BufferState, checkLive } from "./buffer_state.ts";

// The generated accessors as module constants, called as such: a call through the imported
// binding itself measured 5-10% slower on readU32/writeU32 (V8 does not fold a module's
// exported function binding, which its module could reassign; it folds a local constant).
const {
  sharedReadU8,
  sharedReadU16,
  sharedReadU32,
  sharedReadI32,
  sharedReadU64,
  sharedReadF32,
  sharedReadF64,
} = generated;

const CONSTRUCT = Symbol("SharedBuffer");
/** The shared cell the fences run their `Atomics.add` on (not for users). */
export const FENCE = new Int32Array(new SharedArrayBuffer(4));

/**
 * The state of a buffer object; `BAD_HANDLE` for anything else (not for users). Set once, by
 * `SharedBufferSlice`'s static block, before any importer runs.
 */
export let stateOf: (buffer: SharedBufferSlice) => BufferState;

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

/** The state of a buffer object whose memory was not unmapped (not for users). */
export function live(buffer: SharedBufferSlice): BufferState {
  return checkLive(stateOf(buffer));
}

/** Rust's `read_at` rule: `OUT_OF_RANGE` past the end, otherwise the count that fits. */
export function countAt(state: BufferState, offset: number, want: number): number {
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
export function rangeOf(
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
