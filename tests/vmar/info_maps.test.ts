/**
 * docs/semantics.md §2.9: `Vmar.info` (ZX_INFO_VMAR) and `Vmar.infoMaps` (ZX_INFO_VMAR_MAPS): rights,
 * record order and depths, one record per protection range, names, koids, offsets and
 * committed bytes; and `formatMaps`, its rendering.
 */

import assert from "node:assert/strict";
import { formatMaps, type MapInfo, MapInfoType, Rights, Status, Vmar, Vmo } from "../../mod.ts";
import { assertStatus, closedDuplicate, P } from "../_support/mod.ts";
import { callAsVmar, CAN_RWS, owning, R, region, rows, RW, SPECIFIC, without } from "./helpers.ts";

Deno.test("§2.9 info: base and len of the region; needs INSPECT", () => {
  using r = region(16);
  assert.deepEqual(r.vmar.info(), { base: r.base, len: 16 * P });
  const [sub, subBase] = r.vmar.allocate(4 * P, 8 * P, SPECIFIC);
  assert.deepEqual(sub.info(), { base: subBase, len: 8 * P });
  assert.equal(subBase, r.base + 4 * P);
  using noInspect = without(r.vmar, Rights.INSPECT);
  assertStatus(() => noInspect.info(), Status.ACCESS_DENIED);
  using inspectOnly = r.vmar.duplicate(Rights.INSPECT);
  assert.deepEqual(inspectOnly.info(), { base: r.base, len: 16 * P });
  const dup = closedDuplicate(r.vmar);
  assertStatus(() => dup.info(), Status.BAD_HANDLE);
  using vmo = Vmo.create(P);
  assertStatus(() => callAsVmar(vmo, "info"), Status.WRONG_TYPE);
});

Deno.test("§2.9 infoMaps: needs INSPECT; dead VMAR → BAD_STATE", () => {
  using r = region(16);
  using noInspect = without(r.vmar, Rights.INSPECT);
  assertStatus(() => noInspect.infoMaps(), Status.ACCESS_DENIED);
  using inspectOnly = r.vmar.duplicate(Rights.INSPECT);
  assert.equal(inspectOnly.infoMaps().length, 1);
  const [dead] = r.vmar.allocate(0, P, 0);
  dead.destroy();
  assertStatus(() => dead.infoMaps(), Status.BAD_STATE);
  const dup = closedDuplicate(r.vmar);
  assertStatus(() => dup.infoMaps(), Status.BAD_HANDLE);
});

Deno.test('§2.9 infoMaps of an empty region: just itself, depth 0, type VMAR, "useralloc"', () => {
  using r = region(16);
  assert.deepEqual(r.vmar.infoMaps(), [
    { name: "useralloc", base: r.base, size: 16 * P, depth: 0, type: MapInfoType.VMAR },
  ]);
});

/**
 * The tree used below (offsets in pages from the region's base):
 *
 *     region [0, 32)
 *       M1  [0, 2)   vmo "alpha" @0, RW
 *       S1  [4, 16)  sub-VMAR
 *         M2  [4, 5)   vmo "beta" @P, R
 *         S2  [8, 12)  sub-VMAR
 *           M4  [8, 9)   vmo "alpha" @2P, RW
 *       M3  [20, 23) vmo "beta" @0, RW, middle page protected to R
 */
function tree() {
  const r = region(32);
  const alpha = Vmo.create(4 * P);
  const beta = Vmo.create(4 * P);
  alpha.setName("alpha");
  beta.setName("beta");
  alpha.write(new Uint8Array(P).fill(1), 0); // alpha page 0 committed
  beta.write(new Uint8Array(P).fill(2), P); // beta page 1 committed
  r.vmar.map(0, alpha, 0, 2 * P, RW | SPECIFIC);
  const [s1, s1Base] = r.vmar.allocate(4 * P, 12 * P, CAN_RWS | SPECIFIC);
  s1.map(0, beta, P, P, R | SPECIFIC);
  const [s2, s2Base] = s1.allocate(4 * P, 4 * P, CAN_RWS | SPECIFIC);
  s2.map(0, alpha, 2 * P, P, RW | SPECIFIC);
  r.vmar.map(20 * P, beta, 0, 3 * P, RW | SPECIFIC);
  r.vmar.protect(r.base + 21 * P, P, R);
  return owning(r, [alpha, beta], {
    alpha,
    beta,
    s1,
    s1Base,
    s2,
    s2Base,
  });
}

