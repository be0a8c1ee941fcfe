/**
 * `SharedBuffer`: a bounds-checked window on mapped memory that another party (a process, a
 * guest, a device) may be changing at the same time, made over a range of a VMAR. Its
 * accesses are those of its slice classes, which this module re-exports with the helpers
 * other layers use, so the buffer family is imported from here.
 *
 * @module
 */

import { checkedEnd, checkU64 } from "../args.ts";
import { fail, Status } from "../status.ts";
import { walk } from "../vmar/region.ts";
import type { Vmar } from "../vmar/vmar.ts";
import { vmarObjectOf } from "../vmar/vmar.ts";
import { Window } from "./window.ts";
import { live, makeBuffer } from "./shared_buffer_slice.ts";
import { SharedBufferSliceMut } from "./shared_buffer_slice_mut.ts";

export { makeBuffer, SharedBufferSlice, windowIfBuffer, windowOf } from "./shared_buffer_slice.ts";
export { SharedBufferSliceMut } from "./shared_buffer_slice_mut.ts";

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
