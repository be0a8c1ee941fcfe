import assert from "node:assert/strict";
import {
  CachePolicy,
  DEFAULT_VMO_RIGHTS,
  Rights,
  Status,
  Vmo,
  VmoChildOptions as C,
  VmoOp,
  VmoOptions,
} from "../../mod.ts";
import { allZero, assertStatus, filled, P, pattern, withTempFile } from "../_support/mod.ts";

const MAX = Number.MAX_SAFE_INTEGER;

function without(vmo: Vmo, right: number): Vmo {
  return vmo.duplicate((vmo.rights & ~right) >>> 0);
}

Deno.test("§1.7 unknown op: INVALID_ARGS", async (t) => {
  for (const op of [0, 5, 15, 16, 100, 0xffff_ffff]) {
    await t.step(`op ${op}`, () => {
      using vmo = Vmo.create(P);
      assertStatus(() => vmo.opRange(op, 0, P), Status.INVALID_ARGS);
      using none = vmo.duplicate(Rights.NONE);
      assertStatus(() => none.opRange(op, 0, P), Status.INVALID_ARGS);
    });
  }
});

Deno.test("§1.7 COMMIT", async (t) => {
  await t.step("needs WRITE: ACCESS_DENIED (before range checks)", () => {
    using vmo = Vmo.create(P);
    using ro = without(vmo, Rights.WRITE);
    assertStatus(() => ro.opRange(VmoOp.COMMIT, 0, P), Status.ACCESS_DENIED);
    assertStatus(() => ro.opRange(VmoOp.COMMIT, MAX, 2), Status.ACCESS_DENIED);
  });
  await t.step("offset + size overflow: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(P);
    assertStatus(() => vmo.opRange(VmoOp.COMMIT, MAX, 2), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.opRange(VmoOp.COMMIT, 2, MAX), Status.OUT_OF_RANGE);
  });
  await t.step("rounded end > size: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(2 * P);
    assertStatus(() => vmo.opRange(VmoOp.COMMIT, 0, 2 * P + 1), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.opRange(VmoOp.COMMIT, 2 * P, 1), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.opRange(VmoOp.COMMIT, 2 * P + 1, 0), Status.OUT_OF_RANGE);
    assert.equal(vmo.info().committedBytes, 0);
  });
  await t.step("size 0: OK and commits nothing", () => {
    using vmo = Vmo.create(2 * P);
    vmo.opRange(VmoOp.COMMIT, P, 0);
    vmo.opRange(VmoOp.COMMIT, 2 * P, 0);
    assert.equal(vmo.info().committedBytes, 0);
  });
  await t.step("allocates pages, rounding an unaligned range outward; contents unchanged", () => {
    using vmo = Vmo.create(4 * P);
    vmo.write(new Uint8Array([7]), 0);
    const before = vmo.readToArray(0, 4 * P);
    assert.equal(vmo.info().committedBytes, P);
    vmo.opRange(VmoOp.COMMIT, P + 1, P);
    assert.equal(vmo.info().committedBytes, 3 * P);
    vmo.opRange(VmoOp.COMMIT, 0, 4 * P);
    assert.equal(vmo.info().committedBytes, 4 * P);
    assert.deepEqual(vmo.readToArray(0, 4 * P), before);
  });
  await t.step("through a slice: commits the parent's pages at the slice offset", () => {
    using vmo = Vmo.create(4 * P);
    using slice = vmo.createChild(C.SLICE, 2 * P, 2 * P);
    slice.opRange(VmoOp.COMMIT, 0, P);
    assert.equal(vmo.info().committedBytes, P);
    assert.equal(slice.info().committedBytes, 0);
    assertStatus(() => slice.opRange(VmoOp.COMMIT, P, P + 1), Status.OUT_OF_RANGE);
  });
  await t.step("works on a snapshot", () => {
    using vmo = Vmo.create(2 * P);
    using child = vmo.createChild(C.SNAPSHOT, 0, 2 * P);
    child.opRange(VmoOp.COMMIT, 0, 2 * P);
    assert.equal(child.info().committedBytes, 2 * P);
  });
});

