/**
 * docs/semantics.md §2.6 and §3: `Vmar.protect`, its checks in order, max permissions captured at map
 * time, and the result in the tree (protection-range records), in the kernel (`/proc/self/maps`
 * protection, page-table probes) and through `readMemory`/`writeMemory`.
 */

import assert from "node:assert/strict";
import { DEFAULT_VMO_RIGHTS, Rights, Status, Vmar, VmarFlags, Vmo } from "../../mod.ts";
import { assertStatus, closedDuplicate, P, pattern } from "../_support/mod.ts";
import {
  assertKernelProt,
  callAsVmar,
  CAN_RWS,
  kernelAccess,
  kernelLayout,
  mapped,
  mappingRows,
  owning,
  R,
  readBytes,
  readProbe,
  region,
  rows,
  RW,
  SPECIFIC,
  W,
  without,
  withSub,
  writeProbe,
  X,
} from "./helpers.ts";

function assertIntactRW(m: ReturnType<typeof mapped>, pages = 4): void {
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, pages * P, RW, 0]]);
  assertKernelProt(m.addr, pages * P, "rw-s");
  assert.equal(writeProbe(m.r.vmar, m.addr + (pages - 1) * P, new Uint8Array([1])), 1);
}

Deno.test("§2.6 protect: handle lookup", () => {
  using m = mapped();
  const dup = closedDuplicate(m.r.vmar);
  assertStatus(() => dup.protect(m.addr, P, R), Status.BAD_HANDLE);
  assertStatus(() => dup.protect(-1, NaN, 0.5), Status.BAD_HANDLE);
  assertStatus(() => callAsVmar(m.vmo, "protect", m.addr, P, R), Status.WRONG_TYPE);
  assertIntactRW(m);
});

Deno.test("§2.6 protect: argument shape errors → INVALID_ARGS, before the rights", () => {
  using m = mapped();
  using noWrite = without(m.r.vmar, Rights.WRITE);
  for (const v of [-P, 0.5, NaN, Infinity, "0", null, undefined, 4096n] as unknown[]) {
    const n = v as number;
    assertStatus(() => m.r.vmar.protect(n, P, R), Status.INVALID_ARGS, `addr ${v}`);
    assertStatus(() => m.r.vmar.protect(m.addr, n, R), Status.INVALID_ARGS, `len ${v}`);
    assertStatus(() => m.r.vmar.protect(m.addr, P, n), Status.INVALID_ARGS, `flags ${v}`);
    assertStatus(() => noWrite.protect(m.addr, n, RW), Status.INVALID_ARGS, `noWrite ${v}`);
  }
  assertStatus(() => m.r.vmar.protect(m.addr, P, 2 ** 32 + 1), Status.INVALID_ARGS);
  assertIntactRW(m);
});

Deno.test("§2.6 protect: PERM_READ_IF_XOM_UNSUPPORTED adds PERM_READ (x86)", () => {
  using m = mapped();
  m.r.vmar.protect(m.addr, P, VmarFlags.PERM_READ_IF_XOM_UNSUPPORTED);
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, P, R, 0], [P, 3 * P, RW, P]]);
  assertKernelProt(m.addr, P, "r--s");
  // With the added READ, a handle without READ is refused.
  using noRead = without(m.r.vmar, Rights.READ);
  assertStatus(
    () => noRead.protect(m.addr, P, VmarFlags.PERM_READ_IF_XOM_UNSUPPORTED),
    Status.ACCESS_DENIED,
  );
});

