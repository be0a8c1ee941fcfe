/**
 * `Mapping` and `ImmutableMapping`: a VMO mapped into the root VMAR, owned by one object that
 * unmaps it, in the manner of Fuchsia's `mapped_vmo`.
 *
 * @module
 */

import { checkU32, checkU64 } from "../args.ts";
import { rightsOf } from "../handle.ts";
import { Rights } from "../rights.ts";
import { fail, Status } from "../status.ts";
import { VmarFlags } from "../vmar/constants.ts";
import { MappingRecord, type VmarObject } from "../vmar/region.ts";
import { unmapInOne, unmapRange } from "../vmar/teardown.ts";
import type { Lease } from "../vmar/watch.ts";
import { Vmar, vmarObjectOf } from "../vmar/vmar.ts";
import { VmoChildOptions } from "../vmo/constants.ts";
import { Vmo, vmoObjectOf } from "../vmo/vmo.ts";
import {
  makeBuffer,
  SharedBuffer,
  SharedBufferSlice,
  windowIfBuffer,
  windowOf,
} from "./shared_buffer.ts";
import { Window } from "./window.ts";

const NAME_MAX_BYTES = 31;

let root: Vmar | null = null;
function rootVmar(): Vmar {
  root ??= Vmar.root();
  return root;
}
let rootObject: VmarObject | null = null;
function rootVmarObject(): VmarObject {
  rootObject ??= vmarObjectOf(rootVmar());
  return rootObject;
}

/** What a dropped mapping needs to be unmapped: not the mapping object itself. */
interface Unmapper {
  addr: number;
  size: number;
  lease: Lease;
}

/** Unmaps `[addr, addr + size)` unless its memory was already unmapped by someone else. */
function unmap(unmapper: Unmapper): void {
  if (unmapper.lease.dead) return;
  try {
    // The lease lives, so every page of the range is still mapped (an unmap, overwrite or
    // destroy of any of it kills the lease), by mappings of the root, which is always alive:
    // every check of `Vmar.unmap` passes, and its range walk is all there is to do.
    unmapFromRoot(unmapper.addr, unmapper.size);
  } catch {
    // Like Rust's Drop, closing cannot fail: the memory is left to the process's exit.
  }
}

/**
 * Unmaps `[start, start + size)`, mapped by the root's mappings. Also what undoes a map when a
 * step after it throws (a `RangeError` at the stack's limit), so that a failed call leaves
 * nothing mapped: it takes the calls every `close` makes, compiled and hot.
 */
function unmapFromRoot(start: number, size: number): void {
  const root = rootVmarObject();
  const end = start + size;
  const one = root.children.find(start);
  if (one instanceof MappingRecord && end <= one.end) unmapInOne(root, one, start, end);
  else unmapRange(root, start, end);
}

const backstop = new FinalizationRegistry<Unmapper>(unmap);

/** Makes `owner` the owner of `win`'s memory: it unmaps on `close` or when collected. */
function own<T extends object>(owner: T, win: Window, size: number): T {
  const unmapper = { addr: win.addr, size, lease: win.lease };
  win.owner = owner;
  win.unmapper = unmapper;
  backstop.register(owner, unmapper, owner);
  return owner;
}

/**
 * `close()` of both mapping kinds: unmaps once; any other object (a slice of a mapping, whose
 * window the mapping owns, included) is ignored.
 */
function closeOwned(owner: unknown): void {
  const win = windowIfBuffer(owner);
  if (win === null || win.owner !== owner) return;
  const unmapper = win.unmapper;
  if (unmapper === null) return;
  win.unmapper = null;
  backstop.unregister(owner as object);
  unmap(unmapper);
}

function mapWindow(vmo: Vmo, size: number, flags: number): Window {
  const vmar = rootVmar();
  const addr = vmar.map(0, vmo, 0, size, flags);
  // The Mapping made over it unmaps it when collected: the window's lease can be held strongly.
  try {
    return new Window(rootVmarObject(), addr, size, true);
  } catch (error) {
    unmapFromRoot(addr, size);
    throw error;
  }
}