Deno.test("§1.7 DECOMMIT", async (t) => {
  await t.step("needs WRITE: ACCESS_DENIED", () => {
    using vmo = Vmo.create(P);
    using ro = without(vmo, Rights.WRITE);
    assertStatus(() => ro.opRange(VmoOp.DECOMMIT, 0, P), Status.ACCESS_DENIED);
  });
  await t.step("offset + size > size or overflow: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(2 * P);
    assertStatus(() => vmo.opRange(VmoOp.DECOMMIT, 0, 3 * P), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.opRange(VmoOp.DECOMMIT, 2 * P, P), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.opRange(VmoOp.DECOMMIT, MAX, 2), Status.OUT_OF_RANGE);
  });
  await t.step("out of range comes before alignment", () => {
    using vmo = Vmo.create(2 * P);
    assertStatus(() => vmo.opRange(VmoOp.DECOMMIT, 1, 3 * P), Status.OUT_OF_RANGE);
  });
  await t.step("size 0: OK, even unaligned", () => {
    using vmo = Vmo.create(2 * P);
    vmo.opRange(VmoOp.DECOMMIT, 0, 0);
    vmo.opRange(VmoOp.DECOMMIT, 1, 0);
  });
  await t.step(
    "offset or size not page aligned: INVALID_ARGS, even if nothing is committed",
    () => {
      using vmo = Vmo.create(4 * P);
      assertStatus(() => vmo.opRange(VmoOp.DECOMMIT, 1, P), Status.INVALID_ARGS);
      assertStatus(() => vmo.opRange(VmoOp.DECOMMIT, 0, P + 1), Status.INVALID_ARGS);
      assertStatus(() => vmo.opRange(VmoOp.DECOMMIT, P, 1), Status.INVALID_ARGS);
    },
  );
  await t.step("frees the pages; the range reads 0 through every slice and reference", () => {
    using vmo = Vmo.create(4 * P);
    using slice = vmo.createChild(C.SLICE, P, 2 * P);
    using ref = vmo.createChild(C.REFERENCE, 0, 0);
    vmo.write(filled(4 * P, 9), 0);
    assert.equal(vmo.info().committedBytes, 4 * P);
    vmo.opRange(VmoOp.DECOMMIT, P, 2 * P);
    assert.equal(vmo.info().committedBytes, 2 * P);
    assert.ok(allZero(slice.readToArray(0, 2 * P)));
    assert.ok(allZero(ref.readToArray(P, 2 * P)));
    assert.deepEqual(ref.readToArray(0, P), filled(P, 9));
    assert.deepEqual(vmo.readToArray(3 * P, P), filled(P, 9));
  });
  await t.step("through a slice: forwards to the root at the shifted offset", () => {
    using vmo = Vmo.create(4 * P);
    vmo.write(filled(4 * P, 1), 0);
    using slice = vmo.createChild(C.SLICE, 2 * P, P);
    slice.opRange(VmoOp.DECOMMIT, 0, P);
    assert.equal(vmo.info().committedBytes, 3 * P);
    assert.ok(allZero(vmo.readToArray(2 * P, P)));
    assert.deepEqual(vmo.readToArray(3 * P, P), filled(P, 1));
  });
  await t.step("through a slice: the range is checked against the slice size", () => {
    using vmo = Vmo.create(4 * P);
    using slice = vmo.createChild(C.SLICE, P, P);
    assertStatus(() => slice.opRange(VmoOp.DECOMMIT, 0, 2 * P), Status.OUT_OF_RANGE);
    assertStatus(() => slice.opRange(VmoOp.DECOMMIT, P, P), Status.OUT_OF_RANGE);
  });
  await t.step("a COW child: NOT_SUPPORTED (before alignment)", () => {
    using vmo = Vmo.create(2 * P);
    for (const kind of [C.SNAPSHOT, C.SNAPSHOT_AT_LEAST_ON_WRITE, C.SNAPSHOT_MODIFIED]) {
      using child = vmo.createChild(kind, 0, 2 * P);
      child.write(filled(P, 1), 0);
      assertStatus(() => child.opRange(VmoOp.DECOMMIT, 0, P), Status.NOT_SUPPORTED);
      assertStatus(() => child.opRange(VmoOp.DECOMMIT, 1, 1), Status.NOT_SUPPORTED);
      assertStatus(() => child.opRange(VmoOp.DECOMMIT, 0, 3 * P), Status.OUT_OF_RANGE);
    }
  });
  await t.step("a VMO that has COW children: NOT_SUPPORTED, also through slices/references", () => {
    using vmo = Vmo.create(2 * P);
    using slice = vmo.createChild(C.SLICE, 0, P);
    using ref = vmo.createChild(C.REFERENCE, 0, 0);
    const child = vmo.createChild(C.SNAPSHOT, 0, P);
    assertStatus(() => vmo.opRange(VmoOp.DECOMMIT, 0, P), Status.NOT_SUPPORTED);
    assertStatus(() => slice.opRange(VmoOp.DECOMMIT, 0, P), Status.NOT_SUPPORTED);
    assertStatus(() => ref.opRange(VmoOp.DECOMMIT, 0, P), Status.NOT_SUPPORTED);
    child.close();
    vmo.opRange(VmoOp.DECOMMIT, 0, P);
  });
  await t.step("a snapshot of a slice also counts as a COW child of the root", () => {
    using vmo = Vmo.create(2 * P);
    using slice = vmo.createChild(C.SLICE, 0, P);
    using _snap = slice.createChild(C.SNAPSHOT, 0, P);
    assertStatus(() => vmo.opRange(VmoOp.DECOMMIT, 0, P), Status.NOT_SUPPORTED);
  });
  await t.step("a file-backed (pager-backed) VMO: NOT_SUPPORTED", () => {
    withTempFile(filled(2 * P, 1), (path) => {
      using vmo = Vmo.fromFile(path, { writable: true });
      assertStatus(() => vmo.opRange(VmoOp.DECOMMIT, 0, P), Status.NOT_SUPPORTED);
      assert.deepEqual(vmo.readToArray(0, P), filled(P, 1));
    });
  });
});

