/**
 * Third review of the host accessors' fast path (src/guest/accessor_state.ts, layout.ts,
 * host_memory.ts): the fast path tests only the cached view's length, which taking the lock
 * empties in every host state of the layout. Every attack runs in review3_guest_child.ts, in a
 * process of its own whose exit status is asserted (139 SIGSEGV and 135 SIGBUS must never
 * happen), and its statuses and bytes are checked here.
 */

import assert from "node:assert/strict";
import { Status } from "../../mod.ts";
import { childJson, runDeno } from "../_support/mod.ts";

const CHILD = new URL("./review3_guest_child.ts", import.meta.url);
const FLAGS = ["--v8-flags=--expose-gc", "--allow-ffi", "--allow-read", "--allow-write"];

// deno-lint-ignore no-explicit-any
async function run(mode: string): Promise<Record<string, any>> {
  return childJson(await runDeno(FLAGS, CHILD, [mode], 120_000), mode);
}

const ACCESSORS: [string, number, unknown][] = [
  ["U8", 1, 200],
  ["U16", 2, 60000],
  ["U32", 4, 4000000000],
  ["U64", 8, `${0xfedcba9876543210n}n`],
  ["I8", 1, -100],
  ["I16", 2, -30000],
  ["I32", 4, -2000000000],
  ["I64", 8, `${-0x123456789abcdefn}n`],
  ["F32", 4, 1.5],
  ["F64", 8, -2.25],
];

Deno.test("host accessors: every host (clones too) answers SHOULD_WAIT while any side holds the lock, hot", async () => {
  const r = await run("lock-hot");
  assert.deepEqual(r.bad, []);
  // 300 rounds x 3 hosts x 23 operations, each SHOULD_WAIT.
  assert.equal(r.heldOk, 300 * 3 * 23);
  assert.equal(r.wrong, 0, "a write made through the lent memory is read by every host");
  assert.equal(r.afterThrow, "ok:43", "a lock whose fn threw is released (299 & 0xff)");
});

Deno.test("host accessors: host, clone and guest closed inside withExclusivity; one host closed while a clone writes", async () => {
  const r = await run("close-inside");
  const closed = new Array(23).fill(Status.BAD_STATE);
  assert.equal(r.inside, "ok:0");
  assert.equal(r.exAfter, Status.BAD_STATE);
  assert.equal(r.viewAfter, 0, "the lent view is detached when the memory goes");
  assert.equal(r.sliceAfter, 0);
  assert.deepEqual(r.host, closed);
  assert.deepEqual(r.clone, closed);
  assert.equal(r.hostHot, 100_000, "a closed host refuses every hot write");
  assert.equal(r.cloneAfterHostClose, true);
  assert.deepEqual(r.hostAfterClose, closed);
  assert.equal(r.cloneAfterGuestClose, "ok:255", "the clone keeps the mapping");
  assert.deepEqual(r.cloneAfterAll, closed);
  assert.equal(r.selfClose, "ok:1");
  assert.deepEqual(r.afterSelfClose, closed);
  assert.equal(r.lockAfterClose, Status.BAD_STATE);
});

