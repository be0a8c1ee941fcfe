/**
 * What a `SharedBuffer` object is (a window and the part of it the buffer covers) and the
 * checked slow paths its typed accessors share. The accessors themselves are generated (see
 * `accessors.generated.ts` and tools/gen_accessors.ts): their fast paths read the window's
 * cached `DataView` directly and fall back to the functions here.
 *
 * @module
 */

import { checkU64, describe } from "../args.ts";
import { fail, Status } from "../status.ts";
import { PERM_READ } from "../vmar/region.ts";
import type { Window } from "./window.ts";

/** What a buffer object is: a window and the part of it the buffer covers. */
export interface BufferState {
  win: Window;
  start: number;
  len: number;
}

/** `state`, once its memory is known not to have been unmapped (`BAD_STATE` otherwise). */
export function checkLive(state: BufferState): BufferState {
  if (state.win.lease.dead) fail(Status.BAD_STATE, "the memory under the buffer was unmapped");
  return state;
}

/** Where a typed access of `size` bytes at `offset` lands in the window. */
export function typedAt(state: BufferState, offset: number, size: number): number {
  checkU64(offset, "offset");
  if (offset + size > state.len) {
    fail(
      Status.OUT_OF_RANGE,
      `${size} bytes at ${offset} out of range for a buffer of length ${state.len}`,
    );
  }
  return state.start + offset;
}

/** An integer in `[min, max]`, else `INVALID_ARGS`. */
export function checkInt(value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(
      Status.INVALID_ARGS,
      `${what} must be an integer in [${min}, ${max}], got ${describe(value)}`,
    );
  }
  return value;
}

/** Any number, else `INVALID_ARGS`. */
export function checkNumber(value: unknown, what: string): number {
  if (typeof value !== "number") {
    fail(Status.INVALID_ARGS, `${what} must be a number, got ${describe(value)}`);
  }
  return value;
}

/** A bigint in `[0, 2^64)`, else `INVALID_ARGS`. */
export function checkU64Big(value: unknown): bigint {
  if (typeof value !== "bigint" || value < 0n || value > 0xffff_ffff_ffff_ffffn) {
    fail(Status.INVALID_ARGS, `value must be a bigint in [0, 2^64), got ${describe(value)}`);
  }
  return value;
}

/**
 * The slow path of a typed access of `size` bytes at window index `at`, for `needs`
 * (`PERM_READ` for a read, `READ_WRITE` for a write): the cached `DataView` when there is one,
 * otherwise the window's checks and a view of just those bytes; then `use`.
 */
export function accessData<T>(
  state: BufferState,
  at: number,
  size: number,
  needs: number,
  use: (data: DataView, index: number) => T,
): T {
  const win = state.win;
  if (needs === PERM_READ ? win.readView.length !== 0 : win.writeView.length !== 0) {
    return use(needs === PERM_READ ? win.readData : win.writeData, at);
  }
  return win.withView(
    at,
    size,
    needs,
    (view, index) => use(new DataView(view.buffer, view.byteOffset), index),
  );
}
