/**
 * `Vmo`: a handle to a virtual memory object, Zircon's unit of memory, on a Linux memfd or file.
 *
 * @module
 */

import {
  F_ADD_SEALS,
  F_DUPFD_CLOEXEC,
  F_GET_SEALS,
  F_GETFL,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  F_SETFL,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  POSIX_FADV_DONTNEED,
  POSIX_FADV_WILLNEED,
  S_IFMT,
  S_IFREG,
} from "../../ffi/constants.ts";
import { libc } from "../../ffi/libc.ts";
import {
  byteLength,
  checkBytes,
  checkedEnd,
  checkSafe,
  checkU32,
  checkU64,
  describe,
  isPageAligned,
  MAX_U64,
  roundDownPage,
  roundUpPage,
} from "../args.ts";
import { Handle, type KernelObject, liveObjectOfType, ObjType, rightsOf } from "../handle.ts";
import { DEFAULT_VMO_RIGHTS, hasRights, Rights } from "../rights.ts";
import { fail, Status, syscallError, ZxError } from "../status.ts";
import { Backing, cString, fstat } from "./backing.ts";
import { CachePolicy, VmoChildOptions, VmoInfoFlags, VmoOp, VmoOptions } from "./constants.ts";
import { VmoObject } from "./object.ts";

/** The largest VMO size: the largest page multiple that is a safe JS integer. */
const MAX_SIZE = roundDownPage(MAX_U64);
const NAME_MAX_BYTES = 31;

const SNAPSHOT_TYPES = VmoChildOptions.SNAPSHOT | VmoChildOptions.SNAPSHOT_AT_LEAST_ON_WRITE |
  VmoChildOptions.SNAPSHOT_MODIFIED;
const KNOWN_CHILD_OPTIONS = SNAPSHOT_TYPES | VmoChildOptions.RESIZABLE | VmoChildOptions.SLICE |
  VmoChildOptions.NO_WRITE | VmoChildOptions.REFERENCE;

/** What {@linkcode Vmo.info} returns (`ZX_INFO_VMO`). */
export interface VmoInfo {
  /** The VMO's koid. */
  koid: number;
  /** Its name, empty by default. */
  name: string;
  /** Its size in bytes, a multiple of the page size. */
  sizeBytes: number;
  /** The koid of the VMO it was made from, 0 for none. */
  parentKoid: number;
  /** Live direct children (snapshots, slices, references). */
  numChildren: number;
  /** Mappings of it in any VMAR of this process. */
  numMappings: number;
  /** Address spaces that map it: 1 here, as in Zircon when it has fewer than two mappings. */
  shareCount: number;
  /** {@linkcode VmoInfoFlags} bits. */
  flags: number;
  /**
   * Bytes of memory the VMO holds (`st_blocks * 512` of its memfd). Slices and references
   * report 0, as in Zircon: their pages count for the VMO that owns them. A snapshot reports
   * the pages it copied (Zircon's copy-on-write clone would report 0 until written).
   */
  committedBytes: number;
  /** The rights of the handle asked. */
  handleRights: number;
  /** Its {@linkcode CachePolicy}. */
  cachePolicy: number;
  /** Equal to `committedBytes`: Linux does not compress memfd pages. */
  populatedBytes: number;
}

/** Options of {@linkcode Vmo.fromFile}. */
export interface FromFileOptions {
  /** Open the file for writing too; needs Deno's write permission for a path. */
  writable?: boolean;
}

/** Options of {@linkcode Vmo.fromFd}. */
export interface FromFdOptions {
  /** The rights the handle gets, at most what the fd allows. */
  rights?: number;
}

/** The VMO object behind a `Vmo` handle: `BAD_HANDLE` or `WRONG_TYPE` otherwise. */
export function vmoObjectOf(handle: unknown, what = "the handle"): VmoObject {
  return liveObjectOfType<VmoObject>(handle, ObjType.VMO, what);
}

function needRights(rights: number, wanted: number, what: string): void {
  if (!hasRights(rights, wanted)) {
    fail(Status.ACCESS_DENIED, `${what} needs the ${rightNames(wanted)} right`);
  }
}

function rightNames(rights: number): string {
  return Object.entries(Rights)
    .filter(([name, bit]) =>
      name !== "BASIC" && bit !== 0 && (rights & bit) === bit && bit < 0x8000_0000
    )
    .map(([name]) => name)
    .join(" and ");
}

/**
 * A handle to a virtual memory object: a page-rounded, zero-filled container of bytes on a
 * Linux memfd (or a file), with Zircon's semantics for sizes, children, ops and rights.
 *
 * Copies in and out (`read`, `write`) never fault, whatever another process holding the same
 * memory does: they use `pread`/`pwrite`, or, for a memfd sealed against shrinking, an internal
 * mapping that nothing can cut (memcpy speed; large reads take it only for pages already in
 * memory, so a read commits nothing). A VMO made without `VmoOptions.RESIZABLE` is sealed against
 * shrinking and growing (`F_SEAL_SHRINK | F_SEAL_GROW`), so no process can make a mapping of it
 * fault.
 *
 * @example Create, write, snapshot
 * ```ts
 * import { Vmo, VmoChildOptions } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4096);
 * vmo.write(new TextEncoder().encode("hello"), 0);
 * using snapshot = vmo.createChild(VmoChildOptions.SNAPSHOT, 0, 4096);
 * vmo.write(new TextEncoder().encode("HELLO"), 0);
 * assert.equal(new TextDecoder().decode(snapshot.readToArray(0, 5)), "hello");
 * ```
 */
export class Vmo extends Handle {
  /** The largest size a VMO may have: `2^53` less one page. */
  static readonly MAX_SIZE: number = MAX_SIZE;

  /** @ignore */
  private constructor(object: VmoObject, rights: number) {
    super(object, rights);
  }

  /** @ignore */
  protected newHandle(object: KernelObject, rights: number): this {
    return new Vmo(object as VmoObject, rights) as this;
  }

