/**
 * vm-memory's `GuestMemoryMmap` and OpenVMM's sharing (docs/guest.md "vm-memory",
 * "OpenVMM"). Tests named `vm-memory <name>` port the upstream test of that name in
 * rust-vmm/vm-memory `src/mmap/mod.rs` (`tests`), each run over anonymous and file-backed
 * memory as upstream does; `openvmm` tests follow the contract of
 * microsoft/openvmm `vm/vmcore/guestmem/src/lib.rs` `GuestMemorySharing::get_regions`.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  FileOffset,
  GuestMemoryMmap,
  GuestRegionMmap,
  MapFlags,
  Mapping,
  MmapRegion,
  PAGE_SIZE,
  Prot,
  Status,
} from "../../mod.ts";
import { assertStatus, pattern, runDeno, tempFile } from "../_support/mod.ts";
import { CHILD_FLAGS, resultOf } from "./helpers.ts";

const P = PAGE_SIZE;

/** The same layout over fresh memory and over files, as vm-memory's tests do. */
function both(ranges: [number, number][]): [GuestMemoryMmap, GuestMemoryMmap, () => void] {
  const paths = ranges.map(([, size]) => {
    const path = tempFile("");
    Deno.truncateSync(path, size);
    return path;
  });
  const files = paths.map((p) => Deno.openSync(p, { read: true, write: true }));
  const anon = GuestMemoryMmap.fromRanges(ranges);
  const filed = GuestMemoryMmap.fromRangesWithFiles(
    ranges.map(([addr, size], i) => [addr, size, new FileOffset(files[i], 0)]),
  );
  return [anon, filed, () => {
    anon.close();
    filed.close();
    for (const f of files) f.close();
    for (const p of paths) Deno.removeSync(p);
  }];
}

