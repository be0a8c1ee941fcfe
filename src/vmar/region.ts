/**
 * The region tree: VMARs, the mappings in them (with their permission ranges) and walks over
 * it; `place.ts` adds to it (place, map, overwrite, merge), `cut.ts` cuts part of a mapping
 * out, `teardown.ts` takes memory away (unmap, destroy, protect).
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

import { KernelObject, ObjType } from "../handle.ts";
import { fail, Status } from "../status.ts";
import type { Backing } from "../vmo/backing.ts";
import type { VmoObject } from "../vmo/object.ts";
import * as linux from "./linux.ts";
import { type Span, SpanList } from "./span_list.ts";
import { type PermRange, rangeIndexAt, withPerms, withPermsInOne } from "./perm_ranges.ts";
import { QuarantineList } from "./quarantine.ts";
import { NO_WATCHES, revokeWatches, type Watch, type Watched } from "./watch.ts";

export type { PermRange };

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

export function track(record: MappingRecord): void {
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

/**
 * Gives back `[addr, addr + size)`, which the kernel mapped but the tree does not hold (a
 * `RangeError` stopped the record): the root's pages are unmapped, a sub-VMAR's become
 * reservation again. Only calls every unmap makes (compiled, see `headroom.ts`).
 */
export function giveBack(vmar: VmarObject, addr: number, size: number): void {
  if (vmar.isRoot) linux.release(addr, size);
  else linux.reserveFixed(addr, size);
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
