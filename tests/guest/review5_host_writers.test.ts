/**
 * An adversarial review of the host writers' fast paths, written against a branch-free shape
 * tried on 2026-12-08 (a failed check storing at -1, the `catch` taking the slow path; not kept,
 * see tools/gen_accessors.ts `valueGuard`) and run against every shape since: each attack runs
 * hot in a child `deno run`
 * (tests/guest/review5_host_writers_child.ts) whose exit status is asserted (139 would be a
 * fault), then its report is checked against the slow path's rules (docs/semantics.md: the
 * value is checked first, then closed/held, then the offset, then the range).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { HostSharedMemory } from "../../mod.ts";
import { childJson, runDeno } from "../_support/mod.ts";
import { CHILD_FLAGS } from "./helpers.ts";
import { hostileObjects, hostileOffsets, hostileValues } from "./review5_host_writers_child.ts";

const CHILD = new URL("./review5_host_writers_child.ts", import.meta.url);

async function attack(mode: string): Promise<Record<string, unknown>> {
  const run = await runDeno(CHILD_FLAGS, CHILD, [mode], 120_000);
  return childJson<Record<string, unknown>>(run, mode);
}

const SIZES: Record<string, number> = {
  U8: 1,
  I8: 1,
  U16: 2,
  I16: 2,
  U32: 4,
  I32: 4,
  U64: 8,
  I64: 8,
  F32: 4,
  F64: 8,
};

/** Whether writer `name` takes `value` (the slow path's value check). */
function valueFits(name: string, value: unknown): boolean {
  if (name === "F32" || name === "F64") return typeof value === "number";
  if (name === "U64") {
    return typeof value === "bigint" && value >= 0n && value < 2n ** 64n;
  }
  if (name === "I64") {
    return typeof value === "bigint" && value >= -(2n ** 63n) && value < 2n ** 63n;
  }
  if (typeof value !== "number" || !Number.isInteger(value)) return false;
  const bits = SIZES[name] * 8;
  return name[0] === "U"
    ? value >= 0 && value < 2 ** bits
    : value >= -(2 ** (bits - 1)) && value < 2 ** (bits - 1);
}

/** The status a write of `value` at `offset` must give on open, unheld memory of `size`. */
function expected(name: string, offset: unknown, value: unknown, size: number): string {
  if (!valueFits(name, value)) return "INVALID_ARGS";
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    return "INVALID_ARGS";
  }
  return offset + SIZES[name] > size ? "OUT_OF_RANGE" : "ok";
}

Deno.test("review5: hot host writers, hostile offsets and values: the slow path's status, nothing written, no caller code run", async () => {
  const result = await attack("hostile");
  assert.deepEqual(result.wrong, [], "a refused write wrote, or an accepted one wrote wrong");
  assert.equal(result.userCode, 0, "a writer ran the caller's valueOf/toString/trap");
  const size = result.size as number;
  const statuses = result.statuses as Record<string, Record<string, string>>;
  // The inputs by label, as the child built them (the objects' code never runs here either).
  const objects = hostileObjects(null as unknown as HostSharedMemory);
  let checked = 0;
  for (const [name, good] of Object.entries(GOOD)) {
    const row = statuses[name];
    for (const [label, offset] of hostileOffsets(size, objects)) {
      assert.equal(
        row[`offset ${label}`],
        expected(name, offset, good, size),
        `${name} offset ${label}`,
      );
      checked++;
    }
    for (const [label, value] of hostileValues(objects)) {
      assert.equal(row[`value ${label}`], expected(name, 8, value, size), `${name} value ${label}`);
      assert.equal(row[`value ${label} at size`], expected(name, size, value, size));
      assert.equal(row[`value ${label} at -1`], expected(name, -1, value, size));
      checked += 3;
    }
  }
  assert.ok(checked > 2000, `${checked} cases`);
});

/** The good values of the child's table (only their type and range matter here). */
const GOOD: Record<string, unknown> = {
  U8: 0xa5,
  I8: -91,
  U16: 0xa5b6,
  I16: -23114,
  U32: 0xa5b6c7d8,
  I32: -1514748968,
  U64: 0xa5b6c7d8e9fa0b1cn,
  I64: -0x5a49382716059f4en,
  F32: 1.5,
  F64: -2.75,
};

Deno.test("review5: hot host writers while a clone closes, the lock is held, the memory is protected, unmapped, closed", async () => {
  const result = await attack("races");
  const steps = result.steps as Record<string, Record<string, string>>;
  const each = (step: string, at8: string, past = "OUT_OF_RANGE") => {
    for (const name of Object.keys(SIZES)) {
      assert.equal(steps[step][name], at8, `${step}: ${name}`);
      assert.equal(steps[step][`${name} last`], at8, `${step}: ${name} last`);
      assert.equal(steps[step][`${name} past`], past, `${step}: ${name} past`);
    }
  };
  each("fresh", "ok");
  each("after a clone closed", "ok");
  assert.deepEqual(new Set(Object.values(steps["the closed clone"])), new Set(["BAD_STATE"]));
  // Held: SHOULD_WAIT before the range is looked at.
  each("inside withExclusivity", "SHOULD_WAIT", "SHOULD_WAIT");
  assert.deepEqual(steps["nested withExclusivity"], {
    host: "SHOULD_WAIT",
    guest: "SHOULD_WAIT",
  });
  each("after withExclusivity", "ok");
  // Through the root a protection only comes down.
  assert.deepEqual(result.protects, ["ok", "ACCESS_DENIED", "ok", "ACCESS_DENIED"]);
  each("protected read-only", "ACCESS_DENIED");
  each("read-write refused", "ACCESS_DENIED");
  each("protected none", "ACCESS_DENIED");
  each("read-only refused", "ACCESS_DENIED");
  each("guest closed", "ACCESS_DENIED");
  assert.equal(result.unmap, "ok");
  each("unmapped through the root", "BAD_STATE");
  each("host closed", "BAD_STATE", "BAD_STATE");
  each("host closed twice", "BAD_STATE", "BAD_STATE");
  // Every step whose writes were all refused left the bytes as they were.
  assert.deepEqual(result.unchanged, {
    "inside withExclusivity": true,
    "protected read-only": true,
    "read-write refused": true,
    "guest closed": true,
  });
});

Deno.test("review5: hot host writers near the stack's limit: a good write never gives a status, a refused one never writes", async () => {
  const result = await attack("stack");
  const stack = result.stack as Record<
    string,
    {
      good: { ok: number; rangeError: number; zxError: number };
      bad: { ok: number; rangeError: number; zxError: number };
      badWrote: number;
    }
  >;
  for (const [name, row] of Object.entries(stack)) {
    assert.equal(row.good.zxError, 0, `${name}: a good write near the limit gave a status`);
    assert.ok(row.good.ok > 0, `${name}: some depth lets a good write through`);
    assert.equal(row.bad.ok, 0, `${name}: a refused write near the limit returned`);
    assert.ok(row.bad.zxError > 0, `${name}: some depth gives the status`);
    assert.equal(row.badWrote, 0, `${name}: a refused write near the limit wrote`);
  }
});

Deno.test("review5: hot host writers over a size rounded up to a page: the last offset fits, one past does not", async () => {
  const result = await attack("oddSize");
  const row = result.oddSize as Record<string, string>;
  for (const name of Object.keys(SIZES)) {
    assert.equal(row[`${name} last`], "ok");
    assert.equal(row[`${name} past`], "OUT_OF_RANGE");
    assert.equal(row[`${name} at size`], "OUT_OF_RANGE");
  }
});
