/**
 * `Vmar`: a handle to a virtual memory address region, Zircon's tree of address ranges.
 *
 * @module
 */

import {
  checkBytes,
  checkedEnd,
  checkU32,
  checkU64,
  has,
  isPageAligned,
  MAX_U64,
  PAGE_SIZE,
  roundUpPage,
} from "../args.ts";
import { Handle, type KernelObject, liveObjectOfType, ObjType, rightsOf } from "../handle.ts";
import { DEFAULT_VMAR_RIGHTS, hasRights, Rights } from "../rights.ts";
import { fail, Status } from "../status.ts";
import { type Vmo, vmoObjectOf } from "../vmo/vmo.ts";
import { VmarFlags } from "./constants.ts";
import * as linux from "./linux.ts";
import { collectMaps, type MapInfo, type VmarInfo } from "./info.ts";
import { copyMemory } from "./memory.ts";
import { opRange, populateCommitted } from "./op_range.ts";
import { placement, splitFlags } from "./placement.ts";
import { quarantinedCount, windowKey } from "./quarantine.ts";
import { destroyRegion, protectPieces, unmapInOne, unmapRange } from "./teardown.ts";
import {
  MappingRecord,
  needAlive,
  PERM_EXECUTE,
  PERM_MASK,
  PERM_READ,
  PERM_WRITE,
  VmarObject,
  walk,
} from "./region.ts";
import { createMapping, createRegion, overwriteMapping } from "./place.ts";

const CAN_MAP_RWX = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_EXECUTE;
const PERMS = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE | VmarFlags.PERM_EXECUTE;
const ALLOCATE_OPTIONS = VmarFlags.SPECIFIC | VmarFlags.CAN_MAP_SPECIFIC | VmarFlags.COMPACT |
  CAN_MAP_RWX | VmarFlags.OFFSET_IS_UPPER_LIMIT;
const MAP_OPTIONS = PERMS | VmarFlags.SPECIFIC | VmarFlags.SPECIFIC_OVERWRITE |
  VmarFlags.OFFSET_IS_UPPER_LIMIT | VmarFlags.MAP_RANGE | VmarFlags.REQUIRE_NON_RESIZABLE |
  VmarFlags.ALLOW_FAULTS | VmarFlags.PERM_READ_IF_XOM_UNSUPPORTED |
  VmarFlags.FAULT_BEYOND_STREAM_SIZE;
const PROTECT_OPTIONS = PERMS | VmarFlags.PERM_READ_IF_XOM_UNSUPPORTED;
/** The bits of map flags beyond splitFlags' known options: the alignment field and unknown bits. */
const ALIGN_OR_UNKNOWN = ~0xffff;
/** The CAN_MAP_* flag for each PERM_* bit, and the right it needs. */
const PERM_TABLE = [
  [PERM_READ, VmarFlags.CAN_MAP_READ, Rights.READ, "READ"],
  [PERM_WRITE, VmarFlags.CAN_MAP_WRITE, Rights.WRITE, "WRITE"],
  [PERM_EXECUTE, VmarFlags.CAN_MAP_EXECUTE, Rights.EXECUTE, "EXECUTE"],
] as const;

let rootObject: VmarObject | null = null;

/** The VMAR object behind a `Vmar` handle: `BAD_HANDLE` or `WRONG_TYPE` otherwise. */
export function vmarObjectOf(handle: unknown, what = "the handle"): VmarObject {
  return liveObjectOfType<VmarObject>(handle, ObjType.VMAR, what);
}

/**
 * A handle to a virtual memory address region (VMAR): a range of this process's address space
 * that holds sub-regions and mappings of VMOs, with Zircon's rules and error statuses.
 *
 * `Vmar.root()` is the whole process. A sub-VMAR is a `PROT_NONE` reservation; mappings are
 * placed in it with `MAP_FIXED`, and unmapping puts the reservation back, so nothing else in the
 * process can take the hole. In the root the library only touches what it mapped there.
 *
 * Placement inside a sub-VMAR is first-fit (lowest free address that fits the alignment),
 * where Zircon randomises; in the root the kernel chooses.
 *
 * @example Reserve a region, map a VMO into it, read through the mapping
 * ```ts
 * import { Vmar, VmarFlags, Vmo } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const rw = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
 * using vmo = Vmo.create(4096);
 * vmo.write(new Uint8Array([1, 2, 3]), 0);
 * const [region] = Vmar.root().allocate(0, 1 << 20, VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE);
 * const addr = region.map(0, vmo, 0, 4096, rw);
 * const bytes = new Uint8Array(3);
 * assert.equal(region.readMemory(addr, bytes), 3);
 * assert.deepEqual([...bytes], [1, 2, 3]);
 * region.destroy();
 * ```
 */
