/**
 * Taking memory from the region tree: unmap, destroy, and protect (which takes permissions).
 * Views are detached first; memory whose view buffers are still alive becomes quarantined
 * zero pages, and a protect under them reaches the kernel once they are collected
 * (`quarantine.ts`). Each system call is recorded in the tree before anything else can run.
 *
 * @module
 */

import { PAGE_SIZE } from "../args.ts";
import { ensureHeadroom } from "./headroom.ts";
import * as linux from "./linux.ts";
import { deferProtect, moveQuarantines, quarantineRange, windowKey } from "./quarantine.ts";
import {
  MappingRecord,
  PERM_READ,
  PERM_WRITE,
  type RegionChild,
  untrack,
  VmarObject,
  walk,
} from "./region.ts";
import { bestEffort } from "./place.ts";
import { abandonCut, cutMapping, type CutPlan, planCut, planCuts } from "./cut.ts";
import { type LiveViews, liveViews } from "./watch.ts";

function detachAll(region: VmarObject): void {
  for (const child of region.children) {
    if (child instanceof MappingRecord) child.revoke(child.base, child.end);
    else detachAll(child);
  }
}

function killTree(region: VmarObject): void {
  for (const child of region.children) {
    if (child instanceof MappingRecord) untrack(child);
    else killTree(child);
  }
  region.children.clear();
  region.alive = false;
}

/** A piece of memory that views may still use, to be quarantined rather than taken away. */
interface LivePiece {
  start: number;
  end: number;
  live: LiveViews;
  record: MappingRecord;
}

/** Adds the page-rounded hull of `[start, end)` of a mapping under live views to `out`. */
function collectLive(m: MappingRecord, start: number, end: number, out: LivePiece[]): void {
  if (m.watches.size === 0) return;
  const live = liveViews(m, Math.max(start, m.base), Math.min(end, m.end));
  if (live === null) return;
  out.push({
    start: Math.floor(live.start / PAGE_SIZE) * PAGE_SIZE,
    end: Math.ceil(live.end / PAGE_SIZE) * PAGE_SIZE,
    live,
    record: m,
  });
}

/** `collectLive` over a whole region, and whether it (or a sub-region) holds quarantines. */
function collectLiveTree(region: VmarObject, out: LivePiece[]): boolean {
  let quarantined = region.quarantined.count > 0;
  for (const child of region.children) {
    if (child instanceof MappingRecord) collectLive(child, child.base, child.end, out);
    else if (collectLiveTree(child, out)) quarantined = true;
  }
  return quarantined;
}

/** Moves every quarantine of `region` and its sub-regions to `to`. */
function moveAllQuarantines(region: VmarObject, to: VmarObject): void {
  for (const child of region.children) {
    if (!(child instanceof MappingRecord)) moveAllQuarantines(child, to);
  }
  moveQuarantines(region, to);
}

/** Zero pages over each live piece, recorded in `holder` (see `quarantine.ts`). */
function quarantinePieces(holder: VmarObject, pieces: LivePiece[]): void {
  for (const p of pieces) {
    const m = p.record;
    const window = m.vmo.kind === "slice" ? null : {
      backing: m.vmo.backing,
      key: windowKey(m.fileOffsetAt(p.start), p.end - p.start),
    };
    ensureHeadroom();
    quarantineRange(holder, p.start, p.end, p.live, window);
  }
}

/** `[start, end)` minus the quarantined ranges of `holder` in it, as ranges. */
function outsideQuarantine(holder: VmarObject, start: number, end: number): [number, number][] {
  const out: [number, number][] = [];
  let cursor = start;
  for (const q of holder.quarantined.overlapping(start, end)) {
    if (q.base > cursor) out.push([cursor, q.base]);
    cursor = Math.max(cursor, q.base + q.size);
  }
  if (cursor < end) out.push([cursor, end]);
  return out;
}

/** Destroys a sub-VMAR and everything in it; its range goes back to the parent. */
export function destroyRegion(region: VmarObject): void {
  const parent = region.parent!;
  const live: LivePiece[] = [];
  const quarantined = collectLiveTree(region, live);
  detachAll(region);
  if (live.length === 0 && !quarantined) {
    ensureHeadroom();
    if (parent.isRoot) linux.release(region.base, region.size);
    else linux.reserveFixed(region.base, region.size);
    killTree(region);
    parent.children.remove(region);
    return;
  }
  // Memory views may still use stays as zero pages, quarantined in the parent.
  moveAllQuarantines(region, parent);
  quarantinePieces(parent, live);
  for (const [from, to] of outsideQuarantine(parent, region.base, region.end)) {
    ensureHeadroom();
    if (parent.isRoot) linux.release(from, to - from);
    else linux.reserveFixed(from, to - from);
  }
  killTree(region);
  parent.children.remove(region);
}

/**
 * Unmaps `[start, end)` of a VMAR, whose checks passed: sub-VMARs in it are wholly inside and
 * are destroyed; mappings are removed, trimmed or split. In a sub-VMAR the range becomes
 * reservation again (one call); in the process root only what vmo mapped is given back.
 * Memory that views may still use becomes quarantined zero pages instead (`quarantine.ts`).
 */
