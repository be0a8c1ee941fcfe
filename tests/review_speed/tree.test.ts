/**
 * Review of issue 9's fast paths in the VMAR tree, each in a child `deno run`
 * (tree_child.ts) whose exit status is asserted:
 *
 * - the root's one-call `mmap(NULL)` map, mixed with `SPECIFIC` maps at freed addresses,
 *   unmaps and protects: `infoMaps` against /proc/self/maps, nothing in the stack growth area,
 *   a deep recursion still ends in `RangeError` (also under `ulimit -s` of 4 GiB and
 *   unlimited, where the kernel's layout changes);
 * - protects inside one permission range and across several (`perm_ranges.ts`), unmaps and
 *   re-maps, with read-write views held (quarantine, deferred protect): views still attached
 *   are over read-write memory, the kernel never grants less than the tree, and once the views
 *   are collected the two agree;
 * - a sub-VMAR going empty and back (the span list's reused block) against a model.
 */

import assert from "node:assert/strict";
import { childJson, describeChild, runDeno } from "../_support/mod.ts";

const CHILD = new URL("./tree_child.ts", import.meta.url);
const FLAGS = ["--v8-flags=--expose-gc", "--allow-ffi", "--allow-read"];

async function run(mode: string, seed: number): Promise<Record<string, unknown>> {
  return childJson(await runDeno(FLAGS, CHILD, [mode, String(seed)], 120_000), `${mode} ${seed}`);
}

Deno.test("root maps: one-call mmap(NULL) among SPECIFIC maps, tree and kernel agree", async (t) => {
  for (const seed of [1, 2, 3]) {
    await t.step(`seed ${seed}`, async () => {
      const r = await run("root", seed);
      assert.deepEqual(r.problems, []);
      assert.equal(r.inGrowth, 0, "no mapping in the stack growth area");
      assert.equal(r.recursion, "RangeError");
      assert.ok((r.specificLanded as number) > 0, "some SPECIFIC maps reused freed addresses");
    });
  }
});

Deno.test("root maps under other stack limits (ulimit -s)", async (t) => {
  for (const limit of ["4194304", "unlimited"]) {
    await t.step(limit, async () => {
      const out = await new Deno.Command("bash", {
        args: [
          "-c",
          `ulimit -s ${limit} && exec "$0" run -q ${FLAGS.join(" ")} "$1" root 4`,
          Deno.execPath(),
          CHILD.pathname,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const result = {
        code: out.code,
        signal: out.signal,
        stdout: new TextDecoder().decode(out.stdout),
        stderr: new TextDecoder().decode(out.stderr),
        timedOut: false,
      };
      const r = childJson<Record<string, unknown>>(result, describeChild(result));
      assert.deepEqual(r.problems, []);
      assert.equal(r.recursion, "RangeError");
    });
  }
});

Deno.test("protect sequences with live views: attached views stay over rw memory", async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    await t.step(`seed ${seed}`, async () => {
      const r = await run("protect", seed);
      assert.equal(r.attachedOverDenied, 0, "an attached view over memory that lost rw");
      assert.equal(r.weaker, 0, "the kernel granted less than the tree");
      assert.ok((r.touched as number) > 0, "views were held and used");
      assert.deepEqual(r.problems, [], "tree and kernel agree once the views are collected");
    });
  }
});

Deno.test("a sub-VMAR going empty and back agrees with a model", async (t) => {
  for (const seed of [1, 2]) {
    await t.step(`seed ${seed}`, async () => {
      const r = await run("empty", seed);
      assert.equal(r.mismatches, 0);
      assert.ok((r.emptied as number) > 50);
    });
  }
});
