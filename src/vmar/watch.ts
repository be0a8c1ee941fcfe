/**
 * Watches: what keeps the one invariant for JavaScript views over mapped memory.
 *
 * A watch guards `[start, end)` of a mapping for something that depends on it: a view (an
 * `ArrayBuffer` over the memory, detached before the memory stops giving it the permissions it
 * `needs`) or a lease (marked dead when the memory is unmapped). The region tree keeps each
 * mapping's watches and fires the ones a change would break before it makes the change.
 * Watches hold their targets weakly (a view nobody can reach needs no detaching), and a
 * mapping's set is swept of spent ones as it grows.
 *
 * @module
 */

/**
 * Something that depends on `[start, end)` staying mapped: a JavaScript view (an `ArrayBuffer`
 * over the memory, detached before the memory stops giving it the permissions it `needs`), or
 * a lease (marked dead when the memory is unmapped; `needs` is 0). Held weakly: a view nobody
 * can reach any more needs no detaching.
 */
export interface Watch {
  start: number;
  end: number;
  needs: number;
  /**
   * A view's buffer or a lease (a lease needs nothing: `needs` 0), held weakly; a lease whose
   * holder unmaps the memory when it is collected (a `Mapping`'s) is held strongly instead.
   */
  target: WeakRef<ArrayBuffer | Lease> | HeldLease;
  isView: boolean;
}

/** Marks that a range of mapped memory is still the mapping it was when the lease was taken. */
export interface Lease {
  dead: boolean;
}

/** What holds watches: a mapping record, with the size of its set after the last sweep. */
export interface Watched {
  /** {@linkcode NO_WATCHES} while there are none: see {@linkcode watchesOf}. */
  watches: Set<Watch>;
  sweptSize: number;
}

/** A set that stays empty: adding to it throws (add through {@linkcode watchesOf}). */
class NoWatches extends Set<Watch> {
  override add(_watch: Watch): this {
    throw new Error("vmo internal error: a watch added to the shared empty set");
  }
}

/**
 * The shared empty watch set of holders that never had a watch: a `Set` per mapping costs an
 * allocation on every map, and most mappings never get a watch.
 */
export const NO_WATCHES: Set<Watch> = new NoWatches();

/** The holder's own watch set, made on first use. */
export function watchesOf(holder: Watched): Set<Watch> {
  if (holder.watches === NO_WATCHES) holder.watches = new Set();
  return holder.watches;
}

// Taken at load: the invariant must not depend on built-ins a program could replace later.
const transferBuffer = Function.prototype.call.bind(ArrayBuffer.prototype.transfer) as (
  buffer: ArrayBuffer,
  length: number,
) => ArrayBuffer;
const isDetached = Function.prototype.call.bind(
  Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "detached")!.get!,
) as (buffer: unknown) => boolean;

/**
 * A lease that is its own strong reference (`deref` gives itself), for a holder that unmaps
 * the memory when it is collected (a `Mapping`'s window): such a lease cannot outlive the
 * mapping's record, so it needs no `WeakRef`, whose making costs a runtime call (several
 * hundred ns) on every `Mapping` made, nor a wrapper object.
 */
export class HeldLease implements Lease {
  dead = false;
  deref(): Lease {
    return this;
  }
}

/**
 * A watch of `[start, end)` for `target`: a view when `needs` is not 0, else a lease; `strong`
 * (a {@linkcode HeldLease} only) holds the lease strongly. `isView` false with `needs` not 0
 * makes a lease that also dies when the memory loses a permission in `needs` (and that is
 * never counted as a view that may still use the memory).
 */
export function newWatch(
  start: number,
  end: number,
  needs: number,
  target: ArrayBuffer | Lease,
  strong = false,
  isView: boolean = needs !== 0,
): Watch {
  const ref = strong && !isView && target instanceof HeldLease ? target : new WeakRef(target);
  return { start, end, needs, target: ref, isView };
}

