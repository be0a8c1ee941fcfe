/**
 * Safe access to mapped bytes: shared buffers, slices, and owned mappings.
 *
 * @module
 */

export { SharedBuffer, SharedBufferSlice, SharedBufferSliceMut } from "./shared_buffer.ts";
export { ImmutableMapping, Mapping } from "./mapping.ts";
