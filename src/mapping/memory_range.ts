/**
 * The protocol by which memory objects of higher layers (guest memory) hand their memory to
 * layers that sit beside them and cannot import them (futexes): an object with a
 * `[MEMORY_RANGE]()` method returns a buffer over exactly its memory, whose offsets are the
 * object's own offsets. The buffer brings everything a word-level user needs: the VMAR and
 * address of the memory, its length, the checked `Atomics` views that vmo detaches before the
 * memory goes, and the window whose watch a waiter registers its lease with.
 *
 * @module
 */

import { describe } from "../args.ts";
import { Handle } from "../handle.ts";
import { fail, Status } from "../status.ts";
import { type SharedBufferSlice, windowOf } from "./shared_buffer.ts";

/** The method key of the protocol (not exported from `mod.ts`: users pass the objects). */
export const MEMORY_RANGE: unique symbol = Symbol("vmo.memoryRange");

/**
 * A memory object that is not itself a `SharedBufferSlice` but can give one over its memory
 * (`HostSharedMemory`, `GuestSharedMemory`, `ExclusiveSharedMemory`, `VolatileSlice`,
 * `MmapRegion`): what `futexWait` and `futexWake` accept besides buffers.
 *
 * @example
 * ```ts
 * import { ExclusiveSharedMemory, futexWake, type MemoryRangeSource } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const [host, guest] = ExclusiveSharedMemory.create(4096).build();
 * const word: MemoryRangeSource = host;
 * assert.equal(futexWake(word, 0, 1), 0);
 * host.close();
 * guest.close();
 * ```
 */
export interface MemoryRangeSource {
  /**
   * A buffer over exactly this object's memory (`BAD_STATE` once it is closed).
   * @ignore
   */
  [MEMORY_RANGE](): SharedBufferSlice;
}

function isBuffer(value: unknown): value is SharedBufferSlice {
  try {
    windowOf(value as SharedBufferSlice);
    return true;
  } catch {
    return false;
  }
}

/**
 * The buffer behind `value`: the buffer itself, or what its `[MEMORY_RANGE]()` returns.
 * `WRONG_TYPE` for a handle (a `Vmo` is not mapped memory), `INVALID_ARGS` for anything else
 * that is not a memory object; the object's own errors (`BAD_STATE` once closed,
 * `NOT_SUPPORTED` for memory vmo did not map).
 */
export function memoryRangeOf(value: unknown, what: string): SharedBufferSlice {
  if (isBuffer(value)) return value;
  if (value instanceof Handle) {
    fail(Status.WRONG_TYPE, `${what} must be mapped memory, not a handle`);
  }
  const provide = typeof value === "object" && value !== null
    ? (value as Partial<MemoryRangeSource>)[MEMORY_RANGE]
    : undefined;
  if (typeof provide !== "function") {
    fail(Status.INVALID_ARGS, `${what} must be a vmo buffer object, got ${describe(value)}`);
  }
  const buffer = provide.call(value);
  if (!isBuffer(buffer)) fail(Status.INVALID_ARGS, `${what} gave no buffer`);
  return buffer;
}
