/**
 * Virtual memory address regions.
 *
 * @module
 */

export { Vmar } from "./vmar.ts";
export type { MapInfo, MappingInfo, VmarInfo } from "./info.ts";
export { MapInfoType, VmarFlags, VmarOp } from "./constants.ts";
export { formatMaps } from "./format.ts";
