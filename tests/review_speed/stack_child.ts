/**
 * Child for stack.test.ts: issue 9's fast paths near the JavaScript stack's limit, after a
 * warm-up long enough for the optimising compiler (the headroom probe became one wide frame
 * built with `new Function`, `src/vmar/headroom.ts`). A `RangeError` thrown between a system
 * call and the tree update that records it would leave kernel and tree apart. Mode
 * `Deno.args[0]`:
 *
 * - `map`: the root's one-call `mmap(NULL)` map at every frame depth near the limit; then the
 *   kernel's mappings of the VMO's memfd (by inode) must be exactly the maps that returned.
 * - `allocate`: `Mapping.allocate` and `close` (of both) near the limit; then no memfd or
 *   memfd mapping is left over.
 *
 * The last stdout line is a JSON report.
 */

import { Mapping, PAGE_SIZE as P, Vmar, VmarFlags, Vmo, ZxError } from "../../mod.ts";
import { vmoObjectOf } from "../../src/vmo/vmo.ts";
import { fstat } from "../../ffi/file.ts";
import { countMemfdMappings, countMemfds, mapsLines } from "../_support/proc.ts";
import { treeVersusKernel } from "../hardening/_util.ts";

const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const counts: Record<string, number> = { ok: 0, rangeError: 0, zxError: 0, rounds: 0 };

