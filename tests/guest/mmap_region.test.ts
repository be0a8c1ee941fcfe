/**
 * vm-memory's `MmapRegion` (docs/guest.md "vm-memory"). Tests named `vm-memory <name>` port
 * the upstream test of that name in rust-vmm/vm-memory `src/mmap/unix.rs` (its `tests`
 * module); the rest cover slices, atomics, `computeEndOffset`, dirty bitmaps (the intent of
 * `src/bitmap/mod.rs` `test_volatile_memory`: every writer marks, readers do not) and real
 * huge pages.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  FileOffset,
  MapFlags,
  Mapping,
  MmapRegion,
  PAGE_SIZE,
  Prot,
  Status,
  Vmo,
} from "../../mod.ts";
import { assertStatus, tempFile } from "../_support/mod.ts";
import { readProc } from "../_support/mod.ts";

const P = PAGE_SIZE;
const RW = Prot.READ | Prot.WRITE;

function sizedFile(size: number): string {
  const path = tempFile("");
  Deno.truncateSync(path, size);
  return path;
}

Deno.test("vm-memory MmapRegion: ported upstream tests", async (t) => {
  await t.step("vm-memory test_mmap_region_new", () => {
    assertStatus(() => MmapRegion.create(0), Status.INVALID_ARGS);
    using r = MmapRegion.create(4096);
    assert.equal(r.size(), 4096);
    assert.equal(r.fileOffset(), null);
    assert.equal(r.prot(), RW);
    // Linux difference (module notes): shared, so that it can be handed to another process.
    assert.equal(r.flags(), MapFlags.SHARED | MapFlags.ANONYMOUS | MapFlags.NORESERVE);
  });

  await t.step("vm-memory test_mmap_region_set_hugetlbfs", () => {
    using r = MmapRegion.create(4096);
    assert.equal(r.isHugetlbfs(), null);
    r.setHugetlbfs(false);
    assert.equal(r.isHugetlbfs(), false);
    r.setHugetlbfs(true);
    assert.equal(r.isHugetlbfs(), true);
    assert.equal(r.size(), 4096);
    assertStatus(() => r.setHugetlbfs(1 as never), Status.INVALID_ARGS);
  });

  await t.step("vm-memory test_mmap_region_from_file", () => {
    const path = tempFile(new Uint8Array([1, 2, 3, 4, 5]));
    using f = Deno.openSync(path, { read: true, write: true });
    using r = MmapRegion.fromFile(new FileOffset(f, 0), 5);
    assert.equal(r.size(), 5);
    assert.equal(r.fileOffset()!.start(), 0);
    assert.equal(r.prot(), RW);
    assert.equal(r.flags(), MapFlags.SHARED | MapFlags.NORESERVE);
    const buf = new Uint8Array(5);
    assert.equal(r.asVolatileSlice().read(buf), 5);
    assert.deepEqual([...buf], [1, 2, 3, 4, 5]);
    // Shared: writes reach the file.
    r.asVolatileSlice().writeU8(0, 9);
    assert.equal(Deno.readFileSync(path)[0], 9);
    Deno.removeSync(path);
  });

  await t.step("vm-memory test_mmap_region_build", () => {
    const path = tempFile("");
    using f = Deno.openSync(path, { read: true, write: true });
    const flags = MapFlags.NORESERVE | MapFlags.PRIVATE;
    // offset + size overflows
    assertStatus(
      () => MmapRegion.build(new FileOffset(f, Number.MAX_SAFE_INTEGER), 1000, RW, flags),
      Status.OUT_OF_RANGE,
    );
    // MAP_FIXED
    assertStatus(
      () => MmapRegion.build(new FileOffset(f, 4096), 1000, RW, flags | MapFlags.FIXED),
      Status.INVALID_ARGS,
    );
    // past the end of the (empty) file
    assertStatus(
      () => MmapRegion.build(new FileOffset(f, 4096), 1000, RW, flags),
      Status.OUT_OF_RANGE,
    );
    Deno.truncateSync(path, 1024 * 10);
    // offset not aligned
    assertStatus(
      () => MmapRegion.build(new FileOffset(f, 4095), 1000, RW, flags),
      Status.INVALID_ARGS,
    );
    using r = MmapRegion.build(new FileOffset(f, 4096), 1000, RW, flags);
    assert.equal(r.size(), 1000);
    assert.equal(r.fileOffset()!.start(), 4096);
    assert.equal(r.prot(), RW);
    assert.equal(r.flags(), flags);
    assert.ok(r.owned());
    // PRIVATE: writes stay in this process.
    r.asVolatileSlice().writeU8(0, 7);
    assert.equal(Deno.readFileSync(path)[4096], 0);
    // ... and a tracked region marks every writer (test_volatile_memory).
    using tracked = MmapRegion.build(null, 0x10_0000, RW, MapFlags.PRIVATE, {
      dirtyTracking: true,
    });
    checkVolatileMemory(tracked);
    Deno.removeSync(path);
  });

  await t.step("vm-memory test_mmap_region_build_raw", () => {
    const flags = MapFlags.NORESERVE | MapFlags.PRIVATE;
    assertStatus(() => MmapRegion.unsafeBuildRaw(1, P, RW, flags), Status.INVALID_ARGS);
    using r = MmapRegion.unsafeBuildRaw(0, P, RW, flags);
    assert.equal(r.size(), P);
    assert.equal(r.prot(), RW);
    assert.equal(r.flags(), flags);
    assert.ok(!r.owned());
  });

  await t.step("vm-memory test_mmap_region_fds_overlap", () => {
    const path = sizedFile(1024 * 10);
    using a = Deno.openSync(path, { read: true, write: true });
    const r1 = MmapRegion.fromFile(new FileOffset(a, 0), 4096);
    const r2 = MmapRegion.fromFile(new FileOffset(a, 4096), 4096);
    assert.ok(!r1.fdsOverlap(r2));
    const r3 = MmapRegion.fromFile(new FileOffset(a, 0), 5000);
    assert.ok(r3.fdsOverlap(r2));
    const r4 = MmapRegion.fromFile(new FileOffset(a, 0), 1000);
    assert.ok(r3.fdsOverlap(r4));
    const other = sizedFile(1024 * 10);
    using b = Deno.openSync(other, { read: true, write: true });
    const r5 = MmapRegion.fromFile(new FileOffset(b, 0), 5000);
    assert.ok(!r3.fdsOverlap(r5));
    const r6 = MmapRegion.create(5000);
    assert.ok(!r3.fdsOverlap(r6));
    // The same file reached as a path's FsFile and as a Vmo is the same file.
    using vmo = Vmo.fromFile(path, { writable: true });
    const r7 = MmapRegion.fromFile(new FileOffset(vmo, 4096), 100);
    assert.ok(r7.fdsOverlap(r2));
    for (const r of [r1, r2, r3, r4, r5, r6, r7]) r.close();
    Deno.removeSync(path);
    Deno.removeSync(other);
  });

  await t.step("vm-memory test_dirty_tracking", () => {
    using m = MmapRegion.create(0x1_0000, { dirtyTracking: true });
    checkVolatileMemory(m);
  });
});

/**
 * The intent of vm-memory's `bitmap::tests::test_volatile_memory`: nothing dirty at first,
 * reads mark nothing, each kind of write marks exactly its pages, and resets clear them.
 */
