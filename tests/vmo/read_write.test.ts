import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CachePolicy,
  Rights,
  Status,
  Vmo,
  VmoChildOptions,
  VmoChildOptions as C,
  VmoOp,
  VmoOptions,
} from "../../mod.ts";
import { allZero, assertStatus, filled, P, pattern } from "../_support/mod.ts";

Deno.test("§1.3 read and write round-trip", async (t) => {
  await t.step("at offset 0, inside a page, across pages, at the last byte", () => {
    using vmo = Vmo.create(4 * P);
    const cases: [number, number][] = [[0, 10], [123, 456], [P - 3, 7], [P, 2 * P], [
      4 * P - 1,
      1,
    ]];
    for (const [offset, length] of cases) {
      const data = pattern(length, offset + 1);
      vmo.write(data, offset);
      assert.deepEqual(vmo.readToArray(offset, length), data);
      const dst = new Uint8Array(length);
      vmo.read(dst, offset);
      assert.deepEqual(dst, data);
    }
  });

  await t.step("exactly len bytes are transferred, into a view of a larger buffer", () => {
    using vmo = Vmo.create(P);
    vmo.write(filled(P, 0xaa), 0);
    const big = filled(32, 0x11);
    vmo.read(big.subarray(8, 16), 100);
    assert.deepEqual([...big.subarray(0, 8)], Array(8).fill(0x11));
    assert.deepEqual([...big.subarray(8, 16)], Array(8).fill(0xaa));
    assert.deepEqual([...big.subarray(16)], Array(16).fill(0x11));
    // and only len bytes are written
    vmo.write(filled(P, 0), 0);
    vmo.write(big.subarray(8, 10), 50);
    const back = vmo.readToArray(48, 6);
    assert.deepEqual([...back], [0, 0, 0xaa, 0xaa, 0, 0]);
  });

  await t.step("readToArray returns a fresh array of the asked length", () => {
    using vmo = Vmo.create(P);
    const a = vmo.readToArray(0, 17);
    const b = vmo.readToArray(0, 17);
    assert.equal(a.length, 17);
    a[0] = 1;
    assert.equal(b[0], 0);
    assert.equal(vmo.readToArray(0, 1)[0], 0);
  });

  await t.step("property: random writes and reads agree with a byte-array model", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 * P }),
        fc.array(
          fc.record({
            write: fc.boolean(),
            offset: fc.integer({ min: 0, max: 7 * P }),
            length: fc.integer({ min: 0, max: 2 * P }),
            seed: fc.integer({ min: 1, max: 1000 }),
          }),
          { maxLength: 20 },
        ),
        (size, steps) => {
          using vmo = Vmo.create(size);
          const model = new Uint8Array(vmo.getSize());
          for (const step of steps) {
            const inRange = step.offset + step.length <= model.length;
            if (step.write) {
              const data = pattern(step.length, step.seed);
              if (inRange) {
                vmo.write(data, step.offset);
                model.set(data, step.offset);
              } else {
                assertStatus(() => vmo.write(data, step.offset), Status.OUT_OF_RANGE);
              }
            } else if (inRange) {
              assert.deepEqual(
                vmo.readToArray(step.offset, step.length),
                model.slice(step.offset, step.offset + step.length),
              );
            } else {
              assertStatus(() => vmo.readToArray(step.offset, step.length), Status.OUT_OF_RANGE);
            }
          }
          assert.deepEqual(vmo.readToArray(0, model.length), model);
        },
      ),
      { numRuns: 60 },
    );
  });
});

Deno.test("§1.1 reading never-written pages commits nothing", () => {
  using vmo = Vmo.create(16 * P);
  assert.ok(allZero(vmo.readToArray(0, 16 * P)));
  assert.equal(vmo.info().committedBytes, 0);
});

