import assert from "node:assert/strict";
import fc from "fast-check";
import { DEFAULT_VMO_RIGHTS, Rights, Status, Vmo, VmoChildOptions, VmoOptions } from "../../mod.ts";
import { allZero, assertStatus, filled, P, roundUp } from "../_support/mod.ts";

const R = VmoOptions.RESIZABLE;

Deno.test("§1.4 getSize needs no right and is page-rounded", () => {
  using vmo = Vmo.create(P + 1);
  using none = vmo.duplicate(Rights.NONE);
  assert.equal(none.getSize(), 2 * P);
});

Deno.test("§1.4 setSize check order", async (t) => {
  await t.step("no WRITE: ACCESS_DENIED (resizable and not)", () => {
    using a = Vmo.create(P, R);
    using a2 = a.duplicate((DEFAULT_VMO_RIGHTS | Rights.RESIZE) & ~Rights.WRITE);
    assertStatus(() => a2.setSize(2 * P), Status.ACCESS_DENIED);
    using b = Vmo.create(P);
    using b2 = b.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
    assertStatus(() => b2.setSize(2 * P), Status.ACCESS_DENIED);
  });
  await t.step("resizable VMO, handle without RESIZE: ACCESS_DENIED", () => {
    using vmo = Vmo.create(P, R);
    using noResize = vmo.duplicate(DEFAULT_VMO_RIGHTS);
    assertStatus(() => noResize.setSize(2 * P), Status.ACCESS_DENIED);
    assert.equal(vmo.getSize(), P);
  });
  await t.step("no RESIZE on a resizable VMO comes before an overflowing size", () => {
    using vmo = Vmo.create(P, R);
    using noResize = vmo.duplicate(DEFAULT_VMO_RIGHTS);
    assertStatus(() => noResize.setSize(2 ** 53), Status.ACCESS_DENIED);
  });
  await t.step("no WRITE comes before an overflowing size", () => {
    using vmo = Vmo.create(P);
    using ro = vmo.duplicate(Rights.READ);
    assertStatus(() => ro.setSize(2 ** 60), Status.ACCESS_DENIED);
  });
  await t.step("non-resizable VMO: UNAVAILABLE, without needing RESIZE", () => {
    using vmo = Vmo.create(P);
    assert.equal(vmo.rights & Rights.RESIZE, 0);
    assertStatus(() => vmo.setSize(2 * P), Status.UNAVAILABLE);
    assertStatus(() => vmo.setSize(0), Status.UNAVAILABLE);
    assertStatus(() => vmo.setSize(P), Status.UNAVAILABLE);
    assert.equal(vmo.getSize(), P);
  });
  await t.step("rounding overflow is OUT_OF_RANGE even on a non-resizable VMO", () => {
    using vmo = Vmo.create(P);
    assertStatus(() => vmo.setSize(Number.MAX_SAFE_INTEGER), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.setSize(2 ** 53), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.setSize(2 ** 64), Status.OUT_OF_RANGE);
  });
  await t.step("resizable: above Vmo.MAX_SIZE: OUT_OF_RANGE, size unchanged", () => {
    using vmo = Vmo.create(P, R);
    assertStatus(() => vmo.setSize(Vmo.MAX_SIZE + 1), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.setSize(2 ** 53), Status.OUT_OF_RANGE);
    assert.equal(vmo.getSize(), P);
    assert.equal(vmo.getStreamSize(), P);
  });
  await t.step("resizable: Vmo.MAX_SIZE itself works (sparse), and back", () => {
    using vmo = Vmo.create(P, R);
    vmo.setSize(Vmo.MAX_SIZE);
    assert.equal(vmo.getSize(), Vmo.MAX_SIZE);
    vmo.write(new Uint8Array([1]), Vmo.MAX_SIZE - 1);
    vmo.setSize(P);
    assert.equal(vmo.getSize(), P);
    assert.equal(vmo.info().committedBytes, 0);
  });
});

