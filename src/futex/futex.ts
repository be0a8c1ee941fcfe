/**
 * `futexWait` and `futexWake`: Zircon's futexes on a 4-byte word of shared memory, across
 * processes, on Linux `futex(2)` without `FUTEX_PRIVATE_FLAG`.
 *
 * A wait runs on a runtime thread (a `nonblocking` FFI call), so the event loop runs on. Two
 * things need care:
 * - errno is lost on that thread, so a failed wait is told apart by looking: a deadline that
 *   passed is `TIMED_OUT`, a word that changed is a wake-up, anything else (a signal) waits
 *   again for the time left.
 * - memory unmapped while a wait sleeps on it. The kernel never faults on a futex word (it
 *   reads it with `get_user`: `EFAULT`), but the sleeper would sleep on: nothing would wake a
 *   word no one can reach. So each wait registers a lease with the region tree, which fires it
 *   synchronously before the memory is unmapped; the lease wakes the word while it is still
 *   mapped and marks the wait cancelled (`BAD_STATE`). If the runtime thread had not yet
 *   entered the kernel, it finds the address unmapped (`EFAULT`) or reused; a wake is repeated
 *   every few milliseconds until the call returns, so it cannot sleep on.
 *
 * @module
 */

import { addressOfView, futexWaitAsync, futexWakeAt } from "../../ffi/futex.ts";
import { describe } from "../args.ts";
import { fail, Status, ZxError } from "../status.ts";
import { queryRange } from "../vmar/memory.ts";
import type { Lease } from "../vmar/watch.ts";
import {
  type SharedBufferSlice,
  SharedBufferSliceMut,
  windowOf,
} from "../mapping/shared_buffer.ts";
import { memoryRangeOf, type MemoryRangeSource } from "../mapping/memory_range.ts";

const INT32_MAX = 0x7fff_ffff;
/** The longest single kernel wait, in ms (a longer timeout waits again for the time left). */
const MAX_TIMESPEC_MS = 1e12;

/** How often a cancelled wait's word is woken again until the wait returns. */
const REWAKE_MS = 5;

/**
 * The spin before a wait goes to a runtime thread adapts per word, between these bounds, in
 * nanoseconds. A wait that goes to a runtime thread costs two thread hops (12 to 150 us on the
 * project's 2-vCPU VM, more under load), so spinning up to about that long to avoid one pays;
 * spinning while the answer is far off only takes the CPU from whoever would answer.
 */
export const SPIN_MIN_NS = 2_000;
/** See {@linkcode SPIN_MIN_NS}. */
export const SPIN_MAX_NS = 50_000;
/** The spin of a word not waited on before: about what the fixed spin of 256 steps took. */
export const SPIN_START_NS = 20_000;
/** Spin steps between two looks at the clock (`performance.now()` costs about 0.4 us). */
const STEPS_PER_CLOCK = 32;
const pause: () => void = typeof Atomics.pause === "function" ? Atomics.pause : () => {};

/** A word resolved once per buffer and offset: a kept view over it and its address. */
interface Word {
  view: Int32Array<ArrayBuffer>;
  address: bigint;
  /** How long the next wait on the word spins, in ns: see {@linkcode adapt}. */
  spinNs: number;
}

const words = new WeakMap<object, Map<number, Word>>();
const int32View = SharedBufferSliceMut.prototype.int32View;

/**
 * The word at `offset` of `buffer` (resolved by `memoryRangeOf`): `INVALID_ARGS` when misaligned, `OUT_OF_RANGE` past the
 * end, `BAD_STATE` when unmapped, `ACCESS_DENIED` when not read-write, `NOT_SUPPORTED` for memory
 * another process can cut (see `SharedBufferSliceMut.int32View`).
 */
