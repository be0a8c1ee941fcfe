/**
 * The receiving side of tests/channel/rights.test.ts: takes the VMO its parent sent without
 * WRITE, then tries every way to write the memory through raw libc, bypassing the library, and
 * prints one JSON object: each route and "ok" or the errno it failed with. The routes that
 * succeed write the byte 0x77 at offset 0, so the parent can see whether the memory changed.
 */

import { Channel, type Vmo } from "../../mod.ts";

const c = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  fallocate: { parameters: ["i32", "i32", "i64", "i64"], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
}).symbols;
const errnoView = new Deno.UnsafePointerView(c.__errno_location()!);
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_PRIVATE = 2;
const O_RDWR = 2;
const O_CLOEXEC = 0o2000000;
const F_ADD_SEALS = 1033;
const F_SEAL_WRITE = 8;
const MADV_REMOVE = 9;
const FALLOC_FL_KEEP_SIZE = 1;
const FALLOC_FL_ZERO_RANGE = 0x10;
const byte = new Uint8Array([0x77]);

const channel = Channel.fromEnv();
const vmo = (await channel.read()).handles[0] as Vmo;
const report: Record<string, string> = { rights: String(vmo.rights) };
// The library's own refusal comes first.
try {
  vmo.write(byte, 0);
  report["Vmo.write"] = "ok";
} catch (e) {
  report["Vmo.write"] = (e as Error).message.split(":")[0];
}
const fd = vmo.unsafeDupFd(); // the same open file description as the received fd

function route(name: string, ok: boolean): boolean {
  report[name] = ok ? "ok" : `errno ${errnoView.getInt32(0)}`;
  return ok;
}
function mapped(p: Deno.PointerValue): boolean {
  return p !== null && Deno.UnsafePointer.value(p) !== MAP_FAILED;
}
function writeThrough(p: Deno.PointerValue): void {
  new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p!, 4096))[0] = 0x77;
}

function tryAll(prefix: string, f: number): void {
  const p = c.mmap(null, 4096n, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0n);
  if (route(`${prefix} mmap(PROT_WRITE, MAP_SHARED)`, mapped(p))) writeThrough(p);
  route(`${prefix} pwrite`, Number(c.pwrite(f, byte, 1n, 0n)) === 1);
  route(`${prefix} ftruncate`, c.ftruncate(f, 8192n) === 0);
  route(`${prefix} fallocate(PUNCH_HOLE)`, c.fallocate(f, 3, 0n, 4096n) === 0);
  route(
    `${prefix} fallocate(ZERO_RANGE)`,
    c.fallocate(f, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0n, 4096n) === 0,
  );
  const r = c.mmap(null, 4096n, PROT_READ, MAP_SHARED, f, 0n);
  if (mapped(r)) {
    // MADV_REMOVE punches a hole through a mapping: it needs a shared mapping that may write.
    route(
      `${prefix} madvise(MADV_REMOVE) of a PROT_READ mapping`,
      c.madvise(r, 4096n, MADV_REMOVE) === 0,
    );
    if (
      route(`${prefix} mprotect(PROT_WRITE)`, c.mprotect(r, 4096n, PROT_READ | PROT_WRITE) === 0)
    ) {
      writeThrough(r);
    }
  }
  route(`${prefix} F_ADD_SEALS(F_SEAL_WRITE)`, c.fcntl(f, F_ADD_SEALS, F_SEAL_WRITE) === 0);
  const priv = c.mmap(null, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE, f, 0n);
  // A private copy-on-write mapping: writable, but its writes never reach the shared memory.
  if (route(`${prefix} mmap(PROT_WRITE, MAP_PRIVATE)`, mapped(priv))) {
    writeThrough(priv);
    route(
      `${prefix} madvise(MADV_REMOVE) of a private mapping`,
      c.madvise(priv, 4096n, MADV_REMOVE) === 0,
    );
  }
}

tryAll("fd", fd);
const path = new TextEncoder().encode(`/proc/self/fd/${fd}\0`);
const rw = c.open(path, O_RDWR | O_CLOEXEC, 0);
if (route("reopen O_RDWR", rw >= 0)) {
  tryAll("reopened", rw);
  route("reopened write", Number(c.write(rw, byte, 1n)) === 1);
}
// Outside what rights can hold: the sender's own memory through /proc/<ppid>/mem needs ptrace
// access to the sender (root, or the same user under yama ptrace_scope 0). Only opened here.
const mem = c.open(new TextEncoder().encode(`/proc/${Deno.ppid}/mem\0`), O_RDWR | O_CLOEXEC, 0);
if (route("open /proc/<sender>/mem O_RDWR", mem >= 0)) c.close(mem);
console.log(JSON.stringify(report));
