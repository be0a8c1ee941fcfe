/**
 * System-call wrappers for guest memory: huge-page memfds and committing a file's pages up
 * front, so that a missing page is an error at creation rather than a fault on first touch.
 *
 * @module
 */

import {
  F_ADD_SEALS,
  F_SEAL_GROW,
  F_SEAL_SHRINK,
  FALLOC_FL_KEEP_SIZE,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  STAT_SIZE,
} from "./constants.ts";
import { lastErrno, libc } from "./libc.ts";

/** `MFD_HUGETLB`: the memfd lives on the kernel's internal hugetlbfs mount. */
export const MFD_HUGETLB = 0x0004;
/** `MAP_HUGETLB` (x86_64 and generic). */
export const MAP_HUGETLB = 0x40000;
/** `MAP_POPULATE`. */
export const MAP_POPULATE = 0x8000;
/** `ENOSPC`: no huge pages (or no space) left to commit. */
export const ENOSPC = 28;

/** `st_blksize` in `struct stat` on x86_64: the huge page size of a hugetlbfs file. */
const STAT_BLKSIZE = 56;

/** The result of a wrapper: a value, or the errno of the failed call. */
export type Errno<T> = { ok: true; value: T } | { ok: false; errno: number; syscall: string };

/**
 * A close-on-exec memfd on hugetlbfs of `size` bytes rounded up to the huge page size (which
 * is returned with it), sealed against shrinking and growing. The caller owns the fd.
 */
export function hugetlbMemfd(
  name: string,
  size: number,
): Errno<{ fd: number; hugePageSize: number }> {
  const fd = libc.memfd_create(
    new TextEncoder().encode(name + "\0"),
    MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB,
  );
  if (fd < 0) return { ok: false, errno: lastErrno(), syscall: "memfd_create" };
  const stat = new Uint8Array(STAT_SIZE);
  if (libc.fstat(fd, stat) !== 0) {
    const errno = lastErrno();
    libc.close(fd);
    return { ok: false, errno, syscall: "fstat" };
  }
  const hugePageSize = Number(new DataView(stat.buffer).getBigInt64(STAT_BLKSIZE, true));
  const rounded = Math.ceil(size / hugePageSize) * hugePageSize;
  if (libc.ftruncate(fd, BigInt(rounded)) !== 0) {
    const errno = lastErrno();
    libc.close(fd);
    return { ok: false, errno, syscall: "ftruncate" };
  }
  // Sealed against resizing, as every non-resizable VMO: no holder of the fd can cut the
  // pages from under a mapping.
  if (libc.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) !== 0) {
    const errno = lastErrno();
    libc.close(fd);
    return { ok: false, errno, syscall: "fcntl" };
  }
  return { ok: true, value: { fd, hugePageSize } };
}

/**
 * Commits `[offset, offset + len)` of `fd` with `fallocate(KEEP_SIZE)`: every page is then
 * allocated, and a later touch cannot fail for want of memory (or of huge pages).
 */
export function commitRange(fd: number, offset: number, len: number): Errno<void> {
  if (libc.fallocate(fd, FALLOC_FL_KEEP_SIZE, BigInt(offset), BigInt(len)) !== 0) {
    return { ok: false, errno: lastErrno(), syscall: "fallocate" };
  }
  return { ok: true, value: undefined };
}
