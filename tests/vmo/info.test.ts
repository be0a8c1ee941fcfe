import assert from "node:assert/strict";
import {
  CachePolicy,
  DEFAULT_VMO_RIGHTS,
  Rights,
  Status,
  Vmo,
  VmoChildOptions as C,
  VmoInfoFlags as F,
  VmoOp,
  VmoOptions,
} from "../../mod.ts";
import { assertStatus, filled, P, withTempFile } from "../_support/mod.ts";

const BASE = F.TYPE_PAGED | F.VIA_HANDLE;

Deno.test("§1.11 info of a fresh VMO", () => {
  using vmo = Vmo.create(3 * P + 1);
  vmo.setName("fresh");
  assert.deepEqual(vmo.info(), {
    koid: vmo.koid,
    name: "fresh",
    sizeBytes: 4 * P,
    parentKoid: 0,
    numChildren: 0,
    numMappings: 0,
    shareCount: 1,
    flags: BASE,
    committedBytes: 0,
    handleRights: DEFAULT_VMO_RIGHTS,
    cachePolicy: CachePolicy.CACHED,
    populatedBytes: 0,
  });
});

Deno.test("§1.11 info needs no right and reports the asking handle's rights", () => {
  using vmo = Vmo.create(P);
  using none = vmo.duplicate(Rights.NONE);
  using ro = vmo.duplicate(Rights.READ | Rights.DUPLICATE);
  assert.equal(none.info().handleRights, 0);
  assert.equal(ro.info().handleRights, Rights.READ | Rights.DUPLICATE);
  assert.equal(none.info().koid, vmo.koid);
  assert.equal(none.info().sizeBytes, P);
});

Deno.test("§1.11 flags", async (t) => {
  await t.step("plain VMO: TYPE_PAGED | VIA_HANDLE", () => {
    using vmo = Vmo.create(P);
    assert.equal(vmo.info().flags, BASE);
  });
  await t.step("RESIZABLE", () => {
    using vmo = Vmo.create(P, VmoOptions.RESIZABLE);
    assert.equal(vmo.info().flags, BASE | F.RESIZABLE);
  });
  await t.step("DISCARDABLE", () => {
    using vmo = Vmo.create(P, VmoOptions.DISCARDABLE);
    assert.equal(vmo.info().flags, BASE | F.DISCARDABLE);
  });
  await t.step("UNBOUNDED is not RESIZABLE", () => {
    using vmo = Vmo.create(P, VmoOptions.UNBOUNDED);
    assert.equal(vmo.info().flags, BASE);
  });
  await t.step("snapshot types: IS_COW_CLONE (+RESIZABLE when asked)", () => {
    using vmo = Vmo.create(P);
    for (const kind of [C.SNAPSHOT, C.SNAPSHOT_AT_LEAST_ON_WRITE, C.SNAPSHOT_MODIFIED]) {
      using child = vmo.createChild(kind, 0, P);
      assert.equal(child.info().flags, BASE | F.IS_COW_CLONE);
      using resizable = vmo.createChild(kind | C.RESIZABLE, 0, P);
      assert.equal(resizable.info().flags, BASE | F.IS_COW_CLONE | F.RESIZABLE);
    }
  });
  await t.step("SNAPSHOT|NO_WRITE: IMMUTABLE", () => {
    using vmo = Vmo.create(P);
    using child = vmo.createChild(C.SNAPSHOT | C.NO_WRITE, 0, P);
    assert.equal(child.info().flags, BASE | F.IS_COW_CLONE | F.IMMUTABLE);
  });
  await t.step("slices and references are not IS_COW_CLONE", () => {
    using vmo = Vmo.create(2 * P);
    using slice = vmo.createChild(C.SLICE, 0, P);
    using ref = vmo.createChild(C.REFERENCE, 0, 0);
    assert.equal(slice.info().flags, BASE);
    assert.equal(ref.info().flags, BASE);
    using rvmo = Vmo.create(P, VmoOptions.RESIZABLE);
    using rref = rvmo.createChild(C.REFERENCE, 0, 0);
    assert.equal(rref.info().flags, BASE | F.RESIZABLE);
  });
  await t.step("file-backed: PAGER_BACKED", () => {
    withTempFile("data", (path) => {
      using vmo = Vmo.fromFile(path);
      assert.equal(vmo.info().flags & (F.PAGER_BACKED | BASE), F.PAGER_BACKED | BASE);
      assert.equal(vmo.info().flags & F.RESIZABLE, 0);
    });
  });
});

