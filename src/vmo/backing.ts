/**
 * The file behind VMOs: a memfd, or a regular file for file-backed VMOs.
 *
 * A root VMO, its slices and its references share one backing (the same pages at the same file
 * offsets); a snapshot gets a new one; a file adopted twice (`unsafeFromFd`, `fromFile`, even through
 * `/proc/self/fd`) gets the backing it already has, so a resize is seen by every mapping of it.
 * Copies in and out use `pread`/`pwrite`, which cannot fault whatever another process does to
 * the file, or an internal mapping of a memfd sealed against shrinking, which nothing can cut.
 * A file or unsealed memfd is {@linkcode Backing.cuttable}: the layers above give no view of it.
 *
 * @module
 */

import {
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  MAP_FAILED,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  O_CLOEXEC,
  PROT_READ,
  PROT_WRITE,
} from "../../ffi/constants.ts";
import { EINTR, EINVAL, ENOSYS, EOPNOTSUPP, EXDEV } from "../../ffi/errno.ts";
import {
  addSeals,
  closeFd,
  cString,
  dupCloexecFrom,
  type FileStat,
  forEachDataExtent,
  fstat,
  getSeals,
  pread,
  pwrite,
} from "../../ffi/file.ts";
import { BigIntMemo } from "../../ffi/bigint.ts";
import { lastErrno, libc } from "../../ffi/libc.ts";
import { HighFdTable } from "./high_fds.ts";
import { type FileKey, LiveFiles } from "./live_files.ts";
import { byteLength, bytesWindow, copyBytes, PAGE_SIZE, zeroBytes } from "../args.ts";
import { fail, Status, syscallError } from "../status.ts";

const zeroChunk = new Uint8Array(64 * 1024);
const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;
const residency = new Uint8Array(256);

/**
 * Copies of this size and more go through the internal mapping only when `mincore` says every
 * page is in memory: `pread` of a hole commits nothing, a read through a mapping would commit
 * a page, and `pwrite` fills fresh pages twice as fast as page faults do. Below it, reads use
 * `pread` (a residency check costs more than it saves) and writes use the mapping.
 */
const CHECKED_COPY = 32 * 1024;
/** The largest VMO given an internal mapping: the address space it takes is not free. */
const MAX_INTERNAL_MAPPING = 64 * 1024 ** 3;

/** A mapping of the whole file that `read`/`write` copy through at memcpy speed. */
interface InternalMapping {
  pointer: Deno.PointerObject;
  view: Uint8Array<ArrayBuffer>;
  writable: boolean;
}
const bounceChunk = new Uint8Array(1024 * 1024);
const offIn = new BigInt64Array(1);
const offOut = new BigInt64Array(1);

/** The backings alive in this process, by file: one file, one backing. */
const liveBackings = new LiveFiles<Backing>();

/** A high fd of the library's that no VMO owns (the short write's source memfd). */
export interface HighFdOwner {
  /** Set when the library gave the number to another owner: the fd was closed outside vmo. */
  lost: boolean;
}

/** The library's own memfds at high fd numbers, by number (`high_fds.ts`). */
const highFds = new HighFdTable<Backing | HighFdOwner>();

/** The first of the library's high fd numbers (`high_fds.ts`); -1 when there are none. */
export function highFdFloor(): number {
  return highFds.floor();
}

/**
 * Puts `fd`, a number `F_DUPFD_CLOEXEC` just gave from {@linkcode highFdFloor} up, under
 * `owner`: whoever held that number before lost its fd (closed outside vmo) and learns it.
 */
export function claimHighFd(fd: number, owner: HighFdOwner): void {
  Backing.claimNumber(fd, owner);
}

/** The size of the last memfd made, as a bigint: programs make many of one size. */
const NEW_SIZE = new BigIntMemo();

/** NUL-terminated names of memfds, by label: a `TextEncoder` call costs more than the syscall. */
const labels = new Map<string, Uint8Array<ArrayBuffer>>();

/** Told about a change of a backing's size: before (to detach views) and after. */
export interface ResizeListener {
  /** Runs before the file changes size, while the old pages are still there. */
  beforeResize(oldSize: number, newSize: number): void;
  /** Runs after the file changed size. */
  afterResize(oldSize: number, newSize: number): void;
}

