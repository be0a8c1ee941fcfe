/**
 * Crash child: SPECIFIC_OVERWRITE over mappings, then reading the old range: the new
 * mapping's permissions and VMO (a read-only VMO, no permissions, a slice past its end) apply
 * at once, and the old mapping's untouched parts stay.
 *
 * @module
 */

import { Status, Vmar, VmarFlags as F, Vmo, VmoChildOptions } from "../../../mod.ts";
import {
  ACCESS_DENIED,
  CAN,
  Checker,
  NOT_FOUND,
  OUT_OF_RANGE,
  P,
  pattern,
  R,
  RW,
} from "./common.ts";

const c = new Checker("overwrite");
const OVER = F.SPECIFIC_OVERWRITE;
const root = Vmar.root();
const [region, base] = root.allocate(0, 16 * P, CAN);
using va = Vmo.create(4 * P);
using vb = Vmo.create(4 * P);
for (let i = 0; i < 4; i++) {
  va.write(pattern(i, P), i * P);
  vb.write(pattern(10 + i, P), i * P);
}

const a = region.map(0, va, 0, 4 * P, RW);
const off = a - base;
c.read(region, a + P, 16, 16, pattern(1, 16));

// Pages 1-2 become vb, read-only.
c.expectOk("overwrite 1-2", () => region.map(off + P, vb, 0, 2 * P, R | OVER));
c.read(region, a + P, 16, 16, pattern(10, 16));
c.read(region, a + 2 * P, 16, 16, pattern(11, 16));
c.write(region, a + P, pattern(0, 4), ACCESS_DENIED);
c.write(region, a + P - 4, pattern(5, 8), 4);
c.read(region, a, 16, 16, pattern(0, 16));
c.read(region, a + 3 * P, 16, 16, pattern(3, 16));

// Page 3 becomes a mapping without permissions.
c.expectOk("overwrite 3", () => region.map(off + 3 * P, vb, 0, P, OVER));
c.read(region, a + 3 * P, 1, ACCESS_DENIED);
c.read(region, a + 3 * P - 4, 8, 4);

// Page 0 becomes a slice mapped past its end.
using slice = va.createChild(VmoChildOptions.SLICE, 0, P);
c.expectOk("overwrite 0", () => region.map(off, slice, P, P, R | OVER));
c.read(region, a, 1, OUT_OF_RANGE);
c.write(region, a, pattern(0, 1), ACCESS_DENIED);

// The whole range back to va, read-write: the data written earlier is there.
c.expectOk("overwrite all", () => region.map(off, va, 0, 4 * P, RW | OVER));
const expected = pattern(0, P);
expected.set(pattern(5, 4), P - 4);
c.read(region, a, P, P, expected);
c.read(region, a + 3 * P, 16, 16, pattern(3, 16));

// SPECIFIC_OVERWRITE must not touch a sub-VMAR: it fails and nothing changes.
const [sub, subBase] = region.allocate(8 * P, 2 * P, CAN | F.SPECIFIC);
const s = sub.map(0, vb, 0, P, R);
c.expectStatus(
  "overwrite over a sub-VMAR",
  () => region.map(subBase - base - P, va, 0, 2 * P, RW | OVER),
  Status.INVALID_ARGS,
);
c.read(region, s, 16, 16, pattern(10, 16));
c.read(region, subBase - P, 1, NOT_FOUND);

// Over and over the same page with alternating VMOs and permissions.
for (let k = 0; k < 40; k++) {
  const perms = [0, R, RW][k % 3];
  c.expectOk("overwrite loop", () => region.map(off + 2 * P, k % 2 ? va : vb, P, P, perms | OVER));
  c.read(region, a + 2 * P + 4, 4, perms ? 4 : ACCESS_DENIED);
  c.write(region, a + 2 * P + 8, pattern(k, 4), perms === RW ? 4 : ACCESS_DENIED);
}

// The process root: overwrite one page of our own mapping.
const r = root.map(0, va, 0, 2 * P, RW);
c.expectOk("root overwrite", () => root.map(r - root.info().base, vb, 0, P, R | OVER));
c.read(root, r, 16, 16, pattern(10, 16));
c.write(root, r, pattern(0, 1), ACCESS_DENIED);
// (va's page 1 bytes 8-11 were rewritten by the loop above.)
c.read(root, r + P, 8, 8, pattern(1, 8));
root.unmap(r, 2 * P);

region.destroy();
c.finish();
