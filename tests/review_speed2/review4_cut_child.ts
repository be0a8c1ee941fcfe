/**
 * Child of review4_cut.test.ts: attacks on the cut paths of commits 4e44e38/b464c69 (planCut,
 * cutMapping in place, abandonCut). Mode `Deno.args[0]`; the last stdout line is a JSON report
 * with `problems` (empty when everything held).
 *
 * - `fuzz <seed> <root|sub>`: random map / unmap / protect / SPECIFIC_OVERWRITE / views / GC
 *   against a page model; after each step the tree is compared with the model and the kernel,
 *   views are checked attached exactly when their pages stayed read-write and untouched, and
 *   first-fit allocation is checked against the model.
 * - `lease`: middle cut of a mapping whose right part has views, a SharedBuffer and a futex wait.
 * - `mapcount`: unmaps and overwrites that fail at vm.max_map_count leave the tree as it was.
 * - `stack <cut>`: cuts near the JS stack limit, then tree versus kernel.
 */

import fc from "fast-check";
import {
  futexWait,
  futexWake,
  PAGE_SIZE as P,
  SharedBuffer,
  Status,
  Vmar,
  VmarFlags as F,
  Vmo,
} from "../../mod.ts";
import { procMaps, readProc } from "../_support/proc.ts";
import { treeVersusKernel } from "../hardening/_util.ts";
import { atStackDepth } from "../_support/stack.ts";
import { statusOf } from "../_support/status.ts";

const RW = F.PERM_READ | F.PERM_WRITE;
const R = F.PERM_READ;
const problems: string[] = [];
const report: Record<string, unknown> = { problems };
const root = Vmar.root();
const hex = (n: number) => "0x" + n.toString(16);
// deno-lint-ignore no-explicit-any
const gc = (globalThis as any).gc as (() => void) | undefined;

/** Page model: address -> [vmo index, page in vmo, perms]. */
type Page = [number, number, number];

/** The tree's pages of `vmar` (type-3 entries) as the model's shape. */
function treePages(vmar: Vmar, koids: Map<number, number>, lo: number, hi: number) {
  const out = new Map<number, Page>();
  for (const e of vmar.infoMaps()) {
    if (e.type !== 3 || e.mapping === undefined) continue;
    if (e.base + e.size <= lo || e.base >= hi) continue;
    const id = koids.get(e.mapping.vmoKoid) ?? -1;
    for (let a = e.base; a < e.base + e.size; a += P) {
      out.set(a, [id, (e.mapping.vmoOffset + a - e.base) / P, e.mapping.mmuFlags & 7]);
    }
  }
  return out;
}

function kernelCheck(what: string): void {
  // Quarantined zero pages (rw-p, under view buffers not yet collected) are not in the tree.
  const found = treeVersusKernel(root.infoMaps()).filter((p) => !p.includes("kernel rw-p"));
  for (const p of found.slice(0, 3)) problems.push(`${what}: ${p}`);
}

// ---------------------------------------------------------------------------------------------

