/**
 * Typed wrappers of the file-descriptor calls: strings to `char *`, `fstat` decoded, the
 * `fcntl` commands vmo uses, `pread`/`pwrite` retried on `EINTR`, and the data extents of a
 * sparse file (`lseek` `SEEK_DATA`/`SEEK_HOLE`).
 *
 * Like {@linkcode libc} itself, these return C's results (a negative number, or `null`, on
 * failure) and leave errno for the caller to read with {@linkcode lastErrno} before any other
 * FFI call: turning a failure into a `ZxError` is the caller's business, since only it knows
 * what the failure means. The `EINTR` retries are the one exception: an interrupted call is
 * made again, so that no caller has to.
 *
 * @module
 */

import {
  F_ADD_SEALS,
  F_DUPFD_CLOEXEC,
  F_GET_SEALS,
  F_GETFL,
  F_SETFL,
  SEEK_DATA,
  SEEK_HOLE,
  STAT_BLOCKS,
  STAT_DEV,
  STAT_INO,
  STAT_MODE,
  STAT_SIZE,
  STAT_SIZE_OFFSET,
} from "./constants.ts";
import { EINTR, ENXIO } from "./errno.ts";
import { BigIntMemo } from "./bigint.ts";
import { lastErrno, libc } from "./libc.ts";

// Lengths and offsets of reads and writes repeat: see bigint.ts.
const COUNT = new BigIntMemo();
/** Counts below this come back exactly as a 32-bit result. */
const SHORT = 0x8000_0000;
const OFFSET = new BigIntMemo();

/** A NUL-terminated UTF-8 copy of `s` for a `char *` parameter. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

const statBuffer = new Uint8Array(STAT_SIZE);
const statView = new DataView(statBuffer.buffer);

/** What `fstat` says of an fd, in the fields vmo uses. */
export interface FileStat {
  /** `st_dev`: the device of the file system. */
  dev: bigint;
  /** `st_ino`: the inode; with `dev`, the file's identity. */
  ino: bigint;
  /** `st_mode`: the type (`S_IFMT` bits) and permission bits. */
  mode: number;
  /** `st_size` in bytes. */
  size: number;
  /** `st_blocks`: 512-byte blocks allocated. */
  blocks: number;
}

/** `fstat(fd)`, or `null` with errno set when it fails. */
export function fstat(fd: number): FileStat | null {
  if (libc.fstat(fd, statBuffer) !== 0) return null;
  return {
    dev: statView.getBigUint64(STAT_DEV, true),
    ino: statView.getBigUint64(STAT_INO, true),
    mode: statView.getUint32(STAT_MODE, true),
    size: Number(statView.getBigInt64(STAT_SIZE_OFFSET, true)),
    blocks: Number(statView.getBigInt64(STAT_BLOCKS, true)),
  };
}

/** `open(path, flags, 0)`: the new fd, or -1. */
export function openFile(path: string, flags: number): number {
  return libc.open(cString(path), flags, 0);
}

/**
 * A new description of the file open as `fd` (through `/proc/self/fd`), with `flags`: the new
 * fd, or -1. Unlike `dup`, the new fd shares no file status flags (`O_APPEND`) with `fd`.
 */
export function reopenFd(fd: number, flags: number): number {
  return libc.open(cString(`/proc/self/fd/${fd}`), flags, 0);
}

/** `close(fd)`: 0, or -1. */
export function closeFd(fd: number): number {
  return libc.close(fd);
}

