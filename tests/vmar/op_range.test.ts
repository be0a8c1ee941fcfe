/**
 * docs/semantics.md §2.7: `Vmar.opRange`, its checks in order, the per-mapping rules (direct
 * children only for COMMIT/DECOMMIT/PREFETCH, max perms, OP_CHILDREN) and the effects on
 * the VMO (committed bytes, zeroes seen through every alias).
 */

import assert from "node:assert/strict";
import { DEFAULT_VMO_RIGHTS, Rights, Status, VmarOp, Vmo, VmoChildOptions } from "../../mod.ts";
import { assertStatus, closedDuplicate, P, pattern } from "../_support/mod.ts";
import {
  assertKernelProt,
  callAsVmar,
  CAN_RWS,
  kernelRead,
  mapped,
  mappingRows,
  R,
  readBytes,
  region,
  RW,
  SPECIFIC,
  without,
  withSub,
} from "./helpers.ts";

const ALL_OPS = [
  VmarOp.COMMIT,
  VmarOp.DECOMMIT,
  VmarOp.MAP_RANGE,
  VmarOp.DONT_NEED,
  VmarOp.ALWAYS_NEED,
  VmarOp.PREFETCH,
];

Deno.test("§2.7 opRange: handle lookup", () => {
  using m = mapped(4, null);
  const dup = closedDuplicate(m.r.vmar);
  assertStatus(() => dup.opRange(VmarOp.COMMIT, m.addr, P), Status.BAD_HANDLE);
  assertStatus(() => dup.opRange(-1, -1, NaN), Status.BAD_HANDLE);
  assertStatus(() => callAsVmar(m.vmo, "opRange", VmarOp.COMMIT, m.addr, P), Status.WRONG_TYPE);
  // (Whether COMMIT needs WRITE on the VMAR handle is left open by §5.8: not tested.)
  // A hint needs no right at all.
  using none = m.r.vmar.duplicate(Rights.NONE);
  none.opRange(VmarOp.DONT_NEED, m.addr, P);
  assert.equal(m.vmo.info().committedBytes, 0);
});

Deno.test("§2.7 opRange: argument shape errors → INVALID_ARGS", () => {
  using m = mapped(4, null);
  for (const v of [-1, 0.5, NaN, Infinity, "1", null, undefined, 1n] as unknown[]) {
    const n = v as number;
    assertStatus(() => m.r.vmar.opRange(n, m.addr, P), Status.INVALID_ARGS, `op ${v}`);
    assertStatus(() => m.r.vmar.opRange(VmarOp.COMMIT, n, P), Status.INVALID_ARGS, `addr ${v}`);
    assertStatus(() => m.r.vmar.opRange(VmarOp.COMMIT, m.addr, n), Status.INVALID_ARGS, `len ${v}`);
  }
  assert.equal(m.vmo.info().committedBytes, 0);
});

Deno.test("§2.7 opRange: unknown op → INVALID_ARGS, first after the handle", () => {
  using m = mapped(4, null);
  const [dead, deadBase] = m.r.vmar.allocate(0, 4 * P, CAN_RWS);
  dead.destroy();
  for (const op of [0, 4, 5, 6, 9, 11, 15, 99, 2 ** 31]) {
    assertStatus(() => m.r.vmar.opRange(op, m.addr, P), Status.INVALID_ARGS, `op ${op}`);
    // Before len 0, alignment, range and liveness.
    assertStatus(() => m.r.vmar.opRange(op, m.addr + 1, 0), Status.INVALID_ARGS);
    assertStatus(() => dead.opRange(op, deadBase, P), Status.INVALID_ARGS);
  }
});

