/**
 * Reading `/proc/self/*` from tests: Deno's own file APIs refuse /proc under the test task's
 * permissions, so these go through a libc of their own.
 *
 * @module
 */

const c = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
}).symbols;

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

function cstr(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

/** The whole text of a /proc file, read through FFI. */
export function readProc(path: string): string {
  const fd = c.open(cstr(path), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw new Error(`cannot open ${path}`);
  const parts: string[] = [];
  const decoder = new TextDecoder();
  const chunk = new Uint8Array(1 << 16);
  try {
    for (;;) {
      const n = Number(c.read(fd, chunk, BigInt(chunk.length)));
      if (n < 0) throw new Error(`cannot read ${path}`);
      if (n === 0) break;
      parts.push(decoder.decode(chunk.subarray(0, n), { stream: true }));
    }
  } finally {
    c.close(fd);
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

/** The lines of `/proc/self/maps`. */
export function procMaps(): ProcMap[] {
  const out: ProcMap[] = [];
  for (const line of readProc("/proc/self/maps").split("\n")) {
    if (line === "") continue;
    const fields = line.split(/\s+/);
    const [start, end] = fields[0].split("-").map((h) => parseInt(h, 16));
    out.push({ start, end, perms: fields[1], path: fields.slice(5).join(" ") });
  }
  return out;
}