  /**
   * Creates a VMO of `size` bytes rounded up to the page size (0 is allowed), zero-filled.
   * `options` combines {@linkcode VmoOptions}: `RESIZABLE` (the handle gets `RESIZE`),
   * `DISCARDABLE` (lockable with `TRY_LOCK`/`UNLOCK`; Linux never discards it), `UNBOUNDED`
   * (the size is `Vmo.MAX_SIZE`, sparse, and `size` only sets the stream size).
   *
   * Errors: `INVALID_ARGS` for a bad size or unknown options or `RESIZABLE | UNBOUNDED`;
   * `OUT_OF_RANGE` when the rounded size exceeds `Vmo.MAX_SIZE`; `NO_MEMORY`,
   * `NO_RESOURCES` when Linux refuses the memfd.
   *
   * @example
   * ```ts
   * import { PAGE_SIZE, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(100);
   * assert.equal(vmo.getSize(), PAGE_SIZE);
   * assert.equal(vmo.getStreamSize(), 100);
   * ```
   */
  static create(size: number, options = 0): Vmo {
    checkU64(size, "size");
    checkU32(options, "options");
    const known = VmoOptions.RESIZABLE | VmoOptions.DISCARDABLE | VmoOptions.UNBOUNDED;
    if ((options & ~known) !== 0) fail(Status.INVALID_ARGS, `unknown VMO options ${options}`);
    const resizable = (options & VmoOptions.RESIZABLE) !== 0;
    const unbounded = (options & VmoOptions.UNBOUNDED) !== 0;
    if (resizable && unbounded) {
      fail(Status.INVALID_ARGS, "RESIZABLE and UNBOUNDED exclude each other");
    }
    // For UNBOUNDED the size argument is only the stream size, which must fit in the VMO too.
    const rounded = unbounded ? MAX_SIZE : roundUpPage(size);
    if (roundUpPage(size) > MAX_SIZE) {
      fail(Status.OUT_OF_RANGE, `size ${size} exceeds Vmo.MAX_SIZE`);
    }
    const backing = Backing.memfd(rounded, resizable, "vmo");
    const object = new VmoObject({
      backing,
      offset: 0,
      sliceSize: null,
      stream: { value: size },
      kind: "root",
      parent: null,
      discardable: (options & VmoOptions.DISCARDABLE) !== 0,
    });
    return new Vmo(object, DEFAULT_VMO_RIGHTS | (resizable ? Rights.RESIZE : 0));
  }

  /**
   * A VMO over a regular file: reads, writes and mappings reach the file itself. `file` is a
   * path, checked against Deno's read (and, when `writable`, write) permission, or an open
   * `Deno.FsFile`, whose descriptor is duplicated (opened for writing if `writable`).
   *
   * The VMO's size is the file size rounded up to pages and its stream size the file size.
   * It is not resizable (`setSize` gives `UNAVAILABLE`) and is Zircon's pager-backed kind:
   * `SNAPSHOT` children and `DECOMMIT` are `NOT_SUPPORTED` (use
   * `SNAPSHOT_AT_LEAST_ON_WRITE` for a private copy). Writing past the end of the file within
   * the last page grows the file to that point. A file truncated by someone else reads zeros
   * past its end through `read`; since anyone with write access can truncate it, a mapping of
   * it cannot be `REQUIRE_NON_RESIZABLE` (`NOT_SUPPORTED`, so no `Mapping.createFromVmo`) and
   * gets no zero-copy view: `SharedBuffer` copies go through `process_vm_readv`/`writev`, which
   * fail instead of faulting.
   *
   * Errors: `ACCESS_DENIED` without the Deno permission or when the file or descriptor is not
   * writable; `NOT_FOUND` for a missing path; `WRONG_TYPE` for a directory or other non-file.
   *
   * @example
   * ```ts
   * import { Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempFileSync();
   * Deno.writeTextFileSync(path, "file data");
   * using vmo = Vmo.fromFile(path);
   * assert.equal(new TextDecoder().decode(vmo.readToArray(0, 9)), "file data");
   * assert.equal(vmo.getStreamSize(), 9);
   * Deno.removeSync(path);
   * ```
   */
  static fromFile(file: Deno.FsFile | string, opts: FromFileOptions = {}): Vmo {
    if (typeof opts !== "object" || opts === null) {
      fail(Status.INVALID_ARGS, `opts must be an object, got ${describe(opts)}`);
    }
    const writable = opts.writable === true;
    const fd = typeof file === "string" ? openPath(file, writable) : dupFsFile(file, writable);
    return Vmo.#adopt(fd, writable ? undefined : ~Rights.WRITE >>> 0, true);
  }

  /**
   * Adopts an open file descriptor of a memfd or regular file (one received from another
   * process, say); the VMO owns it from now on and closes it. What the fd allows bounds the
   * rights: no `WRITE` for a read-only fd or a write-sealed memfd, `RESIZE` only for a memfd
   * not sealed against resizing. `opts.rights` narrows them further.
   *
   * A memfd is taken as an anonymous VMO, resizable (by this handle) when the fd is read-write
   * and not sealed with `F_SEAL_SHRINK` and `F_SEAL_GROW`; a regular file as in
   * {@linkcode Vmo.fromFile}. Whatever the fd's mode, a memfd without `F_SEAL_SHRINK` counts as
   * one another process can shrink: mapping it with `REQUIRE_NON_RESIZABLE` (as `Mapping` does)
   * is `NOT_SUPPORTED`, and no view is made over it. If this process already has the file as a
   * VMO, the two share it and the new fd is closed at once; the VMO's own fd number is
   * `ALREADY_EXISTS`.
   *
   * The fd is taken over whether adoption succeeds or fails (it is closed on failure), as with
   * Rust's `FromRawFd`: pass only an fd you own. An fd that something else in this process
   * still uses (a `Deno.FsFile`'s, a VMO's in another Worker) would be closed under it; vmo
   * checks that a VMO's fd still names its file before every mapping it makes
   * (`BAD_HANDLE` otherwise), but the other owner is on its own. To share a file safely, use
   * {@linkcode Vmo.fromFile}, which opens or duplicates a descriptor of its own.
   *
   * Errors: `INVALID_ARGS` for a value that is no fd number; `BAD_HANDLE` for a closed fd;
   * `WRONG_TYPE` for an fd that is not a regular file or memfd.
   *
   * @example
   * ```ts
   * import { Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using original = Vmo.create(4096);
   * original.write(new Uint8Array([42]), 0);
   * using adopted = Vmo.fromFd(original.unsafeDupFd());
   * assert.equal(adopted.readToArray(0, 1)[0], 42);
   * ```
   */
  static fromFd(fd: number, opts: FromFdOptions = {}): Vmo {
    if (typeof opts !== "object" || opts === null) {
      fail(Status.INVALID_ARGS, `opts must be an object, got ${describe(opts)}`);
    }
    checkU64(fd, "fd");
    if (fd > 0x7fff_ffff) fail(Status.INVALID_ARGS, `fd ${fd} is no file descriptor`);
    const rights = opts.rights === undefined ? undefined : checkU32(opts.rights, "rights");
    return Vmo.#adopt(fd, rights, false);
  }