Deno.test("§1.4 setSize effects", async (t) => {
  await t.step("size := roundup(size); stream size := the argument", () => {
    using vmo = Vmo.create(P, R);
    vmo.setSize(3 * P + 1);
    assert.equal(vmo.getSize(), 4 * P);
    assert.equal(vmo.getStreamSize(), 3 * P + 1);
    vmo.setSize(0);
    assert.equal(vmo.getSize(), 0);
    assert.equal(vmo.getStreamSize(), 0);
  });
  await t.step("set_size(2P) gives stream 2P, then set_size(10P) gives stream 10P", () => {
    using vmo = Vmo.create(P, R);
    vmo.setSize(2 * P);
    assert.equal(vmo.getStreamSize(), 2 * P);
    vmo.setSize(10 * P);
    assert.equal(vmo.getStreamSize(), 10 * P);
  });
  await t.step("growing exposes zero pages", () => {
    using vmo = Vmo.create(P, R);
    vmo.write(filled(P, 7), 0);
    vmo.setSize(3 * P);
    assert.ok(allZero(vmo.readToArray(P, 2 * P)));
    assert.deepEqual(vmo.readToArray(0, P), filled(P, 7));
  });
  await t.step("shrinking then growing exposes zeros, never old data", () => {
    using vmo = Vmo.create(3 * P, R);
    vmo.write(filled(3 * P, 0x5a), 0);
    vmo.setSize(P);
    assertStatus(() => vmo.readToArray(P, 1), Status.OUT_OF_RANGE);
    vmo.setSize(3 * P);
    assert.deepEqual(vmo.readToArray(0, P), filled(P, 0x5a));
    assert.ok(allZero(vmo.readToArray(P, 2 * P)));
  });
  await t.step("bytes in [size, roundup(size)) are zeroed", () => {
    using vmo = Vmo.create(2 * P, R);
    vmo.write(filled(2 * P, 0xff), 0);
    vmo.setSize(P + 10);
    assert.equal(vmo.getSize(), 2 * P);
    assert.deepEqual(vmo.readToArray(P, 10), filled(10, 0xff));
    assert.ok(allZero(vmo.readToArray(P + 10, P - 10)));
    assert.deepEqual(vmo.readToArray(0, P), filled(P, 0xff));
  });
  await t.step("same rounded size with a smaller argument still zeroes the tail", () => {
    using vmo = Vmo.create(P, R);
    vmo.write(filled(P, 1), 0);
    vmo.setSize(P - 1);
    assert.equal(vmo.getSize(), P);
    assert.equal(vmo.readToArray(P - 1, 1)[0], 0);
    assert.equal(vmo.readToArray(P - 2, 1)[0], 1);
  });
  await t.step("shrinking frees committed pages", () => {
    using vmo = Vmo.create(4 * P, R);
    vmo.write(filled(4 * P, 1), 0);
    assert.equal(vmo.info().committedBytes, 4 * P);
    vmo.setSize(P);
    assert.equal(vmo.info().committedBytes, P);
  });
  await t.step("property: a resizable VMO agrees with a model through resizes", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("size"), n: fc.integer({ min: 0, max: 4 * P }) }),
            fc.record({ kind: fc.constant("write"), n: fc.integer({ min: 0, max: 4 * P }) }),
          ),
          { maxLength: 15 },
        ),
        (steps) => {
          using vmo = Vmo.create(P, R);
          let model = new Uint8Array(P);
          let stream = P;
          let value = 1;
          for (const step of steps) {
            if (step.kind === "size") {
              vmo.setSize(step.n);
              const next = new Uint8Array(roundUp(step.n));
              next.set(model.subarray(0, Math.min(step.n, model.length)));
              model = next;
              stream = step.n;
            } else if (step.n < model.length) {
              vmo.write(new Uint8Array([value]), step.n);
              model[step.n] = value;
              value = (value % 255) + 1;
            } else {
              assertStatus(() => vmo.write(new Uint8Array([1]), step.n), Status.OUT_OF_RANGE);
            }
            assert.equal(vmo.getSize(), model.length);
            assert.equal(vmo.getStreamSize(), stream);
          }
          assert.deepEqual(vmo.readToArray(0, model.length), model);
        },
      ),
      { numRuns: 60 },
    );
  });
});

