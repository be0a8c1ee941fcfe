/**
 * Handles, kernel objects and koids.
 *
 * A handle is thin: an object and a set of rights. The object (a VMO, a VMAR) lives while any
 * handle or mapping refers to it; a handle dropped without `close()` is closed by a
 * `FinalizationRegistry`, so its object can still be released.
 *
 * @module
 */

import { checkU32 } from "./args.ts";
import { hasRights, Rights } from "./rights.ts";
import { fail, Status } from "./status.ts";

/**
 * Object types reported by {@linkcode Handle.basicInfo}, with Zircon's values.
 *
 * @example
 * ```ts
 * import { ObjType, Vmo } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4096);
 * assert.equal(vmo.basicInfo().type, ObjType.VMO);
 * ```
 */
export const ObjType = {
  NONE: 0,
  VMO: 3,
  VMAR: 18,
} as const;

let lastKoid = 1023;

/** A fresh koid: unique in this process and never reused. Zircon's first koid is 1024. */
export function newKoid(): number {
  return ++lastKoid;
}

/** Whether `value` is a genuine kernel object (made by its constructor), not a look-alike. */
let isKernelObject: (value: unknown) => boolean;

/**
 * What a handle refers to. Subclasses release their resources in `onLastReference`, which runs
 * once no handle and no other holder (a mapping, a child) keeps the object.
 */
export abstract class KernelObject {
  /**
   * The brand of a genuine kernel object, so that a handle can never be made over a
   * look-alike: only this constructor can put it on an object (the class extends nothing, so no
   * base constructor can hand it another object to stamp). Checking it costs nothing; a
   * `WeakSet` of the objects cost about 300 ns per object made.
   */
  readonly #genuine = true;
  static {
    isKernelObject = (value) => typeof value === "object" && value !== null && #genuine in value;
  }

  /** The object's id. */
  readonly koid: number = newKoid();
  /** `ObjType.VMO` or `ObjType.VMAR`. */
  abstract readonly type: number;
  /** Open handles to this object. */
  handleCount = 0;
  /** Holders other than handles: mappings of a VMO, for example. */
  holdCount = 0;
  #released = false;

  /** Adds a holder other than a handle. */
  hold(): void {
    this.holdCount++;
  }

  /** Drops a holder other than a handle; the last one gone releases the object. */
  unhold(): void {
    this.holdCount--;
    this.#maybeRelease();
  }

  /** Called by {@linkcode Handle} when one of its handles closes. */
  dropHandle(): void {
    this.handleCount--;
    this.#maybeRelease();
  }

  /** Whether the object has been released (no handle and no holder left). */
  get released(): boolean {
    return this.#released;
  }

  #maybeRelease(): void {
    if (this.handleCount === 0 && this.holdCount === 0 && !this.#released) {
      this.#released = true;
      this.onLastReference();
    }
  }

  /** Frees what the object owns. Runs once. */
  protected abstract onLastReference(): void;
}

const backstop = new FinalizationRegistry<KernelObject>((object) => object.dropHandle());

let objectOfHandle: (handle: unknown) => KernelObject | null;
let rightsOfHandle: (handle: Handle) => number;

/**
 * A handle to a kernel object: `Vmo` and `Vmar` extend it. It carries the object's `koid` and
 * the handle's `rights`; after `close()` or `replace()` every call on it throws `BAD_HANDLE`.
 *
 * @example Closing with `using`
 * ```ts
 * import { Vmo } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * let kept;
 * {
 *   using vmo = Vmo.create(4096);
 *   kept = vmo;
 *   assert.ok(vmo.isValid);
 * }
 * assert.equal(kept.isValid, false);
 * ```
 */
export abstract class Handle implements Disposable {
  #object: KernelObject | null;
  #rights: number;
  readonly #koid: number;

  static {
    objectOfHandle = (handle) =>
      typeof handle === "object" && handle !== null && #object in handle ? handle.#object : null;
    rightsOfHandle = (handle) => handle.#rights;
  }

  /**
   * Opens a handle with `rights` to `object`.
   * @ignore
   */
  protected constructor(object: KernelObject, rights: number) {
    if (!isKernelObject(object)) fail(Status.BAD_HANDLE, "handles are made by vmo, not by new");
    if (typeof rights !== "number" || !Number.isInteger(rights)) {
      fail(Status.INVALID_ARGS, "rights must be an integer");
    }
    this.#object = object;
    this.#rights = rights >>> 0;
    this.#koid = object.koid;
    object.handleCount++;
    backstop.register(this, object, this);
  }

  /**
   * Makes a handle of the same class to `object` with `rights`.
   * @ignore
   */
  protected abstract newHandle(object: KernelObject, rights: number): this;

  /** The koid of the object this handle refers to; it stays readable after `close()`. */
  get koid(): number {
    return typeof this === "object" && this !== null && #koid in this ? this.#koid : 0;
  }

