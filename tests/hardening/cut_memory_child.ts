/**
 * Child of cut_memory.test.ts (issue 8 §4): a RESIZABLE VMO's memfd is unsealed, so anyone of
 * the same user can open it through /proc/<pid>/fd/<n> and truncate it. `Deno.args[0]` picks
 * who cuts it:
 *
 * - `deno-open`: this process, with `Deno.openSync("/proc/self/fd/<n>")` and `truncateSync(0)`
 *   (needs --allow-all, as Deno's file APIs refuse /proc otherwise).
 * - `libc-open`: this process, with libc `open` of /proc/self/fd/<n> and `ftruncate`.
 * - `other-process`: `truncate -s 0 /proc/<pid>/fd/<n>` run as a child process.
 * - `shrink-half`: as `libc-open`, to half the size (the cut lands mid-mapping).
 * - `set-size`: the owner itself, `vmo.setSize` to half the size (the same rule: no view of a
 *   resizable VMO was given, so there is nothing to detach).
 *
 * The child asks for every zero-copy view the library offers (`bytes()`, `int32View()`,
 * `bigInt64View()`, a mutable slice's `bytes()`) before the cut, then touches whatever it was
 * given, then makes every copying call. It prints `RESULT {json}` with the status of each
 * call; a view that is given and then cut is a SIGBUS (135).
 *
 * @module
 */

import {
  PAGE_SIZE as P,
  SharedBuffer,
  Vmar,
  VmarFlags,
  Vmo,
  VmoOptions,
  ZxError,
} from "../../mod.ts";
import { cstr, O_RDWR, sys as c } from "../_support/libc.ts";
import { readLink, report } from "./_util.ts";
import { openFileLimit } from "../../ffi/file.ts";

const attack = Deno.args[0];
const root = Vmar.root();
const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const SIZE = 4 * P;

/** The memfd numbers of this process, read with readlink through FFI. */
function memfds(): Set<number> {
  const out = new Set<number>();
  // Every number up to the fd limit: vmo keeps its memfds near the top (issue 9).
  const limit = openFileLimit() || 4096;
  for (let fd = 0; fd < limit; fd++) {
    if (readLink(`/proc/self/fd/${fd}`)?.startsWith("/memfd:")) out.add(fd);
  }
  return out;
}

const seen: Record<string, string> = {};
function status(name: string, fn: () => unknown): unknown {
  // The last TRY line on stderr names the call that faulted, if one does.
  if (!(name in seen)) console.error(`TRY ${name}`);
  try {
    const value = fn();
    seen[name] = "ok";
    return value;
  } catch (e) {
    seen[name] = e instanceof ZxError ? String(e.status) : `not a ZxError: ${e}`;
    return undefined;
  }
}

const before = memfds();
const vmo = Vmo.create(SIZE, VmoOptions.RESIZABLE);
const fd = [...memfds()].find((n) => !before.has(n));
if (fd === undefined) throw new Error("cannot find the VMO's memfd");
vmo.write(new Uint8Array(SIZE).fill(7), 0);
const addr = root.map(0, vmo, 0, SIZE, RW);
const buffer = SharedBuffer.fromRange(root, addr, SIZE);

const views: ArrayBufferView[] = [];
function keep(v: unknown): void {
  if (ArrayBuffer.isView(v)) views.push(v);
}
keep(status("bytes", () => buffer.bytes()));
keep(status("int32View", () => buffer.int32View(0, 4)));
keep(status("bigInt64View", () => buffer.bigInt64View(0, 2)));
keep(status("slice bytes", () => buffer.sliceMut(P, 3 * P).bytes()));

const newSize = attack === "shrink-half" ? SIZE / 2 : 0;
if (attack === "deno-open") {
  const file = Deno.openSync(`/proc/self/fd/${fd}`, { read: true, write: true });
  file.truncateSync(0);
  file.close();
} else if (attack === "libc-open" || attack === "shrink-half") {
  const other = c.open(cstr(`/proc/self/fd/${fd}`), O_RDWR, 0);
  if (other < 0 || c.ftruncate(other, BigInt(newSize)) !== 0) throw new Error("cut failed");
  c.close(other);
} else if (attack === "other-process") {
  const out = new Deno.Command("truncate", {
    args: ["-s", "0", `/proc/${Deno.pid}/fd/${fd}`],
  }).outputSync();
  if (!out.success) throw new Error(`truncate failed: ${new TextDecoder().decode(out.stderr)}`);
} else if (attack === "set-size") {
  vmo.setSize(SIZE / 2);
} else {
  throw new Error(`unknown attack ${attack}`);
}

// Copies must bounce off the cut; views, if any were given, are touched last.
for (let round = 0; round < 100; round++) {
  status("readAt", () => buffer.readAt(0, new Uint8Array(SIZE)));
  status("readAt tail", () => buffer.readAt(SIZE - 8, new Uint8Array(8)));
  status("readU8", () => buffer.readU8(SIZE - 1));
  status("writeAt", () => buffer.writeAt(SIZE - P, new Uint8Array(16)));
  status("writeU32", () => buffer.writeU32(SIZE - 4, 1));
  status("readMemory", () => root.readMemory(addr + SIZE - P, new Uint8Array(P)));
  status("writeMemory", () => root.writeMemory(addr + SIZE - P, new Uint8Array(8)));
  status("vmo.read", () => vmo.read(new Uint8Array(8), SIZE - 8));
  status("later bytes", () => buffer.bytes().length);
}
// Vmo.read/write of a large range (where a sealed memfd would copy through an internal
// mapping) of a resizable VMO cut to nothing: pread/pwrite, never a fault.
const BIG = 256 * 1024;
const big = Vmo.create(BIG, VmoOptions.RESIZABLE);
big.write(new Uint8Array(BIG).fill(3), 0);
status("big vmo.read before", () => big.read(new Uint8Array(BIG), 0));
const bigFd = big.unsafeDupFd();
if (c.ftruncate(bigFd, 0n) !== 0) throw new Error("cut failed");
c.close(bigFd);
const back = new Uint8Array(BIG).fill(1);
status("big vmo.read", () => big.read(back, 0));
seen["big vmo.read zeros"] = String(back.every((b) => b === 0));
status("big vmo.write", () => big.write(new Uint8Array(BIG).fill(4), 0));
report({ attack, seen, viewsGiven: views.length });
let sum = 0;
for (const v of views) {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  for (let i = 0; i < bytes.length; i += 512) sum += bytes[i];
}
report({ attack, seen, viewsGiven: views.length, viewsTouched: true, sum });
