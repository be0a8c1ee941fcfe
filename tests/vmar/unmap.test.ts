/**
 * docs/semantics.md §2.5: `Vmar.unmap`, its checks in order, and its result in the tree, in the
 * kernel (the range becomes `PROT_NONE` reservation again inside a sub-VMAR) and through
 * `readMemory`/`writeMemory`.
 */

import assert from "node:assert/strict";
import { Rights, Status, Vmar, VmarFlags, Vmo } from "../../mod.ts";
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
  without,
  writeProbe,
} from "./helpers.ts";

Deno.test("§2.5 unmap: handle lookup (no rights needed)", async (t) => {
  using m = mapped();
  await t.step("closed handle → BAD_HANDLE", () => {
    const dup = closedDuplicate(m.r.vmar);
    assertStatus(() => dup.unmap(m.addr, P), Status.BAD_HANDLE);
    assertStatus(() => dup.unmap(-1, NaN), Status.BAD_HANDLE);
  });
  await t.step("a Vmo as the VMAR → WRONG_TYPE", () => {
    assertStatus(() => callAsVmar(m.vmo, "unmap", m.addr, P), Status.WRONG_TYPE);
  });
  await t.step("a handle with no rights at all can unmap a mapping", () => {
    using none = m.r.vmar.duplicate(Rights.NONE);
    none.unmap(m.addr + 3 * P, P);
    assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, 3 * P, RW, 0]]);
    assertKernelProt(m.addr + 3 * P, P, "---p");
  });
});

Deno.test("§2.5 unmap: argument shape errors → INVALID_ARGS", () => {
  using m = mapped();
  for (const v of [-P, 0.5, NaN, Infinity, "0", null, undefined, 4096n] as unknown[]) {
    assertStatus(() => m.r.vmar.unmap(v as number, P), Status.INVALID_ARGS, `addr ${v}`);
    assertStatus(() => m.r.vmar.unmap(m.addr, v as number), Status.INVALID_ARGS, `len ${v}`);
  }
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, 4 * P, RW, 0]]);
});

Deno.test("§2.5 unmap: unaligned addr → INVALID_ARGS; unaligned len is rounded up", () => {
  using m = mapped();
  for (const off of [1, P - 1, P / 2]) {
    assertStatus(() => m.r.vmar.unmap(m.addr + off, P), Status.INVALID_ARGS, `addr +${off}`);
  }
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, 4 * P, RW, 0]]);
  m.r.vmar.unmap(m.addr + P, 1);
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, P, RW, 0], [2 * P, 2 * P, RW, 2 * P]]);
  m.r.vmar.unmap(m.addr + 2 * P, P + 1);
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, P, RW, 0]]);
});

Deno.test("§2.5 unmap: len 0 → INVALID_ARGS", () => {
  using m = mapped();
  assertStatus(() => m.r.vmar.unmap(m.addr, 0), Status.INVALID_ARGS);
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, 4 * P, RW, 0]]);
});

Deno.test("§2.5 unmap: dead VMAR → BAD_STATE, after the addr and len checks", () => {
  using r = region();
  const [dead, base] = r.vmar.allocate(0, 4 * P, CAN_RWS);
  dead.destroy();
  assertStatus(() => dead.unmap(base, P), Status.BAD_STATE);
  assertStatus(() => dead.unmap(base, 1), Status.BAD_STATE);
  // Liveness comes before the range check.
  assertStatus(() => dead.unmap(base + 64 * P, P), Status.BAD_STATE);
  assertStatus(() => dead.unmap(base + 1, P), Status.INVALID_ARGS);
  assertStatus(() => dead.unmap(base, 0), Status.INVALID_ARGS);
});

Deno.test("§2.5 unmap: range not inside the VMAR → INVALID_ARGS, nothing changed", () => {
  using m = mapped();
  const { r } = m;
  for (
    const [addr, len] of [
      [r.base - P, 2 * P],
      [r.base + 15 * P, 2 * P],
      [r.base + 16 * P, P],
      [r.base - P, 32 * P],
      [0, P],
      [P, P],
    ]
  ) {
    assertStatus(() => r.vmar.unmap(addr, len), Status.INVALID_ARGS, `0x${addr.toString(16)}`);
  }
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 4 * P, RW, 0]]);
  assertKernelProt(m.addr, 4 * P, "rw-s");
});

Deno.test("§2.5 unmap: computed end above 2^53 - 1 → OUT_OF_RANGE (documented difference)", () => {
  using m = mapped();
  assertStatus(() => m.r.vmar.unmap(m.addr, Number.MAX_SAFE_INTEGER), Status.OUT_OF_RANGE);
  const top = Math.floor(Number.MAX_SAFE_INTEGER / P) * P;
  assertStatus(() => m.r.vmar.unmap(top, 2 * P), Status.OUT_OF_RANGE);
  assert.deepEqual(mappingRows(m.r.vmar, m.r.base), [[0, 4 * P, RW, 0]]);
});