export class Vmar extends Handle {
  /** @ignore */
  private constructor(object: VmarObject, rights: number) {
    super(object, rights);
  }

  /** @ignore */
  protected newHandle(object: KernelObject, rights: number): this {
    return new Vmar(object as VmarObject, rights) as this;
  }

  /**
   * A handle to the root VMAR: this process's user address space. It can map and allocate
   * anywhere, specific addresses included, but never touches memory the library did not map
   * (a specific request over such memory is `ALREADY_EXISTS`), and cannot be destroyed. The
   * main thread's stack growth area (`RLIMIT_STACK` below `[stack]`'s top plus the kernel's
   * guard gap) counts as such memory: nothing is ever placed there.
   *
   * @example
   * ```ts
   * import { Vmar } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const { base, len } = Vmar.root().info();
   * assert.ok(base > 0 && len > 2 ** 40);
   * ```
   */
  static root(): Vmar {
    rootObject ??= new VmarObject({
      base: linux.USER_BASE,
      size: linux.USER_END - linux.USER_BASE,
      parent: null,
      flags: CAN_MAP_RWX | VmarFlags.CAN_MAP_SPECIFIC,
      name: "root",
    });
    return new Vmar(rootObject, DEFAULT_VMAR_RIGHTS | Rights.READ | Rights.WRITE | Rights.EXECUTE);
  }

  /**
   * Creates a sub-VMAR of `size` bytes (a multiple of the page size). `flags`
   * ({@linkcode VmarFlags}): `CAN_MAP_READ`/`WRITE`/`EXECUTE` (a subset of this VMAR's, and this
   * handle needs the matching rights), `CAN_MAP_SPECIFIC`, `SPECIFIC` (at `offset` from this
   * VMAR's base), `OFFSET_IS_UPPER_LIMIT` (ending at or below `offset`), `COMPACT`, `ALIGN_*`.
   * Returns the new VMAR's handle and its absolute address.
   *
   * Errors, in Zircon's order: `ACCESS_DENIED` for missing rights; `INVALID_ARGS` for unknown
   * or misplaced flags, a `PERM_*` flag, an unaligned or zero size, a bad offset or range;
   * `BAD_STATE` if this VMAR was destroyed; `ACCESS_DENIED` for CAN_MAP_* beyond this VMAR's or
   * for SPECIFIC without CAN_MAP_SPECIFIC; `ALREADY_EXISTS` when a SPECIFIC range overlaps a
   * child (or, in the root, memory the library does not own); `NO_RESOURCES` when no gap fits.
   *
   * @example
   * ```ts
   * import { Vmar, VmarFlags } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [outer, base] = Vmar.root().allocate(0, 1 << 20, VmarFlags.CAN_MAP_SPECIFIC);
   * const [, addr] = outer.allocate(1 << 16, 1 << 16, VmarFlags.SPECIFIC);
   * assert.equal(addr, base + (1 << 16));
   * outer.destroy();
   * ```
   */
  allocate(offset: number, size: number, flags: number): [Vmar, number] {
    const parent = vmarObjectOf(this);
    checkU64(offset, "offset");
    checkU64(size, "size");
    checkU32(flags, "flags");
    for (const [, canMap, right, name] of PERM_TABLE) {
      if (has(flags, canMap) && !hasRights(rightsOf(this), right)) {
        fail(Status.ACCESS_DENIED, `CAN_MAP_${name} needs the ${name} right`);
      }
    }
    // Zircon strips PERM_READ_IF_XOM_UNSUPPORTED before the "no PERM_* bits" check.
    const { options, align } = splitFlags(flags & ~VmarFlags.PERM_READ_IF_XOM_UNSUPPORTED);
    if (has(options, PERMS)) fail(Status.INVALID_ARGS, "allocate takes no PERM_* flags");
    if (!isPageAligned(size)) fail(Status.INVALID_ARGS, `size ${size} is not page aligned`);
    if ((options & ~ALLOCATE_OPTIONS) !== 0) {
      fail(Status.INVALID_ARGS, "flags not valid for allocate");
    }
    needAlive(parent);
    if (size === 0) fail(Status.INVALID_ARGS, "size is 0");
    if ((options & CAN_MAP_RWX & ~parent.flags) !== 0) {
      fail(Status.ACCESS_DENIED, "CAN_MAP_* flags beyond the parent's");
    }
    const where = placement(parent, offset, size, options, align, false);
    const childFlags = options & (CAN_MAP_RWX | VmarFlags.CAN_MAP_SPECIFIC | VmarFlags.COMPACT);
    const region = createRegion(parent, size, where, childFlags);
    let rights = DEFAULT_VMAR_RIGHTS;
    for (const [, canMap, right] of PERM_TABLE) if (has(childFlags, canMap)) rights |= right;
    return [new Vmar(region, rights), region.base];
  }

