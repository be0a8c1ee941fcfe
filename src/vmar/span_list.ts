/**
 * The children of a VMAR: non-overlapping address spans kept sorted by base.
 *
 * Spans live in blocks of at most `MAX_BLOCK` entries. Finding the span at an address is two
 * binary searches (over blocks, then inside one); inserting or removing moves at most one
 * block's entries and updates the block's largest gap in O(1) unless it split or closed that
 * very gap. A max-tree over the blocks' largest gaps lets a free-gap search jump straight to
 * the first block that can hold the request. So a VMAR with 10,000 mappings maps and unmaps
 * about as fast as one with 10.
 *
 * @module
 */

/** An address range `[base, base + size)`. */
export interface Span {
  base: number;
  size: number;
}

const MAX_BLOCK = 128;

function end(span: Span): number {
  return span.base + span.size;
}

/**
 * A max segment tree over block values, for "the first block from `from` whose value is at
 * least `x`" in O(log blocks).
 */
class MaxTree {
  #size = 1;
  /** Reused while it is large enough: a typed-array allocation costs about a microsecond. */
  #tree = new Float64Array(16);

  /** Rebuilds the tree over `values`. */
  build(values: number[]): void {
    let size = 1;
    while (size < values.length) size *= 2;
    this.#size = size;
    if (this.#tree.length < 2 * size) this.#tree = new Float64Array(2 * size);
    const tree = this.#tree;
    for (let i = 0; i < values.length; i++) tree[size + i] = values[i];
    tree.fill(0, size + values.length, 2 * size);
    for (let i = size - 1; i >= 1; i--) tree[i] = Math.max(tree[2 * i], tree[2 * i + 1]);
  }

  /** Rebuilds the tree over one value (the first block of a list that was empty). */
  buildOne(value: number): void {
    this.#size = 1;
    this.#tree[1] = value;
  }

  /** Sets the value of block `i` (which exists). */
  set(i: number, value: number): void {
    let node = this.#size + i;
    this.#tree[node] = value;
    for (node >>= 1; node >= 1; node >>= 1) {
      this.#tree[node] = Math.max(this.#tree[2 * node], this.#tree[2 * node + 1]);
    }
  }

  /** The first block index `>= from` whose value is at least `x`, or -1. */
  firstAtLeast(from: number, x: number): number {
    return this.#descend(1, 0, this.#size, from, x);
  }

  #descend(node: number, lo: number, hi: number, from: number, x: number): number {
    if (hi <= from || this.#tree[node] < x) return -1;
    if (hi - lo === 1) return lo;
    const mid = (lo + hi) >> 1;
    const left = this.#descend(2 * node, lo, mid, from, x);
    return left >= 0 ? left : this.#descend(2 * node + 1, mid, hi, from, x);
  }
}

/** Sorted, non-overlapping spans with fast lookup, insertion, removal and gap search. */
export class SpanList<T extends Span> {
  #blocks: T[][] = [];
  /** Largest gap between consecutive spans inside each block. */
  #inner: number[] = [];
  /** Per block: the larger of its inner gap and the gap before it (0 for the first block). */
  #best = new MaxTree();
  /** Scratch for `#rebuild`. */
  #values: number[] = [];
  /** The block array of the last span removed from a one-block list, kept for the next insert. */
  #spare: T[] | null = null;
  #count = 0;
  /**
   * Set when a `RangeError` (the JavaScript stack's limit, see `headroom.ts`) stopped an insert
   * or remove after its span went in or out but before the gap bookkeeping caught up: the spans
   * are right, the gaps may not be, and the next gap search recomputes them all first.
   */
  #stale = false;
  /**
   * Set by a caller whose {@linkcode SpanList.shrunk} threw (even at the call, before it ran):
   * the gaps may be smaller than they are, and the next gap search recomputes them all first.
   */
  gapsStale = false;

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
    return addr < end(span) ? span : undefined;
  }

