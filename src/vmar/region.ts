/**
 * The region tree: VMARs, the mappings in them (with their permission ranges), the changes
 * that add to it (place, map, overwrite, merge, cut) and walks over it; `teardown.ts` takes
 * memory away (unmap, destroy, protect).
 *
 * This is the single record of what vmo has mapped. Every change goes through `linux.ts` and
 * the tree changes only after the system call succeeded; a call that fails halfway is undone
 * (`restoreRange`), and a file the kernel cannot map is refused before anything changes
 * (`checkMappable`). Before a change, the mapping's
 * watches (`watch.ts`) that it would break are fired: views over mapped memory are detached
 * before the memory under them stops being readable and writable.
 *
 * @module
 */

import { PAGE_SIZE } from "../args.ts";
import { KernelObject, ObjType } from "../handle.ts";
import { fail, Status, ZxError } from "../status.ts";
import type { Backing } from "../vmo/backing.ts";
import type { VmoObject } from "../vmo/object.ts";
import * as linux from "./linux.ts";
import { type Span, SpanList } from "./span_list.ts";
import {
  coalesce,
  type PermRange,
  rangeIndexAt,
  withPerms,
  withPermsInOne,
} from "./perm_ranges.ts";

export type { PermRange };
import { ensureHeadroom } from "./headroom.ts";
import {
  forgetQuarantine,
  type Quarantine,
  QuarantineList,
  quarantineRange,
  windowKey,
} from "./quarantine.ts";
import {
  liveViews,
  NO_WATCHES,
  revokeWatches,
  type Watch,
  type Watched,
  watchesOf,
} from "./watch.ts";

/** `PERM_READ | PERM_WRITE | PERM_EXECUTE`; equal to `PROT_READ | PROT_WRITE | PROT_EXEC`. */
export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_EXECUTE = 4;
export const PERM_MASK = 7;

/** A child of a VMAR: a sub-VMAR or a mapping. */
export type RegionChild = VmarObject | MappingRecord;

/** One mapping of a VMO window into a VMAR. */
export class MappingRecord implements Span, Watched {
  base: number;
  size: number;
  vmoOffset: number;
  readonly vmo: VmoObject;
  readonly maxPerms: number;
  /** The map options that must match for two mappings to merge (SPECIFIC...). */
  readonly options: number;
  readonly parent: VmarObject;
  /** Current permissions, sorted, coalesced, covering `[base, end)` exactly. */
  ranges: PermRange[];
  /** {@linkcode NO_WATCHES} until the first watch (most mappings never get one). */
  watches: Set<Watch> = NO_WATCHES;
  /** The size of `watches` after its last sweep. */
  sweptSize = 16;
  alive = true;

  constructor(init: {
    base: number;
    size: number;
    vmo: VmoObject;
    vmoOffset: number;
    perms: number;
    maxPerms: number;
    options: number;
    parent: VmarObject;
    ranges?: PermRange[];
  }) {
    this.base = init.base;
    this.size = init.size;
    this.vmo = init.vmo;
    this.vmoOffset = init.vmoOffset;
    this.maxPerms = init.maxPerms;
    this.options = init.options;
    this.parent = init.parent;
    this.ranges = init.ranges ??
      [{ start: init.base, end: init.base + init.size, perms: init.perms }];
  }

  /** One past the last byte. */
  get end(): number {
    return this.base + this.size;
  }

  /**
   * Where the pages mapped from the VMO's file stop. A slice's pages past its end are left as
   * `PROT_NONE` reservation: mapping the file there would show the parent's data.
   */
  get fileEnd(): number {
    if (this.vmo.kind !== "slice") return this.end;
    return this.base + Math.min(this.size, Math.max(0, this.vmo.size - this.vmoOffset));
  }

  /** Where the pages that exist in the VMO (offset below its current size) stop. */
  get validEnd(): number {
    return Math.min(this.fileEnd, this.base + Math.max(0, this.vmo.size - this.vmoOffset));
  }

  /** Offset in the backing file of the byte at `addr`. */
  fileOffsetAt(addr: number): number {
    return this.vmo.offset + this.vmoOffset + (addr - this.base);
  }

  /** The permission range holding `addr`. */
  rangeAt(addr: number): PermRange {
    return this.ranges[rangeIndexAt(this.ranges, addr)];
  }

