/**
 * Second review of `futexWait`'s adaptive spin (src/futex/futex.ts), in futex_child.ts: odd
 * timeouts, many words, and memory closed while waits spin or sleep; exit status asserted.
 */

import assert from "node:assert/strict";
import { Status } from "../../mod.ts";
import { childJson, runDeno } from "../_support/mod.ts";

const CHILD = new URL("./futex_child.ts", import.meta.url);
const FLAGS = ["--allow-ffi", "--allow-read", "--allow-write"];

Deno.test("futexWait: timeouts 0, 1e-3, 1e-9, -0, 2.5 time out; NaN and -5 are INVALID_ARGS", async () => {
  const r = childJson<Record<string, unknown>>(await runDeno(FLAGS, CHILD, ["all"], 60_000), "all");
  for (const name of ["zero", "milli", "tiny", "minusZero", "fraction"]) {
    assert.equal(r[name], Status.TIMED_OUT, name);
  }
  assert.equal(r.nan, Status.INVALID_ARGS);
  assert.equal(r.negative, Status.INVALID_ARGS);
  assert.equal(r.huge, "ok", "a wait of 1e12 ms is woken");
  assert.equal(r.e300, "ok", "a wait of 1e300 ms is woken");
  // Its nanoseconds overflow a double: the kernel wait is capped and repeated instead (was INTERNAL).
  assert.equal(r.max, "ok", "a wait of Number.MAX_VALUE ms is woken");
  assert.ok((r.manyOk as number) > 0);
  assert.equal(r.manyOk, r.manyWoken, "every waiter woken resolved");
  for (const s of r.manyOther as unknown[]) assert.equal(s, Status.NO_RESOURCES);
  const closed = r.closedWhileWaiting as unknown[];
  for (const s of closed) assert.ok(s === Status.TIMED_OUT || s === Status.BAD_STATE, String(s));
  assert.equal(closed[2], Status.BAD_STATE, "the sleeping wait ends when its memory goes");
  assert.ok((r["closedWhileWaiting:ms"] as number) < 2500, "it ended before its timeout");
  assert.equal(r.waitAfterClose, Status.BAD_STATE);
});

Deno.test({
  // Found in review: the adaptive spin computed its start as deadline - timeoutMs, NaN for an
  // Infinity timeout, and spun synchronously forever.
  name: "futexWait with an Infinity timeout returns a promise and is woken by futexWake",
  async fn() {
    const r = childJson<Record<string, unknown>>(
      await runDeno(FLAGS, CHILD, ["infinity"], 10_000),
      "infinity",
    );
    assert.equal(r.infinity, "ok");
  },
});