Deno.test("§1.7 ZERO", async (t) => {
  await t.step("needs WRITE: ACCESS_DENIED", () => {
    using vmo = Vmo.create(P);
    using ro = without(vmo, Rights.WRITE);
    assertStatus(() => ro.opRange(VmoOp.ZERO, 0, P), Status.ACCESS_DENIED);
  });
  await t.step("not CACHED: BAD_STATE, before the range check", () => {
    using vmo = Vmo.create(P);
    vmo.setCachePolicy(CachePolicy.UNCACHED);
    assertStatus(() => vmo.opRange(VmoOp.ZERO, 0, P), Status.BAD_STATE);
    assertStatus(() => vmo.opRange(VmoOp.ZERO, 0, 5 * P), Status.BAD_STATE);
  });
  await t.step("offset + size > size or overflow: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(P);
    assertStatus(() => vmo.opRange(VmoOp.ZERO, 0, P + 1), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.opRange(VmoOp.ZERO, P + 1, 0), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.opRange(VmoOp.ZERO, MAX, 2), Status.OUT_OF_RANGE);
    vmo.opRange(VmoOp.ZERO, P, 0);
  });
  await t.step("byte-granular: like writing zeros", () => {
    using vmo = Vmo.create(3 * P);
    const data = pattern(3 * P, 4).map((b) => b | 1);
    vmo.write(data, 0);
    vmo.opRange(VmoOp.ZERO, 100, 2 * P);
    const expected = data.slice();
    expected.fill(0, 100, 100 + 2 * P);
    assert.deepEqual(vmo.readToArray(0, 3 * P), expected);
  });
  await t.step("whole pages are released", () => {
    using vmo = Vmo.create(4 * P);
    vmo.write(filled(4 * P, 1), 0);
    vmo.opRange(VmoOp.ZERO, P, 2 * P);
    assert.equal(vmo.info().committedBytes, 2 * P);
  });
  await t.step("works on clones, and only on the clone", () => {
    using vmo = Vmo.create(2 * P);
    vmo.write(filled(2 * P, 5), 0);
    using child = vmo.createChild(C.SNAPSHOT, 0, 2 * P);
    child.opRange(VmoOp.ZERO, 10, 20);
    assert.ok(allZero(child.readToArray(10, 20)));
    assert.equal(child.readToArray(9, 1)[0], 5);
    assert.deepEqual(vmo.readToArray(0, 2 * P), filled(2 * P, 5));
  });
  await t.step("through a slice, seen by the parent", () => {
    using vmo = Vmo.create(2 * P);
    vmo.write(filled(2 * P, 5), 0);
    using slice = vmo.createChild(C.SLICE, P, P);
    slice.opRange(VmoOp.ZERO, 0, 8);
    assert.ok(allZero(vmo.readToArray(P, 8)));
    assert.equal(vmo.readToArray(P + 8, 1)[0], 5);
  });
});