function checkVolatileMemory(region: MmapRegion): void {
  const bitmap = region.bitmap()!;
  assert.ok(bitmap !== null);
  assert.deepEqual(bitmap.dirtyPages(), []);
  const slice = region.asVolatileSlice();
  const dst = new Uint8Array(64);
  slice.readAt(P + 10, dst);
  slice.readU64(2 * P);
  slice.copyTo(dst);
  region.getSlice(3 * P, 16).readU32(0);
  assert.deepEqual(bitmap.dirtyPages(), [], "reads mark nothing");
  slice.writeAt(P - 2, new Uint8Array(4)); // pages 0 and 1
  assert.deepEqual(bitmap.dirtyPages(), [0, 1]);
  assert.ok(bitmap.dirtyAt(P - 1) && bitmap.dirtyAt(P) && !bitmap.dirtyAt(2 * P));
  region.getSlice(3 * P, 16).writeU16(14, 1); // page 3 through a sub-slice at an offset
  slice.subslice(5 * P, P).offset(8).writeU64(0, 1n); // page 5
  slice.writeF64(7 * P, 1);
  slice.writeU8(8 * P, 1);
  slice.writeU32(9 * P, 1);
  slice.writeI32(10 * P, -1);
  slice.writeF32(11 * P, 1);
  slice.copyFrom(new Uint8Array(1)); // page 0
  assert.deepEqual(bitmap.dirtyPages(), [0, 1, 3, 5, 7, 8, 9, 10, 11]);
  bitmap.resetAddrRange(P, 3 * P); // pages 1..3
  assert.deepEqual(bitmap.dirtyPages(), [0, 5, 7, 8, 9, 10, 11]);
  assert.deepEqual(bitmap.getAndReset(), [0, 5, 7, 8, 9, 10, 11]);
  assert.deepEqual(bitmap.dirtyPages(), []);
  // A refused write marks nothing.
  assertStatus(() => slice.writeU32(region.len() - 2, 1), Status.OUT_OF_RANGE);
  assert.deepEqual(bitmap.dirtyPages(), []);
  assert.equal(bitmap.dirtyAt(region.len() + 1), false);
}

