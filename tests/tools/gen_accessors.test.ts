/**
 * The accessor generator's value tests against the checks of the slow path: for every row of
 * the table (the shared rows and the extra rows only the guest targets use), the fast path's test (`valueGuard`) must accept exactly the values the slow path's
 * check (`valueCheck`) accepts, or a writer would store on one path what it rejects on the
 * other. Also: the checked-in generated file is what the generator makes from the table.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Status, ZxError } from "../../mod.ts";
import { checkInt, checkNumber, checkU64Big } from "../../src/mapping/buffer_state.ts";
import { checkI64Big } from "../../src/guest/accessor_state.ts";
import {
  ACCESSORS,
  EXTRA_ACCESSORS,
  render,
  valueCheck,
  valueGuard,
} from "../../tools/gen_accessors.ts";

/** Values around every row's edges, plus values of the wrong type. */
const EDGES: unknown[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  NaN,
  Infinity,
  -Infinity,
  2 ** 53,
  -(2 ** 53),
  1e300,
  0n,
  1n,
  -1n,
  2n ** 64n - 1n,
  2n ** 64n,
  2n ** 63n - 1n,
  2n ** 63n,
  -(2n ** 63n),
  -(2n ** 63n) - 1n,
  "1",
  null,
  undefined,
  {},
  [1],
  true,
  ...[7, 8, 15, 16, 31, 32, 63, 64].flatMap((bits) => [
    2 ** bits - 1,
    2 ** bits,
    2 ** bits + 1,
    -(2 ** bits),
    -(2 ** (bits - 1)),
    -(2 ** (bits - 1)) - 1,
    2 ** (bits - 1) - 1,
    2 ** (bits - 1),
  ]),
];

Deno.test("gen_accessors: the fast value test accepts exactly what the slow check accepts", async (t) => {
  for (const row of [...ACCESSORS, ...EXTRA_ACCESSORS]) {
    await t.step(`${row.name} (${row.kind}, ${row.size} bytes)`, () => {
      const guard = new Function("value", `return ${valueGuard(row, "value")};`) as (
        v: unknown,
      ) => boolean;
      const check = new Function(
        "checkInt",
        "checkNumber",
        "checkU64Big",
        "checkI64Big",
        "value",
        `return ${valueCheck(row, "value")};`,
      );
      const accepts = (value: unknown): boolean => {
        try {
          assert.equal(check(checkInt, checkNumber, checkU64Big, checkI64Big, value), value);
          return true;
        } catch (error) {
          if (!(error instanceof ZxError)) throw error;
          assert.equal(error.status, Status.INVALID_ARGS);
          return false;
        }
      };
      const agree = (value: unknown) => {
        assert.equal(guard(value), accepts(value), `value ${Deno.inspect(value)}`);
      };
      for (const value of EDGES) agree(value);
      fc.assert(
        fc.property(
          fc.oneof(
            fc.integer({ min: -(2 ** 31), max: 2 ** 32 + 10 }),
            fc.double(),
            fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }),
            fc.anything(),
          ),
          agree,
        ),
        { numRuns: 2000 },
      );
    });
  }
});

Deno.test("gen_accessors: the checked-in output is what the table makes", async () => {
  for (const [path, text] of render()) {
    const file = new URL(`../../${path}`, import.meta.url);
    const checkedIn = await Deno.readTextFile(file);
    // The generator formats its output with `deno fmt`; compare modulo layout.
    const squash = (s: string) => s.replace(/\s+/g, "").replace(/,([)\]}])/g, "$1");
    assert.equal(squash(checkedIn), squash(text), `${path}: run \`deno task gen\``);
  }
});
