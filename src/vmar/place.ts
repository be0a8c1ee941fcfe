/**
 * Adding to the region tree (`region.ts`): new sub-VMARs and mappings, a mapping over others
 * (`overwriteMapping`), merging with like neighbours, and the undo of a call that failed
 * halfway (`restoreRange`). The tree changes only after the system call succeeded.
 *
 * @module
 */

import { PAGE_SIZE } from "../args.ts";
import { fail, Status, ZxError } from "../status.ts";
import type { Backing } from "../vmo/backing.ts";
import type { VmoObject } from "../vmo/object.ts";
import { ensureHeadroom } from "./headroom.ts";
import * as linux from "./linux.ts";
import { coalesce } from "./perm_ranges.ts";
import { forgetQuarantine, type Quarantine } from "./quarantine.ts";
import {
  giveBack,
  MappingRecord,
  PERM_READ,
  PERM_WRITE,
  track,
  untrack,
  VmarObject,
} from "./region.ts";
import { abandonCut, cutMapping, planCuts } from "./cut.ts";
import { watchesOf } from "./watch.ts";

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
