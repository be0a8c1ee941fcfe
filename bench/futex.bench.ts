/**
 * Futex ping-pong round trip between two processes, vmo against the same loop in C
 * (bench/c/futex_pingpong.c, compiled with `cc` when present; skipped with a message
 * otherwise). The goal: within 3x.
 *
 * One round trip: the parent stores an odd value in a shared word and wakes it, the peer
 * (bench/pingpong_peer.ts in vmo, a forked child in C) answers with the next even value and
 * wakes it back, and the parent waits until it has. Three comparisons:
 * - (a) C plain: each side waits in the kernel at once (`FUTEX_WAIT` while the word holds its
 *   value). This is what "the same loop in C" says, but it is not vmo's strategy.
 * - (b) C spin: each side first spins as vmo's `futexWait` does (`pause` and a load, for a
 *   time that adapts per word between the same bounds by the same rules, the clock read every
 *   32 steps), then waits in the kernel. When both processes run at once (2 cores) the answer
 *   lands within the spin and no one sleeps; this is where vmo's fixed costs (FFI calls,
 *   promises) show.
 * - (c) miss: the peer busy-waits `MISS_DELAY_US` (longer than the spin) before it answers,
 *   in vmo and in C (with the spin), so the parent's every wait ends in the kernel: in vmo on a
 *   runtime thread (a nonblocking FFI call), then a wake of the event loop. The ratio of the
 *   round trips is diluted by the delay both pay; the ratio of what each costs beyond the
 *   delay is the blocked path's.
 *
 * The cases alternate in one process, batch after batch, after a warm-up batch of each; each
 * reports the median (and range) of its batches in microseconds of wall time per round trip,
 * and the CPU time both processes used per round trip. The ratios are medians of per-batch
 * ratios. The machine's other load decides whether spins catch their wake-ups: compare runs
 * with their load in mind.
 *
 * Run with `deno bench --allow-ffi --allow-read --allow-write --allow-run --allow-env
 * bench/futex.bench.ts` (`VMO_FUTEX_BATCHES` sets the number of batches, 9 by default);
 * without `--allow-run` (as `deno task bench` runs) it is skipped with a message.
 *
 * @module
 */

import { futexWait, futexWake, Mapping, spawn } from "../mod.ts";
import { SPIN_MAX_NS, SPIN_MIN_NS, SPIN_START_NS } from "../src/futex/futex.ts";
import process from "node:process";

const HIT_ROUNDS = 4000;
const MISS_ROUNDS = 1000;
/** The peer's delay in (c): twice the longest spin vmo makes (`SPIN_MAX_NS`). */
const MISS_DELAY_US = 100;