Deno.test("vm-memory GuestMemoryMmap: ported upstream tests", async (t) => {
  await t.step("vm-memory test_to_region_addr / test_get_host_address (findRegion)", () => {
    const [a, b, done] = both([[0, 0x400], [0x800, 0x400]]);
    for (const gm of [a, b]) {
      assert.equal(gm.findRegion(0x600), undefined);
      const r0 = gm.findRegion(0x800)!;
      const r1 = gm.findRegion(0xa00)!;
      assert.equal(r0, r1);
      assert.equal(r0.startAddr(), 0x800);
      assert.equal(0xa00 - r1.startAddr(), 0x200);
      assert.ok(!gm.checkAddress(0x600) && gm.checkAddress(0xbff) && !gm.checkAddress(0xc00));
    }
    done();
  });

  await t.step("vm-memory test_check_range", () => {
    using gm = GuestMemoryMmap.fromRanges([[0, 0x400], [0x800, 0x400], [0xc00, 0x400]]);
    assert.ok(gm.checkRange(0, 0));
    assert.ok(gm.checkRange(0, 0x200));
    assert.ok(gm.checkRange(0, 0x400));
    assert.ok(!gm.checkRange(0, 0xa00));
    assert.ok(gm.checkRange(0x800, 0x7ff));
    assert.ok(gm.checkRange(0x800, 0x800));
    assert.ok(!gm.checkRange(0x800, 0x801));
    assert.ok(!gm.checkRange(0x800, 0xc00));
    assert.ok(!gm.checkRange(0, Number.MAX_SAFE_INTEGER));
  });

  await t.step("vm-memory test_deref", () => {
    const [a, b, done] = both([[0, 0x400]]);
    for (const gm of [a, b]) {
      assert.equal(gm.write(new Uint8Array([1, 2, 3, 4, 5]), 0), 5);
      const buf = new Uint8Array(5);
      assert.equal(gm.findRegion(0)!.region().asVolatileSlice().read(buf), 5);
      assert.deepEqual([...buf], [1, 2, 3, 4, 5]);
    }
    done();
  });

  await t.step("vm-memory test_read_u64", () => {
    const [a, b, done] = both([[0, 0x1000], [0x1000, 0x1000]]);
    for (const gm of [a, b]) {
      assertStatus(() => gm.writeU64(0x2001, 1n), Status.OUT_OF_RANGE, "bad_addr");
      assertStatus(() => gm.writeU64(0x2000, 1n), Status.OUT_OF_RANGE, "max_addr");
      assertStatus(() => gm.readU64(0x2001), Status.OUT_OF_RANGE);
      // bad_addr2 (0x1ffc): the last 4 bytes, an 8-byte value does not fit.
      assertStatus(() => gm.writeU64(0x1ffc, 1n), Status.OUT_OF_RANGE);
      gm.writeU64(0x1000, 0x1122334455667788n);
      assert.equal(gm.readU64(0x1000), 0x1122334455667788n);
      gm.writeU64(0x1ff8, 42n);
      assert.equal(gm.readU64(0x1ff8), 42n);
    }
    done();
  });

  await t.step("vm-memory test_access_cross_boundary", () => {
    const [a, b, done] = both([[0, 0x1000], [0x1000, 0x1000]]);
    for (const gm of [a, b]) {
      assert.equal(gm.write(new Uint8Array([1, 2, 3, 4, 5]), 0xffc), 5);
      const buf = new Uint8Array(5);
      assert.equal(gm.read(buf, 0xffc), 5);
      assert.deepEqual([...buf], [1, 2, 3, 4, 5]);
      // typed accesses across the boundary too
      gm.writeU32(0xffe, 0xa1b2c3d4);
      assert.equal(gm.readU32(0xffe), 0xa1b2c3d4);
    }
    done();
  });

  await t.step("vm-memory test_retrieve_fd_backing_memory_region", () => {
    const [a, b, done] = both([[0, 0x400]]);
    assert.equal(a.findRegion(0)!.region().fileOffset(), null);
    assert.equal(b.findRegion(0)!.region().fileOffset()!.start(), 0);
    done();
  });

  await t.step("vm-memory test_guest_memory_mmap_get_slice / get_slice", () => {
    using gm = GuestMemoryMmap.fromRanges([[0, 0x400], [0x1000, 0x400]]);
    const s = gm.getSlice(0x1100, 0x100);
    assert.equal(s.len(), 0x100);
    s.writeU8(0, 9);
    assert.equal(gm.readU8(0x1100), 9);
    assert.equal(gm.getSlice(0x1400 - 1, 1).len(), 1);
    assertStatus(() => gm.getSlice(0x3ff, 2), Status.OUT_OF_RANGE, "crosses a region's end");
    assertStatus(() => gm.getSlice(0x500, 1), Status.OUT_OF_RANGE, "in a hole");
    assertStatus(() => gm.getSlice(0x1400, 0), Status.OUT_OF_RANGE, "past the last region");
  });

  await t.step("vm-memory test_guest_memory_mmap_as_volatile_slice", () => {
    using gm = GuestMemoryMmap.fromRanges([[0, 0x400]]);
    const s = gm.findRegion(0)!.region().asVolatileSlice();
    assert.equal(s.len(), 0x400);
    s.write(new Uint8Array([7, 8]));
    assert.equal(gm.readU16(0), 0x0807);
  });

  await t.step("vm-memory test_atomic_accesses", () => {
    using gm = GuestMemoryMmap.fromRanges([[0, 0x1000]]);
    const ref = gm.findRegion(0)!.region().getAtomicRef(0x100, "u32") as Uint32Array;
    Atomics.store(ref, 0, 3);
    assert.equal(Atomics.add(ref, 0, 2), 3);
    assert.equal(gm.readU32(0x100), 5);
  });

  await t.step("vm-memory test_dirty_tracking (guest addresses)", () => {
    using gm = GuestMemoryMmap.fromRanges([[0, 4 * P], [8 * P, 4 * P]], { dirtyTracking: true });
    assert.deepEqual(gm.dirtyPages(), []);
    gm.read(new Uint8Array(3 * P), 0);
    gm.readU64(9 * P);
    gm.getSlice(8 * P, 10).readU8(0);
    assert.deepEqual(gm.dirtyPages(), [], "reads mark nothing");
    gm.write(new Uint8Array(P + 2), P - 1); // pages 0, 1, 2
    gm.writeU32(9 * P + 4, 1); // page 9
    gm.getSlice(11 * P, 8).writeU64(0, 1n); // page 11
    gm.writeSlice(new Uint8Array(1), 3 * P); // page 3
    assert.deepEqual(gm.dirtyPages(), [[0, 4], [9 * P, 1], [11 * P, 1]]);
    gm.resetDirty();
    assert.deepEqual(gm.dirtyPages(), []);
    // untracked memory has no bitmap
    using plain = GuestMemoryMmap.fromRanges([[0, P]]);
    plain.write(new Uint8Array(4), 0);
    assert.deepEqual(plain.dirtyPages(), []);
    assert.equal(plain.findRegion(0)!.region().bitmap(), null);
  });
});

