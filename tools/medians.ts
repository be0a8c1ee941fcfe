/**
 * The interleaved-median runner of the tools' micro-benchmarks: every case runs once per round,
 * in turn, so that a slow moment of the machine hits all of them; the first `warmup` rounds are
 * dropped and each case reports its median time per operation, beside its baseline's.
 *
 * @module
 */

/** One timed case: `fn` does `ops` operations and returns a value folded into a sink. */
export interface MedianCase {
  name: string;
  ops: number;
  /** The name of the case this one is compared with. */
  baseline?: string;
  fn: () => number;
}

/** Runs `cases` for `warmup + rounds` interleaved rounds and prints each median, in `unit`. */
export function printMedians(
  cases: MedianCase[],
  rounds: number,
  warmup: number,
  unit: string,
): void {
  // The results are folded into one local (a module-level `let` written from the timed
  // functions would deoptimize them each time its value changed).
  let sink = 0;
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let round = 0; round < warmup + rounds; round++) {
    for (const c of cases) {
      const t0 = performance.now();
      sink ^= c.fn();
      const ns = (performance.now() - t0) * 1e6 / c.ops;
      if (round >= warmup) times.get(c.name)!.push(ns);
    }
  }
  for (const c of cases) {
    const m = median(times.get(c.name)!);
    const ratio = c.baseline
      ? ` (${(m / median(times.get(c.baseline)!)).toFixed(2)}x baseline)`
      : "";
    console.log(`${c.name.padEnd(28)} ${m.toFixed(2).padStart(7)} ${unit}${ratio}`);
  }
  if (sink === 0.5) console.log(sink); // keep the results observable
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}
