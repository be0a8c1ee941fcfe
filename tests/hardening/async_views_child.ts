/**
 * Child of async_views.test.ts (issue 8 §1): a view of vmo memory handed to a runtime op that
 * runs on another thread, then the memory leaves the user while the op still holds it.
 * `Deno.args[0]` names the attack; the child prints `RESULT {json}` and exits 0 when it
 * survives. A fault kills it (139 SIGSEGV, 135 SIGBUS); silent corruption shows as a changed
 * checksum of a victim VMO mapped afterwards.
 *
 * Attacks:
 * - `pbkdf2-{close,unmap,protect}`: node:crypto `pbkdf2` reading the view (as salt, read once
 *   per output block, so for the whole run) while the mapping is closed / unmapped /
 *   protected to nothing.
 * - `pbkdf2-password-close`: the same with the view as the password.
 * - `pbkdf2-close-reuse`: fresh VMOs mapped first-fit right after the close.
 * - `pbkdf2-shrink`: the same on a view of a RESIZABLE VMO shrunk to 0 (`setSize(0)`).
 * - `scrypt-{shrink,close,unmap,protect}`: `scrypt` with the password on the view (read at
 *   the start and again at the end) while the memory is cut the same ways.
 *   For `shrink`, a refused view (issue 8 §4: NOT_SUPPORTED) also defeats the attack.
 * - `{tcp,unix}-{close,unmap,specific,sub}`: a socket `read(view)` pending, the range
 *   unmapped, another VMO mapped SPECIFIC at the same address in the same VMAR (or, if that is
 *   refused, wherever first-fit puts it), then the peer writes: the other VMO must keep its
 *   bytes. `close` is a `Mapping`, `unmap` a first-fit root map, `specific` a root map placed
 *   SPECIFIC, `sub` a SPECIFIC map in a sub-VMAR.
 * - `fifo-self`, `fifo-child`: the same with `Deno.FsFile.read(view)` on a FIFO, written by
 *   this process or by a child `sh`.
 * - `churn-{mapping,root}`: 10,000 map/view/unmap cycles; prints /proc/self/maps line count
 *   and mapped bytes before and after.
 *
 * @module
 */

import crypto from "node:crypto";
import {
  Mapping,
  PAGE_SIZE as P,
  SharedBuffer,
  Vmar,
  VmarFlags,
  Vmo,
  VmoOptions,
  ZxError,
} from "../../mod.ts";
import { libc } from "../_support/libc.ts";
import { checksum, pattern, procMaps, report } from "./_util.ts";

const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const root = Vmar.root();
const base = root.info().base;
const attack = Deno.args[0];
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statusOf(e: unknown): string {
  return e instanceof ZxError ? `ZxError ${e.status}` : `${(e as Error)?.name}: ${e}`;
}

/** A read-write view of `len` bytes, a way to take the memory away, and the VMAR it was in. */
interface Target {
  view: Uint8Array;
  addr: number;
  cut: () => void;
  /** Maps `vmo` SPECIFIC at the target's address, in the target's VMAR. */
  remap: (vmo: Vmo) => number;
}

/** A free root address for `len` bytes: a sub-VMAR's, destroyed again. */
function freeRootAddress(len: number): number {
  const [probe, addr] = root.allocate(0, len, VmarFlags.CAN_MAP_READ);
  probe.destroy();
  probe.close();
  return addr;
}