/** Detaches a watched view (every typed array over it reads as length 0) or kills a lease. */
export function fire(watch: Watch): void {
  const target = watch.target.deref();
  if (target === undefined) return;
  if (watch.isView) {
    if (!isDetached(target)) transferBuffer(target as ArrayBuffer, 0);
  } else {
    (target as Lease).dead = true;
  }
}

/**
 * Whether a watch no longer guards anything: its target was collected, or it is a lease that
 * died. A detached view still counts while its buffer is alive: a runtime operation may hold
 * its memory ({@linkcode liveViews}).
 */
function spent(watch: Watch): boolean {
  const target = watch.target.deref();
  if (target === undefined) return true;
  return !watch.isView && (target as Lease).dead;
}

/** Adds `watch` to a holder's set, sweeping spent watches whenever the set has doubled. */
export function addWatch(holder: Watched, watch: Watch): void {
  const watches = watchesOf(holder);
  watches.add(watch);
  // Sweep whenever the set has doubled, so a long-lived mapping that many buffers and views
  // come and go over does not keep every one of them.
  if (watches.size >= 2 * holder.sweptSize) {
    for (const w of watches) if (spent(w)) watches.delete(w);
    holder.sweptSize = Math.max(16, watches.size);
  }
}

/**
 * Removes `watch` from `watches`, the holder's set. The last one goes by giving the holder the
 * shared empty set again: deleting it would shrink the set's table, a runtime call and an
 * allocation on every close of a `Mapping` (whose record holds one watch, its lease).
 */
function drop(holder: Watched, watches: Set<Watch>, watch: Watch): void {
  if (watches.size === 1 && holder.watches === watches) holder.watches = NO_WATCHES;
  else watches.delete(watch);
}

/**
 * Fires the holder's watches that overlap `[start, end)` and need a permission outside
 * `perms`: with `perms` -1 (unmapping) every watch fires, leases too. Spent watches met on the
 * way are dropped.
 */
export function revokeWatches(holder: Watched, start: number, end: number, perms: number): void {
  const watches = holder.watches;
  if (watches.size === 0) return;
  for (const watch of watches) {
    if (spent(watch)) {
      drop(holder, watches, watch);
    } else if (
      watch.start < end && watch.end > start && (perms === -1 || (watch.needs & ~perms) !== 0)
    ) {
      fire(watch);
      // A view stays listed (detached) while its buffer lives: see `liveViews`.
      if (!watch.isView) drop(holder, watches, watch);
    }
  }
}

/**
 * The views over `[start, end)` of a holder whose buffer objects are still alive (detached or
 * not: a runtime operation that took one before it was detached keeps it reachable and may
 * still use its memory), and the hull of their ranges clipped to `[start, end)`; `null` when
 * there is none. Call before {@linkcode revokeWatches}, which forgets the watches it fires.
 */
export function liveViews(
  holder: Watched,
  start: number,
  end: number,
): LiveViews | null {
  let found: LiveViews | null = null;
  for (const watch of holder.watches) {
    if (!watch.isView || watch.start >= end || watch.end <= start) continue;
    const target = watch.target.deref();
    if (target === undefined) continue;
    const from = Math.max(start, watch.start);
    const to = Math.min(end, watch.end);
    const ref = watch.target as WeakRef<ArrayBuffer>;
    if (found === null) {
      found = { start: from, end: to, buffers: [target as ArrayBuffer], refs: [ref] };
    } else {
      found.start = Math.min(found.start, from);
      found.end = Math.max(found.end, to);
      found.buffers.push(target as ArrayBuffer);
      found.refs.push(ref);
    }
  }
  return found;
}

/** What {@linkcode liveViews} found: the hull, the buffers and the watches' weak references. */
export interface LiveViews {
  start: number;
  end: number;
  buffers: ArrayBuffer[];
  refs: WeakRef<ArrayBuffer>[];
}
