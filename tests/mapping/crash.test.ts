/**
 * Crash tests (docs/semantics.md §7, the safety invariant): anything that could fault
 * runs in a child `deno run --allow-ffi`, and the test asserts the child exited normally (a
 * fault exits with 139) and printed what it should.
 *
 * - `crash/views_child.ts <scenario>`: views from `bytes()`, `int32View`, `bigInt64View`, a
 *   slice's `bytes()` and subarrays, hammered in an optimized loop while the memory is unmapped,
 *   protected, shrunk, destroyed, overwritten or closed under them.
 * - `crash/hostile_child.ts`: every method with hostile arguments.
 * - `crash/steal_child.ts <variant>`: a `dst` whose own `set` receives the source view.
 */

import assert from "node:assert/strict";
import { childJson, type ChildResult, P, runDeno } from "../_support/mod.ts";

const VIEWS = new URL("./crash/views_child.ts", import.meta.url);
const HOSTILE = new URL("./crash/hostile_child.ts", import.meta.url);
const STEAL = new URL("./crash/steal_child.ts", import.meta.url);

/** Runs at most `limit` children at a time; each run starts when a slot is free. */
function pool(limit: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (run: () => Promise<ChildResult>): Promise<ChildResult> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await run();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

interface ViewsResult {
  scenario: string;
  n: number;
  liveLengths: number[];
  lengths: number[];
  byteLengths: number[];
  warmUndef: number;
  warmAtomics: Record<string, number>;
  midUndef: number;
  expectedMidUndef: number;
  postUndef: number;
  expectedPostUndef: number;
  postSum: number;
  postAtomics: Record<string, number>;
  vmoUnchangedSinceOp: boolean;
  readAt: string;
  writeAt: string;
  bytes: string;
  [key: string]: unknown;
}

const SCENARIOS: [string, string, Record<string, unknown>][] = [
  ["unmap", "Vmar.unmap of the whole mapping", {
    readAt: "ZX_ERR_BAD_STATE",
    writeAt: "ZX_ERR_BAD_STATE",
    bytes: "ZX_ERR_BAD_STATE",
  }],
  ["unmap-partial", "Vmar.unmap of the second page", {
    readAt: "ZX_ERR_BAD_STATE",
    writeAt: "ZX_ERR_BAD_STATE",
    bytes: "ZX_ERR_BAD_STATE",
  }],
  ["protect-ro", "Vmar.protect down to read-only", {
    readAt: "ZX_OK",
    writeAt: "ZX_ERR_ACCESS_DENIED",
    bytes: "ZX_ERR_ACCESS_DENIED",
  }],
  ["protect-none", "Vmar.protect down to none", {
    readAt: "ZX_ERR_ACCESS_DENIED",
    writeAt: "ZX_ERR_ACCESS_DENIED",
    bytes: "ZX_ERR_ACCESS_DENIED",
  }],
  ["destroy", "Vmar.destroy of the VMAR", {
    readAt: "ZX_ERR_BAD_STATE",
    writeAt: "ZX_ERR_BAD_STATE",
    bytes: "ZX_ERR_BAD_STATE",
  }],
  ["overwrite", "Vmar.map SPECIFIC_OVERWRITE with another VMO", {
    readAt: "ZX_ERR_BAD_STATE",
    writeAt: "ZX_ERR_BAD_STATE",
    bytes: "ZX_ERR_BAD_STATE",
    newMemoryUntouched: true,
    newBufferWorks: "ZX_OK",
  }],
  ["close", "Mapping.close", {
    readAt: "ZX_ERR_BAD_STATE",
    writeAt: "ZX_ERR_BAD_STATE",
    bytes: "ZX_ERR_BAD_STATE",
  }],
];

const STEALS: [string, string][] = [
  ["ro-fast", "read-only mapping, cached view: set() writes to its source"],
  ["ro-slow", "read-only page beside a PROT_NONE page, temporary view: set() writes to it"],
  ["ro-later", "read-only mapping: the view set() kept is written afterwards"],
  ["rw-unmap-later", "read-write mapping: the kept view is written after Mapping.close"],
];

Deno.test("crash tests: old views, hostile arguments, stolen views (child processes)", async (t) => {
  const run = pool(3);
  const views = new Map(
    SCENARIOS.map(([s]) => [s, run(() => runDeno(["--allow-ffi"], VIEWS, [s], 60_000))]),
  );
  const hostile = run(() => runDeno(["--allow-ffi"], HOSTILE, [], 60_000));
  const steals = new Map(
    STEALS.map(([v]) => [v, run(() => runDeno(["--allow-ffi"], STEAL, [v], 30_000))]),
  );
  // Let every child finish even when a step fails, so none outlives the test.
  const all = Promise.allSettled([...views.values(), hostile, ...steals.values()]);
  try {
    for (const [scenario, what, expected] of SCENARIOS) {
      await t.step(`views held across ${what}: detached, never fault`, async () => {
        const out = childJson<ViewsResult>(await views.get(scenario)!, scenario);
        assert.deepEqual(out.liveLengths, [2 * P, 128, P, P / 2, 1000, P / 4, 300]);
        assert.equal(out.warmUndef, 0, "live views read values");
        assert.deepEqual(out.warmAtomics, {}, "Atomics work on live views");
        assert.deepEqual(out.lengths, out.lengths.map(() => 0), "every view has length 0");
        assert.deepEqual(out.byteLengths, out.byteLengths.map(() => 0));
        assert.equal(out.midUndef, out.expectedMidUndef, "every read after the op is undefined");
        assert.equal(out.postUndef, out.expectedPostUndef);
        assert.equal(out.postSum, 0, "checksum of the detached reads");
        assert.deepEqual(Object.keys(out.postAtomics), ["TypeError"]);
        assert.equal(out.postAtomics.TypeError, 4 * 20_000, "every Atomics call throws");
        assert.ok(out.vmoUnchangedSinceOp, "no write through an old view reached the VMO");
        for (const [key, value] of Object.entries(expected)) {
          assert.deepEqual(out[key], value, `${scenario}: ${key}`);
        }
      });
    }
    await t.step(
      "every method with hostile arguments: the process lives, only ZxError thrown",
      async () => {
        const out = childJson<{ calls: number; nonZx: string[]; fakes: Record<string, string> }>(
          await hostile,
          "hostile",
        );
        console.log(`hostile: ${out.calls} calls; pretend byte arrays and wrong this:`);
        for (const [call, outcome] of Object.entries(out.fakes)) {
          console.log(`  ${call} → ${outcome}`);
        }
        assert.ok(out.calls > 10_000);
        assert.deepEqual(
          out.nonZx,
          [],
          "docs/semantics.md §0: every failure throws ZxError, nothing else",
        );
      },
    );
    for (const [variant, what] of STEALS) {
      await t.step(`a dst whose own set() gets the source view: ${what}`, async () => {
        const out = childJson<
          { survived: boolean; stolenLengthAfter?: number; thiefCalled: boolean }
        >(
          await steals.get(variant)!,
          `steal ${variant}`,
        );
        assert.ok(out.survived);
        assert.equal(out.thiefCalled, false, "the dst's own set() is never called");
        if (out.stolenLengthAfter !== undefined) assert.equal(out.stolenLengthAfter, 0);
      });
    }
  } finally {
    await all;
  }
});
