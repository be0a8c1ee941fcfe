/**
 * Child for write_through.test.ts: attacks on issue 9's `writeAt` write-through
 * (`src/mapping/window.ts` `Window.writeThrough`: a permission lease instead of a view, and a
 * `process_vm_writev` through a scratch buffer) over memory that cannot be viewed (a mapped
 * regular file, a resizable VMO). A fault exits 139; otherwise the last stdout line is a JSON
 * report. Modes (`Deno.args[0]`):
 *
 * - `reuse`: a window's memory unmapped (and, separately, overwritten with
 *   `SPECIFIC_OVERWRITE`), another VMO mapped `SPECIFIC` at the same address; a late `writeAt`
 *   must not land in it. Also for a `Mapping` closed and its address reused in the root.
 * - `protect`: `writeAt` after a protect to read-only (whole and one page of two): refused with
 *   `ACCESS_DENIED`, nothing written; after protecting back, written again.
 * - `truncate <path>`: the file is truncated and grown by another process (the parent) while
 *   this one writes and reads through a mapping of it; also a resizable VMO shrunk and grown
 *   under its mapping.
 */

import {
  PAGE_SIZE as P,
  SharedBuffer,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  VmoOptions,
  ZxError,
} from "../../mod.ts";

const R = VmarFlags.PERM_READ;
const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const CAN = VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC;

function status(fn: () => unknown): string | number {
  try {
    fn();
    return "ok";
  } catch (e) {
    if (e instanceof ZxError) return e.status;
    throw e;
  }
}

function fileVmo(pages: number): [Vmo, string] {
  const path = Deno.makeTempFileSync();
  return [Vmo.fromFile(path, { writable: true, size: pages * P }), path];
}

function reuse(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const how of ["unmap", "overwrite", "destroy"]) {
    let [sub, base] = Vmar.root().allocate(0, 4 * P, CAN);
    const [file, path] = fileVmo(2);
    sub.map(0, file, 0, 2 * P, RW | VmarFlags.SPECIFIC);
    const sb = SharedBuffer.fromRange(sub, base, 2 * P);
    out[`${how}:first`] = sb.writeAt(0, new Uint8Array([1]));
    out[`${how}:fileHas`] = file.readToArray(0, 1)[0];
    const other = Vmo.create(2 * P);
    if (how === "unmap") {
      sub.unmap(base, 2 * P);
      sub.map(0, other, 0, 2 * P, RW | VmarFlags.SPECIFIC);
    } else if (how === "overwrite") {
      sub.map(0, other, 0, 2 * P, RW | VmarFlags.SPECIFIC_OVERWRITE);
    } else {
      // The whole sub-VMAR destroyed, a new one made at the same address.
      sub.destroy();
      const root = Vmar.root();
      [sub, base] = root.allocate(base - root.info().base, 4 * P, CAN | VmarFlags.SPECIFIC);
      sub.map(0, other, 0, 2 * P, RW | VmarFlags.SPECIFIC);
    }
    out[`${how}:late`] = status(() => sb.writeAt(0, new Uint8Array([9])));
    out[`${how}:otherHas`] = other.readToArray(0, 1)[0];
    sub.destroy();
    other.close();
    file.close();
    Deno.removeSync(path);
  }
  // A root map of a file (the one-call mmap(NULL) path), unmapped; its address mapped again
  // SPECIFIC with another VMO.
  const root = Vmar.root();
  const rootBase = root.info().base;
  const [file, path] = fileVmo(1);
  const addr = root.map(0, file, 0, P, RW);
  const sb = SharedBuffer.fromRange(root, addr, P);
  sb.writeAt(0, new Uint8Array([1]));
  root.unmap(addr, P);
  const other = Vmo.create(P);
  const mapped = status(() => root.map(addr - rootBase, other, 0, P, RW | VmarFlags.SPECIFIC));
  out["root:remapped"] = mapped;
  out["root:late"] = status(() => sb.writeAt(0, new Uint8Array([9])));
  out["root:otherHas"] = other.readToArray(0, 1)[0];
  if (mapped === "ok") root.unmap(addr, P);
  other.close();
  file.close();
  Deno.removeSync(path);
  return out;
}

