/**
 * Guard pages really fault, and the safe API refuses the same offsets (docs/guest.md "hyperlight",
 * issue 10 "Guard pages really fault"). Port of the intent of hyperlight's guard-page tests
 * (`shared_mem.rs`, `guard_page_crash_test`: touch the page before and after the buffer in a
 * child and expect it to die), run here as child `deno` processes whose exit status is checked.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Status } from "../../mod.ts";
import { runDeno } from "../_support/mod.ts";
import { CHILD_FLAGS, resultOf } from "./helpers.ts";

const CHILD = new URL("./crash/guard_child.ts", import.meta.url);

Deno.test("guard pages: a raw touch before or after the buffer dies with SIGSEGV", async (t) => {
  for (const mode of ["before", "after"]) {
    await t.step(mode, async () => {
      const run = await runDeno(CHILD_FLAGS, CHILD, [mode]);
      assert.ok(run.stdout.includes(`TOUCH ${mode}`), run.stderr);
      assert.equal(run.code, 139, `expected SIGSEGV (139), got ${run.code}: ${run.stderr}`);
    });
  }
  await t.step("inside: the first and last bytes are there (the control)", async () => {
    const run = await runDeno(CHILD_FLAGS, CHILD, ["inside"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(resultOf(run.stdout), { first: 1, last: 2 });
  });
});

Deno.test("guard pages: the safe API refuses the same offsets with a status", async () => {
  const run = await runDeno(CHILD_FLAGS, CHILD, ["safe"]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(resultOf(run.stdout), {
    "readU8(-1)": Status.INVALID_ARGS,
    "readU8(size)": Status.OUT_OF_RANGE,
    "readU64(size-7)": Status.OUT_OF_RANGE,
    "copyToSlice(1, size)": Status.OUT_OF_RANGE,
    "copyFromSlice(2, size-1)": Status.OUT_OF_RANGE,
    "fill(size, 1)": Status.OUT_OF_RANGE,
    "guest readU8(size)": Status.OUT_OF_RANGE,
  });
});

Deno.test("detached views given to ordinary Deno and web APIs after close: no fault", async () => {
  const run = await runDeno(CHILD_FLAGS, CHILD, ["views"]);
  assert.equal(run.code, 0, run.stderr);
  const outcomes = resultOf(run.stdout) as unknown as string[];
  assert.equal(outcomes.length, 19);
  for (const outcome of outcomes) {
    assert.ok(/:(0|TypeError)$/.test(outcome), `${outcome}: a detached view reads as empty`);
  }
});
