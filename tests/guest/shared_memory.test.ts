/**
 * hyperlight's shared memory (docs/guest.md "hyperlight"). The tests named
 * `hyperlight <name>` port the upstream unit test of that name in
 * hyperlight-dev/hyperlight `src/hyperlight_host/src/mem/shared_mem.rs` (its `tests` and
 * `alignment_tests` modules) and `shared_mem_tests.rs` (`read_write_test_suite`); the rest
 * check the lifecycle, statuses and layout this library adds.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ExclusiveSharedMemory,
  GuestSharedMemory,
  type HostSharedMemory,
  PAGE_SIZE,
  Rights,
  Status,
  Vmar,
  Vmo,
} from "../../mod.ts";
import { assertStatus, pattern } from "../_support/mod.ts";
import { countMemfdMappings, procMaps } from "../_support/mod.ts";

const P = PAGE_SIZE;

function built(size = P): [HostSharedMemory, GuestSharedMemory] {
  return ExclusiveSharedMemory.create(size).build();
}

function closeBoth([h, g]: [HostSharedMemory, GuestSharedMemory]): void {
  h.close();
  g.close();
}

Deno.test("hyperlight shared memory: ported upstream tests", async (t) => {
  await t.step("hyperlight fill", () => {
    const pair = built();
    const [h] = pair;
    for (let i = 0; i < 4; i++) h.fill(i + 1, i * 1024, 1024);
    const all = h.withExclusivity((e) => e.copyAllToVec());
    for (let i = 0; i < 4; i++) {
      assert.ok(all.subarray(i * 1024, (i + 1) * 1024).every((x) => x === i + 1));
    }
    h.fill(5, 0, P);
    assert.ok(h.withExclusivity((e) => e.copyAllToVec()).every((x) => x === 5));
    assertStatus(() => h.fill(0, 0, P + 1), Status.OUT_OF_RANGE);
    assertStatus(() => h.fill(0, P, 1), Status.OUT_OF_RANGE);
    assertStatus(() => h.fill(256, 0, 1), Status.INVALID_ARGS);
    closeBoth(pair);
  });

  await t.step("hyperlight bounds_check_overflow", () => {
    const ex = ExclusiveSharedMemory.create(P);
    const max = Number.MAX_SAFE_INTEGER;
    assertStatus(() => ex.copyFromSlice(new Uint8Array(1), max), Status.OUT_OF_RANGE);
    const [h, g] = ex.build();
    assertStatus(() => h.readU8(max), Status.OUT_OF_RANGE);
    assertStatus(() => h.readU64(max - 3), Status.OUT_OF_RANGE);
    assertStatus(() => h.writeU8(max, 0), Status.OUT_OF_RANGE);
    assertStatus(() => h.writeU64(max - 3, 0n), Status.OUT_OF_RANGE);
    assertStatus(() => h.copyToSlice(new Uint8Array(1), max), Status.OUT_OF_RANGE);
    assertStatus(() => h.copyFromSlice(new Uint8Array(1), max), Status.OUT_OF_RANGE);
    assertStatus(() => h.fill(0, max, 1), Status.OUT_OF_RANGE);
    assertStatus(() => h.fill(0, 1, max), Status.OUT_OF_RANGE);
    // Not representable as an offset at all: INVALID_ARGS (the JS form of usize::MAX + 1).
    for (const bad of [-1, 1.5, NaN, Infinity, "0", 2 ** 64]) {
      assertStatus(
        () => h.readU8(bad as number),
        bad === 2 ** 64 ? Status.OUT_OF_RANGE : Status.INVALID_ARGS,
      );
    }
    h.close();
    g.close();
  });

  await t.step("hyperlight atomic_access_observes_exclusivity", () => {
    const pair = built();
    const [h] = pair;
    const other = h.clone();
    h.withExclusivity(() => {
      assertStatus(() => other.readU16(0), Status.SHOULD_WAIT);
      assertStatus(() => other.copyToSlice(new Uint8Array(1), 0), Status.SHOULD_WAIT);
    });
    assert.equal(other.readU16(0), 0);
    other.close();
    closeBoth(pair);
  });

  await t.step("hyperlight copy_into_from", () => {
    const pair = built();
    const [h] = pair;
    const vec = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const offset of [0, P - vec.length, P / 2]) {
      h.copyFromSlice(vec, offset);
      const back = new Uint8Array(vec.length);
      h.copyToSlice(back, offset);
      assert.deepEqual(back, vec);
    }
    const v = new Uint8Array(10);
    assertStatus(() => h.copyToSlice(v, P), Status.OUT_OF_RANGE);
    assertStatus(() => h.copyFromSlice(v, P), Status.OUT_OF_RANGE);
    assertStatus(() => h.copyToSlice(v, P * 2), Status.OUT_OF_RANGE);
    assertStatus(() => h.copyFromSlice(v, P * 2), Status.OUT_OF_RANGE);
    const big = new Uint8Array(P * 2).fill(9);
    assertStatus(() => h.copyToSlice(big, 0), Status.OUT_OF_RANGE);
    assert.ok(big.every((b) => b === 9), "a refused copy touches nothing");
    assertStatus(() => h.copyFromSlice(big, 0), Status.OUT_OF_RANGE);
    assert.equal(h.readU8(0), 1, "a refused copy writes nothing");
    closeBoth(pair);
  });

  await t.step("hyperlight read_write_i32 (read_write_test_suite, property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x1000, max: 0x1000 }), (val) => {
        const ex = ExclusiveSharedMemory.create(P);
        const [h, g] = ex.build();
        try {
          for (const offset of [0, P - 4, P / 2]) {
            h.writeI32(offset, val);
            assert.equal(h.readI32(offset), val);
          }
          assertStatus(() => h.readI32(P - 3), Status.OUT_OF_RANGE);
          assertStatus(() => h.writeI32(P - 3, val), Status.OUT_OF_RANGE);
        } finally {
          h.close();
          g.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  await t.step("hyperlight alloc_fail", () => {
    assertStatus(() => ExclusiveSharedMemory.create(0), Status.INVALID_ARGS);
    assertStatus(() => ExclusiveSharedMemory.create(Number.MAX_SAFE_INTEGER), Status.NO_MEMORY);
    assertStatus(() => ExclusiveSharedMemory.create(-1), Status.INVALID_ARGS);
  });

  await t.step("hyperlight clone", () => {
    const [h1, g] = built();
    const h2 = h1.clone();
    assert.equal(h1.memSize(), h2.memSize());
    assert.equal(h1.baseAddr(), h2.baseAddr());
    h1.copyFromSlice(new TextEncoder().encode("a"), 0);
    h2.copyFromSlice(new TextEncoder().encode("b"), 1);
    for (const h of [h1, h2]) assert.deepEqual([h.readU8(0), h.readU8(1)], [97, 98]);
    h1.close();
    assert.deepEqual([h2.readU8(0), h2.readU8(1)], [97, 98]);
    h2.copyFromSlice(new TextEncoder().encode("c"), 2);
    assert.equal(h2.readU8(2), 99);
    assertStatus(() => h1.readU8(0), Status.BAD_STATE);
    h2.close();
    g.close();
  });

  await t.step("hyperlight copy_all_to_vec", () => {
    const data = new Uint8Array(P);
    data.set([97, 98, 99]);
    using ex = ExclusiveSharedMemory.create(P);
    ex.copyFromSlice(data, 0);
    assert.deepEqual(ex.copyAllToVec(), data);
  });

  await t.step("hyperlight test_drop: the mapping is gone once every side is dropped", () => {
    const size = P * 17;
    const [h1, g] = built(size);
    const h2 = h1.clone();
    const base = h1.baseAddr();
    // The VMO's pages: once unmapped, memory that had views may stay as anonymous zero pages
    // for a while (the quarantine of docs/semantics.md §7), never as the memfd.
    const has = () =>
      procMaps().some((m) =>
        m.start === base && m.end - m.start === size && m.path.startsWith("/memfd:")
      );
    assert.ok(has());
    h1.close();
    h2.close();
    assert.ok(has(), "the guest side still holds it");
    g.close();
    assert.ok(!has());
  });

  await t.step("hyperlight alignment_tests: copies and fills at every alignment and length", () => {
    const pair = built();
    const [h] = pair;
    for (let start = 0; start < 16; start++) {
      const data = Uint8Array.from({ length: 64 }, (_, i) => i + start);
      h.copyFromSlice(data, start);
      const back = new Uint8Array(64);
      h.copyToSlice(back, start);
      assert.deepEqual(back, data, `copy_with_various_alignments ${start}`);
      h.fill(0, 0, P);
      h.fill(start, start, 64);
      h.copyToSlice(back, start);
      assert.ok(back.every((b) => b === start), `fill_with_various_alignments ${start}`);
    }
    for (const len of [0, 1, 15, 16, 17, 31, 33, 47, 63, 65, 100, 127, 129, 255, 257]) {
      const data = pattern(len, len);
      h.copyFromSlice(data, 7);
      const back = new Uint8Array(len);
      h.copyToSlice(back, 7);
      assert.deepEqual(back, data, `copy length ${len}`);
      h.fill(0, 0, P);
      h.fill(0xcd, 0, len);
      h.copyToSlice(back, 0);
      assert.ok(back.every((b) => b === 0xcd), `fill length ${len}`);
      assert.equal(h.readU8(len), 0, `fill ${len} stops at its end`);
    }
    closeBoth(pair);
  });
});

Deno.test("hyperlight shared memory: lifecycle and layout", async (t) => {
  await t.step("create rounds up; the guards are PROT_NONE pages of its own reservation", () => {
    using ex = ExclusiveSharedMemory.create(P + 1);
    assert.equal(ex.memSize(), 2 * P);
    assert.equal(ex.rawMemSize(), 4 * P);
    const base = ex.baseAddr();
    const maps = procMaps();
    const at = (addr: number) => maps.find((m) => m.start <= addr && addr < m.end)!;
    assert.equal(at(base - 1).perms, "---p", "leading guard");
    assert.equal(at(base).perms, "rw-s");
    assert.equal(at(base + 2 * P - 1).perms, "rw-s");
    assert.equal(at(base + 2 * P).perms, "---p", "trailing guard");
    assert.ok(at(base - 1).start <= base - P && at(base + 2 * P).end >= base + 3 * P);
  });

  await t.step("asSlice/asMutSlice are zero-copy and build() detaches them", () => {
    const ex = ExclusiveSharedMemory.create(P);
    const view = ex.asMutSlice();
    const ro = ex.asSlice();
    view[10] = 7;
    assert.equal(ro[10], 7);
    const [h, g] = ex.build();
    assert.equal(view.length, 0);
    assert.equal(ro.length, 0);
    assert.equal(view[10], undefined);
    assert.equal(h.readU8(10), 7);
    for (const call of [() => ex.asSlice(), () => ex.build(), () => ex.memSize(), () => ex.vmo()]) {
      assertStatus(call, Status.BAD_STATE, "after build");
    }
    ex.close(); // a no-op once built
    assert.equal(h.readU8(10), 7);
    closeBoth([h, g]);
  });

  await t.step("copyFromSlice/copyToSlice of the exclusive phase are all or nothing", () => {
    using ex = ExclusiveSharedMemory.create(P);
    ex.copyFromSlice(new Uint8Array([1, 2]), P - 2);
    assertStatus(() => ex.copyFromSlice(new Uint8Array([9, 9, 9]), P - 2), Status.OUT_OF_RANGE);
    const dst = new Uint8Array(3).fill(5);
    assertStatus(() => ex.copyToSlice(dst, P - 2), Status.OUT_OF_RANGE);
    assert.deepEqual([...dst], [5, 5, 5]);
    assert.deepEqual([...ex.asSlice().subarray(P - 2)], [1, 2]);
    assertStatus(() => ex.copyToSlice([1] as unknown as Uint8Array, 0), Status.INVALID_ARGS);
  });

  await t.step(
    "withExclusivity: SHOULD_WAIT when held, views detached after, build refused",
    () => {
      const [h, g] = built();
      let kept: Uint8Array = new Uint8Array(0);
      let borrowed: ExclusiveSharedMemory | undefined;
      const n = h.withExclusivity((ex) => {
        borrowed = ex;
        kept = ex.asMutSlice();
        kept[0] = 3;
        assertStatus(() => h.withExclusivity(() => 0), Status.SHOULD_WAIT, "nested");
        assertStatus(() => g.withExclusivity(() => 0), Status.SHOULD_WAIT, "the guest side");
        assertStatus(() => h.readU8(0), Status.SHOULD_WAIT, "host access");
        assertStatus(() => ex.build(), Status.BAD_STATE);
        return 42;
      });
      assert.equal(n, 42);
      assert.equal(kept.length, 0);
      assertStatus(() => borrowed!.asSlice(), Status.BAD_STATE);
      assert.equal(h.readU8(0), 3);
      // A throwing fn releases the lock and detaches too.
      assert.throws(() =>
        h.withExclusivity((ex) => {
          kept = ex.asSlice();
          throw new Error("boom");
        }), /boom/);
      assert.equal(kept.length, 0);
      assert.equal(g.withExclusivity((ex) => ex.memSize()), P);
      assertStatus(() => h.withExclusivity(42 as never), Status.INVALID_ARGS);
      closeBoth([h, g]);
    },
  );

  await t.step("typed accesses of every width, little-endian, values checked", () => {
    const pair = built();
    const [h] = pair;
    h.writeU64(0, 0x0807060504030201n);
    assert.deepEqual(
      [h.readU8(0), h.readU16(0), h.readU32(0), h.readI8(7), h.readI16(6)],
      [1, 0x0201, 0x04030201, 8, 0x0807],
    );
    h.writeI64(8, -2n);
    assert.equal(h.readI64(8), -2n);
    assert.equal(h.readU64(8), 0xffff_ffff_ffff_fffen);
    h.writeI8(16, -1);
    assert.equal(h.readU8(16), 255);
    h.writeI16(18, -300);
    assert.equal(h.readI16(18), -300);
    h.writeI32(20, -5);
    assert.equal(h.readU32(20), 0xffff_fffb);
    h.writeF32(24, 1.5);
    assert.equal(h.readF32(24), 1.5);
    h.writeF64(32, Math.PI);
    assert.equal(h.readF64(32), Math.PI);
    h.writeU16(P - 2, 0xbeef);
    assert.equal(h.readU16(P - 2), 0xbeef);
    assertStatus(() => h.readU16(P - 1), Status.OUT_OF_RANGE);
    assertStatus(() => h.writeF64(P - 7, 0), Status.OUT_OF_RANGE);
    for (
      const [call, what] of [
        [() => h.writeU8(0, 256), "u8 256"],
        [() => h.writeU8(0, -1), "u8 -1"],
        [() => h.writeI8(0, 128), "i8 128"],
        [() => h.writeU16(0, 1.5), "u16 1.5"],
        [() => h.writeU32(0, 2 ** 32), "u32 2^32"],
        [() => h.writeI32(0, 2 ** 31), "i32 2^31"],
        [() => h.writeU64(0, -1n), "u64 -1"],
        [() => h.writeI64(0, 2n ** 63n), "i64 2^63"],
        [() => h.writeU64(0, 1 as never), "u64 number"],
        [() => h.writeF32(0, "1" as never), "f32 string"],
      ] as const
    ) {
      assertStatus(call, Status.INVALID_ARGS, what);
    }
    assert.equal(h.readU8(0), 1, "refused writes wrote nothing");
    closeBoth(pair);
  });

  await t.step("the guest side: buffer() and map(vmo) see the host's bytes", () => {
    const [h, g] = built(2 * P);
    g.buffer().writeU32(P, 0xabcd);
    assert.equal(h.readU32(P), 0xabcd);
    using vmo = h.vmo();
    const mapped = GuestSharedMemory.map(vmo);
    assert.equal(mapped.memSize(), 2 * P);
    assert.notEqual(mapped.baseAddr(), h.baseAddr());
    mapped.buffer().writeU8(3, 9);
    assert.equal(h.readU8(3), 9);
    const base = mapped.baseAddr();
    const maps = procMaps();
    assert.equal(maps.find((m) => m.start <= base - 1 && base - 1 < m.end)!.perms, "---p");
    assert.equal(maps.find((m) => m.start <= base + 2 * P && base + 2 * P < m.end)!.perms, "---p");
    const view = mapped.buffer().bytes();
    mapped.close();
    assert.equal(view.length, 0, "closing the guest mapping detaches its views");
    assertStatus(() => mapped.buffer(), Status.BAD_STATE);
    assertStatus(() => GuestSharedMemory.map(Vmar.root() as never), Status.WRONG_TYPE);
    assertStatus(() => GuestSharedMemory.map(h as never), Status.BAD_HANDLE);
    using empty = Vmo.create(0);
    assertStatus(() => GuestSharedMemory.map(empty), Status.INVALID_ARGS);
    // A handle without WRITE (or without MAP) cannot map the guest's read-write layout, and
    // the failed attempt leaves nothing behind.
    // Counted by what vmo could leave: memfd mappings and the root's records (the line count of
    // /proc/self/maps also moves with the JS heap).
    const mapsBefore = [countMemfdMappings(), Vmar.root().infoMaps().length];
    using readOnly = vmo.duplicate(Rights.READ | Rights.MAP | Rights.DUPLICATE);
    assertStatus(() => GuestSharedMemory.map(readOnly), Status.ACCESS_DENIED);
    using noMap = vmo.duplicate(Rights.READ | Rights.WRITE | Rights.DUPLICATE);
    assertStatus(() => GuestSharedMemory.map(noMap), Status.ACCESS_DENIED);
    assert.deepEqual([countMemfdMappings(), Vmar.root().infoMaps().length], mapsBefore);
    closeBoth([h, g]);
  });

  await t.step("close of both sides unmaps; later calls are BAD_STATE, never a fault", () => {
    const [h, g] = built();
    const buf = g.buffer();
    const view = buf.bytes();
    h.close();
    assert.equal(buf.readU8(0), 0, "still mapped while the guest side lives");
    g.close();
    assert.equal(view.length, 0);
    assertStatus(() => buf.readU8(0), Status.BAD_STATE);
    for (
      const call of [
        () => h.readU8(0),
        () => h.writeU64(0, 1n),
        () => h.copyToSlice(new Uint8Array(1), 0),
        () => h.fill(1, 0, 1),
        () => h.withExclusivity(() => 0),
        () => h.vmo(),
        () => g.vmo(),
        () => g.withExclusivity(() => 0),
      ]
    ) {
      assertStatus(call, Status.BAD_STATE);
    }
    h.close();
    g.close();
  });
});
