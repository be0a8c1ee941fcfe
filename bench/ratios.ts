/**
 * The library's cost over the raw system calls it stands on, for the hard cases of issue 9,
 * as interleaved medians beside their baselines in one process: the figures the README quotes.
 *
 * Each case has a library side and a baseline side doing the same work (the baseline with raw
 * FFI calls, bigint and buffer arguments hoisted, results checked; or a `python3` child). For
 * each case: a warm-up as long as a round (each side runs for `--round-ms`), then seven rounds
 * in which the two sides take turns (the side that goes first alternates). The figure of a
 * side is the median of its per-operation times over the rounds; the ratio is the library's
 * median over the baseline's, with the range of the per-round ratios beside it.
 *
 * The cold figures are the first 1,000 operations of each side in a fresh `deno` process (one
 * per case, so no earlier case warmed the library's code): V8 optimises a hot function only
 * after tens of thousands of calls, so this is what a short-lived program sees.
 *
 * The Python case runs `mmap.mmap(fd, 65536).close()` in a `python3` child over a memfd made
 * and sealed as a VMO's, round by round in step with the library's rounds (the child times
 * itself with `perf_counter_ns`, so its start-up and the pipe are not counted). Without
 * `python3` the case is skipped with a message.
 *
 * Run: `deno task ratios` (or `deno run --allow-ffi --allow-read --allow-write --allow-run
 * --allow-env bench/ratios.ts [--round-ms=150] [--rounds=7] [--only=substring] [--no-cold]
 * [--json] [--clock=wall|cpu]`). `--clock=cpu` times rounds in this thread's CPU time
 * (`CLOCK_THREAD_CPUTIME_ID`; the Python child uses `time.thread_time_ns`), which other
 * processes' load on a shared machine does not inflate. bench/FIGURES.md has the figures.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Mapping, PAGE_SIZE, SharedBuffer, Vmar, VmarFlags, Vmo } from "../mod.ts";
import { libc } from "../ffi/libc.ts";
import { vmoObjectOf } from "../src/vmo/vmo.ts";
import {
  F_ADD_SEALS,
  F_SEAL_GROW,
  F_SEAL_SHRINK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  O_RDWR,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  SEEK_HOLE,
} from "../ffi/constants.ts";

const KiB = 1024;
const GiB = 1024 * 1024 * KiB;
const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
const R = VmarFlags.PERM_READ;
const PROT_RW = PROT_READ | PROT_WRITE;
const RESERVE = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
const RESERVE_FIXED = RESERVE | MAP_FIXED;
const MAP_FAILED_VALUE = 0xffff_ffff_ffff_ffffn;
const COLD_CALLS = 1000;
let clockName = "wall";

/** One side of a case: runs `n` operations and returns the nanoseconds they took. */
type Side = (n: number) => number | Promise<number>;

/** A case: the library side, the baseline, and what the issue asks of their ratio. */
interface Case {
  name: string;
  goal: string;
  /** Builds both sides (and what they need); `cleanup` releases it. */
  setup(): Promise<Prepared | string> | Prepared | string;
}

interface Prepared {
  lib: Side;
  /** `null` when the figure is absolute (the goal is a time, not a ratio). */
  base: Side | null;
  cleanup(): void | Promise<void>;
}

const timespec = new BigInt64Array(2);
const timespecBytes = new Uint8Array(timespec.buffer);
const CLOCK_THREAD_CPUTIME_ID = 3;

/**
 * The clock of the rounds, in nanoseconds: wall time (`performance.now()`), or with
 * `--clock=cpu` this thread's CPU time (user and system), which other processes' load on a
 * shared machine does not inflate.
 */
let now = (): number => performance.now() * 1e6;

function threadCpuNs(): number {
  libc.clock_gettime(CLOCK_THREAD_CPUTIME_ID, timespecBytes);
  return Number(timespec[0]) * 1e9 + Number(timespec[1]);
}

/** A side that calls `op` `n` times, timed with `now()`. */
function loop(op: () => void): Side {
  return (n) => {
    const t0 = now();
    for (let i = 0; i < n; i++) op();
    return now() - t0;
  };
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`baseline failed: ${what}`);
}

const NAME = new TextEncoder().encode("vmo\0");

/** A memfd made as a VMO's: sealed against shrinking and growing. */
function rawMemfd(size: number): number {
  const fd = libc.memfd_create(NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  check(fd >= 0, "memfd_create");
  check(libc.ftruncate(fd, BigInt(size)) === 0, "ftruncate");
  check(libc.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) === 0, "F_ADD_SEALS");
  return fd;
}