Deno.test("§1.1/§1.3 large copies (64 KiB and more)", async (t) => {
  const big = 256 * 1024;
  await t.step("reading never-written pages commits nothing", () => {
    using vmo = Vmo.create(4 * big);
    assert.ok(allZero(vmo.readToArray(0, 4 * big)));
    const dst = new Uint8Array(big);
    vmo.read(dst, big);
    assert.ok(allZero(dst));
    assert.equal(vmo.info().committedBytes, 0);
  });
  await t.step("a range half data, half holes reads right and commits only the data", () => {
    using vmo = Vmo.create(4 * big);
    const data = pattern(big, 11);
    vmo.write(data, big);
    assert.equal(vmo.info().committedBytes, big);
    const back = vmo.readToArray(big / 2, 2 * big);
    assert.ok(allZero(back.subarray(0, big / 2)));
    assert.deepEqual(back.subarray(big / 2, big / 2 + big), data);
    assert.ok(allZero(back.subarray(big / 2 + big)));
    assert.equal(vmo.info().committedBytes, big);
  });
  await t.step("resident data round-trips; after DECOMMIT and ZERO it reads 0", () => {
    using vmo = Vmo.create(2 * big);
    const data = pattern(2 * big, 12);
    vmo.write(data, 0);
    assert.deepEqual(vmo.readToArray(0, 2 * big), data);
    vmo.opRange(VmoOp.DECOMMIT, 0, big);
    assert.ok(allZero(vmo.readToArray(0, big)));
    assert.equal(vmo.info().committedBytes, big);
    vmo.opRange(VmoOp.ZERO, big + 1, big - 2);
    const tail = vmo.readToArray(big, big);
    assert.equal(tail[0], data[big]);
    assert.ok(allZero(tail.subarray(1, big - 1)));
    assert.equal(tail[big - 1], data[2 * big - 1]);
  });
  await t.step("the same through a resizable VMO, a slice and a snapshot", () => {
    using resizable = Vmo.create(2 * big, VmoOptions.RESIZABLE);
    using fixed = Vmo.create(2 * big);
    using slice = fixed.createChild(C.SLICE, big, big);
    const data = pattern(big, 13);
    resizable.write(data, big);
    assert.deepEqual(resizable.readToArray(big, big), data);
    slice.write(data, 0);
    assert.deepEqual(fixed.readToArray(big, big), data);
    using snap = fixed.createChild(C.SNAPSHOT, 0, 2 * big);
    assert.deepEqual(snap.readToArray(big, big), data);
    snap.write(pattern(big, 14), big);
    assert.deepEqual(fixed.readToArray(big, big), data);
    assert.deepEqual(snap.readToArray(big, big), pattern(big, 14));
  });
  await t.step("an immutable snapshot reads large ranges", () => {
    using vmo = Vmo.create(big);
    const data = pattern(big, 15);
    vmo.write(data, 0);
    using frozen = vmo.createChild(C.SNAPSHOT | C.NO_WRITE, 0, big);
    assert.deepEqual(frozen.readToArray(0, big), data);
  });
});

Deno.test("§1.3 write never changes size or stream size", () => {
  using vmo = Vmo.create(2 * P + 5, VmoOptions.RESIZABLE);
  vmo.write(filled(2 * P, 1), P);
  assert.equal(vmo.getSize(), 3 * P);
  assert.equal(vmo.getStreamSize(), 2 * P + 5);
});

Deno.test("§1.3 bounds: offset+len > size is OUT_OF_RANGE", async (t) => {
  await t.step("len 0 at offset == size is OK", () => {
    using vmo = Vmo.create(2 * P);
    vmo.read(new Uint8Array(0), 2 * P);
    vmo.write(new Uint8Array(0), 2 * P);
    assert.equal(vmo.readToArray(2 * P, 0).length, 0);
  });
  await t.step("len 0 at size + 1: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(2 * P);
    assertStatus(() => vmo.read(new Uint8Array(0), 2 * P + 1), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.write(new Uint8Array(0), 2 * P + 1), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.readToArray(2 * P + 1, 0), Status.OUT_OF_RANGE);
  });
  await t.step("one byte past the end: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(2 * P);
    assertStatus(() => vmo.read(new Uint8Array(1), 2 * P), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.write(new Uint8Array(1), 2 * P), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.readToArray(2 * P, 1), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.read(new Uint8Array(P + 1), P), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.write(new Uint8Array(P + 1), P), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.readToArray(P, P + 1), Status.OUT_OF_RANGE);
  });
  await t.step("bounded by size, not by stream size", () => {
    using vmo = Vmo.create(10);
    vmo.write(new Uint8Array([4]), P - 1);
    assert.equal(vmo.readToArray(P - 1, 1)[0], 4);
  });
  await t.step("offset + len beyond Number.MAX_SAFE_INTEGER: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(P);
    const max = Number.MAX_SAFE_INTEGER;
    assertStatus(() => vmo.read(new Uint8Array(2), max), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.write(new Uint8Array(2), max), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.readToArray(max, 2), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.readToArray(2, max), Status.OUT_OF_RANGE);
  });
});