Deno.test("§2.6 protect: a permission the handle lacks → ACCESS_DENIED, first of all checks", () => {
  using m = mapped();
  using noWrite = without(m.r.vmar, Rights.WRITE);
  using noRead = without(m.r.vmar, Rights.READ);
  assertStatus(() => noWrite.protect(m.addr, P, RW), Status.ACCESS_DENIED);
  assertStatus(() => noRead.protect(m.addr, P, R), Status.ACCESS_DENIED);
  assertStatus(() => m.r.vmar.protect(m.addr, P, R | X), Status.ACCESS_DENIED);
  // Before W-without-R, an unaligned addr, bad option bits, len 0, a dead VMAR, the range.
  assertStatus(() => noWrite.protect(m.addr, P, W), Status.ACCESS_DENIED);
  assertStatus(() => noWrite.protect(m.addr + 1, P, RW), Status.ACCESS_DENIED);
  assertStatus(() => noWrite.protect(m.addr, P, RW | VmarFlags.SPECIFIC), Status.ACCESS_DENIED);
  assertStatus(() => noWrite.protect(m.addr, 0, RW), Status.ACCESS_DENIED);
  assertStatus(() => noWrite.protect(0, P, RW), Status.ACCESS_DENIED);
  const [dead, deadBase] = m.r.vmar.allocate(0, 4 * P, CAN_RWS);
  dead.destroy();
  using deadNoWrite = without(dead, Rights.WRITE);
  assertStatus(() => deadNoWrite.protect(deadBase, P, RW), Status.ACCESS_DENIED);
  // Removing every permission needs no right.
  using none = m.r.vmar.duplicate(Rights.OP_CHILDREN);
  none.protect(m.addr + 3 * P, P, 0);
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, 3 * P, RW, 0], [3 * P, P, 0, 3 * P]]);
  assertKernelProt(m.addr + 3 * P, P, "---s");
});

Deno.test("§2.6 protect: WRITE or EXECUTE without READ → INVALID_ARGS", () => {
  using m = mapped();
  using rwx = Vmar.root();
  assertStatus(() => m.r.vmar.protect(m.addr, P, W), Status.INVALID_ARGS);
  // The root handle has EXECUTE, so X alone reaches this check.
  assertStatus(() => rwx.protect(m.addr, P, X), Status.INVALID_ARGS);
  assertStatus(() => rwx.protect(m.addr, P, W | X), Status.INVALID_ARGS);
  assertIntactRW(m);
});

Deno.test("§2.6 protect: unaligned addr, option bits, len 0 → INVALID_ARGS, before liveness", () => {
  using m = mapped();
  const bad = [
    VmarFlags.CAN_MAP_WRITE,
    VmarFlags.SPECIFIC,
    VmarFlags.COMPACT,
    VmarFlags.MAP_RANGE,
    VmarFlags.ALLOW_FAULTS,
    VmarFlags.ALIGN_64KB,
    0x8000_0000,
    1 << 16,
  ];
  for (const f of bad) {
    assertStatus(
      () => m.r.vmar.protect(m.addr, P, (R | f) >>> 0),
      Status.INVALID_ARGS,
      `0x${f.toString(16)}`,
    );
  }
  for (const off of [1, P - 1, P / 2]) {
    assertStatus(() => m.r.vmar.protect(m.addr + off, P, R), Status.INVALID_ARGS, `+${off}`);
  }
  assertStatus(() => m.r.vmar.protect(m.addr, 0, R), Status.INVALID_ARGS);
  const [dead, deadBase] = m.r.vmar.allocate(0, 4 * P, CAN_RWS);
  dead.destroy();
  assertStatus(() => dead.protect(deadBase, P, W), Status.INVALID_ARGS);
  assertStatus(() => dead.protect(deadBase + 1, P, R), Status.INVALID_ARGS);
  assertStatus(() => dead.protect(deadBase, P, R | VmarFlags.SPECIFIC), Status.INVALID_ARGS);
  assertStatus(() => dead.protect(deadBase, 0, R), Status.INVALID_ARGS);
  assertIntactRW(m);
});

Deno.test("§2.6 protect: dead VMAR → BAD_STATE, before the range check", () => {
  using r = region();
  const [dead, base] = r.vmar.allocate(0, 4 * P, CAN_RWS);
  dead.destroy();
  assertStatus(() => dead.protect(base, P, R), Status.BAD_STATE);
  assertStatus(() => dead.protect(base, P, 0), Status.BAD_STATE);
  assertStatus(() => dead.protect(base + 64 * P, P, R), Status.BAD_STATE);
});

