/**
 * `SharedBufferSliceMut`, the write side of a `SharedBuffer`: copies in, typed writes, write
 * slices, the release fence, and the zero-copy and `Atomics` views (which need the memory
 * read-write). It builds on `SharedBufferSlice` and its helpers in shared_buffer_slice.ts.
 *
 * @module
 */

import { byteLength, bytesWindow, checkBytes, checkU64, copyBytes } from "../args.ts";
import { fail, Status } from "../status.ts";
import { READ_WRITE } from "./window.ts";
import * as generated from "./accessors.generated.ts";
import * as slice from "./shared_buffer_slice.ts";
import { SharedBufferSlice } from "./shared_buffer_slice.ts";

// The generated accessors and the slice helpers as module constants, called as such: a call
// through the imported binding itself measured 5-10% slower on readU32/writeU32 (V8 does not
// fold a module's exported function binding, which its module could reassign; it folds a
// local constant). `stateOf` is set by the time this runs: shared_buffer_slice.ts has run.
const {
  sharedWriteU8,
  sharedWriteU16,
  sharedWriteU32,
  sharedWriteI32,
  sharedWriteU64,
  sharedWriteF32,
  sharedWriteF64,
} = generated;
const { countAt, FENCE, live, makeBuffer, rangeOf, stateOf } = slice;

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