/** What a {@linkcode Backing} is made from. */
export interface BackingInit {
  /** The open fd, owned by the backing from now on. */
  fd: number;
  /** The size in bytes (page-rounded for memfds). */
  size: number;
  /** Whether VMOs on it may change its size. */
  resizable: boolean;
  /** A regular file rather than a memfd. */
  isFile: boolean;
  /**
   * Its `fstat`, read after `seals`: the device and inode it is found under again; `null` for a
   * memfd the library just made at a number of {@linkcode highFds} (read when wanted).
   */
  identity: FileStat | null;
  /** Its seals (0 for a file), read before `identity`. */
  seals: number;
}

/** A set that stays empty, for backings that never resize: adding to it throws. */
class NoListeners extends Set<ResizeListener> {
  override add(_listener: ResizeListener): this {
    throw new Error("vmo internal error: a resize listener on a backing that cannot resize");
  }
}
const NO_LISTENERS: Set<ResizeListener> = new NoListeners();

/** One memfd or file, shared by the VMOs that show its pages. */
export class Backing {
  /** The file descriptor; closed when the last VMO using it is released. */
  readonly fd: number;
  /** The size in bytes, a multiple of the page size for memfds. */
  size: number;
  /** Whether VMOs on it may change its size (memfds made resizable; never files). */
  readonly resizable: boolean;
  /** A regular file rather than a memfd: Zircon's pager-backed VMOs. */
  readonly isFile: boolean;
  /** Told before and after a change of size. */
  readonly resizeListeners: Set<ResizeListener>;
  #refs = 0;
  /** Sealed against shrinking when it was wrapped; seals are never removed. */
  readonly #shrinkSealed: boolean;
  #dev = 0n;
  #ino = 0n;
  /** `dev:ino`; `null` until the identity is read (a new memfd of {@linkcode highFds}). */
  #key: FileKey | null = null;
  /** The fd is at a number of {@linkcode highFds}, which the library made and tracks. */
  #high = false;
  /** A {@linkcode highFds} number the library gave to another backing: ours was closed. */
  #lost = false;
  /** `undefined` until first wanted; `null` when this file cannot have one. */
  #internal: InternalMapping | null | undefined = undefined;
  /**
   * This process added `F_SEAL_FUTURE_WRITE` (a handle without `WRITE` crossed a channel): no
   * new write access for anyone, so this process writes only through its internal mapping,
   * made writable before the seal.
   */
  #futureWriteSealed = false;
  /**
   * The high-fd backings made since the last lookup, to identify then: a lookup (each fd a
   * channel receives) reads these, not every high fd (a walk of them all cost about 3 ns per
   * live VMO: 31 us per received fd with 10,000 VMOs). Pruned each time it doubles, so that it
   * stays bounded in a program that never looks up.
   */
  static #unidentified: Backing[] = [];
  static #pruneAt = 64;

  /**
   * Wraps an open fd; the backing owns it from now on. See {@linkcode BackingInit} for what
   * each field says.
   */
  constructor(init: BackingInit) {
    this.fd = init.fd;
    this.size = init.size;
    this.resizable = init.resizable;
    this.isFile = init.isFile;
    // Only a resizable backing ever resizes (`Vmo.setSize`): the others share one empty set.
    this.resizeListeners = init.resizable ? new Set() : NO_LISTENERS;
    // `seals` were read before the size (`identity`): a shrink seal seen then protects it.
    this.#shrinkSealed = !init.isFile && (init.seals & F_SEAL_SHRINK) !== 0;
    if (init.identity !== null) {
      this.#identify(init.identity);
    } else {
      this.#high = true;
      Backing.claimNumber(this.fd, this);
      Backing.#unidentified.push(this);
      if (Backing.#unidentified.length >= Backing.#pruneAt) {
        Backing.#unidentified = Backing.#unidentified.filter(Backing.#waiting);
        Backing.#pruneAt = Math.max(64, 2 * Backing.#unidentified.length);
      }
    }
  }

  /**
   * Takes high number `fd` for `owner`. The number was free when F_DUPFD gave it: whoever the
   * table still lists under it lost its fd.
   */
  static claimNumber(fd: number, owner: Backing | HighFdOwner): void {
    const previous = highFds.get(fd);
    if (previous instanceof Backing) previous.#lost = true;
    else if (previous !== undefined) previous.lost = true;
    highFds.set(fd, owner);
  }