function makeView(len: number, cut: string): Target {
  const remapIn = (vmar: Vmar, addr: number) => (vmo: Vmo) =>
    vmar.map(addr - vmar.info().base, vmo, 0, len, RW | VmarFlags.SPECIFIC);
  if (cut === "close") {
    const [mapping, vmo] = Mapping.allocate(len);
    vmo.close();
    const addr = mapping.addr;
    return { view: mapping.bytes(), addr, cut: () => mapping.close(), remap: remapIn(root, addr) };
  }
  if (cut === "sub") {
    // A sub-VMAR of the caller's own: SPECIFIC placement there is the caller's right.
    const [sub] = root.allocate(
      0,
      4 * len,
      VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC,
    );
    const vmo = Vmo.create(len);
    const addr = sub.map(len, vmo, 0, len, RW | VmarFlags.SPECIFIC);
    vmo.close();
    const view = SharedBuffer.fromRange(sub, addr, len).bytes();
    return { view, addr, cut: () => sub.unmap(addr, len), remap: remapIn(sub, addr) };
  }
  if (cut === "shrink") {
    // A view of a RESIZABLE VMO (issue 8 §4 may refuse it: the caller reports that).
    const vmo = Vmo.create(len, VmoOptions.RESIZABLE);
    const addr = root.map(0, vmo, 0, len, RW);
    const view = SharedBuffer.fromRange(root, addr, len).bytes();
    return { view, addr, cut: () => vmo.setSize(0), remap: remapIn(root, addr) };
  }
  const vmo = Vmo.create(len);
  const addr = cut === "specific"
    ? root.map(freeRootAddress(len) - base, vmo, 0, len, RW | VmarFlags.SPECIFIC)
    : root.map(0, vmo, 0, len, RW);
  vmo.close();
  const view = SharedBuffer.fromRange(root, addr, len).bytes();
  const remap = remapIn(root, addr);
  if (cut === "unmap" || cut === "specific") {
    return { view, addr, cut: () => root.unmap(addr, len), remap };
  }
  if (cut === "protect") return { view, addr, cut: () => root.protect(addr, len, 0), remap };
  throw new Error(`unknown cut ${cut}`);
}

/** {@linkcode makeView}, or undefined once a refusal to make it has been reported. */
function viewOrRefusal(len: number, cut: string): Target | undefined {
  try {
    return makeView(len, cut);
  } catch (e) {
    report({ attack, refused: statusOf(e) });
    return undefined;
  }
}

/** Maps `count` fresh VMOs first-fit and returns them: the likely next users of a freed range. */
function reuse(count: number, len: number): Vmo[] {
  const out: Vmo[] = [];
  for (let i = 0; i < count; i++) {
    const vmo = Vmo.create(len);
    vmo.write(pattern(len, 100 + i), 0);
    root.map(0, vmo, 0, len, RW);
    out.push(vmo);
  }
  return out;
}

async function pbkdf2(cut: string, asPassword: boolean, withReuse: boolean): Promise<void> {
  const len = 16 * P;
  const target = viewOrRefusal(len, cut);
  if (target === undefined) return;
  target.view.set(pattern(len, 7));
  const other = new Uint8Array(32).fill(1);
  const started = performance.now();
  const done = new Promise<string>((resolve) => {
    crypto.pbkdf2(
      asPassword ? target.view : other,
      asPassword ? other : target.view,
      asPassword ? 200_000 : 30,
      asPassword ? 64 : 20 * 8000,
      "sha1",
      (err, key) => resolve(err ? `error ${err.message}` : `key ${key.length}`),
    );
  });
  await delay(5);
  target.cut();
  // `-reuse` attacks map fresh VMOs first-fit right away (the freed range's likely next owners).
  const victims = withReuse ? reuse(8, len) : [];
  const outcome = await done;
  report({ attack, outcome, ms: Math.round(performance.now() - started), victims: victims.length });
}

/** `scrypt` reads its password at the start and again at the end (the final PBKDF2). */
async function scrypt(cut: string): Promise<void> {
  const len = 4 * P;
  const target = viewOrRefusal(len, cut);
  if (target === undefined) return;
  target.view.set(pattern(len, 3));
  const done = new Promise<string>((resolve) => {
    crypto.scrypt(
      target.view,
      "salt",
      64,
      { N: 1 << 15, r: 8, p: 1, maxmem: 256 << 20 },
      (err, key) => resolve(err ? `error ${err.message}` : `key ${key.length}`),
    );
  });
  await delay(5);
  target.cut();
  const outcome = await done;
  report({ attack, outcome });
}

/** A pending read into the view, the memory cut, a victim at the same address, a late write. */
async function lateWrite(
  kind: string,
  cut: string,
  start: (view: Uint8Array) => Promise<{ pending: Promise<unknown>; write: () => Promise<void> }>,
): Promise<void> {
  const len = 4 * P;
  const target = makeView(len, cut);
  const { pending, write } = await start(target.view);
  await delay(50); // the runtime op is now waiting on another thread with the raw pointer
  target.cut();
  const victim = Vmo.create(len);
  const before = pattern(len, 11);
  victim.write(before, 0);
  let placement: string;
  const victims = [victim];
  try {
    const at = target.remap(victim);
    placement = at === target.addr ? "specific" : `specific elsewhere ${at}`;
  } catch (e) {
    // Refused explicitly: then first-fit must not hand the range out either, but try.
    placement = `specific refused (${statusOf(e)}: ${(e as Error).message.slice(0, 80)})`;
    for (let i = 0; i < 16; i++) {
      const v = Vmo.create(len);
      v.write(before, 0);
      if (root.map(0, v, 0, len, RW) === target.addr) placement += `; first-fit reused it`;
      victims.push(v);
    }
  }
  await write();
  let outcome: string;
  try {
    outcome = `read ${await pending}`;
  } catch (e) {
    outcome = `rejected ${statusOf(e)}`;
  }
  await delay(50);
  const sum = checksum(before);
  const changed = victims.filter((v) => checksum(v.readToArray(0, len)) !== sum).length;
  report({ attack, kind, placement, outcome, victims: victims.length, changed });
}

