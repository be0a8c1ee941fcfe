/**
 * docs/semantics.md §2.10: `readMemory`/`writeMemory`, checked copies that never fault.
 * They copy what is mapped, permitted and inside the VMO, stop short at the first page that is
 * not, and throw NOT_FOUND / ACCESS_DENIED / OUT_OF_RANGE when the first page already fails.
 */

import assert from "node:assert/strict";
import { Status, Vmo } from "../../mod.ts";
import { assertStatus, closedDuplicate, P, pattern } from "../_support/mod.ts";
import {
  callAsVmar,
  CAN_RWS,
  kernelRead,
  owning,
  R,
  readBytes,
  readProbe,
  region,
  RW,
  SPECIFIC,
  writeProbe,
} from "./helpers.ts";

/** A region with [0, 2P) RW, [2P, 3P) R, [3P, 4P) no perms, hole [4P, 5P), [5P, 6P) RW. */
function layout() {
  const r = region(16);
  const vmo = Vmo.create(8 * P);
  vmo.write(pattern(8 * P), 0);
  r.vmar.map(0, vmo, 0, 4 * P, RW | SPECIFIC);
  r.vmar.protect(r.base + 2 * P, P, R);
  r.vmar.protect(r.base + 3 * P, P, 0);
  r.vmar.map(5 * P, vmo, 5 * P, P, RW | SPECIFIC);
  return owning(r, [vmo], {
    vmo,
  });
}

Deno.test("readMemory/writeMemory: copies agree with the VMO and the kernel", () => {
  using s = layout();
  const { r, vmo } = s;
  const data = pattern(8 * P);
  assert.deepEqual(readBytes(r.vmar, r.base, 2 * P), data.subarray(0, 2 * P));
  assert.deepEqual(readBytes(r.vmar, r.base + 100, 50), data.subarray(100, 150));
  const src = pattern(P + 10, 42);
  assert.equal(r.vmar.writeMemory(r.base + P / 2, src), P + 10);
  assert.deepEqual(vmo.readToArray(P / 2, P + 10), src);
  assert.deepEqual(kernelRead(r.base + P / 2, P + 10), src);
  // A VMO write is visible through the mapping.
  vmo.write(new Uint8Array([9, 8, 7]), 5 * P + 1);
  assert.deepEqual([...readBytes(r.vmar, r.base + 5 * P + 1, 3)], [9, 8, 7]);
  // An empty buffer copies nothing where memory is readable.
  assert.equal(r.vmar.readMemory(r.base, new Uint8Array(0)), 0);
});

Deno.test("readMemory/writeMemory: first page unmapped → NOT_FOUND", () => {
  using s = layout();
  const { r } = s;
  assert.equal(readProbe(r.vmar, r.base + 4 * P), Status.NOT_FOUND);
  assert.equal(writeProbe(r.vmar, r.base + 4 * P + 7), Status.NOT_FOUND);
  assert.equal(readProbe(r.vmar, r.base + 8 * P, 2 * P), Status.NOT_FOUND);
  // Outside the VMAR (the region's neighbour) is not found either.
  assert.equal(readProbe(r.vmar, r.base + 16 * P), Status.NOT_FOUND);
  assert.equal(readProbe(r.vmar, r.base - P), Status.NOT_FOUND);
  const e = assertStatus(
    () => r.vmar.readMemory(r.base + 4 * P, new Uint8Array(1)),
    Status.NOT_FOUND,
  );
  assert.match(e.message, /^ZX_ERR_NOT_FOUND: /);
});

Deno.test("readMemory/writeMemory: first page without the permission → ACCESS_DENIED", () => {
  using s = layout();
  const { r, vmo } = s;
  assert.equal(writeProbe(r.vmar, r.base + 2 * P), Status.ACCESS_DENIED);
  assert.equal(readProbe(r.vmar, r.base + 2 * P), 1);
  assert.equal(readProbe(r.vmar, r.base + 3 * P), Status.ACCESS_DENIED);
  assert.equal(writeProbe(r.vmar, r.base + 3 * P + 5), Status.ACCESS_DENIED);
  assert.deepEqual(vmo.readToArray(2 * P, 2 * P), pattern(8 * P).subarray(2 * P, 4 * P));
});

Deno.test("readMemory/writeMemory: short counts at the first page that fails", () => {
  using s = layout();
  const { r, vmo } = s;
  // Read: RW, RW, R are readable; the no-perm page stops it.
  assert.equal(r.vmar.readMemory(r.base + 10, new Uint8Array(8 * P)), 3 * P - 10);
  // Write: stops at the read-only page.
  const src = new Uint8Array(3 * P).fill(0xee);
  assert.equal(r.vmar.writeMemory(r.base + P, src), P);
  assert.deepEqual(vmo.readToArray(P, P), new Uint8Array(P).fill(0xee));
  assert.deepEqual(vmo.readToArray(2 * P, P), pattern(8 * P).subarray(2 * P, 3 * P));
  // Stops at the hole.
  assert.equal(r.vmar.readMemory(r.base + 5 * P, new Uint8Array(4 * P)), P);
  // A copy that starts in the hole fails, although the next page is mapped.
  assert.equal(readProbe(r.vmar, r.base + 5 * P - 10, 3 * P), Status.NOT_FOUND);
  assert.equal(r.vmar.readMemory(r.base + 6 * P - 10, new Uint8Array(3 * P)), 10);
});

