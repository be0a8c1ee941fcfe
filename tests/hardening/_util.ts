/**
 * Self-contained helpers of the issue 8 hardening suite (`tests/hardening/`): a runner for
 * child `deno run` processes that reports exit code, signal and the child's JSON `RESULT`
 * line; `/proc/self/maps` and `/proc/self/limits` readers (the shared FFI readers of
 * `tests/_support`, as Deno's own file APIs refuse `/proc` without `--allow-all`); a checksum;
 * and the tree-versus-kernel comparison the partial-failure attacks use. They import nothing of
 * the library's internals.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { pattern as xorshiftPattern } from "../_support/bytes.ts";
import { cstr, sys } from "../_support/libc.ts";
import { type ProcMap, procMaps, readProc } from "../_support/proc.ts";

export { type ProcMap, procMaps };

/** What a child process did. */
export interface ChildRun {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** The parsed payload of the child's last `RESULT {json}` line, or undefined. */
  result: Record<string, unknown> | undefined;
}

/** Whether a run ended in a memory fault (139 = 128 + SIGSEGV, 135 = 128 + SIGBUS). */
export function crashed(run: ChildRun): boolean {
  return run.code === 139 || run.code === 135 || run.signal === "SIGSEGV" ||
    run.signal === "SIGBUS";
}

/**
 * Runs `tests/hardening/<script>` in a child `deno run` with `flags`, `args` and extra `env`.
 */
export async function runChild(
  script: string,
  args: string[],
  flags: string[],
  env: Record<string, string> = {},
): Promise<ChildRun> {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, path, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  let result: Record<string, unknown> | undefined;
  for (const line of stdout.split("\n")) {
    if (line.startsWith("RESULT ")) result = JSON.parse(line.slice(7));
  }
  return { code: output.code, signal: output.signal, stdout, stderr, result };
}

/** A run, printed for a failure message. */
export function describeRun(run: ChildRun): string {
  return `exit ${run.code}${run.signal ? ` (${run.signal})` : ""}\n--- stdout\n${
    run.stdout.slice(-2500)
  }\n--- stderr\n${run.stderr.slice(-2500)}`;
}

/** Asserts the child exited 0 without a fault and printed a RESULT line; returns it. */
export function survived(run: ChildRun, what: string): Record<string, unknown> {
  assert.ok(!crashed(run), `${what}: the child died of a memory fault: ${describeRun(run)}`);
  assert.equal(run.code, 0, `${what}: the child did not exit normally: ${describeRun(run)}`);
  assert.ok(run.result !== undefined, `${what}: no RESULT line: ${describeRun(run)}`);
  return run.result;
}

// ---------------------------------------------------------------------------------------------
// /proc through libc (children run with --allow-ffi only where they can)

/** The whole text of a /proc or /sys file; undefined when it cannot be opened or read. */
export function readProcText(path: string): string | undefined {
  try {
    return readProc(path);
  } catch {
    return undefined;
  }
}

/** `readlink(path)`, or undefined. */
export function readLink(path: string): string | undefined {
  const out = new Uint8Array(4096);
  const n = Number(sys.readlink(cstr(path), out, BigInt(out.length)));
  return n < 0 ? undefined : new TextDecoder().decode(out.subarray(0, n));
}

/** The kernel's view of [start, end): the pieces of /proc/self/maps inside it, clipped. */
export function kernelPieces(start: number, end: number, maps = procMaps()): ProcMap[] {
  const out: ProcMap[] = [];
  // Binary search for the first line ending after `start`.
  let lo = 0;
  let hi = maps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (maps[mid].end <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < maps.length && maps[i].start < end; i++) {
    const m = maps[i];
    out.push({ ...m, start: Math.max(m.start, start), end: Math.min(m.end, end) });
  }
  return out;
}

/** Bytes of [start, end) that no /proc/self/maps line covers. */
export function holeBytes(start: number, end: number, maps = procMaps()): number {
  let covered = 0;
  for (const piece of kernelPieces(start, end, maps)) covered += piece.end - piece.start;
  return end - start - covered;
}

/** The `[stack]` line of /proc/self/maps. */
export function stackMap(): ProcMap {
  const stack = procMaps().find((m) => m.path === "[stack]");
  if (stack === undefined) throw new Error("no [stack] in /proc/self/maps");
  return stack;
}

/** RLIMIT_STACK's soft value in bytes from /proc/self/limits (Infinity for unlimited). */
export function stackLimit(): number {
  const text = readProcText("/proc/self/limits") ?? "";
  const line = text.split("\n").find((l) => l.startsWith("Max stack size"));
  if (line === undefined) throw new Error("no Max stack size in /proc/self/limits");
  const soft = line.slice("Max stack size".length).trim().split(/\s+/)[0];
  return soft === "unlimited" ? Infinity : Number(soft);
}

/** FNV-1a of `bytes`, a cheap checksum for "these bytes did not change". */
export function checksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A deterministic non-zero pattern of `length` bytes: the shared pattern, low bit set. */
export function pattern(length: number, seed: number): Uint8Array<ArrayBuffer> {
  return xorshiftPattern(length, seed).map((byte) => byte | 1);
}