Deno.test("§1.3 check order", async (t) => {
  await t.step(
    "rights before overflow: no READ/WRITE with an overflowing range: ACCESS_DENIED",
    () => {
      using vmo = Vmo.create(P);
      using none = vmo.duplicate(Rights.NONE);
      assertStatus(() => none.read(new Uint8Array(2), 2 ** 60), Status.ACCESS_DENIED);
      assertStatus(() => none.readToArray(2 ** 60, 2), Status.ACCESS_DENIED);
      assertStatus(() => none.write(new Uint8Array(2), 2 ** 60), Status.ACCESS_DENIED);
    },
  );
  await t.step("not CACHED: BAD_STATE, checked before the size test", () => {
    using vmo = Vmo.create(P);
    vmo.setCachePolicy(CachePolicy.UNCACHED);
    assertStatus(() => vmo.read(new Uint8Array(1), 0), Status.BAD_STATE);
    assertStatus(() => vmo.write(new Uint8Array(1), 0), Status.BAD_STATE);
    assertStatus(() => vmo.readToArray(0, 1), Status.BAD_STATE);
    assertStatus(() => vmo.read(new Uint8Array(1), 5 * P), Status.BAD_STATE);
    assertStatus(() => vmo.write(new Uint8Array(1), 5 * P), Status.BAD_STATE);
    assertStatus(() => vmo.readToArray(5 * P, 1), Status.BAD_STATE);
  });
  await t.step("overflow before cache policy: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(P);
    vmo.setCachePolicy(CachePolicy.WRITE_COMBINING);
    const max = Number.MAX_SAFE_INTEGER;
    assertStatus(() => vmo.read(new Uint8Array(2), max), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.write(new Uint8Array(2), max), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.readToArray(max, 2), Status.OUT_OF_RANGE);
  });
  await t.step("rights before cache policy: ACCESS_DENIED", () => {
    using vmo = Vmo.create(P);
    vmo.setCachePolicy(CachePolicy.UNCACHED);
    using ro = vmo.duplicate(Rights.READ);
    assertStatus(() => ro.write(new Uint8Array(1), 0), Status.ACCESS_DENIED);
  });
});

Deno.test("§1.3 writes are visible at once through slices and references", () => {
  using vmo = Vmo.create(2 * P);
  using slice = vmo.createChild(VmoChildOptions.SLICE, P, P);
  using ref = vmo.createChild(VmoChildOptions.REFERENCE, 0, 0);
  vmo.write(new Uint8Array([1, 2, 3]), P + 10);
  assert.deepEqual([...slice.readToArray(10, 3)], [1, 2, 3]);
  assert.deepEqual([...ref.readToArray(P + 10, 3)], [1, 2, 3]);
  ref.write(new Uint8Array([9]), P);
  assert.equal(slice.readToArray(0, 1)[0], 9);
  assert.equal(vmo.readToArray(P, 1)[0], 9);
});

Deno.test("readToArray of a length JavaScript cannot allocate: NO_MEMORY", () => {
  using vmo = Vmo.create(0, VmoOptions.UNBOUNDED);
  assertStatus(() => vmo.readToArray(0, 2 ** 50), Status.NO_MEMORY);
});
