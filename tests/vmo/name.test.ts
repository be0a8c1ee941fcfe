import assert from "node:assert/strict";
import { DEFAULT_VMO_RIGHTS, Rights, Status, Vmo } from "../../mod.ts";
import { assertStatus, P } from "../_support/mod.ts";

Deno.test("§1.10 a new VMO's name is empty", () => {
  using vmo = Vmo.create(P);
  assert.equal(vmo.getName(), "");
  assert.equal(vmo.info().name, "");
});

Deno.test("§1.10 setName / getName round-trip, seen by every handle", () => {
  using vmo = Vmo.create(P);
  using dup = vmo.duplicate();
  vmo.setName("frame buffer");
  assert.equal(vmo.getName(), "frame buffer");
  assert.equal(dup.getName(), "frame buffer");
  assert.equal(dup.info().name, "frame buffer");
  dup.setName("");
  assert.equal(vmo.getName(), "");
});

Deno.test("§1.10 length is counted in UTF-8 bytes: 31 is the maximum", async (t) => {
  await t.step("31 ASCII bytes: OK", () => {
    using vmo = Vmo.create(P);
    const name = "a".repeat(31);
    vmo.setName(name);
    assert.equal(vmo.getName(), name);
  });
  await t.step("32 ASCII bytes: INVALID_ARGS, the old name stays", () => {
    using vmo = Vmo.create(P);
    vmo.setName("old");
    assertStatus(() => vmo.setName("a".repeat(32)), Status.INVALID_ARGS);
    assertStatus(() => vmo.setName("a".repeat(100)), Status.INVALID_ARGS);
    assert.equal(vmo.getName(), "old");
  });
  await t.step(
    "multi-byte characters: 15 × 'é' (30 bytes) OK, 16 × 'é' (32 bytes) INVALID_ARGS",
    () => {
      using vmo = Vmo.create(P);
      vmo.setName("é".repeat(15));
      assert.equal(vmo.getName(), "é".repeat(15));
      assertStatus(() => vmo.setName("é".repeat(16)), Status.INVALID_ARGS);
      // 16 UTF-16 code units but 32 UTF-8 bytes
      assertStatus(() => vmo.setName("😀".repeat(8)), Status.INVALID_ARGS);
      vmo.setName("😀".repeat(7) + "abc"); // 28 + 3 = 31 bytes
      assert.equal(vmo.getName(), "😀".repeat(7) + "abc");
    },
  );
});

Deno.test("§1.10 a NUL anywhere: INVALID_ARGS", () => {
  using vmo = Vmo.create(P);
  assertStatus(() => vmo.setName("a\0b"), Status.INVALID_ARGS);
  assertStatus(() => vmo.setName("\0"), Status.INVALID_ARGS);
  assertStatus(() => vmo.setName("abc\0"), Status.INVALID_ARGS);
  assert.equal(vmo.getName(), "");
});

Deno.test("§1.10 a name that is not a string: INVALID_ARGS", () => {
  using vmo = Vmo.create(P);
  for (const bad of [undefined, null, 42, {}, ["a"], new Uint8Array(3)]) {
    assertStatus(() => vmo.setName(bad as unknown as string), Status.INVALID_ARGS);
  }
});

Deno.test("§1.10 rights: getName needs GET_PROPERTY, setName needs SET_PROPERTY", () => {
  using vmo = Vmo.create(P);
  vmo.setName("x");
  using noGet = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.GET_PROPERTY);
  using noSet = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.SET_PROPERTY);
  assertStatus(() => noGet.getName(), Status.ACCESS_DENIED);
  assertStatus(() => noSet.setName("y"), Status.ACCESS_DENIED);
  assert.equal(noSet.getName(), "x");
  noGet.setName("z");
  assert.equal(vmo.getName(), "z");
  // info needs no right and still reports the name
  assert.equal(noGet.info().name, "z");
});
