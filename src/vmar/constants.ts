/**
 * Option, op and record-type values of the VMAR calls, with Zircon's numbers.
 *
 * @module
 */

/**
 * Options of {@linkcode Vmar.allocate}, {@linkcode Vmar.map} and {@linkcode Vmar.protect}
 * (`zx_vm_option_t`). Bits 24 to 31 hold an alignment: `ALIGN_4KB` asks for a 2^12-aligned
 * address; `ALIGN_1KB` and `ALIGN_2KB` mean page alignment.
 *
 * @example
 * ```ts
 * import { Vmar, VmarFlags } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const root = Vmar.root();
 * const [region, addr] = root.allocate(
 *   0,
 *   1 << 21,
 *   VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.ALIGN_1MB,
 * );
 * assert.equal(addr % (1 << 20), 0);
 * region.destroy();
 * ```
 */
export const VmarFlags = {
  PERM_READ: 1 << 0,
  PERM_WRITE: 1 << 1,
  PERM_EXECUTE: 1 << 2,
  COMPACT: 1 << 3,
  SPECIFIC: 1 << 4,
  SPECIFIC_OVERWRITE: 1 << 5,
  CAN_MAP_SPECIFIC: 1 << 6,
  CAN_MAP_READ: 1 << 7,
  CAN_MAP_WRITE: 1 << 8,
  CAN_MAP_EXECUTE: 1 << 9,
  MAP_RANGE: 1 << 10,
  REQUIRE_NON_RESIZABLE: 1 << 11,
  ALLOW_FAULTS: 1 << 12,
  OFFSET_IS_UPPER_LIMIT: 1 << 13,
  PERM_READ_IF_XOM_UNSUPPORTED: 1 << 14,
  /** Zircon's stream-size fault option; vmo does not implement it (`NOT_SUPPORTED`). */
  FAULT_BEYOND_STREAM_SIZE: 1 << 15,
  ALIGN_1KB: 10 << 24,
  ALIGN_2KB: 11 << 24,
  ALIGN_4KB: 12 << 24,
  ALIGN_8KB: 13 << 24,
  ALIGN_16KB: 14 << 24,
  ALIGN_32KB: 15 << 24,
  ALIGN_64KB: 16 << 24,
  ALIGN_128KB: 17 << 24,
  ALIGN_256KB: 18 << 24,
  ALIGN_512KB: 19 << 24,
  ALIGN_1MB: 20 << 24,
  ALIGN_2MB: 21 << 24,
  ALIGN_4MB: 22 << 24,
  ALIGN_8MB: 23 << 24,
  ALIGN_16MB: 24 << 24,
  ALIGN_32MB: 25 << 24,
  ALIGN_64MB: 26 << 24,
  ALIGN_128MB: 27 << 24,
  ALIGN_256MB: 28 << 24,
  ALIGN_512MB: 29 << 24,
  ALIGN_1GB: 30 << 24,
  ALIGN_2GB: 31 << 24,
  ALIGN_4GB: 32 << 24,
} as const;

/**
 * Operations of {@linkcode Vmar.opRange}.
 *
 * @example
 * ```ts
 * import { Vmar, VmarFlags, VmarOp, Vmo } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4 * 4096);
 * const root = Vmar.root();
 * const addr = root.map(0, vmo, 0, 4 * 4096, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
 * root.opRange(VmarOp.COMMIT, addr, 4 * 4096);
 * assert.equal(vmo.info().committedBytes, 4 * 4096);
 * root.unmap(addr, 4 * 4096);
 * ```
 */
export const VmarOp = {
  COMMIT: 1,
  DECOMMIT: 2,
  MAP_RANGE: 3,
  ZERO: 10,
  DONT_NEED: 12,
  ALWAYS_NEED: 13,
  PREFETCH: 14,
} as const;

/**
 * Record types of {@linkcode Vmar.infoMaps}.
 *
 * @example
 * ```ts
 * import { MapInfoType, Vmar } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const [region] = Vmar.root().allocate(0, 1 << 16, 0);
 * assert.equal(region.infoMaps()[0].type, MapInfoType.VMAR);
 * region.destroy();
 * ```
 */
export const MapInfoType = {
  NONE: 0,
  ASPACE: 1,
  VMAR: 2,
  MAPPING: 3,
} as const;
