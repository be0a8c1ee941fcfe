/**
 * Child of review3_stack.test.ts: the map paths near the JavaScript stack's limit (commit
 * 851d96d: a map either completes or leaves nothing). The depth is found by recursing until
 * `RangeError`, then each operation runs at that depth minus 0..200 frames, one frame at a
 * time, after a warm-up. Afterwards, on a normal stack, the root's `infoMaps` is compared with
 * /proc/self/maps, memfds and fds are counted, and sub-VMAR allocations checked for overlap.
 * Mode `Deno.args[0]` names the operation; the last stdout line is a JSON report.
 */

import {
  Channel,
  GuestMemoryMmap,
  Mapping,
  PAGE_SIZE as P,
  Vmar,
  VmarFlags,
  Vmo,
  ZxError,
} from "../../mod.ts";
import { vmoObjectOf } from "../../src/vmo/vmo.ts";
import { countFds, countMemfdMappings, countMemfds, listFds, procMaps } from "../_support/proc.ts";
import { treeVersusKernel } from "../hardening/_util.ts";
import { atStackDepth } from "../_support/stack.ts";

const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const counts = { ok: 0, rangeError: 0, zxError: 0 };

function at(back: number, op: () => void): void {
  atStackDepth(back, op, counts);
}

/**
 * From the limit upward one frame at a time, until the operation has succeeded 200 times in a
 * row (the first 200 frames where it can complete, and every frame below them), three passes.
 */
function sweep(op: () => void): void {
  for (let pass = 0; pass < 3; pass++) {
    const before = counts.ok;
    let firstOk = -1;
    for (let k = 0; k < 6000; k++) {
      const ok = counts.ok;
      at(k, op);
      if (counts.ok > ok && firstOk < 0) firstOk = k;
      if (firstOk >= 0 && k - firstOk >= 200) break;
    }
    firsts.push(firstOk);
    if (counts.ok === before) throw new Error("the operation never completed near the limit");
  }
}

const firsts: number[] = [];

/** Kernel memfd mappings that no MAPPING entry of the root's tree covers, and the reverse. */
function rootTruth(): { untrackedCount: number; untracked: string[]; problems: string[] } {
  const entries = Vmar.root().infoMaps();
  const mappings = entries.filter((e) => e.type === 3);
  const untracked: string[] = [];
  for (const m of procMaps()) {
    if (!m.path.startsWith("/memfd:")) continue;
    if (m.path.includes("vmo-short-write")) continue; // the library's own copy source
    let covered = 0;
    for (const e of mappings) {
      const s = Math.max(e.base, m.start);
      const t = Math.min(e.base + e.size, m.end);
      if (t > s) covered += t - s;
    }
    if (covered !== m.end - m.start) {
      untracked.push(`${m.start.toString(16)}-${m.end.toString(16)} ${m.path}`);
    }
  }
  return {
    untrackedCount: untracked.length,
    untracked: untracked.slice(0, 3),
    problems: treeVersusKernel(entries).slice(0, 5),
  };
}

const mode = Deno.args[0];
const variant = Deno.args[1] ?? "both";
const fds0 = countFds();
const fdList0 = new Set(listFds().keys());
const memfds0 = countMemfds();
const maps0 = countMemfdMappings();
const report: Record<string, unknown> = {};
const root = Vmar.root();
const vmo = Vmo.create(4 * P);
const slots: unknown[] = new Array(4000).fill(null);
let n = 0;