Deno.test("§2.6 protect: range outside the VMAR → INVALID_ARGS", () => {
  using m = mapped();
  const { r } = m;
  for (
    const [addr, len] of [[r.base - P, 2 * P], [r.base + 15 * P, 2 * P], [r.base + 16 * P, P], [
      0,
      P,
    ]]
  ) {
    assertStatus(() => r.vmar.protect(addr, len, R), Status.INVALID_ARGS, `0x${addr.toString(16)}`);
  }
  assertIntactRW(m);
});

Deno.test("§2.6 protect: computed end above 2^53 - 1 → OUT_OF_RANGE (documented difference)", () => {
  using m = mapped();
  assertStatus(() => m.r.vmar.protect(m.addr, Number.MAX_SAFE_INTEGER, R), Status.OUT_OF_RANGE);
  const top = Math.floor(Number.MAX_SAFE_INTEGER / P) * P;
  assertStatus(() => m.r.vmar.protect(top, 2 * P, R), Status.OUT_OF_RANGE);
  assertIntactRW(m);
});

/** Mapping A at [0, 2P), hole at [2P, 3P), mapping B at [3P, 5P), both RW. */
function twoWithHole() {
  const r = region(16);
  const vmo = Vmo.create(8 * P);
  r.vmar.map(0, vmo, 0, 2 * P, RW | SPECIFIC);
  r.vmar.map(3 * P, vmo, 4 * P, 2 * P, RW | SPECIFIC);
  const before = rows(r.vmar.infoMaps(), r.base);
  const layout = kernelLayout(r.base, r.base, 8 * P);
  return owning(r, [vmo], {
    vmo,
    check() {
      assert.deepEqual(rows(r.vmar.infoMaps(), r.base), before, "tree changed");
      assert.deepEqual(kernelLayout(r.base, r.base, 8 * P), layout, "kernel changed");
      assert.equal(writeProbe(r.vmar, r.base + P), 1);
      assert.equal(writeProbe(r.vmar, r.base + 3 * P), 1);
    },
  });
}

Deno.test("§2.6 protect: a hole before the next mapping → NOT_FOUND, nothing changed", () => {
  using s = twoWithHole();
  const { r } = s;
  assertStatus(() => r.vmar.protect(r.base, 5 * P, R), Status.NOT_FOUND);
  s.check();
  assertStatus(() => r.vmar.protect(r.base + 2 * P, 3 * P, R), Status.NOT_FOUND);
  s.check();
  assertStatus(() => r.vmar.protect(r.base + 6 * P, P, R), Status.NOT_FOUND);
  s.check();
});

Deno.test("§2.6 protect: a hole after the last mapping → NOT_FOUND, nothing changed", () => {
  using s = twoWithHole();
  const { r } = s;
  assertStatus(() => r.vmar.protect(r.base, 3 * P, R), Status.NOT_FOUND);
  s.check();
  assertStatus(() => r.vmar.protect(r.base + 3 * P, 3 * P, 0), Status.NOT_FOUND);
  s.check();
});

Deno.test("§2.6 protect: an empty sub-VMAR in the range is a hole → NOT_FOUND", () => {
  using r = region(16);
  using vmo = Vmo.create(8 * P);
  r.vmar.map(0, vmo, 0, 2 * P, RW | SPECIFIC);
  r.vmar.allocate(2 * P, 2 * P, CAN_RWS | SPECIFIC);
  r.vmar.map(4 * P, vmo, 2 * P, 2 * P, RW | SPECIFIC);
  assertStatus(() => r.vmar.protect(r.base, 6 * P, R), Status.NOT_FOUND);
  assertStatus(() => r.vmar.protect(r.base + 2 * P, 2 * P, R), Status.NOT_FOUND);
  assertKernelProt(r.base, 2 * P, "rw-s");
  assertKernelProt(r.base + 4 * P, 2 * P, "rw-s");
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 2 * P, RW, 0], [4 * P, 2 * P, RW, 2 * P]]);
});

