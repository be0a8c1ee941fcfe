/**
 * A pending read or accept never blocks the event loop, keeps the process alive while it can
 * still complete, and stops keeping it alive once its channel or listener is closed.
 */

import assert from "node:assert/strict";
import { Channel, futexWait, futexWake, Mapping } from "../../mod.ts";
import { runDeno } from "../_support/mod.ts";

const child = new URL("./liveness_child.ts", import.meta.url);
const flags = ["--allow-ffi", "--allow-read", "--allow-write"];

Deno.test("liveness: a process with a closed pending read or accept exits", async (t) => {
  for (const which of ["closed-read", "closed-accept"]) {
    await t.step(which, async () => {
      const r = await runDeno(flags, child, [which], 10_000);
      assert.equal(r.timedOut, false, `${which}: the process did not exit`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /ZX_ERR_CANCELED/);
    });
  }
});

Deno.test("liveness: an open pending read keeps the process alive until it completes", async () => {
  // Only an unref'd timer writes, 300 ms in: the pending read alone must keep the process up.
  const r = await runDeno(flags, child, ["open-read"], 10_000);
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /got 7/);
});

Deno.test("liveness: a channel whose only reference is its pending read survives a GC", async () => {
  const r = await runDeno([...flags, "--v8-flags=--expose-gc"], child, ["unreachable-read"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /got 5/);
});

Deno.test("liveness: timers keep firing while read() and futexWait() are pending", async () => {
  const [a, b] = Channel.createPair();
  const [mapping, vmo] = Mapping.allocate(4096);
  const read = b.read();
  const wait = futexWait(mapping, 0, 0);
  let ticks = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (++ticks === 20) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const elapsed = performance.now() - start;
  assert.ok(elapsed < 2000, `20 ticks of 5 ms took ${elapsed} ms`);
  a.write(new Uint8Array([1]));
  mapping.writeU32(0, 1);
  futexWake(mapping, 0, 1);
  assert.equal((await read).bytes[0], 1);
  await wait;
  for (const h of [a, b, mapping, vmo]) h.close();
});
