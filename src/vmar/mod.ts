/**
 * Virtual memory address regions.
 *
 * @module
 */

export { type MapInfo, type MappingInfo, Vmar, type VmarInfo } from "./vmar.ts";
export { MapInfoType, VmarFlags, VmarOp } from "./constants.ts";
export { formatMaps } from "./format.ts";
