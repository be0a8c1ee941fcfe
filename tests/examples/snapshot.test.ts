/**
 * examples/snapshot.ts, run as its header says (the `Run:` line, permissions and all), in a
 * child process: exit 0, nothing on stderr, and its key lines with the figures the VMOs gave.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLE = "examples/snapshot.ts";

/** The arguments of the `deno run ...` command in the example's header `Run:` line. */
async function headerCommand(): Promise<string[]> {
  const text = await Deno.readTextFile(ROOT + EXAMPLE);
  const run = /^ \* Run: `deno (run [^`]*)`/m.exec(text);
  assert.ok(run, `${EXAMPLE} has no "Run: \`deno run ...\`" header line`);
  const args = run[1].split(/\s+/);
  assert.equal(args[args.length - 1], EXAMPLE, "the command runs the example itself");
  return args;
}

Deno.test("examples/snapshot.ts runs as its header says and prints its figures", async () => {
  const args = await headerCommand();
  assert.deepEqual(args.filter((a) => a.startsWith("--")), ["--allow-ffi"]);
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
  assert.equal(stderr, "");
  const expected: RegExp[] = [
    /^parent: 64 GiB VMO, 4 MiB written in 4 places in \d+\.\d\d ms; committed 4 MiB$/,
    /^snapshot of all 64 GiB: \d+\.\d\d ms \(median of 5 more: \d+\.\d\d ms, \d+ MiB\/s of data\); committed 4 MiB$/,
    /^after a write to each: parent at 0 GiB reads "parent at 0 GiB", snapshot at 0 GiB reads "snapshot wrote here"$/,
    /^ {2}parent at 32 GiB reads "parent wrote later", snapshot at 32 GiB reads "parent at 32 GiB"$/,
    /^ {2}a hole \(16 GiB\) reads zeros in both; committed: parent 4 MiB, snapshot 4 MiB$/,
    /^snapshot of 1 GiB at 32 GiB: \d+\.\d\d ms, committed 1 MiB, reads "parent wrote later" at its offset 0$/,
    /^DECOMMIT of the snapshot: ZX_ERR_NOT_SUPPORTED; ZERO of all of it: \d+\.\d\d ms, snapshot committed 0 B, reads "" at 0$/,
    /^ {2}parent still committed 4 MiB, reads "parent at 0 GiB" at 0$/,
    /^closed the 2 snapshots: parent has 0 children and 4 MiB committed$/,
  ];
  const lines = stdout.trimEnd().split("\n");
  for (const pattern of expected) {
    assert.ok(lines.some((l) => pattern.test(l)), `no line matches ${pattern}:\n${stdout}`);
  }
  // The lines come in the order of the story.
  const order = expected.map((p) => lines.findIndex((l) => p.test(l)));
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
});