interface Sample {
  /** Wall microseconds per round trip. */
  us: number;
  /** CPU microseconds (user + system, both processes) per round trip. */
  cpu: number;
  /** C only: waits per round trip that reached the kernel. */
  kernel?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

function compileC(): string | null {
  const source = new URL("./c/futex_pingpong.c", import.meta.url).pathname;
  const binary = Deno.makeTempFileSync({ prefix: "vmo-futex-pingpong-" });
  globalThis.addEventListener("unload", () => Deno.removeSync(binary));
  try {
    const out = new Deno.Command("cc", { args: ["-O2", "-o", binary, source], stderr: "piped" })
      .outputSync();
    return out.success ? binary : null;
  } catch {
    return null;
  }
}

/** "; load a b c" when `--allow-sys` grants it, else nothing. */
function loadAverage(): string {
  try {
    return `; load ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`;
  } catch {
    return "";
  }
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const spread = (xs: number[], digits = 1) =>
  `${fmt(median(xs), digits)} [${fmt(Math.min(...xs), digits)}-${fmt(Math.max(...xs), digits)}]`;

/** `deno bench` calls a bench more than once even with `n: 1`: the figures are made once. */
let measured = false;

Deno.bench({
  name: "futex ping-pong: interleaved batches, vmo vs C plain, C spin, and misses (figures logged)",
  group: "futex ping-pong",
  n: 1,
  warmup: 0,
  fn: async () => {
    if (measured) return;
    measured = true;
    if (Deno.permissions.querySync({ name: "run" }).state !== "granted") {
      console.log("futex ping-pong skipped: it needs --allow-run (a child process and cc)");
      return;
    }
    const batches = Number(Deno.env.get("VMO_FUTEX_BATCHES") ?? 9);
    const binary = compileC();
    const [mapping, vmo] = Mapping.allocate(4096);
    const { child, channel } = spawn(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-ffi",
        "--allow-env",
        new URL("./pingpong_peer.ts", import.meta.url).pathname,
      ],
    });
    channel.write(new Uint8Array(0), [vmo.duplicate()]);
    const word = mapping.int32View(0, 2);
    const peerCpuCell = mapping.bigInt64View(8, 1);
    let value = 0;

    const peerCpu = async (): Promise<number> => {
      Atomics.store(word, 0, -2);
      futexWake(mapping, 0, 1);
      while (Atomics.load(word, 0) !== -3) await futexWait(mapping, 0, -2).catch(() => {});
      return Number(Atomics.load(peerCpuCell, 0));
    };
    const vmoBatch = async (rounds: number, delayUs: number): Promise<Sample> => {
      Atomics.store(word, 1, delayUs * 1000);
      const peer0 = await peerCpu();
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < rounds; i++) {
        Atomics.store(word, 0, ++value);
        futexWake(mapping, 0, 1);
        while (Atomics.load(word, 0) === value) await futexWait(mapping, 0, value).catch(() => {});
        value++;
      }
      const us = (performance.now() - start) * 1000 / rounds;
      const used = process.cpuUsage(cpu0);
      const peer = await peerCpu() - peer0;
      return { us, cpu: (used.user + used.system + peer) / rounds };
    };
    const cBatch = (rounds: number, spinning: boolean, delayUs: number): Sample => {
      const spin = spinning ? SPIN_START_NS : 0;
      const args = [rounds, spin, delayUs * 1000, SPIN_MIN_NS, SPIN_MAX_NS].map(String);
      const out = new Deno.Command(binary!, { args }).outputSync();
      const [ns, cpuNs, kernel] = new TextDecoder().decode(out.stdout).trim().split(" ")
        .map(Number);
      return { us: ns / 1000, cpu: cpuNs / 1000, kernel };
    };

    const cases: [string, () => Sample | Promise<Sample>][] = [
      ["vmo", () => vmoBatch(HIT_ROUNDS, 0)],
      ["vmo miss", () => vmoBatch(MISS_ROUNDS, MISS_DELAY_US)],
    ];
    if (binary !== null) {
      cases.splice(1, 0, ["C plain (a)", () => cBatch(HIT_ROUNDS, false, 0)]);
      cases.splice(2, 0, ["C spin (b)", () => cBatch(HIT_ROUNDS, true, 0)]);
      cases.push(["C miss (c)", () => cBatch(MISS_ROUNDS, true, MISS_DELAY_US)]);
      cases.push(["C miss, no spin", () => cBatch(MISS_ROUNDS, false, MISS_DELAY_US)]);
    }
    const samples = new Map<string, Sample[]>(cases.map(([name]) => [name, []]));
    for (let batch = 0; batch <= batches; batch++) {
      for (const [name, run] of cases) {
        const sample = await run();
        if (batch > 0) samples.get(name)!.push(sample);
      }
    }
    Atomics.store(word, 0, -1);
    futexWake(mapping, 0, 1);
    await child.status;
    channel.close();
    mapping.close();
    vmo.close();

    const lines = [
      `futex ping-pong, ${batches} interleaved batches (${HIT_ROUNDS} rounds, misses ` +
      `${MISS_ROUNDS}); vmo's spin: ${SPIN_START_NS / 1000} us at first, adapting within ` +
      `${SPIN_MIN_NS / 1000}-${SPIN_MAX_NS / 1000} us${loadAverage()}`,
      `  ${"case".padEnd(16)} ${
        "us/round trip: median [range]".padEnd(30)
      } CPU us/rt  kernel waits/rt`,
    ];
    for (const [name, list] of samples) {
      const kernel = list[0].kernel === undefined ? "" : spread(list.map((s) => s.kernel!), 2);
      lines.push(
        `  ${name.padEnd(16)} ${spread(list.map((s) => s.us)).padEnd(30)} ` +
          `${fmt(median(list.map((s) => s.cpu))).padEnd(10)} ${kernel}`,
      );
    }
    if (binary === null) {
      lines.push("  cc not found: the C baselines are skipped");
    } else {
      const ratio = (a: string, b: string, minus = 0) => {
        const xs = samples.get(a)!, ys = samples.get(b)!;
        const rs = xs.map((x, i) => (x.us - minus) / (ys[i].us - minus));
        const m = median(rs);
        return `${spread(rs, 2)}x, within 3x: ${m <= 3 ? "yes" : "no"}`;
      };
      lines.push(
        `  (a) vmo / C plain:              ${ratio("vmo", "C plain (a)")}`,
        `  (b) vmo / C spin:               ${ratio("vmo", "C spin (b)")}`,
        `  (c) vmo miss / C miss:          ${ratio("vmo miss", "C miss (c)")}`,
        `  (c) beyond the ${MISS_DELAY_US} us delay:     ` +
          `${ratio("vmo miss", "C miss (c)", MISS_DELAY_US)}`,
      );
    }
    console.log(lines.join("\n"));
  },
});