/**
 * A VMO mapped into the root VMAR: a {@linkcode SharedBuffer} over it that unmaps it on
 * `close()` (or `using`, or when it is garbage-collected). The VMO stays alive while mapped, so
 * the `Vmo` handle may be closed at once.
 *
 * @example
 * ```ts
 * import { Mapping } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const [mapping, vmo] = Mapping.allocate(4096);
 * vmo.close();
 * mapping.writeAt(0, new TextEncoder().encode("hi"));
 * assert.equal(new TextDecoder().decode(mapping.bytes().subarray(0, 2)), "hi");
 * mapping.close();
 * ```
 */
export class Mapping extends SharedBuffer implements Disposable {
  /**
   * Creates a VMO of `size` bytes (not resizable) and maps it read-write, pre-faulted
   * (`MAP_RANGE`). `len()` is `size` exactly; the mapping covers whole pages. Returns the
   * mapping and the VMO's handle.
   *
   * Errors: `INVALID_ARGS` for a bad or zero size; the errors of `Vmo.create` and `Vmar.map`.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(10);
   * assert.equal(mapping.len(), 10);
   * assert.equal(vmo.info().numMappings, 1);
   * mapping.close();
   * vmo.close();
   * ```
   */
  static allocate(size: number): [Mapping, Vmo] {
    checkU64(size, "size");
    const vmo = Vmo.create(size);
    try {
      // MAP_RANGE pre-faults committed pages; a VMO no one has seen yet has none, so it would
      // only cost a data-extent query.
      return [Mapping.createFromVmo(vmo, size, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE), vmo];
    } catch (error) {
      vmo.close();
      throw error;
    }
  }

  /**
   * As {@linkcode Mapping.allocate}, and names the VMO. The name is checked first: more than
   * 31 UTF-8 bytes or a NUL is `INVALID_ARGS`, before anything is created.
   *
   * @example
   * ```ts
   * import { Mapping } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocateWithName(4096, "ring");
   * assert.equal(vmo.getName(), "ring");
   * mapping.close();
   * vmo.close();
   * ```
   */
  static allocateWithName(size: number, name: string): [Mapping, Vmo] {
    if (
      typeof name !== "string" || name.includes("\0") ||
      new TextEncoder().encode(name).length > NAME_MAX_BYTES
    ) {
      fail(
        Status.INVALID_ARGS,
        `a VMO name is a string of at most ${NAME_MAX_BYTES} UTF-8 bytes without NUL`,
      );
    }
    checkU64(size, "size");
    const vmo = Vmo.create(size);
    try {
      vmo.setName(name);
      return [
        Mapping.createFromVmo(
          vmo,
          size,
          VmarFlags.PERM_READ | VmarFlags.PERM_WRITE | VmarFlags.MAP_RANGE,
        ),
        vmo,
      ];
    } catch (error) {
      vmo.close();
      throw error;
    }
  }

  /**
   * Maps the first `size` bytes of `vmo` into the root VMAR with `flags` (`PERM_*`,
   * `MAP_RANGE`...), always adding `REQUIRE_NON_RESIZABLE`: a resizable VMO gives
   * `NOT_SUPPORTED`, because another holder could shrink it under the mapping. Writes need
   * `PERM_WRITE` (`ACCESS_DENIED` otherwise, without touching memory).
   *
   * @example
   * ```ts
   * import { Mapping, VmarFlags, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * vmo.write(new Uint8Array([3]), 0);
   * using mapping = Mapping.createFromVmo(vmo, 4096, VmarFlags.PERM_READ);
   * assert.equal(mapping.readU8(0), 3);
   * ```
   */
  static createFromVmo(vmo: Vmo, size: number, flags: number): Mapping {
    vmoObjectOf(vmo, "vmo");
    checkU64(size, "size");
    checkU32(flags, "flags");
    const win = mapWindow(vmo, size, (flags | VmarFlags.REQUIRE_NON_RESIZABLE) >>> 0);
    try {
      return own(makeBuffer(Mapping, win, 0, size), win, size);
    } catch (error) {
      unmapFromRoot(win.addr, size);
      throw error;
    }
  }

  /**
   * The mapping's address.
   *
   * @example
   * ```ts
   * import { Mapping, PAGE_SIZE } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(1);
   * assert.equal(mapping.addr % PAGE_SIZE, 0);
   * mapping.close();
   * vmo.close();
   * ```
   */
  get addr(): number {
    return windowOf(this).addr;
  }