  static #adopt(fd: number, rightsMask: number | undefined, fromFilePath: boolean): Vmo {
    // Seals before size: a peer may shrink and then seal between the two reads, and a size
    // read after the seals is the one the seals protect.
    const sealsResult = libc.fcntl(fd, F_GET_SEALS, 0);
    const stat = fstat(fd);
    if (stat === null) throw syscallError("fstat", `cannot adopt fd ${fd}`);
    const known = Backing.lookup(stat);
    if (known !== undefined && known.fd === fd) {
      fail(Status.ALREADY_EXISTS, `fd ${fd} is a VMO's own; use duplicate()`);
    }
    try {
      if ((stat.mode & S_IFMT) !== S_IFREG) {
        fail(Status.WRONG_TYPE, `fd ${fd} is not a regular file or memfd`);
      }
      let flags = libc.fcntl(fd, F_GETFL, 0);
      if (flags < 0) throw syscallError("fcntl", `cannot read the mode of fd ${fd}`);
      if ((flags & O_APPEND) !== 0) {
        // pwrite on an O_APPEND description appends wherever it is asked to write: use a
        // description of our own without it.
        const mode = (flags & O_ACCMODE) === O_RDWR ? O_RDWR : O_RDONLY;
        const reopened = libc.open(cString(`/proc/self/fd/${fd}`), mode | O_CLOEXEC, 0);
        if (reopened < 0) throw syscallError("open", "cannot reopen the file without O_APPEND");
        libc.close(fd);
        fd = reopened;
        flags = mode;
      }
      // Only shmem files (memfds, tmpfs) answer F_GET_SEALS.
      const isMemfd = sealsResult >= 0;
      const seals = isMemfd ? sealsResult : 0;
      const writable = (flags & O_ACCMODE) === O_RDWR &&
        (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) === 0;
      const sizeSealed = (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) ===
        (F_SEAL_SHRINK | F_SEAL_GROW);
      const resizable = !fromFilePath && isMemfd && !sizeSealed && writable;
      const size = roundUpPage(stat.size);
      if (size > MAX_SIZE) {
        fail(Status.OUT_OF_RANGE, `the file's size ${stat.size} exceeds Vmo.MAX_SIZE`);
      }
      // The same file twice (a dup of a VMO's fd, /proc/self/fd/N...) shares one backing, so
      // that a resize through either is seen by every mapping of it.
      let backing = known;
      if (backing !== undefined) {
        const theirs = libc.fcntl(backing.fd, F_GETFL, 0);
        if (writable && (theirs & O_ACCMODE) !== O_RDWR) backing.upgradeFd(fd);
        else libc.close(fd);
        if (backing.isFile) backing.size = Math.max(backing.size, size);
      } else {
        backing = new Backing(fd, size, resizable, !isMemfd, true, stat, seals);
      }
      const object = new VmoObject({
        backing,
        offset: 0,
        sliceSize: null,
        stream: { value: Math.min(stat.size, backing.size) },
        kind: backing.isFile ? "file" : "root",
        parent: null,
      });
      let rights = DEFAULT_VMO_RIGHTS | (resizable ? Rights.RESIZE : 0);
      if (!writable) rights &= ~Rights.WRITE;
      if (rightsMask !== undefined) rights &= rightsMask;
      return new Vmo(object, rights >>> 0);
    } catch (error) {
      // The fd was handed over: it is closed whether adoption works or not.
      if (Backing.lookup(stat)?.fd !== fd) libc.close(fd);
      throw error;
    }
  }

  /**
   * Copies `dst.length` bytes from the VMO at `offset` into `dst`. Needs `READ`.
   *
   * Errors: `ACCESS_DENIED` without `READ`; `OUT_OF_RANGE` when `offset + dst.length` exceeds
   * the size; `BAD_STATE` when the cache policy is not `CACHED`.
   *
   * @example
   * ```ts
   * import { Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * vmo.write(new Uint8Array([1, 2, 3]), 10);
   * const dst = new Uint8Array(3);
   * vmo.read(dst, 10);
   * assert.deepEqual([...dst], [1, 2, 3]);
   * ```
   */
  read(dst: Uint8Array, offset: number): void {
    const object = vmoObjectOf(this);
    checkBytes(dst, "dst");
    checkU64(offset, "offset");
    needRights(rightsOf(this), Rights.READ, "read");
    const length = byteLength(dst);
    const end = checkedEnd(offset, length, "read");
    checkTransfer(object, end, "read");
    if (length !== 0) object.backing.readInto(dst, object.offset + offset);
  }

  /**
   * Reads `length` bytes at `offset` into a new array. Same rules as {@linkcode Vmo.read};
   * `NO_MEMORY` if JavaScript cannot allocate the array.
   *
   * @example
   * ```ts
   * import { Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * assert.deepEqual([...vmo.readToArray(0, 4)], [0, 0, 0, 0]);
   * ```
   */
  readToArray(offset: number, length: number): Uint8Array<ArrayBuffer> {
    const object = vmoObjectOf(this);
    checkU64(offset, "offset");
    checkU64(length, "length");
    needRights(rightsOf(this), Rights.READ, "read");
    const end = checkedEnd(offset, length, "read");
    checkTransfer(object, end, "read");
    let dst: Uint8Array<ArrayBuffer>;
    try {
      dst = new Uint8Array(length);
    } catch {
      fail(Status.NO_MEMORY, `cannot allocate ${length} bytes`);
    }
    if (length !== 0) object.backing.readInto(dst, object.offset + offset);
    return dst;
  }

  /**
   * Copies `src` into the VMO at `offset`. Needs `WRITE`. Never changes the size or the stream
   * size; every mapping, slice and reference of those pages sees the bytes at once.
   *
   * Errors: `ACCESS_DENIED` without `WRITE`; `OUT_OF_RANGE` when `offset + src.length` exceeds
   * the size; `BAD_STATE` when the cache policy is not `CACHED`.
   *
   * @example
   * ```ts
   * import { Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * vmo.write(new Uint8Array([9]), 4095);
   * assert.equal(vmo.readToArray(4095, 1)[0], 9);
   * ```
   */
  write(src: Uint8Array, offset: number): void {
    const object = vmoObjectOf(this);
    checkBytes(src, "src");
    checkU64(offset, "offset");
    needRights(rightsOf(this), Rights.WRITE, "write");
    const length = byteLength(src);
    const end = checkedEnd(offset, length, "write");
    checkTransfer(object, end, "write");
    if (length !== 0) object.backing.writeFrom(src, object.offset + offset);
  }

  /**
   * The size in bytes, a multiple of the page size. Needs no right.
   *
   * @example
   * ```ts
   * import { PAGE_SIZE, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(PAGE_SIZE + 1);
   * assert.equal(vmo.getSize(), 2 * PAGE_SIZE);
   * ```
   */
  getSize(): number {
    return vmoObjectOf(this).size;
  }

  /**
   * Resizes a resizable VMO to `size` rounded up to pages; the stream size becomes `size`.
   * Bytes past `size` read as zero afterwards, so shrinking then growing never shows old data.
   *
   * Errors: `ACCESS_DENIED` without `WRITE`, or without `RESIZE` on a resizable VMO;
   * `UNAVAILABLE` for a VMO that is not resizable; `OUT_OF_RANGE` above `Vmo.MAX_SIZE`.
   *
   * @example
   * ```ts
   * import { Vmo, VmoOptions } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(8192, VmoOptions.RESIZABLE);
   * vmo.write(new Uint8Array([1]), 5000);
   * vmo.setSize(4096);
   * vmo.setSize(8192);
   * assert.equal(vmo.readToArray(5000, 1)[0], 0);
   * ```
   */
  setSize(size: number): void {
    const object = vmoObjectOf(this);
    checkU64(size, "size");
    needRights(rightsOf(this), Rights.WRITE, "setSize");
    if (object.resizable) needRights(rightsOf(this), Rights.RESIZE, "setSize");
    const rounded = roundUpPage(size);
    if (rounded > MAX_U64) fail(Status.OUT_OF_RANGE, `size ${size} overflows when rounded up`);
    if (!object.resizable) fail(Status.UNAVAILABLE, "the VMO is not resizable");
    if (rounded > MAX_SIZE) fail(Status.OUT_OF_RANGE, `size ${size} exceeds Vmo.MAX_SIZE`);
    const backing = object.backing;
    if (rounded !== backing.size) backing.resize(rounded);
    backing.zero(size, rounded - size);
    object.stream.value = size;
  }

  /**
   * The stream size: the byte-granular length set by `create`, `setSize` or
   * `setStreamSize`, at most the size. Needs no right.
   *
   * @example
   * ```ts
   * import { Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(10);
   * assert.equal(vmo.getStreamSize(), 10);
   * ```
   */
  getStreamSize(): number {
    return vmoObjectOf(this).stream.value;
  }

  /**
   * Sets the stream size. Everything from the smaller of the old and new stream size to the
   * end of the VMO reads as zero afterwards. Needs `WRITE`.
   *
   * Errors: `ACCESS_DENIED` without `WRITE`; `OUT_OF_RANGE` when `size` exceeds the size.
   *
   * @example
   * ```ts
   * import { Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * vmo.write(new Uint8Array([1, 1, 1, 1]), 0);
   * vmo.setStreamSize(2);
   * assert.deepEqual([...vmo.readToArray(0, 4)], [1, 1, 0, 0]);
   * ```
   */
  setStreamSize(size: number): void {
    const object = vmoObjectOf(this);
    checkU64(size, "size");
    needRights(rightsOf(this), Rights.WRITE, "setStreamSize");
    const old = object.stream.value;
    if (size === old) return;
    if (size > object.size) {
      fail(Status.OUT_OF_RANGE, `stream size ${size} exceeds the size ${object.size}`);
    }
    const from = Math.min(old, size);
    object.backing.zero(object.offset + from, object.size - from);
    object.stream.value = size;
  }

  /**
   * Creates a child VMO of `size` bytes (rounded up to pages) at `offset` of this one. The
   * `options` ({@linkcode VmoChildOptions}) choose its kind:
   *
   * - `SNAPSHOT`, `SNAPSHOT_AT_LEAST_ON_WRITE`, `SNAPSHOT_MODIFIED`: a private copy as of now.
   *   Linux has no copy-on-write between memfds, so the data extents are copied at once
   *   (`SEEK_DATA`/`SEEK_HOLE` and `copy_file_range`): a snapshot of a sparse VMO costs what
   *   its data costs, and it reports the copied pages as committed. The child gets `WRITE`
   *   even from a read-only handle, and loses `EXECUTE`. Parts past the parent's end read 0.
   * - `SLICE`: a window on the same pages; the parent must not be resizable.
   * - `REFERENCE`: the same pages, size and stream size as the parent (`offset` and `size` 0).
   * - with `RESIZABLE` the child is resizable; with `NO_WRITE` its handle lacks `WRITE`
   *   (`SNAPSHOT | NO_WRITE` is immutable: the copy is sealed against writing).
   *
   * Needs `DUPLICATE` and `READ`. The child's name is the parent's if this handle has
   * `GET_PROPERTY`.
   *
   * Errors (in Zircon's order): `OUT_OF_RANGE` for a size past `Vmo.MAX_SIZE`;
   * `INVALID_ARGS` for `NO_WRITE | RESIZABLE`, no or several kinds, unknown bits, or a bad
   * offset; `ACCESS_DENIED` without the rights; `NOT_SUPPORTED` for a discardable parent, a
   * slice of a resizable parent, a reference of a slice, a resizable reference of a fixed-size
   * parent, or a `SNAPSHOT` of a file-backed VMO; `BAD_STATE` when the parent is not `CACHED`.
   *
   * @example Slice and snapshot
   * ```ts
   * import { Vmo, VmoChildOptions } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using parent = Vmo.create(2 * 4096);
   * using slice = parent.createChild(VmoChildOptions.SLICE, 4096, 4096);
   * using copy = parent.createChild(VmoChildOptions.SNAPSHOT, 0, 2 * 4096);
   * slice.write(new Uint8Array([5]), 0);
   * assert.equal(parent.readToArray(4096, 1)[0], 5);
   * assert.equal(copy.readToArray(4096, 1)[0], 0);
   * assert.equal(parent.info().numChildren, 2);
   * ```
   */
  createChild(options: number, offset: number, size: number): Vmo {
    // The handle first, as everywhere in vmo (Zircon's syscall checks the size and
    // NO_WRITE | RESIZABLE before it looks the handle up).
    const parent = vmoObjectOf(this);
    checkU32(options, "options");
    checkU64(offset, "offset");
    checkU64(size, "size");
    const rounded = roundUpPage(size);
    if (rounded > MAX_SIZE) fail(Status.OUT_OF_RANGE, `child size ${size} exceeds Vmo.MAX_SIZE`);
    const noWrite = (options & VmoChildOptions.NO_WRITE) !== 0;
    const resizable = (options & VmoChildOptions.RESIZABLE) !== 0;
    if (noWrite && resizable) {
      fail(Status.INVALID_ARGS, "NO_WRITE and RESIZABLE exclude each other");
    }
    needRights(rightsOf(this), Rights.DUPLICATE | Rights.READ, "createChild");
    if (parent.discardable) fail(Status.NOT_SUPPORTED, "a discardable VMO cannot have children");
    const kindOptions = options & ~VmoChildOptions.NO_WRITE;
    if ((kindOptions & ~KNOWN_CHILD_OPTIONS) !== 0) {
      fail(Status.INVALID_ARGS, `unknown child options ${options}`);
    }
    let child: VmoObject;
    let isSnapshot = false;
    if ((kindOptions & VmoChildOptions.SLICE) !== 0) {
      child = this.#slice(parent, kindOptions, offset, size, rounded);
    } else if ((kindOptions & VmoChildOptions.REFERENCE) !== 0) {
      child = this.#reference(parent, kindOptions, offset, size);
    } else {
      child = this.#snapshot(parent, kindOptions, offset, size, rounded, noWrite);
      isSnapshot = true;
    }
    if (hasRights(rightsOf(this), Rights.GET_PROPERTY)) child.name = parent.name;
    let rights = (rightsOf(this) & ~Rights.RESIZE) | (resizable ? Rights.RESIZE : 0) |
      Rights.GET_PROPERTY | Rights.SET_PROPERTY;
    if (noWrite) rights &= ~Rights.WRITE;
    else if (isSnapshot) rights = (rights & ~Rights.EXECUTE) | Rights.WRITE;
    return new Vmo(child, rights >>> 0);
  }

  #slice(
    parent: VmoObject,
    options: number,
    offset: number,
    size: number,
    rounded: number,
  ): VmoObject {
    if (options !== VmoChildOptions.SLICE) {
      fail(Status.INVALID_ARGS, "SLICE takes no other kind and no RESIZABLE");
    }
    if (!isPageAligned(offset)) {
      fail(Status.INVALID_ARGS, `slice offset ${offset} is not page aligned`);
    }
    if (offset + rounded > parent.size || (rounded === 0 && offset > parent.size)) {
      fail(Status.INVALID_ARGS, `slice [${offset}, ${offset + rounded}) is not inside the parent`);
    }
    if (parent.resizable) fail(Status.NOT_SUPPORTED, "a resizable VMO cannot be sliced");
    if (parent.cachePolicy !== CachePolicy.CACHED) {
      fail(Status.BAD_STATE, "the parent is not CACHED");
    }
    return new VmoObject({
      backing: parent.backing,
      offset: parent.offset + offset,
      sliceSize: rounded,
      stream: { value: size },
      kind: "slice",
      parent,
    });
  }

  #reference(parent: VmoObject, options: number, offset: number, size: number): VmoObject {
    if ((options & ~(VmoChildOptions.REFERENCE | VmoChildOptions.RESIZABLE)) !== 0) {
      fail(Status.INVALID_ARGS, "REFERENCE takes only RESIZABLE besides");
    }
    if (offset !== 0 || size !== 0) {
      fail(Status.INVALID_ARGS, "a REFERENCE needs offset 0 and size 0");
    }
    if (parent.kind === "slice") fail(Status.NOT_SUPPORTED, "a slice cannot have references");
    if ((options & VmoChildOptions.RESIZABLE) !== 0 && !parent.resizable) {
      fail(Status.NOT_SUPPORTED, "a resizable reference needs a resizable parent");
    }
    if (parent.cachePolicy !== CachePolicy.CACHED) {
      fail(Status.BAD_STATE, "the parent is not CACHED");
    }
    return new VmoObject({
      backing: parent.backing,
      offset: parent.offset,
      sliceSize: null,
      stream: parent.stream,
      kind: "reference",
      parent,
      discardable: parent.discardable,
    });
  }

  #snapshot(
    parent: VmoObject,
    options: number,
    offset: number,
    size: number,
    rounded: number,
    noWrite: boolean,
  ): VmoObject {
    const type = options & SNAPSHOT_TYPES;
    if (type === 0 || (type & (type - 1)) !== 0) {
      fail(
        Status.INVALID_ARGS,
        "a child needs exactly one of SNAPSHOT, SNAPSHOT_AT_LEAST_ON_WRITE, SNAPSHOT_MODIFIED, SLICE, REFERENCE",
      );
    }
    if (!isPageAligned(offset)) {
      fail(Status.INVALID_ARGS, `snapshot offset ${offset} is not page aligned`);
    }
    checkedEnd(offset, size, "createChild");
    if (parent.cachePolicy !== CachePolicy.CACHED) {
      fail(Status.BAD_STATE, "the parent is not CACHED");
    }
    const pagerBacked = parent.pageOwner.kind === "file" || parent.pageOwner.pagerDerived;
    if (type === VmoChildOptions.SNAPSHOT && pagerBacked) {
      fail(Status.NOT_SUPPORTED, "SNAPSHOT of a file-backed VMO: use SNAPSHOT_AT_LEAST_ON_WRITE");
    }
    const resizable = (options & VmoChildOptions.RESIZABLE) !== 0;
    const backing = Backing.memfd(rounded, resizable, "vmo-snapshot");
    try {
      const copyEnd = Math.min(offset + rounded, parent.size);
      if (copyEnd > offset) {
        parent.backing.copyDataTo(backing, parent.offset + offset, copyEnd - offset, 0);
      }
      // Nothing maps the copy yet, so the write seal cannot fail with EBUSY.
      if (noWrite) sealOrThrow(backing.fd, F_SEAL_WRITE);
    } catch (error) {
      backing.discard();
      throw error;
    }
    return new VmoObject({
      backing,
      offset: 0,
      sliceSize: null,
      stream: { value: size },
      kind: "snapshot",
      parent,
      immutable: noWrite,
      pagerDerived: pagerBacked,
    });
  }

  /**
   * Performs `op` ({@linkcode VmoOp}) on `[offset, offset + size)`:
   *
   * - `COMMIT` (`WRITE`): allocates the pages (`fallocate`), rounding the range outward.
   * - `DECOMMIT` (`WRITE`): frees page-aligned pages (hole punch); they read as zero through
   *   every mapping, slice and reference. `NOT_SUPPORTED` on snapshots, VMOs with snapshot
   *   children and file-backed VMOs; `INVALID_ARGS` for an unaligned range.
   * - `ZERO` (`WRITE`): makes any byte range read as zero, freeing whole pages.
   * - `TRY_LOCK` / `UNLOCK` (`READ` or `WRITE`): lock counting on a `DISCARDABLE` VMO, over
   *   exactly `(0, size)`. Linux never discards, so `TRY_LOCK` always succeeds. `LOCK` needs a
   *   result buffer this call does not take: like Zircon's Rust binding it gives
   *   `INVALID_ARGS` after its other checks.
   * - `CACHE_*`: range-checked no-ops (user space has no cache control on Linux).
   * - `DONT_NEED`, `ALWAYS_NEED`, `PREFETCH`: hints; on a file-backed VMO they reach the page
   *   cache through `posix_fadvise`.
   *
   * Errors: `INVALID_ARGS` for an unknown op; `ACCESS_DENIED` without the op's right;
   * `OUT_OF_RANGE` past the end; `BAD_STATE` for `ZERO` on a non-`CACHED` VMO or `UNLOCK`
   * without a lock; `NOT_SUPPORTED` as above.
   *
   * @example
   * ```ts
   * import { Vmo, VmoOp } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * vmo.write(new Uint8Array([1, 2, 3, 4]), 0);
   * vmo.opRange(VmoOp.ZERO, 1, 2);
   * assert.deepEqual([...vmo.readToArray(0, 4)], [1, 0, 0, 4]);
   * ```
   */
  opRange(op: number, offset: number, size: number): void {
    const object = vmoObjectOf(this);
    checkU32(op, "op");
    checkU64(offset, "offset");
    checkU64(size, "size");
    const rights = rightsOf(this);
    switch (op) {
      case VmoOp.COMMIT: {
        needRights(rights, Rights.WRITE, "COMMIT");
        const end = checkedEnd(offset, size, "COMMIT");
        if (roundUpPage(end) > object.size) {
          fail(Status.OUT_OF_RANGE, "COMMIT range is past the end");
        }
        object.commit(offset, size);
        return;
      }
      case VmoOp.DECOMMIT: {
        needRights(rights, Rights.WRITE, "DECOMMIT");
        const end = checkedEnd(offset, size, "DECOMMIT");
        if (end > object.size) fail(Status.OUT_OF_RANGE, "DECOMMIT range is past the end");
        object.decommit(offset, size);
        return;
      }
      case VmoOp.ZERO: {
        needRights(rights, Rights.WRITE, "ZERO");
        if (object.cachePolicy !== CachePolicy.CACHED) {
          fail(Status.BAD_STATE, "ZERO needs a CACHED VMO");
        }
        const end = checkedEnd(offset, size, "ZERO");
        if (end > object.size) fail(Status.OUT_OF_RANGE, "ZERO range is past the end");
        object.backing.zero(object.offset + offset, size);
        return;
      }
      case VmoOp.LOCK:
      case VmoOp.TRY_LOCK:
      case VmoOp.UNLOCK: {
        if (!hasRights(rights, Rights.READ) && !hasRights(rights, Rights.WRITE)) {
          fail(Status.ACCESS_DENIED, "locking needs the READ or WRITE right");
        }
        if (!object.discardable) fail(Status.NOT_SUPPORTED, "only a DISCARDABLE VMO can be locked");
        if (offset !== 0 || size !== object.size) {
          fail(Status.OUT_OF_RANGE, "a lock covers exactly (0, size)");
        }
        if (op === VmoOp.LOCK) {
          fail(Status.INVALID_ARGS, "LOCK needs a result buffer: use TRY_LOCK");
        }
        if (op === VmoOp.TRY_LOCK) {
          object.lockCount++;
          return;
        }
        if (object.lockCount === 0) fail(Status.BAD_STATE, "UNLOCK of a VMO that is not locked");
        object.lockCount--;
        return;
      }
      case VmoOp.CACHE_SYNC:
      case VmoOp.CACHE_CLEAN:
      case VmoOp.CACHE_CLEAN_INVALIDATE:
      case VmoOp.CACHE_INVALIDATE: {
        const wanted = op === VmoOp.CACHE_INVALIDATE ? Rights.WRITE : Rights.READ;
        needRights(rights, wanted, "this cache op");
        if (size === 0) fail(Status.INVALID_ARGS, "a cache op needs a non-empty range");
        const end = checkedEnd(offset, size, "cache op");
        if (end > object.size) fail(Status.OUT_OF_RANGE, "cache op range is past the end");
        return;
      }
      case VmoOp.DONT_NEED:
      case VmoOp.ALWAYS_NEED: {
        checkSafe(offset, "offset");
        checkSafe(size, "size");
        if (object.pageOwner.kind !== "file") return;
        const end = checkedEnd(offset, size, "hint");
        if (roundUpPage(end) > object.size) fail(Status.OUT_OF_RANGE, "hint range is past the end");
        adviseFile(
          object,
          offset,
          size,
          op === VmoOp.DONT_NEED ? POSIX_FADV_DONTNEED : POSIX_FADV_WILLNEED,
        );
        return;
      }
      case VmoOp.PREFETCH: {
        needRights(rights, Rights.READ, "PREFETCH");
        const end = checkedEnd(offset, size, "PREFETCH");
        if (roundUpPage(end) > object.size) {
          fail(Status.OUT_OF_RANGE, "PREFETCH range is past the end");
        }
        if (size === 0) return;
        if (object.pageOwner.kind === "file") adviseFile(object, offset, size, POSIX_FADV_WILLNEED);
        return;
      }
      default:
        fail(Status.INVALID_ARGS, `unknown VMO op ${op}`);
    }
  }

  /**
   * Records the cache policy ({@linkcode CachePolicy}). Linux gives user space no control of
   * memory types, so only the bookkeeping is real: a VMO that is not `CACHED` refuses
   * `read`, `write`, `ZERO` and children with `BAD_STATE`. Needs `MAP`.
   *
   * Errors: `INVALID_ARGS` for bits outside `CachePolicy.MASK` (checked before the handle);
   * `ACCESS_DENIED` without `MAP`; `BAD_STATE` when the VMO is mapped, has or is a child, or
   * holds committed pages under a policy other than `CACHED`.
   *
   * @example
   * ```ts
   * import { CachePolicy, Status, Vmo, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * vmo.setCachePolicy(CachePolicy.UNCACHED);
   * assert.throws(
   *   () => vmo.read(new Uint8Array(1), 0),
   *   (e) => e instanceof ZxError && e.status === Status.BAD_STATE,
   * );
   * ```
   */
  setCachePolicy(policy: number): void {
    checkU32(policy, "policy");
    if ((policy & ~CachePolicy.MASK) !== 0) {
      fail(Status.INVALID_ARGS, `unknown cache policy ${policy}`);
    }
    const object = vmoObjectOf(this);
    needRights(rightsOf(this), Rights.MAP, "setCachePolicy");
    if (object.mappingCount > 0) fail(Status.BAD_STATE, "the VMO is mapped");
    if (object.children.size > 0) fail(Status.BAD_STATE, "the VMO has children");
    if (object.parent !== null || object.kind !== "root") {
      fail(Status.BAD_STATE, "the VMO is a child");
    }
    if (object.cachePolicy !== CachePolicy.CACHED && object.backing.committedBytes() > 0) {
      fail(Status.BAD_STATE, "the VMO holds pages under a non-CACHED policy");
    }
    object.cachePolicy = policy;
  }

  /**
   * The VMO's name (empty by default). Needs `GET_PROPERTY`.
   *
   * @example
   * ```ts
   * import { Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * vmo.setName("frame buffer");
   * assert.equal(vmo.getName(), "frame buffer");
   * ```
   */
  getName(): string {
    const object = vmoObjectOf(this);
    needRights(rightsOf(this), Rights.GET_PROPERTY, "getName");
    return object.name;
  }

  /**
   * Names the VMO. Needs `SET_PROPERTY`. The name is at most 31 UTF-8 bytes and has no NUL
   * (`INVALID_ARGS` otherwise, as `zx::Name` checks).
   *
   * @example
   * ```ts
   * import { Status, Vmo, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * assert.throws(
   *   () => vmo.setName("x".repeat(32)),
   *   (e) => e instanceof ZxError && e.status === Status.INVALID_ARGS,
   * );
   * ```
   */
  setName(name: string): void {
    const object = vmoObjectOf(this);
    if (typeof name !== "string") {
      fail(Status.INVALID_ARGS, `name must be a string, got ${describe(name)}`);
    }
    needRights(rightsOf(this), Rights.SET_PROPERTY, "setName");
    if (name.includes("\0")) fail(Status.INVALID_ARGS, "a name cannot hold a NUL");
    if (new TextEncoder().encode(name).length > NAME_MAX_BYTES) {
      fail(Status.INVALID_ARGS, `a name is at most ${NAME_MAX_BYTES} UTF-8 bytes`);
    }
    object.name = name;
  }

  /**
   * What `ZX_INFO_VMO` reports: koid, name, size, family, mappings, flags, committed bytes
   * (real, from the memfd's block count), this handle's rights and the cache policy. Needs no
   * right.
   *
   * @example
   * ```ts
   * import { Vmo, VmoInfoFlags } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(3 * 4096);
   * vmo.write(new Uint8Array(4096).fill(1), 0);
   * const info = vmo.info();
   * assert.equal(info.sizeBytes, 3 * 4096);
   * assert.equal(info.committedBytes, 4096);
   * assert.ok(info.flags & VmoInfoFlags.TYPE_PAGED);
   * ```
   */
  info(): VmoInfo {
    const object = vmoObjectOf(this);
    const ownsPages = object.kind === "root" || object.kind === "snapshot" ||
      object.kind === "file";
    const committed = ownsPages ? object.backing.committedBytes() : 0;
    let flags = VmoInfoFlags.TYPE_PAGED | VmoInfoFlags.VIA_HANDLE;
    if (object.resizable) flags |= VmoInfoFlags.RESIZABLE;
    if (object.discardable) flags |= VmoInfoFlags.DISCARDABLE;
    if (object.kind === "snapshot") flags |= VmoInfoFlags.IS_COW_CLONE;
    if (object.immutable) flags |= VmoInfoFlags.IMMUTABLE;
    if (object.pageOwner.kind === "file" || object.pagerDerived) flags |= VmoInfoFlags.PAGER_BACKED;
    return {
      koid: object.koid,
      name: object.name,
      sizeBytes: object.size,
      parentKoid: object.parent?.koid ?? 0,
      numChildren: object.children.size,
      numMappings: object.mappingCount,
      shareCount: 1,
      flags,
      committedBytes: committed,
      handleRights: rightsOf(this),
      cachePolicy: object.cachePolicy,
      populatedBytes: committed,
    };
  }

  /**
   * A new file descriptor for the VMO's memory (`F_DUPFD_CLOEXEC`), owned by the caller, to
   * hand to another process or to {@linkcode Vmo.fromFd}. Unsafe: the fd carries none of the
   * handle's rights except what the kernel enforces (seals, the fd's access mode), its holder
   * can resize a resizable VMO under this process's mappings, and for a slice it shows the
   * whole parent. Needs `TRANSFER`.
   *
   * @example
   * ```ts
   * import { Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * using again = Vmo.fromFd(vmo.unsafeDupFd());
   * assert.equal(again.getSize(), 4096);
   * ```
   */
  unsafeDupFd(): number {
    const object = vmoObjectOf(this);
    needRights(rightsOf(this), Rights.TRANSFER, "unsafeDupFd");
    const fd = libc.fcntl(object.backing.fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) throw syscallError("fcntl", "cannot duplicate the VMO's fd");
    // From now on the holder of the fd may resize the file: no new views over it.
    object.backing.markExported();
    return fd;
  }
}

