/**
 * Test support in one place: the tests' own libc, `/proc` readers, child processes, byte
 * patterns, exact-status checks and handles no public call makes. Suites import from here;
 * child scripts import the single module they need.
 *
 * @module
 */

import { PAGE_SIZE } from "../../mod.ts";

export * from "./bytes.ts";
export * from "./child.ts";
export * from "./handles.ts";
export * from "./libc.ts";
export * from "./proc.ts";
export * from "./status.ts";

/** The page size, shorter. */
export const P: number = PAGE_SIZE;

/** `x` rounded up to a multiple of the page size. */
export function roundUp(x: number): number {
  return Math.ceil(x / P) * P;
}
