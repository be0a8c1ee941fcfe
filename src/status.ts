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
 * An error about a range of memory may also say which operation failed (`op`, such as
 * `"read"`) and on which bytes (`range`: the first address or offset and the length), the way
 * openvmm's guest-memory errors carry theirs: a guest-memory layer can then name the
 * guest-physical range at fault without the caller parsing the message. Both are absent unless
 * the thrower gives them.
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
 *
 * @example An error naming its operation and range
 * ```ts
 * import { Status, ZxError } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const error = new ZxError(Status.OUT_OF_RANGE, "guest read past the end of RAM", undefined, {
 *   op: "read",
 *   range: { start: 0x1000_0000, len: 4096 },
 * });
 * assert.equal(error.op, "read");
 * assert.deepEqual(error.range, { start: 0x1000_0000, len: 4096 });
 * ```
 */
export class ZxError extends Error {
  /** The Zircon status of the failure. */
  readonly status: Status;
  /** The failed Linux call, when the failure came from one. */
  declare readonly cause?: SyscallCause;
  /** The operation that failed (`"read"`, `"write"`, `"fill"`...), when the thrower said. */
  declare readonly op?: string;
  /**
   * The bytes the failed operation was on, when the thrower said: the first address (or
   * offset, in the space the message names: guest-physical for guest memory) and the length.
   */
  declare readonly range?: { readonly start: number; readonly len: number };

  /**
   * Builds an error whose message is `"<status name>: <message>"`; `where` sets `op` and
   * `range` (each only when given).
   */
  constructor(
    status: Status,
    message: string,
    cause?: SyscallCause,
    where?: { op?: string; range?: { start: number; len: number } },
  ) {
    super(`${statusName(status)}: ${message}`, cause === undefined ? undefined : { cause });
    this.name = "ZxError";
    this.status = status;
    if (where?.op !== undefined) {
      Object.defineProperty(this, "op", { value: where.op, enumerable: true });
    }
    if (where?.range !== undefined) {
      const range = Object.freeze({ start: where.range.start, len: where.range.len });
      Object.defineProperty(this, "range", { value: range, enumerable: true });
    }
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
