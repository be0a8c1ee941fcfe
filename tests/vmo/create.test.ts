import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DEFAULT_VMO_RIGHTS,
  Rights,
  Status,
  Vmo,
  VmoInfoFlags,
  VmoOp,
  VmoOptions,
} from "../../mod.ts";
import { allZero, assertStatus, P, roundUp } from "../_support/mod.ts";

Deno.test("§1.2 create: size is rounded up to pages, stream size is the argument", async (t) => {
  for (const size of [0, 1, 100, P - 1, P, P + 1, 3 * P + 17]) {
    await t.step(`create(${size})`, () => {
      using vmo = Vmo.create(size);
      assert.equal(vmo.getSize(), roundUp(size));
      assert.equal(vmo.getStreamSize(), size);
      assert.equal(vmo.info().sizeBytes, roundUp(size));
    });
  }
  await t.step("property: any size up to 64 pages", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 64 * P }), (size) => {
        using vmo = Vmo.create(size);
        return vmo.getSize() === roundUp(size) && vmo.getStreamSize() === size;
      }),
      { numRuns: 200 },
    );
  });
});

Deno.test("§1.2 create: a new VMO is zero-filled and commits nothing", () => {
  using vmo = Vmo.create(5 * P + 3);
  assert.ok(allZero(vmo.readToArray(0, vmo.getSize())));
  assert.equal(vmo.info().committedBytes, 0);
});

Deno.test("§1.2 create: size 0 is allowed", () => {
  using vmo = Vmo.create(0);
  assert.equal(vmo.getSize(), 0);
  assert.equal(vmo.readToArray(0, 0).length, 0);
  assertStatus(() => vmo.readToArray(0, 1), Status.OUT_OF_RANGE);
});

Deno.test("§1.2 create: options", async (t) => {
  await t.step("0: not resizable, default rights", () => {
    using vmo = Vmo.create(P, 0);
    assert.equal(vmo.rights, DEFAULT_VMO_RIGHTS);
    assert.equal(vmo.info().flags & VmoInfoFlags.RESIZABLE, 0);
    assertStatus(() => vmo.setSize(2 * P), Status.UNAVAILABLE);
  });
  await t.step("RESIZABLE: the handle gets RESIZE, info says RESIZABLE", () => {
    using vmo = Vmo.create(P, VmoOptions.RESIZABLE);
    assert.equal(vmo.rights, DEFAULT_VMO_RIGHTS | Rights.RESIZE);
    assert.ok(vmo.info().flags & VmoInfoFlags.RESIZABLE);
    vmo.setSize(2 * P);
    assert.equal(vmo.getSize(), 2 * P);
  });
  await t.step("DISCARDABLE: info says DISCARDABLE; a new one starts unlocked", () => {
    using vmo = Vmo.create(P, VmoOptions.DISCARDABLE);
    assert.equal(vmo.rights, DEFAULT_VMO_RIGHTS);
    assert.ok(vmo.info().flags & VmoInfoFlags.DISCARDABLE);
    assertStatus(() => vmo.opRange(VmoOp.UNLOCK, 0, P), Status.BAD_STATE);
  });
  await t.step("UNBOUNDED: size is Vmo.MAX_SIZE, stream size is the argument", () => {
    using vmo = Vmo.create(100, VmoOptions.UNBOUNDED);
    assert.equal(vmo.getSize(), Vmo.MAX_SIZE);
    assert.equal(vmo.getStreamSize(), 100);
    assert.equal(vmo.rights, DEFAULT_VMO_RIGHTS);
    assert.equal(vmo.info().flags & VmoInfoFlags.RESIZABLE, 0);
    vmo.write(new Uint8Array([5]), Vmo.MAX_SIZE - 1);
    assert.equal(vmo.readToArray(Vmo.MAX_SIZE - 1, 1)[0], 5);
    assert.equal(vmo.info().committedBytes, P);
  });
  await t.step("§1.2.2 RESIZABLE together with UNBOUNDED: INVALID_ARGS", () => {
    assertStatus(
      () => Vmo.create(P, VmoOptions.RESIZABLE | VmoOptions.UNBOUNDED),
      Status.INVALID_ARGS,
    );
  });
  for (const bit of [0, 3, 5, 6, 8, 16, 30, 31]) {
    await t.step(`§1.2.2 unknown option bit 1 << ${bit}: INVALID_ARGS`, () => {
      assertStatus(() => Vmo.create(P, 2 ** bit), Status.INVALID_ARGS);
      assertStatus(() => Vmo.create(P, VmoOptions.RESIZABLE | 2 ** bit), Status.INVALID_ARGS);
    });
  }
  await t.step(
    "§1.2 the size is checked before leftover option bits (OUT_OF_RANGE), except UNBOUNDED",
    () => {
      assertStatus(() => Vmo.create(Vmo.MAX_SIZE + P, 1), Status.OUT_OF_RANGE);
      assertStatus(
        () => Vmo.create(Vmo.MAX_SIZE + P, VmoOptions.RESIZABLE | 1),
        Status.OUT_OF_RANGE,
      );
      // UNBOUNDED takes no size check, so the option bits decide.
      assertStatus(
        () => Vmo.create(2 ** 60, VmoOptions.RESIZABLE | VmoOptions.UNBOUNDED),
        Status.INVALID_ARGS,
      );
      assertStatus(() => Vmo.create(2 ** 60, VmoOptions.UNBOUNDED | 1), Status.INVALID_ARGS);
    },
  );
  await t.step("§1.2.3 UNBOUNDED: the size is not range-checked; stream size clamped", () => {
    using vmo = Vmo.create(2 ** 60, VmoOptions.UNBOUNDED);
    assert.equal(vmo.getSize(), Vmo.MAX_SIZE);
    assert.equal(vmo.getStreamSize(), Vmo.MAX_SIZE);
  });
});

Deno.test("§1.2.3 create: size limits", async (t) => {
  await t.step("Vmo.MAX_SIZE succeeds (sparse)", () => {
    using vmo = Vmo.create(Vmo.MAX_SIZE);
    assert.equal(vmo.getSize(), Vmo.MAX_SIZE);
    assert.equal(vmo.readToArray(Vmo.MAX_SIZE - 1, 1)[0], 0);
    vmo.write(new Uint8Array([1]), Vmo.MAX_SIZE - 1);
    assert.equal(vmo.readToArray(Vmo.MAX_SIZE - 1, 1)[0], 1);
    assert.equal(vmo.info().committedBytes, P);
  });
  await t.step("Vmo.MAX_SIZE - 1 rounds up to Vmo.MAX_SIZE", () => {
    using vmo = Vmo.create(Vmo.MAX_SIZE - 1);
    assert.equal(vmo.getSize(), Vmo.MAX_SIZE);
    assert.equal(vmo.getStreamSize(), Vmo.MAX_SIZE - 1);
  });
  for (const size of [Vmo.MAX_SIZE + 1, Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 64, 1e300]) {
    await t.step(`create(${size}): OUT_OF_RANGE`, () => {
      assertStatus(() => Vmo.create(size), Status.OUT_OF_RANGE);
      assertStatus(() => Vmo.create(size, VmoOptions.RESIZABLE), Status.OUT_OF_RANGE);
    });
  }
});