Deno.test("§2.7 opRange: len 0 or unaligned addr → INVALID_ARGS; unaligned len is rounded", () => {
  using m = mapped(4, null);
  for (const op of ALL_OPS) {
    assertStatus(() => m.r.vmar.opRange(op, m.addr, 0), Status.INVALID_ARGS, `op ${op} len 0`);
    assertStatus(() => m.r.vmar.opRange(op, m.addr + 1, P), Status.INVALID_ARGS, `op ${op} +1`);
  }
  // Before the range check and liveness.
  assertStatus(() => m.r.vmar.opRange(VmarOp.COMMIT, 1, P), Status.INVALID_ARGS);
  const [dead, deadBase] = m.r.vmar.allocate(0, 4 * P, CAN_RWS);
  dead.destroy();
  assertStatus(() => dead.opRange(VmarOp.COMMIT, deadBase, 0), Status.INVALID_ARGS);
  assertStatus(() => dead.opRange(VmarOp.COMMIT, deadBase + 1, P), Status.INVALID_ARGS);
  // len 1 commits one page.
  m.r.vmar.opRange(VmarOp.COMMIT, m.addr + P, 1);
  assert.equal(m.vmo.info().committedBytes, P);
});

Deno.test("§2.7 opRange: range not inside the VMAR → OUT_OF_RANGE, before liveness", () => {
  using m = mapped(4, null);
  const { r } = m;
  for (
    const [addr, len] of [[r.base - P, 2 * P], [r.base + 15 * P, 2 * P], [r.base + 16 * P, P], [
      0,
      P,
    ]]
  ) {
    assertStatus(() => r.vmar.opRange(VmarOp.COMMIT, addr, len), Status.OUT_OF_RANGE);
  }
  const [dead, deadBase] = r.vmar.allocate(4 * P, 4 * P, CAN_RWS | SPECIFIC);
  dead.destroy();
  assertStatus(() => dead.opRange(VmarOp.COMMIT, deadBase + 4 * P, P), Status.OUT_OF_RANGE);
  assertStatus(() => dead.opRange(VmarOp.COMMIT, deadBase, P), Status.BAD_STATE);
  assertStatus(() => dead.opRange(VmarOp.MAP_RANGE, deadBase, 4 * P), Status.BAD_STATE);
  assert.equal(m.vmo.info().committedBytes, 0);
});

Deno.test("§2.7 opRange: a gap before, between or after mappings → BAD_STATE, mappings before it done", () => {
  // Zircon walks the range in address order, checking and acting one mapping at a time.
  using r = region(16);
  using vmo = Vmo.create(8 * P);
  r.vmar.map(P, vmo, 0, 2 * P, RW | SPECIFIC);
  r.vmar.map(4 * P, vmo, 4 * P, 2 * P, RW | SPECIFIC);
  for (const op of ALL_OPS) {
    assertStatus(() => r.vmar.opRange(op, r.base, 3 * P), Status.BAD_STATE, `before, op ${op}`);
    assertStatus(() => r.vmar.opRange(op, r.base + 8 * P, P), Status.BAD_STATE, `only gap ${op}`);
  }
  assert.equal(vmo.info().committedBytes, 0, "a gap first: nothing done");
  assertStatus(() => r.vmar.opRange(VmarOp.COMMIT, r.base + P, 5 * P), Status.BAD_STATE);
  assert.equal(vmo.info().committedBytes, 2 * P, "the mapping before the gap was committed");
  assertStatus(() => r.vmar.opRange(VmarOp.COMMIT, r.base + 4 * P, 3 * P), Status.BAD_STATE);
  assert.equal(vmo.info().committedBytes, 4 * P, "the mapping before the gap was committed");
  r.vmar.opRange(VmarOp.DECOMMIT, r.base + P, 2 * P);
  r.vmar.opRange(VmarOp.DECOMMIT, r.base + 4 * P, 2 * P);
  assert.equal(vmo.info().committedBytes, 0);
  // An empty sub-VMAR is a gap too.
  r.vmar.allocate(3 * P, P, SPECIFIC);
  assertStatus(() => r.vmar.opRange(VmarOp.COMMIT, r.base + P, 5 * P), Status.BAD_STATE);
  assert.equal(vmo.info().committedBytes, 2 * P, "committed up to the empty sub-VMAR");
  r.vmar.opRange(VmarOp.DECOMMIT, r.base + P, 2 * P);
  // Without a gap it works.
  r.vmar.opRange(VmarOp.COMMIT, r.base + P, 2 * P);
  assert.equal(vmo.info().committedBytes, 2 * P);
});

