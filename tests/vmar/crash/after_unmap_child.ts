/**
 * Crash child: readMemory / writeMemory right after unmap, in a sub-VMAR (the range goes back
 * to `PROT_NONE` reservation) and in the process root (the range goes back to the process).
 *
 * @module
 */

import { Vmar, Vmo } from "../../../mod.ts";
import { CAN, Checker, NOT_FOUND, P, pattern, RW } from "./common.ts";

const c = new Checker("after-unmap");
const root = Vmar.root();
const [region] = root.allocate(0, 16 * P, CAN);
using vmo = Vmo.create(4 * P);

// A sub-VMAR mapping: write every page, unmap it all, then probe every page at four offsets.
const a = region.map(0, vmo, 0, 4 * P, RW);
for (let i = 0; i < 4; i++) c.write(region, a + i * P, pattern(i, 16), 16);
c.read(region, a, 4 * P, 4 * P);
region.unmap(a, 4 * P);
for (let i = 0; i < 4; i++) {
  for (const off of [0, 1, P / 2, P - 1]) {
    c.read(region, a + i * P + off, 8, NOT_FOUND);
    c.write(region, a + i * P + off, pattern(9, 8), NOT_FOUND);
    c.read(root, a + i * P + off, 8, NOT_FOUND);
  }
}
// The VMO keeps what was written through the mapping.
for (let i = 0; i < 4; i++) {
  const bytes = c.expectOk("vmo.readToArray", () => vmo.readToArray(i * P, 16));
  c.mix(bytes?.every((b, j) => b === pattern(i, 16)[j]) ? 1 : 0);
}

// The process root: unmap gives the range back to the process; it must not be touched.
const b = root.map(0, vmo, 0, 4 * P, RW);
c.read(root, b, 16, 16, pattern(0, 16));
root.unmap(b, 4 * P);
for (let i = 0; i < 4; i++) {
  c.read(root, b + i * P, 8, NOT_FOUND);
  c.write(root, b + i * P, pattern(3, 8), NOT_FOUND);
}

// An unaligned length rounds up to whole pages: unmap(d, 1) removes page 0 only.
const d = region.map(0, vmo, 0, 2 * P, RW);
region.unmap(d, 1);
c.read(region, d, 1, NOT_FOUND);
c.read(region, d + P, 16, 16, pattern(1, 16));
c.read(region, d + P - 4, 8, NOT_FOUND);
region.unmap(d + P, P);
c.read(region, d + P, 1, NOT_FOUND);

// Map and unmap the same range many times, probing after each unmap.
for (let k = 0; k < 50; k++) {
  const e = region.map(0, vmo, (k % 4) * P, P, RW);
  c.read(region, e, 4, 4, pattern(k % 4, 4));
  region.unmap(e, P);
  c.read(region, e, 4, NOT_FOUND);
  c.write(region, e, pattern(k, 4), NOT_FOUND);
}

region.destroy();
c.finish();
