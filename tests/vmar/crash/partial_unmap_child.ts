/**
 * Crash child: unmapping part of a mapping (a hole, an end, an unaligned length) and reading
 * across the new boundaries; unmaps that fail must leave everything mapped.
 *
 * @module
 */

import { Status, Vmar, VmarFlags as F, Vmo } from "../../../mod.ts";
import { BAD_STATE, CAN, Checker, NOT_FOUND, P, pattern, RW } from "./common.ts";

const c = new Checker("partial-unmap");
const root = Vmar.root();
const [region, base] = root.allocate(0, 32 * P, CAN);
using vmo = Vmo.create(4 * P);
for (let i = 0; i < 4; i++) vmo.write(pattern(i, P), i * P);

const a = region.map(0, vmo, 0, 4 * P, RW);
region.unmap(a + P, P);
c.read(region, a + P - 4, 8, 4, pattern(0, P).subarray(P - 4));
c.read(region, a + P, 8, NOT_FOUND);
c.read(region, a + 2 * P - 4, 8, NOT_FOUND);
c.read(region, a + 2 * P, 8, 8, pattern(2, 8));
c.write(region, a + P - 2, pattern(4, 4), 2);
c.write(region, a + P + 100, pattern(4, 4), NOT_FOUND);
c.read(region, a, 4 * P, P);

// An unaligned length takes the whole last page.
region.unmap(a + 3 * P, 1);
c.read(region, a + 3 * P - 4, 8, 4);
c.read(region, a + 3 * P, 1, NOT_FOUND);

// Through the parent, a sub-VMAR only partly in the range: INVALID_ARGS, nothing unmapped.
const [sub, subBase] = region.allocate(8 * P, 4 * P, CAN | F.SPECIFIC);
const s = sub.map(0, vmo, 0, 4 * P, RW);
c.expectStatus("partial sub-VMAR", () => region.unmap(subBase + P, P), Status.INVALID_ARGS);
c.expectStatus("overlapping sub-VMAR", () => region.unmap(subBase - P, 2 * P), Status.INVALID_ARGS);
for (let i = 0; i < 4; i++) c.read(region, s + i * P, 8, 8, pattern(i, 8));
// The sub-VMAR's own handle can punch holes in its mapping.
sub.unmap(s + P, 2 * P);
c.read(region, s + P - 1, 2 * P + 2, 1);
c.read(sub, s + 3 * P, 8, 8, pattern(3, 8));
// Covering it whole destroys it.
c.expectOk("unmap covering sub", () => region.unmap(subBase - P, 6 * P));
c.read(region, s, 8, NOT_FOUND);
c.read(sub, s, 8, BAD_STATE);

// Holes are fine: unmapping a range with holes and mappings.
const m = region.map(16 * P, vmo, 0, 2 * P, RW | F.SPECIFIC);
c.expectOk("unmap with holes", () => region.unmap(base, 32 * P));
c.read(region, m, 1, NOT_FOUND);
c.read(region, a, 1, NOT_FOUND);

// The process root: a hole in the middle of our mapping.
const r = root.map(0, vmo, 0, 3 * P, RW);
root.unmap(r + P, P);
c.read(root, r + P - 4, 8, 4);
c.read(root, r + P, 1, NOT_FOUND);
c.read(root, r + 2 * P, 8, 8, pattern(2, 8));
root.unmap(r, 3 * P);
c.read(root, r, 1, NOT_FOUND);
c.read(root, r + 2 * P, 1, NOT_FOUND);

// Split a mapping page by page and read every boundary.
const big = region.map(0, vmo, 0, 4 * P, RW);
for (const page of [2, 0, 3, 1]) {
  region.unmap(big + page * P, P);
  for (let i = 0; i < 4; i++) c.read(region, big + i * P - 2, 4);
}
region.destroy();
c.finish();