  /** The permission ranges over `[start, end)`, clipped to it. */
  rangesIn(start: number, end: number): PermRange[] {
    const found: PermRange[] = [];
    for (const range of this.ranges) {
      if (range.end <= start || range.start >= end) continue;
      found.push({
        start: Math.max(range.start, start),
        end: Math.min(range.end, end),
        perms: range.perms,
      });
    }
    return found;
  }

  /**
   * Sets the permissions of `[start, end)` (inside the mapping), merging equal neighbours. The
   * ranges are replaced by a new array (one assignment), never changed in place: a caller may
   * keep the old one to undo.
   */
  setPerms(start: number, end: number, perms: number): void {
    if (start === this.base && end === this.end) {
      this.ranges = [{ start, end, perms }];
      return;
    }
    const ranges = this.ranges;
    const i = rangeIndexAt(ranges, start);
    // Inside one range (a protect of part of a mapping): no rebuild, sort or coalesce.
    this.ranges = end <= ranges[i].end
      ? withPermsInOne(ranges, i, start, end, perms)
      : withPerms(ranges, start, end, perms);
  }

  /**
   * Fires the watches that overlap `[start, end)` and need a permission outside `perms`: with
   * `perms` -1 (unmapping) every watch fires, leases too.
   */
  revoke(start: number, end: number, perms = -1): void {
    revokeWatches(this, start, end, perms);
  }
}

/** A VMAR: an address range that holds sub-VMARs and mappings. */
export class VmarObject extends KernelObject implements Span {
  readonly type: number = ObjType.VMAR;
  readonly base: number;
  readonly size: number;
  readonly parent: VmarObject | null;
  /** CAN_MAP_* and COMPACT bits. */
  readonly flags: number;
  readonly name: string;
  readonly children: SpanList<RegionChild> = new SpanList();
  /** Ranges holding zero pages in place of memory views may still use (`quarantine.ts`). */
  readonly quarantined: QuarantineList = new QuarantineList();
  alive = true;

  constructor(init: {
    base: number;
    size: number;
    parent: VmarObject | null;
    flags: number;
    name: string;
  }) {
    super();
    this.base = init.base;
    this.size = init.size;
    this.parent = init.parent;
    this.flags = init.flags;
    this.name = init.name;
  }

  /** One past the last byte. */
  get end(): number {
    return this.base + this.size;
  }

  /** The root VMAR (the process) has no parent. */
  get isRoot(): boolean {
    return this.parent === null;
  }

  protected onLastReference(): void {
    // The tree, not the handles, keeps a region: closing every handle leaves it in place.
  }
}

/** `BAD_STATE` once a VMAR was destroyed. */
export function needAlive(vmar: VmarObject): void {
  if (!vmar.alive) fail(Status.BAD_STATE, "the VMAR was destroyed");
}

// ---- Mappings by backing, so a VMO resize can detach views over pages it removes ----

const recordsByBacking = new WeakMap<Backing, Set<MappingRecord>>();

function track(record: MappingRecord): void {
  const backing = record.vmo.backing;
  // Only a resizable backing ever changes size under its mappings (`Vmo.setSize`). Its calls
  // come first: the counts below are stores, so a `RangeError` leaves nothing half tracked.
  if (backing.resizable) trackResizable(record, backing);
  record.vmo.holdCount++;
  record.vmo.mappingCount++;
}

function trackResizable(record: MappingRecord, backing: Backing): void {
  let records = recordsByBacking.get(backing);
  if (records === undefined) {
    const set = new Set<MappingRecord>();
    records = set;
    recordsByBacking.set(backing, set);
    backing.resizeListeners.add({
      beforeResize(oldSize, newSize) {
        if (newSize >= oldSize) return;
        for (const r of set) {
          const cut = r.base + (newSize - r.fileOffsetAt(r.base));
          if (cut < r.end) r.revoke(Math.max(r.base, cut), r.end, 0);
        }
      },
      afterResize() {},
    });
  }
  records.add(record);
}

export function untrack(record: MappingRecord): void {
  record.alive = false;
  if (record.vmo.backing.resizable) recordsByBacking.get(record.vmo.backing)?.delete(record);
  record.vmo.mappingCount--;
  record.vmo.unhold();
}

// ---- Placing things ----

/**
 * Where a new child goes: in a sub-VMAR, an address the caller found free; in the process
 * root, an exact address (`null` lets the kernel choose), an alignment and an upper limit.
 */
