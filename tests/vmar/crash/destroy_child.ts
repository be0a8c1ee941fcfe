/**
 * Crash child: readMemory / writeMemory after destroy, through the parent and through the
 * destroyed handles; unmap through a parent destroying a sub-VMAR; every call on a destroyed
 * VMAR is BAD_STATE.
 *
 * @module
 */

import { Status, Vmar, VmarFlags as F, VmarOp, Vmo } from "../../../mod.ts";
import { BAD_STATE, CAN, Checker, NOT_FOUND, P, pattern, RW } from "./common.ts";

const c = new Checker("destroy");
const root = Vmar.root();
const [region, base] = root.allocate(0, 32 * P, CAN);
using vmo = Vmo.create(4 * P);
vmo.write(pattern(1, 4 * P), 0);

const [sub, subBase] = region.allocate(0, 8 * P, CAN);
const [inner] = sub.allocate(2 * P, 2 * P, CAN | F.SPECIFIC);
const m1 = sub.map(0, vmo, 0, 2 * P, RW);
const m2 = inner.map(0, vmo, 2 * P, 2 * P, RW);
c.read(region, m1, 2 * P, 2 * P);
c.read(region, m2, 2 * P, 2 * P);
sub.destroy();
for (const addr of [m1, m1 + P, m2, m2 + P + 5]) {
  c.read(region, addr, 8, NOT_FOUND);
  c.write(region, addr, pattern(2, 8), NOT_FOUND);
  c.read(sub, addr, 8, BAD_STATE);
  c.read(inner, addr, 8, BAD_STATE);
  c.write(inner, addr, pattern(2, 8), BAD_STATE);
}
// Each call inside the destroyed VMAR's own range (outside it, opRange is OUT_OF_RANGE first).
for (const [name, vmar, at] of [["sub", sub, m1], ["inner", inner, m2]] as const) {
  c.expectStatus(`${name}.map`, () => vmar.map(0, vmo, 0, P, RW), Status.BAD_STATE);
  c.expectStatus(`${name}.unmap`, () => vmar.unmap(at, P), Status.BAD_STATE);
  c.expectStatus(`${name}.protect`, () => vmar.protect(at, P, RW), Status.BAD_STATE);
  c.expectStatus(`${name}.opRange`, () => vmar.opRange(VmarOp.COMMIT, at, P), Status.BAD_STATE);
  c.expectStatus(`${name}.allocate`, () => vmar.allocate(0, P, 0), Status.BAD_STATE);
  c.expectStatus(`${name}.destroy`, () => vmar.destroy(), Status.BAD_STATE);
  c.expectStatus(`${name}.infoMaps`, () => vmar.infoMaps(), Status.BAD_STATE);
}
// The VMO's data outlives the mappings.
c.mix(vmo.readToArray(2 * P, 1)[0]);

// The range is free again: a SPECIFIC mapping there works and reads the VMO.
const again = c.expectOk("map where sub was", () => region.map(subBase - base, vmo, 0, P, RW));
if (again !== undefined) c.read(region, again, 8, 8, pattern(1, 8));

// unmap through the parent destroys a sub-VMAR wholly inside the range.
const [sub2, sub2Base] = region.allocate(16 * P, 4 * P, CAN | F.SPECIFIC);
const m3 = sub2.map(0, vmo, 0, P, RW);
c.read(region, m3, 4, 4);
c.expectOk("unmap covering sub2", () => region.unmap(sub2Base - P, 6 * P));
c.read(region, m3, 4, NOT_FOUND);
c.read(sub2, m3, 4, BAD_STATE);

// Destroy the whole region: reads through the process root find nothing there.
const m4 = region.map(0, vmo, 0, 4 * P, RW);
c.read(root, m4, 16, 16, pattern(1, 16));
region.destroy();
for (let i = 0; i < 4; i++) {
  c.read(root, m4 + i * P, 16, NOT_FOUND);
  c.write(root, m4 + i * P, pattern(3, 16), NOT_FOUND);
  c.read(region, m4 + i * P, 16, BAD_STATE);
}
c.finish();
