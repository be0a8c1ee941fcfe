/**
 * `FileOffset` and `MmapRegion`: vm-memory's mmap-backed memory regions, each a VMO mapped by
 * the library (so every access is bounds-checked and every view detached before the memory
 * goes), or, for `unsafeBuildRaw`, memory the caller vouches for.
 *
 * Linux realisation. vm-memory's `MmapRegion::new` maps private anonymous memory; here
 * `create` maps a fresh sealed memfd shared, so that the region can be handed to another
 * process (`GuestMemoryMmap.sharing`). A `MAP_PRIVATE` file region is a snapshot child of the
 * file (`SNAPSHOT_AT_LEAST_ON_WRITE`), an eager copy rather than the kernel's copy-on-write.
 * `MAP_HUGETLB` (or `opts.hugetlb`) backs the region with an `MFD_HUGETLB` memfd whose pages are
 * all reserved with `fallocate` at creation: no huge pages left is `NO_RESOURCES` then, never a
 * `SIGBUS` on first touch.
 *
 * @module
 */

import { checkedEnd, checkU32, checkU64, describe, isPageAligned, PAGE_SIZE } from "../args.ts";
import { fail, Status, syscallError, ZxError } from "../status.ts";
import { commitRange, ENOSPC, hugetlbMemfd } from "../../ffi/guest.ts";
import { libc } from "../../ffi/libc.ts";
import { Vmo } from "../vmo/vmo.ts";
import { vmoObjectOf } from "../vmo/vmo.ts";
import { VmoChildOptions, VmoInfoFlags } from "../vmo/constants.ts";
import { Vmar } from "../vmar/vmar.ts";
import { VmarFlags } from "../vmar/constants.ts";
import { SharedBuffer, windowOf } from "../mapping/shared_buffer.ts";
import { type Bitmap, checkWithin, DirtyBitmap } from "./bitmap.ts";
import { KNOWN_MAP_FLAGS, MapFlags, Prot } from "./constants.ts";
import { type BufferLike, RawBuffer } from "./raw_buffer.ts";
import { makeSlice, rangeOf, type VolatileSlice } from "./volatile_slice.ts";
import { MEMORY_RANGE } from "../mapping/memory_range.ts";
import type { SharedBufferSlice } from "../mapping/shared_buffer.ts";
import { destroyOwnVmar } from "./layout.ts";

/** Options of the `MmapRegion` constructors. */
export interface MmapRegionOptions {
  /** Keep a page-granular dirty bitmap (off by default, and then free). */
  dirtyTracking?: boolean;
  /** Back the region with huge pages (`MFD_HUGETLB`), as `MapFlags.HUGETLB` does. */
  hugetlb?: boolean;
}

/**
 * A file (a `Deno.FsFile` or a `Vmo`) and a start offset in it: where a region's memory
 * comes from.
 *
 * @example
 * ```ts
 * import { FileOffset, MmapRegion, Vmo } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(8192);
 * vmo.write(new Uint8Array([7]), 4096);
 * using region = MmapRegion.fromFile(new FileOffset(vmo, 4096), 4096);
 * assert.equal(region.asVolatileSlice().readU8(0), 7);
 * ```
 */
export class FileOffset {
  readonly #file: Deno.FsFile | Vmo;
  readonly #start: number;

  /** `file` from byte `start` (a non-negative integer). */
  constructor(file: Deno.FsFile | Vmo, start: number) {
    if (!(file instanceof Vmo) && !(file instanceof Deno.FsFile)) {
      fail(Status.INVALID_ARGS, `file must be a Deno.FsFile or a Vmo, got ${describe(file)}`);
    }
    this.#file = file;
    this.#start = checkU64(start, "start");
  }

  /** The start offset. */
  start(): number {
    return this.#start;
  }

  /** The file. */
  file(): Deno.FsFile | Vmo {
    return this.#file;
  }
}

/** What `GuestMemoryMmap` reads of a region (not for users). */
export interface RegionInternals {
  buffer: BufferLike;
  bitmap: DirtyBitmap | null;
  /** The VMO another process can map to see this region, with its offset; null if none. */
  share: { vmo: Vmo; offset: number } | null;
}

