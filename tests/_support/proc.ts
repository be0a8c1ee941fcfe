/**
 * Readers of `/proc/self/*` for the tests: the fd table (`/proc/self/fd`) and the address
 * space (`/proc/self/maps`), read through the tests' own libc because Deno's file APIs refuse
 * `/proc` under the test task's permissions.
 *
 * @module
 */

import { cstr, errno, O_CLOEXEC, O_DIRECTORY, O_RDONLY, sys } from "./libc.ts";

/** The whole text of a /proc file, read through FFI. */
export function readProc(path: string): string {
  const fd = sys.open(cstr(path), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw new Error(`cannot open ${path}: errno ${errno()}`);
  const parts: string[] = [];
  const decoder = new TextDecoder();
  const chunk = new Uint8Array(1 << 16);
  try {
    for (;;) {
      const n = Number(sys.read(fd, chunk, BigInt(chunk.length)));
      if (n < 0) throw new Error(`cannot read ${path}: errno ${errno()}`);
      if (n === 0) break;
      parts.push(decoder.decode(chunk.subarray(0, n), { stream: true }));
    }
  } finally {
    sys.close(fd);
  }
  parts.push(decoder.decode());
  return parts.join("");
}

/** One line of `/proc/self/maps`. */
export interface ProcMap {
  start: number;
  end: number;
  /** `"rw-s"`, `"---p"`... */
  perms: string;
  /** The path column ("" for anonymous memory). */
  path: string;
}

/** The lines of `/proc/self/maps`, as text. */
export function mapsLines(): string[] {
  return readProc("/proc/self/maps").split("\n").filter((line) => line.length > 0);
}

/** The lines of `/proc/self/maps`, parsed. */
export function procMaps(): ProcMap[] {
  return mapsLines().map((line) => {
    const fields = line.split(/\s+/);
    const [start, end] = fields[0].split("-").map((h) => parseInt(h, 16));
    return { start, end, perms: fields[1], path: fields.slice(5).join(" ") };
  });
}

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

/**
 * The kernel's view of `[addr, addr + len)`: the protection of each page-run, clipped to the
 * range, with `null` for holes (nothing mapped). Adjacent runs with the same protection are
 * joined, since Linux may or may not merge VMAs.
 */
export function kernelRuns(addr: number, len: number): [number, number, string | null][] {
  const end = addr + len;
  const runs: [number, number, string | null][] = [];
  const push = (s: number, e: number, p: string | null) => {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === s && last[2] === p) last[1] = e;
    else runs.push([s, e, p]);
  };
  let cursor = addr;
  for (const m of procMaps()) {
    if (m.end <= addr || m.start >= end) continue;
    if (m.start > cursor) push(cursor, m.start, null);
    const from = Math.max(m.start, addr);
    const to = Math.min(m.end, end);
    push(from, to, m.perms);
    cursor = to;
  }
  if (cursor < end) push(cursor, end, null);
  return runs;
}

const dents = new Uint8Array(32 * 1024);
const linkBuffer = new Uint8Array(4096);

/** The fds of this process, read from `/proc/self/fd`, with what each one points to. */
export function listFds(): Map<number, string> {
  const dir = sys.open(cstr("/proc/self/fd"), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dir < 0) throw new Error(`cannot open /proc/self/fd: errno ${errno()}`);
  const names: number[] = [];
  try {
    const view = new DataView(dents.buffer);
    for (;;) {
      const n = Number(sys.getdents64(dir, dents, BigInt(dents.length)));
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
    sys.close(dir);
  }
  const fds = new Map<number, string>();
  for (const fd of names) {
    if (fd === dir) continue;
    const len = Number(sys.readlink(cstr(`/proc/self/fd/${fd}`), linkBuffer, 4096n));
    if (len < 0) continue; // closed meanwhile
    fds.set(fd, new TextDecoder().decode(linkBuffer.subarray(0, len)));
  }
  return fds;
}

/** How many fds this process has open (not counting the one that reads the list). */
export function countFds(): number {
  return listFds().size;
}

/** How many of this process's fds are memfds (VMO memory). */
export function countMemfds(): number {
  let n = 0;
  for (const target of listFds().values()) if (target.startsWith("/memfd:")) n++;
  return n;
}