export interface Placement {
  addr: number | null;
  align: number;
  limit: number | null;
  /** A quarantined range of the same VMO window, which the mapping goes over. */
  recycled?: Quarantine;
}

/** Creates a sub-VMAR at an address already checked free (in a sub-VMAR) or in the process. */
export function createRegion(
  parent: VmarObject,
  size: number,
  placement: Placement,
  flags: number,
): VmarObject {
  let addr: number;
  ensureHeadroom();
  if (parent.isRoot) {
    addr = linux.reserveInProcess(placement.addr, size, placement.align, placement.limit);
  } else {
    addr = placement.addr!;
  }
  const region = new VmarObject({ base: addr, size, parent, flags, name: "useralloc" });
  try {
    parent.children.insert(region);
  } catch (error) {
    // A `RangeError` before the region went in (see `headroom.ts`): in the root, give the
    // reservation back (a sub-VMAR's region is the parent's reservation, unchanged).
    if (parent.children.find(addr) !== region) {
      if (parent.isRoot) linux.release(addr, size);
      throw error;
    }
  }
  return region;
}

/**
 * Maps a VMO window at a checked-free place, then merges it with equal neighbours. Returns the
 * record (which may start before the new pages, after a merge) and the new pages' address.
 */
export function createMapping(
  vmar: VmarObject,
  size: number,
  placement: Placement,
  init: { vmo: VmoObject; vmoOffset: number; perms: number; maxPerms: number; options: number },
): [MappingRecord, number] {
  const fileOffset = init.vmo.offset + init.vmoOffset;
  checkMappable(init.vmo, fileOffset);
  const fileBytes = init.vmo.kind === "slice"
    ? Math.min(size, Math.max(0, init.vmo.size - init.vmoOffset))
    : size;
  ensureHeadroom();
  let addr: number;
  if (placement.recycled !== undefined) {
    // Over the zero pages of a quarantined range of this very window (`quarantine.ts`).
    addr = placement.addr!;
    mapVmoFixed(init.vmo, addr, size, init.perms, fileOffset);
    forgetQuarantine(placement.recycled);
  } else if (vmar.isRoot) {
    // The kernel's choice, no alignment or limit, all pages from the file, and a mapping mmap
    // can make (see mapVmoFixed): one mmap call.
    addr = placement.addr === null && placement.limit === null && placement.align <= PAGE_SIZE &&
        fileBytes === size &&
        ((init.perms & PERM_WRITE) === 0 || !init.vmo.backing.futureWriteSealed)
      ? linux.mapFileAnywhere(size, init.perms, init.vmo.backing.fd, fileOffset)
      : -1;
    if (addr < 0) {
      addr = linux.reserveInProcess(placement.addr, size, placement.align, placement.limit);
      try {
        if (fileBytes > 0) mapVmoFixed(init.vmo, addr, fileBytes, init.perms, fileOffset);
      } catch (error) {
        linux.release(addr, size);
        throw error;
      }
    }
  } else {
    addr = placement.addr!;
    try {
      if (fileBytes > 0) mapVmoFixed(init.vmo, addr, fileBytes, init.perms, fileOffset);
    } catch (error) {
      // A failed MAP_FIXED may have removed the reservation first: put it back.
      bestEffort(() => linux.reserveFixed(addr, size));
      throw error;
    }
  }
  let record: MappingRecord;
  try {
    record = new MappingRecord({
      base: addr,
      size,
      vmo: init.vmo,
      vmoOffset: init.vmoOffset,
      perms: init.perms,
      maxPerms: init.maxPerms,
      options: init.options,
      parent: vmar,
    });
  } catch (error) {
    giveBack(vmar, addr, size);
    throw error;
  }
  return [insertMapping(vmar, record), addr];
}

/**
 * Gives back `[addr, addr + size)`, which the kernel mapped but the tree does not hold (a
 * `RangeError` stopped the record): the root's pages are unmapped, a sub-VMAR's become
 * reservation again. Only calls every unmap makes (compiled, see `headroom.ts`).
 */
function giveBack(vmar: VmarObject, addr: number, size: number): void {
  if (vmar.isRoot) linux.release(addr, size);
  else linux.reserveFixed(addr, size);
}