function wordOf(buffer: SharedBufferSlice, offset: number): Word {
  let byOffset = words.get(buffer);
  const cached = byOffset?.get(offset);
  if (cached !== undefined && cached.view.length === 1) return cached;
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    fail(Status.INVALID_ARGS, `offset must be a non-negative integer, got ${describe(offset)}`);
  }
  if (offset % 4 !== 0) fail(Status.INVALID_ARGS, `offset ${offset} is not 4-byte aligned`);
  const view = int32View.call(buffer as SharedBufferSliceMut, offset, 1);
  const word = { view, address: addressOfView(view), spinNs: SPIN_START_NS };
  if (byOffset === undefined) {
    byOffset = new Map();
    words.set(buffer, byOffset);
  }
  byOffset.set(offset, word);
  return word;
}

function checkCurrent(current: unknown): number {
  if (
    typeof current !== "number" || !Number.isInteger(current) || current < -0x8000_0000 ||
    current > 0xffff_ffff
  ) {
    fail(Status.INVALID_ARGS, `current must be a 32-bit integer, got ${describe(current)}`);
  }
  return current | 0;
}

/** A lease whose death (the memory is being unmapped) cancels a wait. */
class WaitLease implements Lease {
  #dead = false;
  readonly #onDeath: () => void;
  constructor(onDeath: () => void) {
    this.#onDeath = onDeath;
  }
  get dead(): boolean {
    return this.#dead;
  }
  set dead(value: boolean) {
    if (this.#dead || !value) return;
    this.#dead = true;
    this.#onDeath();
  }
  /** The wait is over: the lease is spent (the tree drops it) and firing it does nothing. */
  retire(): void {
    this.#dead = true;
  }
}

/** Waits in flight; holds their leases, which the region tree holds only weakly. */
const waits = new Set<WaitLease>();

/**
 * The most waits one process (one isolate) has in the kernel at once. Each holds a thread of
 * the runtime's pool for nonblocking calls, which has 32: a 32nd wait would starve every other
 * nonblocking call, channel reads among them, and could deadlock a program whose wake-up comes
 * through one. Half the pool is left free.
 *
 * @example
 * ```ts
 * import { MAX_CONCURRENT_WAITS } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_CONCURRENT_WAITS, 16);
 * ```
 */
export const MAX_CONCURRENT_WAITS = 16;

/**
 * Zircon's `zx_futex_wait`: waits until the 4-byte word at `offset` of `buffer` is woken by
 * {@linkcode futexWake} (from this or any process mapping the same memory), provided it holds
 * `current` when the wait starts. Runs on a runtime thread: the event loop runs on meanwhile.
 * Like every futex, it can also return when the word changed without a wake, and, rarely,
 * spuriously: check the word again.
 *
 * `buffer` is any vmo buffer object over read-write memory: `SharedBuffer` and its slices,
 * `Mapping`, and the guest memories (`HostSharedMemory`, `GuestSharedMemory`,
 * `ExclusiveSharedMemory`, `VolatileSlice`, `MmapRegion`), whose offsets are their own.
 * Memory that another process can shrink under a view (a file, an unsealed memfd) is
 * `NOT_SUPPORTED`, as is a region over memory vmo did not map (`MmapRegion.unsafeBuildRaw`).
 * A handle (a `Vmo`) is `WRONG_TYPE`, anything else `INVALID_ARGS`; a closed memory object
 * `BAD_STATE`.
 *
 * Errors (the promise rejects): `BAD_STATE` when the word is not `current`, or when the memory
 * is unmapped (or loses read-write access) while waiting; `NO_RESOURCES` when
 * `MAX_CONCURRENT_WAITS` (16) waits of this process are already in the kernel (each holds a
 * thread of the runtime's pool of 32); `TIMED_OUT` after `timeoutMs`
 * milliseconds (0 checks the word and times out at once); `INVALID_ARGS` for a misaligned
 * offset, a bad `current` or a negative timeout; `OUT_OF_RANGE` past the end of the buffer.
 *
 * @example
 * ```ts
 * import { futexWait, futexWake, Mapping, Status, ZxError } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const [mapping, vmo] = Mapping.allocate(4096);
 * const word = mapping.int32View(0, 1);
 * const waiting = futexWait(mapping, 0, 0);
 * setTimeout(() => {
 *   Atomics.store(word, 0, 1);
 *   futexWake(mapping, 0, 1);
 * }, 10);
 * await waiting;
 * await assert.rejects(
 *   futexWait(mapping, 0, 1, 5),
 *   (e) => e instanceof ZxError && e.status === Status.TIMED_OUT,
 * );
 * mapping.close();
 * vmo.close();
 * ```
 */
export function futexWait(
  buffer: SharedBufferSlice | MemoryRangeSource,
  offset: number,
  current: number,
  timeoutMs?: number,
): Promise<void> {
  let word: Word;
  let value: number;
  let deadline = Infinity;
  let memory: SharedBufferSlice;
  let start: number;
  try {
    memory = memoryRangeOf(buffer, "buffer");
    value = checkCurrent(current);
    if (timeoutMs !== undefined) {
      if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
        fail(
          Status.INVALID_ARGS,
          `timeoutMs must be a non-negative number, got ${describe(timeoutMs)}`,
        );
      }
    }
    start = performance.now();
    // Infinity and any timeout too long to count down stay Infinity: no timespec, no NaN.
    if (timeoutMs !== undefined) deadline = start + timeoutMs;
    word = wordOf(memory, offset);
    if (Atomics.load(word.view, 0) !== value) {
      fail(Status.BAD_STATE, "the word does not hold the expected value");
    }
    if (timeoutMs === 0) fail(Status.TIMED_OUT, "the wait timed out");
    // A short spin first: a wake-up that comes within microseconds (a ping-pong partner)
    // costs a few loads instead of a trip through runtime threads.
    // The clock is read once before and then every STEPS_PER_CLOCK steps (it costs about
    // 0.2 us, a ping-pong round trip a few): a catch is credited with the time last read.
    const spinEnd = Math.min(start + word.spinNs / 1e6, deadline);
    const view = word.view;
    let spunMs = 0;
    for (let i = STEPS_PER_CLOCK;; i--) {
      pause();
      if (Atomics.load(view, 0) !== value) {
        adapt(word, spunMs * 1e6, true);
        return RESOLVED;
      }
      if (i === 0) {
        const now = performance.now();
        if (now >= spinEnd) break;
        spunMs = now - start;
        i = STEPS_PER_CLOCK;
      }
    }
    if (performance.now() >= deadline) {
      adapt(word, Infinity, false);
      fail(Status.TIMED_OUT, "the wait timed out");
    }
    if (waits.size >= MAX_CONCURRENT_WAITS) {
      fail(Status.NO_RESOURCES, `more than ${MAX_CONCURRENT_WAITS} futex waits at once`);
    }
  } catch (error) {
    return Promise.reject(error);
  }
  return waitOn(memory, word, value, deadline, start);
}

