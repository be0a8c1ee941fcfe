/**
 * Shared helpers for the test suite: status assertions, file-descriptor counting through
 * `/proc/self/fd` (Deno's own file APIs refuse `/proc` without `--allow-all`), a handle of a
 * type that is not a VMO, and child `deno` processes.
 *
 * The C calls below go through a `Deno.dlopen` of their own, so that the tests do not depend
 * on the library's FFI layer that they are testing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Handle, PAGE_SIZE, type Status, statusName, Vmo, ZxError } from "../mod.ts";
import { KernelObject, liveObjectOf } from "../src/handle.ts";

/** The page size, shorter. */
export const P: number = PAGE_SIZE;

/** `x` rounded up to a multiple of the page size. */
export function roundUp(x: number): number {
  return Math.ceil(x / P) * P;
}

function render(status: number): string {
  return `${statusName(status)} (${status})`;
}

/**
 * Asserts that `fn` throws a `ZxError` whose status is exactly `status`, and returns it.
 * Anything else (no throw, another error class, another status) fails with a message that
 * names the expected and actual statuses.
 */
export function assertStatus(fn: () => unknown, status: Status, what = ""): ZxError {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    if (!(error instanceof ZxError)) {
      assert.fail(
        `${what ? what + ": " : ""}expected ZxError ${render(status)}, got ${
          error instanceof Error ? `${error.name}: ${error.message}` : String(error)
        }`,
      );
    }
    assert.equal(
      error.status,
      status,
      `${what ? what + ": " : ""}expected ${render(status)}, got ${
        render(error.status)
      } (${error.message})`,
    );
    assert.equal(error.name, "ZxError");
    assert.ok(
      error.message.startsWith(statusName(status) + ":"),
      `message "${error.message}" should start with "${statusName(status)}:"`,
    );
    return error;
  }
  if (result instanceof Vmo) result.close();
  assert.fail(`${what ? what + ": " : ""}expected ${render(status)}, but the call succeeded`);
}

/** `bytes` filled with `value`. */
export function filled(length: number, value: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(length).fill(value);
}

/** A deterministic pseudo-random pattern of `length` bytes. */
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

/** Whether every byte of `bytes` is 0. */
export function allZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// libc, for the tests' own probes

const c = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  __errno_location: { parameters: [], result: "pointer" },
}).symbols;

const errnoView = new Deno.UnsafePointerView(c.__errno_location()!);

/** errno of the last failed call of this module's libc. */
export function errno(): number {
  return errnoView.getInt32(0);
}

export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_CLOEXEC = 0o2000000;
const O_DIRECTORY = 0o200000;
export const F_GETFD = 1;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;
export const MFD_CLOEXEC = 1;
export const MFD_ALLOW_SEALING = 2;
export const EBADF = 9;

/** A NUL-terminated copy of `s`. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

/** Raw libc calls the tests need to make fds of their own. */
export const libc = {
  open(path: string, flags: number): number {
    return c.open(cstr(path), flags | O_CLOEXEC, 0);
  },
  close(fd: number): number {
    return c.close(fd);
  },
  fcntl(fd: number, cmd: number, arg = 0): number {
    return c.fcntl(fd, cmd, arg);
  },
  memfd(name: string, flags = MFD_CLOEXEC | MFD_ALLOW_SEALING): number {
    return c.memfd_create(cstr(name), flags);
  },
  ftruncate(fd: number, size: number): number {
    return c.ftruncate(fd, BigInt(size));
  },
  pwrite(fd: number, data: Uint8Array<ArrayBuffer>, pos: number): number {
    return Number(c.pwrite(fd, data, BigInt(data.length), BigInt(pos)));
  },
  pread(fd: number, data: Uint8Array<ArrayBuffer>, pos: number): number {
    return Number(c.pread(fd, data, BigInt(data.length), BigInt(pos)));
  },
  /** Makes a FIFO at `path`; 0 on success. */
  mkfifo(path: string): number {
    return c.mkfifo(cstr(path), 0o600);
  },
  /** A pipe: `[readEnd, writeEnd]`, both close-on-exec. */
  pipe(): [number, number] {
    const fds = new Int32Array(2);
    if (c.pipe2(new Uint8Array(fds.buffer), O_CLOEXEC) !== 0) throw new Error("pipe2 failed");
    return [fds[0], fds[1]];
  },
};