  /**
   * Maps `len` bytes (rounded up to pages) of `vmo` from `vmoOffset` (page aligned) into this
   * VMAR and returns the address. `flags` ({@linkcode VmarFlags}): `PERM_READ`/`WRITE`/
   * `EXECUTE` (WRITE and EXECUTE need READ), `SPECIFIC`, `SPECIFIC_OVERWRITE` (replaces the
   * mappings in the range, atomically), `OFFSET_IS_UPPER_LIMIT` (the mapping ends at or below
   * `vmarOffset`; `vmoOffset` is honoured, where the examined Zircon kernel ignores it),
   * `MAP_RANGE` (pre-faults the
   * committed pages), `REQUIRE_NON_RESIZABLE`, `ALLOW_FAULTS`, `PERM_READ_IF_XOM_UNSUPPORTED`,
   * `ALIGN_*`. The mapping's maximum permissions, which `protect` can never exceed, are what
   * both this handle and the VMO handle allow now.
   *
   * Mapping past the end of the VMO is allowed as in Zircon: those pages are never reachable
   * through vmo's safe accessors (`OUT_OF_RANGE`), and become valid if the VMO grows. A mapping
   * that continues its neighbour (same VMO, next offset, same maximum permissions and placement
   * flags) merges with it, as in Zircon.
   *
   * Errors, in Zircon's order: `BAD_HANDLE`/`WRONG_TYPE` for either handle; `ACCESS_DENIED`
   * without `MAP` on the VMO or for permissions either handle or this VMAR lacks;
   * `INVALID_ARGS` for bad flag combinations, an unaligned `vmoOffset`, a zero `len`, a bad
   * offset or range, or a SPECIFIC_OVERWRITE over a sub-VMAR; `NOT_SUPPORTED` for
   * `REQUIRE_NON_RESIZABLE` with a resizable VMO or a `DISCARDABLE` VMO without
   * `ALLOW_FAULTS`; `OUT_OF_RANGE` when lengths overflow; `BAD_STATE`, `ALREADY_EXISTS`,
   * `NO_RESOURCES` as for {@linkcode Vmar.allocate} (a range quarantined after an unmap under
   * live views is `ALREADY_EXISTS` to a SPECIFIC request, and first fit skips it);
   * `NOT_SUPPORTED` for a VMO whose file the kernel cannot map (sysfs, some procfs files);
   * `NO_MEMORY` when the process is out of kernel mappings. A failed map leaves the memory as
   * it was.
   *
   * @example
   * ```ts
   * import { Vmar, VmarFlags, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(8192);
   * const root = Vmar.root();
   * const addr = root.map(0, vmo, 0, 8192, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
   * assert.equal(root.writeMemory(addr + 4096, new Uint8Array([7])), 1);
   * assert.equal(vmo.readToArray(4096, 1)[0], 7);
   * root.unmap(addr, 8192);
   * ```
   */
  map(vmarOffset: number, vmo: Vmo, vmoOffset: number, len: number, flags: number): number {
    const vmar = vmarObjectOf(this);
    const object = vmoObjectOf(vmo, "vmo");
    checkU64(vmarOffset, "vmarOffset");
    checkU64(vmoOffset, "vmoOffset");
    checkU64(len, "len");
    checkU32(flags, "flags");
    const vmoRights = rightsOf(vmo);
    if (!hasRights(vmoRights, Rights.MAP)) fail(Status.ACCESS_DENIED, "the VMO handle lacks MAP");
    let options = flags & 0xff_ffff;
    if (has(options, VmarFlags.PERM_READ_IF_XOM_UNSUPPORTED)) options |= VmarFlags.PERM_READ;
    const perms = options & PERM_MASK;
    if (perms !== 0 && !has(perms, PERM_READ)) {
      fail(Status.INVALID_ARGS, "PERM_WRITE and PERM_EXECUTE need PERM_READ");
    }
    const overwrite = has(options, VmarFlags.SPECIFIC_OVERWRITE);
    if (has(options, VmarFlags.MAP_RANGE) && overwrite) {
      fail(Status.INVALID_ARGS, "MAP_RANGE and SPECIFIC_OVERWRITE exclude each other");
    }
    // CAN_MAP_SPECIFIC is refused later, with the other options map does not take.
    if (has(options, CAN_MAP_RWX)) fail(Status.INVALID_ARGS, "map takes no CAN_MAP_* flags");
    const maxPerms = permsAllowedBy(vmoRights & rightsOf(this));
    if ((perms & ~maxPerms) !== 0) {
      const name = PERM_TABLE[permIndex(perms & ~maxPerms)][3];
      fail(Status.ACCESS_DENIED, `PERM_${name} needs the ${name} right on both handles`);
    }
    const allowFaults = has(options, VmarFlags.ALLOW_FAULTS);
    if (has(options, VmarFlags.FAULT_BEYOND_STREAM_SIZE) && !allowFaults) {
      fail(Status.INVALID_ARGS, "FAULT_BEYOND_STREAM_SIZE needs ALLOW_FAULTS");
    }
    // No alignment field and no unknown option bit (the common case): splitFlags has nothing
    // to refuse, and its answer is a page.
    const align = (flags & ALIGN_OR_UNKNOWN) === 0 ? PAGE_SIZE : splitFlags(flags).align;
    // A file, or a memfd a peer may hold unsealed, can be cut by someone else: resizable too.
    if (
      has(options, VmarFlags.REQUIRE_NON_RESIZABLE) &&
      (object.resizable || object.backing.cuttable)
    ) {
      fail(Status.NOT_SUPPORTED, "REQUIRE_NON_RESIZABLE with a VMO whose size can change");
    }
    if (!allowFaults && object.discardable) {
      fail(Status.NOT_SUPPORTED, "a DISCARDABLE VMO needs ALLOW_FAULTS");
    }
    if ((options & ~MAP_OPTIONS) !== 0) fail(Status.INVALID_ARGS, "flags not valid for map");
    if ((perms & ~canMapPerms(vmar.flags)) !== 0) {
      fail(Status.ACCESS_DENIED, "permissions beyond the VMAR's CAN_MAP_* flags");
    }
    if (!isPageAligned(vmoOffset)) {
      fail(Status.INVALID_ARGS, `vmoOffset ${vmoOffset} is not page aligned`);
    }
    const size = roundUpPage(len);
    if (size > MAX_U64) fail(Status.OUT_OF_RANGE, `len ${len} overflows when rounded up`);
    checkedEnd(vmoOffset, size, "map");
    if (has(options, VmarFlags.FAULT_BEYOND_STREAM_SIZE)) {
      fail(Status.NOT_SUPPORTED, "FAULT_BEYOND_STREAM_SIZE is not implemented on Linux");
    }
    needAlive(vmar);
    if (size === 0) fail(Status.INVALID_ARGS, "len is 0");
    // Only with quarantined ranges about is there a range of the same window to reuse.
    const window = quarantinedCount() === 0 || object.kind === "slice"
      ? undefined
      : { backing: object.backing, key: windowKey(object.offset + vmoOffset, size) };
    const where = placement(vmar, vmarOffset, size, options, align, overwrite, window);
    // The placement flags stay with a mapping and must match for it to merge (Zircon's mapping
    // flags); ALLOW_FAULTS and REQUIRE_NON_RESIZABLE are checks, not kept.
    const kept = VmarFlags.SPECIFIC | VmarFlags.SPECIFIC_OVERWRITE |
      VmarFlags.OFFSET_IS_UPPER_LIMIT;
    const init = { vmo: object, vmoOffset, perms, maxPerms, options: options & kept };
    let record: MappingRecord;
    let addr: number;
    if (overwrite) {
      addr = where.addr!;
      for (const child of vmar.children.overlapping(addr, addr + size)) {
        if (child instanceof VmarObject) {
          fail(Status.INVALID_ARGS, "SPECIFIC_OVERWRITE cannot replace a sub-VMAR");
        }
      }
      record = overwriteMapping(vmar, addr, size, init);
    } else {
      [record, addr] = createMapping(vmar, size, where, init);
    }
    if (has(options, VmarFlags.MAP_RANGE) && has(perms, PERM_READ)) {
      try {
        populateCommitted(record, addr, addr + size);
      } catch (error) {
        // The map is done: pre-faulting is only a head start, and a `RangeError` here (the
        // stack's limit) must not report a map that stands as failed.
        if (!(error instanceof RangeError)) throw error;
      }
    }
    return addr;
  }

