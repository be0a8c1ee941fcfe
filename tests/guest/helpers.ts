/**
 * Helpers for the guest-memory tests: adopting another process's fd (reached through
 * `/proc/<pid>/fd/<n>`) as a VMO, and running child `deno` processes that report one
 * `RESULT {...}` line.
 *
 * @module
 */

import { Vmo } from "../../mod.ts";

const c = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
}).symbols;
const errnoView = new Deno.UnsafePointerView(c.__errno_location()!);

/** Opens `/proc/<pid>/fd/<fd>` read-write (what a hostile peer of the same user can do). */
export function openPeerFd(pid: number, fd: number): number {
  const path = new TextEncoder().encode(`/proc/${pid}/fd/${fd}\0`);
  const opened = c.open(path, 2 /* O_RDWR */ | 0o2000000, /* O_CLOEXEC */ 0);
  if (opened < 0) {
    throw new Error(`cannot open /proc/${pid}/fd/${fd}: errno ${errnoView.getInt32(0)}`);
  }
  return opened;
}

/** `ftruncate(fd, size)`: 0, or the errno. */
export function truncate(fd: number, size: number): number {
  return c.ftruncate(fd, BigInt(size)) === 0 ? 0 : errnoView.getInt32(0);
}

/** Closes an fd. */
export function closeFd(fd: number): void {
  c.close(fd);
}

/** Adopts an fd as a VMO (`Vmo.unsafeFromFd`, or `Vmo.fromFd` before its rename). */
export function adoptFd(fd: number): Vmo {
  const named = Vmo as unknown as Record<string, ((fd: number) => Vmo) | undefined>;
  const adopt = named["unsafeFromFd"] ?? named["fromFd"]!;
  return adopt.call(Vmo, fd);
}

/** The flags a child needs. */
export const CHILD_FLAGS = ["--allow-ffi", "--allow-read", "--allow-write", "--allow-env"];

/** The `RESULT {...}` line of a child's output, parsed. */
export function resultOf(stdout: string): Record<string, unknown> | null {
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  return line === undefined ? null : JSON.parse(line.slice(7));
}
