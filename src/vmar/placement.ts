/**
 * Where a new child of a VMAR goes: Zircon's split flags (option bits and alignment) and the
 * placement rules of `allocate` and `map` (offsets, bounds, alignment, overlap, first fit).
 *
 * @module
 */

import { has, isPageAligned, PAGE_SIZE } from "../args.ts";
import { fail, Status } from "../status.ts";
import { VmarFlags } from "./constants.ts";
import { takeWindow } from "./quarantine.ts";
import type { VmarObject } from "./region.ts";
import type { Placement } from "./place.ts";
import type { Backing } from "../vmo/backing.ts";

const KNOWN_OPTIONS = 0xffff;

/**
 * The root's most common placement (the kernel's choice, page-aligned, no limit), shared: no
 * placement is ever changed after it was made.
 */
const ROOT_ANYWHERE: Placement = Object.freeze({ addr: null, align: PAGE_SIZE, limit: null });

export /** Zircon's "split flags": the option bits, and the alignment in bytes (at least a page). */
function splitFlags(flags: number): { options: number; align: number } {
  const options = flags & 0xff_ffff;
  if ((options & ~KNOWN_OPTIONS) !== 0) {
    fail(Status.INVALID_ARGS, `unknown option bits in ${flags}`);
  }
  const alignLog = flags >>> 24;
  if (alignLog !== 0 && (alignLog < 10 || alignLog > 32)) {
    fail(Status.INVALID_ARGS, `alignment field ${alignLog} is not in 10..32`);
  }
  return { options, align: alignLog === 0 ? PAGE_SIZE : Math.max(PAGE_SIZE, 2 ** alignLog) };
}

/**
 * Steps 6 to 11 of Zircon's allocate (and of map, with `size` the rounded length): the offset
 * rules, the bounds, the alignment and overlap of a specific placement.
 */
export function placement(
  vmar: VmarObject,
  offset: number,
  size: number,
  options: number,
  align: number,
  overwrite: boolean,
  window?: { backing: Backing; key: string },
): Placement {
  const specific = has(options, VmarFlags.SPECIFIC) || overwrite;
  const upperLimit = has(options, VmarFlags.OFFSET_IS_UPPER_LIMIT);
  if (specific && upperLimit) {
    fail(Status.INVALID_ARGS, "SPECIFIC and OFFSET_IS_UPPER_LIMIT exclude each other");
  }
  if (offset !== 0 && !specific && !upperLimit) {
    fail(Status.INVALID_ARGS, "a non-zero offset needs SPECIFIC or OFFSET_IS_UPPER_LIMIT");
  }
  if (!isPageAligned(offset)) fail(Status.INVALID_ARGS, `offset ${offset} is not page aligned`);
  if ((specific || upperLimit) && !has(vmar.flags, VmarFlags.CAN_MAP_SPECIFIC)) {
    fail(Status.ACCESS_DENIED, "the VMAR was not made with CAN_MAP_SPECIFIC");
  }
  if (upperLimit) {
    if (offset > vmar.size || size > vmar.size || size > offset) {
      fail(Status.INVALID_ARGS, `no room for ${size} bytes below offset ${offset}`);
    }
  } else if (offset >= vmar.size || size > vmar.size - offset) {
    fail(Status.INVALID_ARGS, `[${offset}, ${offset + size}) is not inside the VMAR`);
  }
  if (specific) {
    const addr = vmar.base + offset;
    if (addr % align !== 0) {
      fail(Status.INVALID_ARGS, `0x${addr.toString(16)} is not aligned to ${align}`);
    }
    if (!overwrite && vmar.children.overlapping(addr, addr + size).length > 0) {
      fail(
        Status.ALREADY_EXISTS,
        `[0x${addr.toString(16)}, +${size}) overlaps a child of the VMAR`,
      );
    }
    if (vmar.quarantined.count > 0 && vmar.quarantined.overlapping(addr, addr + size).length > 0) {
      fail(
        Status.ALREADY_EXISTS,
        `[0x${addr.toString(16)}, +${size}) holds memory a runtime operation may still use`,
      );
    }
    return { addr, align, limit: null };
  }
  const limit = upperLimit ? vmar.base + offset : null;
  if (window !== undefined && limit === null && align === PAGE_SIZE) {
    // A quarantined range of the same VMO window: late writes there land in the same memory.
    const recycled = takeWindow(vmar, window.backing, window.key);
    if (recycled !== null) return { addr: recycled.base, align, limit, recycled };
  }
  if (vmar.isRoot) {
    return limit === null && align === PAGE_SIZE ? ROOT_ANYWHERE : { addr: null, align, limit };
  }
  const hi = limit ?? vmar.end;
  let lo = vmar.base;
  for (;;) {
    const addr = vmar.children.findFree(lo, hi, size, align);
    if (addr < 0) {
      fail(Status.NO_RESOURCES, `no room for ${size} bytes aligned to ${align} in the VMAR`);
    }
    // First fit skips quarantined ranges (`quarantine.ts`).
    const quarantined = vmar.quarantined.count === 0
      ? []
      : vmar.quarantined.overlapping(addr, addr + size);
    if (quarantined.length === 0) return { addr, align, limit };
    const last = quarantined[quarantined.length - 1];
    lo = last.base + last.size;
  }
}