Deno.test("§2.6 protect: beyond a mapping's max perms → ACCESS_DENIED, nothing changed", () => {
  using r = region(16);
  using vmo = Vmo.create(4 * P);
  using ro = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
  r.vmar.map(0, vmo, 0, 2 * P, RW | SPECIFIC);
  r.vmar.map(2 * P, ro, 2 * P, 2 * P, R | SPECIFIC);
  assertStatus(() => r.vmar.protect(r.base + 2 * P, P, RW), Status.ACCESS_DENIED);
  // The RW mapping before it is not changed either (all checks come first).
  assertStatus(() => r.vmar.protect(r.base, 4 * P, R | W), Status.ACCESS_DENIED);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 2 * P, RW, 0], [2 * P, 2 * P, R, 2 * P]]);
  assert.deepEqual(kernelLayout(r.base, r.base, 4 * P), [[0, 2 * P, "rw-s"], [
    2 * P,
    4 * P,
    "r--s",
  ]]);
  // The walk is in address order: max perms of the first mapping before a later hole ...
  assertStatus(() => r.vmar.protect(r.base + 2 * P, 4 * P, RW), Status.ACCESS_DENIED);
  // ... and a hole before a mapping whose max perms would fail.
  r.vmar.unmap(r.base, P);
  assertStatus(() => r.vmar.protect(r.base, 4 * P, RW), Status.NOT_FOUND);
  // Reducing is fine.
  r.vmar.protect(r.base + P, 3 * P, R);
  assertKernelProt(r.base + P, 3 * P, "r--s");
});

Deno.test("§2.6 protect: a sub-VMAR's mapping without OP_CHILDREN → INVALID_ARGS, nothing changed", () => {
  using s = withSub(9);
  const { r } = s;
  using noChildren = without(r.vmar, Rights.OP_CHILDREN);
  assertStatus(() => noChildren.protect(r.base, 4 * P, R), Status.INVALID_ARGS);
  assertStatus(() => noChildren.protect(s.subBase, P, R), Status.INVALID_ARGS);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 2 * P, RW, 0], [2 * P, 2 * P, RW, 4 * P]]);
  assertKernelProt(r.base, 4 * P, "rw-s");
  // The direct mapping alone is fine with that handle.
  noChildren.protect(r.base, 2 * P, R);
  assertKernelProt(r.base, 2 * P, "r--s");
});

Deno.test("§2.6 protect: max perms are checked before OP_CHILDREN", () => {
  using r = region(16);
  using vmo = Vmo.create(2 * P);
  using ro = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
  const [sub, subBase] = r.vmar.allocate(0, 4 * P, CAN_RWS | SPECIFIC);
  sub.map(0, ro, 0, 2 * P, R | SPECIFIC);
  using noChildren = without(r.vmar, Rights.OP_CHILDREN);
  assertStatus(() => noChildren.protect(subBase, 2 * P, RW), Status.ACCESS_DENIED);
  assertStatus(() => noChildren.protect(subBase, 2 * P, R), Status.INVALID_ARGS);
});

Deno.test("§2.6 protect: through a parent, permissions can only be removed", () => {
  using s = withSub(9);
  const { r, sub, subBase } = s;
  // Reduce across the direct mapping and the sub-VMAR's mapping at once.
  r.vmar.protect(r.base + P, 2 * P, R);
  assert.deepEqual(mappingRows(r.vmar, r.base), [
    [0, P, RW, 0],
    [P, P, R, P],
    [2 * P, P, R, 4 * P],
    [3 * P, P, RW, 5 * P],
  ]);
  assert.deepEqual(kernelLayout(r.base, r.base, 4 * P), [
    [0, P, "rw-s"],
    [P, 3 * P, "r--s"],
    [3 * P, 4 * P, "rw-s"],
  ]);
  assert.equal(writeProbe(r.vmar, subBase), Status.ACCESS_DENIED);
  assert.equal(readProbe(r.vmar, subBase), 1);
  // Adding WRITE back through the parent → ACCESS_DENIED, nothing changed.
  assertStatus(() => r.vmar.protect(subBase, P, RW), Status.ACCESS_DENIED);
  assertStatus(() => r.vmar.protect(r.base, 4 * P, RW), Status.ACCESS_DENIED);
  assertKernelProt(subBase, P, "r--s");
  assertKernelProt(r.base, P, "rw-s"); // the direct mapping was not touched either
  // The same range protected to R again through the parent is fine (no added permission).
  r.vmar.protect(subBase, 2 * P, R);
  // Through the sub-VMAR's own handle, up to the max perms again.
  sub.protect(subBase, 2 * P, RW);
  assertKernelProt(subBase, 2 * P, "rw-s");
  assert.equal(writeProbe(r.vmar, subBase, new Uint8Array([3])), 1);
  assert.equal(s.vmo.readToArray(4 * P, 1)[0], 3);
});