/** `fcntl(fd, F_DUPFD_CLOEXEC, 0)`: the lowest free fd, a duplicate of `fd`, or -1. */
export function dupCloexec(fd: number): number {
  return libc.fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/** `fcntl(fd, F_GETFL)`: the access mode and status flags, or -1. */
export function statusFlags(fd: number): number {
  return libc.fcntl(fd, F_GETFL, 0);
}

/** `fcntl(fd, F_SETFL, flags)`: 0, or -1. */
export function setStatusFlags(fd: number, flags: number): number {
  return libc.fcntl(fd, F_SETFL, flags);
}

/** `fcntl(fd, F_GET_SEALS)`: a memfd's seals, or -1 (`EINVAL` for a file that has none). */
export function getSeals(fd: number): number {
  return libc.fcntl(fd, F_GET_SEALS, 0);
}

/** `fcntl(fd, F_ADD_SEALS, seals)`: 0, or -1. */
export function addSeals(fd: number, seals: number): number {
  return libc.fcntl(fd, F_ADD_SEALS, seals);
}

/** `posix_fadvise(fd, offset, len, advice)`: 0, or an errno (this call does not set errno). */
export function fadvise(fd: number, offset: number, len: number, advice: number): number {
  return libc.posix_fadvise(fd, BigInt(offset), BigInt(len), advice);
}

/**
 * `pread(fd, dst, len, offset)`, made again while it is interrupted (`EINTR`): the bytes read
 * (0 at the end of the file), or -1. `len` is the caller's (read from a built-in, not from a
 * property `dst` may carry) and at most `dst`'s length.
 */
export function pread(fd: number, dst: Uint8Array, len: number, offset: number): number {
  const count = COUNT.of(len);
  const at = OFFSET.of(offset);
  for (;;) {
    // Below 2^31 bytes the result fits an i32: no bigint to make and convert.
    const n = len < SHORT
      ? libc.pread_short(fd, dst, count, at)
      : Number(libc.pread(fd, dst, count, at));
    if (n >= 0 || lastErrno() !== EINTR) return n;
  }
}

/**
 * `pwrite(fd, src, len, offset)`, made again while it is interrupted (`EINTR`): the bytes
 * written, or -1. `len` is at most `src`'s length, as for {@linkcode pread}.
 */
export function pwrite(fd: number, src: Uint8Array, len: number, offset: number): number {
  const count = COUNT.of(len);
  const at = OFFSET.of(offset);
  for (;;) {
    const n = len < SHORT
      ? libc.pwrite_short(fd, src, count, at)
      : Number(libc.pwrite(fd, src, count, at));
    if (n >= 0 || lastErrno() !== EINTR) return n;
  }
}

/**
 * Calls `visit(from, to)` with each run of `[start, end)` of the file that holds data, in
 * order, skipping holes (`lseek` `SEEK_DATA`, then `SEEK_HOLE`). Returns 0 when the range was
 * walked to its end (`ENXIO`, "no data past here", is the end too), or the errno of an `lseek`
 * that failed otherwise. `visit` may throw; the walk stops there.
 */
export function forEachDataExtent(
  fd: number,
  start: number,
  end: number,
  visit: (from: number, to: number) => void,
): number {
  let pos = start;
  while (pos < end) {
    const data = Number(libc.lseek(fd, BigInt(pos), SEEK_DATA));
    if (data < 0) {
      const errno = lastErrno();
      return errno === ENXIO ? 0 : errno;
    }
    if (data >= end) return 0;
    const hole = Number(libc.lseek(fd, BigInt(data), SEEK_HOLE));
    if (hole < 0) return lastErrno();
    if (hole <= data) return 0;
    const extentEnd = Math.min(hole, end);
    visit(data, extentEnd);
    pos = extentEnd;
  }
  return 0;
}

// ---- speed (issue 9) ---------------------------------------------------------------------------

/**
 * The bytes of `[start, end)` of the file that hold data (the sum of what
 * {@linkcode forEachDataExtent} visits), or -1 with errno set when an `lseek` fails otherwise
 * than with `ENXIO` ("no data past here"). With `holeFirst` it asks first where the data at
 * `start` ends (`SEEK_HOLE`): one call for a range that is all data, where the plain walk makes
 * two; without, first where data starts (`SEEK_DATA`): one call for a range with none.
 */
export function dataBytesIn(fd: number, start: number, end: number, holeFirst: boolean): number {
  let pos = start;
  let total = 0;
  if (holeFirst && pos < end) {
    const hole = Number(libc.lseek(fd, BigInt(pos), SEEK_HOLE));
    if (hole < 0) return lastErrno() === ENXIO ? 0 : -1;
    if (hole > pos) {
      total += Math.min(hole, end) - pos;
      pos = hole;
    }
  }
  while (pos < end) {
    const data = Number(libc.lseek(fd, BigInt(pos), SEEK_DATA));
    if (data < 0) return lastErrno() === ENXIO ? total : -1;
    if (data >= end) return total;
    const hole = Number(libc.lseek(fd, BigInt(data), SEEK_HOLE));
    if (hole < 0) return -1;
    if (hole <= data) return total;
    total += Math.min(hole, end) - data;
    pos = hole;
  }
  return total;
}

/**
 * `fcntl(fd, F_DUPFD_CLOEXEC, min)`: a close-on-exec duplicate of `fd` at the lowest free
 * number not below `min`, or -1 (`EMFILE` when there is none below the fd limit).
 */
export function dupCloexecFrom(fd: number, min: number): number {
  return libc.fcntl(fd, F_DUPFD_CLOEXEC, min);
}

const RLIMIT_NOFILE = 7;
const rlimit = new BigUint64Array(2);

/** The soft limit on open fds (`RLIMIT_NOFILE`): one more than the highest fd number allowed. */
export function openFileLimit(): number {
  if (libc.getrlimit(RLIMIT_NOFILE, new Uint8Array(rlimit.buffer)) !== 0) return 0;
  return Number(rlimit[0] > 0x7fff_ffffn ? 0x7fff_ffffn : rlimit[0]);
}