  /** The spans that overlap `[start, end)`, in address order. */
  overlapping(start: number, stop: number): T[] {
    const found: T[] = [];
    if (this.#count === 0 || start >= stop) return found;
    let b = this.#blockAtOrBefore(start);
    let i: number;
    if (b < 0) {
      b = 0;
      i = 0;
    } else {
      const block = this.#blocks[b];
      i = lastAtOrBefore(block, start);
      if (end(block[i]) <= start) i++;
    }
    for (; b < this.#blocks.length; b++, i = 0) {
      const block = this.#blocks[b];
      for (; i < block.length; i++) {
        if (block[i].base >= stop) return found;
        found.push(block[i]);
      }
    }
    return found;
  }

  /** Adds `span`, which must not overlap any span in the list. */
  insert(span: T): void {
    if (this.#blocks.length === 0) {
      // A VMAR that goes empty and back (map, unmap, map...) allocates nothing here.
      const block = this.#spare ?? [];
      this.#spare = null;
      block.push(span);
      this.#blocks.push(block);
      this.#inner.push(0);
      this.#count++;
      this.#best.buildOne(0);
      return;
    }
    const b = Math.max(0, this.#blockAtOrBefore(span.base));
    const block = this.#blocks[b];
    const at = span.base < block[0].base ? 0 : lastAtOrBefore(block, span.base) + 1;
    // The gap the new span lands in, if it is inside the block.
    const splitGap = at > 0 && at < block.length ? block[at].base - end(block[at - 1]) : -1;
    insertAt(block, at, span);
    this.#count++;
    // A full block splits now, with array built-ins only (no call that can overflow).
    const split = block.length > MAX_BLOCK;
    if (split) {
      this.#blocks.splice(b + 1, 0, block.splice(block.length >> 1));
      this.#inner.splice(b + 1, 0, 0);
    }
    try {
      this.#afterInsert(span, b, block, at, splitGap, split);
    } catch (error) {
      this.#stale = true;
      throw error;
    }
  }

  /** The gap bookkeeping of an insert, once the span is in `block` at `at`. */
  #afterInsert(
    span: T,
    b: number,
    block: T[],
    at: number,
    splitGap: number,
    split: boolean,
  ): void {
    if (split) {
      this.#inner[b] = innerGap(block);
      this.#inner[b + 1] = innerGap(this.#blocks[b + 1]);
      this.#rebuild();
      return;
    }
    if (splitGap > 0 && splitGap === this.#inner[b]) {
      this.#inner[b] = innerGap(block);
    } else {
      if (at > 0) this.#inner[b] = Math.max(this.#inner[b], span.base - end(block[at - 1]));
      if (at < block.length - 1) {
        this.#inner[b] = Math.max(this.#inner[b], block[at + 1].base - end(span));
      }
    }
    this.#refresh(b);
    if (at === block.length - 1) this.#refresh(b + 1);
  }

  /** Removes `span` (the very object); returns whether it was there. */
  remove(span: T): boolean {
    const b = this.#blockAtOrBefore(span.base);
    if (b < 0) return false;
    const block = this.#blocks[b];
    const at = lastAtOrBefore(block, span.base);
    if (block[at] !== span) return false;
    const before = at > 0 ? span.base - end(block[at - 1]) : -1;
    const after = at < block.length - 1 ? block[at + 1].base - end(span) : -1;
    removeAt(block, at);
    this.#count--;
    // The structure first, with no call that can overflow the stack (array built-ins only).
    if (block.length === 0 && this.#blocks.length === 1) {
      this.#spare = block;
      // One block each: `pop` keeps the arrays' storage (setting `length` is a runtime call
      // that frees it, and the next insert's `push` then allocates it again).
      this.#blocks.pop();
      this.#inner.pop();
    } else if (block.length === 0) {
      this.#blocks.splice(b, 1);
      this.#inner.splice(b, 1);
    }
    try {
      this.#afterRemove(b, block, at, before, after);
    } catch (error) {
      this.#stale = true;
      throw error;
    }
    return true;
  }

  /** The gap bookkeeping of a remove, once the span left `block` (from `at`). */
  #afterRemove(b: number, block: T[], at: number, before: number, after: number): void {
    if (block.length === 0) {
      if (this.#blocks.length === 0) this.#best.buildOne(0);
      else this.#rebuild();
      return;
    }
    const inner = this.#inner[b];
    if (before >= 0 && after >= 0) {
      // The two gaps around it become one.
      this.#inner[b] = Math.max(inner, block[at].base - end(block[at - 1]));
    } else if ((before > 0 && before === inner) || (after > 0 && after === inner)) {
      this.#inner[b] = innerGap(block);
    }
    this.#refresh(b);
    if (at === block.length) this.#refresh(b + 1);
  }

  /**
   * Catches up with `span` (in the list), which its owner shrank in place: its new range lies
   * inside its old one, so its place in the order stays and only the gaps around it grew. No
   * span moves: a `RangeError` here or at the call leaves the spans right and the gaps at most
   * smaller than they are (a search then only misses them); the caller sets `gapsStale` then.
   */
  shrunk(span: T): void {
    const b = this.#blockAtOrBefore(span.base);
    const block = this.#blocks[b];
    const at = lastAtOrBefore(block, span.base);
    let inner = this.#inner[b];
    if (at > 0) inner = Math.max(inner, span.base - end(block[at - 1]));
    if (at < block.length - 1) inner = Math.max(inner, block[at + 1].base - end(span));
    this.#inner[b] = inner;
    this.#refresh(b);
    if (at === block.length - 1) this.#refresh(b + 1);
  }

  /** Removes every span. */
  clear(): void {
    this.#blocks = [];
    this.#inner = [];
    this.#best.build([]);
    this.#count = 0;
    this.#stale = false;
    this.gapsStale = false;
  }

  /**
   * The lowest address `a` in `[lo, hi)` with `a % align === 0` where `[a, a + size)` fits
   * between spans and inside `[lo, hi)`, or -1 when there is none.
   */
  findFree(lo: number, hi: number, size: number, align: number): number {
    if (this.#stale || this.gapsStale) this.#recompute();
    const blocks = this.#blocks;
    if (blocks.length === 0) return fitIn(lo, hi, lo, hi, size, align);
    // Start at the block holding (or following) `lo`, and the gap that `lo` falls in.
    let b = Math.max(0, this.#blockAtOrBefore(lo));
    let gapStart = lo;
    let i = 0;
    {
      const block = blocks[b];
      if (block[0].base <= lo) {
        i = lastAtOrBefore(block, lo);
        gapStart = Math.max(lo, end(block[i]));
        i++;
      }
    }
    for (;;) {
      const block = blocks[b];
      for (; i < block.length; i++) {
        if (gapStart >= hi) return -1;
        const at = fitIn(gapStart, block[i].base, lo, hi, size, align);
        if (at >= 0) return at;
        gapStart = Math.max(gapStart, end(block[i]));
        // Nothing further in this block can fit: go to the next block that might.
        if (this.#inner[b] < size) {
          i = block.length;
          gapStart = Math.max(gapStart, end(block[block.length - 1]));
        }
      }
      const next = this.#best.firstAtLeast(b + 1, size);
      if (next < 0) break;
      b = next;
      gapStart = Math.max(gapStart, end(blocks[b - 1][blocks[b - 1].length - 1]));
      i = 0;
    }
    const last = blocks[blocks.length - 1];
    return fitIn(Math.max(gapStart, end(last[last.length - 1])), hi, lo, hi, size, align);
  }

  /** Every span in address order. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (const block of this.#blocks) yield* block;
  }

  /** Calls `visit` with every span in address order (no generator: cheaper than `for...of`). */
  forEach(visit: (span: T) => void): void {
    const blocks = this.#blocks;
    for (let b = 0; b < blocks.length; b++) {
      const block = blocks[b];
      for (let i = 0; i < block.length; i++) visit(block[i]);
    }
  }

  /** The value of block `b` in the max-tree: its inner gap or the gap before it. */
  #refresh(b: number): void {
    if (b >= this.#blocks.length) return;
    this.#best.set(b, this.#bestOf(b));
  }

  #bestOf(b: number): number {
    if (b === 0) return this.#inner[0];
    const prev = this.#blocks[b - 1];
    return Math.max(this.#inner[b], this.#blocks[b][0].base - end(prev[prev.length - 1]));
  }

  /** Recomputes every block's inner gap and the max-tree (after a stale insert or remove). */
  #recompute(): void {
    for (let b = 0; b < this.#blocks.length; b++) this.#inner[b] = innerGap(this.#blocks[b]);
    this.#rebuild();
    this.#stale = false;
    this.gapsStale = false;
  }

  #rebuild(): void {
    const values = this.#values;
    values.length = this.#blocks.length;
    for (let b = 0; b < values.length; b++) values[b] = this.#bestOf(b);
    this.#best.build(values);
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

/**
 * `array.splice(at, 0, item)` as a loop: `splice` is a runtime call that costs more than
 * moving the at most `MAX_BLOCK` entries of a block by hand.
 */
function insertAt<T>(array: T[], at: number, item: T): void {
  let i = array.length;
  array.push(item);
  for (; i > at; i--) array[i] = array[i - 1];
  array[at] = item;
}

/** `array.splice(at, 1)` as a loop (see {@linkcode insertAt}). */
function removeAt<T>(array: T[], at: number): void {
  const last = array.length - 1;
  for (let i = at; i < last; i++) array[i] = array[i + 1];
  array.pop();
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
  for (let i = 1; i < block.length; i++) gap = Math.max(gap, block[i].base - end(block[i - 1]));
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
