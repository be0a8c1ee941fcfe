/**
 * futexWait / futexWake: Zircon's statuses, waking counts, timeouts, slices, waits on memory
 * unmapped while they sleep (in a child process: no fault, no hang), and a ping-pong between
 * two processes with no lost wake-up.
 */

import assert from "node:assert/strict";
import {
  Channel,
  futexWait,
  futexWake,
  Mapping,
  MAX_CONCURRENT_WAITS,
  Status,
  ZxError,
} from "../../mod.ts";
import { adapt, SPIN_MAX_NS, SPIN_MIN_NS, SPIN_START_NS, spinNsOf } from "../../src/futex/futex.ts";
import { assertStatus, runDeno, spawnDenoChild } from "../_support/mod.ts";

async function rejectsWith(promise: Promise<unknown>, status: Status): Promise<void> {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof ZxError, String(e));
    assert.equal(e.status, status, e.message);
    return true;
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("futex: argument statuses", async () => {
  const [mapping, vmo] = Mapping.allocate(4096);
  await rejectsWith(futexWait(mapping, 2, 0), Status.INVALID_ARGS); // misaligned
  await rejectsWith(futexWait(mapping, -4, 0), Status.INVALID_ARGS);
  await rejectsWith(futexWait(mapping, 4096, 0), Status.OUT_OF_RANGE);
  await rejectsWith(futexWait(mapping, 0, 1.5), Status.INVALID_ARGS);
  await rejectsWith(futexWait(mapping, 0, 2 ** 32), Status.INVALID_ARGS);
  await rejectsWith(futexWait(mapping, 0, 0, -1), Status.INVALID_ARGS);
  await rejectsWith(futexWait(mapping, 0, 0, NaN), Status.INVALID_ARGS);
  // Not a memory object: INVALID_ARGS (a handle such as a Vmo: WRONG_TYPE)
  await rejectsWith(futexWait({} as Mapping, 0, 0), Status.INVALID_ARGS);
  assertStatus(() => futexWake(mapping, 1, 1), Status.INVALID_ARGS);
  assertStatus(() => futexWake(mapping, 0, -1), Status.INVALID_ARGS);
  assertStatus(() => futexWake(mapping, 4096, 1), Status.OUT_OF_RANGE);
  mapping.close();
  await rejectsWith(futexWait(mapping, 0, 0), Status.BAD_STATE); // unmapped
  assertStatus(() => futexWake(mapping, 0, 1), Status.BAD_STATE);
  vmo.close();
});

Deno.test("futex: BAD_STATE when the word is not current; unsigned and signed agree", async () => {
  const [mapping, vmo] = Mapping.allocate(4096);
  mapping.writeU32(0, 0xffff_ffff);
  await rejectsWith(futexWait(mapping, 0, 0), Status.BAD_STATE);
  await rejectsWith(futexWait(mapping, 0, -1, 0), Status.TIMED_OUT); // -1 is 0xffffffff
  await rejectsWith(futexWait(mapping, 0, 0xffff_ffff, 0), Status.TIMED_OUT);
  mapping.close();
  vmo.close();
});

Deno.test("futex: TIMED_OUT after the timeout, not before", async () => {
  const [mapping, vmo] = Mapping.allocate(4096);
  const start = performance.now();
  await rejectsWith(futexWait(mapping, 0, 0, 50), Status.TIMED_OUT);
  assert.ok(performance.now() - start >= 49, "the wait lasted its timeout");
  await rejectsWith(futexWait(mapping, 0, 0, 0), Status.TIMED_OUT);
  mapping.close();
  vmo.close();
});

Deno.test("futex: wake counts the waiters it woke; slices name the same word", async () => {
  const [mapping, vmo] = Mapping.allocate(4096);
  const slice = mapping.slice(64, 128);
  const waits = [futexWait(mapping, 64, 0), futexWait(slice, 0, 0), futexWait(mapping, 64, 0)];
  await sleep(50); // let the waits reach the kernel
  assert.equal(futexWake(slice, 0, 1), 1);
  assert.equal(futexWake(mapping, 64, Infinity), 2);
  await Promise.all(waits);
  assert.equal(futexWake(mapping, 64, 5), 0);
  mapping.close();
  vmo.close();
});

Deno.test("futex: at most 16 waits at once, and channel reads still run beside them", async () => {
  const [mapping, vmo] = Mapping.allocate(4096);
  const waits = Array.from(
    { length: MAX_CONCURRENT_WAITS },
    (_, i) => futexWait(mapping, 4 * i, 0),
  );
  await rejectsWith(futexWait(mapping, 4 * MAX_CONCURRENT_WAITS, 0), Status.NO_RESOURCES);
  // a wait that needs no thread (the word is not current) is still answered
  mapping.writeU32(4 * MAX_CONCURRENT_WAITS, 1);
  await rejectsWith(futexWait(mapping, 4 * MAX_CONCURRENT_WAITS, 0), Status.BAD_STATE);
  await sleep(50);
  const [a, b] = Channel.createPair();
  const read = b.read();
  setTimeout(() => a.write(new Uint8Array([3])), 20);
  assert.equal((await read).bytes[0], 3, "the channel poll found a thread");
  for (let i = 0; i < MAX_CONCURRENT_WAITS; i++) {
    mapping.writeU32(4 * i, 1);
    futexWake(mapping, 4 * i, 1);
  }
  await Promise.all(waits);
  for (const h of [a, b, mapping, vmo]) h.close();
});