function protect(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kind of ["file", "resizable"]) {
    const [sub, base] = Vmar.root().allocate(0, 2 * P, CAN);
    const [vmo, path] = kind === "file"
      ? fileVmo(2)
      : [Vmo.create(2 * P, VmoOptions.RESIZABLE), null];
    sub.map(0, vmo, 0, 2 * P, RW | VmarFlags.SPECIFIC);
    const sb = SharedBuffer.fromRange(sub, base, 2 * P);
    out[`${kind}:viewable`] = status(() => sb.bytes());
    out[`${kind}:first`] = sb.writeAt(0, new Uint8Array([1]));
    sub.protect(base, 2 * P, R);
    out[`${kind}:readOnly`] = status(() => sb.writeAt(0, new Uint8Array([2])));
    sub.protect(base, 2 * P, RW);
    out[`${kind}:again`] = status(() => sb.writeAt(0, new Uint8Array([3])));
    sub.protect(base + P, P, R);
    out[`${kind}:halfReadOnly`] = status(() => sb.writeAt(P - 2, new Uint8Array([4, 4, 4, 4])));
    out[`${kind}:firstPageStill`] = status(() => sb.writeAt(0, new Uint8Array([5])));
    out[`${kind}:bytes`] = [...vmo.readToArray(0, 1), ...vmo.readToArray(P - 2, 4)];
    sub.destroy();
    vmo.close();
    if (path !== null) Deno.removeSync(path);
  }
  return out;
}

async function truncate(path: string): Promise<Record<string, unknown>> {
  const file = Vmo.fromFile(path, { writable: true });
  const root = Vmar.root();
  const addr = root.map(0, file, 0, 16 * P, RW);
  const m = SharedBuffer.fromRange(root, addr, 16 * P);
  // The parent starts cutting the file only now, after the VMO took the file's full size.
  Deno.writeTextFileSync(path + ".ready", "");
  const statuses: Record<string, number> = {};
  let ok = 0;
  const src = new Uint8Array(100).fill(7);
  const dst = new Uint8Array(100);
  const until = Date.now() + 1500;
  let i = 0;
  while (Date.now() < until) {
    const at = (i++ * 4099) % (16 * P - 100);
    for (const op of [() => m.writeAt(at, src), () => m.readAt(at, dst)]) {
      const s = status(op);
      if (s === "ok") ok++;
      else statuses[s] = (statuses[s] ?? 0) + 1;
    }
    if (i % 200 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  root.unmap(addr, 16 * P);
  file.close();
  // A resizable VMO shrunk and grown under its mapping.
  const vmo = Vmo.create(4 * P, VmoOptions.RESIZABLE);
  const raddr = root.map(0, vmo, 0, 4 * P, RW);
  const r = SharedBuffer.fromRange(root, raddr, 4 * P);
  r.writeAt(3 * P, new Uint8Array([1]));
  vmo.setSize(P);
  const shrunk = status(() => r.writeAt(3 * P, new Uint8Array([2])));
  vmo.setSize(4 * P);
  const grown = status(() => r.writeAt(3 * P, new Uint8Array([3])));
  const byte = vmo.readToArray(3 * P, 1)[0];
  root.unmap(raddr, 4 * P);
  vmo.close();
  return { ok, statuses, writes: i, shrunk, grown, byte };
}

const mode = Deno.args[0];
const result = mode === "reuse" ? reuse() : mode === "protect" ? protect() : await truncate(
  Deno.args[1],
);
console.log(JSON.stringify({ mode, ...result, OUT_OF_RANGE: Status.OUT_OF_RANGE }));