function fuzz(seed: number, where: "root" | "sub"): void {
  const N = 48;
  const vmos = [Vmo.create(N * P), Vmo.create(N * P), Vmo.create(N * P)];
  const koids = new Map<number, number>();
  vmos.forEach((v, i) => {
    koids.set(v.info().koid, i);
    // Each page holds its tag: vmo index * 1000 + page.
    for (let p = 0; p < N; p++) {
      v.write(new Uint8Array(new Uint32Array([i * 1000 + p]).buffer), p * P);
    }
  });
  let vmar: Vmar;
  let lo: number;
  let arena: number | null = null;
  if (where === "sub") {
    const [s, b] = root.allocate(0, N * P, F.CAN_MAP_SPECIFIC | F.CAN_MAP_READ | F.CAN_MAP_WRITE);
    vmar = s;
    lo = b;
  } else {
    // The root: an arena mapping to carve in, so every address touched is ours.
    vmar = root;
    arena = root.map(0, vmos[0], 0, N * P, RW);
    lo = arena;
  }
  const hi = lo + N * P;
  const model = new Map<number, Page>();
  if (arena !== null) { for (let p = 0; p < N; p++) model.set(lo + p * P, [0, p, RW]); }
  // Views: the view, its pages, and whether it must still be attached (null: either).
  const views: { v: Uint8Array; addr: number; pages: number; want: boolean | null }[] = [];
  // Pages that left the user under a view buffer (quarantine: occupied, not in the tree, rw-p),
  // and pages protected down under one (the kernel's protection may lag: deferred protect).
  const ghost = new Set<number>();
  const lagging = new Set<number>();
  // Dropped views may not be collected yet: their pages can still be quarantined.
  const everTaken: { addr: number; pages: number }[] = [];
  const touch = (a: number, b: number, how: "gone" | "perm", perms = 0) => {
    for (const view of everTaken) {
      const end = view.addr + view.pages * P;
      if (end <= a || view.addr >= b) continue;
      for (let p = Math.max(a, view.addr); p < Math.min(b, end); p += P) {
        if (how === "gone") ghost.add(p);
      }
      // A protect under any live view defers the kernel's change for its whole range.
      if (how === "perm" && (perms & RW) !== RW) { for (let p = a; p < b; p += P) lagging.add(p); }
    }
    for (const view of views) {
      const end = view.addr + view.pages * P;
      if (end <= a || view.addr >= b) continue;
      for (let p = Math.max(a, view.addr); p < Math.min(b, end); p += P) {
        if (how === "gone") ghost.add(p);
        else lagging.add(p);
      }
      if (how === "gone" || (perms & RW) !== RW) view.want = false;
      else if (view.want !== false) view.want = null;
    }
  };
  const specific = (a: number) => (where === "sub" ? a - lo : a - root.info().base);
  let step = 0;
  const check = (what: string) => {
    const tree = treePages(vmar, koids, lo, hi);
    for (let a = lo; a < hi; a += P) {
      const t = tree.get(a);
      const m = model.get(a);
      if (where === "root" && m === undefined) {
        if (t !== undefined) problems.push(`${what}: tree maps ${hex(a)}, model has a hole`);
        continue;
      }
      if (JSON.stringify(t) !== JSON.stringify(m)) {
        problems.push(
          `${what}: page ${(a - lo) / P} tree ${JSON.stringify(t)} model ${JSON.stringify(m)}`,
        );
        return;
      }
      if (m !== undefined && (m[2] & R) !== 0) {
        const buf = new Uint8Array(4);
        vmar.readMemory(a, buf);
        const tag = new Uint32Array(buf.buffer)[0];
        if (tag !== m[0] * 1000 + m[1]) {
          problems.push(`${what}: page ${(a - lo) / P} holds ${tag}, want ${m[0] * 1000 + m[1]}`);
        }
      }
    }
    const maps = procMaps();
    for (let a = lo; a < hi; a += P) {
      const k = maps.find((m) => m.start <= a && a < m.end);
      const m = model.get(a);
      const kp = k === undefined ? "none" : k.perms.slice(0, 4);
      if (m !== undefined) {
        const want = m[2] === RW ? "rw-s" : "r--s";
        if (kp !== want && !(lagging.has(a) && kp === "rw-s")) {
          problems.push(`${what}: page ${(a - lo) / P} kernel ${kp}, tree ${want}`);
          return;
        }
      } else if (where === "sub" && kp !== "---p" && !(ghost.has(a) && kp === "rw-p")) {
        problems.push(`${what}: unmapped page ${(a - lo) / P} kernel ${kp}`);
        return;
      }
    }
    for (const view of views) {
      const attached = view.v.length > 0;
      if (view.want !== null && attached !== view.want) {
        problems.push(
          `${what}: view at page ${
            (view.addr - lo) / P
          }+${view.pages} attached ${attached}, want ${view.want}`,
        );
      }
      if (attached) {
        // An attached view must see the memory it was taken over.
        const m = model.get(view.addr)!;
        const tag = new Uint32Array(view.v.buffer, view.v.byteOffset, 1)[0];
        if (m === undefined || tag !== m[0] * 1000 + m[1]) {
          problems.push(`${what}: attached view reads ${tag} at page ${(view.addr - lo) / P}`);
        }
      }
    }
    // First fit: a map without SPECIFIC lands on the first free run of the model (in a sub-VMAR),
    // and never on a live mapping.
    if (where === "sub") {
      for (const k of [1, 2, 3]) {
        const fit = (busy: (a: number) => boolean) => {
          for (let a = lo; a + k * P <= hi; a += P) {
            let free = true;
            for (let j = 0; j < k; j++) if (busy(a + j * P)) free = false;
            if (free) return a;
          }
          return -1;
        };
        // Between the first fit of the model and the one that also avoids every ghost page.
        const want = fit((a) => model.has(a));
        const sure = fit((a) => model.has(a) || ghost.has(a));
        let got = -1;
        const st = statusOf(() => (got = vmar.map(0, vmos[2], 0, k * P, RW)));
        let overlaps = false;
        for (let j = 0; j < k && st === 0; j++) if (model.has(got + j * P)) overlaps = true;
        if (overlaps) {
          problems.push(
            `${what}: first fit of ${k} pages at page ${(got - lo) / P} overlaps a live mapping`,
          );
        } else if (st !== 0 && sure >= 0) {
          problems.push(
            `${what}: first fit of ${k} pages failed (${st}) with page ${(sure - lo) / P} free`,
          );
        } else if (st === 0 && (got < want || (sure >= 0 && got > sure))) {
          problems.push(
            `${what}: first fit of ${k} pages at page ${(got - lo) / P}, model ${
              (want - lo) / P
            }..${(sure - lo) / P}`,
          );
          vmar.unmap(got, k * P);
        } else if (st === 0) {
          vmar.unmap(got, k * P);
        }
        if (want < 0 && st === 0) {
          problems.push(`${what}: map of ${k} pages in a full vmar succeeded`);
        }
        if (st !== 0 && st !== Status.NO_RESOURCES && st !== Status.NO_MEMORY) {
          problems.push(`${what}: first fit failed with ${st}`);
        }
      }
    }
  };
  const rnd = fc.integer({ min: 0, max: N - 1 });
  const op = fc.oneof(
    fc.record({
      k: fc.constant("map"),
      a: rnd,
      n: fc.integer({ min: 1, max: 12 }),
      v: fc.integer({ min: 0, max: 2 }),
      o: rnd,
      ro: fc.boolean(),
    }),
    fc.record({ k: fc.constant("unmap"), a: rnd, n: fc.integer({ min: 1, max: 16 }) }),
    fc.record({
      k: fc.constant("protect"),
      a: rnd,
      n: fc.integer({ min: 1, max: 10 }),
      ro: fc.boolean(),
    }),
    fc.record({
      k: fc.constant("over"),
      a: rnd,
      n: fc.integer({ min: 1, max: 8 }),
      v: fc.integer({ min: 0, max: 2 }),
      o: rnd,
      ro: fc.boolean(),
    }),
    fc.record({ k: fc.constant("view"), a: rnd, n: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ k: fc.constant("drop"), i: fc.nat() }),
    fc.record({ k: fc.constant("gc") }),
  );
  const ops = fc.sample(fc.array(op, { minLength: 60, maxLength: 60 }), { seed, numRuns: 1 })[0];
  for (const o of ops) {
    step++;
    const what = `seed ${seed} ${where} step ${step} ${JSON.stringify(o)}`;
    if (problems.length > 0) break;
    // deno-lint-ignore no-explicit-any
    const x = o as any;
    const a = lo + (x.a ?? 0) * P;
    const n = Math.min(x.n ?? 1, (hi - a) / P);
    const b = a + n * P;
    const pagesIn = () => {
      const out: number[] = [];
      for (let p = a; p < b; p += P) out.push(p);
      return out;
    };
    if (x.k === "map" || x.k === "over") {
      const vo = Math.min(x.o, N - n);
      const perms = x.ro ? R : RW;
      const anyMapped = pagesIn().some((p) => model.has(p));
      const allMapped = pagesIn().every((p) => model.has(p));
      if (where === "root" && !allMapped) continue; // only carve inside our own memory
      const flags = perms | (x.k === "map" ? F.SPECIFIC : F.SPECIFIC_OVERWRITE);
      const st = statusOf(() => vmar.map(specific(a), vmos[x.v], vo * P, n * P, flags));
      const want = x.k === "map" && anyMapped ? Status.ALREADY_EXISTS : 0;
      const ghosted = pagesIn().some((p) => ghost.has(p) && !model.has(p));
      if (st !== want && !(ghosted && st === Status.ALREADY_EXISTS)) {
        problems.push(`${what}: status ${st}, want ${want}`);
      }
      if (st === 0) {
        touch(a, b, "gone");
        for (let i = 0; i < n; i++) {
          model.set(a + i * P, [x.v, vo + i, perms]);
          lagging.delete(a + i * P);
        }
      }
    } else if (x.k === "unmap") {
      if (where === "root" && !pagesIn().every((p) => model.has(p))) continue;
      const st = statusOf(() => vmar.unmap(a, n * P));
      if (st !== 0) problems.push(`${what}: unmap status ${st}`);
      if (st === 0) {
        touch(a, b, "gone");
        for (const p of pagesIn()) model.delete(p);
      }
    } else if (x.k === "protect") {
      const all = pagesIn().every((p) => model.has(p));
      const perms = x.ro ? R : RW;
      const st = statusOf(() => vmar.protect(a, n * P, perms));
      const want = all ? 0 : Status.NOT_FOUND;
      if (st !== want) problems.push(`${what}: protect status ${st}, want ${want}`);
      if (st === 0) {
        touch(a, b, "perm", perms);
        for (const p of pagesIn()) model.get(p)![2] = perms;
      }
    } else if (x.k === "view") {
      if (!pagesIn().every((p) => model.has(p) && model.get(p)![2] === RW)) continue;
      let v: Uint8Array;
      try {
        v = SharedBuffer.fromRange(vmar, a, n * P).bytes();
      } catch (e) {
        problems.push(`${what}: view failed ${e}`);
        continue;
      }
      views.push({ v, addr: a, pages: n, want: true });
      everTaken.push({ addr: a, pages: n });
    } else if (x.k === "drop") {
      if (views.length > 0) views.splice(x.i % views.length, 1);
    } else if (x.k === "gc") {
      gc?.();
    }
    check(what);
  }
  report.steps = step;
  if (where === "sub") vmar.destroy();
  else for (const [p] of model) root.unmap(p, P);
  kernelCheck(`seed ${seed} after teardown`);
}

