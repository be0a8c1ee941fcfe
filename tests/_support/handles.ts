/**
 * Handles no public call can make: one to an object that is not a VMO (for `WRONG_TYPE`), and
 * a second handle with rights `duplicate` cannot add (to test checks no reachable handle could
 * otherwise exercise). Both reach into the handle's protected factory.
 *
 * @module
 */

import { Handle } from "../../mod.ts";
import { KernelObject, liveObjectOf } from "../../src/handle.ts";

/** A kernel object that is not a VMO (it claims to be a VMAR). */
class FakeObject extends KernelObject {
  readonly type: number = 18;
  protected onLastReference(): void {}
}

/** A handle to an object that is not a VMO, to check `WRONG_TYPE`. */
export class FakeHandle extends Handle {
  constructor(rights: number, object: KernelObject = new FakeObject()) {
    super(object, rights);
  }
  protected newHandle(object: KernelObject, rights: number): this {
    return new FakeHandle(rights, object) as this;
  }
}

/**
 * A second handle to `handle`'s object with exactly `rights`, including rights that
 * `duplicate` cannot add (`EXECUTE` on a VMO, `WRITE` on a region without `CAN_MAP_WRITE`).
 */
export function withRights<H extends Handle>(handle: H, rights: number): H {
  const factory = handle as unknown as {
    newHandle(object: KernelObject, rights: number): H;
  };
  return factory.newHandle(liveObjectOf(handle), rights);
}

/** A duplicate of `handle`, closed at once: every call through it must be `BAD_HANDLE`. */
export function closedDuplicate<T extends Handle>(handle: T): T {
  const dup = handle.duplicate();
  dup.close();
  return dup;
}
