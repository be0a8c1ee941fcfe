/**
 * Child of async_views_quarantine.test.ts (issue 8 §1): what quarantine does, seen from the
 * kernel and from the API, and that it ends. Runs with `--v8-flags=--expose-gc` so that it
 * can drop the views and have them collected. `Deno.args[0]` picks the case; the child prints
 * `RESULT {json}`. A late operation is played by a raw pointer (`Deno.UnsafePointerView`) to
 * the old address: reading or writing it faults unless zero pages are there.
 *
 * - `sub`: a view kept, its range unmapped in a sub-VMAR.
 * - `root`: the same in the root.
 * - `destroy`: a sub-VMAR with a viewed mapping destroyed.
 * - `protect`: protect to nothing under a kept view.
 * - `reuse`: the same VMO window mapped again without an address.
 *
 * @module
 */

import { PAGE_SIZE as P, SharedBuffer, Status, Vmar, VmarFlags, Vmo, ZxError } from "../../mod.ts";
import { kernelPieces, report } from "./_util.ts";

const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const SUB = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC;
const root = Vmar.root();
const gc = (globalThis as unknown as { gc: () => void }).gc;
const attack = Deno.args[0];
const len = 4 * P;

function statusOf(fn: () => unknown): number | string {
  try {
    fn();
    return 0;
  } catch (e) {
    return e instanceof ZxError ? e.status : String(e);
  }
}

/** The kernel's protections over [addr, addr + len), e.g. "rw-p" or "---p", or "hole". */
function kernel(addr: number): string {
  const pieces = kernelPieces(addr, addr + len);
  const covered = pieces.reduce((n, p) => n + p.end - p.start, 0);
  if (covered === 0) return "hole";
  return [...new Set(pieces.map((p) => p.perms))].join(",") + (covered < len ? "+hole" : "");
}

/** A late runtime operation: reads then writes the old address through a raw pointer. */
function lateTouch(addr: number): number {
  const raw = new Deno.UnsafePointerView(Deno.UnsafePointer.create(BigInt(addr))!);
  const read = raw.getUint8(0) + raw.getUint8(len - 1);
  new Uint8Array(raw.getArrayBuffer(len)).fill(0xee);
  return read;
}

/** Drops every reference we can, collects, and lets finalization callbacks run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
}

function listed(vmar: Vmar, addr: number): boolean {
  return vmar.infoMaps().some((m) => m.type === 3 && m.base <= addr && addr < m.base + m.size);
}

const vmo = Vmo.create(len);
vmo.write(new Uint8Array(len).fill(7), 0);
const out: Record<string, unknown> = { attack };

if (attack === "sub" || attack === "root" || attack === "destroy") {
  const [sub, subBase] = root.allocate(0, 8 * len, SUB);
  const vmar = attack === "root" ? root : sub;
  const vbase = vmar.info().base;
  let addr = 0;
  // The view lives only inside this block's closure, kept by `hold` until we drop it.
  let hold: Uint8Array | null = null;
  {
    addr = attack === "root"
      ? root.map(0, vmo, 0, len, RW)
      : sub.map(len, vmo, 0, len, RW | VmarFlags.SPECIFIC);
    hold = SharedBuffer.fromRange(vmar, addr, len).bytes();
  }
  if (attack === "destroy") sub.destroy();
  else vmar.unmap(addr, len);
  out.viewLength = hold.length;
  out.kernelAfterCut = kernel(addr);
  out.listed = attack === "destroy" ? false : listed(vmar, addr);
  out.lateRead = lateTouch(addr);
  out.vmoIntact = vmo.readToArray(0, len).every((b) => b === 7);
  if (attack !== "destroy") {
    out.readMemory = statusOf(() => vmar.readMemory(addr, new Uint8Array(1)));
    const other = Vmo.create(len);
    out.specific = statusOf(() => vmar.map(addr - vbase, other, 0, len, RW | VmarFlags.SPECIFIC));
    if (attack === "sub") {
      // First fit skips the range: fill the sub-VMAR and see that none lands on it.
      const placed: number[] = [];
      for (let i = 0; i < 8; i++) {
        try {
          placed.push(sub.map(0, other, 0, len, RW));
        } catch (e) {
          if (!(e instanceof ZxError) || e.status !== Status.NO_RESOURCES) throw e;
        }
      }
      out.firstFitOnIt = placed.filter((a) => a === addr).length;
      out.firstFitPlaced = placed.length;
      for (const a of placed) sub.unmap(a, len);
    }
    other.close();
  }
  hold = null;
  await collect();
  out.kernelAfterGc = kernel(addr);
  if (attack === "sub") {
    const again = Vmo.create(len);
    out.specificAfterGc = statusOf(() => sub.map(len, again, 0, len, RW | VmarFlags.SPECIFIC));
  } else if (attack === "root") {
    const again = Vmo.create(len);
    out.specificAfterGc = statusOf(() =>
      root.map(addr - vbase, again, 0, len, RW | VmarFlags.SPECIFIC)
    );
  }
  void subBase;
} else if (attack === "protect") {
  const addr = root.map(0, vmo, 0, len, RW);
  let hold: Uint8Array | null = SharedBuffer.fromRange(root, addr, len).bytes();
  root.protect(addr, len, 0);
  out.viewLength = hold.length;
  out.readMemory = statusOf(() => root.readMemory(addr, new Uint8Array(1)));
  out.treePerms = root.infoMaps().find((m) => m.base === addr)?.mapping?.mmuFlags;
  out.kernelAfterCut = kernel(addr);
  out.lateRead = lateTouch(addr);
  out.vmoWritten = vmo.readToArray(0, 1)[0];
  hold = null;
  await collect();
  out.kernelAfterGc = kernel(addr);
  root.protect(addr, len, RW);
  out.kernelAfterUp = kernel(addr);
  root.unmap(addr, len);
} else if (attack === "reuse") {
  const addrs: number[] = [];
  const views: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    const addr = root.map(0, vmo, 0, len, RW);
    addrs.push(addr);
    const view = SharedBuffer.fromRange(root, addr, len).bytes();
    view[i] = 40 + i;
    views.push(view);
    root.unmap(addr, len);
  }
  out.sameAddress = addrs.every((a) => a === addrs[0]);
  out.oldViews = views.map((v) => v.length);
  out.vmoBytes = Array.from(vmo.readToArray(0, 3));
  out.kernelAfterCut = kernel(addrs[0]);
} else {
  throw new Error(`unknown attack ${attack}`);
}
report(out);