  /** This handle's rights, an unsigned combination of {@linkcode Rights} bits. */
  get rights(): number {
    return typeof this === "object" && this !== null && #rights in this ? this.#rights : 0;
  }

  /** Whether the handle is still open. */
  get isValid(): boolean {
    return objectOfHandle(this) !== null;
  }

  /** Closes the handle. Closing twice is fine. The object lives on while a mapping uses it. */
  close(): void {
    const object = objectOfHandle(this);
    if (object === null) return;
    this.#object = null;
    backstop.unregister(this);
    object.dropHandle();
  }

  /** Same as {@linkcode Handle.close}, so that `using vmo = Vmo.create(...)` closes it. */
  [Symbol.dispose](): void {
    Handle.prototype.close.call(this);
  }

  /**
   * A new handle to the same object. Needs the `DUPLICATE` right (`ACCESS_DENIED`); `rights`
   * is `Rights.SAME_RIGHTS` or a subset of this handle's rights (`INVALID_ARGS`).
   *
   * @example
   * ```ts
   * import { Rights, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * using copy = vmo.duplicate(Rights.READ | Rights.DUPLICATE);
   * assert.equal(copy.koid, vmo.koid);
   * assert.equal(copy.rights, Rights.READ | Rights.DUPLICATE);
   * ```
   */
  duplicate(rights: number = Rights.SAME_RIGHTS): this {
    const object = liveObjectOf(this);
    checkU32(rights, "rights");
    if (!hasRights(rightsOfHandle(this), Rights.DUPLICATE)) {
      fail(Status.ACCESS_DENIED, "duplicate needs the DUPLICATE right");
    }
    return this.newHandle(object, this.#derivedRights(rights));
  }

  /**
   * A new handle to the same object with `rights` (a subset, or `Rights.SAME_RIGHTS`), needing
   * no right. This handle is closed in every case, even when the call fails.
   *
   * @example
   * ```ts
   * import { Rights, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const vmo = Vmo.create(4096);
   * using readOnly = vmo.replace(Rights.READ);
   * assert.equal(vmo.isValid, false);
   * assert.equal(readOnly.rights, Rights.READ);
   * ```
   */
  replace(rights: number = Rights.SAME_RIGHTS): this {
    const object = liveObjectOf(this);
    try {
      checkU32(rights, "rights");
      return this.newHandle(object, this.#derivedRights(rights));
    } finally {
      Handle.prototype.close.call(this);
    }
  }

  /**
   * The handle's koid, rights and object type (`ZX_INFO_HANDLE_BASIC`). `relatedKoid` is 0 for
   * VMOs and VMARs.
   *
   * @example
   * ```ts
   * import { DEFAULT_VMO_RIGHTS, ObjType, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * const info = vmo.basicInfo();
   * assert.equal(info.type, ObjType.VMO);
   * assert.equal(info.rights, DEFAULT_VMO_RIGHTS);
   * ```
   */
  basicInfo(): HandleBasicInfo {
    const object = liveObjectOf(this);
    return { koid: object.koid, rights: rightsOfHandle(this), type: object.type, relatedKoid: 0 };
  }

  #derivedRights(rights: number): number {
    if (rights === Rights.SAME_RIGHTS) return this.#rights;
    if ((rights & ~this.#rights) !== 0) {
      fail(Status.INVALID_ARGS, "rights must be a subset of the handle's rights");
    }
    return rights >>> 0;
  }
}

/** What {@linkcode Handle.basicInfo} returns. */
export interface HandleBasicInfo {
  /** The object's koid. */
  koid: number;
  /** The handle's rights. */
  rights: number;
  /** The object's type, an {@linkcode ObjType} value. */
  type: number;
  /** The koid of a related object (a channel's peer); 0 here. */
  relatedKoid: number;
}

/**
 * The rights of an open handle, read from the handle itself: a `rights` property defined on
 * the object cannot stand in for them. Call after {@linkcode liveObjectOf} checked the handle.
 */
export function rightsOf(handle: Handle): number {
  return rightsOfHandle(handle);
}

/** The object behind an open handle, or `BAD_HANDLE` for anything else. */
export function liveObjectOf(handle: unknown): KernelObject {
  const object = objectOfHandle(handle);
  if (object === null) fail(Status.BAD_HANDLE, "the handle is closed or is not a handle");
  return object;
}

/**
 * The object behind an open handle of the given type: `BAD_HANDLE` if it is not an open
 * handle, `WRONG_TYPE` if it refers to another kind of object.
 */
export function liveObjectOfType<T extends KernelObject>(
  handle: unknown,
  type: number,
  what: string,
): T {
  const object = liveObjectOf(handle);
  if (object.type !== type) fail(Status.WRONG_TYPE, `${what} is not a handle of the right type`);
  return object as T;
}
