/**
 * Guest memory: hyperlight's guard-paged shared memory, rust-vmm vm-memory's mmap regions and
 * guest-physical address space with dirty tracking, and OpenVMM's sharing.
 *
 * @module
 */

export { ExclusiveSharedMemory, GuestSharedMemory } from "./shared_memory.ts";
export { HostSharedMemory } from "./host_memory.ts";
export { MapFlags, Prot } from "./constants.ts";
export type { Bitmap } from "./bitmap.ts";
export { VolatileSlice } from "./volatile_slice.ts";
export { FileOffset, MmapRegion, type MmapRegionOptions } from "./mmap_region.ts";
export { GuestRegionMmap } from "./guest_region.ts";
export { GuestMemoryMmap } from "./guest_memory.ts";
export { GuestMemorySharing, type ShareableRegion } from "./sharing.ts";
