/**
 * Constants for the `Mapping` / `SharedBuffer` tests, and their leak check. Everything else they
 * need (statuses, byte patterns, `/proc` probes, child processes) is the suite's own, in
 * `tests/_support/`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { VmarFlags } from "../../mod.ts";
import { countMemfdMappings, countMemfds } from "../_support/mod.ts";

export const R: number = VmarFlags.PERM_READ;
export const W: number = VmarFlags.PERM_WRITE;
export const RW: number = R | W;
/** Largest u64, the "all ones" pattern. */
export const ONES = 0xffff_ffff_ffff_ffffn;

/** Runs `fn`, then asserts that the process has as many memfds and memfd mappings as before. */
export function assertNoMemfdLeak(fn: () => void): void {
  const fds = countMemfds();
  const maps = countMemfdMappings();
  fn();
  assert.equal(countMemfds(), fds);
  assert.equal(countMemfdMappings(), maps);
}