Deno.test("§1.11 committedBytes follows writes, COMMIT and DECOMMIT", async (t) => {
  await t.step("writes commit the pages they touch", () => {
    using vmo = Vmo.create(8 * P);
    assert.equal(vmo.info().committedBytes, 0);
    vmo.write(new Uint8Array([1]), 0);
    assert.equal(vmo.info().committedBytes, P);
    vmo.write(new Uint8Array([1]), 0);
    assert.equal(vmo.info().committedBytes, P);
    vmo.write(new Uint8Array(2), 3 * P - 1);
    assert.equal(vmo.info().committedBytes, 3 * P);
    vmo.write(filled(2 * P, 1), 5 * P);
    assert.equal(vmo.info().committedBytes, 5 * P);
    assert.equal(vmo.info().populatedBytes, 5 * P);
  });
  await t.step("COMMIT and DECOMMIT", () => {
    using vmo = Vmo.create(8 * P);
    vmo.opRange(VmoOp.COMMIT, 0, 8 * P);
    assert.equal(vmo.info().committedBytes, 8 * P);
    vmo.opRange(VmoOp.DECOMMIT, 2 * P, 4 * P);
    assert.equal(vmo.info().committedBytes, 4 * P);
    vmo.opRange(VmoOp.DECOMMIT, 0, 8 * P);
    assert.equal(vmo.info().committedBytes, 0);
    assert.equal(vmo.info().populatedBytes, 0);
  });
  await t.step("slices and references report 0; the root reports their writes", () => {
    using vmo = Vmo.create(4 * P);
    using slice = vmo.createChild(C.SLICE, P, 2 * P);
    using ref = vmo.createChild(C.REFERENCE, 0, 0);
    slice.write(filled(2 * P, 1), 0);
    ref.write(new Uint8Array([1]), 3 * P);
    assert.equal(slice.info().committedBytes, 0);
    assert.equal(ref.info().committedBytes, 0);
    assert.equal(vmo.info().committedBytes, 3 * P);
  });
  await t.step("a snapshot reports the pages it copied (README: eager copies)", () => {
    using vmo = Vmo.create(8 * P);
    vmo.write(filled(2 * P, 1), 2 * P);
    using child = vmo.createChild(C.SNAPSHOT, 0, 8 * P);
    assert.equal(child.info().committedBytes, 2 * P);
    child.write(new Uint8Array([1]), 7 * P);
    assert.equal(child.info().committedBytes, 3 * P);
    assert.equal(vmo.info().committedBytes, 2 * P);
    using part = vmo.createChild(C.SNAPSHOT, 3 * P, 2 * P);
    assert.equal(part.info().committedBytes, P);
  });
});

Deno.test("§1.11 parentKoid and numChildren", () => {
  using root = Vmo.create(2 * P);
  using a = root.createChild(C.SNAPSHOT, 0, P);
  using b = root.createChild(C.SLICE, 0, P);
  using c = a.createChild(C.REFERENCE, 0, 0);
  assert.equal(root.info().parentKoid, 0);
  assert.equal(root.info().numChildren, 2);
  assert.equal(a.info().parentKoid, root.koid);
  assert.equal(a.info().numChildren, 1);
  assert.equal(b.info().parentKoid, root.koid);
  assert.equal(b.info().numChildren, 0);
  assert.equal(c.info().parentKoid, a.koid);
});

Deno.test("§1.11 sizeBytes and cachePolicy follow changes", () => {
  using vmo = Vmo.create(P, VmoOptions.RESIZABLE);
  vmo.setSize(5 * P - 1);
  assert.equal(vmo.info().sizeBytes, 5 * P);
  vmo.setCachePolicy(CachePolicy.WRITE_COMBINING);
  assert.equal(vmo.info().cachePolicy, CachePolicy.WRITE_COMBINING);
});

Deno.test("§1.11 info of a closed handle: BAD_HANDLE", () => {
  const vmo = Vmo.create(P);
  vmo.close();
  assertStatus(() => vmo.info(), Status.BAD_HANDLE);
});