function checkTransfer(object: VmoObject, end: number, what: string): void {
  if (object.cachePolicy !== CachePolicy.CACHED) {
    fail(Status.BAD_STATE, `${what} needs a CACHED VMO`);
  }
  if (end > object.size) {
    fail(Status.OUT_OF_RANGE, `${what} ends at ${end}, past the size ${object.size}`);
  }
}

function sealOrThrow(fd: number, seals: number): void {
  if (libc.fcntl(fd, F_ADD_SEALS, seals) !== 0) throw syscallError("fcntl", "cannot seal the VMO");
}

function adviseFile(object: VmoObject, offset: number, size: number, advice: number): void {
  // Advice is a hint: a file system that ignores it changes nothing observable.
  libc.posix_fadvise(object.backing.fd, BigInt(object.offset + offset), BigInt(size), advice);
}

function openPath(path: string, writable: boolean): number {
  if (typeof path !== "string" || path.includes("\0")) fail(Status.INVALID_ARGS, "bad path");
  for (const name of writable ? ["read", "write"] as const : ["read"] as const) {
    if (Deno.permissions.querySync({ name, path }).state !== "granted") {
      fail(Status.ACCESS_DENIED, `Deno's ${name} permission for ${path} is not granted`);
    }
  }
  // O_NONBLOCK so that opening a FIFO does not wait for a writer; it is cleared once fstat
  // (in #adopt) has told a regular file.
  const fd = libc.open(cString(path), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0) throw syscallError("open", `cannot open ${path}`);
  const stat = fstat(fd);
  if (stat === null || (stat.mode & S_IFMT) !== S_IFREG) {
    libc.close(fd);
    fail(Status.WRONG_TYPE, `${path} is not a regular file`);
  }
  libc.fcntl(fd, F_SETFL, libc.fcntl(fd, F_GETFL, 0) & ~O_NONBLOCK);
  return fd;
}

