/**
 * Crash child: a resizable VMO mapped in a sub-VMAR and in the process root, shrunk under
 * the mappings (SIGBUS territory for a direct access), through its own and a duplicate handle,
 * then grown again (docs/semantics.md §1.4).
 *
 * @module
 */

import { Status, Vmar, VmarOp, Vmo, VmoOptions } from "../../../mod.ts";
import { CAN, Checker, OUT_OF_RANGE, P, pattern, RW } from "./common.ts";

const c = new Checker("shrink");
const root = Vmar.root();
const [region] = root.allocate(0, 16 * P, CAN);
using vmo = Vmo.create(4 * P, VmoOptions.RESIZABLE);

const a = region.map(0, vmo, 0, 4 * P, RW);
const r = root.map(0, vmo, 0, 4 * P, RW);
for (let i = 0; i < 4; i++) c.write(region, a + i * P, pattern(i, P), P);
c.read(root, r, 4 * P, 4 * P);

// Shrink to 1 page and 100 bytes: 2 pages remain, bytes from P + 100 on are zero.
vmo.setSize(P + 100);
c.read(region, a, 8, 8, pattern(0, 8));
const tail = new Uint8Array(20);
tail.set(pattern(1, 100).subarray(90, 100));
c.read(region, a + P + 90, 20, 20, tail);
c.read(region, a + 2 * P - 4, 8, 4);
c.read(root, r + 2 * P - 4, 8, 4);
c.write(region, a + 2 * P - 2, pattern(6, 4), 2);
for (let i = 2; i < 4; i++) {
  for (const off of [0, 1, P - 1]) {
    for (const vmar of [region, root]) {
      const addr = (vmar === region ? a : r) + i * P + off;
      c.read(vmar, addr, 1, OUT_OF_RANGE);
      c.write(vmar, addr, pattern(i, 1), OUT_OF_RANGE);
    }
  }
}
c.expectStatus(
  "COMMIT past the end",
  () => region.opRange(VmarOp.COMMIT, a, 4 * P),
  Status.OUT_OF_RANGE,
);
c.outcome(() => region.opRange(VmarOp.MAP_RANGE, a, 4 * P));
c.outcome(() => region.opRange(VmarOp.PREFETCH, a, 4 * P));
c.read(region, a + 2 * P, 1, OUT_OF_RANGE);

// Shrink to nothing through a duplicate handle: nothing is readable any more.
const dup = vmo.duplicate();
dup.setSize(0);
for (let i = 0; i < 4; i++) {
  c.read(region, a + i * P, 1, OUT_OF_RANGE);
  c.read(root, r + i * P + P / 2, 1, OUT_OF_RANGE);
  c.write(root, r + i * P, pattern(0, 1), OUT_OF_RANGE);
}
dup.close();

// Grow back: the pages come back as zeros, never the old data.
vmo.setSize(4 * P);
for (let i = 0; i < 4; i++) {
  c.read(region, a + i * P, 16, 16, new Uint8Array(16));
  c.read(root, r + i * P + P - 16, 16, 16, new Uint8Array(16));
}
c.write(region, a + 4 * P - 2, pattern(1, 4), 2);
c.read(root, r + 4 * P - 2, 2, 2, pattern(1, 2));

// Shrink and grow in a loop, probing each page after each change.
for (let k = 0; k < 40; k++) {
  const pages = k % 5;
  vmo.setSize(pages * P);
  for (let i = 0; i < 4; i++) {
    c.read(region, a + i * P, 4, i < pages ? 4 : OUT_OF_RANGE);
    c.write(root, r + i * P, pattern(k, 4), i < pages ? 4 : OUT_OF_RANGE);
  }
}

root.unmap(r, 4 * P);
region.destroy();
c.finish();
