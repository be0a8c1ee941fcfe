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
  Vmar,
  VmarFlags,
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

Deno.test("generated host accessors: memory protected read-only reads at every width, refuses writes", () => {
  const [host, guest] = ExclusiveSharedMemory.create(PAGE_SIZE).build();
  host.writeU64(8, 0x1122_3344_5566_7788n);
  host.writeF64(16, -1.5);
  host.writeI16(PAGE_SIZE - 2, -7);
  // The buffer is the library's own mapping; the root VMAR can still take WRITE from it. No
  // view can be had over read-only memory (views need read-write): reads copy instead.
  Vmar.root().protect(host.baseAddr(), PAGE_SIZE, VmarFlags.PERM_READ);
  assert.equal(host.readU64(8), 0x1122_3344_5566_7788n);
  assert.equal(host.readU32(8), 0x5566_7788);
  assert.equal(host.readU8(15), 0x11);
  assert.equal(host.readF64(16), -1.5);
  assert.equal(host.readI16(PAGE_SIZE - 2), -7);
  assertStatus(() => host.readU16(PAGE_SIZE - 1), Status.OUT_OF_RANGE);
  assertStatus(() => host.writeU32(8, 1), Status.ACCESS_DENIED);
  assert.equal(host.readU32(8), 0x5566_7788, "a refused write wrote nothing");
  // Nothing left to read: reads are refused too, never a fault.
  Vmar.root().protect(host.baseAddr(), PAGE_SIZE, 0);
  assertStatus(() => host.readU64(8), Status.ACCESS_DENIED);
  // Through a parent VMAR protect only removes (Zircon's rule): the memory stays as it is.
  assertStatus(
    () => Vmar.root().protect(host.baseAddr(), PAGE_SIZE, VmarFlags.PERM_READ),
    Status.ACCESS_DENIED,
  );
  host.close();
  guest.close();
});

Deno.test("generated host accessors: the lock closes the fast path of every host, then reopens it", () => {
  const [host, guest] = ExclusiveSharedMemory.create(PAGE_SIZE).build();
  const other = host.clone();
  // Hot fast paths first (the fast path tests only the cached view: the lock must empty it).
  for (let i = 0; i < 20_000; i++) {
    host.writeU64(8, BigInt(i));
    other.writeU32(16, i);
  }
  const held = (fn: () => void) => {
    assertStatus(() => host.writeU64(8, 1n), Status.SHOULD_WAIT);
    assertStatus(() => other.writeU32(16, 1), Status.SHOULD_WAIT);
    assertStatus(() => host.readU64(8), Status.SHOULD_WAIT);
    assertStatus(() => other.readU8(0), Status.SHOULD_WAIT);
    fn();
  };
  host.withExclusivity((ex) => held(() => assert.equal(ex.asSlice()[8], 19_999 & 0xff)));
  // The guest side shares the lock, and parks the hosts too.
  guest.withExclusivity((ex) => held(() => assert.equal(ex.asSlice()[16], 19_999 & 0xff)));
  // Free again: both take a fresh view.
  host.writeU64(8, 0x1122_3344_5566_7788n);
  other.writeU32(16, 7);
  assert.equal(other.readU64(8), 0x1122_3344_5566_7788n);
  assert.equal(host.readU32(16), 7);
  // A closed clone leaves the lock's list and the other host working.
  other.close();
  host.withExclusivity(() => assertStatus(() => host.writeU8(0, 1), Status.SHOULD_WAIT));
  host.writeU8(0, 1);
  assert.equal(host.readU8(0), 1);
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

Deno.test("generated host writers, hot: every bad offset and value gives its status and writes nothing", () => {
  const [host, guest] = ExclusiveSharedMemory.create(PAGE_SIZE).build();
  const writers: [string, number, unknown, unknown[]][] = [
    // name, size, a good value, bad values (each INVALID_ARGS)
    ["U8", 1, 7, [-1, 256, 1.5, NaN, 1n, "1", null]],
    ["I8", 1, -7, [-129, 128, 0.5, 1n]],
    ["U16", 2, 7, [-1, 65536, 2.5, 1n]],
    ["I16", 2, -7, [-32769, 32768, 1n]],
    ["U32", 4, 7, [-1, 2 ** 32, 3.5, 1n, "7"]],
    ["I32", 4, -7, [-(2 ** 31) - 1, 2 ** 31, 1n]],
    ["U64", 8, 7n, [-1n, 2n ** 64n, 7, "7", null]],
    ["I64", 8, -7n, [-(2n ** 63n) - 1n, 2n ** 63n, 7]],
    ["F32", 4, 1.5, [1n, "1.5", null]],
    ["F64", 8, 1.5, [1n, "1.5", undefined]],
  ];
  let valueOfCalls = 0;
  const sneaky = {
    valueOf() {
      valueOfCalls++;
      return 1;
    },
  };
  const before = new Uint8Array(PAGE_SIZE);
  for (const [name, size, good, bads] of writers) {
    const write = (host as unknown as Record<string, (o: unknown, v: unknown) => void>)[
      `write${name}`
    ].bind(host);
    // Optimized first: the fast path is what is under test.
    for (let i = 0; i < 30_000; i++) write((i * size) % 256, good);
    host.fill(0x5a, 0, PAGE_SIZE);
    host.copyToSlice(before, 0);
    const offsets: [unknown, Status][] = [
      [-1, Status.INVALID_ARGS],
      [0.5, Status.INVALID_ARGS],
      [NaN, Status.INVALID_ARGS],
      ["8", Status.INVALID_ARGS],
      [8n, Status.INVALID_ARGS],
      [sneaky, Status.INVALID_ARGS],
      [PAGE_SIZE - size + 1, Status.OUT_OF_RANGE],
      [PAGE_SIZE, Status.OUT_OF_RANGE],
      [2 ** 32, Status.OUT_OF_RANGE],
    ];
    for (const [offset, status] of offsets) {
      assertStatus(() => write(offset, good), status, `write${name}(${String(offset)})`);
    }
    for (const bad of [...bads, sneaky]) {
      assertStatus(() => write(8, bad), Status.INVALID_ARGS, `write${name}(8, ${String(bad)})`);
    }
    const after = new Uint8Array(PAGE_SIZE);
    host.copyToSlice(after, 0);
    assert.deepEqual(after, before, `write${name}: a refused write wrote nothing`);
    // Still fast and right after the refusals.
    write(PAGE_SIZE - size, good);
    assert.equal(
      (host as unknown as Record<string, (o: number) => unknown>)[`read${name}`](PAGE_SIZE - size),
      good,
    );
    // Held and closed: the statuses of the slow path.
    host.withExclusivity(() => assertStatus(() => write(0, good), Status.SHOULD_WAIT));
  }
  assert.equal(valueOfCalls, 0, "no writer ran the user's valueOf");
  host.close();
  assertStatus(() => host.writeU64(0, 1n), Status.BAD_STATE);
  assertStatus(() => host.writeU8(0, 1), Status.BAD_STATE);
  guest.close();
});