Deno.test("§2.9 infoMaps: depth-first pre-order, siblings by base, one record per protection range", () => {
  using t = tree();
  const { r, alpha, beta } = t;
  const maps = r.vmar.infoMaps();
  const M = MapInfoType.MAPPING;
  const V = MapInfoType.VMAR;
  assert.deepEqual(
    maps.map((m) => [m.type, (m.base - r.base) / P, m.size / P, m.depth, m.name]),
    [
      [V, 0, 32, 0, "useralloc"],
      [M, 0, 2, 1, "alpha"],
      [V, 4, 12, 1, "useralloc"],
      [M, 4, 1, 2, "beta"],
      [V, 8, 4, 2, "useralloc"],
      [M, 8, 1, 3, "alpha"],
      [M, 20, 1, 1, "beta"],
      [M, 21, 1, 1, "beta"],
      [M, 22, 1, 1, "beta"],
    ],
  );
  const details = maps.filter((m) => m.type === M).map((m) => m.mapping!);
  assert.deepEqual(details.map((d) => [d.mmuFlags, d.vmoKoid, d.vmoOffset / P]), [
    [RW, alpha.koid, 0],
    [R, beta.koid, 1],
    [RW, alpha.koid, 2],
    [RW, beta.koid, 0],
    [R, beta.koid, 1],
    [RW, beta.koid, 2],
  ]);
  // VMAR records carry no mapping part.
  for (const m of maps.filter((m) => m.type === V)) assert.equal(m.mapping, undefined);
  // Depth never rises by more than one between consecutive records.
  for (let i = 1; i < maps.length; i++) assert.ok(maps[i].depth <= maps[i - 1].depth + 1);
});

Deno.test("§2.9 infoMaps: committed bytes count the VMO pages behind each record", () => {
  using t = tree();
  const maps = t.r.vmar.infoMaps().filter((m) => m.type === MapInfoType.MAPPING);
  assert.deepEqual(maps.map((m) => m.mapping!.committedBytes / P), [1, 1, 0, 0, 1, 0]);
  for (const m of maps) assert.equal(m.mapping!.populatedBytes, m.mapping!.committedBytes);
  // A write through the mapping commits a page of the VMO; the record follows.
  t.r.vmar.writeMemory(t.s2Base, new Uint8Array([5]));
  const after = t.r.vmar.infoMaps().filter((m) => m.type === MapInfoType.MAPPING);
  assert.equal(after[2].mapping!.committedBytes, P);
  assert.equal(t.alpha.info().committedBytes, 2 * P);
});

Deno.test("§2.9 infoMaps: a mapping record shows the VMO's current name", () => {
  using t = tree();
  t.alpha.setName("renamed");
  const names = t.r.vmar.infoMaps().map((m) => m.name);
  assert.deepEqual(names, [
    "useralloc",
    "renamed",
    "useralloc",
    "beta",
    "useralloc",
    "renamed",
    "beta",
    "beta",
    "beta",
  ]);
  using unnamed = Vmo.create(P);
  const addr = t.r.vmar.map(28 * P, unnamed, 0, P, R | SPECIFIC);
  assert.equal(t.r.vmar.infoMaps().find((m) => m.base === addr)?.name, "");
});

