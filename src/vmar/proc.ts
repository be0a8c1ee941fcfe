/**
 * Files under /proc, read through FFI (Deno's own file APIs refuse /proc without
 * `--allow-all`): the whole text of one, and the ranges of `/proc/self/maps`.
 *
 * @module
 */

import { O_CLOEXEC, O_RDONLY } from "../../ffi/constants.ts";
import { EINVAL } from "../../ffi/errno.ts";
import { cString } from "../../ffi/file.ts";
import { lastErrno, libc } from "../../ffi/libc.ts";
import { syscallError } from "../status.ts";

/** The `[start, end)` ranges of `/proc/self/maps`, read through FFI (Deno's APIs refuse /proc). */
export function procSelfMaps(): [number, number][] {
  const text = readProcFile("/proc/self/maps");
  const ranges: [number, number][] = [];
  for (const line of text.split("\n")) {
    const dash = line.indexOf("-");
    const space = line.indexOf(" ");
    if (dash < 0 || space < dash) continue;
    ranges.push([parseInt(line.slice(0, dash), 16), parseInt(line.slice(dash + 1, space), 16)]);
  }
  return ranges;
}

/** The whole text of a file under /proc. */
export function readProcFile(path: string): string {
  const fd = libc.open(cString(path), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw syscallError("open", `cannot open ${path}`);
  try {
    const chunks: Uint8Array[] = [];
    const chunk = new Uint8Array(64 * 1024);
    for (;;) {
      const n = Number(libc.read(fd, chunk, BigInt(chunk.length)));
      if (n < 0) {
        if (lastErrno() === EINVAL) break;
        throw syscallError("read", `cannot read ${path}`);
      }
      if (n === 0) break;
      chunks.push(chunk.slice(0, n));
    }
    const decoder = new TextDecoder();
    return chunks.map((c) => decoder.decode(c, { stream: true })).join("") + decoder.decode();
  } finally {
    libc.close(fd);
  }
}

let maxMapCount = 0;

/**
 * How many more mappings (VMAs) the process may make before `vm.max_map_count`: the limit
 * (read once) minus the lines of `/proc/self/maps`, counted without decoding them.
 */
export function mappingsLeft(): number {
  if (maxMapCount === 0) {
    maxMapCount = Number(readProcFile("/proc/sys/vm/max_map_count").trim()) || 65530;
  }
  const fd = libc.open(cString("/proc/self/maps"), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw syscallError("open", "cannot open /proc/self/maps");
  let lines = 0;
  try {
    const chunk = new Uint8Array(256 * 1024);
    for (;;) {
      const n = Number(libc.read(fd, chunk, BigInt(chunk.length)));
      if (n <= 0) break;
      for (let i = 0; i < n; i++) if (chunk[i] === 10) lines++;
    }
  } finally {
    libc.close(fd);
  }
  return maxMapCount - lines;
}
