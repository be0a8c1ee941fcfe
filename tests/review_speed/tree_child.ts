/**
 * Child for tree.test.ts: random sequences against issue 9's fast paths in the VMAR tree, in a
 * process of their own (a wrong fast path faults: exit 139). Modes (`Deno.args[0]`), each with a
 * seed (`Deno.args[1]`):
 *
 * - `root`: root maps of the one-call `mmap(NULL)` path mixed with `SPECIFIC` maps at freed
 *   addresses, unmaps and protects; after each step the root's `infoMaps` against
 *   /proc/self/maps, no mapping in the main thread's stack growth area, and at the end a deep
 *   recursion that must end in `RangeError`.
 * - `protect`: random protects (inside one permission range and across several), unmaps and
 *   `SPECIFIC` re-maps in a sub-VMAR while read-write views are held (quarantine and deferred
 *   protect in play): every view still attached is read and written over all its pages, and
 *   the kernel never grants less than the tree; once the views are collected, tree and kernel
 *   agree exactly.
 * - `empty`: a sub-VMAR going empty and back many times (the span list's reused block),
 *   against a model of its mappings.
 *
 * The last stdout line is a JSON report.
 */

import {
  MapInfoType,
  Mapping,
  PAGE_SIZE as P,
  SharedBuffer,
  Vmar,
  VmarFlags,
  Vmo,
  ZxError,
} from "../../mod.ts";
import { procMaps, stackLimit, stackMap, treeVersusKernel } from "../hardening/_util.ts";

const R = VmarFlags.PERM_READ;
const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const CAN = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC;

let seed = Number(Deno.args[1] ?? 1) >>> 0 || 1;
function rnd(n: number): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed % n;
}

/** Runs `fn`, swallowing the refusals (ZxError) random operations meet; counts them. */
const refused: Record<string, number> = {};
function attempt(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (!(e instanceof ZxError)) throw e;
    refused[e.status] = (refused[e.status] ?? 0) + 1;
    return false;
  }
}

/** Kernel `rwx` of each page of `[start, end)` ("" where unmapped). */
function kernelPerms(start: number, end: number): string[] {
  const out: string[] = [];
  const maps = procMaps();
  for (let a = start; a < end; a += P) {
    const m = maps.find((x) => x.start <= a && a < x.end);
    out.push(m === undefined ? "" : m.perms.slice(0, 3));
  }
  return out;
}

function rootMode(): Record<string, unknown> {
  const root = Vmar.root();
  const rootBase = root.info().base;
  const stack = stackMap();
  const limit = Math.min(stackLimit(), 2 ** 46);
  const growthStart = stack.start - limit - 256 * P;
  const vmo = Vmo.create(16 * P);
  const live: [number, number][] = [];
  const freed: [number, number][] = [];
  let inGrowth = 0;
  let problems: string[] = [];
  let specificLanded = 0;
  for (let step = 0; step < 400 && problems.length === 0; step++) {
    const op = rnd(10);
    if (op < 4 || live.length === 0) {
      const pages = 1 + rnd(8);
      attempt(() => live.push([root.map(0, vmo, rnd(8) * P, pages * P, rnd(2) ? RW : R), pages]));
    } else if (op < 6 && freed.length > 0) {
      const [addr, pages] = freed.splice(rnd(freed.length), 1)[0];
      if (
        attempt(() => {
          root.map(addr - rootBase, vmo, 0, pages * P, RW | VmarFlags.SPECIFIC);
        })
      ) {
        live.push([addr, pages]);
        specificLanded++;
      }
    } else if (op < 8) {
      const [addr, pages] = live.splice(rnd(live.length), 1)[0];
      root.unmap(addr, pages * P);
      freed.push([addr, pages]);
    } else {
      const [addr, pages] = live[rnd(live.length)];
      const at = rnd(pages);
      attempt(() => root.protect(addr + at * P, (1 + rnd(pages - at)) * P, rnd(2) ? RW : R));
    }
    for (const [addr, pages] of live) {
      if (addr < stack.end && addr + pages * P > growthStart) inGrowth++;
    }
    if (step % 20 === 0) {
      // Neighbouring maps of one VMO window may merge into one record: compare by pages.
      const entries = root.infoMaps().filter((e) =>
        e.type === MapInfoType.MAPPING &&
        live.some(([a, n]) => a < e.base + e.size && e.base < a + n * P)
      );
      problems = treeVersusKernel(entries);
      for (const [addr, pages] of live) {
        for (let a = addr; a < addr + pages * P; a += P) {
          if (!entries.some((e) => e.base <= a && a < e.base + e.size)) {
            problems.push(`0x${a.toString(16)} is mapped but not in infoMaps`);
          }
        }
      }
    }
  }
  // The stack must still grow to V8's limit without meeting a mapping.
  let recursion = "none";
  const deep = (n: number): number => n === 0 ? 0 : deep(n - 1) + 1;
  try {
    deep(1e7);
  } catch (e) {
    recursion = e instanceof RangeError ? "RangeError" : String(e);
  }
  for (const [addr, pages] of live) root.unmap(addr, pages * P);
  vmo.close();
  return { problems, inGrowth, recursion, specificLanded, live: live.length, refused };
}