Deno.test("§2.7 opRange: COMMIT/DECOMMIT/PREFETCH never reach a sub-VMAR's mapping → INVALID_ARGS", () => {
  using s = withSub();
  for (const op of [VmarOp.COMMIT, VmarOp.DECOMMIT, VmarOp.PREFETCH]) {
    assertStatus(() => s.r.vmar.opRange(op, s.subBase, P), Status.INVALID_ARGS, `op ${op}`);
    assertStatus(() => s.r.vmar.opRange(op, s.r.base, 4 * P), Status.INVALID_ARGS, `op ${op} all`);
  }
  assert.equal(s.vmo.info().committedBytes, 0, "nothing committed, not even the direct part");
  // Through the sub-VMAR's own handle it works.
  s.sub.opRange(VmarOp.COMMIT, s.subBase, 2 * P);
  assert.equal(s.vmo.info().committedBytes, 2 * P);
});

Deno.test("§2.7 opRange: other ops reach a sub-VMAR's mapping only with OP_CHILDREN", () => {
  using s = withSub();
  using noChildren = without(s.r.vmar, Rights.OP_CHILDREN);
  for (const op of [VmarOp.MAP_RANGE, VmarOp.DONT_NEED, VmarOp.ALWAYS_NEED]) {
    assertStatus(() => noChildren.opRange(op, s.r.base, 4 * P), Status.INVALID_ARGS, `op ${op}`);
    s.r.vmar.opRange(op, s.r.base, 4 * P);
    noChildren.opRange(op, s.r.base, 2 * P); // the direct mapping alone is fine
  }
  assert.equal(s.vmo.info().committedBytes, 0, "hints and MAP_RANGE commit nothing");
});

Deno.test("§2.7 opRange: COMMIT and DECOMMIT need WRITE in the max perms → ACCESS_DENIED", () => {
  using r = region(16);
  using vmo = Vmo.create(4 * P);
  vmo.write(pattern(4 * P), 0);
  using ro = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
  const addr = r.vmar.map(0, ro, 0, 4 * P, R);
  assertStatus(() => r.vmar.opRange(VmarOp.COMMIT, addr, P), Status.ACCESS_DENIED);
  assertStatus(() => r.vmar.opRange(VmarOp.DECOMMIT, addr, P), Status.ACCESS_DENIED);
  assert.deepEqual(vmo.readToArray(0, 4 * P), pattern(4 * P));
  // PREFETCH needs READ only.
  r.vmar.opRange(VmarOp.PREFETCH, addr, 4 * P);
});

Deno.test("§2.7 opRange: PREFETCH needs READ in the max perms; current perms are irrelevant", () => {
  using r = region(16);
  using vmo = Vmo.create(2 * P);
  using mapOnly = vmo.duplicate(Rights.MAP);
  const a = r.vmar.map(0, mapOnly, 0, 2 * P, 0);
  assertStatus(() => r.vmar.opRange(VmarOp.PREFETCH, a, P), Status.ACCESS_DENIED);
  assertStatus(() => r.vmar.opRange(VmarOp.COMMIT, a, P), Status.ACCESS_DENIED);
  const b = r.vmar.map(0, vmo, 0, 2 * P, RW);
  r.vmar.protect(b, 2 * P, 0);
  r.vmar.opRange(VmarOp.PREFETCH, b, 2 * P);
  assertKernelProt(b, 2 * P, "---s");
});

Deno.test("§2.7 opRange: DECOMMIT of a currently read-only mapping with RW max perms is fine", () => {
  using m = mapped(4, null);
  m.vmo.write(pattern(4 * P), 0);
  m.r.vmar.protect(m.addr, 4 * P, R);
  m.r.vmar.opRange(VmarOp.DECOMMIT, m.addr, 2 * P);
  assert.equal(m.vmo.info().committedBytes, 2 * P);
  assert.deepEqual(readBytes(m.r.vmar, m.addr, P), new Uint8Array(P));
});

Deno.test("§2.7 opRange COMMIT: allocates the VMO pages; the data is unchanged", () => {
  using m = mapped(4, null);
  m.vmo.write(new Uint8Array([1, 2, 3]), P);
  assert.equal(m.vmo.info().committedBytes, P);
  m.r.vmar.opRange(VmarOp.COMMIT, m.addr, 3 * P);
  assert.equal(m.vmo.info().committedBytes, 3 * P);
  assert.deepEqual([...readBytes(m.r.vmar, m.addr + P, 3)], [1, 2, 3]);
  assert.deepEqual(readBytes(m.r.vmar, m.addr, P), new Uint8Array(P));
  // Committing again changes nothing.
  m.r.vmar.opRange(VmarOp.COMMIT, m.addr, 4 * P);
  assert.equal(m.vmo.info().committedBytes, 4 * P);
});