Deno.test("§2.5 unmap: a VMAR without children → OK; holes in the range are fine (§5.3)", () => {
  using r = region(16);
  r.vmar.unmap(r.base, 16 * P);
  r.vmar.unmap(r.base + 3 * P, P);
  assert.equal(r.vmar.infoMaps().length, 1);
  using vmo = Vmo.create(P);
  r.vmar.map(2 * P, vmo, 0, P, RW | SPECIFIC);
  r.vmar.map(8 * P, vmo, 0, P, RW | SPECIFIC);
  // Unmapped space on both sides and between.
  r.vmar.unmap(r.base, 16 * P);
  assert.deepEqual(mappingRows(r.vmar, r.base), []);
  assert.equal(vmo.info().numMappings, 0);
  assertKernelProt(r.base, 16 * P, "---p");
  // Unmapping only unmapped space, again.
  r.vmar.unmap(r.base + 2 * P, 4 * P);
});

Deno.test("§2.5 unmap: a whole mapping → gone; the range is PROT_NONE reservation, not a hole", () => {
  using m = mapped();
  const { r } = m;
  assert.equal(m.vmo.info().numMappings, 1);
  r.vmar.unmap(m.addr, 4 * P);
  assert.deepEqual(mappingRows(r.vmar, r.base), []);
  assert.equal(m.vmo.info().numMappings, 0);
  assertKernelProt(r.base, 16 * P, "---p");
  assert.equal(kernelAccess(m.addr), "-");
  assert.equal(readProbe(r.vmar, m.addr), Status.NOT_FOUND);
  assert.equal(writeProbe(r.vmar, m.addr), Status.NOT_FOUND);
  // The data stays in the VMO.
  assert.deepEqual(m.vmo.readToArray(0, 4 * P), pattern(4 * P));
  // The range can be mapped again at the same place.
  assert.equal(r.vmar.map(0, m.vmo, 0, 4 * P, R | SPECIFIC), m.addr);
  assert.deepEqual(readBytes(r.vmar, m.addr, 4 * P), pattern(4 * P));
});

Deno.test("§2.5 unmap: trimming at the left keeps the right part with its vmoOffset advanced", () => {
  using m = mapped();
  const { r } = m;
  r.vmar.unmap(m.addr, P);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[P, 3 * P, RW, P]]);
  assert.equal(m.vmo.info().numMappings, 1);
  assert.deepEqual(kernelLayout(r.base, r.base, 4 * P), [[0, P, "---p"], [P, 4 * P, "rw-s"]]);
  assert.equal(readProbe(r.vmar, m.addr), Status.NOT_FOUND);
  assert.deepEqual(readBytes(r.vmar, m.addr + P, 3 * P), pattern(4 * P).subarray(P));
});

Deno.test("§2.5 unmap: trimming at the right keeps the left part", () => {
  using m = mapped();
  const { r } = m;
  r.vmar.unmap(m.addr + 3 * P, P);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 3 * P, RW, 0]]);
  assert.deepEqual(kernelLayout(r.base, r.base, 4 * P), [[0, 3 * P, "rw-s"], [
    3 * P,
    4 * P,
    "---p",
  ]]);
  assert.equal(r.vmar.readMemory(m.addr + 2 * P, new Uint8Array(2 * P)), P);
});

Deno.test("§2.5 unmap: a hole in the middle splits one mapping into two records", () => {
  using m = mapped(6);
  const { r } = m;
  r.vmar.unmap(m.addr + 2 * P, 2 * P);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 2 * P, RW, 0], [4 * P, 2 * P, RW, 4 * P]]);
  assert.equal(m.vmo.info().numMappings, 2);
  assert.deepEqual(kernelLayout(r.base, r.base, 6 * P), [
    [0, 2 * P, "rw-s"],
    [2 * P, 4 * P, "---p"],
    [4 * P, 6 * P, "rw-s"],
  ]);
  const data = pattern(6 * P);
  assert.deepEqual(readBytes(r.vmar, m.addr, 2 * P), data.subarray(0, 2 * P));
  assert.deepEqual(readBytes(r.vmar, m.addr + 4 * P, 2 * P), data.subarray(4 * P));
  assert.equal(readProbe(r.vmar, m.addr + 2 * P), Status.NOT_FOUND);
  assert.equal(writeProbe(r.vmar, m.addr + 3 * P), Status.NOT_FOUND);
  // A read from the left piece stops at the hole.
  assert.equal(r.vmar.readMemory(m.addr + P, new Uint8Array(3 * P)), P);
  // Writes through each piece land at the right VMO offsets.
  r.vmar.writeMemory(m.addr + 4 * P, new Uint8Array([0xab]));
  assert.equal(m.vmo.readToArray(4 * P, 1)[0], 0xab);
  // The pieces keep their own protection ranges.
  r.vmar.protect(m.addr + 4 * P, P, R);
  assert.deepEqual(mappingRows(r.vmar, r.base), [
    [0, 2 * P, RW, 0],
    [4 * P, P, R, 4 * P],
    [5 * P, P, RW, 5 * P],
  ]);
});