if (mode === "map-unmap-protect") {
  for (let i = 0; i < 20_000; i++) {
    const a = root.map(0, vmo, 0, 2 * P, RW);
    root.protect(a, P, VmarFlags.PERM_READ);
    root.unmap(a, 2 * P);
  }
  // Each op: a map (kept by index), then protect and unmap of an earlier one.
  // Variants "left" and "middle" cut a mapping's first page, or a page out of its middle.
  const size = variant === "middle" ? 3 * P : 2 * P;
  const cut = variant === "left" ? 0 : P;
  sweep(() => {
    const a = root.map(0, vmo, 0, size, RW);
    slots[n] = a;
    n++;
    if (variant === "protect" || variant === "both") root.protect(a, P, VmarFlags.PERM_READ);
    if (variant !== "protect") root.unmap(a + cut, P);
  });
  Object.assign(report, rootTruth());
  for (const e of root.infoMaps()) {
    if (e.type === 3 && e.mapping?.vmoKoid === vmoObjectOf(vmo).koid) root.unmap(e.base, e.size);
  }
} else if (mode === "sub-allocate") {
  const [sub] = root.allocate(
    0,
    1024 * P,
    VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC,
  );
  for (let i = 0; i < 20_000; i++) {
    const [c] = sub.allocate(0, 3 * P, VmarFlags.CAN_MAP_READ);
    c.destroy();
    c.close();
  }
  sweep(() => {
    const [c, base] = sub.allocate(
      0,
      (1 + (n % 3)) * P,
      VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE,
    );
    slots[n] = [c, base];
    n++;
    c.map(0, vmo, 0, P, RW);
    if (n % 4 === 0) {
      const m = sub.map(0, vmo, 0, P, RW);
      sub.unmap(m, P);
    }
  });
  // Fill what is left, normally: nothing may overlap.
  for (;;) {
    try {
      sub.allocate(0, P, VmarFlags.CAN_MAP_READ);
    } catch (e) {
      if (e instanceof ZxError) break;
      throw e;
    }
  }
  const kids = sub.infoMaps().filter((e) => e.depth === 1).sort((a, b) => a.base - b.base);
  let overlaps = 0;
  for (let i = 1; i < kids.length; i++) {
    if (kids[i].base < kids[i - 1].base + kids[i - 1].size) overlaps++;
  }
  report.overlaps = overlaps;
  report.children = kids.length;
  Object.assign(report, rootTruth());
  sub.destroy();
  sub.close();
  for (let i = 0; i < n; i++) (slots[i] as [Vmar, number])[0].close();
} else if (mode === "create") {
  for (let i = 0; i < 20_000; i++) {
    Vmo.create(P).close();
    const [m, v] = Mapping.allocate(P);
    m.close();
    v.close();
  }
  sweep(() => {
    const v = Vmo.create(P * (1 + (n % 2)));
    slots[n] = v;
    n++;
    const pair = Mapping.allocate(P);
    slots[n] = pair;
    n++;
  });
  Object.assign(report, rootTruth());
  for (let i = 0; i < n; i++) {
    const s = slots[i];
    if (s instanceof Vmo) s.close();
    else if (Array.isArray(s)) {
      s[0].close();
      s[1].close();
    }
  }
} else if (mode === "channel") {
  const [a, b] = Channel.createPair();
  for (let i = 0; i < 5000; i++) {
    a.write(new Uint8Array(1), [Vmo.create(P)]);
    for (const h of b.tryRead().handles) h.close();
  }
  sweep(() => {
    const v = Vmo.create(P);
    slots[n] = v;
    n++;
    a.write(new Uint8Array([1]), [v]);
    const msg = b.tryRead();
    for (const h of msg.handles) h.close();
  });
  for (;;) {
    try {
      for (const h of b.tryRead().handles) h.close();
    } catch {
      break;
    }
  }
  for (let i = 0; i < n; i++) {
    try {
      (slots[i] as Vmo).close();
    } catch { /* moved */ }
  }
  a.close();
  b.close();
  Object.assign(report, rootTruth());
} else if (mode === "guest") {
  for (let i = 0; i < 3000; i++) GuestMemoryMmap.fromRanges([[0, P], [P, 2 * P]]).close();
  sweep(() => {
    const g = GuestMemoryMmap.fromRanges([[0, P], [2 * P, P]]);
    slots[n] = g;
    n++;
    g.writeU32(2 * P, n);
  });
  Object.assign(report, rootTruth());
  for (let i = 0; i < n; i++) (slots[i] as GuestMemoryMmap).close();
} else {
  throw new Error(`unknown mode ${mode}`);
}

vmo.close();
const gc = (globalThis as { gc?: () => void }).gc;
for (let i = 0; i < 5 && gc !== undefined; i++) {
  gc();
  await new Promise((r) => setTimeout(r, 20));
}
report.counts = counts;
report.firsts = firsts;
report.made = n;
report.after = rootTruth();
report.fdsLeft = countFds() - fds0;
report.newFds = [...listFds()].filter(([k]) => !fdList0.has(k)).map(([k, t]) => `${k}:${t}`);
report.memfdsLeft = countMemfds() - memfds0;
report.mapsLeft = countMemfdMappings() - maps0;
console.log(JSON.stringify(report));
