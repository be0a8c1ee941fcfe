/**
 * The typed accessors of two checkouts of vmo in one process, A/B: `readU32`, `writeU32`,
 * `writeU64` and a mixed-width loop, timed in alternating order (ABBA) after warm-up; prints
 * the median and the minimum of each (the minimum is the steadier figure on a loaded machine)
 * and new/old ratios. Each loop is compiled once per checkout (`new Function`), so neither
 * side's call sites see the other's classes.
 *
 * Two copies of the same code measure the noise floor (the second-loaded side came out 2-4%
 * faster here). Run:
 * `deno run --allow-ffi --allow-read --allow-write tools/accessor_ab.ts OLD/mod.ts [NEW/mod.ts] [rounds]`
 *
 * @module
 */

type Buffer = Record<string, (...args: unknown[]) => unknown>;
interface Lib {
  Mapping: { allocate(size: number): [Buffer & { close(): void }, { close(): void }] };
}

const oldPath = Deno.args[0];
if (oldPath === undefined) {
  console.error("usage: tools/accessor_ab.ts OLD/mod.ts [NEW/mod.ts] [rounds]");
  Deno.exit(2);
}
const newPath = Deno.args[1] ?? new URL("../mod.ts", import.meta.url).href;
const ROUNDS = Number(Deno.args[2] ?? 41);
const WARMUP = 3;
const N = 500_000;
const MIXED = 50_000;

const toUrl = (p: string) => p.includes("://") ? p : new URL(p, `file://${Deno.cwd()}/`).href;
const sides = [
  { name: "old", lib: (await import(toUrl(oldPath))) as Lib },
  { name: "new", lib: (await import(toUrl(newPath))) as Lib },
];

const BODIES: Record<string, [string, number]> = {
  readU32: ["let s = 0; for (let i = 0; i < N; i++) s ^= m.readU32(64); return s;", N],
  writeU32: ["for (let i = 0; i < N; i++) m.writeU32(64, i); return 0;", N],
  writeU64: ["for (let i = 0; i < N; i++) m.writeU64(64, 5n); return 0;", N],
  mixed: [
    `let s = 0;
    for (let i = 0; i < MIXED; i++) {
      const o = (i * 37) & 0xfff;
      m.writeU8(o, i & 0xff); m.writeU16(o + 1, i & 0xffff); m.writeU32(o + 3, i);
      m.writeU64(o + 7, BigInt(i)); m.writeF64(o + 15, i * 0.5);
      s ^= m.readU8(o + 2); s ^= m.readU16(o + 5); s ^= m.readU32(o + 9);
      s ^= Number(m.readU64(o + 11) & 0xffn); s ^= m.readF64(o + 17) | 0;
    }
    return s;`,
    MIXED * 10,
  ],
};

const runs = sides.map(({ name, lib }) => {
  const [mapping, vmo] = lib.Mapping.allocate(65536);
  mapping.writeAt(0, new Uint8Array(65536)); // fault every page in
  const loops = new Map<string, () => number>();
  for (const [k, [body]] of Object.entries(BODIES)) {
    const f = new Function("m", "N", "MIXED", body);
    loops.set(k, () => f(mapping, N, MIXED));
  }
  return {
    name,
    loops,
    times: new Map<string, number[]>(),
    close: () => (mapping.close(), vmo.close()),
  };
});

let sink = 0;
for (let round = 0; round < WARMUP + ROUNDS; round++) {
  for (const [k, [, ops]] of Object.entries(BODIES)) {
    for (const side of round % 2 ? runs : [...runs].reverse()) {
      const t0 = performance.now();
      sink ^= side.loops.get(k)!();
      const ns = (performance.now() - t0) * 1e6 / ops;
      if (round >= WARMUP) side.times.set(k, [...(side.times.get(k) ?? []), ns]);
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log("ns per access        old median  new median  ratio   old min  new min  ratio");
for (const k of Object.keys(BODIES)) {
  const [o, n] = runs.map((r) => r.times.get(k)!);
  const row = [median(o), median(n), median(n) / median(o), Math.min(...o), Math.min(...n)];
  row.push(row[4] / row[3]);
  console.log(k.padEnd(20), ...row.map((x) => x.toFixed(2).padStart(10)));
}
if (sink === 0.5) console.log(sink); // keep the reads observable
for (const r of runs) r.close();