Deno.test("host accessors: every width at the end, past it, and at odd offsets after a hot warm-up", async () => {
  const r = await run("bounds");
  const g = r.got;
  const size = r.size;
  assert.equal(r.valueOfCalls, 0, "no argument's valueOf is ever run");
  assert.equal(r.stillOpen.startsWith("ok:"), true, "the closer's valueOf never ran");
  for (const [name, , value] of ACCESSORS) {
    assert.ok(String(g[`${name}:end`]).startsWith("ok:"), `${name}:end`);
    assert.equal(g[`${name}:endW`], "ok:undefined", `${name}:endW`);
    assert.equal(g[`${name}:endR`], `ok:${value}`, `${name}:endR`);
    for (
      const k of ["past", "pastW", "size", "2^32", "2^32:w", "2^53", "2^53:w", "2^64", "2^64:w"]
    ) {
      assert.equal(g[`${name}:${k}`], Status.OUT_OF_RANGE, `${name}:${k}`);
    }
    for (const label of ["-1", "1.5", "NaN", "Infinity", '"8"', "null", "8n", "closer", "locker"]) {
      assert.equal(g[`${name}:${label}`], Status.INVALID_ARGS, `${name}:${label}`);
      assert.equal(g[`${name}:${label}:w`], Status.INVALID_ARGS, `${name}:${label}:w`);
    }
    assert.ok(String(g[`${name}:-0`]).startsWith("ok:"), `${name}:-0 is offset 0`);
    assert.equal(g[`${name}:objValue`], Status.INVALID_ARGS, `${name}:objValue`);
    if (!name.startsWith("F")) assert.equal(g[`${name}:badValue`], Status.INVALID_ARGS, name);
  }
  for (const op of ["copyTo", "copyFrom", "fill", "fillLen"]) {
    for (const k of ["2^32", "2^53", "2^64"]) assert.equal(g[`${op}:${k}`], Status.OUT_OF_RANGE);
    for (const k of ["-1", "1.5", "NaN", "Infinity", '"8"', "null", "8n", "closer", "locker"]) {
      assert.equal(g[`${op}:${k}`], Status.INVALID_ARGS, `${op}:${k}`);
    }
  }
  assert.equal(g["copyTo:end"], "ok:undefined");
  assert.equal(g["copyTo:past"], Status.OUT_OF_RANGE);
  assert.equal(g["copyFrom:past"], Status.OUT_OF_RANGE);
  assert.equal(g["fill:end"], "ok:undefined");
  assert.equal(g["fill:past"], Status.OUT_OF_RANGE);
  assert.equal(g["fill:zeroAtSize"], "ok:undefined");
  assert.equal(g["fill:badValue"], Status.INVALID_ARGS);
  assert.equal(g["fill:objValue"], Status.INVALID_ARGS);
  assert.equal(g["copyTo:empty"], "ok:undefined");
  assert.equal(g.lastByte, "ok:9", "fill reached the last byte");
  assert.equal(size, 4096);
});

Deno.test("host accessors: the root VMAR unmaps or protects the host's buffer after a hot warm-up", async () => {
  const r = await run("root-cut");
  const every = (after: Record<string, unknown>, s: number) =>
    Object.entries(after).filter(([k]) => k !== "hotErrors" && !k.startsWith("copy"))
      .every(([, v]) => v === s);
  assert.equal(r.unmap.op, "ok:undefined", "the root may destroy the whole sub-VMAR");
  assert.ok(every(r.unmap.after, Status.BAD_STATE), JSON.stringify(r.unmap));
  assert.equal(r.unmap.after.hotErrors, 100_000);
  assert.equal(r.unmapPart.op, Status.INVALID_ARGS, "part of a sub-VMAR is not the root's");
  assert.equal(r.unmapPart.after.hotErrors, 0);
  assert.equal(r.unmapPart.after.r4096, "ok:77");
  for (const how of ["protect", "protectNone"]) {
    assert.equal(r[how].op, "ok:undefined");
    assert.equal(r[how].after.hotErrors, 100_000, `${how}: no write reached the memory`);
    for (const o of [0, 4096, 8200]) {
      assert.equal(r[how].after[`w${o}`], Status.ACCESS_DENIED, `${how} w${o}`);
      assert.equal(r[how].after[`fill${o}`], Status.ACCESS_DENIED, `${how} fill${o}`);
      assert.equal(r[how].after[`cw${o}`], Status.ACCESS_DENIED, `${how} cw${o}`);
    }
  }
  assert.equal(r.protectNone.after.copy0, Status.ACCESS_DENIED);
});

Deno.test("host accessors: 3000 memories built, cloned, locked, closed or dropped leave no fd or mapping", async () => {
  const r = await run("churn");
  assert.equal(r.ok, 3000);
  assert.equal(r.fdsLeft, 0);
  assert.equal(r.memfdsLeft, 0);
  assert.equal(r.mapsLeft, 0);
});

Deno.test("host accessors: another mapping of the VMO (as another process) holding its own lock", async () => {
  const r = await run("foreign");
  assert.equal(r.held, 200);
  assert.equal(r.seen, 200, "the host reads the other mapping's writes and it reads the host's");
  assert.equal(r.afterForeignClose, "ok:199");
});