const payload = new Uint8Array(4 * P).fill(0xaa);

async function socket(transport: "tcp" | "unix", cut: string): Promise<void> {
  const path = transport === "unix" ? Deno.makeTempDirSync() + "/socket" : "";
  const listener = transport === "tcp"
    ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
    : Deno.listen({ transport: "unix", path });
  const client = transport === "tcp"
    ? await Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port })
    : await Deno.connect({ transport: "unix", path });
  const server = await listener.accept();
  await lateWrite(transport, cut, (view) =>
    Promise.resolve({
      pending: server.read(view),
      write: async () => {
        await client.write(payload);
      },
    }));
  client.close();
  server.close();
  listener.close();
  if (path) Deno.removeSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
}

async function fifo(writer: "self" | "child"): Promise<void> {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/fifo`;
  if (libc.mkfifo(path) !== 0) throw new Error("mkfifo");
  await lateWrite(`fifo-${writer}`, "specific", async (view) => {
    if (writer === "self") {
      const [reader, w] = await Promise.all([
        Deno.open(path, { read: true }),
        Deno.open(path, { write: true }),
      ]);
      return {
        pending: reader.read(view).finally(() => reader.close()),
        write: async () => {
          await w.write(payload);
          w.close();
        },
      };
    }
    // The writer is another process: it opens the FIFO, waits, then writes.
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        `exec 3>"$0"; sleep 0.3; head -c ${payload.length} /dev/zero | tr '\\0' '\\252' >&3`,
        path,
      ],
    }).spawn();
    const reader = await Deno.open(path, { read: true });
    return {
      pending: reader.read(view).finally(() => reader.close()),
      write: async () => {
        await child.status;
      },
    };
  });
  Deno.removeSync(dir, { recursive: true });
}

function mapsFigures(): { lines: number; bytes: number } {
  const maps = procMaps();
  let bytes = 0;
  for (const m of maps) bytes += m.end - m.start;
  return { lines: maps.length, bytes };
}

function churn(kind: "mapping" | "root"): void {
  const cycles = 10_000;
  const len = 16 * P;
  const vmo = Vmo.create(len);
  const before = mapsFigures();
  const started = performance.now();
  let sum = 0;
  for (let i = 0; i < cycles; i++) {
    if (kind === "mapping") {
      const mapping = Mapping.createFromVmo(vmo, len, RW);
      const view = mapping.bytes();
      view[i % len] = 1;
      sum += view[0];
      mapping.close();
    } else {
      const addr = root.map(0, vmo, 0, len, RW);
      const view = SharedBuffer.fromRange(root, addr, len).bytes();
      view[i % len] = 1;
      sum += view[0];
      root.unmap(addr, len);
    }
  }
  const ms = performance.now() - started;
  const after = mapsFigures();
  report({
    attack,
    cycles,
    mappingBytes: len,
    linesBefore: before.lines,
    linesAfter: after.lines,
    bytesBefore: before.bytes,
    bytesAfter: after.bytes,
    usPerCycle: Math.round((ms * 1000) / cycles * 10) / 10,
    sum,
  });
}

const [op, variant] = [attack.split("-")[0], attack.split("-").slice(1).join("-")];
if (op === "pbkdf2") {
  const cut = variant.replace("password-", "").replace("-reuse", "");
  await pbkdf2(cut, variant.startsWith("password"), variant.endsWith("-reuse"));
} else if (op === "scrypt") await scrypt(variant);
else if (op === "tcp" || op === "unix") await socket(op, variant);
else if (op === "fifo") await fifo(variant as "self" | "child");
else if (op === "churn") churn(variant as "mapping" | "root");
else throw new Error(`unknown attack ${attack}`);