let internalsOf: (region: MmapRegion) => RegionInternals;

/** The internals of a live region (not for users). */
export function regionInternals(region: MmapRegion): RegionInternals {
  return internalsOf(region);
}

const BUILD = Symbol("MmapRegion");

/** Unmaps a region dropped without `close()` once it is collected (nothing can reach it). */
const backstop = new FinalizationRegistry<{ vmar: Vmar; vmo: Vmo }>((held) => {
  destroyOwnVmar(held.vmar);
  held.vmo.close();
});

interface RegionInit {
  size: number;
  prot: number;
  flags: number;
  fileOffset: FileOffset | null;
  owned: boolean;
  bitmap: DirtyBitmap | null;
  hugetlbfs: boolean | null;
  vmo: Vmo | null;
  vmoOffset: number;
  fileIdentity: object | null;
  /** The region's own sub-VMAR (exactly its mapping) and where it is. */
  mapping: { vmar: Vmar; addr: number; len: number } | null;
  buffer: BufferLike | null;
  raw: { addr: number } | null;
}

/**
 * A region of memory mapped with `mmap`'s protections and flags, in the manner of vm-memory's
 * `MmapRegion`: created fresh (`create`), from a file (`fromFile`), with explicit `prot`/`flags`
 * (`build`), or over memory mapped elsewhere (`unsafeBuildRaw`). Accesses go through
 * {@linkcode VolatileSlice}s, bounds-checked and marked in the dirty bitmap when tracking is on.
 * `close()` unmaps it; every later call is `BAD_STATE` and every view is detached.
 *
 * @example
 * ```ts
 * import { MmapRegion } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using region = MmapRegion.create(4096);
 * region.asVolatileSlice().writeU64(8, 42n);
 * assert.equal(region.getSlice(8, 8).readU64(0), 42n);
 * assert.equal(region.size(), 4096);
 * ```
 */
export class MmapRegion implements Disposable {
  #init: RegionInit;
  #closed = false;

