/**
 * Child for high_fd.test.ts: attacks on the library's memfds moved to high fd numbers (issue 9,
 * `src/vmo/backing.ts`), whose maps skip the `fstat` identity check. Each mode closes, replaces
 * or crowds out the library's fd numbers from outside, then maps, reads, writes and closes.
 * A fault exits 139; otherwise the last stdout line is a JSON report.
 *
 * Usage: deno run --allow-ffi --allow-read high_fd_child.ts <mode>
 */

import { Mapping, PAGE_SIZE as P, VmarFlags, Vmo, ZxError } from "../../mod.ts";
import { vmoObjectOf } from "../../src/vmo/vmo.ts";

const sys = Deno.dlopen("libc.so.6", {
  close: { parameters: ["i32"], result: "i32" },
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
}).symbols;

const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const RLIMIT_NOFILE = 7;

function cstr(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

function fdOf(vmo: Vmo): number {
  return vmoObjectOf(vmo).backing.fd;
}

function setSoftLimit(n: number): void {
  const lim = new BigUint64Array(2);
  sys.getrlimit(RLIMIT_NOFILE, new Uint8Array(lim.buffer));
  lim[0] = BigInt(n);
  if (sys.setrlimit(RLIMIT_NOFILE, new Uint8Array(lim.buffer)) !== 0) throw new Error("setrlimit");
}

function smallMemfd(size: number): number {
  const fd = sys.memfd_create(cstr("impostor"), 1);
  sys.ftruncate(fd, BigInt(size));
  return fd;
}

/** The status of `fn`'s ZxError, "ok" when it returned, rethrowing anything else. */
function outcome(fn: () => unknown): string | number {
  try {
    fn();
    return "ok";
  } catch (e) {
    if (e instanceof ZxError) return e.status;
    throw e;
  }
}

/** Maps `vmo` whole, touches every page of the view (a fault here is the defect), unmaps. */
function mapAndTouch(vmo: Vmo, size: number): string | number {
  return outcome(() => {
    const m = Mapping.createFromVmo(vmo, size, RW);
    try {
      const view = m.bytes();
      for (let i = 0; i < view.length; i += P) view[i] = (view[i] + 1) & 0xff;
    } finally {
      m.close();
    }
  });
}

/** Fills each VMO with its index, then checks each through a mapping and a read. */
function checkDistinct(vmos: Vmo[], size: number): number {
  let wrong = 0;
  vmos.forEach((v, i) => v.write(new Uint8Array(size).fill(i & 0xff), 0));
  vmos.forEach((v, i) => {
    const m = Mapping.createFromVmo(v, size, RW);
    const view = m.bytes();
    if (view.length !== size || view[0] !== (i & 0xff) || view[size - 1] !== (i & 0xff)) wrong++;
    m.close();
    if (v.readToArray(size - 1, 1)[0] !== (i & 0xff)) wrong++;
  });
  return wrong;
}

const modes: Record<string, () => Record<string, unknown>> = {
  /** FFI close of the VMO's fd: maps fail (EBADF), nothing faults; the number then reused. */
  close() {
    const vmo = Vmo.create(4 * P);
    const fd = fdOf(vmo);
    sys.close(fd);
    const afterClose = mapAndTouch(vmo, 4 * P);
    const readAfterClose = outcome(() => vmo.readToArray(0, 8));
    // The library's next memfd takes the same number: the old VMO must not map it.
    const other = Vmo.create(P);
    const reused = fdOf(other) === fd;
    const afterReuse = mapAndTouch(vmo, 4 * P);
    const closeOld = outcome(() => vmo.close());
    // Closing the old VMO must not close the new one's fd.
    const otherStill = mapAndTouch(other, P);
    other.close();
    return {
      fd,
      high: fd > 100,
      afterClose,
      readAfterClose,
      reused,
      afterReuse,
      closeOld,
      otherStill,
    };
  },
  /** dup2 of a smaller memfd onto the number: the 4-page map must not fault on its last page. */
  dup2Memfd() {
    const vmo = Vmo.create(4 * P);
    const fd = fdOf(vmo);
    const impostor = smallMemfd(P);
    sys.dup2(impostor, fd);
    sys.close(impostor);
    return { fd, mapped: mapAndTouch(vmo, 4 * P) };
  },
  /** dup2 of a 1-page regular file onto the number. */
  dup2File() {
    const path = Deno.makeTempFileSync();
    Deno.writeFileSync(path, new Uint8Array(P));
    const vmo = Vmo.create(4 * P);
    const fd = fdOf(vmo);
    const file = sys.open(cstr(path), 2, 0);
    sys.dup2(file, fd);
    sys.close(file);
    Deno.removeSync(path);
    return { fd, mapped: mapAndTouch(vmo, 4 * P) };
  },
  /** dup2 of a pipe onto the number: mmap refuses it, nothing faults. */
  dup2Pipe() {
    const vmo = Vmo.create(4 * P);
    const fd = fdOf(vmo);
    const ends = new Int32Array(2);
    sys.pipe2(new Uint8Array(ends.buffer), 0o2000000);
    sys.dup2(ends[0], fd);
    const mapped = mapAndTouch(vmo, 4 * P);
    const read = outcome(() => vmo.readToArray(0, 4));
    return { fd, mapped, read, close: outcome(() => vmo.close()) };
  },
  /** RLIMIT_NOFILE lowered to 128 before any VMO: 100 VMOs (more than the top quarter). */
  limitBefore() {
    setSoftLimit(128);
    const vmos = Array.from({ length: 80 }, () => Vmo.create(2 * P));
    const fds = vmos.map(fdOf);
    const wrong = checkDistinct(vmos, 2 * P);
    for (const v of vmos) v.close();
    return { wrong, maxFd: Math.max(...fds), distinct: new Set(fds).size === fds.length };
  },
  /** VMOs at high numbers, then the limit lowered below them: old and new keep working. */
  limitAfter() {
    const old = Array.from({ length: 10 }, () => Vmo.create(2 * P));
    const oldFds = old.map(fdOf);
    setSoftLimit(200);
    const fresh = Array.from({ length: 20 }, () => Vmo.create(2 * P));
    const wrong = checkDistinct([...old, ...fresh], 2 * P);
    // Close half the old ones, make more, check again: no cross-talk.
    for (const v of old.splice(0, 5)) v.close();
    const more = Array.from({ length: 10 }, () => Vmo.create(2 * P));
    const wrong2 = checkDistinct([...old, ...fresh, ...more], 2 * P);
    for (const v of [...old, ...fresh, ...more]) v.close();
    return { wrong: wrong + wrong2, minOldFd: Math.min(...oldFds) };
  },
  /** Many VMOs, closed and made again in a scrambled order: every one maps its own file. */
  churn() {
    setSoftLimit(160);
    let live: Vmo[] = [];
    let wrong = 0;
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let round = 0; round < 30; round++) {
      while (live.length < 70) live.push(Vmo.create(P));
      wrong += checkDistinct(live, P);
      live = live.filter((v) => rnd() < 0.5 ? (v.close(), false) : true);
    }
    for (const v of live) v.close();
    return { wrong };
  },
  /** No fd left: create refuses with a status, and works again once fds are freed. */
  exhaust() {
    setSoftLimit(128);
    const held: number[] = [];
    for (;;) {
      const fd = sys.open(cstr("/dev/null"), 0, 0);
      if (fd < 0) break;
      held.push(fd);
    }
    const refused = outcome(() => Vmo.create(P));
    for (const fd of held.splice(0, 4)) sys.close(fd);
    const vmo = Vmo.create(P);
    const mapped = mapAndTouch(vmo, P);
    vmo.close();
    for (const fd of held) sys.close(fd);
    return { refused, mapped };
  },
  /**
   * Another isolate's library takes the number: the main isolate's VMO fd is closed from
   * outside (as another Worker's `unsafeFromFd(n).close()` does), then a Worker creates a
   * 1-page VMO, which its own (per-isolate) table puts at the lowest free high number: the same
   * one. The main isolate's 4-page VMO must not map it and fault.
   */
  workerReuse() {
    throw new Error("async");
  },
};