Deno.test("§1.4 children of a non-resizable VMO may be resizable and vice versa", async (t) => {
  await t.step("SNAPSHOT|RESIZABLE of a non-resizable parent is resizable", () => {
    using parent = Vmo.create(P);
    using child = parent.createChild(VmoChildOptions.SNAPSHOT | VmoChildOptions.RESIZABLE, 0, P);
    assert.ok(child.rights & Rights.RESIZE);
    child.setSize(3 * P);
    assert.equal(child.getSize(), 3 * P);
    assert.equal(parent.getSize(), P);
  });
  await t.step("SNAPSHOT of a resizable parent is not resizable", () => {
    using parent = Vmo.create(P, R);
    using child = parent.createChild(VmoChildOptions.SNAPSHOT, 0, P);
    assert.equal(child.rights & Rights.RESIZE, 0);
    assertStatus(() => child.setSize(2 * P), Status.UNAVAILABLE);
  });
  await t.step("a slice is never resizable", () => {
    using parent = Vmo.create(2 * P);
    using slice = parent.createChild(VmoChildOptions.SLICE, 0, P);
    assertStatus(() => slice.setSize(2 * P), Status.UNAVAILABLE);
  });
});

Deno.test("§1.5 stream size", async (t) => {
  await t.step("getStreamSize needs no right", () => {
    using vmo = Vmo.create(123);
    using none = vmo.duplicate(Rights.NONE);
    assert.equal(none.getStreamSize(), 123);
  });
  await t.step("setStreamSize needs WRITE: ACCESS_DENIED", () => {
    using vmo = Vmo.create(P);
    using ro = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
    assertStatus(() => ro.setStreamSize(5), Status.ACCESS_DENIED);
    assertStatus(() => ro.setStreamSize(P), Status.ACCESS_DENIED);
    assertStatus(() => ro.setStreamSize(2 * P), Status.ACCESS_DENIED);
  });
  await t.step("s > size: OUT_OF_RANGE", () => {
    using vmo = Vmo.create(10);
    assertStatus(() => vmo.setStreamSize(P + 1), Status.OUT_OF_RANGE);
    assertStatus(() => vmo.setStreamSize(2 ** 53), Status.OUT_OF_RANGE);
    assert.equal(vmo.getStreamSize(), 10);
  });
  await t.step("s == size is allowed; works on a non-resizable VMO", () => {
    using vmo = Vmo.create(10);
    vmo.setStreamSize(P);
    assert.equal(vmo.getStreamSize(), P);
    assert.equal(vmo.getSize(), P);
  });
  await t.step("s == current is a no-op that zeroes nothing", () => {
    using vmo = Vmo.create(100);
    vmo.write(filled(10, 3), 200);
    vmo.setStreamSize(100);
    assert.deepEqual(vmo.readToArray(200, 10), filled(10, 3));
  });
  await t.step("shrinking zeroes from the new stream size to the end of the VMO", () => {
    using vmo = Vmo.create(2 * P);
    vmo.write(filled(2 * P, 9), 0);
    vmo.setStreamSize(100);
    assert.equal(vmo.getStreamSize(), 100);
    assert.deepEqual(vmo.readToArray(0, 100), filled(100, 9));
    assert.ok(allZero(vmo.readToArray(100, 2 * P - 100)));
    assert.equal(vmo.getSize(), 2 * P, "the size does not change");
  });
  await t.step("growing zeroes from the old stream size to the end of the VMO", () => {
    using vmo = Vmo.create(50);
    vmo.write(filled(P, 4), 0); // bytes past the stream size, written directly
    vmo.setStreamSize(200);
    assert.equal(vmo.getStreamSize(), 200);
    assert.deepEqual(vmo.readToArray(0, 50), filled(50, 4));
    assert.ok(allZero(vmo.readToArray(50, P - 50)));
  });
  await t.step("setSize overwrites the stream size with its argument", () => {
    using vmo = Vmo.create(P, R);
    vmo.setStreamSize(5);
    vmo.setSize(2 * P + 3);
    assert.equal(vmo.getStreamSize(), 2 * P + 3);
  });
});
