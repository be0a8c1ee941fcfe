/**
 * Crash tests for `Vmar` (docs/semantics.md §7 and §6 D7: faults are fatal on Linux):
 * each scenario in `tests/vmar/crash/` runs in a child `deno run --allow-ffi` and tries to
 * make the library touch memory it should not: readMemory/writeMemory right after unmap,
 * after protect to 0 and to read-only, after destroy, after shrinking a mapped resizable VMO,
 * on a slice mapped past its end, after SPECIFIC_OVERWRITE, across the edges of a partial
 * unmap, at random addresses near the mappings, and with hostile arguments to every method.
 * Every byte the library calls accessible is then touched directly by the child, so a wrong
 * region tree is a SIGSEGV/SIGBUS.
 *
 * A child must exit with status 0 (a fault is 139, which the canary below proves the harness
 * sees) and print a `RESULT` line whose probe count, statuses and checksum of the bytes read
 * are compared with the values below, so that a child that skipped its work cannot pass. The
 * values follow from the rules of docs/semantics.md; to see a child's own report, run it directly:
 * `deno run --allow-ffi tests/vmar/crash/shrink_child.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ChildResult, describeChild as describe, runDeno } from "../_support/mod.ts";

interface Result {
  scenario: string;
  probes: number;
  statuses: Record<string, number>;
  mismatches: number;
  touched: number;
  checksum: number;
}

interface Run extends ChildResult {
  results: Map<string, Result>;
}

/** Runs the child `crash/<script>` and collects the `RESULT` lines it printed, by scenario. */
async function runChild(script: string): Promise<Run> {
  const run = await runDeno(
    ["--allow-ffi", "--no-prompt"],
    new URL(`./crash/${script}`, import.meta.url),
    [],
    300_000,
  );
  const results = new Map<string, Result>();
  for (const line of run.stdout.split("\n")) {
    if (!line.startsWith("RESULT ")) continue;
    const result = JSON.parse(line.slice("RESULT ".length)) as Result;
    results.set(result.scenario, result);
  }
  return { ...run, results };
}

/** Runs `script` and checks it survived, agreed with its expectations and did its work. */
async function check(
  script: string,
  scenario: string,
  expected: Partial<Result>,
): Promise<[Result, Run]> {
  const run = await runChild(script);
  assert.equal(run.code, 0, `${script} did not exit normally: ${describe(run)}`);
  const result = run.results.get(scenario);
  assert.ok(result !== undefined, `${script} printed no RESULT for ${scenario}: ${describe(run)}`);
  assert.equal(result.mismatches, 0, `${scenario}: answers differ from the rules\n${run.stderr}`);
  assert.ok(!("not a ZxError" in result.statuses), `${scenario}: non-ZxError throws`);
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(
      result[key as keyof Result],
      value,
      `${scenario}: ${key} is ${JSON.stringify(result[key as keyof Result])}, expected ${
        JSON.stringify(value)
      }\n${JSON.stringify(result)}`,
    );
  }
  return [result, run];
}

Deno.test("crash harness: a child that faults is seen as exit status 139", async () => {
  const run = await runChild("fault_canary_child.ts");
  assert.equal(run.code, 139, describe(run));
  assert.equal(run.signal, "SIGSEGV");
  assert.ok(run.results.has("fault-canary"), "the canary got as far as its fault");
  assert.ok(!run.results.has("fault-canary-survived"), "a read of PROT_NONE memory returned");
});

/** The scenarios whose whole outcome is fixed: test name, child, scenario, expected result. */
const FIXED: [string, string, string, Partial<Result>][] = [
  [
    "crash: readMemory/writeMemory right after unmap",
    "after_unmap_child.ts",
    "after-unmap",
    {
      probes: 220,
      statuses: { OK: 61, ZX_ERR_NOT_FOUND: 159 },
      touched: 16680,
      checksum: 1445927323,
    },
  ],
  [
    "crash: after protect to 0 and to read-only",
    "protect_child.ts",
    "protect",
    {
      probes: 57,
      statuses: { OK: 22, ZX_ERR_ACCESS_DENIED: 34, ZX_ERR_NOT_FOUND: 1 },
      touched: 36954,
      checksum: 160694538,
    },
  ],
  [
    "crash: after destroy, through the parent and the destroyed handles",
    "destroy_child.ts",
    "destroy",
    {
      probes: 55,
      statuses: { OK: 7, ZX_ERR_NOT_FOUND: 17, ZX_ERR_BAD_STATE: 31 },
      touched: 16412,
      checksum: 4005808937,
    },
  ],
  [
    "crash: after shrinking a mapped resizable VMO, and growing it back",
    "shrink_child.ts",
    "shrink",
    {
      probes: 380,
      statuses: { OK: 182, ZX_ERR_OUT_OF_RANGE: 198 },
      touched: 33578,
      checksum: 3681607101,
    },
  ],
  [
    "crash: a slice mapped past its end",
    "slice_child.ts",
    "slice-past-end",
    {
      probes: 25,
      statuses: { OK: 6, ZX_ERR_OUT_OF_RANGE: 17, ZX_ERR_ACCESS_DENIED: 2 },
      touched: 64,
      checksum: 3086996388,
    },
  ],
  [
    "crash: SPECIFIC_OVERWRITE over a mapping, then the old range",
    "overwrite_child.ts",
    "overwrite",
    {
      probes: 144,
      statuses: {
        OK: 96,
        ZX_ERR_ACCESS_DENIED: 45,
        ZX_ERR_OUT_OF_RANGE: 1,
        ZX_ERR_INVALID_ARGS: 1,
        ZX_ERR_NOT_FOUND: 1,
      },
      touched: 4396,
      checksum: 2887753355,
    },
  ],
  [
    "crash: part of a mapping unmapped, reads across the boundary",
    "partial_unmap_child.ts",
    "partial-unmap",
    {
      probes: 44,
      statuses: { OK: 19, ZX_ERR_NOT_FOUND: 22, ZX_ERR_INVALID_ARGS: 2, ZX_ERR_BAD_STATE: 1 },
      touched: 4177,
      checksum: 36699381,
    },
  ],
];

for (const [name, script, scenario, expected] of FIXED) {
  Deno.test(name, async () => {
    await check(script, scenario, expected);
  });
}

Deno.test("crash: seeded random probes near mappings while the tree changes", async () => {
  const [result, run] = await check("random_probes_child.ts", "random-probes", {
    probes: 3321,
    touched: 253959,
    checksum: 965269840,
  });
  assert.ok(result.statuses.OK > 1000, JSON.stringify(result.statuses));
  // The process-root part varies with where the kernel places things: it must only survive,
  // agree with itself, and have done its work.
  const rootPart = run.results.get("random-probes-root");
  assert.ok(rootPart !== undefined, describe(run));
  assert.equal(rootPart.mismatches, 0, run.stderr);
  assert.equal(rootPart.probes, 859);
  assert.ok(rootPart.statuses.OK > 400 && rootPart.touched > 100_000, JSON.stringify(rootPart));
});

Deno.test("crash: hostile arguments to every Vmar method", async () => {
  // Statuses of huge-but-valid values in the process root depend on what lies next to this
  // child's mappings, so only the number of calls and the rule checks are compared.
  const [result] = await check("hostile_args_child.ts", "hostile-args", { probes: 8232 });
  assert.ok(result.statuses.ZX_ERR_INVALID_ARGS > 4000, JSON.stringify(result.statuses));
  assert.ok(result.statuses.ZX_ERR_BAD_HANDLE > 2000, JSON.stringify(result.statuses));
});
