/**
 * `futex(2)` on a word of shared memory, across processes: no `FUTEX_PRIVATE_FLAG`, so the
 * kernel keys a word of a `MAP_SHARED` file mapping by its file and offset, and any process
 * mapping the same page meets the same futex.
 *
 * The kernel reads the word with `get_user`: a bad address is `EFAULT`, never a signal, so no
 * futex call can fault the process.
 *
 * @module
 */

import { SYS_FUTEX } from "./constants.ts";
import { lastErrno, libc } from "./libc.ts";

export const FUTEX_WAIT = 0;
export const FUTEX_WAKE = 1;

/**
 * `FUTEX_WAKE` of up to `count` waiters on the word at `address`: how many were woken, or
 * `-errno`.
 */
export function futexWakeAt(address: bigint, count: number): number {
  const r = Number(libc.futex_at(SYS_FUTEX, address, FUTEX_WAKE, count, 0n, 0n, 0));
  return r < 0 ? -lastErrno() : r;
}

/**
 * `FUTEX_WAIT` on the word at `address` while it holds `current`, on a runtime thread, for at
 * most the relative `timeout` (a `struct timespec` the caller keeps alive and untouched until
 * the promise settles; `null` for none). Resolves to 0n when woken and -1n otherwise (`EAGAIN`
 * when the word differs, `ETIMEDOUT`, `EINTR`, `EFAULT`): errno is lost on the runtime thread,
 * so the caller tells these apart by looking at the word and the clock. The FFI call's own
 * promise, not an `async` wrapper's: one promise and one microtask less per wait.
 */
export function futexWaitAsync(
  address: bigint,
  current: number,
  timeout: BigInt64Array<ArrayBuffer> | null,
): Promise<bigint> {
  const ts = timeout === null
    ? 0n
    : BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(timeout)));
  return libc.futex_wait_async(SYS_FUTEX, address, FUTEX_WAIT, current | 0, ts, 0n, 0);
}

/** The address of an element-aligned typed array's first byte, as a bigint. */
export function addressOfView(view: Int32Array<ArrayBuffer>): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
}
