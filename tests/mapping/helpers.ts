/**
 * Helpers for the `Mapping` / `SharedBuffer` tests: exact-status assertions, byte patterns,
 * probes of the kernel's state (`/proc/self/maps`, `/proc/self/fd`) and child `deno`
 * processes.
 *
 * The C calls go through a `Deno.dlopen` of their own, so that the probes do not share the
 * FFI layer under test. Deno's file APIs refuse `/proc` without `--allow-all`, hence FFI.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PAGE_SIZE, VmarFlags, ZxError } from "../../mod.ts";
export { type ProcMap, procMaps, readProc } from "../proc.ts";
import { type ProcMap, procMaps } from "../proc.ts";

/** The page size, shorter. */
export const P: number = PAGE_SIZE;
export const R: number = VmarFlags.PERM_READ;
export const W: number = VmarFlags.PERM_WRITE;
export const RW: number = R | W;
/** Largest u64, the "all ones" pattern. */
export const ONES = 0xffff_ffff_ffff_ffffn;

export { assertStatus } from "../helpers.ts";

/** The status `fn` throws, or 0 (OK) when it returns; other errors are rethrown. */
export function statusOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (error) {
    if (error instanceof ZxError) return error.status;
    throw error;
  }
}

/** A deterministic byte pattern of `length` bytes, distinct per `seed`, never all zero. */
export function pattern(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** `length` bytes of `value`. */
export function filled(length: number, value: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(length).fill(value);
}

/** The bytes as a plain array, for `assert.deepEqual` messages that are readable. */
export function arr(bytes: Uint8Array): number[] {
  return [...bytes];
}

// ---------------------------------------------------------------------------------------------
// libc of the tests' own

const c = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
}).symbols;

const O_RDONLY = 0;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const FD_CLOEXEC = 1;

function cstr(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

/** Raw `fcntl` and `close`, for handing an fd to a child process. */
export const libc = {
  fcntl(fd: number, cmd: number, arg = 0): number {
    return c.fcntl(fd, cmd, arg);
  },
  close(fd: number): number {
    return c.close(fd);
  },
};

/** The `/proc/self/maps` lines that overlap `[addr, addr + len)`. */
export function mapsOverlapping(addr: number, len: number): ProcMap[] {
  return procMaps().filter((m) => m.start < addr + len && m.end > addr);
}

/** Whether any memfd (VMO memory) is mapped anywhere in `[addr, addr + len)`. */
export function memfdMappedAt(addr: number, len: number): boolean {
  return mapsOverlapping(addr, len).some((m) => m.path.startsWith("/memfd:"));
}

/** How many lines of `/proc/self/maps` are memfd mappings. */
export function countMemfdMappings(): number {
  return procMaps().filter((m) => m.path.startsWith("/memfd:")).length;
}

const dents = new Uint8Array(32 * 1024);
const linkBuffer = new Uint8Array(4096);

/** What each fd of this process points to, read from `/proc/self/fd`. */
export function listFds(): Map<number, string> {
  const dir = c.open(cstr("/proc/self/fd"), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dir < 0) throw new Error("cannot open /proc/self/fd");
  const names: number[] = [];
  try {
    const view = new DataView(dents.buffer);
    for (;;) {
      const n = Number(c.getdents64(dir, dents, BigInt(dents.length)));
      if (n < 0) throw new Error("getdents64 failed");
      if (n === 0) break;
      for (let pos = 0; pos < n;) {
        const reclen = view.getUint16(pos + 16, true);
        let end = pos + 19;
        while (dents[end] !== 0) end++;
        const name = new TextDecoder().decode(dents.subarray(pos + 19, end));
        if (name !== "." && name !== "..") names.push(Number(name));
        pos += reclen;
      }
    }
  } finally {
    c.close(dir);
  }
  const fds = new Map<number, string>();
  for (const fd of names) {
    if (fd === dir) continue;
    const len = Number(c.readlink(cstr(`/proc/self/fd/${fd}`), linkBuffer, 4096n));
    if (len < 0) continue;
    fds.set(fd, new TextDecoder().decode(linkBuffer.subarray(0, len)));
  }
  return fds;
}

/** How many of this process's fds are memfds (VMO memory). */
export function countMemfds(): number {
  let n = 0;
  for (const target of listFds().values()) if (target.startsWith("/memfd:")) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// child processes

/** The repository root, the working directory of child processes. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** The outcome of a child `deno run`. */
export interface ChildResult {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs `deno run --quiet <flags> <script> <args>` and returns how it ended. A child still
 * running after `timeoutMs` is killed and reported with `timedOut: true`.
 */
export async function runDeno(
  flags: string[],
  script: URL,
  args: string[] = [],
  timeoutMs = 30_000,
): Promise<ChildResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, script.pathname, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  try {
    const out = await child.output();
    return {
      code: out.code,
      signal: out.signal,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Asserts that a child exited normally with status 0 (a fault exits with 139, SIGSEGV/SIGBUS)
 * and returns the JSON object on the last line of its stdout.
 */
export function childJson<T>(result: ChildResult, what: string): T {
  assert.ok(!result.timedOut, `${what}: the child timed out\n${result.stderr}`);
  assert.equal(
    result.code,
    0,
    `${what}: the child exited with ${result.code} (signal ${result.signal}); ` +
      `139 means it faulted\nstdout: ${result.stdout.slice(-2000)}\nstderr: ${
        result.stderr.slice(-2000)
      }`,
  );
  const lines = result.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}
