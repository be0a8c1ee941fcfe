/**
 * The `mmap` protection and flag values that `MmapRegion.build` takes, as vm-memory passes
 * libc's `PROT_*` and `MAP_*` straight through.
 *
 * @module
 */

import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "../../ffi/constants.ts";
import { MAP_HUGETLB, MAP_POPULATE } from "../../ffi/guest.ts";

/**
 * `mmap` protections (`PROT_*`), Linux's values.
 *
 * @example
 * ```ts
 * import { MapFlags, MmapRegion, Prot } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using region = MmapRegion.build(null, 4096, Prot.READ | Prot.WRITE, MapFlags.SHARED);
 * assert.equal(region.prot(), Prot.READ | Prot.WRITE);
 * ```
 */
export const Prot = {
  NONE: PROT_NONE,
  READ: PROT_READ,
  WRITE: PROT_WRITE,
  EXEC: PROT_EXEC,
} as const;

/**
 * `mmap` flags (`MAP_*`), Linux's x86_64 values. `FIXED` is listed so that callers can see it
 * refused (`INVALID_ARGS`): a region never replaces memory it was not given.
 *
 * @example
 * ```ts
 * import { MapFlags, MmapRegion, Prot, Status, ZxError } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => MmapRegion.build(null, 4096, Prot.READ, MapFlags.SHARED | MapFlags.FIXED),
 *   (e) => e instanceof ZxError && e.status === Status.INVALID_ARGS,
 * );
 * ```
 */
export const MapFlags = {
  SHARED: MAP_SHARED,
  PRIVATE: MAP_PRIVATE,
  FIXED: MAP_FIXED,
  ANONYMOUS: MAP_ANONYMOUS,
  NORESERVE: MAP_NORESERVE,
  POPULATE: MAP_POPULATE,
  HUGETLB: MAP_HUGETLB,
} as const;

/** The flags `build` accepts; anything else (`FIXED` included) is `INVALID_ARGS`. */
export const KNOWN_MAP_FLAGS: number = MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS |
  MAP_NORESERVE | MAP_POPULATE | MAP_HUGETLB;