Deno.test("§2.6 protect of a middle page: three protection records, one mapping", () => {
  using m = mapped(3);
  const { r, addr } = m;
  r.vmar.protect(addr + P, P, R);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, P, RW, 0], [P, P, R, P], [
    2 * P,
    P,
    RW,
    2 * P,
  ]]);
  assert.equal(m.vmo.info().numMappings, 1);
  assert.deepEqual(kernelLayout(r.base, r.base, 4 * P), [
    [0, P, "rw-s"],
    [P, 2 * P, "r--s"],
    [2 * P, 3 * P, "rw-s"],
    [3 * P, 4 * P, "---p"],
  ]);
  assert.deepEqual([kernelAccess(addr), kernelAccess(addr + P), kernelAccess(addr + 2 * P)], [
    "rw",
    "r",
    "rw",
  ]);
  assert.equal(writeProbe(r.vmar, addr + P), Status.ACCESS_DENIED);
  // A write that starts in the first page stops short at the read-only one.
  assert.equal(r.vmar.writeMemory(addr + P - 2, new Uint8Array(4)), 2);
  assert.deepEqual(readBytes(r.vmar, addr + P, P), pattern(3 * P).subarray(P, 2 * P));
  // Back to RW: the records coalesce.
  r.vmar.protect(addr + P, P, RW);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 3 * P, RW, 0]]);
  assertKernelProt(addr, 3 * P, "rw-s");
});

Deno.test("§2.6 protect to 0: pages stay mapped but every access is denied", () => {
  using m = mapped();
  const { r, addr } = m;
  r.vmar.protect(addr, 2 * P, 0);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 2 * P, 0, 0], [2 * P, 2 * P, RW, 2 * P]]);
  assertKernelProt(addr, 2 * P, "---s");
  assert.equal(kernelAccess(addr), "-");
  assert.equal(readProbe(r.vmar, addr), Status.ACCESS_DENIED);
  assert.equal(writeProbe(r.vmar, addr + P), Status.ACCESS_DENIED);
  r.vmar.protect(addr, 4 * P, R);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 4 * P, R, 0]]);
  assert.deepEqual(readBytes(r.vmar, addr, 4 * P), pattern(4 * P));
});

Deno.test("§2.6 protect: len is rounded up to pages", () => {
  using m = mapped();
  m.r.vmar.protect(m.addr, 1, R);
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, P, R, 0], [P, 3 * P, RW, P]]);
  m.r.vmar.protect(m.addr + P, P + 1, R);
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, 3 * P, R, 0], [3 * P, P, RW, 3 * P]]);
  assert.deepEqual(kernelLayout(m.r.base, m.addr, 4 * P), [[0, 3 * P, "r--s"], [
    3 * P,
    4 * P,
    "rw-s",
  ]]);
});

Deno.test("§2.6 protect across adjacent mappings of different VMOs", () => {
  using r = region(16);
  using a = Vmo.create(2 * P);
  using b = Vmo.create(2 * P);
  r.vmar.map(0, a, 0, 2 * P, RW | SPECIFIC);
  r.vmar.map(2 * P, b, 0, 2 * P, RW | SPECIFIC);
  r.vmar.protect(r.base + P, 2 * P, R);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, P, RW, 0], [P, P, R, P], [2 * P, P, R, 0], [
    3 * P,
    P,
    RW,
    P,
  ]]);
  assert.deepEqual(kernelLayout(r.base, r.base, 4 * P), [[0, P, "rw-s"], [P, 3 * P, "r--s"], [
    3 * P,
    4 * P,
    "rw-s",
  ]]);
  assert.equal(a.info().numMappings, 1);
  assert.equal(b.info().numMappings, 1);
});