/**
 * Maps `size` bytes of a VMO's file at `fileOffset` over `[addr, addr + size)`. A writable
 * mapping of a memfd sealed with `F_SEAL_FUTURE_WRITE` by a read-only send (src/channel)
 * cannot come from `mmap`: it duplicates the backing's pre-seal mapping instead.
 */
function mapVmoFixed(
  vmo: VmoObject,
  addr: number,
  size: number,
  perms: number,
  fileOffset: number,
): void {
  const backing = vmo.backing;
  if ((perms & PERM_WRITE) === 0 || !backing.futureWriteSealed) {
    linux.mapFileFixed(addr, size, perms, backing.fd, fileOffset);
    return;
  }
  backing.duplicateWritable(addr, size, fileOffset);
  if (perms !== (PERM_READ | PERM_WRITE)) linux.protect(addr, size, perms);
}

/**
 * Maps over `[addr, addr + size)` of a VMAR, replacing the mappings there (their parts outside
 * the range stay). The caller checked that no sub-VMAR overlaps the range. In the process root,
 * holes in the range must be free memory, not memory someone else mapped (`ALREADY_EXISTS`).
 */
export function overwriteMapping(
  vmar: VmarObject,
  addr: number,
  size: number,
  init: { vmo: VmoObject; vmoOffset: number; perms: number; maxPerms: number; options: number },
): MappingRecord {
  checkMappable(init.vmo, init.vmo.offset + init.vmoOffset);
  ensureHeadroom();
  const end = addr + size;
  const covered = vmar.children.overlapping(addr, end) as MappingRecord[];
  const claimed: [number, number][] = [];
  if (vmar.isRoot) {
    // Claim every hole first, so a foreign mapping there fails the call with nothing changed.
    let cursor = addr;
    try {
      for (const next of [...covered.map((m) => [m.base, m.end]), [end, end]]) {
        if (next[0] > cursor) {
          linux.reserveInProcess(cursor, next[0] - cursor, 0, null);
          claimed.push([cursor, next[0]]);
        }
        cursor = Math.max(cursor, next[1]);
      }
    } catch (error) {
      for (const [start, stop] of claimed) linux.release(start, stop - start);
      throw error;
    }
  }
  for (const m of covered) m.revoke(addr, end);
  const fileBytes = init.vmo.kind === "slice"
    ? Math.min(size, Math.max(0, init.vmo.size - init.vmoOffset))
    : size;
  // What the old pages may have lost when a call fails: the file mapping's range when it was
  // replaced (the second call failed) or when the failing file mmap removed it first (the
  // kernel does, for a file it cannot map; out of mappings, it fails before removing
  // anything); a reservation fails only for lack of mappings, before it removes anything.
  if (fileBytes > 0 && fileBytes < size && linux.mappingsLeft() < TWO_CALL_MAPPINGS) {
    // Two calls: the kernel could do the first and refuse the second, and then have no room
    // to put the old pages back. Refuse before either.
    for (const [start, stop] of claimed) bestEffort(() => linux.release(start, stop - start));
    fail(Status.NO_MEMORY, "the process is out of mappings (vm.max_map_count)");
  }
  // What can throw of the cuts, before the calls (a middle cut makes its right-hand record).
  const plans = planCuts(covered, addr, end);
  let changedEnd = addr;
  let mappingFile = false;
  try {
    // One MAP_FIXED call replaces the old pages atomically; a slice's tail becomes reservation.
    if (fileBytes > 0) {
      mappingFile = true;
      mapVmoFixed(init.vmo, addr, fileBytes, init.perms, init.vmo.offset + init.vmoOffset);
      mappingFile = false;
      changedEnd = addr + fileBytes;
    }
    if (fileBytes < size) linux.reserveFixed(addr + fileBytes, size - fileBytes);
  } catch (error) {
    if (mappingFile && !(error instanceof ZxError && error.status === Status.NO_MEMORY)) {
      changedEnd = addr + fileBytes;
    }
    for (const plan of plans) abandonCut(plan);
    // All or nothing: put the old mappings back as the tree has them.
    if (changedEnd > addr) {
      restoreRange(
        vmar,
        addr,
        changedEnd,
        vmar.children.overlapping(addr, changedEnd) as MappingRecord[],
      );
    }
    for (const [start, stop] of claimed) bestEffort(() => linux.release(start, stop - start));
    throw error;
  }
  for (let i = 0; i < covered.length; i++) cutMapping(covered[i], addr, end, plans[i]);
  let record: MappingRecord;
  try {
    record = new MappingRecord({ ...init, base: addr, size, parent: vmar });
  } catch (error) {
    giveBack(vmar, addr, size);
    throw error;
  }
  return insertMapping(vmar, record);
}