Deno.test("readMemory/writeMemory: past the end of the VMO → OUT_OF_RANGE, short count at the end", () => {
  using r = region(16);
  using vmo = Vmo.create(2 * P);
  vmo.write(pattern(2 * P), 0);
  const addr = r.vmar.map(0, vmo, 0, 4 * P, RW);
  assert.equal(readProbe(r.vmar, addr + 2 * P), Status.OUT_OF_RANGE);
  assert.equal(writeProbe(r.vmar, addr + 3 * P), Status.OUT_OF_RANGE);
  assert.equal(r.vmar.readMemory(addr + P, new Uint8Array(2 * P)), P);
  assert.equal(r.vmar.writeMemory(addr + 2 * P - 3, new Uint8Array(10)), 3);
  // Missing permission beats past-the-end for a page that is both.
  r.vmar.protect(addr + 2 * P, P, 0);
  assert.equal(readProbe(r.vmar, addr + 2 * P), Status.ACCESS_DENIED);
});

Deno.test("readMemory/writeMemory reach into sub-VMARs, not into siblings or parents", () => {
  using r = region(16);
  using vmo = Vmo.create(2 * P);
  vmo.write(pattern(2 * P, 4), 0);
  r.vmar.map(0, vmo, 0, P, RW | SPECIFIC);
  const [sub, subBase] = r.vmar.allocate(4 * P, 4 * P, CAN_RWS | SPECIFIC);
  sub.map(0, vmo, P, P, RW | SPECIFIC);
  // The parent reads the sub-VMAR's mapping.
  assert.deepEqual(readBytes(r.vmar, subBase, P), pattern(2 * P, 4).subarray(P));
  assert.equal(r.vmar.writeMemory(subBase, new Uint8Array([1])), 1);
  assert.equal(vmo.readToArray(P, 1)[0], 1);
  // The sub-VMAR does not read its parent's mapping.
  assert.equal(readProbe(sub, r.base), Status.NOT_FOUND);
  assert.equal(writeProbe(sub, r.base), Status.NOT_FOUND);
  // A read through the sub-VMAR stops at its own end.
  assert.equal(readProbe(sub, subBase + 4 * P), Status.NOT_FOUND);
});

Deno.test("readMemory/writeMemory: handle and argument errors", () => {
  using r = region(16);
  using vmo = Vmo.create(P);
  const addr = r.vmar.map(0, vmo, 0, P, RW);
  const dup = closedDuplicate(r.vmar);
  assertStatus(() => dup.readMemory(addr, new Uint8Array(1)), Status.BAD_HANDLE);
  assertStatus(() => dup.writeMemory(addr, new Uint8Array(1)), Status.BAD_HANDLE);
  assertStatus(() => callAsVmar(vmo, "readMemory", addr, new Uint8Array(1)), Status.WRONG_TYPE);
  for (const v of [-1, 0.5, NaN, "1", null, 1n] as unknown[]) {
    assertStatus(() => r.vmar.readMemory(v as number, new Uint8Array(1)), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.writeMemory(v as number, new Uint8Array(1)), Status.INVALID_ARGS);
  }
  for (
    const v of [null, undefined, [1, 2], new ArrayBuffer(4), new Uint16Array(2), "ab"] as unknown[]
  ) {
    assertStatus(() => r.vmar.readMemory(addr, v as Uint8Array), Status.INVALID_ARGS);
    assertStatus(() => r.vmar.writeMemory(addr, v as Uint8Array), Status.INVALID_ARGS);
  }
  const [dead, deadBase] = r.vmar.allocate(8 * P, 4 * P, CAN_RWS | SPECIFIC);
  dead.destroy();
  assertStatus(() => dead.readMemory(deadBase, new Uint8Array(1)), Status.BAD_STATE);
  assertStatus(() => dead.writeMemory(deadBase, new Uint8Array(1)), Status.BAD_STATE);
});

Deno.test("readMemory/writeMemory: a subarray of a larger buffer copies into the right bytes", () => {
  using r = region(16);
  using vmo = Vmo.create(P);
  vmo.write(pattern(P), 0);
  const addr = r.vmar.map(0, vmo, 0, P, RW);
  const big = new Uint8Array(100).fill(0xff);
  assert.equal(r.vmar.readMemory(addr + 7, big.subarray(10, 20)), 10);
  assert.deepEqual(big.subarray(10, 20), pattern(P).subarray(7, 17));
  assert.equal(big[9], 0xff);
  assert.equal(big[20], 0xff);
  const src = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(r.vmar.writeMemory(addr, src.subarray(4)), 4);
  assert.deepEqual([...vmo.readToArray(0, 5)], [4, 5, 6, 7, pattern(P)[4]]);
});
