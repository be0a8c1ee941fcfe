/**
 * Quarantine: memory that had JavaScript views stays harmless after it leaves the user.
 *
 * Detaching a view (`transfer(0)`) does not stop a runtime operation that took its memory
 * before: node:crypto's async `pbkdf2`/`scrypt`, a socket or FIFO `read(view)` run on other
 * threads with the raw pointer. So when an unmap or a destroy removes memory over which a
 * view's buffer object is still alive (detached or not: a pending operation keeps it
 * reachable), the range gets private anonymous zero pages (read-write, `MAP_NORESERVE`)
 * instead of a `PROT_NONE` reservation or a hole: a late read sees zeros, a late write lands
 * nowhere. The range is recorded as quarantined in its VMAR: first-fit placement skips it, a
 * `SPECIFIC` request over it is `ALREADY_EXISTS` (it holds memory the caller does not own),
 * and `infoMaps` does not list it. It is released (back to reservation in a sub-VMAR, given
 * back in the root) once every view buffer of it has been collected (a `FinalizationRegistry`,
 * and a sweep when quarantines pile up).
 *
 * A new mapping of the same VMO window (same file, offset and size) without a specific
 * address reuses a quarantined range of that window: a late write then lands in the very
 * memory it was handed. This keeps churn (map, view, unmap, in a loop that never yields to
 * the garbage collector's callbacks) bounded. Past {@linkcode MAX_QUARANTINED} ranges, the
 * oldest are released even if their buffers are alive: a residual risk for an operation that
 * is still pending after that many later unmaps of viewed memory.
 *
 * A protect that removes a permission from memory under live views changes the tree at once
 * (every access through vmo is refused, views are detached) and the kernel's protection once
 * those buffers are collected: a runtime operation still using the memory neither faults nor
 * reaches anything but the pages it was handed.
 *
 * @module
 */

import type { Backing } from "../vmo/backing.ts";
import * as linux from "./linux.ts";
import type { Span } from "./span_list.ts";

/** The VMAR side quarantine needs: its quarantined ranges and where it is. */
export interface QuarantineHolder {
  readonly base: number;
  readonly size: number;
  readonly isRoot: boolean;
  readonly alive: boolean;
  readonly quarantined: {
    insert(span: Quarantine): void;
    remove(span: Quarantine): boolean;
    overlapping(start: number, end: number): Quarantine[];
  };
}

/** Beyond this many quarantined ranges, the oldest are released (see the module doc). */
export const MAX_QUARANTINED = 1024;

/** A range of zero pages standing in for memory that views may still point into. */
export class Quarantine implements Span {
  base: number;
  size: number;
  holder: QuarantineHolder;
  /** The VMO window the range showed, for reuse by a mapping of the same window. */
  readonly window: { backing: Backing; key: string } | null;
  readonly refs: WeakRef<ArrayBuffer>[];
  pending: number;
  released = false;

  constructor(
    base: number,
    size: number,
    holder: QuarantineHolder,
    window: { backing: Backing; key: string } | null,
    refs: WeakRef<ArrayBuffer>[],
  ) {
    this.base = base;
    this.size = size;
    this.holder = holder;
    this.window = window;
    this.refs = refs;
    this.pending = refs.length;
  }

  get end(): number {
    return this.base + this.size;
  }
}

/**
 * The quarantined ranges of one VMAR, sorted by base: few, so a sorted array (a `SpanList`
 * allocates its gap tree whenever it empties and fills, which quarantine churn does).
 */
export class QuarantineList {
  readonly #spans: Quarantine[] = [];

  /** How many ranges. */
  get count(): number {
    return this.#spans.length;
  }

  /** Adds a range, which overlaps no other. */
  insert(q: Quarantine): void {
    this.#spans.splice(this.#firstEndingAfter(q.base), 0, q);
  }

  /** Removes `q` (the very object); whether it was there. */
  remove(q: Quarantine): boolean {
    const spans = this.#spans;
    const at = this.#firstEndingAfter(q.base);
    if (spans[at] !== q) return false;
    spans.splice(at, 1);
    return true;
  }

  /** The ranges overlapping `[start, end)`, in address order. */
  overlapping(start: number, end: number): Quarantine[] {
    const spans = this.#spans;
    const out: Quarantine[] = [];
    for (let i = this.#firstEndingAfter(start); i < spans.length && spans[i].base < end; i++) {
      out.push(spans[i]);
    }
    return out;
  }

