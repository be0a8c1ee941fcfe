/**
 * The `ZxError` for an errno the channel wrappers returned as `-errno`.
 *
 * @module
 */

import { errnoCode, errnoStatus } from "../../ffi/errno.ts";
import { Status, type SyscallCause, ZxError } from "../status.ts";

/** errnos of sockets the shared table does not know, and what they mean for a channel. */
const socketErrnos: Record<number, [string, keyof typeof Status]> = {
  90: ["EMSGSIZE", "OUT_OF_RANGE"],
  // connect to a listener of another socket type (SOCK_STREAM, say)
  91: ["EPROTOTYPE", "WRONG_TYPE"],
  98: ["EADDRINUSE", "ALREADY_EXISTS"],
  105: ["ENOBUFS", "NO_MEMORY"],
  109: ["ETOOMANYREFS", "NO_RESOURCES"],
};

/** A `ZxError` for `syscall` failing with `errno`, with the status errno stands for. */
export function errorFromErrno(syscall: string, errno: number, message: string): ZxError {
  const known = socketErrnos[errno];
  const code = known?.[0] ?? errnoCode(errno);
  const cause: SyscallCause = { syscall, errno, code };
  const status = Status[known?.[1] ?? errnoStatus(errno)];
  return new ZxError(status, `${message} (${syscall}: ${code})`, cause);
}
