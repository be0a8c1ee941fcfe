/**
 * Run by tests/mapping/hardening.test.ts in a child `deno run --allow-ffi --allow-read
 * --allow-write`: memory that someone else cuts short under a mapping. `Deno.args[0]` picks the
 * case:
 *
 * - `file`: a file VMO mapped with `Vmar.map`, then the file is rewritten shorter with Deno's
 *   own file API, then every SharedBuffer access over the cut pages.
 * - `peer`: a memfd adopted through a read-only fd, without seals, then shrunk through the
 *   writable fd a "peer" kept.
 *
 * Prints one JSON line with the statuses seen; it must get there (a fault exits 139 or 135).
 *
 * @module
 */

import {
  PAGE_SIZE as P,
  SharedBuffer,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  ZxError,
} from "../../../mod.ts";
import { cstr, sys as c } from "../../_support/libc.ts";

const root = Vmar.root();
const seen: Record<string, string> = {};
function status(name: string, fn: () => unknown): void {
  try {
    const value = fn();
    seen[name] = `ok ${String(value).slice(0, 40)}`;
  } catch (e) {
    seen[name] = e instanceof ZxError
      ? Object.keys(Status).find((k) => Status[k as keyof typeof Status] === e.status)!
      : `NOT ZxError: ${e}`;
  }
}

let vmo: Vmo;
let cut: () => void;
if (Deno.args[0] === "file") {
  const path = Deno.makeTempFileSync();
  Deno.writeFileSync(path, new Uint8Array(3 * P).fill(7));
  vmo = Vmo.fromFile(path, { writable: true });
  cut = () => Deno.writeTextFileSync(path, "short");
} else {
  const rw = c.memfd_create(cstr("peer"), 1);
  c.ftruncate(rw, BigInt(3 * P));
  const ro = c.open(cstr(`/proc/self/fd/${rw}`), 0o2000000, 0);
  vmo = Vmo.unsafeFromFd(ro);
  cut = () => c.ftruncate(rw, 0n);
}
const perms = Deno.args[0] === "file"
  ? VmarFlags.PERM_READ | VmarFlags.PERM_WRITE
  : VmarFlags.PERM_READ;
const addr = root.map(0, vmo, 0, 3 * P, perms);
const buffer = SharedBuffer.fromRange(root, addr, 3 * P);
status("bytes before", () => buffer.bytes().length);
status("read before", () => buffer.readU8(2 * P));
cut();
for (let round = 0; round < 1000; round++) {
  status("readU8", () => buffer.readU8(2 * P));
  status("readU64", () => buffer.readU64(2 * P + 8));
  status("readAt", () => buffer.readAt(P, new Uint8Array(100)));
  status("readAt whole", () => buffer.readAt(0, new Uint8Array(3 * P)));
  status("writeU8", () => buffer.writeU8(2 * P, 1));
  status("writeAt", () => buffer.writeAt(P, new Uint8Array(100)));
  status("bytes", () => buffer.bytes().length);
  status("int32View", () => buffer.int32View(0, 4).length);
  status("readMemory", () => root.readMemory(addr + 2 * P, new Uint8Array(8)));
}
status("vmo.read", () => vmo.readToArray(2 * P, 4)[0]);
console.log(JSON.stringify({ survived: true, seen }));
