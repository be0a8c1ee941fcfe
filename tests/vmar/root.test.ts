/**
 * The root VMAR (docs/semantics.md §2.11, §2.1, §2.8): the process's address space, shared with
 * memory the library does not own (the JS heap, libraries). It cannot be destroyed, and it never
 * unmaps, protects or overwrites what it did not map: a SPECIFIC request over such memory is
 * ALREADY_EXISTS, and an unmap over it leaves it alone.
 */

import assert from "node:assert/strict";
import {
  DEFAULT_VMAR_RIGHTS,
  MapInfoType,
  Rights,
  Status,
  Vmar,
  VmarFlags,
  VmarOp,
  Vmo,
} from "../../mod.ts";
import { assertStatus, kernelRuns, P, pattern } from "../_support/mod.ts";
import {
  assertKernelProt,
  foreignMmap,
  foreignMunmap,
  foreignView,
  kernelLayout,
  R,
  readBytes,
  readProbe,
  RW,
  SPECIFIC,
  without,
} from "./helpers.ts";

const OVERWRITE = VmarFlags.SPECIFIC_OVERWRITE;

function roundUp(x: number): number {
  return Math.ceil(x / P) * P;
}

Deno.test("root: info is the user address space; the handle has every VMAR right", () => {
  const root = Vmar.root();
  const { base, len } = root.info();
  assert.ok(base > 0);
  assert.equal(base % P, 0);
  assert.equal(len % P, 0);
  assert.ok(len > 2 ** 40, `len ${len}`);
  assert.ok(base + len <= 2 ** 57);
  for (
    const right of [
      Rights.OP_CHILDREN,
      Rights.INSPECT,
      Rights.DUPLICATE,
      Rights.READ,
      Rights.WRITE,
      Rights.EXECUTE,
    ]
  ) {
    assert.ok(root.rights & right, `right ${right}`);
  }
  // Every handle to the root is a handle to the same object.
  assert.equal(Vmar.root().koid, root.koid);
  // Our own mappings land inside it.
  using vmo = Vmo.create(P);
  const addr = root.map(0, vmo, 0, P, R);
  assert.ok(addr >= base && addr + P <= base + len);
  root.unmap(addr, P);
});

Deno.test('root: infoMaps starts with "root" at depth 0 and lists our mappings at depth 1', () => {
  const root = Vmar.root();
  using vmo = Vmo.create(2 * P);
  vmo.setName("root-test");
  const addr = root.map(0, vmo, 0, 2 * P, RW);
  try {
    const maps = root.infoMaps();
    assert.deepEqual(
      { name: maps[0].name, type: maps[0].type, depth: maps[0].depth },
      { name: "root", type: MapInfoType.VMAR, depth: 0 },
    );
    assert.deepEqual({ base: maps[0].base, len: maps[0].size }, root.info());
    const mine = maps.filter((m) => m.name === "root-test");
    assert.deepEqual(mine.map((m) => [m.base, m.size, m.depth, m.mapping?.vmoKoid]), [
      [addr, 2 * P, 1, vmo.koid],
    ]);
  } finally {
    root.unmap(addr, 2 * P);
  }
  assert.equal(root.infoMaps().some((m) => m.name === "root-test"), false);
});

Deno.test("root: destroy → NOT_SUPPORTED, and the root keeps working", () => {
  const root = Vmar.root();
  assertStatus(() => root.destroy(), Status.NOT_SUPPORTED);
  using noChildren = without(root, Rights.OP_CHILDREN);
  assertStatus(() => noChildren.destroy(), Status.ACCESS_DENIED);
  const [child, addr] = root.allocate(0, 4 * P, 0);
  assertKernelProt(addr, 4 * P, "---p");
  child.destroy();
});