Deno.test("§3 max perms are captured at map time", async (t) => {
  await t.step(
    "RW at map time: after closing the VMO handle, protect R then RW still works",
    () => {
      using r = region(16);
      using vmo = Vmo.create(2 * P);
      const dup = vmo.duplicate();
      const addr = r.vmar.map(0, dup, 0, 2 * P, RW);
      dup.close();
      r.vmar.protect(addr, 2 * P, R);
      assertKernelProt(addr, 2 * P, "r--s");
      r.vmar.protect(addr, 2 * P, RW);
      assertKernelProt(addr, 2 * P, "rw-s");
      assert.equal(r.vmar.writeMemory(addr + P, new Uint8Array([77])), 1);
      assert.equal(vmo.readToArray(P, 1)[0], 77);
      // Beyond the max perms (EXECUTE was never allowed) → ACCESS_DENIED.
      using rwx = Vmar.root();
      assertStatus(() => rwx.protect(addr, P, R | X), Status.ACCESS_DENIED);
    },
  );
  await t.step("the VMO handle lacked WRITE at map time: protect RW → ACCESS_DENIED", () => {
    using r = region(16);
    using vmo = Vmo.create(2 * P);
    const ro = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
    const addr = r.vmar.map(0, ro, 0, 2 * P, R);
    ro.close();
    assertStatus(() => r.vmar.protect(addr, 2 * P, RW), Status.ACCESS_DENIED);
    assertKernelProt(addr, 2 * P, "r--s");
    assert.equal(writeProbe(r.vmar, addr), Status.ACCESS_DENIED);
  });
  await t.step(
    "the VMAR handle lacked WRITE at map time: protect RW through a full handle → ACCESS_DENIED",
    () => {
      using r = region(16);
      using vmo = Vmo.create(2 * P);
      using noWrite = without(r.vmar, Rights.WRITE);
      const addr = noWrite.map(0, vmo, 0, 2 * P, R);
      assertStatus(() => r.vmar.protect(addr, 2 * P, RW), Status.ACCESS_DENIED);
      assertKernelProt(addr, 2 * P, "r--s");
    },
  );
  await t.step("a right removed from the VMO handle later changes nothing", () => {
    using r = region(16);
    const vmo = Vmo.create(P);
    const addr = r.vmar.map(0, vmo, 0, P, R);
    const ro = vmo.replace(DEFAULT_VMO_RIGHTS & ~Rights.WRITE);
    r.vmar.protect(addr, P, RW);
    assertKernelProt(addr, P, "rw-s");
    ro.close();
  });
});

Deno.test("§2.6 protect through a parent: a hole inside a sub-VMAR → NOT_FOUND, nothing changed", () => {
  using r = region(16);
  using vmo = Vmo.create(4 * P);
  r.vmar.map(0, vmo, 0, 2 * P, RW | SPECIFIC);
  const [sub, subBase] = r.vmar.allocate(2 * P, 4 * P, CAN_RWS | SPECIFIC);
  sub.map(0, vmo, 2 * P, P, RW | SPECIFIC); // [2P, 3P) mapped, [3P, 6P) a hole in the sub-VMAR
  assertStatus(() => r.vmar.protect(r.base, 4 * P, R), Status.NOT_FOUND);
  assertStatus(() => sub.protect(subBase, 2 * P, R), Status.NOT_FOUND);
  assertKernelProt(r.base, 3 * P, "rw-s");
  assertKernelProt(r.base + 3 * P, 13 * P, "---p");
  r.vmar.protect(r.base, 3 * P, R);
  assertKernelProt(r.base, 3 * P, "r--s");
});

Deno.test("§3 max perms: a VMAR handle without READ at map time caps the mapping", () => {
  using r = region(16);
  using vmo = Vmo.create(P);
  using noRead = without(r.vmar, Rights.READ);
  const addr = noRead.map(0, vmo, 0, P, 0);
  assertStatus(() => r.vmar.protect(addr, P, R), Status.ACCESS_DENIED);
  assertKernelProt(addr, P, "---s");
  assert.equal(readProbe(r.vmar, addr), Status.ACCESS_DENIED);
});