/** A `PROT_NONE` reservation of `size` bytes, as a number and a bigint. */
function rawReserve(size: number): bigint {
  const at = libc.mmap_at(0n, BigInt(size), PROT_NONE, RESERVE, -1, 0n);
  check(at !== MAP_FAILED_VALUE, "reserve");
  return at;
}

/**
 * A `PROT_NONE` reservation of `size` bytes ending at `end` when that range is free
 * (`MAP_FIXED_NOREPLACE`), else wherever the kernel likes.
 */
function rawReserveBelow(end: number, size: number): bigint {
  const want = BigInt(end - size);
  const at = libc.mmap_at(want, BigInt(size), PROT_NONE, RESERVE | MAP_FIXED_NOREPLACE, -1, 0n);
  if (at === want) return at;
  if (at !== MAP_FAILED_VALUE) libc.munmap_at(at, BigInt(size));
  return rawReserve(size);
}

const SIZE_64K = 64 * KiB;
const SIZE_64K_N = BigInt(SIZE_64K);
const PAGE_N = BigInt(PAGE_SIZE);

const CASES: Case[] = [
  {
    name: "Vmar.map + unmap 64 KiB (sub-VMAR) vs mmap MAP_FIXED + PROT_NONE re-reserve",
    goal: "<= 1.3x",
    setup() {
      const [vmar, vmarBase] = Vmar.root().allocate(
        0,
        GiB,
        VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE,
      );
      const vmo = Vmo.create(SIZE_64K);
      const fd = rawMemfd(SIZE_64K);
      // The kernel's cost of a MAP_FIXED map and re-reserve depends on the pages around it: in
      // the middle of a reservation it splits the area in three and merges three back, at its
      // start in two (about 1 µs less here). The library maps at its VMAR's base (first fit),
      // so the baseline's reservation goes right below the VMAR (the two merge into one area,
      // as they did when the kernel happened to put them side by side) and the baseline maps
      // one mapping's length into its own: both maps then have reservation on both sides.
      const reserve = rawReserveBelow(vmarBase, GiB);
      const base = reserve + SIZE_64K_N;
      return {
        lib: loop(() => vmar.unmap(vmar.map(0, vmo, 0, SIZE_64K, RW), SIZE_64K)),
        base: loop(() => {
          check(
            libc.mmap_at(base, SIZE_64K_N, PROT_RW, MAP_SHARED | MAP_FIXED, fd, 0n) === base,
            "mmap",
          );
          check(
            libc.mmap_at(base, SIZE_64K_N, PROT_NONE, RESERVE_FIXED, -1, 0n) === base,
            "re-reserve",
          );
        }),
        cleanup() {
          vmar.destroy();
          vmo.close();
          libc.close(fd);
          libc.munmap_at(reserve, BigInt(GiB));
        },
      };
    },
  },
  {
    name: "Vmar.protect middle page of 3 (R, then RW) vs mprotect",
    goal: "<= 1.3x",
    setup() {
      const [vmar] = Vmar.root().allocate(
        0,
        1024 * KiB,
        VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE,
      );
      const vmo = Vmo.create(3 * PAGE_SIZE);
      const addr = vmar.map(0, vmo, 0, 3 * PAGE_SIZE, RW);
      const middle = addr + PAGE_SIZE;
      const fd = rawMemfd(3 * PAGE_SIZE);
      const reserve = rawReserve(1024 * KiB);
      check(
        libc.mmap_at(reserve, 3n * PAGE_N, PROT_RW, MAP_SHARED | MAP_FIXED, fd, 0n) === reserve,
        "mmap",
      );
      const rawMiddle = reserve + PAGE_N;
      return {
        lib: loop(() => {
          vmar.protect(middle, PAGE_SIZE, R);
          vmar.protect(middle, PAGE_SIZE, RW);
        }),
        base: loop(() => {
          check(libc.mprotect_at(rawMiddle, PAGE_N, PROT_READ) === 0, "mprotect");
          check(libc.mprotect_at(rawMiddle, PAGE_N, PROT_RW) === 0, "mprotect");
        }),
        cleanup() {
          vmar.destroy();
          vmo.close();
          libc.munmap_at(reserve, 1024n * 1024n);
          libc.close(fd);
        },
      };
    },
  },
  {
    name: "Vmo.create(4096) + close vs memfd_create + ftruncate + seals + close",
    goal: "<= 1.3x",
    setup() {
      return {
        lib: loop(() => Vmo.create(PAGE_SIZE).close()),
        base: loop(() => check(libc.close(rawMemfd(PAGE_SIZE)) === 0, "close")),
        cleanup() {},
      };
    },
  },
  {
    name:
      "Mapping.allocate(64 KiB) + close (both) vs memfd + ftruncate + seals + mmap + munmap + close",
    goal: "<= 1.3x",
    setup() {
      return {
        lib: loop(() => {
          const [mapping, vmo] = Mapping.allocate(SIZE_64K);
          mapping.close();
          vmo.close();
        }),
        base: loop(() => {
          const fd = rawMemfd(SIZE_64K);
          const at = libc.mmap_at(0n, SIZE_64K_N, PROT_RW, MAP_SHARED, fd, 0n);
          check(at !== MAP_FAILED_VALUE, "mmap");
          check(libc.munmap_at(at, SIZE_64K_N) === 0, "munmap");
          check(libc.close(fd) === 0, "close");
        }),
        cleanup() {},
      };
    },
  },
  {
    name: "Mapping.createFromVmo(64 KiB) + close vs python3 mmap.mmap(fd, 65536).close()",
    goal: "faster than Python (< 1x)",
    async setup() {
      const python = await startPython();
      if (typeof python === "string") return python;
      const vmo = Vmo.create(SIZE_64K);
      return {
        lib: loop(() => Mapping.createFromVmo(vmo, SIZE_64K, RW).close()),
        base: python.run,
        async cleanup() {
          vmo.close();
          await python.stop();
        },
      };
    },
  },
  {
    name: "Vmo.read 64 B vs pread",
    goal: "<= 1.2x",
    setup() {
      const vmo = Vmo.create(SIZE_64K);
      const data = new Uint8Array(SIZE_64K).fill(7);
      vmo.write(data, 0);
      // The same pages on both sides: a pread of a hole takes a shorter path in the kernel.
      const fd = rawMemfd(SIZE_64K);
      check(libc.pwrite(fd, data, SIZE_64K_N, 0n) === SIZE_64K_N, "pwrite");
      const dst = new Uint8Array(64);
      return {
        lib: loop(() => vmo.read(dst, 128)),
        base: loop(() => check(libc.pread(fd, dst, 64n, 128n) === 64n, "pread")),
        cleanup() {
          vmo.close();
          libc.close(fd);
        },
      };
    },
  },
  {
    name: "SharedBuffer.writeAt 64 B over a mapped regular file vs pwrite to the file",
    goal: "<= 1.3x",
    setup() {
      const path = Deno.makeTempFileSync({ prefix: "vmo-ratios-" });
      Deno.writeFileSync(path, new Uint8Array(SIZE_64K));
      const vmo = Vmo.fromFile(path, { writable: true });
      const root = Vmar.root();
      const addr = root.map(0, vmo, 0, SIZE_64K, RW);
      const buffer = SharedBuffer.fromRange(root, addr, SIZE_64K);
      const fd = libc.open(new TextEncoder().encode(path + "\0"), O_RDWR, 0);
      check(fd >= 0, "open");
      const src = new Uint8Array(64).fill(9);
      return {
        lib: loop(() => buffer.writeAt(256, src)),
        base: loop(() => check(libc.pwrite(fd, src, 64n, 256n) === 64n, "pwrite")),
        cleanup() {
          root.unmap(addr, SIZE_64K);
          vmo.close();
          libc.close(fd);
          Deno.removeSync(path);
        },
      };
    },
  },
  {
    name: "Vmar.infoMaps of 10,000 mappings vs 10,000 lseek(SEEK_HOLE), one per VMO file",
    goal: "<= 5 ms",
    setup() {
      const count = 10_000;
      const [vmar] = Vmar.root().allocate(
        0,
        2 * count * PAGE_SIZE + GiB / 16,
        VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE | VmarFlags.CAN_MAP_SPECIFIC,
      );
      const vmos: Vmo[] = [];
      const one = new Uint8Array([1]);
      for (let i = 0; i < count; i++) {
        // One committed page each, none mergeable with its neighbour: a gap page between.
        const vmo = Vmo.create(PAGE_SIZE);
        vmo.write(one, 0);
        vmar.map(2 * i * PAGE_SIZE, vmo, 0, PAGE_SIZE, RW | VmarFlags.SPECIFIC);
        vmos.push(vmo);
      }
      // The least kernel work the records need: one lseek per VMO file (its pages are all data).
      const fds = vmos.map((vmo) => vmoObjectOf(vmo).backing.fd);
      const PAGE_END = BigInt(PAGE_SIZE);
      return {
        lib: loop(() => check(vmar.infoMaps().length === count + 1, "record count")),
        base: loop(() => {
          for (let i = 0; i < fds.length; i++) {
            check(libc.lseek(fds[i], 0n, SEEK_HOLE) === PAGE_END, "lseek");
          }
        }),
        cleanup() {
          vmar.destroy();
          for (const vmo of vmos) vmo.close();
        },
      };
    },
  },
];