Deno.test("futex: a wait on memory unmapped while it sleeps ends with BAD_STATE", async () => {
  const r = await runDeno(["--allow-ffi"], new URL("./unmap_child.ts", import.meta.url));
  assert.equal(r.timedOut, false, "the child hung");
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stdout.trim(), "ok");
});

// 100,000 rounds took 6 s on the project's loaded 2-vCPU machine (about 40-60 us a round);
// VMO_FUTEX_ROUNDS sets fewer (or more).
const ROUNDS = Number(Deno.env.get("VMO_FUTEX_ROUNDS") ?? 100_000);

Deno.test(`futex: ${ROUNDS} ping-pong rounds between two processes, no lost wake-up`, async () => {
  const [mapping, vmo] = Mapping.allocate(4096);
  const { child, channel } = spawnDenoChild(
    new URL("./pingpong_child.ts", import.meta.url),
    [String(ROUNDS)],
  );
  channel.write(new Uint8Array(0), [vmo.duplicate()]);
  const word = mapping.int32View(0, 1);
  for (let i = 0; i < ROUNDS; i++) {
    Atomics.store(word, 0, 2 * i + 1);
    futexWake(mapping, 0, 1);
    // Wait without a timeout: a lost wake-up hangs the test, which then fails by its timer.
    while (Atomics.load(word, 0) === 2 * i + 1) {
      await futexWait(mapping, 0, 2 * i + 1).catch((e) => {
        if (!(e instanceof ZxError) || e.status !== Status.BAD_STATE) throw e;
      });
    }
    assert.equal(Atomics.load(word, 0), 2 * i + 2);
  }
  assert.equal(new TextDecoder().decode((await channel.read()).bytes), "done");
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  channel.close();
  mapping.close();
  vmo.close();
});

Deno.test("futex: a timeout shorter than the spin ends the spin with TIMED_OUT", async () => {
  const [mapping, vmo] = Mapping.allocate(4096);
  for (const ms of [0.001, 0.005, SPIN_START_NS / 2e6]) {
    const start = performance.now();
    await rejectsWith(futexWait(mapping, 0, 0, ms), Status.TIMED_OUT);
    assert.ok(performance.now() - start >= ms, `the wait lasted its timeout of ${ms} ms`);
  }
  mapping.close();
  vmo.close();
});

Deno.test("futex: the spin adapts per word by its rules, within its bounds", () => {
  const word = { spinNs: SPIN_START_NS };
  adapt(word, 0, true); // caught at once: no change
  assert.equal(word.spinNs, SPIN_START_NS);
  adapt(word, SPIN_START_NS * 0.75, true); // caught late in the spin: twice as long
  assert.equal(word.spinNs, SPIN_START_NS * 2);
  adapt(word, SPIN_MAX_NS, true);
  assert.equal(word.spinNs, SPIN_MAX_NS, "never beyond the longest spin");
  word.spinNs = 4_000;
  adapt(word, 10_000, false); // woken in the kernel soon after the spin: a longer spin
  assert.equal(word.spinNs, 12_500);
  adapt(word, 8_000, false); // a shorter wait never shortens it
  assert.equal(word.spinNs, 12_500);
  adapt(word, SPIN_MAX_NS + 1, false); // too long to spin for: halve
  assert.equal(word.spinNs, 6_250);
  for (let i = 0; i < 10; i++) adapt(word, Infinity, false);
  assert.equal(word.spinNs, SPIN_MIN_NS, "never below the shortest spin");
});

Deno.test("futex: waits that outlast any spin shrink the word's spin; other words keep theirs", async () => {
  const [mapping, vmo] = Mapping.allocate(4096);
  assert.equal(spinNsOf(mapping, 0), undefined);
  futexWake(mapping, 4, 1);
  assert.equal(spinNsOf(mapping, 4), SPIN_START_NS);
  for (let i = 0; i < 8; i++) await rejectsWith(futexWait(mapping, 0, 0, 2), Status.TIMED_OUT);
  assert.equal(spinNsOf(mapping, 0), SPIN_MIN_NS);
  assert.equal(spinNsOf(mapping, 4), SPIN_START_NS);
  // a kernel wait that ends by a wake, long after the spin: the spin stays short
  const waiting = futexWait(mapping, 0, 0);
  await sleep(20);
  mapping.writeU32(0, 1);
  futexWake(mapping, 0, 1);
  await waiting;
  assert.equal(spinNsOf(mapping, 0), SPIN_MIN_NS);
  mapping.close();
  vmo.close();
});