Deno.test("§1.7 LOCK, TRY_LOCK, UNLOCK", async (t) => {
  const D = VmoOptions.DISCARDABLE;
  await t.step("need READ or WRITE: ACCESS_DENIED", () => {
    using vmo = Vmo.create(P, D);
    using none = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~(Rights.READ | Rights.WRITE));
    for (const op of [VmoOp.LOCK, VmoOp.TRY_LOCK, VmoOp.UNLOCK]) {
      assertStatus(() => none.opRange(op, 0, P), Status.ACCESS_DENIED);
    }
    using r = vmo.duplicate(Rights.READ);
    r.opRange(VmoOp.TRY_LOCK, 0, P);
    r.opRange(VmoOp.UNLOCK, 0, P);
    using w = vmo.duplicate(Rights.WRITE);
    w.opRange(VmoOp.TRY_LOCK, 0, P);
    w.opRange(VmoOp.UNLOCK, 0, P);
  });
  await t.step("not DISCARDABLE: NOT_SUPPORTED, before the range check", () => {
    using vmo = Vmo.create(P);
    for (const op of [VmoOp.LOCK, VmoOp.TRY_LOCK, VmoOp.UNLOCK]) {
      assertStatus(() => vmo.opRange(op, 0, P), Status.NOT_SUPPORTED);
      assertStatus(() => vmo.opRange(op, 5, 7), Status.NOT_SUPPORTED);
    }
  });
  await t.step("range not exactly (0, size): OUT_OF_RANGE", () => {
    using vmo = Vmo.create(2 * P, D);
    for (const op of [VmoOp.LOCK, VmoOp.TRY_LOCK, VmoOp.UNLOCK]) {
      assertStatus(() => vmo.opRange(op, 0, P), Status.OUT_OF_RANGE);
      assertStatus(() => vmo.opRange(op, P, P), Status.OUT_OF_RANGE);
      assertStatus(() => vmo.opRange(op, 0, 3 * P), Status.OUT_OF_RANGE);
      assertStatus(() => vmo.opRange(op, 0, 0), Status.OUT_OF_RANGE);
    }
  });
  await t.step("LOCK (no result buffer here): INVALID_ARGS, and the lock is rolled back", () => {
    using vmo = Vmo.create(P, D);
    assertStatus(() => vmo.opRange(VmoOp.LOCK, 0, P), Status.INVALID_ARGS);
    assertStatus(() => vmo.opRange(VmoOp.UNLOCK, 0, P), Status.BAD_STATE);
  });
  await t.step(
    "TRY_LOCK always succeeds; locks are counted; UNLOCK when unlocked: BAD_STATE",
    () => {
      using vmo = Vmo.create(P, D);
      assertStatus(() => vmo.opRange(VmoOp.UNLOCK, 0, P), Status.BAD_STATE);
      vmo.opRange(VmoOp.TRY_LOCK, 0, P);
      vmo.opRange(VmoOp.TRY_LOCK, 0, P);
      vmo.opRange(VmoOp.UNLOCK, 0, P);
      vmo.opRange(VmoOp.UNLOCK, 0, P);
      assertStatus(() => vmo.opRange(VmoOp.UNLOCK, 0, P), Status.BAD_STATE);
    },
  );
  await t.step("locking keeps the data", () => {
    using vmo = Vmo.create(P, D);
    vmo.write(filled(P, 3), 0);
    vmo.opRange(VmoOp.TRY_LOCK, 0, P);
    assert.deepEqual(vmo.readToArray(0, P), filled(P, 3));
    vmo.opRange(VmoOp.UNLOCK, 0, P);
    assert.deepEqual(vmo.readToArray(0, P), filled(P, 3));
  });
});

Deno.test("§1.7 CACHE_SYNC, CACHE_CLEAN, CACHE_CLEAN_INVALIDATE, CACHE_INVALIDATE", async (t) => {
  const ops: [string, number, number][] = [
    ["CACHE_SYNC", VmoOp.CACHE_SYNC, Rights.READ],
    ["CACHE_CLEAN", VmoOp.CACHE_CLEAN, Rights.READ],
    ["CACHE_CLEAN_INVALIDATE", VmoOp.CACHE_CLEAN_INVALIDATE, Rights.READ],
    ["CACHE_INVALIDATE", VmoOp.CACHE_INVALIDATE, Rights.WRITE],
  ];
  for (const [name, op, right] of ops) {
    await t.step(
      `${name}: needs ${right === Rights.READ ? "READ" : "WRITE"}: ACCESS_DENIED`,
      () => {
        using vmo = Vmo.create(P);
        using lacking = without(vmo, right);
        assertStatus(() => lacking.opRange(op, 0, P), Status.ACCESS_DENIED);
        using only = vmo.duplicate(right);
        only.opRange(op, 0, P);
      },
    );
    await t.step(`${name}: size 0: INVALID_ARGS (before the range check)`, () => {
      using vmo = Vmo.create(P);
      assertStatus(() => vmo.opRange(op, 0, 0), Status.INVALID_ARGS);
      assertStatus(() => vmo.opRange(op, 5 * P, 0), Status.INVALID_ARGS);
    });
    await t.step(`${name}: out of range or overflow: OUT_OF_RANGE`, () => {
      using vmo = Vmo.create(P);
      assertStatus(() => vmo.opRange(op, 0, P + 1), Status.OUT_OF_RANGE);
      assertStatus(() => vmo.opRange(op, P, 1), Status.OUT_OF_RANGE);
      assertStatus(() => vmo.opRange(op, MAX, 2), Status.OUT_OF_RANGE);
    });
    await t.step(`${name}: unaligned OK, no data change`, () => {
      using vmo = Vmo.create(2 * P);
      const data = pattern(2 * P, 2);
      vmo.write(data, 0);
      vmo.opRange(op, 3, P + 5);
      assert.deepEqual(vmo.readToArray(0, 2 * P), data);
    });
  }
});