// ---------------------------------------------------------------------------------------------

async function lease(): Promise<void> {
  for (const where of ["root", "sub"] as const) {
    const vmo = Vmo.create(8 * P);
    let vmar = root;
    let off = 0;
    let sub: Vmar | null = null;
    if (where === "sub") {
      const [s] = root.allocate(0, 16 * P, F.CAN_MAP_SPECIFIC | F.CAN_MAP_READ | F.CAN_MAP_WRITE);
      sub = s;
      vmar = s;
      off = 4 * P;
    }
    const a = vmar.map(off, vmo, 0, 8 * P, RW | (sub ? F.SPECIFIC : 0));
    const right = SharedBuffer.fromRange(vmar, a + 5 * P, 3 * P);
    const view = right.bytes();
    const left = SharedBuffer.fromRange(vmar, a, 2 * P).bytes();
    const middle = SharedBuffer.fromRange(vmar, a + 3 * P, P).bytes();
    view[0] = 7;
    // A futex wait on a word of the right part, woken after the middle page goes.
    const waiting = futexWait(right.slice(), 8, 0, 5_000);
    vmar.unmap(a + 3 * P, P);
    if (middle.length !== 0) problems.push(`${where}: the middle view stayed attached`);
    if (view.length !== 3 * P || left.length !== 2 * P) {
      problems.push(`${where}: views outside the hole detached (${view.length}, ${left.length})`);
    }
    view[8] = 1;
    const woke = futexWake(right.slice(), 8, 1);
    const st = await Promise.race([
      Promise.resolve(waiting).then(() => "woke", (e) => `threw ${e}`),
      new Promise((r) => setTimeout(() => r("hung"), 3000)),
    ]);
    if (st !== "woke") {
      problems.push(`${where}: futex wait after the middle cut: ${st} (woke ${woke})`);
    }
    const buf = new Uint8Array(1);
    vmar.readMemory(a + 5 * P, buf);
    if (buf[0] !== 7) problems.push(`${where}: right part reads ${buf[0]}`);
    // Cut the right part again (left cut of the new record) while the SharedBuffer lives.
    vmar.unmap(a + 4 * P, 2 * P);
    if (view.length !== 0) problems.push(`${where}: right view survived its first page's unmap`);
    if (statusOf(() => right.read(new Uint8Array(1))) !== Status.BAD_STATE) {
      problems.push(`${where}: SharedBuffer over an unmapped page still reads`);
    }
    kernelCheck(`lease ${where}`);
    vmar.unmap(a, 3 * P);
    vmar.unmap(a + 6 * P, 2 * P);
    sub?.destroy();
    kernelCheck(`lease ${where} end`);
  }
}