async function protectMode(): Promise<Record<string, unknown>> {
  const PAGES = 24;
  const [sub, base] = Vmar.root().allocate(0, PAGES * P, CAN);
  const vmos = [Vmo.create(PAGES * P), Vmo.create(PAGES * P)];
  // The random steps run in a frame of their own: a stale interpreter register of this frame
  // would keep the last view's buffer alive, and with it a deferred protect.
  const counts = protectSteps(sub, base, PAGES, vmos);
  for (let i = 0; i < Number(Deno.args[2] ?? 20); i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
  const problems = treeVersusKernel(sub.infoMaps());
  sub.destroy();
  for (const v of vmos) v.close();
  return { ...counts, problems, refused };
}

function protectSteps(sub: Vmar, base: number, PAGES: number, vmos: Vmo[]): Record<string, number> {
  // Views with their addresses (not `Deno.UnsafePointer.of`, which may keep its last argument).
  let views: [Uint8Array, number][] = [];
  let weaker = 0;
  let attachedOverDenied = 0;
  let touched = 0;
  // Two mappings to start: permission ranges inside one mapping and across two.
  sub.map(0, vmos[0], 0, 12 * P, RW | VmarFlags.SPECIFIC);
  sub.map(12 * P, vmos[1], 0, 12 * P, RW | VmarFlags.SPECIFIC);
  const steps = Number(Deno.args[3] ?? 300);
  for (let step = 0; step < steps; step++) {
    const page = rnd(PAGES);
    const pages = 1 + rnd(Math.min(6, PAGES - page));
    const op = rnd(10);
    if (op < 5) {
      attempt(() => sub.protect(base + page * P, pages * P, rnd(3) === 0 ? RW : R));
    } else if (op < 7) {
      attempt(() => {
        const view = SharedBuffer.fromRange(sub, base + page * P, pages * P).bytes();
        views.push([view, base + page * P]);
      });
    } else if (op < 8) {
      attempt(() => sub.unmap(base + page * P, pages * P));
    } else {
      attempt(() => {
        sub.map(page * P, vmos[rnd(2)], rnd(4) * P, pages * P, RW | VmarFlags.SPECIFIC);
      });
    }
    // The tree may grant less than the kernel (a deferred protect), never more.
    for (const e of sub.infoMaps()) {
      if (e.type !== MapInfoType.MAPPING) continue;
      const want = e.mapping!.mmuFlags & RW;
      for (const k of kernelPerms(e.base, e.base + e.size)) {
        if ((want & R) && k[0] !== "r" || (want & VmarFlags.PERM_WRITE) && k[1] !== "w") weaker++;
      }
    }
    // Every attached view is over read-write memory: read and write each of its pages.
    views = views.filter(([v]) => v.length !== 0);
    for (const [v, start] of views) {
      for (const k of kernelPerms(start, start + v.length)) {
        if (k.slice(0, 2) !== "rw") {
          attachedOverDenied++;
        }
      }
    }
    if (attachedOverDenied !== 0) break;
    for (const [v] of views) {
      for (let i = 0; i < v.length; i += P) {
        v[i] = v[i] + 1;
        touched++;
      }
    }
  }
  views = [];
  return { weaker, attachedOverDenied, touched };
}

function emptyMode(): Record<string, unknown> {
  const PAGES = 16;
  const [sub, base] = Vmar.root().allocate(0, PAGES * P, CAN);
  const vmo = Vmo.create(PAGES * P);
  const model = new Array<number>(PAGES).fill(0); // 0 unmapped, else perms
  let mismatches = 0;
  let emptied = 0;
  const mappings: Mapping[] = [];
  for (let step = 0; step < 1500; step++) {
    const page = rnd(PAGES);
    const pages = 1 + rnd(Math.min(4, PAGES - page));
    const op = rnd(7);
    if (op < 3) {
      const perms = rnd(2) ? RW : R;
      if (
        attempt(() => {
          sub.map(page * P, vmo, page * P, pages * P, perms | VmarFlags.SPECIFIC);
        })
      ) { for (let i = page; i < page + pages; i++) model[i] = perms; }
    } else if (op < 5) {
      if (attempt(() => sub.unmap(base + page * P, pages * P))) {
        for (let i = page; i < page + pages; i++) model[i] = 0;
      }
    } else if (op < 6) {
      // Unmap everything: the list goes empty.
      sub.unmap(base, PAGES * P);
      model.fill(0);
      emptied++;
    } else {
      // Mapping.allocate beside it, in the root (the one-call path), then closed.
      const [m, v] = Mapping.allocate(P * (1 + rnd(3)));
      m.writeAt(0, new Uint8Array([step & 0xff]));
      if (v.readToArray(0, 1)[0] !== (step & 0xff)) mismatches++;
      mappings.push(m);
      v.close();
      if (mappings.length > 8) mappings.shift()!.close();
    }
    const seen = new Array<number>(PAGES).fill(0);
    for (const e of sub.infoMaps()) {
      if (e.type !== MapInfoType.MAPPING) continue;
      for (let a = e.base; a < e.base + e.size; a += P) {
        seen[(a - base) / P] = e.mapping!.mmuFlags & RW;
      }
    }
    if (seen.join() !== model.join()) mismatches++;
    if (treeVersusKernel(sub.infoMaps()).length !== 0) mismatches++;
  }
  for (const m of mappings) m.close();
  sub.destroy();
  vmo.close();
  return { mismatches, emptied, refused };
}

const mode = Deno.args[0];
const result = mode === "root"
  ? rootMode()
  : mode === "protect"
  ? await protectMode()
  : emptyMode();
console.log(JSON.stringify({ mode, ...result }));
