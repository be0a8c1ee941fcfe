/**
 * Handle rights, with Zircon's bit values.
 *
 * @module
 */

import { fail, Status } from "./status.ts";

/**
 * Zircon's handle rights (`zx_rights_t`) as unsigned numbers. A handle's rights decide what
 * it may do; `duplicate` and `replace` can keep or drop rights, never add them.
 *
 * @example Handing out a read-only handle
 * ```ts
 * import { Rights, Status, Vmo, ZxError } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4096);
 * using readOnly = vmo.duplicate(Rights.BASIC | Rights.READ | Rights.MAP);
 * assert.throws(
 *   () => readOnly.write(new Uint8Array(1), 0),
 *   (e) => e instanceof ZxError && e.status === Status.ACCESS_DENIED,
 * );
 * ```
 */
export const Rights = {
  NONE: 0,
  DUPLICATE: 1 << 0,
  TRANSFER: 1 << 1,
  READ: 1 << 2,
  WRITE: 1 << 3,
  EXECUTE: 1 << 4,
  MAP: 1 << 5,
  GET_PROPERTY: 1 << 6,
  SET_PROPERTY: 1 << 7,
  ENUMERATE: 1 << 8,
  DESTROY: 1 << 9,
  SET_POLICY: 1 << 10,
  GET_POLICY: 1 << 11,
  SIGNAL: 1 << 12,
  SIGNAL_PEER: 1 << 13,
  WAIT: 1 << 14,
  INSPECT: 1 << 15,
  MANAGE_JOB: 1 << 16,
  MANAGE_PROCESS: 1 << 17,
  MANAGE_THREAD: 1 << 18,
  APPLY_PROFILE: 1 << 19,
  MANAGE_SOCKET: 1 << 20,
  OP_CHILDREN: 1 << 21,
  RESIZE: 1 << 22,
  ATTACH_VMO: 1 << 23,
  MANAGE_VMO: 1 << 24,
  /** Passed to `duplicate`/`replace`: keep the rights the handle has. */
  SAME_RIGHTS: 0x8000_0000,
  /** `TRANSFER | DUPLICATE | WAIT | INSPECT`. */
  BASIC: (1 << 1) | (1 << 0) | (1 << 14) | (1 << 15),
} as const;

/** The rights a new VMO's handle gets (`RESIZE` is added for a resizable VMO). */
export const DEFAULT_VMO_RIGHTS: number = Rights.BASIC | Rights.READ | Rights.WRITE |
  Rights.GET_PROPERTY | Rights.SET_PROPERTY | Rights.MAP | Rights.SIGNAL;

/** The rights a new VMAR's handle gets, before the READ/WRITE/EXECUTE its CAN_MAP flags add. */
export const DEFAULT_VMAR_RIGHTS: number = (Rights.BASIC & ~Rights.WAIT) | Rights.OP_CHILDREN;

/** Whether every bit of `wanted` is in `have`. */
export function hasRights(have: number, wanted: number): boolean {
  return (have & wanted) === wanted;
}

/** `ACCESS_DENIED` naming `what` and the rights it lacks, unless `rights` has all of `wanted`. */
export function needRights(rights: number, wanted: number, what: string): void {
  if (!hasRights(rights, wanted)) {
    fail(Status.ACCESS_DENIED, `${what} needs the ${rightNames(wanted)} right`);
  }
}

/** The names of the single rights set in `rights`, joined with "and". */
function rightNames(rights: number): string {
  return Object.entries(Rights)
    .filter(([name, bit]) =>
      name !== "BASIC" && bit !== 0 && (rights & bit) === bit && bit < 0x8000_0000
    )
    .map(([name]) => name)
    .join(" and ");
}