  /** A high-fd backing still open under its number and not identified yet. */
  static #waiting(backing: Backing): boolean {
    return backing.#key === null && !backing.#lost && highFds.get(backing.fd) === backing;
  }

  #identify(identity: FileStat): void {
    this.#dev = identity.dev;
    this.#ino = identity.ino;
    this.#key = liveBackings.add(identity, this);
  }

  /** Forgets the fd number and identity (the fd is being closed). */
  #forget(): void {
    if (this.#key !== null) liveBackings.remove(this.#key, this);
    if (this.#high && highFds.get(this.fd) === this) highFds.delete(this.fd);
  }

  /** Closes the fd, unless the library gave its number to another backing since. */
  #closeFd(): void {
    const ours = !this.#high || highFds.get(this.fd) === this;
    this.#forget();
    if (ours) libc.close(this.fd);
  }

  /**
   * `BAD_HANDLE` unless `fd` still names this file. Something outside the library (another
   * Worker's `unsafeFromFd` of the same number, say) may have closed it and the number been reused
   * for another file; mapping that one at this size could fault.
   */
  checkFd(): void {
    if (this.#high) {
      // Ours by construction; only a number the library handed on again is not.
      if (this.#lost) fail(Status.BAD_HANDLE, `the VMO's fd ${this.fd} was closed outside vmo`);
      return;
    }
    const stat = fstat(this.fd);
    if (stat === null || stat.dev !== this.#dev || stat.ino !== this.#ino) {
      fail(Status.BAD_HANDLE, `the VMO's fd ${this.fd} was closed or replaced outside vmo`);
    }
  }

  /** Replaces the fd with `better` (same file, a writable description); `better` is consumed. */
  upgradeFd(better: number): void {
    if (libc.dup3(better, this.fd, O_CLOEXEC) < 0) {
      const error = syscallError("dup3", "cannot take the writable fd");
      libc.close(better);
      throw error;
    }
    libc.close(better);
  }

  /** Closes a backing no VMO ever used (a failed snapshot). */
  discard(): void {
    this.#closeFd();
  }

  /** The live backing of the file `fstat` describes, if this process has one. */
  static lookup(stat: FileStat): Backing | undefined {
    // New memfds of ours are identified only now, when a lookup needs them.
    const fresh = Backing.#unidentified;
    if (fresh.length !== 0) {
      Backing.#unidentified = [];
      for (const backing of fresh) {
        if (!Backing.#waiting(backing)) continue;
        const identity = fstat(backing.fd);
        if (identity !== null) backing.#identify(identity);
      }
    }
    return liveBackings.get(stat);
  }

  /**
   * Whether someone else can cut the file under a mapping of it: a regular file (anyone with
   * write access can truncate it), or a memfd not sealed against shrinking. An unsealed memfd
   * is reachable by every process of the same user through `/proc/<pid>/fd/<n>` (and by this
   * one through `/proc/self/fd/<n>`), whatever this library did with its fd, so it counts as
   * cut-able from the start. No zero-copy view is ever made over such memory, and `read`/
   * `write` copy with `pread`/`pwrite`, which cannot fault.
   */
  get cuttable(): boolean {
    return this.isFile || !this.#shrinkSealed;
  }

  /**
   * A new memfd of `size` bytes (already page-rounded). A non-resizable one is sealed against
   * shrinking and growing, so no holder of its fd can make a mapping of it fault.
   */
  static memfd(size: number, resizable: boolean, label: string): Backing {
    let name = labels.get(label);
    if (name === undefined) labels.set(label, name = cString(label));
    let fd = libc.memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw syscallError("memfd_create", "cannot create the VMO's memory file");
    if (libc.ftruncate(fd, NEW_SIZE.of(size)) !== 0) {
      const error = syscallError("ftruncate", `cannot size the VMO to ${size} bytes`);
      closeFd(fd);
      throw error;
    }
    if (!resizable && addSeals(fd, F_SEAL_SHRINK | F_SEAL_GROW) !== 0) {
      const error = syscallError("fcntl", "cannot seal the VMO's size");
      closeFd(fd);
      throw error;
    }
    // A fresh memfd has no seals but those just added.
    const seals = resizable ? 0 : F_SEAL_SHRINK | F_SEAL_GROW;
    const start = highFds.floor();
    const high = start > 0 ? dupCloexecFrom(fd, start) : -1;
    if (high >= 0) {
      closeFd(fd);
      fd = high;
      return new Backing({ fd, size, resizable, isFile: false, identity: null, seals });
    }
    // No free number up there (or no limit known): a low fd, checked by fstat before each map.
    const identity = fstat(fd);
    if (identity === null) {
      const error = syscallError("fstat", "cannot identify the VMO's memory file");
      closeFd(fd);
      throw error;
    }
    return new Backing({ fd, size, resizable, isFile: false, identity, seals });
  }

  /** Adds a VMO that uses this backing. */
  retain(): void {
    this.#refs++;
  }

  /** Drops a VMO that used this backing; the last one closes the fd. */
  release(): void {
    if (--this.#refs !== 0) return;
    const internal = this.#internal;
    if (internal) {
      internal.view.buffer.transfer(0);
      libc.munmap(internal.pointer, BigInt(this.size));
    }
    this.#internal = null;
    this.#closeFd();
  }

  /**
   * The internal mapping, made on first use. Only a memfd sealed against shrinking gets one:
   * nothing, in this process or another, can then cut the file under it, so copying through
   * it can never fault.
   */
  #mapping(): InternalMapping | null {
    if (this.#internal !== undefined) return this.#internal;
    this.#internal = null;
    if (this.cuttable || this.resizable || this.size === 0 || this.size > MAX_INTERNAL_MAPPING) {
      return null;
    }
    const stat = fstat(this.fd);
    if (stat !== null && this.#key === null && !this.#lost) this.#identify(stat);
    // A file that ends inside the VMO's last page (a 100-byte memfd from another program) maps
    // whole: only pages wholly past the end fault.
    if (
      stat === null || this.#lost || stat.dev !== this.#dev || stat.ino !== this.#ino ||
      Math.ceil(stat.size / PAGE_SIZE) * PAGE_SIZE < this.size
    ) {
      return null;
    }
    const writable = (this.seals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) === 0;
    const prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    const pointer = libc.mmap(null, BigInt(this.size), prot, MAP_SHARED, this.fd, 0n);
    // Out of address space or of mappings: the copies simply stay on pread/pwrite.
    if (pointer === null || Deno.UnsafePointer.value(pointer) === MAP_FAILED) return null;
    const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, this.size) as ArrayBuffer;
    this.#internal = { pointer, view: new Uint8Array(buffer), writable };
    return this.#internal;
  }

  /** Whether this process sealed the memfd with `F_SEAL_FUTURE_WRITE`. */
  get futureWriteSealed(): boolean {
    return this.#futureWriteSealed;
  }

  /**
   * Seals the memfd with `F_SEAL_FUTURE_WRITE`, so that no process, this one included, can
   * gain write access to it again (a reopen of `/proc/self/fd/N` read-write gives no write
   * either), while this process keeps writing through its internal mapping, made writable
   * first: mappings made before the seal keep their access. Later writable mappings duplicate
   * it ({@linkcode Backing.duplicateWritable}); `Vmo.write` and decommit go through it (decommit then
   * zeroes pages instead of freeing them). Idempotent.
   *
   * Errors: `NOT_SUPPORTED` for a file, a resizable memfd (a resize would need write access),
   * or one that cannot have a writable internal mapping (larger than 64 GiB, not sealed
   * against shrinking, already write-sealed by someone else).
   */
  sealFutureWrite(): void {
    if (this.#futureWriteSealed) return;
    if (this.isFile || this.resizable) {
      fail(Status.NOT_SUPPORTED, "only a non-resizable memfd can be sealed read-only for others");
    }
    const internal = this.size === 0 ? null : this.#mapping();
    if (this.size !== 0 && (internal === null || !internal.writable)) {
      fail(Status.NOT_SUPPORTED, "the VMO cannot keep a writable mapping across the seal");
    }
    if (addSeals(this.fd, F_SEAL_FUTURE_WRITE) !== 0) {
      throw syscallError("fcntl", "cannot seal the VMO with F_SEAL_FUTURE_WRITE");
    }
    this.#futureWriteSealed = true;
  }

  /**
   * After {@linkcode Backing.sealFutureWrite}: places a read-write shared mapping of the file's
   * `[offset, offset + size)` at `addr` (replacing what is there, as `MAP_FIXED` does) by
   * duplicating the internal mapping, which was made before the seal: `mremap` with an old
   * size of 0 makes a second mapping of the same pages, with the same access. A new `mmap`
   * could not be writable.
   */
  duplicateWritable(addr: number, size: number, offset: number): void {
    const internal = this.#mapping();
    if (internal === null || !internal.writable || offset + size > this.size) {
      fail(
        Status.ACCESS_DENIED,
        "the VMO is sealed read-only for others and has no writable mapping to share",
      );
    }
    const from = BigInt(Deno.UnsafePointer.value(internal.pointer)) + BigInt(offset);
    const result = libc.mremap_at(
      from,
      0n,
      BigInt(size),
      MREMAP_MAYMOVE | MREMAP_FIXED,
      BigInt(addr),
    );
    if (result !== BigInt(addr)) {
      throw syscallError("mremap", `cannot place a writable mapping at 0x${addr.toString(16)}`);
    }
  }

  /** Whether every page of `[pos, pos + len)` of the internal mapping is in memory. */
  #resident(internal: InternalMapping, pos: number, len: number): boolean {
    const first = Math.floor(pos / PAGE_SIZE) * PAGE_SIZE;
    const end = pos + len;
    for (let at = first; at < end; at += residency.length * PAGE_SIZE) {
      const span = Math.min(residency.length * PAGE_SIZE, end - at);
      const pages = Math.ceil(span / PAGE_SIZE);
      const pointer = Deno.UnsafePointer.offset(internal.pointer, at)!;
      if (libc.mincore(pointer, BigInt(span), residency) !== 0) return false;
      for (let i = 0; i < pages; i++) if ((residency[i] & 1) === 0) return false;
    }
    return true;
  }

  /** The memfd's seals, or 0 for a file that cannot be sealed. */
  seals(): number {
    const seals = getSeals(this.fd);
    return seals < 0 ? 0 : seals;
  }

  /** Copies `dst.length` bytes at `pos` into `dst`; bytes past the end of the file read 0. */
  readInto(dst: Uint8Array, pos: number): void {
    const total = byteLength(dst);
    if (total >= CHECKED_COPY) {
      const internal = this.#mapping();
      if (internal !== null && this.#resident(internal, pos, total)) {
        copyBytes(dst, internal.view.subarray(pos, pos + total));
        return;
      }
    }
    let done = 0;
    while (done < total) {
      const part = bytesWindow(dst, done, total - done);
      const n = pread(this.fd, part, total - done, pos + done);
      if (n < 0) throw syscallError("pread", `cannot read ${total - done} bytes at ${pos + done}`);
      if (n === 0) {
        zeroBytes(part);
        return;
      }
      done += n;
    }
  }

  /**
   * {@linkcode Backing.readInto} for a caller that already read `dst`'s real length (`total`,
   * not 0): below {@linkcode CHECKED_COPY} one `pread` straight into `dst` does it, with no
   * second length read, window or loop. Anything else (a large copy, a short read at the end
   * of the file, an error) goes the general way, which reads the whole range again.
   */
  readKnown(dst: Uint8Array, total: number, pos: number): void {
    if (total < CHECKED_COPY && pread(this.fd, dst, total, pos) === total) return;
    this.readInto(dst, pos);
  }

  /** Copies `src` into the file at `pos`. */
  writeFrom(src: Uint8Array, pos: number): void {
    const internal = this.#mapping();
    const total = byteLength(src);
    if (
      internal !== null && internal.writable &&
      (total < CHECKED_COPY || this.#futureWriteSealed || this.#resident(internal, pos, total))
    ) {
      copyBytes(internal.view, src, pos);
      return;
    }
    this.#pwrite(src, pos);
  }

  #pwrite(src: Uint8Array, pos: number): void {
    const total = byteLength(src);
    let done = 0;
    while (done < total) {
      const part = bytesWindow(src, done, total - done);
      const n = pwrite(this.fd, part, total - done, pos + done);
      if (n < 0) {
        throw syscallError("pwrite", `cannot write ${total - done} bytes at ${pos + done}`);
      }
      done += n;
    }
  }

  /**
   * Makes `[pos, pos + len)` read as zeros: whole pages are freed with a hole punch, partial
   * pages are zeroed in place, and nothing is allocated where there was a hole.
   */
  zero(pos: number, len: number): void {
    if (len === 0) return;
    if (this.#futureWriteSealed) {
      // Hole punching is writing: the seal refuses it. Zero through the mapping instead.
      if (this.size !== 0) this.#mapping()!.view.fill(0, pos, pos + len);
      return;
    }
    const mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    if (libc.fallocate(this.fd, mode, BigInt(pos), BigInt(len)) === 0) return;
    const errno = lastErrno();
    if (errno !== EOPNOTSUPP && errno !== ENOSYS) {
      throw syscallError("fallocate", `cannot zero ${len} bytes at ${pos}`, errno);
    }
    // A file system without hole punching: write the zeros.
    for (let done = 0; done < len;) {
      const n = Math.min(zeroChunk.length, len - done);
      this.#pwrite(zeroChunk.subarray(0, n), pos + done);
      done += n;
    }
  }

  /** Allocates the pages of `[pos, pos + len)` without changing their contents. */
  commit(pos: number, len: number): void {
    if (len === 0) return;
    if (libc.fallocate(this.fd, FALLOC_FL_KEEP_SIZE, BigInt(pos), BigInt(len)) !== 0) {
      throw syscallError("fallocate", `cannot commit ${len} bytes at ${pos}`);
    }
  }

  /** Changes the file's size, telling the listeners before and after. */
  resize(newSize: number): void {
    const oldSize = this.size;
    for (const listener of this.resizeListeners) listener.beforeResize(oldSize, newSize);
    if (libc.ftruncate(this.fd, BigInt(newSize)) !== 0) {
      const error = syscallError("ftruncate", `cannot resize the VMO to ${newSize} bytes`);
      for (const listener of this.resizeListeners) listener.afterResize(oldSize, oldSize);
      throw error;
    }
    this.size = newSize;
    for (const listener of this.resizeListeners) listener.afterResize(oldSize, newSize);
  }

  /** Bytes of memory (or disk) the file holds: `st_blocks * 512`. */
  committedBytes(): number {
    const stat = fstat(this.fd);
    if (stat === null) throw syscallError("fstat", "cannot read the VMO's committed size");
    return stat.blocks * 512;
  }

  /**
   * Copies the data of `[srcPos, srcPos + len)` to `dst` at `dstPos`, skipping holes, so a copy
   * of a sparse file costs what its data costs. The destination range must read as zeros.
   */
  copyDataTo(dst: Backing, srcPos: number, len: number, dstPos: number): void {
    const errno = forEachDataExtent(this.fd, srcPos, srcPos + len, (from, to) => {
      this.#copyExtent(dst, from, to - from, dstPos + (from - srcPos));
    });
    if (errno !== 0) throw syscallError("lseek", "cannot find the data of the parent VMO", errno);
  }

  #copyExtent(dst: Backing, from: number, len: number, to: number): void {
    offIn[0] = BigInt(from);
    offOut[0] = BigInt(to);
    let left = len;
    while (left > 0) {
      const n = Number(libc.copy_file_range(this.fd, offIn, dst.fd, offOut, BigInt(left), 0));
      if (n > 0) {
        left -= n;
        continue;
      }
      if (n === 0) return; // the source file ended: the rest reads as zeros already
      const errno = lastErrno();
      if (errno === EXDEV || errno === EINVAL || errno === EOPNOTSUPP || errno === ENOSYS) {
        // copy_file_range cannot copy between these two files: bounce.
        this.#bounce(dst, Number(offIn[0]), left, Number(offOut[0]));
        return;
      }
      if (errno === EINTR) continue;
      throw syscallError("copy_file_range", `cannot copy ${left} bytes`, errno);
    }
  }

  #bounce(dst: Backing, from: number, len: number, to: number): void {
    for (let done = 0; done < len;) {
      const chunk = bounceChunk.subarray(0, Math.min(bounceChunk.length, len - done));
      this.readInto(chunk, from + done);
      // Not through dst's internal mapping: a writable mapping would block a later write seal.
      dst.#pwrite(chunk, to + done);
      done += chunk.length;
    }
  }
}
