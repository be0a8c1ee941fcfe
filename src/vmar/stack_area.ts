/**
 * The main thread's stack growth area, which the root VMAR treats as memory it does not own.
 *
 * The kernel grows `[stack]` downwards on demand, up to `RLIMIT_STACK` below the stack's top,
 * and refuses to grow it within `stack_guard_gap` (256 pages unless the kernel command line
 * says otherwise) of any other mapping. A mapping placed there turns an ordinary deep
 * recursion, which V8 would end with a `RangeError`, into SIGSEGV. So the root never places
 * (first-fit, upper limit, kernel choice) nor accepts (`SPECIFIC`, `SPECIFIC_OVERWRITE`) a
 * mapping or region that touches `[top - RLIMIT_STACK - guard gap - margin, top)`, where the
 * margin is the stack's size when first looked at (the stack in use is already part of the
 * limit, so this is conservative). An unlimited `RLIMIT_STACK` counts as 1 GiB.
 *
 * @module
 */

import { PAGE_SIZE } from "../args.ts";
import { readProcFile } from "./proc.ts";

const DEFAULT_GUARD_PAGES = 256;
const UNLIMITED_STACK = 2 ** 30;

let area: [number, number] | undefined;

/** `[start, end)` of the stack growth area, or `[0, 0)` when there is no `[stack]` line. */
export function stackGrowthArea(): [number, number] {
  area ??= compute();
  return area;
}

/** Whether `[start, end)` touches the stack growth area. */
export function touchesStackArea(start: number, end: number): boolean {
  const [lo, hi] = stackGrowthArea();
  return start < hi && end > lo;
}

function compute(): [number, number] {
  let stack: [number, number] | undefined;
  for (const line of readProcFile("/proc/self/maps").split("\n")) {
    if (!line.endsWith("[stack]")) continue;
    const dash = line.indexOf("-");
    const space = line.indexOf(" ");
    stack = [parseInt(line.slice(0, dash), 16), parseInt(line.slice(dash + 1, space), 16)];
  }
  if (stack === undefined) return [0, 0];
  const [start, end] = stack;
  const area = stackLimit() + guardGap() + (end - start);
  return [Math.max(0, Math.floor((end - area) / PAGE_SIZE) * PAGE_SIZE), end];
}

/** RLIMIT_STACK's soft value from /proc/self/limits. */
function stackLimit(): number {
  let text = "";
  try {
    text = readProcFile("/proc/self/limits");
  } catch {
    return UNLIMITED_STACK;
  }
  const line = text.split("\n").find((l) => l.startsWith("Max stack size"));
  const soft = line?.slice("Max stack size".length).trim().split(/\s+/)[0];
  const value = Number(soft);
  return soft === undefined || !Number.isFinite(value)
    ? UNLIMITED_STACK
    : Math.min(value, UNLIMITED_STACK);
}

/** `stack_guard_gap` (in pages on the kernel command line), 256 pages by default. */
function guardGap(): number {
  let pages = DEFAULT_GUARD_PAGES;
  try {
    const match = /(?:^|\s)stack_guard_gap=(\d+)/.exec(readProcFile("/proc/cmdline"));
    if (match !== null) pages = Math.max(pages, Number(match[1]));
  } catch {
    // No /proc/cmdline: the default.
  }
  return pages * PAGE_SIZE;
}
