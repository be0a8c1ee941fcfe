/**
 * `Vmar.opRange`: Zircon's range operations through a VMAR (commit and pre-fault, decommit,
 * map-range pre-faulting, hints), checked and done one mapping at a time in address order.
 *
 * @module
 */

import { checkU32, checkU64, has, isPageAligned, PAGE_SIZE, roundUpPage } from "../args.ts";
import { hasRights, Rights } from "../rights.ts";
import { fail, Status } from "../status.ts";
import { VmarOp } from "./constants.ts";
import { forEachDataRange } from "./info.ts";
import * as linux from "./linux.ts";
import {
  type MappingRecord,
  needAlive,
  PERM_READ,
  PERM_WRITE,
  type VmarObject,
  walk,
} from "./region.ts";

const KNOWN_OPS: ReadonlySet<number> = new Set(Object.values(VmarOp));

/**
 * `Vmar.opRange` once its handle was looked up (`handleRights` are the handle's), with the
 * statuses `Vmar.opRange` documents.
 */
export function opRange(
  vmar: VmarObject,
  handleRights: number,
  op: number,
  addr: number,
  len: number,
): void {
  checkU32(op, "op");
  checkU64(addr, "addr");
  checkU64(len, "len");
  if (!KNOWN_OPS.has(op)) fail(Status.INVALID_ARGS, `unknown VMAR op ${op}`);
  // The handle's rights, as the syscall docs and newer kernels require (docs/semantics.md §5.8, §6 D3).
  const handleNeeds = op === VmarOp.COMMIT || op === VmarOp.DECOMMIT || op === VmarOp.ZERO
    ? Rights.WRITE
    : op === VmarOp.PREFETCH || op === VmarOp.MAP_RANGE
    ? Rights.READ
    : 0;
  if (!hasRights(handleRights, handleNeeds)) {
    fail(
      Status.ACCESS_DENIED,
      `this op needs the ${handleNeeds === Rights.WRITE ? "WRITE" : "READ"} right`,
    );
  }
  const size = roundUpPage(len);
  if (size === 0) fail(Status.INVALID_ARGS, "len is 0");
  if (!isPageAligned(addr)) {
    fail(Status.INVALID_ARGS, `addr 0x${addr.toString(16)} is not page aligned`);
  }
  const end = addr + size;
  if (addr < vmar.base || end > vmar.end) {
    fail(Status.OUT_OF_RANGE, "the range is not inside the VMAR");
  }
  needAlive(vmar);
  const directOnly = op === VmarOp.COMMIT || op === VmarOp.DECOMMIT || op === VmarOp.PREFETCH;
  const needed = op === VmarOp.PREFETCH ? PERM_READ : directOnly ? PERM_WRITE : 0;
  // Zircon checks and acts one mapping at a time, in address order: an error leaves the
  // mappings before it done.
  for (const step of walk(vmar, addr, end)) {
    if (step.kind === "gap") fail(Status.BAD_STATE, `0x${step.start.toString(16)} is not mapped`);
    const { record, start, end: stop } = step;
    if (!step.direct && (directOnly || !hasRights(handleRights, Rights.OP_CHILDREN))) {
      fail(Status.INVALID_ARGS, "this op cannot reach a sub-VMAR's mapping from here");
    }
    if ((record.maxPerms & needed) !== needed) {
      fail(Status.ACCESS_DENIED, "the mapping's maximum permissions do not allow this op");
    }
    if (op === VmarOp.ZERO) fail(Status.NOT_SUPPORTED, "ZERO through a VMAR");
    const object = record.vmo;
    const offset = record.vmoOffset + (start - record.base);
    const length = stop - start;
    if ((op === VmarOp.COMMIT || op === VmarOp.DECOMMIT) && offset + length > object.size) {
      fail(Status.OUT_OF_RANGE, "the range reaches past the end of the VMO");
    }
    if (op === VmarOp.COMMIT) {
      object.commit(offset, length);
      for (const range of record.rangesIn(start, Math.min(stop, record.fileEnd))) {
        if (has(range.perms, PERM_READ)) {
          linux.populate(range.start, range.end - range.start, has(range.perms, PERM_WRITE));
        }
      }
    } else if (op === VmarOp.DECOMMIT) {
      object.decommit(offset, length);
    } else if (op === VmarOp.MAP_RANGE) {
      populateCommitted(record, start, stop);
    }
  }
}

/** Pre-faults the committed, readable pages of `[start, end)`: no page is committed by it. */
export function populateCommitted(record: MappingRecord, start: number, end: number): void {
  const stop = Math.min(end, record.validEnd);
  if (stop <= start) return;
  forEachDataRange(record, start, stop, (from, to) => {
    const pageFrom = Math.floor(from / PAGE_SIZE) * PAGE_SIZE;
    const pageTo = roundUpPage(to);
    for (const range of record.rangesIn(pageFrom, pageTo)) {
      if (has(range.perms, PERM_READ)) linux.populate(range.start, range.end - range.start, false);
    }
  });
}