Deno.test("§1.7 DONT_NEED / ALWAYS_NEED", async (t) => {
  const hints: [string, number][] = [
    ["DONT_NEED", VmoOp.DONT_NEED],
    ["ALWAYS_NEED", VmoOp.ALWAYS_NEED],
  ];
  for (const [name, op] of hints) {
    await t.step(`${name}: anonymous VMO: OK with no rights and no range check`, () => {
      using vmo = Vmo.create(P);
      vmo.write(filled(P, 2), 0);
      using none = vmo.duplicate(Rights.NONE);
      none.opRange(op, 0, P);
      vmo.opRange(op, 10 * P, 3);
      vmo.opRange(op, 0, 0);
      vmo.opRange(op, P, 100 * P);
      assert.deepEqual(vmo.readToArray(0, P), filled(P, 2));
    });
    await t.step(`${name}: file-backed VMO: rounded range out of range: OUT_OF_RANGE`, () => {
      withTempFile(filled(P + 10, 1), (path) => {
        using vmo = Vmo.fromFile(path);
        vmo.opRange(op, 0, 2 * P);
        vmo.opRange(op, P + 11, 3);
        using none = vmo.duplicate(Rights.NONE);
        none.opRange(op, 0, P);
        assertStatus(() => vmo.opRange(op, 0, 2 * P + 1), Status.OUT_OF_RANGE);
        assertStatus(() => vmo.opRange(op, 2 * P, 1), Status.OUT_OF_RANGE);
        assertStatus(() => vmo.opRange(op, MAX, 2), Status.OUT_OF_RANGE);
        assert.deepEqual(vmo.readToArray(0, P + 10), filled(P + 10, 1));
      });
    });
  }
});

Deno.test("§1.7 PREFETCH", async (t) => {
  await t.step("needs READ: ACCESS_DENIED", () => {
    using vmo = Vmo.create(P);
    using noRead = without(vmo, Rights.READ);
    assertStatus(() => noRead.opRange(VmoOp.PREFETCH, 0, P), Status.ACCESS_DENIED);
  });
  await t.step("overflow or rounded range beyond size: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(2 * P);
    assertStatus(() => vmo.opRange(VmoOp.PREFETCH, MAX, 2), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.opRange(VmoOp.PREFETCH, 0, 2 * P + 1), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.opRange(VmoOp.PREFETCH, 2 * P + 1, 0), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.opRange(VmoOp.PREFETCH, MAX - 1, 0), Status.OUT_OF_RANGE);
  });
  await t.step("size 0 OK; unaligned OK; no visible effect", () => {
    using vmo = Vmo.create(2 * P);
    vmo.opRange(VmoOp.PREFETCH, P, 0);
    vmo.opRange(VmoOp.PREFETCH, 2 * P, 0);
    vmo.opRange(VmoOp.PREFETCH, 3, P);
    assert.equal(vmo.info().committedBytes, 0);
    assert.ok(allZero(vmo.readToArray(0, 2 * P)));
  });
  await t.step("works on a file-backed VMO", () => {
    withTempFile(filled(P, 6), (path) => {
      using vmo = Vmo.fromFile(path);
      vmo.opRange(VmoOp.PREFETCH, 0, P);
      assertStatus(() => vmo.opRange(VmoOp.PREFETCH, 0, P + 1), Status.OUT_OF_RANGE);
      assert.deepEqual(vmo.readToArray(0, P), filled(P, 6));
    });
  });
});

Deno.test("§1.7 ops check the handle first: BAD_HANDLE before an unknown op", () => {
  const vmo = Vmo.create(P);
  vmo.close();
  assertStatus(() => vmo.opRange(5, 0, P), Status.BAD_HANDLE);
  assertStatus(() => vmo.opRange(VmoOp.COMMIT, MAX, 2), Status.BAD_HANDLE);
});
