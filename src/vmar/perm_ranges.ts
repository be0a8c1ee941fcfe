/**
 * The permission ranges of a mapping: sorted, coalesced, covering the mapping exactly, and
 * never changed in place (a new array each time, so a caller may keep the old one to undo).
 * The general way to set the permissions of a range rebuilds, sorts and coalesces; a protect
 * inside one range (the common one) splits it in one pass, with the same result (a property
 * test in tests/vmar/fast_paths.test.ts checks it).
 *
 * @module
 */

/** The permissions of `[start, end)` of a mapping. */
export interface PermRange {
  start: number;
  end: number;
  perms: number;
}

/** The index of the range of `ranges` (sorted, covering) that holds `addr`. */
export function rangeIndexAt(ranges: PermRange[], addr: number): number {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ranges[mid].start <= addr) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * `ranges` (sorted, coalesced, covering) with `[start, end)` set to `perms`: the general way,
 * rebuilding, sorting and coalescing.
 */
export function withPerms(
  ranges: PermRange[],
  start: number,
  end: number,
  perms: number,
): PermRange[] {
  const next: PermRange[] = [{ start, end, perms }];
  for (const range of ranges) {
    if (range.end <= start || range.start >= end) {
      next.push(range);
      continue;
    }
    if (range.start < start) next.push({ start: range.start, end: start, perms: range.perms });
    if (range.end > end) next.push({ start: end, end: range.end, perms: range.perms });
  }
  return coalesce(next.sort((a, b) => a.start - b.start));
}

/**
 * As {@linkcode withPerms} when `[start, end)` lies inside `ranges[i]`: the range is split in
 * up to three, and the new piece merged with a neighbour of the same permissions, in one pass.
 * The result equals {@linkcode withPerms}' (a property test checks it).
 */
export function withPermsInOne(
  ranges: PermRange[],
  i: number,
  start: number,
  end: number,
  perms: number,
): PermRange[] {
  const r = ranges[i];
  if (r.perms === perms) return ranges;
  const out: PermRange[] = [];
  for (let k = 0; k < i - 1; k++) out.push(ranges[k]);
  let pieceStart = start;
  if (i > 0) {
    const left = ranges[i - 1];
    if (start === r.start && left.perms === perms) pieceStart = left.start;
    else out.push(left);
  }
  if (start > r.start) out.push({ start: r.start, end: start, perms: r.perms });
  let pieceEnd = end;
  let next = i + 1;
  const right = ranges[next];
  if (end === r.end && right !== undefined && right.perms === perms) {
    pieceEnd = right.end;
    next++;
  }
  out.push({ start: pieceStart, end: pieceEnd, perms });
  if (end < r.end) out.push({ start: end, end: r.end, perms: r.perms });
  for (let k = next; k < ranges.length; k++) out.push(ranges[k]);
  return out;
}

/** Merges neighbours of equal permissions; drops empty ranges. Copies every range. */
export function coalesce(ranges: PermRange[]): PermRange[] {
  const out: PermRange[] = [];
  for (const range of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && last.end === range.start && last.perms === range.perms) {
      out[out.length - 1] = { start: last.start, end: range.end, perms: last.perms };
    } else if (range.end > range.start) {
      out.push({ ...range });
    }
  }
  return out;
}