  /**
   * Unmaps `[addr, addr + len)` (`len` rounded up to pages): mappings in it are removed,
   * trimmed or split, sub-VMARs wholly inside are destroyed (this handle needs
   * `OP_CHILDREN`), and holes are fine. Only this VMAR's direct children are affected. In a
   * sub-VMAR the range becomes reservation again. Memory over which a view's buffer is still
   * alive (a runtime operation may hold it) becomes zero pages, quarantined until the buffer is
   * collected: no SPECIFIC request or first-fit placement takes it meanwhile.
   *
   * Errors: `INVALID_ARGS` for an unaligned `addr`, a zero `len`, a range outside the VMAR, a
   * sub-VMAR only partly inside the range, or any sub-VMAR in it without `OP_CHILDREN` (nothing
   * is changed then); `BAD_STATE` if the VMAR was destroyed.
   *
   * @example
   * ```ts
   * import { Status, Vmar, VmarFlags, Vmo, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(3 * 4096);
   * const root = Vmar.root();
   * const addr = root.map(0, vmo, 0, 3 * 4096, VmarFlags.PERM_READ);
   * root.unmap(addr + 4096, 4096);
   * assert.throws(
   *   () => root.readMemory(addr + 4096, new Uint8Array(1)),
   *   (e) => e instanceof ZxError && e.status === Status.NOT_FOUND,
   * );
   * root.unmap(addr, 3 * 4096);
   * ```
   */
  unmap(addr: number, len: number): void {
    const vmar = vmarObjectOf(this);
    checkU64(addr, "addr");
    checkU64(len, "len");
    if (!isPageAligned(addr)) {
      fail(Status.INVALID_ARGS, `addr 0x${addr.toString(16)} is not page aligned`);
    }
    const size = roundUpPage(len);
    if (size === 0) fail(Status.INVALID_ARGS, "len is 0");
    needAlive(vmar);
    const end = checkedEnd(addr, size, "unmap");
    if (addr < vmar.base || end > vmar.end) {
      fail(Status.INVALID_ARGS, "the range is not inside the VMAR");
    }
    const one = vmar.children.find(addr);
    if (one instanceof MappingRecord && end <= one.end) {
      // Inside one mapping (every unmap of what one map made): no sub-VMAR to check.
      unmapInOne(vmar, one, addr, end);
      return;
    }
    const items = vmar.children.overlapping(addr, end);
    for (const item of items) {
      if (item instanceof VmarObject && (item.base < addr || item.end > end)) {
        fail(Status.INVALID_ARGS, "a sub-VMAR is only partly inside the range");
      }
    }
    for (const item of items) {
      if (item instanceof VmarObject && !hasRights(rightsOf(this), Rights.OP_CHILDREN)) {
        fail(Status.INVALID_ARGS, "destroying a sub-VMAR needs the OP_CHILDREN right");
      }
    }
    unmapRange(vmar, addr, end, items);
  }

