/**
 * `GuestMemorySharing`: OpenVMM's way of handing guest memory to another process. The set of
 * regions is fixed when it is made, and `getRegions` commits every page of each VMO first, so
 * that the other process never takes a fault for memory that is not there (a commit that fails
 * is an error here).
 *
 * @module
 */

import { PAGE_SIZE } from "../args.ts";
import { VmoOp } from "../vmo/constants.ts";
import type { Vmo } from "../vmo/vmo.ts";

/** One region of guest memory as another process maps it. */
export interface ShareableRegion {
  /** Its guest-physical address. */
  guestAddress: number;
  /** Its length in bytes. */
  size: number;
  /** A handle to the memory (the caller owns it: close it, or send it over a `Channel`). */
  vmo: Vmo;
  /** Where the region starts in `vmo`. */
  fileOffset: number;
}

/** What `GuestMemoryMmap.sharing` collects (not for users). */
export interface SharedPart {
  guestAddress: number;
  size: number;
  vmo: Vmo;
  fileOffset: number;
}

const CONSTRUCT = Symbol("GuestMemorySharing");

/** Builds the sharing object (not for users). */
export function makeSharing(parts: SharedPart[]): GuestMemorySharing {
  return new GuestMemorySharing(CONSTRUCT, parts);
}

/**
 * A static set of shareable regions of a `GuestMemoryMmap` (OpenVMM's `GuestMemorySharing`).
 *
 * @example
 * ```ts
 * import { GuestMemoryMmap } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using mem = GuestMemoryMmap.fromRanges([[0, 0x2000], [0x10000, 0x1000]]);
 * mem.writeU8(0x10000, 5);
 * const regions = await mem.sharing()!.getRegions();
 * assert.deepEqual(regions.map((r) => [r.guestAddress, r.size]), [[0, 0x2000], [0x10000, 0x1000]]);
 * assert.equal(regions[1].vmo.readToArray(regions[1].fileOffset, 1)[0], 5);
 * for (const r of regions) r.vmo.close();
 * ```
 */
export class GuestMemorySharing {
  readonly #parts: SharedPart[];

  /** @ignore */
  constructor(token: symbol, parts: SharedPart[]) {
    if (token !== CONSTRUCT) throw new TypeError("use GuestMemoryMmap.sharing");
    this.#parts = parts;
  }

  /**
   * The regions, each with a new VMO handle, after committing every page of each (OpenVMM's
   * `get_regions`: fully committed backing). Rejects with the commit's error (`NO_MEMORY`,
   * `NO_RESOURCES`, `ACCESS_DENIED` for a read-only file), or `BAD_HANDLE` once the memory
   * was closed.
   */
  getRegions(): Promise<ShareableRegion[]> {
    try {
      const out: ShareableRegion[] = [];
      for (const part of this.#parts) {
        const size = Math.ceil(part.size / PAGE_SIZE) * PAGE_SIZE;
        part.vmo.opRange(
          VmoOp.COMMIT,
          part.fileOffset,
          Math.min(size, part.vmo.getSize() - part.fileOffset),
        );
      }
      for (const part of this.#parts) {
        out.push({
          guestAddress: part.guestAddress,
          size: part.size,
          vmo: part.vmo.duplicate(),
          fileOffset: part.fileOffset,
        });
      }
      return Promise.resolve(out);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
