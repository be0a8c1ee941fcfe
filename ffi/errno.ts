/**
 * errno numbers, their names, and the Zircon status each one stands for.
 *
 * The status is given by name (`"NO_MEMORY"`), not by number, so that the numbers live in one
 * place only (`src/status.ts`).
 *
 * @module
 */

/** The Zircon status names an errno can turn into. */
export type ErrnoStatus =
  | "ACCESS_DENIED"
  | "NOT_FOUND"
  | "CANCELED"
  | "IO"
  | "OUT_OF_RANGE"
  | "BAD_HANDLE"
  | "SHOULD_WAIT"
  | "NO_MEMORY"
  | "INVALID_ARGS"
  | "BAD_STATE"
  | "ALREADY_EXISTS"
  | "NOT_SUPPORTED"
  | "NO_RESOURCES"
  | "PEER_CLOSED"
  | "WRONG_TYPE"
  | "TIMED_OUT"
  | "INTERNAL";

const table: Record<number, [string, ErrnoStatus]> = {
  1: ["EPERM", "ACCESS_DENIED"],
  2: ["ENOENT", "NOT_FOUND"],
  4: ["EINTR", "CANCELED"],
  5: ["EIO", "IO"],
  6: ["ENXIO", "OUT_OF_RANGE"],
  9: ["EBADF", "BAD_HANDLE"],
  11: ["EAGAIN", "SHOULD_WAIT"],
  12: ["ENOMEM", "NO_MEMORY"],
  13: ["EACCES", "ACCESS_DENIED"],
  14: ["EFAULT", "INVALID_ARGS"],
  16: ["EBUSY", "BAD_STATE"],
  17: ["EEXIST", "ALREADY_EXISTS"],
  18: ["EXDEV", "NOT_SUPPORTED"],
  19: ["ENODEV", "NOT_SUPPORTED"],
  20: ["ENOTDIR", "NOT_FOUND"],
  21: ["EISDIR", "WRONG_TYPE"],
  22: ["EINVAL", "INVALID_ARGS"],
  23: ["ENFILE", "NO_RESOURCES"],
  24: ["EMFILE", "NO_RESOURCES"],
  26: ["ETXTBSY", "BAD_STATE"],
  27: ["EFBIG", "OUT_OF_RANGE"],
  28: ["ENOSPC", "NO_MEMORY"],
  29: ["ESPIPE", "NOT_SUPPORTED"],
  30: ["EROFS", "ACCESS_DENIED"],
  32: ["EPIPE", "PEER_CLOSED"],
  34: ["ERANGE", "OUT_OF_RANGE"],
  38: ["ENOSYS", "NOT_SUPPORTED"],
  75: ["EOVERFLOW", "OUT_OF_RANGE"],
  88: ["ENOTSOCK", "WRONG_TYPE"],
  95: ["EOPNOTSUPP", "NOT_SUPPORTED"],
  104: ["ECONNRESET", "PEER_CLOSED"],
  107: ["ENOTCONN", "PEER_CLOSED"],
  110: ["ETIMEDOUT", "TIMED_OUT"],
  111: ["ECONNREFUSED", "PEER_CLOSED"],
};

/** The symbolic name of an errno (`12` gives `"ENOMEM"`), or `"E<n>"` for one not listed. */
export function errnoCode(errno: number): string {
  return table[errno]?.[0] ?? `E${errno}`;
}

/** The Zircon status that best describes an errno; `INTERNAL` for one with no meaning here. */
export function errnoStatus(errno: number): ErrnoStatus {
  return table[errno]?.[1] ?? "INTERNAL";
}

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const ENXIO = 6;
export const EBADF = 9;
export const ENOMEM = 12;
/** A bad address: what a copy into memory that refuses it gets instead of a fault. */
export const EFAULT = 14;
export const EAGAIN = 11;
export const EACCES = 13;
export const EBUSY = 16;
export const EEXIST = 17;
export const EXDEV = 18;
export const EINVAL = 22;
export const ENOSYS = 38;
export const EOPNOTSUPP = 95;
