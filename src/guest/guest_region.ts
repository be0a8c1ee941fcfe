/**
 * `GuestRegionMmap`: an `MmapRegion` placed at a guest-physical address (vm-memory's
 * `GuestRegionMmap`).
 *
 * @module
 */

import { checkedEnd, checkU64, describe } from "../args.ts";
import { fail, Status } from "../status.ts";
import { MmapRegion } from "./mmap_region.ts";

/**
 * A region of guest-physical memory: `region` seen at guest addresses
 * `[guestBase, guestBase + region.len())`. Closing it closes the region.
 *
 * @example
 * ```ts
 * import { GuestRegionMmap, MmapRegion } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using r = new GuestRegionMmap(MmapRegion.create(0x1000), 0x10000);
 * assert.equal(r.startAddr(), 0x10000);
 * assert.equal(r.lastAddr(), 0x10fff);
 * assert.equal(r.len(), 0x1000);
 * ```
 */
export class GuestRegionMmap implements Disposable {
  readonly #region: MmapRegion;
  readonly #start: number;
  readonly #len: number;

  /**
   * Places `region` at `guestBase`. Errors: `INVALID_ARGS` for a bad base or a region that is
   * not an `MmapRegion` (or is closed: `BAD_STATE`); `OUT_OF_RANGE` when the end overflows.
   */
  constructor(region: MmapRegion, guestBase: number) {
    if (!(region instanceof MmapRegion)) {
      fail(Status.INVALID_ARGS, `region must be an MmapRegion, got ${describe(region)}`);
    }
    checkU64(guestBase, "guestBase");
    const len = region.len();
    if (len === 0) fail(Status.INVALID_ARGS, "an empty region has no guest addresses");
    checkedEnd(guestBase, len, "guestBase + len");
    this.#region = region;
    this.#start = guestBase;
    this.#len = len;
  }

  /** The first guest address. */
  startAddr(): number {
    return this.#start;
  }

  /** The last guest address (inclusive). */
  lastAddr(): number {
    return this.#start + this.#len - 1;
  }

  /** The length in bytes. */
  len(): number {
    return this.#len;
  }

  /** The region. */
  region(): MmapRegion {
    return this.#region;
  }

  /** Closes the region. */
  close(): void {
    this.#region.close();
  }

  /** = `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
