/**
 * Virtual memory objects.
 *
 * @module
 */

export { type FromFdOptions, type FromFileOptions, Vmo, type VmoInfo } from "./vmo.ts";
export { CachePolicy, VmoChildOptions, VmoInfoFlags, VmoOp, VmoOptions } from "./constants.ts";