/** A page-aligned range inside a Deno-allocated ArrayBuffer (memory the library did not map). */
function foreignBuffer() {
  const buf = new ArrayBuffer(8 * P);
  const bytes = new Uint8Array(buf);
  bytes.set(pattern(8 * P, 11));
  const start = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
  const page = roundUp(start);
  const kernel = kernelRuns(page, 4 * P);
  assert.ok(kernel.every(([, , p]) => p !== null && p.startsWith("rw")), "the buffer is mapped");
  return {
    buf,
    page,
    kernel,
    check(what: string) {
      assert.deepEqual(new Uint8Array(buf), pattern(8 * P, 11), `${what}: contents`);
      assert.deepEqual(kernelRuns(page, 4 * P), kernel, `${what}: kernel protection`);
    },
  };
}

Deno.test("root: SPECIFIC over memory the library did not map → ALREADY_EXISTS, memory intact", () => {
  const root = Vmar.root();
  const f = foreignBuffer();
  const offset = f.page - root.info().base;
  using vmo = Vmo.create(4 * P);
  const before = root.infoMaps().length;
  assertStatus(() => root.map(offset, vmo, 0, 4 * P, RW | SPECIFIC), Status.ALREADY_EXISTS);
  f.check("map SPECIFIC");
  assertStatus(() => root.map(offset + P, vmo, 0, P, R | SPECIFIC), Status.ALREADY_EXISTS);
  f.check("map SPECIFIC, one page");
  assertStatus(() => root.map(offset, vmo, 0, 4 * P, RW | OVERWRITE), Status.ALREADY_EXISTS);
  f.check("map SPECIFIC_OVERWRITE");
  assertStatus(() => root.allocate(offset, 4 * P, SPECIFIC), Status.ALREADY_EXISTS);
  f.check("allocate SPECIFIC");
  assert.equal(vmo.info().numMappings, 0);
  assert.equal(root.infoMaps().length, before);
});

Deno.test("root: unmap, protect and opRange over foreign memory leave it intact", () => {
  const root = Vmar.root();
  const f = foreignBuffer();
  root.unmap(f.page, 4 * P); // holes are fine (§5.3): nothing of ours is there
  f.check("unmap");
  assertStatus(() => root.protect(f.page, 4 * P, R), Status.NOT_FOUND);
  assertStatus(() => root.protect(f.page, 4 * P, 0), Status.NOT_FOUND);
  f.check("protect");
  assertStatus(() => root.opRange(VmarOp.DECOMMIT, f.page, 4 * P), Status.BAD_STATE);
  assertStatus(() => root.opRange(VmarOp.COMMIT, f.page, 4 * P), Status.BAD_STATE);
  f.check("opRange");
});

/**
 * Four pages of foreign memory (the tests' own mmap) around a two-page hole in which the root
 * maps a VMO: [foreign][ours][ours][foreign].
 */
function mixed() {
  const root = Vmar.root();
  // Everything that might mmap comes before the hole is made, so that nothing else takes it.
  const vmo = Vmo.create(2 * P);
  vmo.write(pattern(2 * P, 22), 0);
  const f = foreignMmap(4 * P);
  foreignView(f, 4 * P).set(pattern(4 * P, 21));
  foreignMunmap(f + P, 2 * P);
  const ours = root.map(f + P - root.info().base, vmo, 0, 2 * P, RW | SPECIFIC);
  assert.equal(ours, f + P);
  assert.deepEqual(kernelLayout(f, f, 4 * P), [
    [0, P, "rw-p"],
    [P, 3 * P, "rw-s"],
    [3 * P, 4 * P, "rw-p"],
  ]);
  const foreignIntact = (what: string) => {
    const expected = pattern(4 * P, 21);
    assert.deepEqual(foreignView(f, P), expected.subarray(0, P), `${what}: left`);
    assert.deepEqual(foreignView(f + 3 * P, P), expected.subarray(3 * P), `${what}: right`);
  };
  return {
    root,
    f,
    vmo,
    ours,
    foreignIntact,
    [Symbol.dispose]() {
      try {
        root.unmap(ours, 2 * P);
      } finally {
        foreignMunmap(f, P);
        foreignMunmap(f + 3 * P, P);
        vmo.close();
      }
    },
  };
}