/** Whether `fd` is an open file descriptor. */
export function fdIsOpen(fd: number): boolean {
  return c.fcntl(fd, F_GETFD, 0) >= 0;
}

const dents = new Uint8Array(32 * 1024);
const linkBuffer = new Uint8Array(4096);

/** The fds of this process, read from `/proc/self/fd`, with what each one points to. */
export function listFds(): Map<number, string> {
  const dir = c.open(cstr("/proc/self/fd"), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dir < 0) throw new Error(`cannot open /proc/self/fd: errno ${errno()}`);
  const names: number[] = [];
  try {
    const view = new DataView(dents.buffer);
    for (;;) {
      const n = Number(c.getdents64(dir, dents, BigInt(dents.length)));
      if (n < 0) throw new Error(`getdents64 failed: errno ${errno()}`);
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
    if (len < 0) continue; // closed meanwhile
    fds.set(fd, new TextDecoder().decode(linkBuffer.subarray(0, len)));
  }
  return fds;
}

/** How many fds this process has open. */
export function countFds(): number {
  return listFds().size;
}

/** How many of this process's fds are memfds. */
export function countMemfds(): number {
  let n = 0;
  for (const target of listFds().values()) if (target.startsWith("/memfd:")) n++;
  return n;
}

const mapsChunk = new Uint8Array(64 * 1024);

/** The lines of `/proc/self/maps`, read through FFI. */
export function mapsLines(): string[] {
  const fd = c.open(cstr("/proc/self/maps"), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw new Error(`cannot open /proc/self/maps: errno ${errno()}`);
  const parts: string[] = [];
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const n = Number(c.read(fd, mapsChunk, BigInt(mapsChunk.length)));
      if (n < 0) throw new Error(`read failed: errno ${errno()}`);
      if (n === 0) break;
      parts.push(decoder.decode(mapsChunk.subarray(0, n), { stream: true }));
    }
  } finally {
    c.close(fd);
  }
  return parts.join("").split("\n").filter((line) => line.length > 0);
}

/** How many mappings of memfds this process has. */
export function countMemfdMappings(): number {
  return mapsLines().filter((line) => line.includes("/memfd:")).length;
}

// ---------------------------------------------------------------------------------------------
// handles

/** A kernel object that is not a VMO (it claims to be a VMAR). */
class FakeObject extends KernelObject {
  readonly type: number = 18;
  protected onLastReference(): void {}
}

/** A handle to an object that is not a VMO, to check `WRONG_TYPE`. */
export class FakeHandle extends Handle {
  constructor(rights: number, object: KernelObject = new FakeObject()) {
    super(object, rights);
  }
  protected newHandle(object: KernelObject, rights: number): this {
    return new FakeHandle(rights, object) as this;
  }
}

/**
 * A second handle to `vmo`'s object with exactly `rights`, including rights that
 * `duplicate` cannot add (such as `EXECUTE`): reaches into the handle's protected factory.
 */
export function handleWithRights(vmo: Vmo, rights: number): Vmo {
  const factory = vmo as unknown as {
    newHandle(object: KernelObject, rights: number): Vmo;
  };
  return factory.newHandle(liveObjectOf(vmo), rights);
}

// ---------------------------------------------------------------------------------------------
// child processes

/**
 * Runs `deno run <flags> <script> <args>` and returns its exit code and output. A child still
 * running after `timeoutMs` is killed and reported with `timedOut: true`.
 */
export async function runDeno(
  flags: string[],
  script: string | URL,
  args: string[] = [],
  timeoutMs = 30_000,
): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
  const path = script instanceof URL ? script.pathname : script;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, path, ...args],
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
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A temporary file holding `content`; remove it with `Deno.removeSync`. */
export function tempFile(content: Uint8Array<ArrayBuffer> | string): string {
  const path = Deno.makeTempFileSync({ prefix: "vmo-test-" });
  if (typeof content === "string") Deno.writeTextFileSync(path, content);
  else Deno.writeFileSync(path, content);
  return path;
}
