/**
 * Cutting `[start, end)` out of part of a mapping record (`region.ts`): planned before the
 * system call, so that what can throw (a `RangeError` near the stack limit) changes nothing, and
 * made after it with plain assignments, in place in the span list.
 *
 * @module
 */

import { PAGE_SIZE } from "../args.ts";
import type { PermRange } from "./perm_ranges.ts";
import { quarantineRange, windowKey } from "./quarantine.ts";
import { giveBack, MappingRecord, track, untrack } from "./region.ts";
import { liveViews, watchesOf } from "./watch.ts";

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