Deno.test("MmapRegion: slices, atomics, bounds, close", async (t) => {
  await t.step("getSlice bounds and computeEndOffset", () => {
    using r = MmapRegion.create(2 * P);
    assert.equal(r.getSlice(2 * P, 0).len(), 0);
    assertStatus(() => r.getSlice(2 * P, 1), Status.OUT_OF_RANGE);
    assertStatus(() => r.getSlice(Number.MAX_SAFE_INTEGER, 2), Status.OUT_OF_RANGE);
    assertStatus(() => r.getSlice(-1, 1), Status.INVALID_ARGS);
    const s = r.getSlice(100, 50);
    assert.equal(s.len(), 50);
    assertStatus(() => s.subslice(40, 11), Status.OUT_OF_RANGE);
    assertStatus(() => s.offset(51), Status.OUT_OF_RANGE);
    assert.equal(s.writeAt(45, new Uint8Array(10)), 5, "a slice write stops at its end");
    assertStatus(() => s.readAt(51, new Uint8Array(1)), Status.OUT_OF_RANGE);
    assert.equal(r.computeEndOffset(P, P), 2 * P);
    assertStatus(() => r.computeEndOffset(P, P + 1), Status.OUT_OF_RANGE);
    assertStatus(() => r.computeEndOffset(Number.MAX_SAFE_INTEGER, 1), Status.OUT_OF_RANGE);
  });

  await t.step("getAtomicRef: aligned length-1 views for Atomics", () => {
    using r = MmapRegion.create(P);
    const i32 = r.getAtomicRef(8, "i32") as Int32Array;
    assert.equal(i32.length, 1);
    Atomics.add(i32, 0, 5);
    assert.equal(r.asVolatileSlice().readI32(8), 5);
    const u64 = r.getAtomicRef(16, "u64") as BigUint64Array;
    Atomics.store(u64, 0, 2n ** 64n - 1n);
    assert.equal(r.asVolatileSlice().readU64(16), 2n ** 64n - 1n);
    assert.equal((r.getAtomicRef(8, "u32") as Uint32Array)[0], 5);
    assert.equal((r.getAtomicRef(16, "i64") as BigInt64Array)[0], -1n);
    assertStatus(() => r.getAtomicRef(2, "i32"), Status.INVALID_ARGS);
    assertStatus(() => r.getAtomicRef(4, "u64"), Status.INVALID_ARGS);
    assertStatus(() => r.getAtomicRef(P - 4, "i64"), Status.OUT_OF_RANGE);
    assertStatus(() => r.getAtomicRef(0, "f64" as never), Status.INVALID_ARGS);
    r.close();
    assert.equal(i32.length, 0, "closing detaches the atomic views");
  });

  await t.step("build: every refused prot and flag combination", () => {
    const bad: [number, number, Status][] = [
      [RW, 0, Status.INVALID_ARGS], // neither SHARED nor PRIVATE
      [RW, MapFlags.SHARED | MapFlags.PRIVATE, Status.INVALID_ARGS],
      [RW, MapFlags.SHARED | 0x80000000, Status.INVALID_ARGS],
      [0x10, MapFlags.SHARED, Status.INVALID_ARGS],
      [RW, MapFlags.SHARED | MapFlags.FIXED, Status.INVALID_ARGS],
      [-1, MapFlags.SHARED, Status.INVALID_ARGS],
    ];
    for (const [prot, flags, status] of bad) {
      assertStatus(() => MmapRegion.build(null, P, prot, flags), status, `${prot} ${flags}`);
    }
    assertStatus(() => MmapRegion.build(null, 0, RW, MapFlags.SHARED), Status.INVALID_ARGS);
    assertStatus(() => MmapRegion.build({} as never, P, RW, MapFlags.SHARED), Status.INVALID_ARGS);
    const path = sizedFile(P);
    const f = Deno.openSync(path, { read: true, write: true });
    assertStatus(
      () => MmapRegion.build(new FileOffset(f, 0), P, RW, MapFlags.SHARED | MapFlags.HUGETLB),
      Status.INVALID_ARGS,
    );
    f.close();
    // A read-only file cannot be mapped writable and shared (no read-write fd of it is open).
    using ro = Deno.openSync(path, { read: true });
    assertStatus(() => MmapRegion.fromFile(new FileOffset(ro, 0), P), Status.ACCESS_DENIED);
    using readOnly = MmapRegion.build(new FileOffset(ro, 0), P, Prot.READ, MapFlags.SHARED);
    assert.equal(readOnly.asVolatileSlice().readU8(0), 0);
    assertStatus(() => readOnly.asVolatileSlice().writeU8(0, 1), Status.ACCESS_DENIED);
    Deno.removeSync(path);
  });

  await t.step("file regions: no views (NOT_SUPPORTED), copies still work", () => {
    const path = sizedFile(P);
    using f = Deno.openSync(path, { read: true, write: true });
    using r = MmapRegion.fromFile(new FileOffset(f, 0), P);
    assertStatus(() => r.getAtomicRef(0, "i32"), Status.NOT_SUPPORTED);
    assertStatus(() => r.asVolatileSlice().bytes(), Status.NOT_SUPPORTED);
    r.asVolatileSlice().writeU32(4, 0x01020304);
    assert.equal(r.getSlice(4, 4).readU32(0), 0x01020304);
    Deno.removeSync(path);
  });

  await t.step("PROT_NONE: accesses are ACCESS_DENIED, not faults", () => {
    using r = MmapRegion.build(null, P, Prot.NONE, MapFlags.PRIVATE);
    assertStatus(() => r.asVolatileSlice().readU8(0), Status.ACCESS_DENIED);
    assertStatus(() => r.asVolatileSlice().writeU8(0, 1), Status.ACCESS_DENIED);
    assertStatus(() => r.asVolatileSlice().bytes(), Status.ACCESS_DENIED);
  });

  await t.step("close: BAD_STATE after, views detached, slices refuse", () => {
    const r = MmapRegion.create(P);
    const slice = r.getSlice(0, 16);
    const view = slice.bytes();
    view[0] = 1;
    r.close();
    r.close();
    assert.equal(view.length, 0);
    assertStatus(() => slice.readU8(0), Status.BAD_STATE);
    assertStatus(() => slice.writeU8(0, 1), Status.BAD_STATE);
    assertStatus(() => r.size(), Status.BAD_STATE);
    assertStatus(() => r.getSlice(0, 1), Status.BAD_STATE);
  });

  await t.step("unsafeBuildRaw over memory mapped elsewhere", () => {
    const [mapping, vmo] = Mapping.allocate(P);
    mapping.writeU32(4, 77);
    const raw = MmapRegion.unsafeBuildRaw(mapping.addr, P, RW, MapFlags.SHARED);
    assert.equal(raw.asVolatileSlice().readU32(4), 77);
    raw.getSlice(8, 4).writeU32(0, 5);
    assert.equal(mapping.readU32(8), 5);
    assertStatus(() => raw.getSlice(P, 1), Status.OUT_OF_RANGE);
    raw.close();
    assert.equal(mapping.readU32(8), 5, "closing a raw region unmaps nothing");
    mapping.close();
    vmo.close();
  });
});