const RESOLVED = Promise.resolve();

/**
 * How long the next wait on the word at `offset` of `buffer` spins, in ns (`undefined` before
 * the word's first wait or wake): for tests.
 */
export function spinNsOf(buffer: SharedBufferSlice, offset: number): number | undefined {
  return words.get(buffer)?.get(offset)?.spinNs;
}

/**
 * Sets the word's next spin from how long this wait lasted (`waitedNs`, from its start):
 * as an adaptive mutex does, spin about as long as the waits that a spin could have caught,
 * and less and less while the waits outlast the longest spin worth making.
 * - caught by the spin in its second half (as far as the clock was read): spin up to twice
 *   as long next time;
 * - woken in the kernel within `SPIN_MAX_NS`: a spin a quarter longer would have caught it;
 * - longer (or timed out, or cancelled): halve the spin, down to `SPIN_MIN_NS`.
 */
export function adapt(word: { spinNs: number }, waitedNs: number, caught: boolean): void {
  let next: number;
  if (caught) {
    next = waitedNs * 2 > word.spinNs ? word.spinNs * 2 : word.spinNs;
  } else if (waitedNs <= SPIN_MAX_NS) {
    next = Math.max(word.spinNs, waitedNs * 1.25);
  } else {
    next = word.spinNs / 2;
  }
  word.spinNs = next < SPIN_MIN_NS ? SPIN_MIN_NS : next > SPIN_MAX_NS ? SPIN_MAX_NS : next;
}