Deno.test("§2.5 unmap: splitting keeps each piece's protection ranges", () => {
  using m = mapped(6);
  const { r } = m;
  r.vmar.protect(m.addr + P, 4 * P, R);
  r.vmar.unmap(m.addr + 2 * P, P);
  assert.deepEqual(mappingRows(r.vmar, r.base), [
    [0, P, RW, 0],
    [P, P, R, P],
    [3 * P, 2 * P, R, 3 * P],
    [5 * P, P, RW, 5 * P],
  ]);
  assert.deepEqual(kernelLayout(r.base, r.base, 6 * P), [
    [0, P, "rw-s"],
    [P, 2 * P, "r--s"],
    [2 * P, 3 * P, "---p"],
    [3 * P, 5 * P, "r--s"],
    [5 * P, 6 * P, "rw-s"],
  ]);
});

Deno.test("§2.5 unmap: across several mappings: removed, trimmed, holes skipped", () => {
  using r = region(16);
  using a = Vmo.create(4 * P);
  using b = Vmo.create(4 * P);
  r.vmar.map(0, a, 0, 3 * P, RW | SPECIFIC);
  r.vmar.map(4 * P, b, 0, 2 * P, R | SPECIFIC);
  r.vmar.map(7 * P, a, 0, 3 * P, RW | SPECIFIC);
  r.vmar.unmap(r.base + 2 * P, 6 * P);
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 2 * P, RW, 0], [8 * P, 2 * P, RW, P]]);
  assert.equal(b.info().numMappings, 0);
  assert.equal(a.info().numMappings, 2);
  assert.deepEqual(kernelLayout(r.base, r.base, 16 * P), [
    [0, 2 * P, "rw-s"],
    [2 * P, 8 * P, "---p"],
    [8 * P, 10 * P, "rw-s"],
    [10 * P, 16 * P, "---p"],
  ]);
});

/** A region with a mapping at [0, 2P) and a sub-VMAR at [4P, 8P) holding a mapping at 4P. */
function withSub() {
  const r = region(16);
  const vmo = Vmo.create(4 * P);
  vmo.write(pattern(4 * P, 5), 0);
  r.vmar.map(0, vmo, 0, 2 * P, RW | SPECIFIC);
  const [sub, subBase] = r.vmar.allocate(4 * P, 4 * P, CAN_RWS | SPECIFIC);
  sub.map(0, vmo, 2 * P, 2 * P, RW | SPECIFIC);
  const layout = kernelLayout(r.base, r.base, 16 * P);
  assert.deepEqual(layout, [
    [0, 2 * P, "rw-s"],
    [2 * P, 4 * P, "---p"],
    [4 * P, 6 * P, "rw-s"],
    [6 * P, 16 * P, "---p"],
  ]);
  return owning(r, [vmo], {
    vmo,
    sub,
    subBase,
    layout,
    before: rows(r.vmar.infoMaps(), r.base),
  });
}

function assertUnchanged(s: ReturnType<typeof withSub>): void {
  assert.deepEqual(rows(s.r.vmar.infoMaps(), s.r.base), s.before, "tree changed");
  assert.deepEqual(kernelLayout(s.r.base, s.r.base, 16 * P), s.layout, "kernel changed");
  assert.deepEqual(readBytes(s.r.vmar, s.r.base, 2 * P), pattern(4 * P, 5).subarray(0, 2 * P));
  assert.deepEqual(readBytes(s.sub, s.subBase, 2 * P), pattern(4 * P, 5).subarray(2 * P));
  assert.equal(s.vmo.info().numMappings, 2);
  assert.deepEqual(s.sub.info(), { base: s.subBase, len: 4 * P });
}

Deno.test("§2.5 unmap: a sub-VMAR partly inside the range → INVALID_ARGS, nothing changed", () => {
  using s = withSub();
  const { r } = s;
  for (
    const [off, len] of [
      [0, 6 * P], // the mapping, the gap and half the sub-VMAR
      [6 * P, 4 * P], // the sub-VMAR's right half and beyond
      [4 * P, 2 * P], // only the sub-VMAR's mapping, through the parent
      [5 * P, P],
    ]
  ) {
    assertStatus(
      () => r.vmar.unmap(r.base + off, len),
      Status.INVALID_ARGS,
      `${off / P}+${len / P}`,
    );
    assertUnchanged(s);
  }
});

