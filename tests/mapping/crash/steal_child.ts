/**
 * Run by tests/mapping/crash.test.ts in a child `deno run --allow-ffi`, one variant per
 * process (`Deno.args[0]`): a `dst` is any `Uint8Array`, so its own `set` property is the
 * caller's code, and `readAt` must never hand it a view of its memory (the library copies with
 * the built-in `set`). Each variant records whether the thief's `set` was called at all. The safety invariant (docs/semantics.md §7) says
 * no call can crash the process whatever the arguments; a view over memory that is readable but
 * not writable must never reach user code (a write through it faults).
 *
 * - `ro-fast`: read-only mapping, the cached whole-window view; `set` writes to what it is given.
 * - `ro-slow`: read-only page in a window that also has a PROT_NONE page (the slow path's
 *   temporary view); `set` writes to what it is given.
 * - `ro-later`: read-only mapping; `set` keeps what it is given and the caller writes later.
 * - `rw-unmap-later`: read-write mapping; the kept view is written after an unmap (it must have
 *   been detached).
 *
 * Prints one JSON line when it survives.
 *
 * @module
 */

import { Mapping, PAGE_SIZE as P, SharedBuffer, Vmar, VmarFlags, Vmo } from "../../../mod.ts";

const R = VmarFlags.PERM_READ;
const RW = R | VmarFlags.PERM_WRITE;
const root = Vmar.root();
const variant = Deno.args[0];

let stolen = null as Uint8Array | null;
let writeInside = false;

/** A destination whose own `set` receives the library's source array. */
function thief(length: number): Uint8Array {
  const dst = new Uint8Array(length);
  Object.defineProperty(dst, "set", {
    value(src: Uint8Array, offset?: number) {
      stolen = src;
      if (writeInside && src.length > 0) src[0] = 0x66;
      Uint8Array.prototype.set.call(dst, src, offset);
    },
  });
  return dst;
}

const vmo = Vmo.create(2 * P);
let result: Record<string, unknown> = {};

switch (variant) {
  case "ro-fast": {
    using m = Mapping.createFromVmo(vmo, 2 * P, R);
    writeInside = true;
    m.readAt(0, thief(8));
    result = { stolenLength: stolen?.length ?? 0, thiefCalled: stolen !== null };
    break;
  }
  case "ro-slow": {
    const addr = root.map(0, vmo, 0, 2 * P, RW);
    const b = SharedBuffer.fromRange(root, addr, 2 * P);
    root.protect(addr, P, R);
    root.protect(addr + P, P, 0);
    writeInside = true;
    b.readAt(0, thief(8));
    result = { stolenLength: stolen?.length ?? 0, thiefCalled: stolen !== null };
    break;
  }
  case "ro-later": {
    using m = Mapping.createFromVmo(vmo, 2 * P, R);
    m.readAt(0, thief(8));
    const view = stolen ?? new Uint8Array(0);
    result = { stolenLengthBefore: view.length, thiefCalled: stolen !== null };
    view[0] = 0x66;
    result.stolenLengthAfter = view.length;
    break;
  }
  case "rw-unmap-later": {
    const m = Mapping.createFromVmo(vmo, 2 * P, RW);
    m.readAt(0, thief(8));
    const view = stolen ?? new Uint8Array(0);
    const before = view.length;
    m.close();
    view[0] = 0x66;
    result = {
      stolenLengthBefore: before,
      stolenLengthAfter: view.length,
      thiefCalled: stolen !== null,
    };
    break;
  }
  default:
    throw new Error(`unknown variant ${variant}`);
}

console.log(JSON.stringify({ variant, survived: true, ...result }));