  /**
   * Sets the permissions of `[addr, addr + len)` (`len` rounded up to pages) to `flags`
   * (`PERM_*` only; 0 is allowed). The range may cross mappings and sub-VMARs but must have no
   * hole; each mapping's maximum permissions bound it, and through a sub-VMAR permissions can
   * only be removed. Every check passes before anything changes. Views over memory that stops
   * being read-write are detached first; if their buffers are still alive (a runtime operation
   * may hold them), the kernel's protection follows once they are collected, while vmo refuses
   * every access the new permissions forbid at once.
   *
   * Errors, in Zircon's order: `ACCESS_DENIED` for a permission this handle lacks;
   * `INVALID_ARGS` for WRITE or EXECUTE without READ, an unaligned `addr`, other flags, a zero
   * `len`, a range outside the VMAR, or a sub-VMAR's mapping without `OP_CHILDREN`;
   * `BAD_STATE` if destroyed; `NOT_FOUND` for a hole; `ACCESS_DENIED` beyond a mapping's
   * maximum (or, through a sub-VMAR, its current) permissions.
   *
   * @example
   * ```ts
   * import { Status, Vmar, VmarFlags, Vmo, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * const root = Vmar.root();
   * const addr = root.map(0, vmo, 0, 4096, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
   * root.protect(addr, 4096, VmarFlags.PERM_READ);
   * assert.throws(
   *   () => root.writeMemory(addr, new Uint8Array(1)),
   *   (e) => e instanceof ZxError && e.status === Status.ACCESS_DENIED,
   * );
   * root.unmap(addr, 4096);
   * ```
   */
  protect(addr: number, len: number, flags: number): void {
    const vmar = vmarObjectOf(this);
    checkU64(addr, "addr");
    checkU64(len, "len");
    checkU32(flags, "flags");
    let options = flags & 0xff_ffff;
    if (has(options, VmarFlags.PERM_READ_IF_XOM_UNSUPPORTED)) options |= VmarFlags.PERM_READ;
    const perms = options & PERM_MASK;
    const denied = perms & ~permsAllowedBy(rightsOf(this));
    if (denied !== 0) {
      const name = PERM_TABLE[permIndex(denied)][3];
      fail(Status.ACCESS_DENIED, `PERM_${name} needs the ${name} right`);
    }
    if (perms !== 0 && !has(perms, PERM_READ)) {
      fail(Status.INVALID_ARGS, "PERM_WRITE and PERM_EXECUTE need PERM_READ");
    }
    if (!isPageAligned(addr)) {
      fail(Status.INVALID_ARGS, `addr 0x${addr.toString(16)} is not page aligned`);
    }
    if ((flags & ~PROTECT_OPTIONS) !== 0) {
      fail(Status.INVALID_ARGS, "protect takes only PERM_* flags");
    }
    const size = roundUpPage(len);
    if (size === 0) fail(Status.INVALID_ARGS, "len is 0");
    needAlive(vmar);
    const end = checkedEnd(addr, size, "protect");
    if (addr < vmar.base || end > vmar.end) {
      fail(Status.INVALID_ARGS, "the range is not inside the VMAR");
    }
    const direct = vmar.children.find(addr);
    if (direct instanceof MappingRecord && end <= direct.end) {
      // The common case, one direct mapping: no walk.
      if ((perms & ~direct.maxPerms) !== 0) {
        fail(Status.ACCESS_DENIED, "permissions beyond the mapping's maximum");
      }
      protectPieces([{ record: direct, start: addr, end }], perms);
      return;
    }
    const pieces: { record: MappingRecord; start: number; end: number }[] = [];
    for (const step of walk(vmar, addr, end)) {
      if (step.kind === "gap") fail(Status.NOT_FOUND, `0x${step.start.toString(16)} is not mapped`);
      const record = step.record;
      if ((perms & ~record.maxPerms) !== 0) {
        fail(Status.ACCESS_DENIED, "permissions beyond the mapping's maximum");
      }
      if (!step.direct) {
        if (!hasRights(rightsOf(this), Rights.OP_CHILDREN)) {
          fail(Status.INVALID_ARGS, "protecting a sub-VMAR's mapping needs OP_CHILDREN");
        }
        for (const range of record.rangesIn(step.start, step.end)) {
          if ((perms & ~range.perms) !== 0) {
            fail(
              Status.ACCESS_DENIED,
              "through a parent VMAR, protect can only remove permissions",
            );
          }
        }
      }
      pieces.push(step);
    }
    protectPieces(pieces, perms);
  }