  #firstEndingAfter(addr: number): number {
    const spans = this.#spans;
    let lo = 0;
    let hi = spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (spans[mid].base + spans[mid].size <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A protect whose kernel side waits for view buffers to be collected. */
interface DeferredProtect {
  sync: () => void;
  pending: number;
}

const all = new Set<Quarantine>();
const byWindow = new WeakMap<Backing, Map<string, Set<Quarantine>>>();

const collected = new FinalizationRegistry<Quarantine | DeferredProtect>((held) => {
  if (--held.pending > 0) return;
  if (held instanceof Quarantine) {
    if (!held.released) releaseQuarantine(held);
  } else {
    held.sync();
  }
});

/** The key of a VMO window: its file offset and size. */
export function windowKey(fileOffset: number, size: number): string {
  return `${fileOffset}:${size}`;
}

/**
 * Puts zero pages over `[start, end)` of `holder` (which the caller is taking from its
 * user) and records the range as quarantined until the `live` view buffers are collected.
 */
export function quarantineRange(
  holder: QuarantineHolder,
  start: number,
  end: number,
  live: { buffers: ArrayBuffer[]; refs: WeakRef<ArrayBuffer>[] },
  window: { backing: Backing; key: string } | null,
): void {
  linux.zeroFixed(start, end - start);
  adopt(new Quarantine(start, end - start, holder, window, live.refs), live.buffers);
  if (all.size > MAX_QUARANTINED) trim();
}

function adopt(q: Quarantine, buffers: ArrayBuffer[]): void {
  q.holder.quarantined.insert(q);
  all.add(q);
  if (q.window !== null) {
    let windows = byWindow.get(q.window.backing);
    if (windows === undefined) {
      windows = new Map();
      byWindow.set(q.window.backing, windows);
    }
    let set = windows.get(q.window.key);
    if (set === undefined) {
      set = new Set();
      windows.set(q.window.key, set);
    }
    set.add(q);
  }
  for (const buffer of buffers) collected.register(buffer, q, q);
}

/** Moves the quarantined ranges of a VMAR being destroyed to its parent. */
export function moveQuarantines(from: QuarantineHolder, to: QuarantineHolder): void {
  for (const q of from.quarantined.overlapping(from.base, from.base + from.size)) {
    from.quarantined.remove(q);
    q.holder = to;
    to.quarantined.insert(q);
  }
}

/**
 * A quarantined range of `holder` that showed the same VMO window, taken out of quarantine
 * for a new mapping of that window to go there (the caller maps over the zero pages), or
 * null.
 */
export function takeWindow(
  holder: QuarantineHolder,
  backing: Backing,
  key: string,
): Quarantine | null {
  const set = byWindow.get(backing)?.get(key);
  if (set === undefined) return null;
  for (const q of set) {
    if (q.holder === holder && !q.released) return q;
  }
  return null;
}

/** Forgets `q` after a mapping took its range (the zero pages are gone). */
export function forgetQuarantine(q: Quarantine): void {
  q.released = true;
  collected.unregister(q);
  q.holder.quarantined.remove(q);
  all.delete(q);
  if (q.window !== null) byWindow.get(q.window.backing)?.get(q.window.key)?.delete(q);
}

/** Gives a quarantined range back: reservation in a sub-VMAR, free memory in the root. */
function releaseQuarantine(q: Quarantine): void {
  forgetQuarantine(q);
  try {
    if (q.holder.isRoot) linux.release(q.base, q.size);
    else if (q.holder.alive) linux.reserveFixed(q.base, q.size);
  } catch {
    // Left as zero pages: harmless, and nothing in the tree claims the range.
  }
}

/** Releases quarantines whose buffers all died, then the oldest while there are too many. */
function trim(): void {
  for (const q of all) {
    if (q.refs.every((ref) => ref.deref() === undefined)) releaseQuarantine(q);
  }
  for (const q of all) {
    if (all.size <= MAX_QUARANTINED / 2) break;
    releaseQuarantine(q);
  }
}

/** Runs `sync` (which re-applies a protection to the kernel) once `buffers` are collected. */
export function deferProtect(buffers: ArrayBuffer[], sync: () => void): void {
  const held: DeferredProtect = { sync, pending: buffers.length };
  for (const buffer of buffers) collected.register(buffer, held);
}

/** How many ranges are quarantined in the process (for tests and the docs' figures). */
export function quarantinedCount(): number {
  return all.size;
}