// ---- the python3 child ---------------------------------------------------------------------

const PYTHON_CHILD = `
import fcntl, mmap, os, sys, time
clock = time.thread_time_ns if sys.argv[1] == "cpu" else time.perf_counter_ns
fd = os.memfd_create("vmo", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
os.ftruncate(fd, 65536)
if hasattr(fcntl, "F_ADD_SEALS"):
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
sys.stdout.write("ready\\n"); sys.stdout.flush()
for line in sys.stdin:
    n = int(line)
    t0 = clock()
    for _ in range(n):
        mmap.mmap(fd, 65536).close()
    sys.stdout.write(str(clock() - t0) + "\\n"); sys.stdout.flush()
`;

/** A `python3` child that runs `n` map+close operations per request, or why there is none. */
async function startPython(): Promise<
  { run: Side; stop(): Promise<void> } | string
> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("python3", {
      args: ["-c", PYTHON_CHILD, clockName],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    return `skipped: no python3 (${(error as Error).message})`;
  }
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  async function line(): Promise<string> {
    for (;;) {
      const nl = pending.indexOf("\n");
      if (nl >= 0) {
        const got = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        return got;
      }
      const { value, done } = await lines.read();
      if (done) throw new Error("the python3 child ended");
      pending += value;
    }
  }
  const ready = await line();
  if (ready !== "ready") return `skipped: python3 said ${ready}`;
  const encoder = new TextEncoder();
  return {
    async run(n) {
      await writer.write(encoder.encode(`${n}\n`));
      return Number(await line());
    },
    async stop() {
      await writer.close();
      await lines.cancel();
      await child.status;
    },
  };
}

