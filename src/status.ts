/**
 * Zircon status codes and the one error type vmo throws.
 *
 * @module
 */

import { errnoCode, errnoStatus } from "../ffi/errno.ts";
import { lastErrno } from "../ffi/libc.ts";

/**
 * Zircon's status codes (`zx_status_t`), with Zircon's numeric values.
 *
 * @example Telling errors apart by status
 * ```ts
 * import { Status, Vmo, ZxError } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4096);
 * try {
 *   vmo.write(new Uint8Array(1), 4096);
 * } catch (e) {
 *   assert.ok(e instanceof ZxError && e.status === Status.OUT_OF_RANGE);
 * }
 * ```
 */
export const Status = {
  OK: 0,
  INTERNAL: -1,
  NOT_SUPPORTED: -2,
  NO_RESOURCES: -3,
  NO_MEMORY: -4,
  INVALID_ARGS: -10,
  BAD_HANDLE: -11,
  WRONG_TYPE: -12,
  OUT_OF_RANGE: -14,
  BUFFER_TOO_SMALL: -15,
  BAD_STATE: -20,
  TIMED_OUT: -21,
  SHOULD_WAIT: -22,
  CANCELED: -23,
  PEER_CLOSED: -24,
  NOT_FOUND: -25,
  ALREADY_EXISTS: -26,
  UNAVAILABLE: -28,
  ACCESS_DENIED: -30,
  IO: -40,
  IO_DATA_INTEGRITY: -51,
} as const;

/** One of the values of {@linkcode Status}. */
export type Status = typeof Status[keyof typeof Status];

const namesByValue = new Map<number, string>(
  Object.entries(Status).map(([name, value]) => [value, value === 0 ? "ZX_OK" : `ZX_ERR_${name}`]),
);

/**
 * The C name of a status: `statusName(-14)` is `"ZX_ERR_OUT_OF_RANGE"`, `statusName(0)` is
 * `"ZX_OK"`, and a number that is no status gives `"ZX_ERR_UNKNOWN"`.
 *
 * @example
 * ```ts
 * import { Status, statusName } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * assert.equal(statusName(Status.BAD_STATE), "ZX_ERR_BAD_STATE");
 * ```
 */
export function statusName(status: number): string {
  return namesByValue.get(status) ?? "ZX_ERR_UNKNOWN";
}

/** The Linux call behind a {@linkcode ZxError}: which call failed and with what errno. */
export interface SyscallCause {
  /** The C function that failed, such as `"ftruncate"`. */
  syscall: string;
  /** The errno it set. */
  errno: number;
  /** errno's symbolic name, such as `"ENOMEM"`. */
  code: string;
}

/**
 * The error every failing vmo call throws. `status` is the Zircon status, the message starts
 * with its name and says which argument or rule failed, and `cause` names the Linux call when
 * one failed.
 *
 * @example
 * ```ts
 * import { Status, Vmo, ZxError } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => Vmo.create(-1),
 *   (e) => e instanceof ZxError && e.status === Status.INVALID_ARGS,
 * );
 * ```
 */
export class ZxError extends Error {
  /** The Zircon status of the failure. */
  readonly status: Status;
  /** The failed Linux call, when the failure came from one. */
  declare readonly cause?: SyscallCause;

  /** Builds an error whose message is `"<status name>: <message>"`. */
  constructor(status: Status, message: string, cause?: SyscallCause) {
    super(`${statusName(status)}: ${message}`, cause === undefined ? undefined : { cause });
    this.name = "ZxError";
    this.status = status;
  }
}

/** Throws a {@linkcode ZxError}; a statement-sized shorthand for the many checks. */
export function fail(status: Status, message: string): never {
  throw new ZxError(status, message);
}

/**
 * The error for a Linux call that just failed. Call it immediately after the call, before any
 * other FFI call, so that errno is still the failing call's.
 */
export function syscallError(syscall: string, message: string, errno = lastErrno()): ZxError {
  const cause: SyscallCause = { syscall, errno, code: errnoCode(errno) };
  return new ZxError(Status[errnoStatus(errno)], `${message} (${syscall}: ${cause.code})`, cause);
}
