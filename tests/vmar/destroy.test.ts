/**
 * docs/semantics.md §2.1 (lifecycle) and §2.8: `Vmar.destroy`, its checks, and its effects: mappings
 * unmapped, descendants dead, the range back to the parent (a reservation again inside a
 * sub-VMAR, gone from `/proc/self/maps` for a top-level VMAR).
 */

import assert from "node:assert/strict";
import { Rights, Status, Vmar, VmarOp, Vmo } from "../../mod.ts";
import { assertStatus, closedDuplicate, P, pattern } from "../_support/mod.ts";
import {
  assertKernelProt,
  callAsVmar,
  CAN_RWS,
  kernelAccess,
  mappingRows,
  R,
  readProbe,
  region,
  rows,
  RW,
  SPECIFIC,
  without,
} from "./helpers.ts";

Deno.test("§2.8 destroy: handle lookup", () => {
  using r = region();
  const dup = closedDuplicate(r.vmar);
  assertStatus(() => dup.destroy(), Status.BAD_HANDLE);
  using vmo = Vmo.create(P);
  assertStatus(() => callAsVmar(vmo, "destroy"), Status.WRONG_TYPE);
  assert.deepEqual(r.vmar.info(), { base: r.base, len: r.size });
  assertKernelProt(r.base, r.size, "---p");
});

Deno.test("§2.8 destroy: without OP_CHILDREN → ACCESS_DENIED, nothing changed", () => {
  using r = region();
  using vmo = Vmo.create(P);
  const addr = r.vmar.map(0, vmo, 0, P, RW);
  using h = without(r.vmar, Rights.OP_CHILDREN);
  assertStatus(() => h.destroy(), Status.ACCESS_DENIED);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, P, RW, 0]]);
  assertKernelProt(addr, P, "rw-s");
  assert.equal(readProbe(r.vmar, addr), 1);
  // ACCESS_DENIED comes before BAD_STATE.
  r.vmar.destroy();
  assertStatus(() => h.destroy(), Status.ACCESS_DENIED);
  // A handle with only OP_CHILDREN is enough.
  const [child] = Vmar.root().allocate(0, 4 * P, 0);
  using only = child.duplicate(Rights.OP_CHILDREN);
  only.destroy();
  assertStatus(() => child.destroy(), Status.BAD_STATE);
});

Deno.test("§2.8 destroy: the root VMAR → NOT_SUPPORTED (after the OP_CHILDREN check)", () => {
  const root = Vmar.root();
  assertStatus(() => root.destroy(), Status.NOT_SUPPORTED);
  using noChildren = without(root, Rights.OP_CHILDREN);
  assertStatus(() => noChildren.destroy(), Status.ACCESS_DENIED);
  assert.ok(root.info().len > 0);
});

Deno.test("§2.8 destroy: already destroyed → BAD_STATE", () => {
  using r = region();
  r.vmar.destroy();
  assertStatus(() => r.vmar.destroy(), Status.BAD_STATE);
  const dup = r.vmar.duplicate();
  assertStatus(() => dup.destroy(), Status.BAD_STATE);
  dup.close();
});

Deno.test("§2.8 destroy a top-level VMAR: its range leaves /proc/self/maps; mappings are gone", () => {
  const [vmar, base] = Vmar.root().allocate(0, 16 * P, CAN_RWS);
  using vmo = Vmo.create(4 * P);
  vmo.write(pattern(4 * P), 0);
  vmar.map(0, vmo, 0, 2 * P, RW);
  vmar.map(8 * P, vmo, 2 * P, 2 * P, R | SPECIFIC);
  assert.equal(vmo.info().numMappings, 2);
  assertKernelProt(base, 2 * P, "rw-s");
  vmar.destroy();
  assertKernelProt(base, 16 * P, null);
  assert.equal(vmo.info().numMappings, 0);
  // The data stays in the VMO.
  assert.deepEqual(vmo.readToArray(0, 4 * P), pattern(4 * P));
  // The root's tree no longer holds it.
  assert.equal(Vmar.root().infoMaps().some((m) => m.base === base), false);
  // The handle stays open.
  assert.ok(vmar.isValid);
  vmar.close();
});

