/**
 * Virtual memory objects.
 *
 * @module
 */

export { Vmo } from "./vmo.ts";
export type { FromFdOptions, FromFileOptions } from "./fd.ts";
export type { VmoInfo } from "./properties.ts";
export { CachePolicy, VmoChildOptions, VmoInfoFlags, VmoOp, VmoOptions } from "./constants.ts";
