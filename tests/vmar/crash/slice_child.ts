/**
 * Crash child: a slice mapped past its end (the parent's pages beyond the slice must stay out
 * of reach), in a sub-VMAR and in the process root.
 *
 * @module
 */

import { Vmar, Vmo, VmoChildOptions } from "../../../mod.ts";
import { ACCESS_DENIED, CAN, Checker, OUT_OF_RANGE, P, pattern, R, RW } from "./common.ts";

const c = new Checker("slice-past-end");
const root = Vmar.root();
const [region] = root.allocate(0, 16 * P, CAN);
using parent = Vmo.create(4 * P);
for (let i = 0; i < 4; i++) parent.write(pattern(i, P), i * P);
using slice = parent.createChild(VmoChildOptions.SLICE, P, 2 * P);

// 4 pages of a 2-page slice: pages 2 and 3 would show the parent's page 3 and beyond.
const a = region.map(0, slice, 0, 4 * P, RW);
c.read(region, a, 16, 16, pattern(1, 16));
c.read(region, a + P, 16, 16, pattern(2, 16));
c.read(region, a + 2 * P - 4, 8, 4);
c.write(region, a + 2 * P - 4, pattern(8, 8), 4);
for (let i = 2; i < 4; i++) {
  for (const off of [0, 1, P - 1]) {
    c.read(region, a + i * P + off, 1, OUT_OF_RANGE);
    c.write(region, a + i * P + off, pattern(9, 1), OUT_OF_RANGE);
  }
}

// Wholly past the end.
const b = region.map(0, slice, 2 * P, 2 * P, RW);
for (let i = 0; i < 2; i++) {
  c.read(region, b + i * P, 1, OUT_OF_RANGE);
  c.write(region, b + i * P, pattern(9, 1), OUT_OF_RANGE);
}

// Read-only, in the process root: permission is checked before the end.
const r = root.map(0, slice, P, 3 * P, R);
c.read(root, r, 16, 16, pattern(2, 16));
c.read(root, r + P - 8, 16, 8);
c.read(root, r + P, 1, OUT_OF_RANGE);
c.write(root, r, pattern(1, 1), ACCESS_DENIED);
c.write(root, r + 2 * P, pattern(1, 1), ACCESS_DENIED);
root.unmap(r, 3 * P);

// The parent's page 3 was never written through the slice.
c.mix(parent.readToArray(3 * P, P).every((x, i) => x === pattern(3, P)[i]) ? 1 : 0);
region.destroy();
c.finish();