Deno.test("§2.8 destroy a nested VMAR: its range is the parent's reservation again, and reusable", () => {
  using r = region(16);
  using vmo = Vmo.create(2 * P);
  const [sub, subBase] = r.vmar.allocate(4 * P, 8 * P, CAN_RWS | SPECIFIC);
  const a = sub.map(0, vmo, 0, 2 * P, RW);
  assertKernelProt(a, 2 * P, "rw-s");
  sub.destroy();
  assertKernelProt(r.base, 16 * P, "---p");
  assert.equal(kernelAccess(a), "-");
  assert.equal(readProbe(r.vmar, a), Status.NOT_FOUND);
  assert.deepEqual(rows(r.vmar.infoMaps(), r.base), [{
    type: "vmar",
    off: 0,
    size: 16 * P,
    depth: 0,
  }]);
  assert.equal(vmo.info().numMappings, 0);
  const [again, addr] = r.vmar.allocate(4 * P, 8 * P, SPECIFIC);
  assert.equal(addr, subBase);
  again.destroy();
  assert.equal(r.vmar.map(4 * P, vmo, 0, 2 * P, RW | SPECIFIC), subBase);
});

Deno.test("§2.8 destroy: descendants die too; every VMAR op on a dead VMAR → BAD_STATE", () => {
  using r = region(32);
  using vmo = Vmo.create(2 * P);
  const [mid, midBase] = r.vmar.allocate(0, 16 * P, CAN_RWS | SPECIFIC);
  const [leaf, leafBase] = mid.allocate(4 * P, 4 * P, CAN_RWS | SPECIFIC);
  leaf.map(0, vmo, 0, 2 * P, RW);
  mid.map(0, vmo, 0, 2 * P, RW);
  assert.equal(vmo.info().numMappings, 2);
  mid.destroy();
  assert.equal(vmo.info().numMappings, 0);
  for (const [v, base] of [[mid, midBase], [leaf, leafBase]] as const) {
    assert.ok(v.isValid);
    assertStatus(() => v.allocate(0, P, 0), Status.BAD_STATE);
    assertStatus(() => v.map(0, vmo, 0, P, R), Status.BAD_STATE);
    assertStatus(() => v.unmap(base, P), Status.BAD_STATE);
    assertStatus(() => v.protect(base, P, R), Status.BAD_STATE);
    assertStatus(() => v.opRange(VmarOp.COMMIT, base, P), Status.BAD_STATE);
    assertStatus(() => v.infoMaps(), Status.BAD_STATE);
    assertStatus(() => v.readMemory(base, new Uint8Array(1)), Status.BAD_STATE);
    assertStatus(() => v.writeMemory(base, new Uint8Array(1)), Status.BAD_STATE);
    assertStatus(() => v.destroy(), Status.BAD_STATE);
  }
  assertKernelProt(r.base, 32 * P, "---p");
  assert.equal(r.vmar.infoMaps().length, 1);
});

Deno.test("§2.1 closing a VMAR handle does not destroy the region", () => {
  using r = region(16);
  using vmo = Vmo.create(P);
  const [sub, subBase] = r.vmar.allocate(0, 8 * P, CAN_RWS);
  const addr = sub.map(0, vmo, 0, P, RW);
  sub.close();
  assert.equal(sub.isValid, false);
  assertStatus(() => sub.destroy(), Status.BAD_HANDLE);
  // Still in the tree, still mapped, still reserved.
  assert.deepEqual(rows(r.vmar.infoMaps(), r.base).map((x) => [x.type, x.off, x.size]), [
    ["vmar", 0, 16 * P],
    ["vmar", 0, 8 * P],
    ["map", 0, P],
  ]);
  assertKernelProt(addr, P, "rw-s");
  assertKernelProt(subBase + P, 7 * P, "---p");
  assert.equal(r.vmar.writeMemory(addr, new Uint8Array([6])), 1);
  assert.equal(vmo.readToArray(0, 1)[0], 6);
  assertStatus(() => r.vmar.allocate(0, P, SPECIFIC), Status.ALREADY_EXISTS);
  // The parent can still remove it (unmap with OP_CHILDREN).
  r.vmar.unmap(subBase, 8 * P);
  assertKernelProt(r.base, 16 * P, "---p");
  assert.equal(vmo.info().numMappings, 0);
});