/** A mapping of the library's tree, as `Vmar.infoMaps()` gives it (the fields used here). */
export interface TreeEntry {
  base: number;
  size: number;
  depth: number;
  type: number;
  mapping?: { mmuFlags: number; vmoKoid: number };
}

/**
 * Differences between the library's tree and the kernel: every MAPPING entry must be covered
 * by /proc/self/maps with the same r/w/x, and every VMAR entry must have no hole (its
 * reservation or its mappings cover it), and every accessible kernel page inside a VMAR entry
 * must belong to a mapping of the tree. `validBytes` says how much of a mapping lies within
 * its VMO (a slice mapped past its end has reservation after that). Returns human-readable
 * mismatches (empty = agree).
 * `MapInfoType.VMAR` is 2, `MAPPING` 3; mmuFlags use PERM_READ 1, PERM_WRITE 2, PERM_EXECUTE 4.
 */
export function treeVersusKernel(
  entries: TreeEntry[],
  validBytes: (entry: TreeEntry) => number = (entry) => entry.size,
): string[] {
  const problems: string[] = [];
  const hex = (n: number) => "0x" + n.toString(16);
  const maps = procMaps();
  const mappings = entries.filter((e) => e.type === 3).sort((a, b) => a.base - b.base);
  for (const e of entries) {
    if (e.depth === 0) continue; // the root covers the whole address space, holes included
    const end = e.base + e.size;
    if (e.type === 2) {
      const hole = holeBytes(e.base, end, maps);
      if (hole !== 0) {
        problems.push(`vmar ${hex(e.base)}+${hex(e.size)} has ${hole} bytes unmapped`);
      }
      // Accessible kernel pages inside a sub-VMAR must belong to a mapping of the tree.
      for (const piece of kernelPieces(e.base, end, maps)) {
        if (piece.perms.startsWith("---")) continue;
        let covered = 0;
        for (const m of mappings) {
          if (m.base >= piece.end) break;
          covered += Math.max(
            0,
            Math.min(m.base + m.size, piece.end) - Math.max(m.base, piece.start),
          );
        }
        if (covered !== piece.end - piece.start) {
          problems.push(
            `kernel ${piece.perms} at ${hex(piece.start)}+${
              hex(piece.end - piece.start)
            } inside vmar ${hex(e.base)} is not in the tree`,
          );
        }
      }
    } else if (e.type === 3) {
      const flags = e.mapping?.mmuFlags ?? 0;
      const mapped = `${flags & 1 ? "r" : "-"}${flags & 2 ? "w" : "-"}${flags & 4 ? "x" : "-"}`;
      // Pages past the end of a slice's window are reservation (---), by design.
      const validEnd = e.base + validBytes(e);
      const pieces = kernelPieces(e.base, end, maps);
      let covered = 0;
      for (const piece of pieces) {
        covered += piece.end - piece.start;
        const want = piece.start >= validEnd ? "---" : mapped;
        if (piece.perms.slice(0, 3) !== want || (piece.start < validEnd && piece.end > validEnd)) {
          problems.push(
            `mapping ${hex(e.base)}+${hex(e.size)} is ${want} in the tree, ${piece.perms} at ${
              hex(piece.start)
            } in the kernel`,
          );
        }
      }
      if (covered !== e.size) {
        problems.push(
          `mapping ${hex(e.base)}+${hex(e.size)}: ${e.size - covered} bytes absent in the kernel`,
        );
      }
    }
  }
  return problems;
}

/** Prints the child's RESULT line (parsed by {@linkcode runChild}). */
export function report(result: Record<string, unknown>): void {
  console.log("RESULT " + JSON.stringify(result));
}

/**
 * Set `HARDENING_KNOWN_DEFECTS=1` to run the cases marked `KNOWN_DEFECT` too (to see them fail
 * on today's code, or to check a fix before flipping their flag).
 */
export const RUN_KNOWN_DEFECTS: boolean =
  Deno.permissions.querySync({ name: "env", variable: "HARDENING_KNOWN_DEFECTS" }).state ===
    "granted" && Deno.env.get("HARDENING_KNOWN_DEFECTS") === "1";

/**
 * Asserts that `fn` throws a `ZxError`-like error (name "ZxError") whose status is one of
 * `statuses`; returns the status. Kept here so the suite needs nothing from tests/helpers.ts.
 */
export function assertZxStatus(fn: () => unknown, statuses: number[], what: string): number {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    const e = error as { name?: string; status?: number; message?: string };
    assert.equal(e?.name, "ZxError", `${what}: expected a ZxError, got ${String(error)}`);
    assert.ok(
      statuses.includes(e.status!),
      `${what}: expected status ${statuses.join(" or ")}, got ${e.status} (${e.message})`,
    );
    return e.status!;
  }
  (result as { close?: () => void })?.close?.();
  assert.fail(`${what}: expected status ${statuses.join(" or ")}, but the call succeeded`);
}
