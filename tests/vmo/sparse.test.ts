import assert from "node:assert/strict";
import { Vmo, VmoChildOptions as C } from "../../mod.ts";
import { allZero, P, pattern } from "../_support/mod.ts";

const GiB = 2 ** 30;
const MiB = 2 ** 20;

Deno.test("sparse: a SNAPSHOT of a 64 GiB VMO holding 16 MiB copies only the data", () => {
  using vmo = Vmo.create(64 * GiB);
  assert.equal(vmo.getSize(), 64 * GiB);
  // two extents, 8 MiB each, far apart
  const a = pattern(8 * MiB, 1);
  const b = pattern(8 * MiB, 2);
  const offA = 3 * GiB;
  const offB = 40 * GiB + 16 * P;
  vmo.write(a, offA);
  vmo.write(b, offB);
  assert.equal(vmo.info().committedBytes, 16 * MiB);

  const start = performance.now();
  using snap = vmo.createChild(C.SNAPSHOT, 0, 64 * GiB);
  const elapsed = performance.now() - start;

  assert.equal(snap.getSize(), 64 * GiB);
  assert.equal(snap.info().committedBytes, 16 * MiB, "only the data is copied");
  assert.ok(elapsed < 5000, `snapshot took ${elapsed} ms`);
  assert.deepEqual(snap.readToArray(offA, 8 * MiB), a);
  assert.deepEqual(snap.readToArray(offB, 8 * MiB), b);
  // far-away pages read 0
  for (const off of [0, GiB, offA - P, offA + 8 * MiB, 20 * GiB, 64 * GiB - P]) {
    assert.ok(allZero(snap.readToArray(off, P)), `page at ${off} reads 0`);
  }
  assert.equal(snap.info().committedBytes, 16 * MiB, "reading holes commits nothing");
  // the copy is isolated
  vmo.write(new Uint8Array(16), offA);
  assert.deepEqual(snap.readToArray(offA, 16), a.slice(0, 16));
});

Deno.test("sparse: a window snapshot copies only the data inside the window", () => {
  using vmo = Vmo.create(64 * GiB);
  vmo.write(pattern(4 * MiB, 3), 10 * GiB);
  vmo.write(pattern(4 * MiB, 4), 30 * GiB);
  // [10 GiB + 2 MiB, 30 GiB + 2 MiB): the second half of the first extent, the first half
  // of the second
  using snap = vmo.createChild(C.SNAPSHOT, 10 * GiB + 2 * MiB, 20 * GiB);
  assert.equal(snap.info().committedBytes, 4 * MiB);
  assert.deepEqual(snap.readToArray(0, 2 * MiB), pattern(4 * MiB, 3).slice(2 * MiB));
  assert.ok(allZero(snap.readToArray(2 * MiB, P)));
  assert.deepEqual(
    snap.readToArray(20 * GiB - 2 * MiB, 2 * MiB),
    pattern(4 * MiB, 4).slice(0, 2 * MiB),
  );
});