Deno.test("§2.5 unmap: any sub-VMAR in the range without OP_CHILDREN → INVALID_ARGS, nothing changed", () => {
  using s = withSub();
  const { r } = s;
  using noChildren = without(r.vmar, Rights.OP_CHILDREN);
  assertStatus(() => noChildren.unmap(r.base, 16 * P), Status.INVALID_ARGS);
  assertStatus(() => noChildren.unmap(r.base + 4 * P, 4 * P), Status.INVALID_ARGS);
  assertUnchanged(s);
  // Without touching the sub-VMAR the same handle unmaps fine.
  noChildren.unmap(r.base, 4 * P);
  assert.deepEqual(mappingRows(r.vmar, r.base).length, 1); // the sub-VMAR's mapping only
  assert.equal(mappingRows(r.vmar, r.base)[0][0], 4 * P);
  assertKernelProt(r.base, 4 * P, "---p");
});

Deno.test("§2.5 unmap: a sub-VMAR wholly inside (with OP_CHILDREN) is destroyed", () => {
  using s = withSub();
  const { r, sub } = s;
  r.vmar.unmap(r.base + 2 * P, 8 * P);
  assert.deepEqual(rows(r.vmar.infoMaps(), r.base).map((x) => [x.type, x.off, x.size]), [
    ["vmar", 0, 16 * P],
    ["map", 0, 2 * P],
  ]);
  assert.equal(s.vmo.info().numMappings, 1);
  // The sub-VMAR handle stays open but its object is dead.
  assert.ok(sub.isValid);
  assertStatus(() => sub.infoMaps(), Status.BAD_STATE);
  assertStatus(() => sub.allocate(0, P, 0), Status.BAD_STATE);
  assertStatus(() => sub.map(0, s.vmo, 0, P, R), Status.BAD_STATE);
  assertStatus(() => sub.readMemory(s.subBase, new Uint8Array(1)), Status.BAD_STATE);
  // Its range is reservation of the parent again.
  assertKernelProt(r.base + 2 * P, 14 * P, "---p");
  assert.equal(readProbe(r.vmar, s.subBase), Status.NOT_FOUND);
  // ... and can be reused.
  const [again, addr] = r.vmar.allocate(4 * P, 4 * P, SPECIFIC);
  assert.equal(addr, s.subBase);
  again.destroy();
});

Deno.test("§2.5 unmap: only direct children: a sub-VMAR's mapping needs the sub-VMAR's handle", () => {
  using s = withSub();
  // Through the parent it is a partly covered sub-VMAR (above); through the sub-VMAR it works.
  s.sub.unmap(s.subBase, P);
  assert.deepEqual(mappingRows(s.r.vmar, s.r.base), [[0, 2 * P, RW, 0], [5 * P, P, RW, 3 * P]]);
  assertKernelProt(s.subBase, P, "---p");
  // The sub-VMAR's handle cannot reach outside its own range.
  assertStatus(() => s.sub.unmap(s.r.base, P), Status.INVALID_ARGS);
  assertKernelProt(s.r.base, 2 * P, "rw-s");
});

Deno.test("§2.5 unmap: nested sub-VMARs wholly inside are destroyed recursively", () => {
  using r = region(32);
  using vmo = Vmo.create(P);
  const [mid] = r.vmar.allocate(8 * P, 16 * P, CAN_RWS | SPECIFIC);
  const [leaf, leafBase] = mid.allocate(4 * P, 4 * P, CAN_RWS | SPECIFIC);
  leaf.map(0, vmo, 0, P, RW);
  r.vmar.unmap(r.base, 32 * P);
  assertStatus(() => mid.infoMaps(), Status.BAD_STATE);
  assertStatus(() => leaf.infoMaps(), Status.BAD_STATE);
  assertStatus(() => leaf.unmap(leafBase, P), Status.BAD_STATE);
  assertStatus(() => leaf.destroy(), Status.BAD_STATE);
  assert.equal(vmo.info().numMappings, 0);
  assert.equal(r.vmar.infoMaps().length, 1);
  assertKernelProt(r.base, 32 * P, "---p");
});

Deno.test("§2.5 unmap: ALIGN and flags do not matter; the root gives memory back to the process", () => {
  const root = Vmar.root();
  using vmo = Vmo.create(3 * P);
  const addr = root.map(0, vmo, 0, 3 * P, RW | VmarFlags.ALIGN_64KB);
  assertKernelProt(addr, 3 * P, "rw-s");
  root.unmap(addr + P, P);
  assert.deepEqual(kernelLayout(addr, addr, 3 * P), [[0, P, "rw-s"], [P, 2 * P, null], [
    2 * P,
    3 * P,
    "rw-s",
  ]]);
  assert.equal(vmo.info().numMappings, 2);
  root.unmap(addr, 3 * P);
  assertKernelProt(addr, 3 * P, null);
  assert.equal(vmo.info().numMappings, 0);
});