// ---------------------------------------------------------------------------------------------

function mapcount(): void {
  const limit = parseInt(readProc("/proc/sys/vm/max_map_count"));
  report.limit = limit;
  const vmo = Vmo.create(4 * P);
  const [sub, base] = root.allocate(
    0,
    64 * P,
    F.CAN_MAP_SPECIFIC | F.CAN_MAP_READ | F.CAN_MAP_WRITE,
  );
  const a = sub.map(8 * P, vmo, 0, 4 * P, RW | F.SPECIFIC);
  const b = root.map(0, vmo, 0, 4 * P, RW);
  const rootView = SharedBuffer.fromRange(root, b + 3 * P, P).bytes();
  const subView = SharedBuffer.fromRange(sub, a + 3 * P, P).bytes();
  // Fill the address space's VMA budget: one big mapping, every other page read-only.
  const pages = limit + 1000;
  const big = Vmo.create(pages * P);
  const fill = root.map(0, big, 0, pages * P, RW);
  let made = 0;
  for (let i = 1; i < pages; i += 2) {
    if (statusOf(() => root.protect(fill + i * P, P, R)) !== 0) break;
    made++;
  }
  report.protects = made;
  const snapshot = () =>
    JSON.stringify([
      sub.infoMaps(),
      root.infoMaps().filter((e) => e.base >= b && e.base < b + 4 * P),
    ]);
  // Free VMAs until a middle cut needs more than remain; try each cut with 0..3 VMAs to spare.
  const results: string[] = [];
  for (let spare = 0; spare < 4; spare++) {
    const tries: [string, () => void][] = [
      ["sub middle unmap", () => sub.unmap(a + P, P)],
      ["root middle unmap", () => root.unmap(b + P, P)],
      ["sub middle overwrite", () => sub.map(9 * P, vmo, 0, P, R | F.SPECIFIC_OVERWRITE)],
      [
        "root middle overwrite",
        () => root.map(b + P - root.info().base, vmo, 0, P, R | F.SPECIFIC_OVERWRITE),
      ],
      ["sub middle protect", () => sub.protect(a + 2 * P, P, R)],
    ];
    for (const [name, fn] of [...tries.slice(spare), ...tries.slice(0, spare)]) {
      const before = snapshot();
      const st = statusOf(fn);
      results.push(`${spare} ${name} ${st}`);
      if (st !== 0) {
        if (snapshot() !== before) problems.push(`${name} failed (${st}) and changed the tree`);
        if (st !== Status.NO_MEMORY) problems.push(`${name} failed with ${st}, want NO_MEMORY`);
      }
      kernelCheck(`mapcount ${spare} ${name}`);
    }
    // Give back two VMAs.
    root.protect(fill + (2 * spare + 1) * P, P, RW);
  }
  report.results = results;
  if (subView.length !== 4 * 0 + P && subView.length !== 0) problems.push("subView length odd");
  root.unmap(fill, pages * P);
  report.views = [rootView.length, subView.length];
  sub.destroy();
  root.unmap(b, 4 * P);
  kernelCheck("mapcount end");
  report.base = base;
}

