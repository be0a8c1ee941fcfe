import assert from "node:assert/strict";
import {
  CachePolicy,
  DEFAULT_VMO_RIGHTS,
  Rights,
  Status,
  Vmo,
  VmoChildOptions as C,
  VmoOp,
} from "../../mod.ts";
import { assertStatus, filled, P } from "../_support/mod.ts";

const POLICIES = [
  CachePolicy.CACHED,
  CachePolicy.UNCACHED,
  CachePolicy.UNCACHED_DEVICE,
  CachePolicy.WRITE_COMBINING,
];

Deno.test("§1.8 a fresh VMO may cycle through all four policies", () => {
  using vmo = Vmo.create(P);
  assert.equal(vmo.info().cachePolicy, CachePolicy.CACHED);
  for (const policy of [...POLICIES, ...POLICIES.slice().reverse()]) {
    vmo.setCachePolicy(policy);
    assert.equal(vmo.info().cachePolicy, policy);
  }
});

Deno.test("§1.8 policy bits outside MASK: INVALID_ARGS, checked before the handle", async (t) => {
  await t.step("on an open handle", () => {
    using vmo = Vmo.create(P);
    for (const policy of [4, 5, 8, 0x80, 0xffff_ffff]) {
      assertStatus(() => vmo.setCachePolicy(policy), Status.INVALID_ARGS);
    }
    assert.equal(vmo.info().cachePolicy, CachePolicy.CACHED);
  });
  await t.step("on a closed handle", () => {
    const vmo = Vmo.create(P);
    vmo.close();
    assertStatus(() => vmo.setCachePolicy(4), Status.INVALID_ARGS);
    assertStatus(() => vmo.setCachePolicy(CachePolicy.UNCACHED), Status.BAD_HANDLE);
  });
  await t.step("on a handle without MAP", () => {
    using vmo = Vmo.create(P);
    using noMap = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.MAP);
    assertStatus(() => noMap.setCachePolicy(4), Status.INVALID_ARGS);
  });
});

Deno.test("§1.8 needs MAP: ACCESS_DENIED", () => {
  using vmo = Vmo.create(P);
  using noMap = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.MAP);
  assertStatus(() => noMap.setCachePolicy(CachePolicy.UNCACHED), Status.ACCESS_DENIED);
  using onlyMap = vmo.duplicate(Rights.MAP);
  onlyMap.setCachePolicy(CachePolicy.UNCACHED);
  assert.equal(vmo.info().cachePolicy, CachePolicy.UNCACHED);
});

Deno.test("§1.8 BAD_STATE conditions", async (t) => {
  await t.step("the VMO has children (snapshot, slice, reference); OK again once gone", () => {
    using vmo = Vmo.create(2 * P);
    for (
      const [options, offset, size] of [[C.SNAPSHOT, 0, P], [C.SLICE, 0, P], [C.REFERENCE, 0, 0]]
    ) {
      const child = vmo.createChild(options, offset, size);
      assertStatus(() => vmo.setCachePolicy(CachePolicy.UNCACHED), Status.BAD_STATE);
      assertStatus(() => vmo.setCachePolicy(CachePolicy.CACHED), Status.BAD_STATE);
      child.close();
    }
    vmo.setCachePolicy(CachePolicy.UNCACHED);
    assert.equal(vmo.info().cachePolicy, CachePolicy.UNCACHED);
  });
  await t.step("the VMO is a child (snapshot, slice, reference)", () => {
    using vmo = Vmo.create(2 * P);
    using snap = vmo.createChild(C.SNAPSHOT, 0, P);
    using slice = vmo.createChild(C.SLICE, 0, P);
    using ref = vmo.createChild(C.REFERENCE, 0, 0);
    for (const child of [snap, slice, ref]) {
      assertStatus(() => child.setCachePolicy(CachePolicy.UNCACHED), Status.BAD_STATE);
    }
  });
  await t.step("a snapshot whose parent is gone is still a child", () => {
    const vmo = Vmo.create(P);
    using snap = vmo.createChild(C.SNAPSHOT, 0, P);
    vmo.close();
    assertStatus(() => snap.setCachePolicy(CachePolicy.UNCACHED), Status.BAD_STATE);
  });
  await t.step("committed pages under a non-CACHED policy", () => {
    using vmo = Vmo.create(2 * P);
    vmo.write(filled(P, 1), 0);
    vmo.setCachePolicy(CachePolicy.UNCACHED); // from CACHED: fine even with pages
    assert.equal(vmo.info().cachePolicy, CachePolicy.UNCACHED);
    assertStatus(() => vmo.setCachePolicy(CachePolicy.CACHED), Status.BAD_STATE);
    assertStatus(() => vmo.setCachePolicy(CachePolicy.WRITE_COMBINING), Status.BAD_STATE);
    assert.equal(vmo.info().cachePolicy, CachePolicy.UNCACHED);
    vmo.opRange(VmoOp.DECOMMIT, 0, 2 * P);
    vmo.setCachePolicy(CachePolicy.CACHED);
    assert.equal(vmo.info().cachePolicy, CachePolicy.CACHED);
  });
  await t.step("committed pages after COMMIT under a non-CACHED policy", () => {
    using vmo = Vmo.create(P);
    vmo.setCachePolicy(CachePolicy.UNCACHED_DEVICE);
    vmo.opRange(VmoOp.COMMIT, 0, P);
    assertStatus(() => vmo.setCachePolicy(CachePolicy.CACHED), Status.BAD_STATE);
  });
});

Deno.test("§1.8 effects of a non-CACHED policy", async (t) => {
  for (const policy of POLICIES.slice(1)) {
    await t.step(`policy ${policy}: read, write, ZERO and snapshots: BAD_STATE`, () => {
      using vmo = Vmo.create(P);
      vmo.setCachePolicy(policy);
      assertStatus(() => vmo.read(new Uint8Array(1), 0), Status.BAD_STATE);
      assertStatus(() => vmo.readToArray(0, 1), Status.BAD_STATE);
      assertStatus(() => vmo.write(new Uint8Array(1), 0), Status.BAD_STATE);
      assertStatus(() => vmo.opRange(VmoOp.ZERO, 0, P), Status.BAD_STATE);
      assertStatus(() => vmo.createChild(C.SNAPSHOT, 0, P), Status.BAD_STATE);
      assertStatus(() => vmo.createChild(C.SLICE, 0, P), Status.BAD_STATE);
      assertStatus(() => vmo.createChild(C.REFERENCE, 0, 0), Status.BAD_STATE);
      assert.equal(vmo.info().cachePolicy, policy);
    });
  }
  await t.step("back to CACHED, reads and writes work again", () => {
    using vmo = Vmo.create(P);
    vmo.setCachePolicy(CachePolicy.UNCACHED);
    vmo.setCachePolicy(CachePolicy.CACHED);
    vmo.write(new Uint8Array([1]), 0);
    assert.equal(vmo.readToArray(0, 1)[0], 1);
  });
});