  /**
   * Performs `op` ({@linkcode VmarOp}) on the mappings of `[addr, addr + len)`:
   * `COMMIT` (allocates the VMO pages and pre-faults them; needs WRITE in the mapping's
   * maximum permissions), `DECOMMIT` (frees them, with the VMO's rules), `MAP_RANGE`
   * (pre-faults committed pages), `PREFETCH`, `DONT_NEED`, `ALWAYS_NEED` (hints).
   *
   * Errors, in Zircon's order: `INVALID_ARGS` for an unknown op; `ACCESS_DENIED` when this
   * handle lacks `WRITE` (COMMIT, DECOMMIT, ZERO) or `READ` (PREFETCH, MAP_RANGE), as the
   * syscall docs and newer kernels require; `INVALID_ARGS` for a zero `len` or an unaligned
   * `addr`; `OUT_OF_RANGE` for a range outside the VMAR; `BAD_STATE` if destroyed or for a hole;
   * `INVALID_ARGS` for COMMIT, DECOMMIT or PREFETCH on a sub-VMAR's mapping, or any op on one
   * without `OP_CHILDREN`; `ACCESS_DENIED` for missing maximum permissions; `NOT_SUPPORTED` for
   * `ZERO` (Zircon's VMAR path does not handle it) and the VMO's DECOMMIT cases.
   *
   * @example
   * ```ts
   * import { Vmar, VmarFlags, VmarOp, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(2 * 4096);
   * const root = Vmar.root();
   * const addr = root.map(0, vmo, 0, 2 * 4096, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
   * root.opRange(VmarOp.COMMIT, addr, 2 * 4096);
   * root.opRange(VmarOp.DECOMMIT, addr, 4096);
   * assert.equal(vmo.info().committedBytes, 4096);
   * root.unmap(addr, 2 * 4096);
   * ```
   */
  opRange(op: number, addr: number, len: number): void {
    opRange(vmarObjectOf(this), rightsOf(this), op, addr, len);
  }