  static {
    internalsOf = (region) => {
      const init = region.#live();
      const share = init.vmo !== null && (init.flags & MapFlags.SHARED) !== 0 && init.owned
        ? { vmo: init.vmo, offset: init.vmoOffset }
        : null;
      return { buffer: region.#buffer(), bitmap: init.bitmap, share };
    };
  }

  /** @ignore */
  constructor(token: symbol, init: RegionInit) {
    if (token !== BUILD) fail(Status.INVALID_ARGS, "use MmapRegion.create or build");
    this.#init = init;
  }

  /**
   * A fresh zero-filled region of `size` bytes, readable and writable, shared (a sealed memfd:
   * see the module notes). `flags()` is `SHARED | ANONYMOUS | NORESERVE`.
   *
   * Errors: `INVALID_ARGS` for a size of 0 or not an integer; `OUT_OF_RANGE` too large;
   * `NO_MEMORY`/`NO_RESOURCES` when Linux refuses; `NO_RESOURCES` with `hugetlb` and no huge
   * pages to reserve.
   *
   * @example
   * ```ts
   * import { MapFlags, MmapRegion } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using region = MmapRegion.create(100);
   * assert.equal(region.len(), 100);
   * assert.ok(region.flags() & MapFlags.SHARED);
   * ```
   */
  static create(size: number, opts: MmapRegionOptions = {}): MmapRegion {
    return MmapRegion.build(
      null,
      size,
      Prot.READ | Prot.WRITE,
      MapFlags.SHARED | MapFlags.ANONYMOUS | MapFlags.NORESERVE,
      opts,
    );
  }

  /**
   * `size` bytes of a file from `fileOffset.start()`, read-write and shared (writes reach the
   * file). The range must lie within the file (`OUT_OF_RANGE`), the start be page aligned
   * (`INVALID_ARGS`).
   *
   * @example
   * ```ts
   * import { FileOffset, MmapRegion } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempFileSync();
   * Deno.writeFileSync(path, new Uint8Array([1, 2, 3, 4, 5]));
   * using file = Deno.openSync(path, { read: true, write: true });
   * using region = MmapRegion.fromFile(new FileOffset(file, 0), 5);
   * assert.equal(region.asVolatileSlice().readU8(4), 5);
   * Deno.removeSync(path);
   * ```
   */
  static fromFile(fileOffset: FileOffset, size: number, opts: MmapRegionOptions = {}): MmapRegion {
    if (!(fileOffset instanceof FileOffset)) {
      fail(Status.INVALID_ARGS, `fileOffset must be a FileOffset, got ${describe(fileOffset)}`);
    }
    return MmapRegion.build(
      fileOffset,
      size,
      Prot.READ | Prot.WRITE,
      MapFlags.SHARED | MapFlags.NORESERVE,
      opts,
    );
  }

  /**
   * A region with explicit `prot` ({@linkcode Prot}) and `flags` ({@linkcode MapFlags}):
   * exactly one of `SHARED` and `PRIVATE`, plus any of `ANONYMOUS`, `NORESERVE`, `POPULATE`,
   * `HUGETLB`. A `PRIVATE` region's writes stay in this process (a file's bytes are copied).
   *
   * Errors: `INVALID_ARGS` for `MapFlags.FIXED` (vm-memory's `MapFixed`), unknown bits, a
   * size of 0, an unaligned file start, or `HUGETLB` with a file; `OUT_OF_RANGE` when
   * `start + size` overflows or passes the end of the file (`MappingPastEof`); `NO_RESOURCES`
   * when huge pages are asked for and the kernel has none to reserve; the errors of opening
   * the file (`ACCESS_DENIED` for a read-only file mapped writable and shared).
   *
   * @example
   * ```ts
   * import { MapFlags, MmapRegion, Prot } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using region = MmapRegion.build(null, 8192, Prot.READ | Prot.WRITE, MapFlags.PRIVATE);
   * assert.equal(region.owned(), true);
   * assert.equal(region.fileOffset(), null);
   * ```
   */
  static build(
    fileOffset: FileOffset | null,
    size: number,
    prot: number,
    flags: number,
    opts: MmapRegionOptions = {},
  ): MmapRegion {
    if (fileOffset !== null && !(fileOffset instanceof FileOffset)) {
      fail(Status.INVALID_ARGS, `fileOffset must be a FileOffset or null`);
    }
    checkU64(size, "size");
    checkU32(prot, "prot");
    checkU32(flags, "flags");
    if (typeof opts !== "object" || opts === null) {
      fail(Status.INVALID_ARGS, "opts must be an object");
    }
    if ((flags & MapFlags.FIXED) !== 0) {
      fail(Status.INVALID_ARGS, "MAP_FIXED is forbidden: a region never replaces memory");
    }
    if ((flags & ~KNOWN_MAP_FLAGS) !== 0) {
      fail(Status.INVALID_ARGS, `unknown mmap flags 0x${(flags & ~KNOWN_MAP_FLAGS).toString(16)}`);
    }
    const sharing = flags & (MapFlags.SHARED | MapFlags.PRIVATE);
    if (sharing !== MapFlags.SHARED && sharing !== MapFlags.PRIVATE) {
      fail(Status.INVALID_ARGS, "flags need exactly one of MapFlags.SHARED and MapFlags.PRIVATE");
    }
    if ((prot & ~(Prot.READ | Prot.WRITE | Prot.EXEC)) !== 0) {
      fail(Status.INVALID_ARGS, `unknown prot bits 0x${prot.toString(16)}`);
    }
    if (size === 0) fail(Status.INVALID_ARGS, "size is 0");
    const hugetlb = opts.hugetlb === true || (flags & MapFlags.HUGETLB) !== 0;
    const perms = (prot & Prot.READ ? VmarFlags.PERM_READ : 0) |
      (prot & Prot.WRITE ? VmarFlags.PERM_WRITE | VmarFlags.PERM_READ : 0) |
      (prot & Prot.EXEC ? VmarFlags.PERM_EXECUTE | VmarFlags.PERM_READ : 0);
    const mapLen = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    checkedEnd(mapLen, 0, "size");
    let vmo: Vmo;
    let vmoOffset = 0;
    let fileIdentity: object | null = null;
    let align = 0;
    let realLen = mapLen;
    if (fileOffset === null) {
      if (hugetlb) {
        const huge = hugeVmo(size);
        vmo = huge.vmo;
        realLen = huge.len;
        align = huge.hugePageSize === 2 << 20 ? VmarFlags.ALIGN_2MB : VmarFlags.ALIGN_1GB;
      } else {
        vmo = Vmo.create(mapLen);
      }
    } else {
      if (hugetlb) fail(Status.INVALID_ARGS, "HUGETLB backs anonymous regions only");
      const start = fileOffset.start();
      checkedEnd(start, size, "file offset + size");
      if (!isPageAligned(start)) {
        fail(Status.INVALID_ARGS, `file start ${start} is not page aligned`);
      }
      const file = fileOffset.file();
      const writable = (prot & Prot.WRITE) !== 0 && sharing === MapFlags.SHARED;
      const fileVmo = file instanceof Vmo ? file.duplicate() : Vmo.fromFile(file, { writable });
      try {
        const isFile = (fileVmo.info().flags & VmoInfoFlags.PAGER_BACKED) !== 0;
        const limit = isFile ? fileVmo.getStreamSize() : fileVmo.getSize();
        if (start + size > limit) {
          fail(
            Status.OUT_OF_RANGE,
            `${size} bytes at ${start} pass the end of the file (${limit})`,
          );
        }
        fileIdentity = vmoObjectOf(fileVmo).backing;
        if (sharing === MapFlags.PRIVATE) {
          vmo = fileVmo.createChild(VmoChildOptions.SNAPSHOT_AT_LEAST_ON_WRITE, start, mapLen);
          fileVmo.close();
        } else {
          vmo = fileVmo;
          vmoOffset = start;
        }
      } catch (error) {
        fileVmo.close();
        throw error;
      }
    }
    // The mapping fills a sub-VMAR of its own, which `close()` destroys through its handle: an
    // unmap by address would reach whatever was mapped there since, if the caller unmapped the
    // region through `Vmar.root()` and the addresses were reused.
    let vmar: Vmar | undefined;
    let addr: number;
    let buffer: SharedBuffer;
    try {
      const canMap = (perms & VmarFlags.PERM_READ ? VmarFlags.CAN_MAP_READ : 0) |
        (perms & VmarFlags.PERM_WRITE ? VmarFlags.CAN_MAP_WRITE : 0) |
        (perms & VmarFlags.PERM_EXECUTE ? VmarFlags.CAN_MAP_EXECUTE : 0);
      [vmar, addr] = Vmar.root().allocate(0, realLen, VmarFlags.CAN_MAP_SPECIFIC | canMap | align);
      vmar.map(0, vmo, vmoOffset, realLen, perms | VmarFlags.SPECIFIC);
      buffer = SharedBuffer.fromRange(vmar, addr, size);
    } catch (error) {
      if (vmar !== undefined) destroyOwnVmar(vmar);
      vmo.close();
      throw error;
    }
    const region = new MmapRegion(BUILD, {
      size,
      prot,
      flags,
      fileOffset,
      owned: true,
      bitmap: opts.dirtyTracking === true ? new DirtyBitmap(size) : null,
      hugetlbfs: hugetlb ? true : null,
      vmo,
      vmoOffset,
      fileIdentity,
      mapping: { vmar, addr, len: realLen },
      buffer,
      raw: null,
    });
    // Slices and views keep the region alive; collected unclosed, it unmaps.
    windowOf(buffer).owner = region;
    backstop.register(region, { vmar, vmo }, region);
    return region;
  }

  /**
   * **Unsafe.** A region over `size` bytes at `addr` that something else mapped: vmo cannot
   * check that the memory is there, and an access after it is gone kills the process. The
   * caller promises `[addr, addr + size)` stays mapped with `prot` while the region is used.
   * `addr` must be page aligned (`INVALID_ARGS`, vm-memory's `InvalidPointer`). `owned()` is
   * false, `close()` unmaps nothing, and `GuestMemoryMmap.sharing()` is null for it.
   *
   * @example
   * ```ts
   * import { MapFlags, Mapping, MmapRegion, Prot } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [mapping, vmo] = Mapping.allocate(4096);
   * mapping.writeU8(0, 9);
   * using raw = MmapRegion.unsafeBuildRaw(mapping.addr, 4096, Prot.READ | Prot.WRITE, MapFlags.SHARED);
   * assert.equal(raw.asVolatileSlice().readU8(0), 9);
   * assert.equal(raw.owned(), false);
   * raw.close();
   * mapping.close();
   * vmo.close();
   * ```
   */
  static unsafeBuildRaw(addr: number, size: number, prot: number, flags: number): MmapRegion {
    checkU64(addr, "addr");
    checkU64(size, "size");
    checkU32(prot, "prot");
    checkU32(flags, "flags");
    if (!isPageAligned(addr)) {
      fail(Status.INVALID_ARGS, `addr 0x${addr.toString(16)} is not page aligned`);
    }
    checkedEnd(addr, size, "addr + size");
    return new MmapRegion(BUILD, {
      size,
      prot,
      flags,
      fileOffset: null,
      owned: false,
      bitmap: null,
      hugetlbfs: null,
      vmo: null,
      vmoOffset: 0,
      fileIdentity: null,
      mapping: null,
      buffer: null,
      raw: { addr },
    });
  }

  #live(): RegionInit {
    if (this.#closed) fail(Status.BAD_STATE, "the region was closed");
    return this.#init;
  }

  #buffer(): BufferLike {
    const init = this.#live();
    if (init.buffer === null) init.buffer = new RawBuffer(init.raw!.addr, init.size);
    return init.buffer;
  }

