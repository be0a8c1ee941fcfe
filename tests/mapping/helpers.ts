/**
 * Constants for the `Mapping` / `SharedBuffer` tests. Everything else they need (statuses,
 * byte patterns, `/proc` probes, child processes) is the suite's own, in `tests/_support/`.
 *
 * @module
 */

import { VmarFlags } from "../../mod.ts";

export const R: number = VmarFlags.PERM_READ;
export const W: number = VmarFlags.PERM_WRITE;
export const RW: number = R | W;
/** Largest u64, the "all ones" pattern. */
export const ONES = 0xffff_ffff_ffff_ffffn;