// ---------------------------------------------------------------------------------------------

const counts = { ok: 0, rangeError: 0, zxError: 0 };
function at(back: number, op: () => void): void {
  atStackDepth(back, op, counts);
}

function stack(cut: string): void {
  const vmo = Vmo.create(8 * P);
  const [sub, sbase] = root.allocate(
    0,
    4096 * P,
    F.CAN_MAP_SPECIFIC | F.CAN_MAP_READ | F.CAN_MAP_WRITE,
  );
  const vmar = cut.startsWith("sub") ? sub : root;
  const kind = cut.replace(/^(sub|root)-/, "");
  const held: { v: Uint8Array; addr: number }[] = [];
  // Warm the paths on a normal stack.
  for (let i = 0; i < 3000; i++) {
    const a = vmar.map(0, vmo, 0, 4 * P, RW);
    vmar.unmap(a + P, P);
    vmar.unmap(a, P);
    vmar.unmap(a + 3 * P, P);
    vmar.map(a + 2 * P - vmar.info().base, vmo, 0, P, R | F.SPECIFIC_OVERWRITE);
    vmar.unmap(a + 2 * P, P);
  }
  const live: number[] = [];
  for (let back = 0; back <= 200; back++) {
    for (let pass = 0; pass < 2; pass++) {
      const a = vmar.map(0, vmo, 0, 4 * P, RW);
      live.push(a);
      held.push({ v: SharedBuffer.fromRange(vmar, a + 3 * P, P).bytes(), addr: a + 3 * P });
      const rel = (x: number) => x - vmar.info().base;
      at(back, () => {
        if (kind === "middle") vmar.unmap(a + P, 2 * P);
        else if (kind === "left") vmar.unmap(a, 2 * P);
        else if (kind === "right") vmar.unmap(a + 2 * P, 2 * P);
        else if (kind === "over") vmar.map(rel(a + P), vmo, 4 * P, P, R | F.SPECIFIC_OVERWRITE);
        else if (kind === "overright") {
          vmar.map(rel(a + 3 * P), vmo, 4 * P, P, R | F.SPECIFIC_OVERWRITE);
        } else if (kind === "protect") vmar.protect(a + P, P, R);
        else if (kind === "span") vmar.unmap(a - P, 3 * P);
      });
    }
  }
  report.counts = counts;
  // Tree versus kernel, and the held views: attached exactly when their page is still read-write.
  kernelCheck(`stack ${cut}`);
  const entries = vmar.infoMaps().filter((e) => e.type === 3);
  for (const h of held) {
    const e = entries.find((e) => e.base <= h.addr && h.addr < e.base + e.size);
    const rw = e !== undefined && (e.mapping!.mmuFlags & RW) === RW;
    const kernel = procMaps().find((m) => m.start <= h.addr && h.addr < m.end);
    if (h.v.length > 0 && !rw) {
      problems.push(
        `stack ${cut}: view attached over ${e ? "non-rw" : "unmapped"} page ${hex(h.addr)}`,
      );
    }
    if (h.v.length > 0 && kernel !== undefined && !kernel.perms.startsWith("rw")) {
      problems.push(`stack ${cut}: view attached over kernel ${kernel.perms} at ${hex(h.addr)}`);
    }
  }
  // First fit in the sub-VMAR never overlaps a live mapping.
  if (vmar === sub) {
    for (let i = 0; i < 50; i++) {
      const before = sub.infoMaps().filter((e) => e.type === 3);
      const x = sub.map(0, vmo, 0, P, RW);
      if (before.some((e) => e.base < x + P && x < e.base + e.size)) {
        problems.push(`stack ${cut}: first fit at ${hex(x)} overlaps a live mapping`);
      }
    }
  }
  sub.destroy();
  for (const a of live) statusOf(() => root.unmap(a - P, 6 * P));
  kernelCheck(`stack ${cut} end`);
  report.sbase = sbase;
}

const mode = Deno.args[0];
if (mode === "fuzz") {
  const first = Number(Deno.args[1]);
  const count = Number(Deno.args[3] ?? 1);
  for (let s = first; s < first + count && problems.length === 0; s++) {
    fuzz(s, Deno.args[2] as "root" | "sub");
    report.lastSeed = s;
  }
} else if (mode === "lease") await lease();
else if (mode === "mapcount") mapcount();
else if (mode === "stack") stack(Deno.args[1]);
else throw new Error(`unknown mode ${mode}`);
console.log(JSON.stringify(report));
