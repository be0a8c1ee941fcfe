/**
 * vmo: Fuchsia Zircon's virtual memory objects on Linux, for Deno.
 *
 * A {@linkcode Vmo} is a page-rounded container of bytes on a memfd (or a file) with Zircon's
 * rules for sizes, children (slices, references, snapshots), ops, names and handle rights.
 * Every failure throws a {@linkcode ZxError} carrying a {@linkcode Status}.
 *
 * Run with `--allow-ffi` (vmo calls the C library through Deno FFI).
 *
 * @example
 * ```ts
 * import { Vmo, VmoChildOptions } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(4096);
 * vmo.write(new Uint8Array([1, 2, 3]), 0);
 * using copy = vmo.createChild(VmoChildOptions.SNAPSHOT, 0, 4096);
 * assert.deepEqual([...copy.readToArray(0, 3)], [1, 2, 3]);
 * ```
 *
 * @module
 */

export { Status, statusName, type SyscallCause, ZxError } from "./src/status.ts";
export { DEFAULT_VMAR_RIGHTS, DEFAULT_VMO_RIGHTS, Rights } from "./src/rights.ts";
export { Handle, type HandleBasicInfo, ObjType } from "./src/handle.ts";
export { PAGE_SIZE } from "./src/args.ts";
export * from "./src/vmo/mod.ts";
export * from "./src/vmar/mod.ts";
export * from "./src/mapping/mod.ts";
export * from "./src/guest/mod.ts";
export * from "./src/channel/mod.ts";
export * from "./src/futex/mod.ts";
