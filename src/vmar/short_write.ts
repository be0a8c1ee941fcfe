/**
 * Short writes into mapped memory that someone else may cut (a regular file, an unsealed
 * memfd), as one `pread` from a memfd of the library's own into the destination address.
 *
 * The kernel copies a `pread`'s bytes out with `copy_to_user`: a destination page that is
 * unmapped, not writable, or past the end of a file cut short under it makes the call fail
 * with `EFAULT` (or stop short), it never raises `SIGBUS` (a fault in kernel mode is fixed up,
 * not signalled). That is the guarantee `process_vm_writev` gives, at a fraction of its cost:
 * no task lookup, permission check, iovec import or page pinning (and on the measured machine
 * no tracing hook, which `process_vm_writev` has). The source memfd is sealed against
 * shrinking and growing, so the view through which the bytes are put into it can never fault
 * either, and it sits at a high fd number, where a stray `close` elsewhere does not give its
 * number to another file (see src/vmo/high_fds.ts).
 *
 * @module
 */

import {
  F_ADD_SEALS,
  F_SEAL_GROW,
  F_SEAL_SHRINK,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  PROT_READ,
  PROT_WRITE,
} from "../../ffi/constants.ts";
import { EFAULT, EINTR } from "../../ffi/errno.ts";
import { BigIntMemo } from "../../ffi/bigint.ts";
import { dupCloexecFrom } from "../../ffi/file.ts";
import { lastErrno, libc } from "../../ffi/libc.ts";
import { byteLength, bytesWindow, copyBytes } from "../args.ts";
import { claimHighFd, highFdFloor, type HighFdOwner } from "../vmo/backing.ts";

/** The most bytes one short write takes (the source memfd's size). */
export const SHORT_WRITE_MAX = 16 * 1024;

const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** The source memfd and the view its bytes are put in through. */
interface Source extends HighFdOwner {
  fd: number;
  view: Uint8Array<ArrayBuffer>;
}

/** Made on first use; `null` once it could not be made or was lost (the callers fall back). */
let source: Source | null | undefined;
const ADDR = new BigIntMemo();
const LENGTH = new BigIntMemo();

function makeSource(): Source | null {
  let fd = libc.memfd_create(
    new TextEncoder().encode("vmo-short-write\0"),
    MFD_CLOEXEC | MFD_ALLOW_SEALING,
  );
  if (fd < 0) return null;
  if (
    libc.ftruncate(fd, BigInt(SHORT_WRITE_MAX)) !== 0 ||
    libc.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) !== 0
  ) {
    libc.close(fd);
    return null;
  }
  // Among the library's VMO memfds, in their table: a number up there stays ours, and a VMO
  // whose fd was closed outside vmo learns that its number went to this memfd (and this memfd
  // learns when its number goes to a VMO), so neither maps or reads the other's file.
  const floor = highFdFloor();
  const high = floor > 0 ? dupCloexecFrom(fd, floor) : -1;
  let claimed = false;
  if (high >= 0) {
    libc.close(fd);
    fd = high;
    claimed = true;
  }
  const at = libc.mmap_at(0n, BigInt(SHORT_WRITE_MAX), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
  if (at === MAP_FAILED) {
    libc.close(fd);
    return null;
  }
  const pointer = Deno.UnsafePointer.create(at)!;
  const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, SHORT_WRITE_MAX) as ArrayBuffer;
  const made: Source = { fd, view: new Uint8Array(buffer), lost: false };
  if (claimed) claimHighFd(fd, made);
  return made;
}

/** What {@linkcode writeShort} returns when it cannot be used (no source, too many bytes). */
export const SHORT_WRITE_UNAVAILABLE = -2;

/**
 * Writes the first `count` bytes of `src` (1 to {@linkcode SHORT_WRITE_MAX}) to `addr` with
 * one `pread` from the source memfd: the bytes written (short when a later page refused them),
 * -1 when the destination refused the first byte, or {@linkcode SHORT_WRITE_UNAVAILABLE}. The
 * caller has checked that the memory is mapped writable in the tree (so a write never lands in
 * memory mapped later at the same address), and on anything but `count` takes its general
 * path, which finds out why.
 */
export function writeShort(addr: number, src: Uint8Array, count: number): number {
  let s = source;
  if (s === undefined) s = source = makeSource();
  if (s === null || count > SHORT_WRITE_MAX || count <= 0) return SHORT_WRITE_UNAVAILABLE;
  if (s.lost) {
    // Closed outside vmo and its number given to a VMO since: that file is not ours to read.
    source = null;
    return SHORT_WRITE_UNAVAILABLE;
  }
  copyBytes(s.view, count === byteLength(src) ? src : bytesWindow(src, 0, count));
  const at = ADDR.of(addr);
  const length = LENGTH.of(count);
  for (;;) {
    const n = libc.pread_to(s.fd, at, length, 0n);
    if (n > 0) return n;
    if (n === 0) {
      // The source read as empty: its fd no longer names the memfd (closed outside vmo and the
      // number reused). Stop using it.
      source = null;
      return SHORT_WRITE_UNAVAILABLE;
    }
    const errno = lastErrno();
    if (errno === EINTR) continue;
    // EFAULT is the destination's doing; anything else (EBADF) is the source's.
    if (errno === EFAULT) return -1;
    source = null;
    return SHORT_WRITE_UNAVAILABLE;
  }
}

/**
 * The source memfd's fd (-1 when there is none yet or it was given up), and with `forget` a
 * fresh start: the next write makes a new source. For tests of the fall-back.
 */
export function shortWriteSourceFd(forget = false): number {
  const fd = source ? source.fd : -1;
  if (forget) source = undefined;
  return fd;
}
