/**
 * Virtual memory address regions.
 *
 * @module
 */

import "./warm_up.ts";

export { Vmar } from "./vmar.ts";
export type { MapInfo, MappingInfo, VmarInfo } from "./info.ts";
export { MapInfoType, VmarFlags, VmarOp } from "./constants.ts";
export { formatMaps } from "./format.ts";