Deno.test("GuestMemoryMmap: holes, overlap, lookup, property", async (t) => {
  await t.step(
    "holes: read/write count up to them; slices and typed refuse and touch nothing",
    () => {
      using gm = GuestMemoryMmap.fromRanges([[0, 0x1000], [0x2000, 0x1000]], {
        dirtyTracking: true,
      });
      const src = pattern(0x20, 3);
      assert.equal(gm.write(src, 0xff0), 0x10);
      const dst = new Uint8Array(0x20);
      assert.equal(gm.read(dst, 0xff0), 0x10);
      assert.deepEqual(dst.subarray(0, 0x10), src.subarray(0, 0x10));
      gm.resetDirty();
      assertStatus(() => gm.writeSlice(src, 0xff0), Status.OUT_OF_RANGE);
      assertStatus(() => gm.readSlice(dst, 0xff0), Status.OUT_OF_RANGE);
      assertStatus(() => gm.writeU64(0xffc, 1n), Status.OUT_OF_RANGE);
      assertStatus(() => gm.readU32(0xffe), Status.OUT_OF_RANGE);
      assertStatus(() => gm.read(dst, 0x1800), Status.OUT_OF_RANGE, "starting in a hole");
      assertStatus(() => gm.write(dst, 0x1800), Status.OUT_OF_RANGE);
      assertStatus(() => gm.readU8(0x3000), Status.OUT_OF_RANGE);
      assert.equal(gm.read(new Uint8Array(0), 0x1800), 0, "an empty read anywhere is 0");
      assert.deepEqual(gm.dirtyPages(), [], "refused writes marked nothing");
      assert.equal(gm.readU8(0xff0), src[0], "refused writes wrote nothing");
      assertStatus(() => gm.readU8(-1), Status.INVALID_ARGS);
      assertStatus(() => gm.read(dst, 1.5), Status.INVALID_ARGS);
      assertStatus(() => gm.write([1] as never, 0), Status.INVALID_ARGS);
    },
  );

  await t.step("construction: overlap refused, empty refused, nothing leaks", () => {
    assertStatus(
      () => GuestMemoryMmap.fromRanges([[0, 0x1000], [0xfff, 0x10]]),
      Status.INVALID_ARGS,
    );
    assertStatus(() => GuestMemoryMmap.fromRanges([]), Status.INVALID_ARGS);
    assertStatus(() => GuestMemoryMmap.fromRanges([[0, 0]]), Status.INVALID_ARGS);
    assertStatus(() => GuestMemoryMmap.fromRanges([[-1, 1]]), Status.INVALID_ARGS);
    assertStatus(
      () => GuestMemoryMmap.fromRanges([[Number.MAX_SAFE_INTEGER, 2]]),
      Status.OUT_OF_RANGE,
    );
    const r1 = new GuestRegionMmap(MmapRegion.create(0x1000), 0x1000);
    const r2 = new GuestRegionMmap(MmapRegion.create(0x1000), 0x1800);
    assertStatus(() => GuestMemoryMmap.fromRegions([r1, r2]), Status.INVALID_ARGS);
    assertStatus(() => GuestMemoryMmap.fromRegions([r1, {} as never]), Status.INVALID_ARGS);
    assertStatus(
      () => new GuestRegionMmap(MmapRegion.create(1), Number.MAX_SAFE_INTEGER),
      Status.OUT_OF_RANGE,
    );
    r2.close();
    // fromRegions sorts
    using gm = GuestMemoryMmap.fromRegions([r1, new GuestRegionMmap(MmapRegion.create(0x10), 0)]);
    assert.deepEqual(gm.regions().map((r) => r.startAddr()), [0, 0x1000]);
    assert.equal(gm.lastAddr(), 0x1fff);
    assert.equal(gm.numRegions(), 2);
    gm.close();
    assertStatus(() => gm.readU8(0), Status.BAD_STATE);
    assertStatus(() => r1.region().size(), Status.BAD_STATE, "the memory closed its regions");
  });

  await t.step("findRegion over 1,000 regions, with holes", () => {
    const ranges: [number, number][] = [];
    for (let i = 0; i < 1000; i++) ranges.push([i * 2 * P, P]);
    using gm = GuestMemoryMmap.fromRanges(ranges);
    for (let i = 0; i < 1000; i += 37) {
      assert.equal(gm.findRegion(i * 2 * P + 5)!.startAddr(), i * 2 * P);
      assert.equal(gm.findRegion(i * 2 * P + P), undefined);
    }
    assert.equal(gm.findRegion(2000 * P), undefined);
  });

  await t.step("property: reads and writes match a flat model of the address space", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 16 * 0x400 }), fc.integer({ min: 0, max: 0x900 })),
          {
            maxLength: 12,
          },
        ),
        (layout, ops) => {
          // regions of 0x400 * n bytes separated by 0x400 * gap bytes
          const ranges: [number, number][] = [];
          let at = 0;
          for (const [gap, n] of layout) {
            at += gap * 0x400;
            ranges.push([at, n * 0x400]);
            at += n * 0x400;
          }
          const model = new Uint8Array(Math.max(at, 16 * 0x400) + 0x1000);
          const mapped = new Uint8Array(model.length);
          for (const [a, s] of ranges) mapped.fill(1, a, a + s);
          using gm = GuestMemoryMmap.fromRanges(ranges);
          let seed = 1;
          for (const [addr, len] of ops) {
            const src = pattern(len, seed++);
            let reach = 0;
            while (addr + reach < mapped.length && reach < len && mapped[addr + reach]) reach++;
            if (len > 0 && (addr >= mapped.length || !mapped[addr])) {
              assertStatus(() => gm.write(src, addr), Status.OUT_OF_RANGE);
              continue;
            }
            assert.equal(gm.write(src, addr), reach);
            model.set(src.subarray(0, reach), addr);
            const back = new Uint8Array(len);
            if (reach === len) {
              gm.readSlice(back, addr);
              assert.deepEqual(back, model.subarray(addr, addr + len));
            } else {
              assertStatus(() => gm.readSlice(back, addr), Status.OUT_OF_RANGE);
              assert.equal(gm.read(back, addr), reach);
              assert.deepEqual(back.subarray(0, reach), model.subarray(addr, addr + reach));
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

Deno.test("openvmm sharing: get_regions contract", async (t) => {
  await t.step("regions, offsets and committed backing", async () => {
    const path = tempFile("");
    Deno.truncateSync(path, 4 * P);
    using file = Deno.openSync(path, { read: true, write: true });
    using gm = GuestMemoryMmap.fromRangesWithFiles([
      [0, 2 * P, null],
      [0x100000, P, new FileOffset(file, 2 * P)],
    ]);
    const sharing = gm.sharing()!;
    assert.ok(sharing !== null);
    const regions = await sharing.getRegions();
    assert.deepEqual(
      regions.map((r) => [r.guestAddress, r.size, r.fileOffset]),
      [[0, 2 * P, 0], [0x100000, P, 2 * P]],
    );
    assert.equal(regions[0].vmo.info().committedBytes, 2 * P, "fully committed");
    gm.writeU8(0x100000, 0x5a);
    assert.equal(regions[1].vmo.readToArray(2 * P, 1)[0], 0x5a);
    for (const r of regions) r.vmo.close();
    Deno.removeSync(path);
  });

  await t.step("null for private and raw regions", () => {
    using priv = GuestMemoryMmap.fromRegions([
      new GuestRegionMmap(MmapRegion.create(P), 0),
      new GuestRegionMmap(MmapRegion.build(null, P, Prot.READ | Prot.WRITE, MapFlags.PRIVATE), P),
    ]);
    assert.equal(priv.sharing(), null);
    const [mapping, vmo] = Mapping.allocate(P);
    const raw = GuestMemoryMmap.fromRegions([
      new GuestRegionMmap(MmapRegion.unsafeBuildRaw(mapping.addr, P, 3, MapFlags.SHARED), 0),
    ]);
    assert.equal(raw.sharing(), null);
    raw.close();
    mapping.close();
    vmo.close();
  });

  await t.step("a commit that fails is an error of getRegions, not a fault later", async () => {
    const path = tempFile("");
    Deno.truncateSync(path, P);
    using ro = Deno.openSync(path, { read: true });
    using gm = GuestMemoryMmap.fromRegions([
      new GuestRegionMmap(
        MmapRegion.build(new FileOffset(ro, 0), P, Prot.READ, MapFlags.SHARED),
        0,
      ),
    ]);
    const sharing = gm.sharing()!;
    await assert.rejects(sharing.getRegions(), (e: unknown) => {
      assertStatus(() => {
        throw e;
      }, Status.ACCESS_DENIED);
      return true;
    });
    gm.close();
    await assert.rejects(sharing.getRegions(), (e: unknown) => {
      assertStatus(() => {
        throw e;
      }, Status.BAD_HANDLE);
      return true;
    });
    Deno.removeSync(path);
  });

  await t.step(
    "round trip: another process maps the regions and sees the host's bytes",
    async () => {
      using gm = GuestMemoryMmap.fromRanges([[0, 3 * P], [0x40000, P]]);
      gm.write(new Uint8Array(3 * P).fill(2), 0);
      gm.write(new Uint8Array(P).fill(3), 0x40000);
      const regions = await gm.sharing()!.getRegions();
      const fds = regions.map((r) => r.vmo.unsafeDupFd());
      const run = await runDeno(CHILD_FLAGS, new URL("./crash/sharing_child.ts", import.meta.url), [
        String(Deno.pid),
        ...regions.map((r, i) => `${fds[i]}:${r.fileOffset}:${r.size}`),
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(resultOf(run.stdout), [
        { first: 2, sum: 2 * 3 * P },
        { first: 3, sum: 3 * P },
      ]);
      assert.equal(gm.readU8(3 * P - 1), 0xee, "the other process's write is seen");
      assert.equal(gm.readU8(0x40000 + P - 1), 0xee);
      for (const r of regions) r.vmo.close();
      const c = Deno.dlopen("libc.so.6", { close: { parameters: ["i32"], result: "i32" } });
      for (const fd of fds) c.symbols.close(fd);
      c.close();
    },
  );
});