export function unmapRange(
  vmar: VmarObject,
  start: number,
  end: number,
  items: RegionChild[] = vmar.children.overlapping(start, end),
): void {
  if (items.length === 0) return;
  const live: LivePiece[] = [];
  let quarantined = false;
  for (const item of items) {
    if (item instanceof MappingRecord) collectLive(item, start, end, live);
    else if (collectLiveTree(item, live)) quarantined = true;
  }
  for (const item of items) {
    if (item instanceof MappingRecord) item.revoke(start, end);
    else detachAll(item);
  }
  if (live.length > 0 || quarantined) {
    for (const item of items) if (item instanceof VmarObject) moveAllQuarantines(item, vmar);
    quarantinePieces(vmar, live);
  }
  if (vmar.isRoot) {
    // One munmap per item, each recorded before the next: a failure (out of mappings, when a
    // cut splits a VMA) leaves the tree true for what was done.
    for (const item of items) {
      const from = Math.max(start, item.base);
      const to = Math.min(end, item.base + item.size);
      // What can throw of the cut, before the call (see `cutMapping`).
      const plan = item instanceof MappingRecord ? planCut(item, start, end) : null;
      try {
        if (live.length > 0 || quarantined) {
          for (const [a, b] of outsideQuarantine(vmar, from, to)) {
            ensureHeadroom();
            linux.release(a, b - a);
          }
        } else {
          ensureHeadroom();
          linux.release(from, to - from);
        }
      } catch (error) {
        abandonCut(plan);
        throw error;
      }
      forget(vmar, item, start, end, plan);
    }
  } else {
    const mappings = items.filter((item) => item instanceof MappingRecord);
    const plans = planCuts(mappings, start, end);
    try {
      if (vmar.quarantined.count === 0) {
        ensureHeadroom();
        linux.reserveFixed(start, end - start);
      } else {
        for (const [a, b] of outsideQuarantine(vmar, start, end)) {
          ensureHeadroom();
          linux.reserveFixed(a, b - a);
        }
      }
    } catch (error) {
      for (const plan of plans) abandonCut(plan);
      throw error;
    }
    let next = 0;
    for (const item of items) {
      forget(vmar, item, start, end, item instanceof MappingRecord ? plans[next++] : null);
    }
  }
}

/**
 * {@linkcode unmapRange} of `[start, end)` inside the one mapping `m`, the common case: without
 * live views over it or quarantined ranges in the VMAR it is one call and one cut, with no
 * lists; anything else takes the general path.
 */
export function unmapInOne(vmar: VmarObject, m: MappingRecord, start: number, end: number): void {
  if (vmar.quarantined.count !== 0 || (m.watches.size !== 0 && liveViews(m, start, end) !== null)) {
    unmapRange(vmar, start, end, [m]);
    return;
  }
  m.revoke(start, end);
  // What can throw of a partial cut comes before the call (see `cutMapping`).
  const plan = start <= m.base && end >= m.end ? null : planCut(m, start, end);
  try {
    ensureHeadroom();
    if (vmar.isRoot) linux.release(start, end - start);
    else linux.reserveFixed(start, end - start);
  } catch (error) {
    abandonCut(plan);
    throw error;
  }
  cutMapping(m, start, end, plan);
}

/** Removes `[start, end)` of a child from the tree, after its memory went. */
function forget(
  vmar: VmarObject,
  item: RegionChild,
  start: number,
  end: number,
  plan: CutPlan | null,
): void {
  if (item instanceof MappingRecord) {
    cutMapping(item, start, end, plan);
  } else {
    killTree(item);
    vmar.children.remove(item);
  }
}

/** Sets `perms` on the pieces of a walk that passed the checks, revoking views first. */
export function protectPieces(
  pieces: { record: MappingRecord; start: number; end: number }[],
  perms: number,
): void {
  for (const { record, start, end } of pieces) {
    // Taking READ or WRITE from memory under live views: the kernel keeps the old protection
    // until their buffers are collected (`quarantine.ts`); the tree changes now.
    const live = (perms & PERM_READ_WRITE) !== PERM_READ_WRITE && record.watches.size > 0
      ? liveViews(record, start, end)
      : null;
    record.revoke(start, end, perms);
    const fileEnd = Math.min(end, record.fileEnd);
    if (live !== null) {
      const vmar = record.parent;
      deferProtect(live.buffers, () => syncProtection(vmar, start, end));
      record.setPerms(start, end, perms);
    } else {
      // Recorded first (one assignment at the end of setPerms), undone if the call fails: no
      // function runs after a successful mprotect, so a RangeError cannot part them.
      const before = record.ranges;
      record.setPerms(start, end, perms);
      try {
        if (fileEnd > start) linux.protect(start, fileEnd - start, perms);
      } catch (error) {
        record.ranges = before;
        throw error;
      }
    }
  }
}

const PERM_READ_WRITE = PERM_READ | PERM_WRITE;

/**
 * Gives the kernel the tree's protection of the mappings in `[start, end)` of a VMAR, after a
 * deferred protect: pieces under views still alive wait for their own turn.
 */
function syncProtection(vmar: VmarObject, start: number, end: number): void {
  if (!vmar.alive) return;
  for (const step of walk(vmar, start, end)) {
    if (step.kind !== "mapping" || liveViews(step.record, step.start, step.end) !== null) {
      continue;
    }
    const fileEnd = step.record.fileEnd;
    for (const range of step.record.rangesIn(step.start, step.end)) {
      const to = Math.min(range.end, fileEnd);
      if (to > range.start) {
        bestEffort(() => linux.protect(range.start, to - range.start, range.perms));
      }
    }
  }
}
