/**
 * Run by tests/guest/leak.test.ts in a child `deno run --v8-flags=--expose-gc --allow-ffi`:
 * drops hyperlight memories (exclusive, built host and guest sides, a guest mapping), mmap
 * regions and guest memories without closing them, while a guest's buffer and a region's slice
 * are kept and used, collects garbage, and prints the memfd mappings and reservation lines
 * before, during and after, and whether the kept buffer and slice still worked after it.
 *
 * @module
 */

import {
  ExclusiveSharedMemory,
  GuestMemoryMmap,
  GuestSharedMemory,
  MmapRegion,
} from "../../../mod.ts";
import { countMemfdMappings, procMaps } from "../../_support/mod.ts";

const gc = (globalThis as unknown as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");

const reservations = () => procMaps().filter((m) => m.perms === "---p" && m.path === "").length;
const before = { maps: countMemfdMappings(), reserved: reservations() };

function makeGarbage(): void {
  for (let i = 0; i < 20; i++) {
    ExclusiveSharedMemory.create(4096).asSlice()[0] = 1;
    const [host, guest] = ExclusiveSharedMemory.create(4096).build();
    host.writeU8(0, i);
    using vmo = guest.vmo();
    GuestSharedMemory.map(vmo).buffer().writeU8(1, i);
    MmapRegion.create(4096).asVolatileSlice().writeU8(0, i);
    GuestMemoryMmap.fromRanges([[0, 4096], [4096, 4096]]).writeU8(4095, i);
  }
}

// A slice kept while its region is dropped: it must keep the region mapped.
function keptSlice() {
  const slice = MmapRegion.create(4096).getSlice(8, 8);
  slice.writeU64(0, 77n);
  return slice;
}

// A buffer kept while its guest object is dropped: it must keep the memory alive.
function keptBuffer() {
  const [host, guest] = ExclusiveSharedMemory.create(4096).build();
  host.close();
  const buffer = guest.buffer();
  buffer.writeU32(0, 0xabcd);
  return buffer;
}

makeGarbage();
const kept = keptBuffer();
const keptRegionSlice = keptSlice();
const during = { maps: countMemfdMappings(), reserved: reservations() };
let after = during;
for (let round = 0; round < 50 && after.maps > before.maps + 2; round++) {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 10));
  after = { maps: countMemfdMappings(), reserved: reservations() };
}
const keptValue = kept.readU32(0);
const keptSliceValue = Number(keptRegionSlice.readU64(0));
console.log(`RESULT ${JSON.stringify({ before, during, after, keptValue, keptSliceValue })}`);
