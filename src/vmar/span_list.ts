/**
 * The children of a VMAR: non-overlapping address spans kept sorted by base.
 *
 * Spans live in blocks of at most `MAX_BLOCK` entries. Finding the span at an address is two
 * binary searches (over blocks, then inside one); inserting or removing moves at most one
 * block's entries; a free-gap search skips every block whose largest inner gap is too small.
 * So a VMAR with 10,000 mappings maps and unmaps about as fast as one with 10.
 *
 * @module
 */

/** An address range `[base, base + size)`. */
export interface Span {
  base: number;
  size: number;
}

const MAX_BLOCK = 128;

/** Sorted, non-overlapping spans with fast lookup, insertion, removal and gap search. */
export class SpanList<T extends Span> {
  #blocks: T[][] = [];
  /** Largest gap between consecutive spans inside each block. */
  #innerGaps: number[] = [];
  #count = 0;

  /** How many spans the list holds. */
  get count(): number {
    return this.#count;
  }

  /** The span that contains `addr`, if any. */
  find(addr: number): T | undefined {
    const b = this.#blockAtOrBefore(addr);
    if (b < 0) return undefined;
    const block = this.#blocks[b];
    const span = block[lastAtOrBefore(block, addr)];
    return addr < span.base + span.size ? span : undefined;
  }

  /** The spans that overlap `[start, end)`, in address order. */
  overlapping(start: number, end: number): T[] {
    const found: T[] = [];
    if (this.#count === 0 || start >= end) return found;
    let b = this.#blockAtOrBefore(start);
    let i: number;
    if (b < 0) {
      b = 0;
      i = 0;
    } else {
      const block = this.#blocks[b];
      i = lastAtOrBefore(block, start);
      if (block[i].base + block[i].size <= start) i++;
    }
    for (; b < this.#blocks.length; b++, i = 0) {
      const block = this.#blocks[b];
      for (; i < block.length; i++) {
        if (block[i].base >= end) return found;
        found.push(block[i]);
      }
    }
    return found;
  }

  /** Adds `span`, which must not overlap any span in the list. */
  insert(span: T): void {
    this.#count++;
    if (this.#blocks.length === 0) {
      this.#blocks.push([span]);
      this.#innerGaps.push(0);
      return;
    }
    const b = Math.max(0, this.#blockAtOrBefore(span.base));
    const block = this.#blocks[b];
    const at = span.base < block[0].base ? 0 : lastAtOrBefore(block, span.base) + 1;
    block.splice(at, 0, span);
    if (block.length > MAX_BLOCK) {
      const upper = block.splice(block.length >> 1);
      this.#blocks.splice(b + 1, 0, upper);
      this.#innerGaps.splice(b + 1, 0, innerGap(upper));
    }
    this.#innerGaps[b] = innerGap(block);
  }

  /** Removes `span` (the very object); returns whether it was there. */
  remove(span: T): boolean {
    const b = this.#blockAtOrBefore(span.base);
    if (b < 0) return false;
    const block = this.#blocks[b];
    const at = lastAtOrBefore(block, span.base);
    if (block[at] !== span) return false;
    block.splice(at, 1);
    this.#count--;
    if (block.length === 0) {
      this.#blocks.splice(b, 1);
      this.#innerGaps.splice(b, 1);
    } else {
      this.#innerGaps[b] = innerGap(block);
    }
    return true;
  }

  /** Removes every span. */
  clear(): void {
    this.#blocks = [];
    this.#innerGaps = [];
    this.#count = 0;
  }

  /**
   * The lowest address `a` in `[lo, hi)` with `a % align === 0` where `[a, a + size)` fits
   * between spans and inside `[lo, hi)`, or -1 when there is none.
   */
  findFree(lo: number, hi: number, size: number, align: number): number {
    let gapStart = lo;
    for (let b = 0; b < this.#blocks.length; b++) {
      const block = this.#blocks[b];
      const last = block[block.length - 1];
      if (last.base + last.size <= lo) continue;
      // The gap before this block's first span.
      const fit = fitIn(gapStart, block[0].base, lo, hi, size, align);
      if (fit >= 0) return fit;
      if (block[0].base >= hi) return -1;
      if (this.#innerGaps[b] >= size) {
        for (let i = 1; i < block.length; i++) {
          const prev = block[i - 1];
          const at = fitIn(prev.base + prev.size, block[i].base, lo, hi, size, align);
          if (at >= 0) return at;
        }
      }
      gapStart = last.base + last.size;
    }
    return fitIn(gapStart, hi, lo, hi, size, align);
  }

  /** Every span in address order. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (const block of this.#blocks) yield* block;
  }

  /** Index of the last block whose first span starts at or before `addr`, or -1. */
  #blockAtOrBefore(addr: number): number {
    const blocks = this.#blocks;
    let lo = 0;
    let hi = blocks.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (blocks[mid][0].base <= addr) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}

/** Index of the last span of `block` starting at or before `addr` (0 if none does). */
function lastAtOrBefore(block: Span[], addr: number): number {
  let lo = 0;
  let hi = block.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (block[mid].base <= addr) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function innerGap(block: Span[]): number {
  let gap = 0;
  for (let i = 1; i < block.length; i++) {
    const prev = block[i - 1];
    gap = Math.max(gap, block[i].base - (prev.base + prev.size));
  }
  return gap;
}

/** The lowest aligned start for `size` bytes in `[from, to) ∩ [lo, hi)`, or -1. */
function fitIn(
  from: number,
  to: number,
  lo: number,
  hi: number,
  size: number,
  align: number,
): number {
  const start = Math.ceil(Math.max(from, lo) / align) * align;
  return start + size <= Math.min(to, hi) ? start : -1;
}
