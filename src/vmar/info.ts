/**
 * What a VMAR reports of itself: `ZX_INFO_VMAR` and `ZX_INFO_VMAR_MAPS` records (with the
 * committed bytes behind each mapping, from the VMO file's data extents).
 *
 * @module
 */

import { dataBytesIn, forEachDataExtent } from "../../ffi/file.ts";
import type { Backing } from "../vmo/backing.ts";
import { MapInfoType } from "./constants.ts";
import { type MappingRecord, VmarObject } from "./region.ts";

/** What {@linkcode Vmar.info} returns (`ZX_INFO_VMAR`). */
export interface VmarInfo {
  /** The absolute address of the region's first byte. */
  base: number;
  /** Its size in bytes. */
  len: number;
}

/** The mapping part of a {@linkcode MapInfo} record. */
export interface MappingInfo {
  /** The `PERM_*` bits of this protection range. */
  mmuFlags: number;
  /** The koid of the mapped VMO. */
  vmoKoid: number;
  /** The VMO offset of the record's first byte. */
  vmoOffset: number;
  /** Committed bytes of the VMO range behind the record (0 for slices and references). */
  committedBytes: number;
  /** Equal to `committedBytes` on Linux. */
  populatedBytes: number;
}

/** One record of {@linkcode Vmar.infoMaps} (`zx_info_maps_t`). */
export interface MapInfo {
  /** A VMAR's name (`"root"`, `"useralloc"`) or the mapped VMO's current name. */
  name: string;
  /** The absolute address of the first byte. */
  base: number;
  /** The size in bytes. */
  size: number;
  /** The distance from the VMAR asked (0 for itself). */
  depth: number;
  /** A {@linkcode MapInfoType}. */
  type: number;
  /** For a mapping record: what is mapped, with which permissions. */
  mapping?: MappingInfo;
}

/** Appends the records of `vmar` (at `depth`) and of everything in it to `out`, depth first. */
export function collectMaps(vmar: VmarObject, depth: number, out: MapInfo[]): void {
  out.push({ name: vmar.name, base: vmar.base, size: vmar.size, depth, type: MapInfoType.VMAR });
  vmar.children.forEach((child) => {
    if (child instanceof VmarObject) {
      collectMaps(child, depth + 1, out);
      return;
    }
    const ranges = child.ranges;
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i];
      const committed = committedIn(child, range.start, range.end);
      out.push({
        name: child.vmo.name,
        base: range.start,
        size: range.end - range.start,
        depth: depth + 1,
        type: MapInfoType.MAPPING,
        mapping: {
          mmuFlags: range.perms,
          vmoKoid: child.vmo.koid,
          vmoOffset: child.vmoOffset + (range.start - child.base),
          committedBytes: committed,
          populatedBytes: committed,
        },
      });
    }
  });
}

/**
 * Per backing: whether its last range walked was all data (unknown counts as yes: mapped memory
 * is mostly used memory). Only a hint for which `lseek` to make first (the count is exact
 * either way): a VMO whose pages are committed usually stays so.
 */
const lastAllData = new WeakMap<Backing, boolean>();

/** Committed bytes of the VMO pages behind `[start, end)` of a mapping (Zircon: 0 for slices). */
function committedIn(record: MappingRecord, start: number, end: number): number {
  if (record.vmo.sharesParentPages) return 0;
  const stop = Math.min(end, record.validEnd);
  if (stop <= start) return 0;
  // Only lengths are wanted: the file offsets need no turning into addresses.
  const fileStart = record.fileOffsetAt(start);
  const length = stop - start;
  const backing = record.vmo.backing;
  const hint = lastAllData.get(backing) !== false;
  const total = dataBytesIn(backing.fd, fileStart, fileStart + length, hint);
  // A failing lseek ends the count: what it found so far is all it can tell.
  if (total < 0) return 0;
  if ((total === length) !== hint) lastAllData.set(backing, !hint);
  return total;
}

/** Calls `visit` with the address ranges of `[start, end)` whose VMO pages hold data. */
export function forEachDataRange(
  record: MappingRecord,
  start: number,
  end: number,
  visit: (from: number, to: number) => void,
): void {
  const fileStart = record.fileOffsetAt(start);
  // A failing lseek ends the walk: what it found so far is all it can tell.
  forEachDataExtent(record.vmo.backing.fd, fileStart, fileStart + (end - start), (from, to) => {
    visit(start + (from - fileStart), start + (to - fileStart));
  });
}