  /**
   * Unmaps the memory (unless it was already unmapped through `Vmar`). Every view is detached
   * first; every later call on the mapping throws `BAD_STATE`. Closing twice is fine.
   *
   * @example
   * ```ts
   * import { Mapping, Status, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(8);
   * mapping.close();
   * assert.throws(
   *   () => mapping.readU8(0),
   *   (e) => e instanceof ZxError && e.status === Status.BAD_STATE,
   * );
   * vmo.close();
   * ```
   */
  close(): void {
    closeOwned(this);
  }

  /** Same as {@linkcode Mapping.close}, for `using`. */
  [Symbol.dispose](): void {
    closeOwned(this);
  }
}

/**
 * A read-only view of a VMO's contents as of its creation, mapped into the root VMAR, in the
 * manner of `mapped_vmo::ImmutableMapping`: it maps a `SNAPSHOT | NO_WRITE` child of the whole
 * VMO, so later writes to the VMO do not show. It offers the reads of a
 * {@linkcode SharedBufferSlice}; there is no zero-copy view, because JavaScript has no
 * read-only typed array and a write to read-only memory would kill the process.
 *
 * @example
 * ```ts
 * import { ImmutableMapping, Vmo } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4096);
 * vmo.write(new Uint8Array([1]), 0);
 * using frozen = ImmutableMapping.createFromVmo(vmo);
 * vmo.write(new Uint8Array([2]), 0);
 * assert.equal(frozen.readU8(0), 1);
 * assert.equal(frozen.len(), 4096);
 * ```
 */
export class ImmutableMapping extends SharedBufferSlice implements Disposable {
  /**
   * Snapshots `vmo` (its handle needs `DUPLICATE` and `READ`) and maps the snapshot
   * read-only; with `immediatelyPage`, pre-faulted. A VMO of size 0 gives an empty view and
   * maps nothing. The length is the VMO's size (a multiple of the page size).
   *
   * @example
   * ```ts
   * import { ImmutableMapping, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using empty = Vmo.create(0);
   * using view = ImmutableMapping.createFromVmo(empty);
   * assert.equal(view.len(), 0);
   * ```
   */
  static createFromVmo(vmo: Vmo, immediatelyPage = false): ImmutableMapping {
    vmoObjectOf(vmo, "vmo");
    if (typeof immediatelyPage !== "boolean") {
      fail(Status.INVALID_ARGS, "immediatelyPage must be a boolean");
    }
    // Through the prototype: a handle may carry its own `getSize` or `createChild`.
    const size = Vmo.prototype.getSize.call(vmo);
    const vmar = rootVmar();
    if (size === 0) {
      return makeBuffer(ImmutableMapping, new Window(vmarObjectOf(vmar), 0, 0), 0, 0);
    }
    using child = Vmo.prototype.createChild.call(
      vmo,
      VmoChildOptions.SNAPSHOT | VmoChildOptions.NO_WRITE,
      0,
      size,
    );
    const flags = VmarFlags.PERM_READ | VmarFlags.REQUIRE_NON_RESIZABLE |
      (immediatelyPage ? VmarFlags.MAP_RANGE : 0);
    if ((rightsOf(child) & Rights.MAP) === 0) {
      fail(Status.ACCESS_DENIED, "the VMO handle lacks MAP");
    }
    const win = mapWindow(child, size, flags);
    try {
      return own(makeBuffer(ImmutableMapping, win, 0, size), win, size);
    } catch (error) {
      unmapFromRoot(win.addr, size);
      throw error;
    }
  }

  /**
   * The mapping's address (0 for an empty view).
   *
   * @example
   * ```ts
   * import { ImmutableMapping, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * using view = ImmutableMapping.createFromVmo(vmo);
   * assert.ok(view.addr > 0);
   * ```
   */
  get addr(): number {
    return windowOf(this).addr;
  }

  /**
   * Unmaps the snapshot; it is freed with it. Closing twice is fine.
   *
   * @example
   * ```ts
   * import { ImmutableMapping, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * const view = ImmutableMapping.createFromVmo(vmo);
   * assert.equal(vmo.info().numChildren, 1);
   * view.close();
   * assert.equal(vmo.info().numChildren, 0);
   * ```
   */
  close(): void {
    closeOwned(this);
  }

  /** Same as {@linkcode ImmutableMapping.close}, for `using`. */
  [Symbol.dispose](): void {
    closeOwned(this);
  }
}