  /**
   * Destroys this VMAR: unmaps everything in it, destroys its sub-VMARs, and gives its range
   * back to the parent. Handles stay open; every VMAR call on them then gives `BAD_STATE`.
   *
   * Errors: `ACCESS_DENIED` without `OP_CHILDREN`; `NOT_SUPPORTED` for the root; `BAD_STATE`
   * if already destroyed.
   *
   * @example
   * ```ts
   * import { Status, Vmar, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [region] = Vmar.root().allocate(0, 1 << 16, 0);
   * region.destroy();
   * assert.throws(
   *   () => region.allocate(0, 4096, 0),
   *   (e) => e instanceof ZxError && e.status === Status.BAD_STATE,
   * );
   * ```
   */
  destroy(): void {
    const vmar = vmarObjectOf(this);
    if (!hasRights(rightsOf(this), Rights.OP_CHILDREN)) {
      fail(Status.ACCESS_DENIED, "destroy needs OP_CHILDREN");
    }
    if (vmar.isRoot) fail(Status.NOT_SUPPORTED, "the root VMAR cannot be destroyed");
    needAlive(vmar);
    destroyRegion(vmar);
  }

  /**
   * The region's absolute base address and size (`ZX_INFO_VMAR`). Needs `INSPECT`.
   *
   * @example
   * ```ts
   * import { Vmar } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [region, addr] = Vmar.root().allocate(0, 1 << 16, 0);
   * assert.deepEqual(region.info(), { base: addr, len: 1 << 16 });
   * region.destroy();
   * ```
   */
  info(): VmarInfo {
    const vmar = vmarObjectOf(this);
    if (!hasRights(rightsOf(this), Rights.INSPECT)) {
      fail(Status.ACCESS_DENIED, "info needs INSPECT");
    }
    return { base: vmar.base, len: vmar.size };
  }

