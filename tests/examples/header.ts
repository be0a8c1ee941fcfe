/**
 * Runs an example as its header says: the `Run: \`deno run ...\`` line of its doc comment gives
 * the permissions, and the tests run exactly that command (plus any arguments they add).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ChildResult, ROOT, startDeno } from "../_support/mod.ts";

/** The `deno run` flags the header of `example` (relative to the root) names. */
export async function headerFlags(example: string): Promise<string[]> {
  const text = await Deno.readTextFile(ROOT + example);
  const run = /^ \* Run: `deno run ([^`]*)`/m.exec(text);
  assert.ok(run, `${example} has no "Run: \`deno run ...\`" header line`);
  const words = run[1].split(/\s+/);
  const at = words.indexOf(example);
  assert.ok(at > 0, `the header command of ${example} runs ${example}`);
  const flags = words.slice(0, at);
  assert.ok(flags.every((f) => f.startsWith("--allow-")), `${example}: flags ${flags}`);
  return flags;
}

/** Starts `example` with its header's flags and `args`; returns the running child. */
export async function startExample(example: string, args: string[] = []) {
  return startDeno(await headerFlags(example), new URL(ROOT + example, "file://"), args);
}

/** Runs `example` with its header's flags and `args`, and returns how it ended. */
export async function runExample(
  example: string,
  args: string[] = [],
  timeoutMs = 60_000,
): Promise<ChildResult> {
  return (await startExample(example, args)).finish(timeoutMs);
}

/** Asserts a clean exit (0, nothing on stderr) and returns stdout's lines. */
export function cleanLines(result: ChildResult, what: string): string[] {
  const detail = `${what}: exit ${result.code} (signal ${result.signal}${
    result.timedOut ? ", timed out" : ""
  })\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
  assert.equal(result.code, 0, detail);
  assert.equal(result.stderr, "", detail);
  return result.stdout.trimEnd().split("\n");
}

/** Asserts that some line matches each pattern, in the given order, and returns the matches. */
export function matchInOrder(lines: string[], patterns: RegExp[]): RegExpExecArray[] {
  const found: RegExpExecArray[] = [];
  let from = 0;
  for (const pattern of patterns) {
    let match: RegExpExecArray | null = null;
    let i = from;
    for (; i < lines.length && match === null; i++) match = pattern.exec(lines[i]);
    assert.ok(match, `no line after line ${from} matches ${pattern}:\n${lines.join("\n")}`);
    found.push(match);
    from = i;
  }
  return found;
}