// ---- measuring -------------------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Per-operation nanoseconds of `side` over `n` operations. */
async function perOp(side: Side, n: number): Promise<number> {
  return (await side(n)) / n;
}

/** How many operations of `side` take about `ms` milliseconds (at least 1). */
async function callsFor(side: Side, ms: number): Promise<number> {
  let n = 16;
  for (;;) {
    const ns = await side(n);
    if (ns >= 20e6 || n >= 1 << 24) return Math.max(1, Math.round((n * ms * 1e6) / ns));
    n *= 4;
  }
}

interface Result {
  name: string;
  goal: string;
  skipped?: string;
  libNs?: number;
  baseNs?: number | null;
  ratio?: number | null;
  ratioMin?: number | null;
  ratioMax?: number | null;
  coldLibNs?: number;
  coldBaseNs?: number | null;
}

async function measure(c: Case, roundMs: number, rounds: number): Promise<Result> {
  const prepared = await c.setup();
  if (typeof prepared === "string") return { name: c.name, goal: c.goal, skipped: prepared };
  try {
    const { lib, base } = prepared;
    // Calibrate, then a warm-up as long as a round; calibrate again on warm code.
    let nLib = await callsFor(lib, roundMs);
    let nBase = base === null ? 0 : await callsFor(base, roundMs);
    const warmLib = await perOp(lib, nLib);
    const warmBase = base === null ? 0 : await perOp(base, nBase);
    nLib = Math.max(1, Math.round((roundMs * 1e6) / warmLib));
    if (base !== null) nBase = Math.max(1, Math.round((roundMs * 1e6) / warmBase));
    const libTimes: number[] = [];
    const baseTimes: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      let l: number, b = 0;
      if (base === null) {
        l = await perOp(lib, nLib);
      } else if (round % 2 === 0) {
        l = await perOp(lib, nLib);
        b = await perOp(base, nBase);
      } else {
        b = await perOp(base, nBase);
        l = await perOp(lib, nLib);
      }
      libTimes.push(l);
      if (base !== null) {
        baseTimes.push(b);
        ratios.push(l / b);
      }
    }
    const libNs = median(libTimes);
    const baseNs = base === null ? null : median(baseTimes);
    return {
      name: c.name,
      goal: c.goal,
      libNs,
      baseNs,
      ratio: baseNs === null ? null : libNs / baseNs,
      ratioMin: base === null ? null : Math.min(...ratios),
      ratioMax: base === null ? null : Math.max(...ratios),
    };
  } finally {
    await prepared.cleanup();
  }
}