const knownMappable = new WeakSet<Backing>();

/** The kernel mappings a slice window plus its reservation tail may add (splits included). */
const TWO_CALL_MAPPINGS = 6;

/**
 * `BAD_HANDLE` unless the VMO's fd is still its file, and `NOT_SUPPORTED` when the kernel
 * cannot map that file: checked before the address space changes. A memfd always maps; a file
 * is tried once (`linux.checkMappable`).
 */
function checkMappable(vmo: VmoObject, fileOffset: number): void {
  const backing = vmo.backing;
  backing.checkFd();
  if (!backing.isFile || knownMappable.has(backing)) return;
  linux.checkMappable(backing.fd, Math.floor(fileOffset / PAGE_SIZE) * PAGE_SIZE);
  knownMappable.add(backing);
}

/** Runs `undo`, a step of putting memory back after a failure, ignoring its own failure. */
export function bestEffort(undo: () => void): void {
  try {
    undo();
  } catch {
    // The original error is the one to report; the fallback below keeps the tree true.
  }
}

/**
 * After a failed change of `[start, end)` of a VMAR (only what the failed calls may have
 * changed: restoring more could need VMA splits the kernel has no room for), puts back what
 * the tree says is there:
 * each covered mapping's pages with their permissions (reservation past a slice's end), and
 * reservation over the holes of a sub-VMAR. If that fails too (the process is out of
 * mappings), the range becomes reservation (a sub-VMAR) or is given back (the root), and the
 * covered mappings leave the tree, so that it never lists memory that is not there.
 */
function restoreRange(
  vmar: VmarObject,
  start: number,
  end: number,
  covered: MappingRecord[],
): void {
  try {
    let cursor = start;
    for (const m of covered) {
      const from = Math.max(start, m.base);
      const to = Math.min(end, m.end);
      if (from > cursor && !vmar.isRoot) linux.reserveFixed(cursor, from - cursor);
      const fileEnd = m.fileEnd;
      for (const range of m.rangesIn(from, to)) {
        const mapEnd = Math.min(range.end, fileEnd);
        if (mapEnd > range.start) {
          mapVmoFixed(
            m.vmo,
            range.start,
            mapEnd - range.start,
            range.perms,
            m.fileOffsetAt(range.start),
          );
        }
        const tail = Math.max(range.start, fileEnd);
        if (range.end > tail) linux.reserveFixed(tail, range.end - tail);
      }
      cursor = to;
    }
    if (cursor < end && !vmar.isRoot) linux.reserveFixed(cursor, end - cursor);
  } catch {
    for (const m of covered) {
      const from = Math.max(start, m.base);
      const to = Math.min(end, m.end);
      bestEffort(() =>
        vmar.isRoot ? linux.release(from, to - from) : linux.reserveFixed(from, to - from)
      );
      cutMapping(m, start, end);
    }
    if (!vmar.isRoot) bestEffort(() => linux.reserveFixed(start, end - start));
  }
}

/**
 * Records a mapping the kernel just made, then merges it with equal neighbours. A `RangeError`
 * (the JavaScript stack's limit: a function compiled again after V8 flushed it needs far more
 * stack than the headroom probe reserves, see `headroom.ts`) before the record is in the tree
 * gives the pages back and throws; after, the mapping stands and only the merge is skipped.
 */
function insertMapping(vmar: VmarObject, record: MappingRecord): MappingRecord {
  try {
    vmar.children.insert(record);
  } catch (error) {
    // The span list marks its gaps stale when the record went in before the error.
    if (vmar.children.find(record.base) !== record) {
      record.alive = false;
      giveBack(vmar, record.base, record.size);
      throw error;
    }
  }
  try {
    track(record);
  } catch (error) {
    record.alive = false;
    vmar.children.remove(record);
    giveBack(vmar, record.base, record.size);
    throw error;
  }
  try {
    return mergeNeighbours(vmar, record);
  } catch {
    // Complete without the merge: two records Zircon would have made one, both true.
    return vmar.children.find(record.base) as MappingRecord;
  }
}