async function waitOn(
  buffer: SharedBufferSlice,
  word: Word,
  value: number,
  deadline: number,
  start: number,
): Promise<void> {
  const { view, address } = word;
  let rewake: ReturnType<typeof setInterval> | undefined;
  let cancelled = false;
  const lease = new WaitLease(() => {
    cancelled = true;
    // Synchronously before the unmap: the word is still mapped, so this reaches the sleeper.
    futexWakeAt(address, INT32_MAX);
    rewake = setInterval(() => futexWakeAt(address, INT32_MAX), REWAKE_MS);
  });
  const win = windowOf(buffer);
  const addr = Number(address);
  queryRange(win.vmar, addr, addr + 4, 0).watch(0, lease);
  waits.add(lease);
  const timespec = deadline === Infinity ? null : new BigInt64Array(2);
  try {
    for (;;) {
      if (timespec !== null) {
        // At most about 31 years a call: the nanoseconds must fit a 64-bit timespec.
        const left = Math.min(Math.max(0, deadline - performance.now()), MAX_TIMESPEC_MS);
        const ns = BigInt(Math.round(left * 1e6));
        timespec[0] = ns / 1_000_000_000n;
        timespec[1] = ns % 1_000_000_000n;
      }
      const r = await futexWaitAsync(address, value, timespec);
      if (cancelled) fail(Status.BAD_STATE, "the memory was unmapped while waiting");
      if (r === 0n) return adapt(word, (performance.now() - start) * 1e6, false);
      if (view.length === 0) fail(Status.BAD_STATE, "the memory lost read-write access");
      if (Atomics.load(view, 0) !== value) {
        return adapt(word, (performance.now() - start) * 1e6, false);
      }
      if (performance.now() >= deadline) {
        adapt(word, Infinity, false);
        fail(Status.TIMED_OUT, "the wait timed out");
      }
      // A signal interrupted the wait: wait for the time left.
    }
  } catch (error) {
    throw error instanceof ZxError ? error : new ZxError(Status.INTERNAL, String(error));
  } finally {
    if (rewake !== undefined) clearInterval(rewake);
    lease.retire();
    waits.delete(lease);
  }
}

/**
 * Zircon's `zx_futex_wake`: wakes up to `count` waiters on the word at `offset` of `buffer`,
 * in any process that maps the same memory, and returns how many it woke. `count` above
 * 2^31 - 1 (or `Infinity`) wakes every waiter.
 *
 * Errors: as {@linkcode futexWait} for the buffer and offset; `INVALID_ARGS` for a negative
 * or fractional count.
 *
 * @example
 * ```ts
 * import { futexWake, Mapping } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const [mapping, vmo] = Mapping.allocate(4096);
 * assert.equal(futexWake(mapping, 0, 1), 0); // no one was waiting
 * mapping.close();
 * vmo.close();
 * ```
 */
export function futexWake(
  buffer: SharedBufferSlice | MemoryRangeSource,
  offset: number,
  count: number,
): number {
  const word = wordOf(memoryRangeOf(buffer, "buffer"), offset);
  if (
    typeof count !== "number" || Number.isNaN(count) || count < 0 ||
    !(Number.isInteger(count) || count === Infinity)
  ) {
    fail(Status.INVALID_ARGS, `count must be a non-negative integer, got ${describe(count)}`);
  }
  const n = futexWakeAt(word.address, count > INT32_MAX ? INT32_MAX : count);
  if (n < 0) fail(Status.BAD_STATE, "the word could not be woken (its memory is gone)");
  return n;
}
