/**
 * Crash child: readMemory / writeMemory after protect to 0 and to read-only, across
 * protection boundaries, through a parent VMAR, and in the process root.
 *
 * @module
 */

import { Status, Vmar, VmarFlags as F, Vmo } from "../../../mod.ts";
import { ACCESS_DENIED, CAN, Checker, P, pattern, R, RW } from "./common.ts";

const c = new Checker("protect");
const root = Vmar.root();
const [region, base] = root.allocate(0, 16 * P, CAN);
using vmo = Vmo.create(3 * P);

const a = region.map(0, vmo, 0, 3 * P, RW);
for (let i = 0; i < 3; i++) c.write(region, a + i * P, pattern(i, P), P);

// Page 1 read-only: a write running into it stops short; reads go on.
region.protect(a + P, P, R);
c.write(region, a + P - 4, pattern(7, 8), 4);
c.write(region, a + P, pattern(7, 8), ACCESS_DENIED);
c.read(region, a + P - 4, 8, 8);
c.read(region, a + P, 16, 16, pattern(1, 16));

// Page 2 with no permissions: reads and writes stop before it or fail on it.
region.protect(a + 2 * P, P, 0);
c.read(region, a + 2 * P - 4, 8, 4);
c.read(region, a + 2 * P, 1, ACCESS_DENIED);
c.write(region, a + 2 * P + P - 1, pattern(1, 1), ACCESS_DENIED);

// Everything at 0, then read-only, then read-write again: the data survives.
region.protect(a, 3 * P, 0);
for (let i = 0; i < 3; i++) {
  for (const off of [0, 1, P - 1]) {
    c.read(region, a + i * P + off, 4, ACCESS_DENIED);
    c.write(region, a + i * P + off, pattern(5, 4), ACCESS_DENIED);
  }
}
region.protect(a, 3 * P, R);
for (let i = 0; i < 3; i++) {
  c.read(region, a + i * P + 8, 8, 8, pattern(i, 16).subarray(8));
  c.write(region, a + i * P, pattern(5, 4), ACCESS_DENIED);
}
region.protect(a, 3 * P, RW);
c.read(region, a, 3 * P, 3 * P);
c.write(region, a, pattern(4, 3 * P), 3 * P);

// Through the parent a sub-VMAR's mapping can lose permissions, never gain them.
const [sub] = region.allocate(8 * P, 4 * P, CAN | F.SPECIFIC);
const s = sub.map(0, vmo, 0, 2 * P, RW);
c.expectOk("protect via parent to R", () => region.protect(s, 2 * P, R));
c.write(region, s, pattern(2, 4), ACCESS_DENIED);
c.write(sub, s + P, pattern(2, 4), ACCESS_DENIED);
c.expectStatus(
  "protect via parent to RW",
  () => region.protect(s, 2 * P, RW),
  Status.ACCESS_DENIED,
);
c.write(sub, s, pattern(2, 4), ACCESS_DENIED);
c.expectOk("protect via the sub-VMAR to RW", () => sub.protect(s, 2 * P, RW));
c.write(sub, s, pattern(2, 4), 4);
c.expectOk("protect via parent to 0", () => region.protect(s, P, 0));
c.read(sub, s, 1, ACCESS_DENIED);
c.read(sub, s + P - 1, 2, ACCESS_DENIED);
c.read(sub, s + P, 2, 2);

// A protect that fails (a hole in the range) changes nothing.
c.expectStatus("protect over a hole", () => region.protect(a, 6 * P, 0), Status.NOT_FOUND);
c.read(region, a, 4, 4);

// A mapping made with no permissions at all.
const z = region.map(0, vmo, 0, P, 0);
c.read(region, z, 1, ACCESS_DENIED);
c.write(region, z, pattern(0, 1), ACCESS_DENIED);
c.expectOk("protect up to the max perms", () => region.protect(z, P, RW));
c.read(region, z, 4, 4);
c.write(region, z, pattern(0, 4), 4);

// The process root: read-only, then no access.
const r = root.map(0, vmo, 0, P, R);
c.read(root, r, 16, 16);
c.write(root, r, pattern(0, 16), ACCESS_DENIED);
root.protect(r, P, 0);
c.read(root, r, 16, ACCESS_DENIED);
root.unmap(r, P);

c.mix(base % P);
region.destroy();
c.finish();
