/**
 * Second review of the one-call unmap inside one mapping and `Mapping.close`'s direct path
 * (src/vmar/teardown.ts `unmapInOne`, src/mapping/window.ts watching its one record): views
 * across close and partial unmaps, protect then unmap, double close, close from inside the
 * library's reading of its arguments, and a `Mapping` whose range was unmapped (and the address
 * given to another mapping) before its close or collection. Each in teardown_child.ts, whose
 * exit status and tree-versus-/proc/self/maps report are asserted.
 */

import assert from "node:assert/strict";
import { Status } from "../../mod.ts";
import { childJson, runDeno } from "../_support/mod.ts";

const CHILD = new URL("./teardown_child.ts", import.meta.url);
const FLAGS = ["--v8-flags=--expose-gc", "--allow-ffi", "--allow-read", "--allow-write"];

// deno-lint-ignore no-explicit-any
async function run(mode: string): Promise<Record<string, any>> {
  const r = childJson<Record<string, unknown>>(await runDeno(FLAGS, CHILD, [mode], 60_000), mode);
  assert.deepEqual(r.problems, [], "tree and kernel agree after the first round");
  assert.deepEqual(r.problemsEnd, [], "tree and kernel agree at the end");
  return r;
}

Deno.test("close detaches views, quarantines their memory, and a second close is a no-op", async () => {
  const r = await run("close");
  assert.equal(r.viewAfterClose, 0);
  assert.equal(r.secondClose, "ok");
  assert.equal(r.writeAfterClose, Status.BAD_STATE);
  assert.notEqual(r.kernelAfterClose, "", "memory that had views stays mapped (quarantine)");
});

Deno.test("an unmap of one page of a Mapping detaches its views and kills the buffer", async () => {
  const r = await run("partial");
  assert.equal(r.viewAfterPartial, 0);
  assert.equal(r.writeAfterPartial, Status.BAD_STATE);
  assert.equal(r.bytesAfterPartial, Status.BAD_STATE);
  assert.notEqual(r.kernelHole, "", "the unmapped page had a view: quarantined");
  assert.equal(r.close, "ok");
});

Deno.test("protect to read-only detaches, unmap then kills, and close twice is fine", async () => {
  const r = await run("protect-unmap");
  assert.equal(r.viewAfterProtect, 0);
  assert.equal(r.bytesReadOnly, Status.ACCESS_DENIED);
  assert.equal(r.readAfterProtect, "ok:1");
  assert.equal(r.readAfterUnmap, Status.BAD_STATE);
  assert.equal(r.close, "ok");
  assert.equal(r.secondClose, "ok");
});

for (const mode of ["unmap-then-close", "unmap-then-gc"]) {
  Deno.test(`${mode}: a Mapping unmapped through Vmar.unmap never unmaps its successor`, async () => {
    const r = await run(mode);
    assert.equal(r.reused, true, "another mapping took the freed address");
    if (mode === "unmap-then-close") assert.equal(r.close, "ok");
    assert.equal(r.otherView, 4 * 4096);
    assert.equal(r.otherByte, 77);
    assert.equal(r.otherKernel, "rw-");
  });
}

Deno.test("a Mapping closed from inside writeAt's reading of its arguments", async () => {
  const r = await run("callback");
  assert.equal(r.valueOfOffset, Status.INVALID_ARGS, "an object offset is refused unread");
  assert.equal(r.evilSrc, "ok:4096", "a subclass's getters are not called");
  assert.equal(r.afterEvil, "ok:1");
  assert.equal(r.finalView, 0);
});
