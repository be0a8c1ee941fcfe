/**
 * What a VMAR reports of itself: `ZX_INFO_VMAR` and `ZX_INFO_VMAR_MAPS` records (with the
 * committed bytes behind each mapping, from the VMO file's data extents).
 *
 * @module
 */

import { SEEK_HOLE } from "../../ffi/constants.ts";
import { dataBytesIn, forEachDataExtent } from "../../ffi/file.ts";
import { libc } from "../../ffi/libc.ts";
import { BigIntMemo } from "../../ffi/bigint.ts";
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
  try {
    collect(vmar, depth, out);
  } finally {
    // What this call counted holds for this call only.
    counted = null;
  }
}

function collect(vmar: VmarObject, depth: number, out: MapInfo[]): void {
  out.push({ name: vmar.name, base: vmar.base, size: vmar.size, depth, type: MapInfoType.VMAR });
  const childDepth = depth + 1;
  vmar.children.forEach((child) => {
    if (child instanceof VmarObject) {
      collect(child, childDepth, out);
      return;
    }
    const vmo = child.vmo;
    const name = vmo.name;
    const koid = vmo.koid;
    // Zircon counts nothing for slices and references: their pages are their parent's.
    const validEnd = vmo.sharesParentPages ? 0 : child.validEnd;
    // The VMO offset and the file offset of an address of this mapping, less the address.
    const toVmo = child.vmoOffset - child.base;
    const toFile = vmo.offset + toVmo;
    const ranges = child.ranges;
    // Several protection ranges: the data of the whole mapping found in one walk.
    const extents = ranges.length > 1 && validEnd > child.base
      ? extentsOf(vmo.backing, child.base + toFile, Math.min(child.end, validEnd) + toFile)
      : null;
    let e = 0;
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i];
      const start = range.start;
      const stop = range.end < validEnd ? range.end : validEnd;
      let committed = 0;
      if (stop <= start) {
        // Past the end of the VMO, or a slice: nothing.
      } else if (extents === null) {
        committed = vmo.mappingCount > 1
          ? countedOnce(vmo.backing, start + toFile, stop + toFile)
          : committedIn(vmo.backing, start + toFile, stop + toFile);
      } else {
        // The extents are in order and so are the ranges: each extent is passed once.
        const from = start + toFile;
        const to = stop + toFile;
        while (e < extents.length && extents[e + 1] <= from) e += 2;
        for (let k = e; k < extents.length && extents[k] < to; k += 2) {
          committed += Math.min(extents[k + 1], to) - Math.max(extents[k], from);
        }
      }
      out.push({
        name,
        base: start,
        size: range.end - start,
        depth: childDepth,
        type: MapInfoType.MAPPING,
        mapping: {
          mmuFlags: range.perms,
          vmoKoid: koid,
          vmoOffset: start + toVmo,
          committedBytes: committed,
          populatedBytes: committed,
        },
      });
    }
  });
}

/**
 * Per backing: whether its last range counted was all data (unknown counts as yes: mapped
 * memory is mostly used memory). Only a hint for which `lseek` to make first (the count is
 * exact either way): a VMO whose pages are committed usually stays so. Set only when it
 * changes, so that in the common case the map stays empty and a look-up costs next to nothing.
 */
const lastAllData = new WeakMap<Backing, boolean>();
const START = new BigIntMemo();

/** Committed bytes of `[fileStart, fileEnd)` of `backing`'s file (a non-empty range). */
function committedIn(backing: Backing, fileStart: number, fileEnd: number): number {
  const hint = lastAllData.get(backing) !== false;
  let total: number;
  if (hint) {
    // Where the data at the start ends: for a range that is all data, the one lseek it needs,
    // made without a bigint conversion when the start repeats (as 0 does).
    const hole = Number(libc.lseek(backing.fd, START.of(fileStart), SEEK_HOLE));
    if (hole <= fileStart) {
      total = dataBytesIn(backing.fd, fileStart, fileEnd, false);
    } else if (hole >= fileEnd) {
      total = fileEnd - fileStart;
    } else {
      const rest = dataBytesIn(backing.fd, hole, fileEnd, false);
      total = rest < 0 ? -1 : hole - fileStart + rest;
    }
  } else {
    total = dataBytesIn(backing.fd, fileStart, fileEnd, false);
  }
  // A failing lseek ends the count: what it found so far is all it can tell.
  if (total < 0) return 0;
  if ((total === fileEnd - fileStart) !== hint) lastAllData.set(backing, !hint);
  return total;
}

/**
 * The counts made in the current `collectMaps` call for VMOs mapped more than once, by
 * backing: file start, file end and count, three numbers a range. Another mapping of the same
 * range of the VMO reuses the count: the file cannot change between two records of one call
 * from this thread, and a change by another process during the call could as well have been
 * made a moment before or after it.
 */
let counted: Map<Backing, number[]> | null = null;

/** {@linkcode committedIn}, once per call for each range of a VMO mapped several times. */
function countedOnce(backing: Backing, fileStart: number, fileEnd: number): number {
  if (counted === null) counted = new Map();
  let known = counted.get(backing);
  if (known === undefined) counted.set(backing, known = []);
  for (let i = 0; i < known.length; i += 3) {
    if (known[i] === fileStart && known[i + 1] === fileEnd) return known[i + 2];
  }
  const total = committedIn(backing, fileStart, fileEnd);
  known.push(fileStart, fileEnd, total);
  return total;
}

/**
 * The data extents of `[fileStart, fileEnd)` of `backing`'s file, as start and end pairs in
 * order (what {@linkcode forEachDataExtent} visits), asking first where the data at
 * `fileStart` ends when the backing's last count was all data (one `lseek` for a range that
 * is). A failing `lseek` ends the walk: what it found so far is all it can tell.
 */
function extentsOf(backing: Backing, fileStart: number, fileEnd: number): number[] {
  const extents: number[] = [];
  let pos = fileStart;
  if (lastAllData.get(backing) !== false) {
    const hole = Number(libc.lseek(backing.fd, BigInt(pos), SEEK_HOLE));
    if (hole < 0) return extents;
    if (hole > pos) {
      extents.push(pos, Math.min(hole, fileEnd));
      pos = hole;
    }
  }
  if (pos < fileEnd) {
    forEachDataExtent(backing.fd, pos, fileEnd, (from, to) => extents.push(from, to));
  }
  const allData = extents.length === 2 && extents[0] === fileStart && extents[1] === fileEnd;
  if (allData !== (lastAllData.get(backing) !== false)) lastAllData.set(backing, allData);
  return extents;
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
