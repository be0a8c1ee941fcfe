/**
 * docs/semantics.md §1.4 and §2.4 (result): resizing a mapped VMO. Shrinking keeps the mapping but makes
 * the pages past the new end OUT_OF_RANGE (the kernel refuses them too); growing makes them valid
 * again, showing zeros, and the mapping and the VMO see each other's writes.
 */

import assert from "node:assert/strict";
import { Status, Vmo, VmoOptions } from "../../mod.ts";
import { P, pattern } from "../_support/mod.ts";
import {
  assertKernelProt,
  kernelAccess,
  kernelRead,
  mappingRows,
  owning,
  readBytes,
  readProbe,
  region,
  RW,
  SPECIFIC,
  writeProbe,
} from "./helpers.ts";

const RESIZABLE = VmoOptions.RESIZABLE;

/** A region with a resizable patterned VMO of `pages` pages mapped RW over `mapPages` pages. */
function mappedResizable(pages = 4, mapPages = pages, vmoOffset = 0) {
  const r = region(16);
  const vmo = Vmo.create(pages * P, RESIZABLE);
  vmo.write(pattern(pages * P), 0);
  const addr = r.vmar.map(0, vmo, vmoOffset, mapPages * P, RW);
  return owning(r, [vmo], {
    vmo,
    addr,
  });
}

Deno.test("§1.4 shrinking a mapped VMO: pages past the end → OUT_OF_RANGE, the mapping stays", () => {
  using m = mappedResizable();
  const { r, vmo, addr } = m;
  vmo.setSize(2 * P);
  assert.equal(vmo.getSize(), 2 * P);
  // The tree and the kernel still hold the whole mapping.
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 4 * P, RW, 0]]);
  assertKernelProt(addr, 4 * P, "rw-s");
  assert.equal(vmo.info().numMappings, 1);
  // Below the end: fine. Past it: OUT_OF_RANGE for the library, a refused access for the kernel.
  assert.deepEqual(readBytes(r.vmar, addr, 2 * P), pattern(4 * P).subarray(0, 2 * P));
  assert.equal(readProbe(r.vmar, addr + 2 * P), Status.OUT_OF_RANGE);
  assert.equal(readProbe(r.vmar, addr + 4 * P - 1), Status.OUT_OF_RANGE);
  assert.equal(writeProbe(r.vmar, addr + 3 * P), Status.OUT_OF_RANGE);
  assert.equal(kernelAccess(addr + P), "rw");
  assert.equal(kernelAccess(addr + 2 * P), "-");
  assert.equal(kernelAccess(addr + 3 * P), "-");
  // Copies that start below the end stop at it.
  assert.equal(r.vmar.readMemory(addr + P, new Uint8Array(3 * P)), P);
  assert.equal(r.vmar.writeMemory(addr + 2 * P - 4, new Uint8Array(8).fill(1)), 4);
});

Deno.test("§1.4 growing again: the pages are valid, zero-filled, and both sides see writes", () => {
  using m = mappedResizable();
  const { r, vmo, addr } = m;
  vmo.setSize(2 * P);
  vmo.setSize(4 * P);
  assert.equal(kernelAccess(addr + 3 * P), "rw");
  // Old data past the shrink point is gone: zeros, never the old bytes.
  assert.deepEqual(readBytes(r.vmar, addr + 2 * P, 2 * P), new Uint8Array(2 * P));
  assert.deepEqual(readBytes(r.vmar, addr, 2 * P), pattern(4 * P).subarray(0, 2 * P));
  // Writes through the mapping reach the VMO and the other way round.
  assert.equal(r.vmar.writeMemory(addr + 3 * P + 5, new Uint8Array([1, 2, 3])), 3);
  assert.deepEqual([...vmo.readToArray(3 * P + 5, 3)], [1, 2, 3]);
  vmo.write(new Uint8Array([7, 8]), 2 * P + 9);
  assert.deepEqual([...readBytes(r.vmar, addr + 2 * P + 9, 2)], [7, 8]);
  assert.deepEqual([...kernelRead(addr + 2 * P + 9, 2)], [7, 8]);
  assert.equal(r.vmar.readMemory(addr, new Uint8Array(4 * P)), 4 * P);
});

