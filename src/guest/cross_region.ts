/**
 * Copies that cross from one region of a `GuestMemoryMmap` into the next (guest_memory.ts
 * handles a copy inside one region itself): the checks that every region reached allows the
 * copy, the piece-by-piece loop, and the bridge that makes a small write across a boundary two
 * built-in copies.
 *
 * @module
 */

import { bytesWindow, copyBytes } from "../args.ts";
import { fail, Status } from "../status.ts";
import type { DirtyBitmap } from "./bitmap.ts";
import type { GuestRegionMmap } from "./guest_region.ts";
import type { BufferLike } from "./raw_buffer.ts";
import { Prot } from "./constants.ts";
import { SharedBufferSlice, windowOf } from "../mapping/shared_buffer.ts";

/** A guest memory's regions, ascending, and per region what a copy uses. */
export interface RegionTable {
  regions: readonly GuestRegionMmap[];
  starts: readonly number[];
  ends: readonly number[];
  bufs: readonly BufferLike[];
  bitmaps: readonly (DirtyBitmap | null)[];
  /**
   * The library's cached read-write view of each region (length 0 when it has none: a file,
   * read-only memory, or memory since unmapped, which vmo detaches first).
   */
  views: readonly Uint8Array<ArrayBuffer>[];
}

/**
 * The bridge of a small write that straddles two regions (see `writeAcross`): the source is
 * copied in so that the boundary falls at `BRIDGE`, and the two pieces are windows made once,
 * `HEADS[p]` the `p` bytes before it and `TAILS[q]` the `q` bytes after it. Two built-in copies
 * then do what a byte loop or two new windows (about 1 us each to allocate) would.
 */
const BRIDGE = 64;
const bridge = new Uint8Array(2 * BRIDGE);
const HEADS = Array.from({ length: BRIDGE + 1 }, (_, p) => bridge.subarray(BRIDGE - p, BRIDGE));
const TAILS = Array.from({ length: BRIDGE + 1 }, (_, q) => bridge.subarray(BRIDGE, BRIDGE + q));
/** Pieces up to this many bytes are copied byte by byte (cheaper than a window's allocation). */
const SMALL_PIECE = 64;

/**
 * Copies `[addr, addr + n)` through the regions, one piece each, starting in region `first`
 * (-1: `addr` is in none); returns n. Small pieces into a cached view are copied byte by byte
 * (no typed-array window to allocate: `array` is a genuine `Uint8Array`, whose indexed
 * accesses run no user code).
 */
export function copyAcross(
  t: RegionTable,
  first: number,
  addr: number,
  array: Uint8Array,
  total: number,
  write: boolean,
): number {
  let i = first;
  if (i < 0) {
    if (total === 0) return 0;
    fail(Status.OUT_OF_RANGE, `guest address 0x${addr.toString(16)} is in no region`);
  }
  if (total > 0) {
    // Both live cached views prove the two regions writable: no other check needed.
    if (write && total <= BRIDGE && writeAcross(t, i, addr, array, total)) return total;
    checkReachable(t, i, addr, total, write);
  }
  let done = 0;
  while (done < total) {
    const at = addr + done;
    const offset = at - t.starts[i];
    const piece = Math.min(total - done, t.ends[i] - at);
    const view = t.views[i];
    if (view.length !== 0 && piece <= SMALL_PIECE) {
      if (write) { for (let k = 0; k < piece; k++) view[offset + k] = array[done + k]; }
      else for (let k = 0; k < piece; k++) array[done + k] = view[offset + k];
    } else if (write) {
      const part = bytesWindow(array, done, piece);
      if (view.length !== 0) copyBytes(view, part, offset);
      else t.bufs[i].writeAt(offset, part);
    } else {
      t.bufs[i].readAt(offset, bytesWindow(array, done, piece));
    }
    if (write) {
      const bitmap = t.bitmaps[i];
      if (bitmap !== null) bitmap.mark(offset, piece);
    }
    done += piece;
    i++;
    if (done < total && (i >= t.starts.length || t.starts[i] !== addr + done)) break;
  }
  return done;
}

/**
 * A write of at most `BRIDGE` bytes from region `i` into the adjacent next one, both with a
 * live cached view (checked writable): two built-in copies through the bridge, and the dirty
 * marks. False, having done nothing, for any other shape (the general loop handles it).
 */
function writeAcross(
  t: RegionTable,
  i: number,
  addr: number,
  src: Uint8Array,
  total: number,
): boolean {
  const j = i + 1;
  const head = t.ends[i] - addr;
  const tail = total - head;
  if (
    head <= 0 || tail <= 0 || j >= t.starts.length || t.starts[j] !== t.ends[i] ||
    tail > t.ends[j] - t.starts[j]
  ) return false;
  const first = t.views[i];
  const second = t.views[j];
  if (first.length === 0 || second.length === 0) return false;
  const offset = addr - t.starts[i];
  copyBytes(bridge, src, BRIDGE - head);
  copyBytes(first, HEADS[head], offset);
  copyBytes(second, TAILS[tail], 0);
  const a = t.bitmaps[i];
  if (a !== null) a.mark(offset, head);
  const b = t.bitmaps[j];
  if (b !== null) b.mark(0, tail);
  return true;
}

/**
 * Before a copy that crosses regions: every region it reaches allows it, so that a region
 * closed (or without the permission) underneath refuses the whole copy instead of leaving
 * the pieces before it written and marked dirty, or read into the caller's array. A live
 * cached view proves a region readable and writable; without one, the region says
 * (`BAD_STATE` closed or unmapped, `ACCESS_DENIED` without the permission).
 */
function checkReachable(
  t: RegionTable,
  first: number,
  addr: number,
  total: number,
  write: boolean,
): void {
  const end = addr + total;
  const needs = write ? Prot.WRITE : Prot.READ;
  for (let i = first; i < t.starts.length && t.starts[i] < end; i++) {
    if (i > first && t.starts[i] !== t.ends[i - 1]) break;
    if (t.views[i].length !== 0) continue;
    const region = t.regions[i].region();
    if ((region.prot() & needs) === 0) {
      fail(
        Status.ACCESS_DENIED,
        `the region at 0x${t.starts[i].toString(16)} is not ${write ? "writable" : "readable"}`,
      );
    }
    const buf = t.bufs[i];
    if (buf instanceof SharedBufferSlice && windowOf(buf).lease.dead) {
      fail(Status.BAD_STATE, `the region at 0x${t.starts[i].toString(16)} was unmapped`);
    }
  }
}