Deno.test("MmapRegion: huge pages (MFD_HUGETLB, reserved up front)", async (t) => {
  const free = Number(/HugePages_Free:\s+(\d+)/.exec(readProc("/proc/meminfo"))?.[1] ?? 0);
  const hugeSize = Number(/Hugepagesize:\s+(\d+)/.exec(readProc("/proc/meminfo"))?.[1] ?? 2048) *
    1024;
  await t.step("more huge pages than the kernel has: NO_RESOURCES, never a fault", () => {
    const err = assertStatus(
      () => MmapRegion.create((free + 1) * hugeSize, { hugetlb: true }),
      Status.NO_RESOURCES,
    );
    assert.equal((err.cause as { syscall: string }).syscall, "fallocate");
    assertStatus(
      () => MmapRegion.build(null, (free + 1) * hugeSize, RW, MapFlags.SHARED | MapFlags.HUGETLB),
      Status.NO_RESOURCES,
    );
  });
  await t.step("a huge-page region works when the kernel has pages", () => {
    if (free < 1) {
      console.log(
        "skipped: /proc/sys/vm/nr_hugepages gives no free huge page (as root: " +
          "echo 4 > /proc/sys/vm/nr_hugepages)",
      );
      return;
    }
    using r = MmapRegion.create(hugeSize, { hugetlb: true, dirtyTracking: true });
    assert.equal(r.isHugetlbfs(), true);
    assert.equal(r.address() % hugeSize, 0);
    r.asVolatileSlice().writeU64(hugeSize - 8, 5n);
    assert.equal(r.asVolatileSlice().readU64(hugeSize - 8), 5n);
    assert.deepEqual(r.bitmap()!.dirtyPages(), [hugeSize / P - 1]);
  });
});