Deno.test("§1.4 shrinking to an unaligned size: the tail of the last page is zeroed and shared", () => {
  using m = mappedResizable();
  const { r, vmo, addr } = m;
  vmo.setSize(P + 100);
  assert.equal(vmo.getSize(), 2 * P);
  const expected = pattern(4 * P).slice(P, 2 * P);
  expected.fill(0, 100);
  assert.deepEqual(readBytes(r.vmar, addr + P, P), expected);
  assert.equal(readProbe(r.vmar, addr + 2 * P), Status.OUT_OF_RANGE);
  // Bytes past the unrounded size but inside the last page: both sides see each other's writes.
  assert.equal(r.vmar.writeMemory(addr + P + 200, new Uint8Array([0x5a])), 1);
  assert.equal(vmo.readToArray(P + 200, 1)[0], 0x5a);
  vmo.write(new Uint8Array([0xa5]), 2 * P - 1);
  assert.equal(readBytes(r.vmar, addr + 2 * P - 1, 1)[0], 0xa5);
});

Deno.test("§1.4 shrinking to 0 and growing: every page OUT_OF_RANGE, then zeros", () => {
  using m = mappedResizable();
  const { r, vmo, addr } = m;
  vmo.setSize(0);
  for (let i = 0; i < 4; i++) {
    assert.equal(readProbe(r.vmar, addr + i * P), Status.OUT_OF_RANGE, `page ${i}`);
    assert.equal(kernelAccess(addr + i * P), "-", `kernel page ${i}`);
  }
  assert.deepEqual(mappingRows(r.vmar, r.base), [[0, 4 * P, RW, 0]]);
  vmo.setSize(4 * P);
  assert.deepEqual(readBytes(r.vmar, addr, 4 * P), new Uint8Array(4 * P));
  const data = pattern(4 * P, 8);
  assert.equal(r.vmar.writeMemory(addr, data), 4 * P);
  assert.deepEqual(vmo.readToArray(0, 4 * P), data);
});

Deno.test("§2.4 a mapping past the VMO's end becomes valid when the VMO grows", () => {
  using m = mappedResizable(1, 4);
  const { r, vmo, addr } = m;
  assert.equal(readProbe(r.vmar, addr + P), Status.OUT_OF_RANGE);
  assert.equal(kernelAccess(addr + P), "-");
  vmo.setSize(3 * P);
  assert.deepEqual(readBytes(r.vmar, addr + P, 2 * P), new Uint8Array(2 * P));
  assert.equal(readProbe(r.vmar, addr + 3 * P), Status.OUT_OF_RANGE);
  assert.equal(r.vmar.writeMemory(addr + 2 * P, new Uint8Array([4])), 1);
  assert.equal(vmo.readToArray(2 * P, 1)[0], 4);
  assert.equal(kernelAccess(addr + 2 * P), "rw");
});

Deno.test("§1.4 shrinking under a mapping at a VMO offset: the cut is at the VMO's end", () => {
  using m = mappedResizable(4, 2, 2 * P);
  const { r, vmo, addr } = m;
  assert.deepEqual(readBytes(r.vmar, addr, 2 * P), pattern(4 * P).subarray(2 * P));
  vmo.setSize(3 * P);
  assert.deepEqual(readBytes(r.vmar, addr, P), pattern(4 * P).subarray(2 * P, 3 * P));
  assert.equal(readProbe(r.vmar, addr + P), Status.OUT_OF_RANGE);
  vmo.setSize(P);
  assert.equal(readProbe(r.vmar, addr), Status.OUT_OF_RANGE);
  vmo.setSize(4 * P);
  assert.deepEqual(readBytes(r.vmar, addr, 2 * P), new Uint8Array(2 * P));
});

Deno.test("§1.4 a shrink seen through two mappings of the same VMO", () => {
  using r = region(16);
  using vmo = Vmo.create(4 * P, RESIZABLE);
  vmo.write(pattern(4 * P), 0);
  const a = r.vmar.map(0, vmo, 0, 4 * P, RW);
  const b = r.vmar.map(8 * P, vmo, 0, 4 * P, RW | SPECIFIC);
  vmo.setSize(3 * P);
  for (const addr of [a, b]) {
    assert.equal(readProbe(r.vmar, addr + 2 * P), 1);
    assert.equal(readProbe(r.vmar, addr + 3 * P), Status.OUT_OF_RANGE);
  }
  vmo.setSize(4 * P);
  r.vmar.writeMemory(a + 3 * P, new Uint8Array([11]));
  assert.equal(readBytes(r.vmar, b + 3 * P, 1)[0], 11);
});
