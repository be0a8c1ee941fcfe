/**
 * A VMO's properties: what `Vmo.info` reports (`ZX_INFO_VMO`), its name's rules and its cache
 * policy's.
 *
 * @module
 */

import { checkU32, describe } from "../args.ts";
import { needRights, Rights } from "../rights.ts";
import { fail, Status } from "../status.ts";
import { CachePolicy, VmoInfoFlags } from "./constants.ts";
import type { VmoObject } from "./object.ts";
import type { Vmo } from "./vmo.ts";
import { liveObjectOfType, ObjType, rightsOf } from "../handle.ts";

const NAME_MAX_BYTES = 31;

/** What {@linkcode Vmo.info} returns (`ZX_INFO_VMO`). */
export interface VmoInfo {
  /** The VMO's koid. */
  koid: number;
  /** Its name, empty by default. */
  name: string;
  /** Its size in bytes, a multiple of the page size. */
  sizeBytes: number;
  /** The koid of the VMO it was made from, 0 for none. */
  parentKoid: number;
  /** Live direct children (snapshots, slices, references). */
  numChildren: number;
  /** Mappings of it in any VMAR of this process. */
  numMappings: number;
  /** Address spaces that map it: 1 here, as in Zircon when it has fewer than two mappings. */
  shareCount: number;
  /** {@linkcode VmoInfoFlags} bits. */
  flags: number;
  /**
   * Bytes of memory the VMO holds (`st_blocks * 512` of its memfd). Slices and references
   * report 0, as in Zircon: their pages count for the VMO that owns them. A snapshot reports
   * the pages it copied (Zircon's copy-on-write clone would report 0 until written).
   */
  committedBytes: number;
  /** The rights of the handle asked. */
  handleRights: number;
  /** Its {@linkcode CachePolicy}. */
  cachePolicy: number;
  /** Equal to `committedBytes`: Linux does not compress memfd pages. */
  populatedBytes: number;
}

/** `ZX_INFO_VMO` of a VMO seen through a handle with `handleRights`. */
export function vmoInfo(object: VmoObject, handleRights: number): VmoInfo {
  const ownsPages = object.kind === "root" || object.kind === "snapshot" ||
    object.kind === "file";
  const committed = ownsPages ? object.backing.committedBytes() : 0;
  let flags = VmoInfoFlags.TYPE_PAGED | VmoInfoFlags.VIA_HANDLE;
  if (object.resizable) flags |= VmoInfoFlags.RESIZABLE;
  if (object.discardable) flags |= VmoInfoFlags.DISCARDABLE;
  if (object.kind === "snapshot") flags |= VmoInfoFlags.IS_COW_CLONE;
  if (object.immutable) flags |= VmoInfoFlags.IMMUTABLE;
  if (object.pageOwner.kind === "file" || object.pagerDerived) flags |= VmoInfoFlags.PAGER_BACKED;
  return {
    koid: object.koid,
    name: object.name,
    sizeBytes: object.size,
    parentKoid: object.parent?.koid ?? 0,
    numChildren: object.children.size,
    numMappings: object.mappingCount,
    shareCount: 1,
    flags,
    committedBytes: committed,
    handleRights,
    cachePolicy: object.cachePolicy,
    populatedBytes: committed,
  };
}

/** `INVALID_ARGS` unless `name` is a string (checked before the rights). */
export function checkName(name: unknown): void {
  if (typeof name !== "string") {
    fail(Status.INVALID_ARGS, `name must be a string, got ${describe(name)}`);
  }
}

/** `INVALID_ARGS` for a name with a NUL or of more than 31 UTF-8 bytes, as `zx::Name` checks. */
export function checkNameBytes(name: string): void {
  if (name.includes("\0")) fail(Status.INVALID_ARGS, "a name cannot hold a NUL");
  if (new TextEncoder().encode(name).length > NAME_MAX_BYTES) {
    fail(Status.INVALID_ARGS, `a name is at most ${NAME_MAX_BYTES} UTF-8 bytes`);
  }
}

/**
 * `Vmo.setCachePolicy`: the policy's bits are checked before the handle, then `MAP`, then the
 * VMO's state.
 */
export function setCachePolicy(handle: Vmo, policy: number): void {
  checkU32(policy, "policy");
  if ((policy & ~CachePolicy.MASK) !== 0) {
    fail(Status.INVALID_ARGS, `unknown cache policy ${policy}`);
  }
  const object = liveObjectOfType<VmoObject>(handle, ObjType.VMO, "the handle");
  needRights(rightsOf(handle), Rights.MAP, "setCachePolicy");
  if (object.mappingCount > 0) fail(Status.BAD_STATE, "the VMO is mapped");
  if (object.children.size > 0) fail(Status.BAD_STATE, "the VMO has children");
  if (object.parent !== null || object.kind !== "root") {
    fail(Status.BAD_STATE, "the VMO is a child");
  }
  if (object.cachePolicy !== CachePolicy.CACHED && object.backing.committedBytes() > 0) {
    fail(Status.BAD_STATE, "the VMO holds pages under a non-CACHED policy");
  }
  object.cachePolicy = policy;
}
