/**
 * Crash child: thousands of seeded random probes near and inside mappings, interleaved with
 * random maps, overwrites, unmaps, protects, destroys, VMO resizes and decommits, in a
 * sub-VMAR tree and in the process root. No expectations beyond "never crash": every byte the
 * library calls accessible is touched directly, so a wrong region tree kills the process.
 *
 * @module
 */

import { Vmar, VmarFlags as F, VmarOp, Vmo, VmoChildOptions, VmoOptions } from "../../../mod.ts";
import { CAN, Checker, P, pattern, prng } from "./common.ts";

const c = new Checker("random-probes");
/**
 * The process-root part: where the kernel puts root mappings varies from run to run (and our
 * own root mappings may end up side by side), so its counts are not compared exactly.
 */
const cRoot = new Checker("random-probes-root");
const rand = prng(Number(Deno.args[0] ?? 20240611));
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
const PAGES = 32;
const root = Vmar.root();
const [region, base] = root.allocate(0, PAGES * P, CAN);
const vmos = [
  Vmo.create(4 * P),
  Vmo.create(4 * P, VmoOptions.RESIZABLE),
  Vmo.create(2 * P, VmoOptions.RESIZABLE),
];
vmos.push(vmos[0].createChild(VmoChildOptions.SLICE, P, 2 * P));
for (const [i, vmo] of vmos.entries()) if (i < 3) vmo.write(pattern(i, vmo.getSize()), 0);
const resizable = [vmos[1], vmos[2]];
/** The root part has VMOs of its own, so that it cannot change what the region part reads. */
const rootVmos = [Vmo.create(4 * P), Vmo.create(3 * P, VmoOptions.RESIZABLE)];
let subs: Vmar[] = [];
/** Mappings made in the process root, to probe and unmap later. */
const rootMaps: [number, number][] = [];

for (let step = 0; step < 4000; step++) {
  const action = rand();
  const vmar = subs.length > 0 && rand() < 0.3 ? pick(subs) : region;
  const at = int(PAGES + 4) - 2;
  if (action < 0.22) {
    const flags = pick([0, F.PERM_READ, F.PERM_READ | F.PERM_WRITE]) |
      pick([0, F.SPECIFIC, F.SPECIFIC_OVERWRITE]);
    const offset = flags & (F.SPECIFIC | F.SPECIFIC_OVERWRITE) ? Math.max(0, at) * P : 0;
    c.outcome(() => vmar.map(offset, pick(vmos), int(5) * P, (1 + int(6)) * P - int(2), flags));
  } else if (action < 0.3) {
    c.outcome(() => region.unmap(base + at * P, (1 + int(8)) * P));
  } else if (action < 0.38) {
    const perms = pick([0, F.PERM_READ, F.PERM_READ | F.PERM_WRITE]);
    c.outcome(() => vmar.protect(base + at * P, (1 + int(4)) * P, perms));
  } else if (action < 0.42) {
    c.outcome(() => pick(resizable).setSize(int(6) * P + pick([0, 1, P / 2])));
  } else if (action < 0.45) {
    const op = pick([VmarOp.COMMIT, VmarOp.DECOMMIT, VmarOp.MAP_RANGE, VmarOp.PREFETCH]);
    c.outcome(() => vmar.opRange(op, base + at * P, (1 + int(4)) * P));
  } else if (action < 0.48) {
    const result = c.outcome(() =>
      region.allocate(Math.max(0, at) * P, (1 + int(6)) * P, CAN | F.SPECIFIC)
    );
    if (result.ok) subs.push(result.value[0]);
  } else if (action < 0.5 && subs.length > 0) {
    const victim = pick(subs);
    c.outcome(() => victim.destroy());
    subs = subs.filter((s) => s !== victim);
  } else if (action < 0.53) {
    const perms = pick([F.PERM_READ, F.PERM_READ | F.PERM_WRITE]);
    const result = cRoot.outcome(() =>
      root.map(0, pick(rootVmos), int(3) * P, (1 + int(3)) * P, perms)
    );
    if (result.ok) rootMaps.push([result.value, 0]);
  } else if (action < 0.56 && rootMaps.length > 0 && rand() < 0.25) {
    cRoot.outcome(() => rootVmos[1].setSize(int(5) * P));
  } else if (action < 0.56 && rootMaps.length > 0) {
    const [addr] = rootMaps.splice(int(rootMaps.length), 1)[0];
    cRoot.outcome(() => root.unmap(addr + int(2) * P, (1 + int(2)) * P));
    rootMaps.push([addr, 1]);
  } else {
    // A probe: anywhere from two pages before the region to two pages after it, any byte.
    const inRoot = rootMaps.length > 0 && rand() < 0.2;
    const addr = inRoot ? pick(rootMaps)[0] + int(4 * P) - P : base - 2 * P + int((PAGES + 4) * P);
    const len = pick([1, 2, 8, 64, P, 2 * P + 3]);
    const viaRoot = rand() < 0.2;
    // A root probe that lands in the region (root mappings may sit right next to it) only
    // reads, so that the region part sees the same data on every run.
    const write = rand() < 0.5 &&
      !(inRoot && addr + len > base - 2 * P && addr < base + (PAGES + 2) * P);
    const checker = inRoot ? cRoot : c;
    // Through the root, only inside the region: next to it may lie our own root mappings.
    const target = inRoot || (viaRoot && addr >= base && addr + len <= base + PAGES * P)
      ? root
      : rand() < 0.8
      ? region
      : pick([region, ...subs]);
    if (write) checker.write(target, addr, pattern(step, len));
    else checker.read(target, addr, len);
  }
}
for (const [addr] of rootMaps) cRoot.outcome(() => root.unmap(addr, 4 * P));
region.destroy();
for (const vmo of [...vmos, ...rootVmos]) vmo.close();
c.finish();
cRoot.finish();