function mergeNeighbours(vmar: VmarObject, record: MappingRecord): MappingRecord {
  const left = vmar.children.find(record.base - 1);
  let merged = record;
  if (left instanceof MappingRecord && canMerge(left, record)) merged = mergeInto(left, record);
  const right = vmar.children.find(merged.end);
  if (right instanceof MappingRecord && canMerge(merged, right)) merged = mergeInto(merged, right);
  return merged;
}

function canMerge(left: MappingRecord, right: MappingRecord): boolean {
  return left.vmo === right.vmo && left.end === right.base &&
    left.vmoOffset + left.size === right.vmoOffset && left.maxPerms === right.maxPerms &&
    left.options === right.options && left.alive && right.alive;
}

/** Zircon merges a new mapping with a neighbour of the same VMO window: one record, one count. */
function mergeInto(left: MappingRecord, right: MappingRecord): MappingRecord {
  const vmar = left.parent;
  // What can fail first, while the two records are still whole (a watch of `right` on `left`
  // meanwhile only fires early); then the tree's change, through calls every map makes.
  const ranges = coalesce([...left.ranges, ...right.ranges]);
  for (const watch of right.watches) watchesOf(left).add(watch);
  vmar.children.remove(right);
  vmar.children.remove(left);
  left.size += right.size;
  left.ranges = ranges;
  vmar.children.insert(left);
  untrack(right);
  return left;
}

/**
 * What cutting `[start, end)` out of part of a mapping leaves, made before the system call (all
 * that can throw: a `RangeError` here changes nothing): the permission ranges of the part that
 * stays in the record and, for a hole in its middle, the right-hand record, already tracked and
 * holding the watches beyond the hole (also still in the mapping's set until the cut).
 */
export interface CutPlan {
  ranges: PermRange[];
  right: MappingRecord | null;
}

/**
 * The plan of cutting `[start, end)` out of `m`, or `null` when the whole record goes. Call it
 * before the system call, and {@linkcode abandonCut} if that call fails.
 */
export function planCut(m: MappingRecord, start: number, end: number): CutPlan | null {
  if (start <= m.base && end >= m.end) return null;
  if (start <= m.base) return { ranges: m.rangesIn(end, m.end), right: null };
  const ranges = m.rangesIn(m.base, start);
  if (end >= m.end) return { ranges, right: null };
  const right = new MappingRecord({
    base: end,
    size: m.end - end,
    vmo: m.vmo,
    vmoOffset: m.vmoOffset + (end - m.base),
    perms: 0,
    maxPerms: m.maxPerms,
    options: m.options,
    parent: m.parent,
    ranges: m.rangesIn(end, m.end),
  });
  for (const watch of m.watches) if (watch.start >= end) watchesOf(right).add(watch);
  // Last: the one step an abandoned plan must undo.
  track(right);
  return { ranges, right };
}

/**
 * {@linkcode planCut} of `[start, end)` for each of `records`, in order; if one throws, the
 * plans made are abandoned.
 */
export function planCuts(
  records: MappingRecord[],
  start: number,
  end: number,
): (CutPlan | null)[] {
  const plans: (CutPlan | null)[] = [];
  try {
    for (const m of records) plans.push(planCut(m, start, end));
  } catch (error) {
    for (const plan of plans) abandonCut(plan);
    throw error;
  }
  return plans;
}

/** Undoes a {@linkcode planCut} whose system call failed. */
export function abandonCut(plan: CutPlan | null): void {
  if (plan !== null && plan.right !== null) untrack(plan.right);
}

/**
 * Removes `[start, end)` from a mapping's record, after the memory was changed: the whole
 * record, its left or right part, or a hole in its middle (the right piece becomes a new
 * record). `plan` comes from {@linkcode planCut} before the system call.
 *
 * A `RangeError` (the stack's limit: a function compiled near it, see `headroom.ts`) must not
 * part the tree from the kernel. A left or right cut changes the record in place with stores
 * only (its place in the span list cannot change), then the list's gaps catch up. A middle
 * cut inserts the right-hand record last; if that fails before the record went in, its pages
 * leave the user as an unmap would take them ({@linkcode dropUnrecorded}) and the error is
 * thrown: more was unmapped than asked, but the tree holds nothing the kernel does not.
 */
