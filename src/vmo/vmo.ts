/**
 * `Vmo`: a handle to a virtual memory object, Zircon's unit of memory, on a Linux memfd or file.
 *
 * @module
 */

import { dupCloexec } from "../../ffi/file.ts";
import {
  byteLength,
  checkBytes,
  checkedEnd,
  checkU32,
  checkU64,
  MAX_U64,
  readOptions,
  roundUpPage,
} from "../args.ts";
import { Handle, type KernelObject, liveObjectOfType, ObjType, rightsOf } from "../handle.ts";
import { DEFAULT_VMO_RIGHTS, needRights, Rights } from "../rights.ts";
import { fail, Status, syscallError } from "../status.ts";
import { ensureHeadroom } from "../vmar/headroom.ts";
import { Backing } from "./backing.ts";
import { createChild } from "./children.ts";
import { CachePolicy, VmoOptions } from "./constants.ts";
import {
  adoptFd,
  checkFdNumber,
  dupFsFile,
  FROM_FD_KEYS,
  type FromFdOptions,
  type FromFileOptions,
  openPath,
  readFromFileOptions,
  setVmoWrapper,
  sizeFile,
} from "./fd.ts";
import { MAX_VMO_SIZE, VmoObject } from "./object.ts";
import { opRange } from "./op_range.ts";
import { checkName, checkNameBytes, setCachePolicy, type VmoInfo, vmoInfo } from "./properties.ts";

const MAX_SIZE = MAX_VMO_SIZE;