/** Runs `op` once per frame while unwinding from the stack's limit, 16 frame widths. */
function nearStackLimit(op: () => void, budget: number): void {
  let calm = 0;
  function attempt(): void {
    if (budget <= 0 || calm > 8) return;
    budget--;
    try {
      op();
      counts.ok++;
      calm++;
    } catch (e) {
      if (e instanceof RangeError) counts.rangeError++;
      else if (e instanceof ZxError) counts.zxError++;
      else throw e;
      calm = 0;
    }
  }
  function dive(..._pad: unknown[]): void {
    try {
      dive(..._pad);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
    attempt();
  }
  for (let pad = 0; pad < 16 && budget > 0; pad++) {
    calm = 0;
    counts.rounds++;
    dive(...new Array(pad).fill(0));
  }
}

function mapMode(): Record<string, unknown> {
  const root = Vmar.root();
  const vmo = Vmo.create(3 * P);
  const ino = Number(fstat(vmoObjectOf(vmo).backing.fd)!.ino);
  for (let i = 0; i < 30_000; i++) root.unmap(root.map(0, vmo, 0, 3 * P, RW), 3 * P);
  // Stored by index into a packed array: no call after map returns, so no RangeError of this
  // code's own can lose an address.
  const slots: number[] = new Array(3000).fill(0);
  let n = 0;
  nearStackLimit(() => {
    const addr = root.map(0, vmo, 0, 3 * P, RW);
    slots[n] = addr;
    n++;
  }, 3000);
  const returned = slots.slice(0, n);
  const kernel: number[] = [];
  for (const line of mapsLines()) {
    const f = line.split(/\s+/);
    if (Number(f[4]) !== ino) continue;
    const [s, e] = f[0].split("-").map((h) => parseInt(h, 16));
    for (let a = s; a < e; a += 3 * P) kernel.push(a);
  }
  // What the tree holds of the VMO: a map that returned no address (a RangeError in the
  // caller's own code after it) is still in the tree and unmapped by address below.
  const koid = vmoObjectOf(vmo).koid;
  const tree: number[] = [];
  for (const e of root.infoMaps()) {
    if (e.type !== 3 || e.mapping?.vmoKoid !== koid) continue;
    for (let a = e.base; a < e.base + e.size; a += 3 * P) tree.push(a);
  }
  const inTree = new Set(tree);
  const notInTree = kernel.filter((a) => !inTree.has(a)).length;
  const notInKernel = tree.length - kernel.filter((a) => inTree.has(a)).length;
  const want = new Set(returned);
  const untracked = kernel.filter((a) => !want.has(a)).length;
  const missing = returned.length - kernel.filter((a) => want.has(a)).length;
  for (const a of tree) root.unmap(a, 3 * P);
  vmo.close();
  return { counts, returned: returned.length, untracked, missing, notInTree, notInKernel };
}

/**
 * Non-specific maps in a sub-VMAR near the limit (placed by the span list's gap tree, which a
 * `RangeError` inside `SpanList.insert` could leave stale), then the sub-VMAR filled to the
 * brim normally: tree and kernel agree, no two mappings overlap, every page is used once.
 */
function subMode(): Record<string, unknown> {
  const PAGES = 2048;
  const [sub] = Vmar.root().allocate(
    0,
    PAGES * P,
    VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC,
  );
  const vmo = Vmo.create(P);
  for (let i = 0; i < 20_000; i++) sub.unmap(sub.map(0, vmo, 0, P, RW), P);
  nearStackLimit(() => {
    sub.map(0, vmo, 0, P, RW);
  }, 1500);
  let filled = 0;
  for (;;) {
    try {
      sub.map(0, vmo, 0, P, RW);
      filled++;
    } catch (e) {
      if (e instanceof ZxError) break;
      throw e;
    }
  }
  const maps = sub.infoMaps().filter((e) => e.type === 3).sort((a, b) => a.base - b.base);
  let overlaps = 0;
  let pages = 0;
  for (let i = 0; i < maps.length; i++) {
    pages += maps[i].size / P;
    if (i > 0 && maps[i].base < maps[i - 1].base + maps[i - 1].size) overlaps++;
  }
  const problems = treeVersusKernel(sub.infoMaps());
  sub.destroy();
  vmo.close();
  return { counts, filled, overlaps, pages, PAGES, problems: problems.slice(0, 5) };
}

async function allocateMode(): Promise<Record<string, unknown>> {
  for (let i = 0; i < 20_000; i++) {
    const [m, v] = Mapping.allocate(P);
    m.close();
    v.close();
  }
  const fds = countMemfds();
  const maps = countMemfdMappings();
  // Kept by index (no call after allocate returns) and closed at the end, on a normal stack:
  // what is left over then was lost inside the library.
  const slots: [Mapping, Vmo][] = new Array(3000).fill(null);
  let n = 0;
  nearStackLimit(() => {
    const pair = Mapping.allocate(P);
    slots[n] = pair;
    n++;
  }, 3000);
  for (let i = 0; i < n; i++) {
    slots[i][0].close();
    slots[i][1].close();
  }
  const left = { memfdsLeft: countMemfds() - fds, mappingsLeft: countMemfdMappings() - maps };
  // What the garbage collector can still reclaim (a Mapping's backstop), with --expose-gc.
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 10 && gc !== undefined; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    counts,
    ...left,
    memfdsAfterGc: countMemfds() - fds,
    mappingsAfterGc: countMemfdMappings() - maps,
  };
}

/**
 * Run with `--disallow-code-generation-from-strings`: the import above worked (the headroom
 * probe fell back to plain frames), a Mapping and a root map work, and maps near the limit
 * leave nothing untracked.
 */
function noevalMode(): Record<string, unknown> {
  let evalRefused = false;
  try {
    new Function("return 1");
  } catch (e) {
    evalRefused = e instanceof EvalError;
  }
  const [m, v] = Mapping.allocate(P);
  m.writeU8(0, 7);
  const addr = Vmar.root().map(0, v, 0, P, RW);
  const seen = new Uint8Array(1);
  Vmar.root().readMemory(addr, seen);
  Vmar.root().unmap(addr, P);
  const read = [m.readU8(0), seen[0]];
  m.close();
  v.close();
  return { evalRefused, read, ...mapMode() };
}

const mode = Deno.args[0];
const modes: Record<string, () => Record<string, unknown> | Promise<Record<string, unknown>>> = {
  map: mapMode,
  sub: subMode,
  allocate: allocateMode,
  noeval: noevalMode,
};
console.log(JSON.stringify({ mode, ...(await modes[mode]()) }));
