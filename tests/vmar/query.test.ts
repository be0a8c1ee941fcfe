/**
 * `queryRange` (src/vmar/memory.ts), the one query the mapping and guest layers ask of the
 * region tree: an access's status (the first failing page decides, in address order), whether
 * views may be made, and a watch on exactly the mappings under the range.
 */

import assert from "node:assert/strict";
import { PAGE_SIZE as P, Status, Vmar, VmarFlags, Vmo, VmoChildOptions } from "../../mod.ts";
import { type Lease, PERM_READ, PERM_WRITE, queryRange } from "../../src/vmar/memory.ts";
import { vmarObjectOf } from "../../src/vmar/vmar.ts";

const RW = PERM_READ | PERM_WRITE;
const SPECIFIC = VmarFlags.SPECIFIC;
const CAN = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC;

/**
 * A 16-page region: [0, 2P) RW, [2P, 3P) R, hole [3P, 4P), [4P, 5P) RW of a file-backed VMO,
 * and a sub-VMAR at [8P, 12P) holding a RW mapping at [8P, 9P).
 */
function layout() {
  const [vmar, base] = Vmar.root().allocate(0, 16 * P, CAN);
  const vmo = Vmo.create(4 * P);
  vmar.map(0, vmo, 0, 3 * P, RW | SPECIFIC);
  vmar.protect(base + 2 * P, P, PERM_READ);
  const path = Deno.makeTempFileSync();
  Deno.writeFileSync(path, new Uint8Array(P));
  const file = Vmo.fromFile(path, { writable: true });
  vmar.map(4 * P, file, 0, P, RW | SPECIFIC);
  const [sub] = vmar.allocate(8 * P, 4 * P, CAN | SPECIFIC);
  sub.map(0, vmo, 0, P, RW | SPECIFIC);
  const object = vmarObjectOf(vmar);
  return {
    object,
    base,
    sub,
    [Symbol.dispose]() {
      vmar.destroy();
      vmo.close();
      file.close();
      Deno.removeSync(path);
    },
  };
}

Deno.test("queryRange: status, viewability and watch from one walk", async (t) => {
  await t.step("one direct mapping: OK, viewable, one record", () => {
    using l = layout();
    const q = queryRange(l.object, l.base + 100, l.base + 2 * P, RW);
    assert.equal(q.status, Status.OK);
    assert.equal(q.viewable, true);
    assert.equal(q.records.length, 1);
  });

  await t.step("the first failing page decides: ACCESS_DENIED before the hole's NOT_FOUND", () => {
    using l = layout();
    assert.equal(queryRange(l.object, l.base, l.base + 4 * P, RW).status, Status.ACCESS_DENIED);
    assert.equal(queryRange(l.object, l.base, l.base + 4 * P, PERM_READ).status, Status.NOT_FOUND);
    assert.equal(queryRange(l.object, l.base + 3 * P, l.base + 5 * P, 0).status, Status.NOT_FOUND);
  });

  await t.step(
    "a file under any part of the range makes it unviewable, whatever the status",
    () => {
      using l = layout();
      const q = queryRange(l.object, l.base, l.base + 5 * P, RW);
      assert.equal(q.status, Status.ACCESS_DENIED);
      assert.equal(q.viewable, false);
      assert.equal(queryRange(l.object, l.base + 4 * P, l.base + 5 * P, RW).viewable, false);
    },
  );

  await t.step("sub-VMARs are walked into; the sub-VMAR's free space is a hole", () => {
    using l = layout();
    const inSub = queryRange(l.object, l.base + 8 * P, l.base + 9 * P, RW);
    assert.equal(inSub.status, Status.OK);
    assert.equal(inSub.records.length, 1);
    assert.equal(queryRange(l.object, l.base + 8 * P, l.base + 10 * P, 0).status, Status.NOT_FOUND);
  });

  await t.step("OUT_OF_RANGE past the end of a slice's pages", () => {
    using parent = Vmo.create(4 * P);
    using slice = parent.createChild(VmoChildOptions.SLICE, 0, P);
    const vmar = Vmar.root();
    const addr = vmar.map(0, slice, 0, 2 * P, RW | VmarFlags.ALLOW_FAULTS);
    try {
      const root = vmarObjectOf(vmar);
      assert.equal(queryRange(root, addr, addr + P, RW).status, Status.OK);
      assert.equal(queryRange(root, addr, addr + 2 * P, RW).status, Status.OUT_OF_RANGE);
    } finally {
      vmar.unmap(addr, 2 * P);
    }
  });

  await t.step("watch: a lease dies when any mapping under it is unmapped, not before", () => {
    using l = layout();
    const lease: Lease = { dead: false };
    queryRange(l.object, l.base, l.base + 9 * P, 0).watch(0, lease);
    const vmar = Vmar.root();
    vmar.protect(l.base, P, PERM_READ);
    assert.equal(lease.dead, false, "a lease needs no permission");
    l.sub.unmap(l.base + 8 * P, P);
    assert.equal(lease.dead, true, "the sub-VMAR's mapping was under the range");
  });

  await t.step("watch: a view is detached when its memory loses a permission it needs", () => {
    using l = layout();
    const view = new ArrayBuffer(8);
    const q = queryRange(l.object, l.base, l.base + P, RW);
    q.watch(RW, view);
    Vmar.root().protect(l.base + P, P, PERM_READ);
    assert.equal(view.byteLength, 8, "another page of the mapping");
    Vmar.root().protect(l.base, P, PERM_READ);
    assert.equal(view.byteLength, 0);
  });
});