/**
 * Deno does not expose an `FsFile`'s descriptor: find it among this process's fds by device
 * and inode (and access mode), then duplicate it.
 */
function dupFsFile(file: Deno.FsFile, writable: boolean): number {
  if (!(file instanceof Deno.FsFile)) {
    fail(Status.INVALID_ARGS, `file must be a path or Deno.FsFile, got ${describe(file)}`);
  }
  let dev: bigint;
  let ino: bigint;
  try {
    // Deno's own statSync: a subclass may carry another.
    const info = Deno.FsFile.prototype.statSync.call(file);
    if (!info.isFile) fail(Status.WRONG_TYPE, "the FsFile is not a regular file");
    dev = BigInt(info.dev);
    ino = BigInt(info.ino ?? -1);
  } catch (error) {
    if (error instanceof ZxError) throw error;
    throw new ZxError(Status.BAD_HANDLE, "cannot stat the FsFile (closed?)");
  }
  let readOnlyMatch = false;
  for (let fd = 0; fd < 65536; fd++) {
    const stat = fstat(fd);
    if (stat === null || stat.dev !== dev || stat.ino !== ino) {
      continue;
    }
    const mode = libc.fcntl(fd, F_GETFL, 0) & O_ACCMODE;
    if (writable && mode !== O_RDWR) {
      readOnlyMatch = true;
      continue;
    }
    if (mode === 1 /* O_WRONLY */) continue;
    if ((libc.fcntl(fd, F_GETFL, 0) & O_APPEND) !== 0) {
      // A dup would share the O_APPEND file description, and pwrite on it appends wherever
      // it is asked to write: open the file anew instead.
      const reopened = libc.open(
        cString(`/proc/self/fd/${fd}`),
        (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC,
        0,
      );
      if (reopened < 0) throw syscallError("open", "cannot reopen the file without O_APPEND");
      return reopened;
    }
    const copy = libc.fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) throw syscallError("fcntl", "cannot duplicate the file's fd");
    return copy;
  }
  if (readOnlyMatch) fail(Status.ACCESS_DENIED, "the FsFile is not open for reading and writing");
  fail(Status.NOT_FOUND, "cannot find the FsFile's descriptor");
}