/** The first `COLD_CALLS` operations of each side, in this (fresh) process. */
async function cold(c: Case): Promise<Result> {
  const prepared = await c.setup();
  if (typeof prepared === "string") return { name: c.name, goal: c.goal, skipped: prepared };
  try {
    const coldLibNs = await perOp(prepared.lib, COLD_CALLS);
    const coldBaseNs = prepared.base === null ? null : await perOp(prepared.base, COLD_CALLS);
    return { name: c.name, goal: c.goal, coldLibNs, coldBaseNs };
  } finally {
    await prepared.cleanup();
  }
}

/** Runs case `index` cold in a fresh `deno` process. */
async function coldInChild(index: number): Promise<Result | null> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-ffi",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      new URL(import.meta.url).pathname,
      `--cold-case=${index}`,
      `--clock=${clockName}`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) return null;
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

function fmtNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined) return "-";
  return ns >= 1e6
    ? `${(ns / 1e6).toFixed(2)} ms`
    : ns >= 1e4
    ? `${(ns / 1e3).toFixed(1)} µs`
    : `${Math.round(ns)} ns`;
}

function fmtRatio(r: number | null | undefined): string {
  return r === null || r === undefined ? "-" : `${r.toFixed(2)}x`;
}

async function main(): Promise<void> {
  const args = parseArgs({
    args: Deno.args,
    options: {
      "round-ms": { type: "string", default: "150" },
      rounds: { type: "string", default: "7" },
      only: { type: "string" },
      "no-cold": { type: "boolean", default: false },
      clock: { type: "string", default: "wall" },
      "cold-case": { type: "string" },
      json: { type: "boolean", default: false },
    },
  }).values;
  clockName = args.clock === "cpu" ? "cpu" : "wall";
  if (clockName === "cpu") now = threadCpuNs;
  if (args["cold-case"] !== undefined) {
    const result = await cold(CASES[Number(args["cold-case"])]);
    console.log(JSON.stringify(result));
    return;
  }
  const roundMs = Number(args["round-ms"]);
  const rounds = Number(args.rounds);
  const results: Result[] = [];
  for (const [index, c] of CASES.entries()) {
    if (args.only !== undefined && !c.name.includes(args.only)) continue;
    const coldResult = args["no-cold"] ? null : await coldInChild(index);
    const result = await measure(c, roundMs, rounds);
    if (coldResult !== null) {
      result.coldLibNs = coldResult.coldLibNs;
      result.coldBaseNs = coldResult.coldBaseNs;
    }
    results.push(result);
    if (!args.json) {
      if (result.skipped) {
        console.log(`${c.name}: ${result.skipped}`);
      } else {
        console.error(
          `${c.name}: ${fmtNs(result.libNs)} vs ${fmtNs(result.baseNs)} = ${
            fmtRatio(result.ratio)
          }`,
        );
      }
    }
  }
  if (args.json) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  console.log(
    `\n${clockName} clock; medians of ${rounds} rounds of ~${roundMs} ms per side, after a warm-up round; ` +
      `cold = first ${COLD_CALLS} calls in a fresh process\n`,
  );
  console.log(
    "| case | library | baseline | ratio (round range) | goal | cold library | cold baseline | cold ratio |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    if (r.skipped) {
      console.log(`| ${r.name} | ${r.skipped} | | | ${r.goal} | | | |`);
      continue;
    }
    const range = r.ratioMin === null || r.ratioMin === undefined
      ? ""
      : ` (${r.ratioMin.toFixed(2)}-${r.ratioMax!.toFixed(2)})`;
    const coldRatio = r.coldLibNs !== undefined && r.coldBaseNs
      ? fmtRatio(r.coldLibNs / r.coldBaseNs)
      : "-";
    console.log(
      `| ${r.name} | ${fmtNs(r.libNs)} | ${fmtNs(r.baseNs)} | ${
        fmtRatio(r.ratio)
      }${range} | ${r.goal} | ${fmtNs(r.coldLibNs)} | ${fmtNs(r.coldBaseNs)} | ${coldRatio} |`,
    );
  }
}

await main();