Deno.test("§2.7 opRange DECOMMIT: frees the pages; every alias reads zeros", () => {
  using r = region(16);
  using vmo = Vmo.create(4 * P);
  vmo.write(pattern(4 * P), 0);
  const a = r.vmar.map(0, vmo, 0, 4 * P, RW | SPECIFIC);
  const b = r.vmar.map(8 * P, vmo, 0, 4 * P, R | SPECIFIC);
  r.vmar.opRange(VmarOp.DECOMMIT, a + P, 2 * P);
  assert.equal(vmo.info().committedBytes, 2 * P);
  const expected = pattern(4 * P);
  expected.fill(0, P, 3 * P);
  assert.deepEqual(readBytes(r.vmar, a, 4 * P), expected);
  assert.deepEqual(readBytes(r.vmar, b, 4 * P), expected);
  assert.deepEqual(vmo.readToArray(0, 4 * P), expected);
  assert.deepEqual(kernelRead(b + P, 16), new Uint8Array(16));
});

Deno.test("§2.7 opRange DECOMMIT: the VMO's rules apply (snapshot → NOT_SUPPORTED)", () => {
  using r = region(16);
  using parent = Vmo.create(2 * P);
  parent.write(pattern(2 * P), 0);
  using snap = parent.createChild(VmoChildOptions.SNAPSHOT, 0, 2 * P);
  const a = r.vmar.map(0, snap, 0, 2 * P, RW);
  assertStatus(() => r.vmar.opRange(VmarOp.DECOMMIT, a, P), Status.NOT_SUPPORTED);
  assert.deepEqual(readBytes(r.vmar, a, 2 * P), pattern(2 * P));
  // ... and a VMO that has a snapshot child.
  const b = r.vmar.map(0, parent, 0, 2 * P, RW);
  assertStatus(() => r.vmar.opRange(VmarOp.DECOMMIT, b, P), Status.NOT_SUPPORTED);
  assert.deepEqual(readBytes(r.vmar, b, 2 * P), pattern(2 * P));
});

Deno.test("§2.7 opRange COMMIT past the VMO's end → OUT_OF_RANGE", () => {
  using r = region(16);
  using vmo = Vmo.create(2 * P);
  const addr = r.vmar.map(0, vmo, 0, 4 * P, RW);
  assertStatus(() => r.vmar.opRange(VmarOp.COMMIT, addr, 4 * P), Status.OUT_OF_RANGE);
  assertStatus(() => r.vmar.opRange(VmarOp.DECOMMIT, addr + 2 * P, P), Status.OUT_OF_RANGE);
  r.vmar.opRange(VmarOp.COMMIT, addr, 2 * P);
  assert.equal(vmo.info().committedBytes, 2 * P);
});

Deno.test("§2.7 opRange MAP_RANGE / DONT_NEED / ALWAYS_NEED / PREFETCH: no visible change", () => {
  using m = mapped(4, null);
  m.vmo.write(pattern(P), P);
  for (const op of [VmarOp.MAP_RANGE, VmarOp.DONT_NEED, VmarOp.ALWAYS_NEED, VmarOp.PREFETCH]) {
    m.r.vmar.opRange(op, m.addr, 4 * P);
    assert.equal(m.vmo.info().committedBytes, P, `op ${op}`);
    assert.deepEqual(readBytes(m.r.vmar, m.addr + P, P), pattern(P), `op ${op}`);
  }
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, 4 * P, RW, 0]]);
  assertKernelProt(m.addr, 4 * P, "rw-s");
});

Deno.test("§2.7 opRange ZERO through a VMAR → NOT_SUPPORTED", () => {
  using m = mapped(4, null);
  m.vmo.write(pattern(P), 0);
  assertStatus(() => m.r.vmar.opRange(VmarOp.ZERO, m.addr, P), Status.NOT_SUPPORTED);
  assert.deepEqual(m.vmo.readToArray(0, P), pattern(P));
});