Deno.test("root: an unmap over our mapping and foreign memory removes only ours", () => {
  using m = mixed();
  m.root.unmap(m.f, 4 * P);
  assert.deepEqual(kernelLayout(m.f, m.f, 4 * P), [
    [0, P, "rw-p"],
    [P, 3 * P, null],
    [3 * P, 4 * P, "rw-p"],
  ]);
  m.foreignIntact("unmap");
  assert.equal(readProbe(m.root, m.ours), Status.NOT_FOUND);
  assert.equal(m.vmo.info().numMappings, 0);
  assert.deepEqual(m.vmo.readToArray(0, 2 * P), pattern(2 * P, 22));
});

Deno.test("root: SPECIFIC_OVERWRITE reaching foreign memory → ALREADY_EXISTS, nothing changed", () => {
  using m = mixed();
  using other = Vmo.create(4 * P);
  const offset = m.f - m.root.info().base;
  assertStatus(() => m.root.map(offset, other, 0, 4 * P, R | OVERWRITE), Status.ALREADY_EXISTS);
  assertStatus(() => m.root.map(offset, other, 0, 2 * P, R | OVERWRITE), Status.ALREADY_EXISTS);
  m.foreignIntact("overwrite");
  assert.deepEqual(readBytes(m.root, m.ours, 2 * P), pattern(2 * P, 22));
  assertKernelProt(m.ours, 2 * P, "rw-s");
  assert.equal(other.info().numMappings, 0);
  // Over our own mapping only, it replaces it.
  assert.equal(m.root.map(offset + P, other, 0, 2 * P, R | OVERWRITE), m.ours);
  assertKernelProt(m.ours, 2 * P, "r--s");
  assert.equal(m.vmo.info().numMappings, 0);
  assert.equal(other.info().numMappings, 1);
  m.foreignIntact("overwrite of ours");
});

Deno.test("root: protect over our mapping and foreign memory → NOT_FOUND, nothing changed", () => {
  using m = mixed();
  assertStatus(() => m.root.protect(m.f, 4 * P, R), Status.NOT_FOUND);
  assertStatus(() => m.root.protect(m.ours, 3 * P, R), Status.NOT_FOUND);
  assertKernelProt(m.ours, 2 * P, "rw-s");
  assert.deepEqual(kernelLayout(m.f, m.f, P), [[0, P, "rw-p"]]);
  m.root.protect(m.ours, 2 * P, R);
  assertKernelProt(m.ours, 2 * P, "r--s");
  m.foreignIntact("protect");
});

Deno.test("root: SPECIFIC into free address space works and is given back on destroy", () => {
  const root = Vmar.root();
  const f = foreignMmap(8 * P);
  foreignMunmap(f, 8 * P);
  const [child, addr] = root.allocate(f - root.info().base, 8 * P, SPECIFIC);
  assert.equal(addr, f);
  assertKernelProt(addr, 8 * P, "---p");
  child.destroy();
  assertKernelProt(addr, 8 * P, null);
});

Deno.test("root: children of the root may get CAN_MAP_EXECUTE; their handles get EXECUTE", () => {
  const [child, addr] = Vmar.root().allocate(
    0,
    4 * P,
    VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_EXECUTE,
  );
  try {
    assert.equal(child.rights, DEFAULT_VMAR_RIGHTS | Rights.READ | Rights.EXECUTE);
    assertKernelProt(addr, 4 * P, "---p");
  } finally {
    child.destroy();
  }
});

Deno.test("root: OFFSET_IS_UPPER_LIMIT places the region below the limit", () => {
  const root = Vmar.root();
  const limit = 2 ** 40;
  const [child, addr] = root.allocate(
    limit - root.info().base,
    16 * P,
    VmarFlags.OFFSET_IS_UPPER_LIMIT,
  );
  try {
    assert.ok(addr >= root.info().base && addr + 16 * P <= limit, `0x${addr.toString(16)}`);
    assert.equal(addr % P, 0);
    assertKernelProt(addr, 16 * P, "---p");
  } finally {
    child.destroy();
  }
  assertKernelProt(addr, 16 * P, null);
});