async function workerReuse(): Promise<Record<string, unknown>> {
  const vmo = Vmo.create(4 * P);
  const fd = fdOf(vmo);
  const worker = new Worker(new URL("./high_fd_worker.ts", import.meta.url), { type: "module" });
  const reply = new Promise<{ fd: number }>((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
  });
  worker.postMessage({ cmd: "adoptAndClose", fd });
  await new Promise<unknown>((resolve) => worker.onmessage = resolve);
  worker.onmessage = null;
  const created = new Promise<{ fd: number }>((resolve) =>
    worker.onmessage = (e) => resolve(e.data)
  );
  worker.postMessage({ cmd: "create", size: P });
  const workerFd = (await created).fd;
  void reply;
  const mapped = mapAndTouch(vmo, 4 * P);
  worker.terminate();
  return { fd, workerFd, mapped };
}

/** Two Workers and the main isolate create, map and close VMOs at once. */
async function workers(): Promise<Record<string, unknown>> {
  const ws = [0, 1].map(() =>
    new Worker(new URL("./high_fd_worker.ts", import.meta.url), { type: "module" })
  );
  const done = ws.map((w) =>
    new Promise<{ wrong: number }>((resolve) => w.onmessage = (e) => resolve(e.data))
  );
  ws.forEach((w) => w.postMessage({ cmd: "churn", rounds: 40 }));
  let wrong = 0;
  for (let round = 0; round < 40; round++) {
    const vmos = Array.from({ length: 20 }, () => Vmo.create(P));
    wrong += checkDistinct(vmos, P);
    for (const v of vmos) v.close();
    await new Promise((r) => setTimeout(r, 0));
  }
  for (const r of await Promise.all(done)) wrong += r.wrong;
  ws.forEach((w) => w.terminate());
  return { wrong };
}

export { checkDistinct, fdOf, mapAndTouch };

if (import.meta.main) {
  const mode = Deno.args[0];
  const result = mode === "workerReuse"
    ? await workerReuse()
    : mode === "workers"
    ? await workers()
    : modes[mode]();
  console.log(JSON.stringify({ mode, ...result }));
}