/** The VMO object behind a `Vmo` handle: `BAD_HANDLE` or `WRONG_TYPE` otherwise. */
export function vmoObjectOf(handle: unknown, what = "the handle"): VmoObject {
  return liveObjectOfType<VmoObject>(handle, ObjType.VMO, what);
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
 * fault. A resizable one cannot be sealed, so it counts as memory someone else can cut, as a
 * file does: `read`/`write` use `pread`/`pwrite` and no zero-copy view of it is given.
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

  static {
    // How a channel's receive path (src/vmo/fd.ts) makes a handle without the constructor.
    setVmoWrapper((made) => new Vmo(made.object, made.rights));
  }

  /** @ignore */
  protected newHandle(object: KernelObject, rights: number): this {
    return new Vmo(object as VmoObject, rights) as this;
  }

  /**
   * Creates a VMO of `size` bytes rounded up to the page size (0 is allowed), zero-filled.
   * `options` combines {@linkcode VmoOptions}: `RESIZABLE` (the handle gets `RESIZE`; its
   * memfd stays unsealed, so any process of the same user can cut it through
   * `/proc/<pid>/fd/<n>`: it gets no zero-copy view, only copies, which never fault),
   * `DISCARDABLE` (lockable with `TRY_LOCK`/`UNLOCK`; Linux never discards it), `UNBOUNDED`
   * (the size is `Vmo.MAX_SIZE`, sparse, and `size` only sets the stream size).
   *
   * Errors, in Zircon's order: `INVALID_ARGS` for a size or options that are not integers;
   * `OUT_OF_RANGE` when the rounded size exceeds `Vmo.MAX_SIZE` (not checked with `UNBOUNDED`,
   * whose stream size is clamped to `Vmo.MAX_SIZE`); `INVALID_ARGS` for unknown options or
   * `RESIZABLE | UNBOUNDED`; `NO_MEMORY`, `NO_RESOURCES` when Linux refuses the memfd.
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
    const resizable = (options & VmoOptions.RESIZABLE) !== 0;
    const unbounded = (options & VmoOptions.UNBOUNDED) !== 0;
    // Zircon's order: the size before the leftover option bits, and no range check at all
    // with UNBOUNDED, whose size argument is only the stream size.
    if (!unbounded && roundUpPage(size) > MAX_SIZE) {
      fail(Status.OUT_OF_RANGE, `size ${size} exceeds Vmo.MAX_SIZE`);
    }
    const known = VmoOptions.RESIZABLE | VmoOptions.DISCARDABLE | VmoOptions.UNBOUNDED;
    if ((options & ~known) !== 0) fail(Status.INVALID_ARGS, `unknown VMO options ${options}`);
    if (resizable && unbounded) {
      fail(Status.INVALID_ARGS, "RESIZABLE and UNBOUNDED exclude each other");
    }
    const rounded = unbounded ? MAX_SIZE : roundUpPage(size);
    // Near the stack's limit, throw before the memfd exists rather than after (headroom.ts).
    ensureHeadroom();
    const backing = Backing.memfd(rounded, resizable, "vmo");
    try {
      const object = new VmoObject({
        backing,
        offset: 0,
        sliceSize: null,
        // An UNBOUNDED stream size past the VMO's end is clamped to it: the stream never ends
        // beyond the VMO.
        stream: { value: Math.min(size, rounded) },
        kind: "root",
        parent: null,
        discardable: (options & VmoOptions.DISCARDABLE) !== 0,
      });
      return new Vmo(object, DEFAULT_VMO_RIGHTS | (resizable ? Rights.RESIZE : 0));
    } catch (error) {
      // No handle was made: nothing else can reach the memfd.
      backing.discard();
      throw error;
    }
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
   * `opts` ({@linkcode FromFileOptions}) are checked as `Deno.open`'s: `writable`, then, to
   * change the file (each needs `writable`), `create` (make it if missing), `createNew` (make
   * it; it must not exist), `truncate` (cut it to 0 on opening) and `size` (give it this
   * length, growing with zeros or cutting, before the VMO is made). Nothing is opened, created
   * or cut when the options are wrong.
   *
   * Errors: `INVALID_ARGS` for an unknown option key, a value of the wrong type, `create`,
   * `createNew`, `truncate` or `size` without `writable`, or `create`, `createNew`, `truncate`
   * with an `FsFile` (or a Proxy whose traps throw, as the file or the options);
   * `ACCESS_DENIED` without the Deno permission, when the file system refuses (a file or
   * directory without the permission bits) or when the descriptor is not writable;
   * `NOT_FOUND` for a missing path without `create`; `ALREADY_EXISTS` for an existing path with
   * `createNew`; `WRONG_TYPE` for a directory or other non-file; `OUT_OF_RANGE` for a `size`
   * above `Vmo.MAX_SIZE`.
   *
   * @example Read a file
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
   *
   * @example Create a file of a given size and edit it
   * ```ts
   * import { Status, Vmo, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempDirSync() + "/data.bin";
   * {
   *   using vmo = Vmo.fromFile(path, { writable: true, createNew: true, size: 10_000 });
   *   vmo.write(new TextEncoder().encode("header"), 0);
   *   assert.equal(vmo.getStreamSize(), 10_000);
   * }
   * assert.equal(Deno.statSync(path).size, 10_000);
   * // It exists now: createNew refuses it, and a change needs writable.
   * assert.throws(
   *   () => Vmo.fromFile(path, { writable: true, createNew: true }),
   *   (e) => e instanceof ZxError && e.status === Status.ALREADY_EXISTS,
   * );
   * assert.throws(
   *   () => Vmo.fromFile(path, { truncate: true }),
   *   (e) => e instanceof ZxError && e.status === Status.INVALID_ARGS,
   * );
   * Deno.removeSync(path);
   * ```
   */
  static fromFile(file: Deno.FsFile | string, opts?: FromFileOptions): Vmo {
    const isPath = typeof file === "string";
    const opening = readFromFileOptions(opts, isPath);
    const writable = opening.writable;
    let fd: number;
    if (isPath) fd = openPath(file, opening);
    else {
      fd = dupFsFile(file, writable);
      if (opening.size !== undefined) sizeFile(fd, opening.size);
    }
    const adopted = adoptFd(fd, {
      rightsMask: writable ? undefined : ~Rights.WRITE >>> 0,
      fromFilePath: true,
    });
    return new Vmo(adopted.object, adopted.rights);
  }

  /**
   * Adopts an open file descriptor of a memfd or regular file (one received from another
   * process, say); the VMO owns it from now on and closes it. Unsafe, as Rust's
   * `FromRawFd::from_raw_fd` is: vmo cannot know who else owns the number.
   *
   * **The danger.** The fd is taken over whether adoption succeeds or fails (it is closed on
   * failure too). An fd that something else in this process still uses is closed under it when
   * the VMO goes: a `Deno.FsFile`'s, a VMO's in another Worker, or the runtime's own (a
   * `deno run` process keeps its cache files open at small fd numbers), after which that
   * owner reads, writes or maps whatever file next gets the number. vmo keeps its own memfds at
   * high fd numbers and maps them without an `fstat` each time: taking over one of those numbers
   * (from another Worker, say) and closing it lets a shorter file take its place under the
   * original VMO, whose views may then fault. The other owner is on its own. Pass only an fd you own and nothing else uses: one from
   * `unsafeDupFd`, or one you opened yourself. To receive memory from another process safely,
   * use a channel; to open a file, use {@linkcode Vmo.fromFile}, which makes a descriptor of
   * its own.
   *
   * What the fd allows bounds the rights: no `WRITE` for a read-only fd or a write-sealed
   * memfd, `RESIZE` only for a memfd not sealed against resizing. `opts.rights` narrows them
   * further. A memfd is taken as an anonymous VMO, resizable (by this handle) when the fd is
   * read-write and not sealed with `F_SEAL_SHRINK` and `F_SEAL_GROW`; a regular file as in
   * {@linkcode Vmo.fromFile}. Whatever the fd's mode, a memfd without `F_SEAL_SHRINK` can be
   * cut by any process of the same user: mapping it with `REQUIRE_NON_RESIZABLE` (as `Mapping`
   * does) is `NOT_SUPPORTED`, and no view is made over it. If this process already has the
   * file as a VMO, the two share it and the new fd is closed at once; the VMO's own fd number
   * is `ALREADY_EXISTS`.
   *
   * Errors: `INVALID_ARGS` for a value that is no fd number, or options that are not an object
   * or have a key other than `rights`; `BAD_HANDLE` for a closed fd; `WRONG_TYPE` for an fd
   * that is not a regular file or memfd.
   *
   * @example
   * ```ts
   * import { Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using original = Vmo.create(4096);
   * original.write(new Uint8Array([42]), 0);
   * // An fd this code owns and nothing else uses: a fresh duplicate.
   * using adopted = Vmo.unsafeFromFd(original.unsafeDupFd());
   * assert.equal(adopted.readToArray(0, 1)[0], 42);
   * ```
   */
  static unsafeFromFd(fd: number, opts?: FromFdOptions): Vmo {
    const raw = readOptions(opts, FROM_FD_KEYS, "opts");
    checkFdNumber(fd);
    const rightsMask = raw.rights === undefined ? undefined : checkU32(raw.rights, "rights");
    const adopted = adoptFd(fd, { rightsMask, fromFilePath: false });
    return new Vmo(adopted.object, adopted.rights);
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
    if (length !== 0) object.backing.readKnown(dst, length, object.offset + offset);
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
    if (length !== 0) object.backing.readKnown(dst, length, object.offset + offset);
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
    const child = createChild(vmoObjectOf(this), rightsOf(this), options, offset, size);
    return new Vmo(child.object, child.rights);
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
    opRange(vmoObjectOf(this), rightsOf(this), op, offset, size);
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
    setCachePolicy(this, policy);
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
    checkName(name);
    needRights(rightsOf(this), Rights.SET_PROPERTY, "setName");
    checkNameBytes(name);
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
    return vmoInfo(vmoObjectOf(this), rightsOf(this));
  }

  /**
   * A new file descriptor for the VMO's memory (`F_DUPFD_CLOEXEC`), owned by the caller, to
   * hand to another process or to {@linkcode Vmo.unsafeFromFd}. Unsafe: the fd carries none of the
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
   * using again = Vmo.unsafeFromFd(vmo.unsafeDupFd());
   * assert.equal(again.getSize(), 4096);
   * ```
   */
  unsafeDupFd(): number {
    const object = vmoObjectOf(this);
    needRights(rightsOf(this), Rights.TRANSFER, "unsafeDupFd");
    const fd = dupCloexec(object.backing.fd);
    if (fd < 0) throw syscallError("fcntl", "cannot duplicate the VMO's fd");
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