Deno.test("§2.9 infoMaps from a sub-VMAR: depths count from it", () => {
  using t = tree();
  const maps = t.s1.infoMaps();
  assert.deepEqual(
    maps.map((m) => [m.type, (m.base - t.r.base) / P, m.depth]),
    [
      [MapInfoType.VMAR, 4, 0],
      [MapInfoType.MAPPING, 4, 1],
      [MapInfoType.VMAR, 8, 1],
      [MapInfoType.MAPPING, 8, 2],
    ],
  );
  assert.deepEqual(rows(t.s2.infoMaps(), t.s2Base), [
    { type: "vmar", off: 0, size: 4 * P, depth: 0 },
    { type: "map", off: 0, size: P, depth: 1, perms: RW, vmoOffset: 2 * P, koid: t.alpha.koid },
  ]);
});

Deno.test('§2.9 infoMaps of the root: "root" at depth 0, our regions inside at depth 1', () => {
  using t = tree();
  const maps = Vmar.root().infoMaps();
  assert.equal(maps[0].name, "root");
  assert.equal(maps[0].type, MapInfoType.VMAR);
  assert.equal(maps[0].depth, 0);
  assert.deepEqual({ base: maps[0].base, len: maps[0].size }, Vmar.root().info());
  const i = maps.findIndex((m) => m.base === t.r.base && m.type === MapInfoType.VMAR);
  assert.ok(i > 0);
  assert.equal(maps[i].depth, 1);
  assert.deepEqual(
    maps.slice(i, i + 9).map((m) => m.depth),
    [1, 2, 2, 3, 3, 4, 2, 2, 2],
  );
  // Siblings at depth 1 ascend by base.
  const top = maps.filter((m) => m.depth === 1).map((m) => m.base);
  assert.deepEqual(top, [...top].sort((a, b) => a - b));
});

Deno.test("formatMaps: one line per record, indented by depth, with perms, name, koid, offset, sizes", () => {
  using t = tree();
  const maps = t.r.vmar.infoMaps();
  const text = formatMaps(maps);
  const lines = text.split("\n");
  assert.equal(lines.length, maps.length);
  const hex = (n: number) => "0x" + n.toString(16).padStart(12, "0");
  for (const [i, m] of maps.entries()) {
    const line = lines[i];
    const indent = line.length - line.trimStart().length;
    assert.equal(indent, 2 * m.depth, `indent of line ${i}: ${line}`);
    assert.ok(line.includes(`${hex(m.base)}-${hex(m.base + m.size)}`), line);
  }
  assert.match(lines[0], /^useralloc 0x[0-9a-f]{12}-0x[0-9a-f]{12} +128 KiB$/);
  assert.match(
    lines[1],
    new RegExp(`^  rw- \\S+ +8 KiB vmo "alpha" koid ${t.alpha.koid} @0x0 committed 4 KiB$`),
  );
  assert.match(
    lines[3],
    new RegExp(`^    r-- \\S+ +4 KiB vmo "beta" koid ${t.beta.koid} @0x1000 committed 4 KiB$`),
  );
  assert.match(lines[5], /^ {6}rw- .* vmo "alpha" .* @0x2000 committed 0 B$/);
  assert.match(lines[7], /^ {2}r-- .*"beta".* @0x1000 /);
  assert.equal(formatMaps([]), "");
});

Deno.test("formatMaps: human sizes and a mapping without perms", () => {
  const base = 0x1000_0000;
  const maps: MapInfo[] = [
    { name: "useralloc", base, size: 3 * 2 ** 30, depth: 0, type: MapInfoType.VMAR },
    {
      name: "x",
      base,
      size: 1536,
      depth: 1,
      type: MapInfoType.MAPPING,
      mapping: {
        mmuFlags: 0,
        vmoKoid: 7,
        vmoOffset: 0x10000,
        committedBytes: 2 ** 20,
        populatedBytes: 2 ** 20,
      },
    },
  ];
  const lines = formatMaps(maps).split("\n");
  assert.match(lines[0], / 3 GiB$/);
  assert.match(
    lines[1],
    /^ {2}--- 0x000010000000-0x000010000600 +1\.5 KiB vmo "x" koid 7 @0x10000 committed 1 MiB$/,
  );
});
