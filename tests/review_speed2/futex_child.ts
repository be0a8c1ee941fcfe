/**
 * Child of futex.test.ts: `futexWait`'s adaptive spin against odd timeouts (0, 1e-3, 1e-9,
 * NaN, negative, Infinity, huge), many words at once, and the memory closed while waits spin
 * or sleep. Prints a JSON report as its last line: each outcome and how long it took.
 */

import { futexWait, futexWake, Mapping, PAGE_SIZE as P, ZxError } from "../../mod.ts";

const report: Record<string, unknown> = {};

async function outcome(p: Promise<void>): Promise<number | string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (e instanceof ZxError) return e.status;
    return `other:${e}`;
  }
}

const [m, vmo] = Mapping.allocate(P);
const small: [string, number][] = Deno.args[0] === "infinity" ? [] : [
  ["zero", 0],
  ["milli", 1e-3],
  ["tiny", 1e-9],
  ["nan", NaN],
  ["negative", -5],
  ["minusZero", -0],
  ["fraction", 2.5],
];
for (const [name, t] of small) {
  const start = performance.now();
  let status: number | string;
  try {
    status = await outcome(futexWait(m, 0, 0, t));
  } catch (e) {
    status = e instanceof ZxError ? `sync:${e.status}` : `other:${e}`;
  }
  report[name] = status;
  report[`${name}:ms`] = Math.round(performance.now() - start);
}

// Huge and infinite timeouts: woken by futexWake from a timer.
// `infinity` only in its own mode (see futex.test.ts: it never returns).
const infinite: [string, number][] = Deno.args[0] === "infinity"
  ? [["infinity", Infinity]]
  : [["huge", 1e12], ["e300", 1e300], ["max", Number.MAX_VALUE]];
for (const [name, t] of infinite) {
  const start = performance.now();
  let p: Promise<void>;
  try {
    p = futexWait(m, 4, 0, t);
  } catch (e) {
    report[name] = e instanceof ZxError ? `sync:${e.status}` : `other:${e}`;
    continue;
  }
  const woke: number[] = [];
  const timer = setInterval(() => woke.push(futexWake(m, 4, 1)), 20);
  report[name] = await outcome(p);
  clearInterval(timer);
  report[`${name}:ms`] = Math.round(performance.now() - start);
}

// Many words: 256 waiters on 256 words, each woken once.
if (Deno.args[0] !== "infinity") {
  const waits = [];
  for (let w = 0; w < 256; w++) waits.push(outcome(futexWait(m, 8 + 4 * w, 0, 20_000)));
  await new Promise((r) => setTimeout(r, 50));
  let woken = 0;
  for (let w = 0; w < 256; w++) woken += futexWake(m, 8 + 4 * w, 10);
  const results = await Promise.all(waits);
  report.manyWoken = woken;
  report.manyOk = results.filter((r) => r === "ok").length;
  report.manyOther = [...new Set(results.filter((r) => r !== "ok"))];
}

// The memory closed while waits spin (short timeouts) and sleep (long ones).
if (Deno.args[0] !== "infinity") {
  const [m2, vmo2] = Mapping.allocate(P);
  const waits = [
    outcome(futexWait(m2, 0, 0, 0.01)),
    outcome(futexWait(m2, 4, 0, 0.05)),
    outcome(futexWait(m2, 8, 0, 3000)),
  ];
  m2.close();
  vmo2.close();
  const start = performance.now();
  report.closedWhileWaiting = await Promise.all(waits);
  report["closedWhileWaiting:ms"] = Math.round(performance.now() - start);
  report.waitAfterClose = await outcome(
    (async () => await futexWait(m2, 0, 0, 10))(),
  );
}
m.close();
vmo.close();
console.log(JSON.stringify(report));
