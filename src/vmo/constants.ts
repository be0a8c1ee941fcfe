/**
 * Option, op and flag values of the VMO calls, with Zircon's numbers.
 *
 * @module
 */

/**
 * Options of {@linkcode Vmo.create}.
 *
 * @example
 * ```ts
 * import { Vmo, VmoOptions } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4096, VmoOptions.RESIZABLE);
 * vmo.setSize(8192);
 * assert.equal(vmo.getSize(), 8192);
 * ```
 */
export const VmoOptions = {
  RESIZABLE: 1 << 1,
  DISCARDABLE: 1 << 2,
  UNBOUNDED: 1 << 4,
} as const;

/**
 * Options of {@linkcode Vmo.createChild}: exactly one type (`SNAPSHOT`,
 * `SNAPSHOT_AT_LEAST_ON_WRITE`, `SNAPSHOT_MODIFIED`, `SLICE`, `REFERENCE`), plus `RESIZABLE` or
 * `NO_WRITE`.
 *
 * @example
 * ```ts
 * import { Vmo, VmoChildOptions } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(8192);
 * using slice = vmo.createChild(VmoChildOptions.SLICE, 4096, 4096);
 * slice.write(new Uint8Array([7]), 0);
 * assert.equal(vmo.readToArray(4096, 1)[0], 7);
 * ```
 */
export const VmoChildOptions = {
  SNAPSHOT: 1 << 0,
  RESIZABLE: 1 << 2,
  SLICE: 1 << 3,
  SNAPSHOT_AT_LEAST_ON_WRITE: 1 << 4,
  NO_WRITE: 1 << 5,
  REFERENCE: 1 << 6,
  SNAPSHOT_MODIFIED: 1 << 7,
} as const;

/**
 * Operations of {@linkcode Vmo.opRange}.
 *
 * @example
 * ```ts
 * import { Vmo, VmoOp } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4 * 4096);
 * vmo.opRange(VmoOp.COMMIT, 0, 4 * 4096);
 * assert.equal(vmo.info().committedBytes, 4 * 4096);
 * vmo.opRange(VmoOp.DECOMMIT, 0, 4 * 4096);
 * assert.equal(vmo.info().committedBytes, 0);
 * ```
 */
export const VmoOp = {
  COMMIT: 1,
  DECOMMIT: 2,
  LOCK: 3,
  UNLOCK: 4,
  CACHE_SYNC: 6,
  CACHE_INVALIDATE: 7,
  CACHE_CLEAN: 8,
  CACHE_CLEAN_INVALIDATE: 9,
  ZERO: 10,
  TRY_LOCK: 11,
  DONT_NEED: 12,
  ALWAYS_NEED: 13,
  PREFETCH: 14,
} as const;

/**
 * Cache policies of {@linkcode Vmo.setCachePolicy}. Linux gives user space no control over
 * memory types: vmo records the policy and enforces Zircon's rules around it.
 *
 * @example
 * ```ts
 * import { CachePolicy, Vmo } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4096);
 * vmo.setCachePolicy(CachePolicy.UNCACHED);
 * assert.equal(vmo.info().cachePolicy, CachePolicy.UNCACHED);
 * ```
 */
export const CachePolicy = {
  CACHED: 0,
  UNCACHED: 1,
  UNCACHED_DEVICE: 2,
  WRITE_COMBINING: 3,
  MASK: 3,
} as const;

/**
 * Flags of {@linkcode VmoInfo.flags}.
 *
 * @example
 * ```ts
 * import { Vmo, VmoChildOptions, VmoInfoFlags } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4096);
 * using copy = vmo.createChild(VmoChildOptions.SNAPSHOT, 0, 4096);
 * assert.ok(copy.info().flags & VmoInfoFlags.IS_COW_CLONE);
 * ```
 */
export const VmoInfoFlags = {
  TYPE_PAGED: 1 << 0,
  RESIZABLE: 1 << 1,
  IS_COW_CLONE: 1 << 2,
  VIA_HANDLE: 1 << 3,
  VIA_MAPPING: 1 << 4,
  PAGER_BACKED: 1 << 5,
  CONTIGUOUS: 1 << 6,
  DISCARDABLE: 1 << 7,
  IMMUTABLE: 1 << 8,
} as const;
