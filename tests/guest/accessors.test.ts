/**
 * The guest-memory targets of tools/gen_accessors.ts (the value tests of their extra rows are in
 * tests/tools/gen_accessors.test.ts): every generated writer of every target behaves the same on
 * its fast path (a live cached view) and its slow path (none yet, or a region in another
 * shape): same values stored, same statuses, the same pages marked dirty.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ExclusiveSharedMemory,
  FileOffset,
  GuestMemoryMmap,
  MmapRegion,
  PAGE_SIZE,
  Status,
} from "../../mod.ts";
import { assertStatus, tempFile } from "../_support/mod.ts";

Deno.test("generated host accessors: fast and slow paths agree", () => {
  const [host, guest] = ExclusiveSharedMemory.create(PAGE_SIZE).build();
  const other = host.clone();
  // `other` takes the slow path while `host` holds nothing: both see the same bytes.
  host.writeI8(0, -2);
  host.writeI16(2, -300);
  host.writeI64(8, -(2n ** 62n));
  assert.deepEqual([other.readI8(0), other.readI16(2), other.readI64(8)], [-2, -300, -(2n ** 62n)]);
  for (
    const [write, bad] of [[(v: unknown) => host.writeI8(0, v as number), 128], [
      (v: unknown) => host.writeI16(0, v as number),
      -32769,
    ], [(v: unknown) => host.writeI64(0, v as bigint), 2n ** 63n]] as const
  ) {
    assertStatus(() => write(bad), Status.INVALID_ARGS);
  }
  // While held, the fast path is closed: SHOULD_WAIT, not a read.
  host.withExclusivity(() => assertStatus(() => other.readI64(8), Status.SHOULD_WAIT));
  other.close();
  host.close();
  guest.close();
});

Deno.test("generated slice and guest accessors: a file region (no view) behaves as a memfd one", () => {
  const path = tempFile("");
  Deno.truncateSync(path, 2 * PAGE_SIZE);
  using file = Deno.openSync(path, { read: true, write: true });
  using mem = GuestMemoryMmap.fromRangesWithFiles([
    [0, PAGE_SIZE, new FileOffset(file, 0)],
    [PAGE_SIZE, PAGE_SIZE, null],
  ], { dirtyTracking: true });
  for (const addr of [8, PAGE_SIZE + 8, PAGE_SIZE - 4]) {
    mem.writeU64(addr, 0x0102030405060708n);
    assert.equal(mem.readU64(addr), 0x0102030405060708n);
    mem.writeF64(addr, -1.5);
    assert.equal(mem.readF64(addr), -1.5);
    assertStatus(() => mem.writeU32(addr, -1), Status.INVALID_ARGS);
  }
  assert.deepEqual(mem.dirtyPages(), [[0, 2]]);
  assert.equal(new DataView(Deno.readFileSync(path).buffer).getFloat64(8, true), -1.5);
  using region = MmapRegion.create(PAGE_SIZE, { dirtyTracking: true });
  const slice = region.getSlice(100, 16);
  slice.writeU16(14, 0xffff);
  assertStatus(() => slice.writeU16(15, 1), Status.OUT_OF_RANGE);
  assertStatus(() => slice.writeU8(0, 256), Status.INVALID_ARGS);
  assert.equal(region.asVolatileSlice().readU16(114), 0xffff);
  assert.deepEqual(region.bitmap()!.dirtyPages(), [0]);
  Deno.removeSync(path);
});