export function cutMapping(
  m: MappingRecord,
  start: number,
  end: number,
  plan: CutPlan | null = planCut(m, start, end),
): void {
  const list = m.parent.children;
  if (plan === null) {
    list.remove(m);
    m.revoke(m.base, m.end);
    untrack(m);
    return;
  }
  m.ranges = plan.ranges;
  if (start > m.base) {
    m.size = start - m.base;
  } else {
    const oldEnd = m.base + m.size;
    m.vmoOffset += end - m.base;
    m.size = oldEnd - end;
    m.base = end;
  }
  try {
    list.shrunk(m);
  } catch {
    list.gapsStale = true;
  }
  const right = plan.right;
  if (right === null) return;
  try {
    list.insert(right);
  } catch (error) {
    // The span list marks its gaps stale when the record went in before the error.
    if (list.find(right.base) !== right) {
      dropUnrecorded(right);
      throw error;
    }
  }
  try {
    for (const watch of right.watches) m.watches.delete(watch);
  } catch {
    // A watch left in both sets only fires early: the memory it guards is right's.
  }
}

/**
 * The backstop of a middle cut whose right-hand record never made it into the tree: its pages
 * leave the user as an unmap takes them (views detached, and under views that may still be
 * used, quarantined zero pages), so no mapping stays that the tree does not hold.
 */
function dropUnrecorded(right: MappingRecord): void {
  const vmar = right.parent;
  const live = right.watches.size === 0 ? null : liveViews(right, right.base, right.end);
  right.revoke(right.base, right.end);
  if (live === null) {
    giveBack(vmar, right.base, right.size);
  } else {
    const from = Math.floor(live.start / PAGE_SIZE) * PAGE_SIZE;
    const to = Math.ceil(live.end / PAGE_SIZE) * PAGE_SIZE;
    const window = right.vmo.kind === "slice"
      ? null
      : { backing: right.vmo.backing, key: windowKey(right.fileOffsetAt(from), to - from) };
    quarantineRange(vmar, from, to, live, window);
    if (from > right.base) giveBack(vmar, right.base, from - right.base);
    if (to < right.end) giveBack(vmar, to, right.end - to);
  }
  untrack(right);
}

// ---- Walking ----

/** A step of a walk over `[start, end)`: a hole, or a piece of a mapping. */
export type WalkStep =
  | { kind: "gap"; start: number; end: number }
  | { kind: "mapping"; record: MappingRecord; start: number; end: number; direct: boolean };

/** What a walk calls for each step, in address order. */
export interface WalkVisitor {
  /** `[start, end)` holds nothing. */
  gap(start: number, end: number): void;
  /** `[start, end)` is a piece of `record`; `direct` when the record is a child of the VMAR walked. */
  mapping(record: MappingRecord, start: number, end: number, direct: boolean): void;
}

/**
 * Calls `visitor` for every mapping piece and every hole of `[start, end)`, descending into
 * sub-VMARs, in address order.
 */
export function visitRange(
  vmar: VmarObject,
  start: number,
  end: number,
  visitor: WalkVisitor,
  direct = true,
): void {
  let cursor = start;
  for (const child of vmar.children.overlapping(start, end)) {
    if (child.base > cursor) visitor.gap(cursor, child.base);
    const from = Math.max(cursor, child.base);
    const to = Math.min(end, child.base + child.size);
    if (child instanceof MappingRecord) visitor.mapping(child, from, to, direct);
    else visitRange(child, from, to, visitor, false);
    cursor = to;
  }
  if (cursor < end) visitor.gap(cursor, end);
}

/** Every mapping piece and every hole of `[start, end)`, descending into sub-VMARs, in order. */
export function walk(vmar: VmarObject, start: number, end: number): WalkStep[] {
  const steps: WalkStep[] = [];
  visitRange(vmar, start, end, {
    gap(start, end) {
      steps.push({ kind: "gap", start, end });
    },
    mapping(record, start, end, direct) {
      steps.push({ kind: "mapping", record, start, end, direct });
    },
  });
  return steps;
}

/** The mapping that holds `addr`, searching this VMAR and its sub-VMARs. */
export function mappingAt(vmar: VmarObject, addr: number): MappingRecord | undefined {
  let node: RegionChild | undefined = vmar.children.find(addr);
  while (node instanceof VmarObject) node = node.children.find(addr);
  return node;
}