  /**
   * The region tree under this VMAR (`ZX_INFO_VMAR_MAPS`): this VMAR first (depth 0), then a
   * depth-first walk with siblings in address order; a mapping gives one record per range of
   * equal permissions. Needs `INSPECT`; `BAD_STATE` if destroyed. {@linkcode formatMaps}
   * prints it.
   *
   * @example
   * ```ts
   * import { MapInfoType, Vmar, VmarFlags, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(2 * 4096);
   * const [region] = Vmar.root().allocate(0, 1 << 20, VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE);
   * const addr = region.map(0, vmo, 0, 2 * 4096, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
   * region.protect(addr, 4096, VmarFlags.PERM_READ);
   * const maps = region.infoMaps();
   * assert.deepEqual(maps.map((m) => [m.type, m.depth]), [
   *   [MapInfoType.VMAR, 0],
   *   [MapInfoType.MAPPING, 1],
   *   [MapInfoType.MAPPING, 1],
   * ]);
   * region.destroy();
   * ```
   */
  infoMaps(): MapInfo[] {
    const vmar = vmarObjectOf(this);
    if (!hasRights(rightsOf(this), Rights.INSPECT)) {
      fail(Status.ACCESS_DENIED, "infoMaps needs INSPECT");
    }
    needAlive(vmar);
    const records: MapInfo[] = [];
    collectMaps(vmar, 0, records);
    return records;
  }

  /**
   * Copies memory at `addr` (in this VMAR or its sub-VMARs) into `dst` without ever faulting,
   * and returns how many bytes it copied: it stops short at the first page that is unmapped,
   * not readable, or past the end of its VMO. When the very first page fails it throws
   * `NOT_FOUND` (unmapped), `ACCESS_DENIED` (not readable) or `OUT_OF_RANGE` (past the VMO's
   * end). The copy goes through `process_vm_readv`, which reads the real page tables.
   *
   * @example
   * ```ts
   * import { Vmar, VmarFlags, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * vmo.write(new Uint8Array([5, 6]), 0);
   * const root = Vmar.root();
   * const addr = root.map(0, vmo, 0, 4096, VmarFlags.PERM_READ);
   * const dst = new Uint8Array(2);
   * assert.equal(root.readMemory(addr, dst), 2);
   * assert.deepEqual([...dst], [5, 6]);
   * root.unmap(addr, 4096);
   * ```
   */
  readMemory(addr: number, dst: Uint8Array): number {
    const vmar = vmarObjectOf(this);
    checkU64(addr, "addr");
    checkBytes(dst, "dst");
    return copyMemory(vmar, addr, dst, false);
  }

  /**
   * Copies `src` to memory at `addr` without ever faulting; the rules and statuses of
   * {@linkcode Vmar.readMemory}, with writability in place of readability. Goes through
   * `process_vm_writev`.
   *
   * @example
   * ```ts
   * import { Vmar, VmarFlags, Vmo } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * using vmo = Vmo.create(4096);
   * const root = Vmar.root();
   * const addr = root.map(0, vmo, 0, 4096, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
   * assert.equal(root.writeMemory(addr + 4094, new Uint8Array([1, 2, 3])), 2);
   * root.unmap(addr, 4096);
   * ```
   */
  writeMemory(addr: number, src: Uint8Array): number {
    const vmar = vmarObjectOf(this);
    checkU64(addr, "addr");
    checkBytes(src, "src");
    return copyMemory(vmar, addr, src, true);
  }
}

function canMapPerms(flags: number): number {
  let perms = 0;
  // Indexed, not `for...of` with destructuring: this runs on every map.
  for (let i = 0; i < PERM_TABLE.length; i++) {
    const row = PERM_TABLE[i];
    if ((flags & row[1]) === row[1]) perms |= row[0];
  }
  return perms;
}

/** The PERM_* bits whose rights `rights` holds. */
function permsAllowedBy(rights: number): number {
  let perms = 0;
  for (let i = 0; i < PERM_TABLE.length; i++) {
    const row = PERM_TABLE[i];
    if ((rights & row[2]) === row[2]) perms |= row[0];
  }
  return perms;
}

/** The row of {@linkcode PERM_TABLE} of the lowest PERM_* bit in `perms` (not 0). */
function permIndex(perms: number): number {
  let i = 0;
  while ((perms & PERM_TABLE[i][0]) === 0) i++;
  return i;
}
