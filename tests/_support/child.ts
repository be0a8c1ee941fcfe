/**
 * Child `deno run` processes for the tests: anything that could fault runs in a child whose
 * exit status the parent asserts (a SIGSEGV/SIGBUS is status 139). One runner for every
 * suite: {@linkcode startDeno} for a child the parent talks to while it runs,
 * {@linkcode runDeno} for one it only waits for, and {@linkcode childJson} to check a child
 * ended normally and read its report.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "../../mod.ts";

/** What vmo's `spawn` returns: the child and the parent's end of its channel. */
export type SpawnedChild = ReturnType<typeof spawn>;

/** The repository root, the working directory of child processes. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** The outcome of a child `deno run`. */
export interface ChildResult {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** A running child: the process, and `finish` to collect how it ended. */
export interface RunningChild {
  process: Deno.ChildProcess;
  /** Waits for the child to end; one still running after `timeoutMs` is killed. */
  finish(timeoutMs: number): Promise<ChildResult>;
}

/** Starts `deno run --quiet <flags> <script> <args>` in {@linkcode ROOT}, output piped. */
export function startDeno(flags: string[], script: URL, args: string[] = []): RunningChild {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, script.pathname, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const output = process.output();
  return {
    process,
    async finish(timeoutMs: number): Promise<ChildResult> {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        process.kill("SIGKILL");
      }, timeoutMs);
      try {
        const out = await output;
        return {
          code: out.code,
          signal: out.signal,
          stdout: new TextDecoder().decode(out.stdout),
          stderr: new TextDecoder().decode(out.stderr),
          timedOut,
        };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Runs `deno run --quiet <flags> <script> <args>` and returns how it ended. A child still
 * running after `timeoutMs` is killed and reported with `timedOut: true`.
 */
export function runDeno(
  flags: string[],
  script: URL,
  args: string[] = [],
  timeoutMs = 30_000,
): Promise<ChildResult> {
  return startDeno(flags, script, args).finish(timeoutMs);
}

/** How a child ended, with the tails of its output, for assertion messages. */
export function describeChild(result: ChildResult): string {
  return `exit ${result.code}${result.signal ? ` (${result.signal})` : ""}${
    result.timedOut ? " (timed out)" : ""
  }\n--- stdout\n${result.stdout.slice(-3000)}\n--- stderr\n${result.stderr.slice(-3000)}`;
}

/**
 * Asserts that a child exited normally with status 0 (a fault exits with 139, SIGSEGV/SIGBUS)
 * and returns the JSON object on the last line of its stdout.
 */
export function childJson<T>(result: ChildResult, what: string): T {
  assert.ok(!result.timedOut, `${what}: the child timed out\n${result.stderr}`);
  assert.equal(
    result.code,
    0,
    `${what}: the child exited with ${result.code} (signal ${result.signal}); ` +
      `139 means it faulted\nstdout: ${result.stdout.slice(-2000)}\nstderr: ${
        result.stderr.slice(-2000)
      }`,
  );
  const lines = result.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** Whether `program` runs here (`program --version` succeeds): python3 or cc, say. */
export function haveProgram(program: string): boolean {
  try {
    return new Deno.Command(program, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/**
 * `spawn` (vmo's: a child with one end of a new channel) of `deno run --quiet --allow-ffi
 * --allow-env <script> <args>`, stderr piped and stdout as `stdout` says.
 */
export function spawnDenoChild(
  script: URL,
  args: string[] = [],
  stdout: "piped" | "null" | "inherit" = "inherit",
): SpawnedChild {
  return spawn(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-ffi", "--allow-env", script.pathname, ...args],
    stdout,
    stderr: "piped",
  });
}