  /**
   * The futex protocol (`src/mapping/memory_range.ts`): a buffer over exactly this memory.
   * @ignore
   */
  [MEMORY_RANGE](): SharedBufferSlice {
    return rangeOf(this.#buffer());
  }

  /** The size in bytes. */
  size(): number {
    return this.#live().size;
  }

  /** The length in bytes (= `size()`). */
  len(): number {
    return this.#live().size;
  }

  /** Whether the region is empty. */
  isEmpty(): boolean {
    return this.#live().size === 0;
  }

  /** Where the memory comes from, or null for anonymous memory. */
  fileOffset(): FileOffset | null {
    return this.#live().fileOffset;
  }

  /** The `mmap` protections ({@linkcode Prot}). */
  prot(): number {
    return this.#live().prot;
  }

  /** The `mmap` flags ({@linkcode MapFlags}). */
  flags(): number {
    return this.#live().flags;
  }

  /** Whether the region unmaps its memory on close (false for `unsafeBuildRaw`). */
  owned(): boolean {
    return this.#live().owned;
  }

  /** The region's address (where the library or the caller mapped it). */
  address(): number {
    const init = this.#live();
    return init.mapping !== null ? init.mapping.addr : init.raw!.addr;
  }

  /**
   * Whether both regions map overlapping bytes of the same file (vm-memory's `fds_overlap`).
   * Anonymous regions overlap nothing.
   */
  fdsOverlap(other: MmapRegion): boolean {
    const a = this.#live();
    if (!(other instanceof MmapRegion)) fail(Status.INVALID_ARGS, "other must be an MmapRegion");
    const b = other.#live();
    if (a.fileIdentity === null || a.fileIdentity !== b.fileIdentity) return false;
    const aStart = a.fileOffset!.start();
    const bStart = b.fileOffset!.start();
    return aStart < bStart + b.size && bStart < aStart + a.size;
  }

  /** Records whether the region is on hugetlbfs (vm-memory keeps it as a hint). */
  setHugetlbfs(on: boolean): void {
    this.#live();
    if (typeof on !== "boolean") fail(Status.INVALID_ARGS, "on must be a boolean");
    this.#init.hugetlbfs = on;
  }

  /** Whether the region is on hugetlbfs: null when unknown (never set). */
  isHugetlbfs(): boolean | null {
    return this.#live().hugetlbfs;
  }

  /** A slice of `count` bytes at `offset`: `OUT_OF_RANGE` past the end. */
  getSlice(offset: number, count: number): VolatileSlice {
    const init = this.#live();
    checkU64(offset, "offset");
    checkU64(count, "count");
    checkWithin(offset, count, init.size, "getSlice");
    return makeSlice(this.#buffer().sliceMut(offset, offset + count), init.bitmap, offset);
  }

  /** The whole region as a slice. */
  asVolatileSlice(): VolatileSlice {
    const init = this.#live();
    return makeSlice(this.#buffer(), init.bitmap, 0);
  }

  /**
   * A length-1 typed array over the aligned value at `offset`, for `Atomics` (atomic across
   * processes mapping the same memory). Writes through it are not marked dirty.
   * Errors: `OUT_OF_RANGE` past the end; `INVALID_ARGS` misaligned or an unknown kind;
   * `ACCESS_DENIED` unless the memory is read-write.
   */
  getAtomicRef(
    offset: number,
    kind: "i32" | "u32" | "i64" | "u64",
  ): Int32Array | Uint32Array | BigInt64Array | BigUint64Array {
    const init = this.#live();
    checkU64(offset, "offset");
    const size = kind === "i32" || kind === "u32" ? 4 : kind === "i64" || kind === "u64" ? 8 : 0;
    if (size === 0) fail(Status.INVALID_ARGS, `kind must be i32, u32, i64 or u64`);
    checkWithin(offset, size, init.size, "getAtomicRef");
    const buffer = this.#buffer();
    if (size === 4) {
      const view = buffer.int32View(offset, 1);
      return kind === "i32" ? view : new Uint32Array(view.buffer, view.byteOffset, 1);
    }
    const view = buffer.bigInt64View(offset, 1);
    return kind === "i64" ? view : new BigUint64Array(view.buffer, view.byteOffset, 1);
  }

  /**
   * `base + offset`, checked: `OUT_OF_RANGE` when it overflows or passes the region's end
   * (vm-memory's `compute_end_offset`).
   */
  computeEndOffset(base: number, offset: number): number {
    const init = this.#live();
    checkU64(base, "base");
    checkU64(offset, "offset");
    const end = checkedEnd(base, offset, "computeEndOffset");
    if (end > init.size) fail(Status.OUT_OF_RANGE, `end ${end} is past the region (${init.size})`);
    return end;
  }

  /** The dirty bitmap, or null when tracking is off. */
  bitmap(): Bitmap | null {
    return this.#live().bitmap?.public ?? null;
  }

  /** Unmaps the region (nothing for a raw one) and detaches its views. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    backstop.unregister(this);
    const init = this.#init;
    try {
      if (init.mapping !== null) destroyOwnVmar(init.mapping.vmar);
    } finally {
      init.vmo?.close();
    }
  }

  /** = `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** An `MFD_HUGETLB` VMO of at least `size` bytes, every page reserved now. */
function hugeVmo(size: number): { vmo: Vmo; len: number; hugePageSize: number } {
  const made = hugetlbMemfd("vmo-guest-huge", size);
  if (!made.ok) {
    throw syscallError(made.syscall, "cannot create a huge-page memfd", made.errno);
  }
  const { fd, hugePageSize } = made.value;
  const len = Math.ceil(size / hugePageSize) * hugePageSize;
  const committed = commitRange(fd, 0, len);
  if (!committed.ok) {
    libc.close(fd);
    if (committed.errno === ENOSPC || committed.errno === 12) {
      throw new ZxError(
        Status.NO_RESOURCES,
        `no huge pages to back ${len} bytes (see /proc/sys/vm/nr_hugepages)`,
        {
          syscall: "fallocate",
          errno: committed.errno,
          code: committed.errno === ENOSPC ? "ENOSPC" : "ENOMEM",
        },
      );
    }
    throw syscallError("fallocate", "cannot reserve huge pages", committed.errno);
  }
  return { vmo: Vmo.unsafeFromFd(fd), len, hugePageSize };
}
