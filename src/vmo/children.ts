/**
 * Child VMOs: the checks and the making of `Vmo.createChild`'s slices, references and
 * snapshots, and the rights each kind of child's handle gets.
 *
 * A slice and a reference show the parent's pages (the same backing at an offset); a snapshot
 * is a new memfd holding a copy of the parent's data extents, made at once since Linux has no
 * copy-on-write between memfds.
 *
 * @module
 */

import { F_SEAL_WRITE } from "../../ffi/constants.ts";
import { addSeals } from "../../ffi/file.ts";
import { checkedEnd, checkU32, checkU64, isPageAligned, roundUpPage } from "../args.ts";
import { hasRights, needRights, Rights } from "../rights.ts";
import { fail, Status, syscallError } from "../status.ts";
import { Backing } from "./backing.ts";
import { CachePolicy, VmoChildOptions } from "./constants.ts";
import { MAX_VMO_SIZE, type NewVmo, VmoObject } from "./object.ts";

const SNAPSHOT_TYPES = VmoChildOptions.SNAPSHOT | VmoChildOptions.SNAPSHOT_AT_LEAST_ON_WRITE |
  VmoChildOptions.SNAPSHOT_MODIFIED;
const KNOWN_CHILD_OPTIONS = SNAPSHOT_TYPES | VmoChildOptions.RESIZABLE | VmoChildOptions.SLICE |
  VmoChildOptions.NO_WRITE | VmoChildOptions.REFERENCE;

/**
 * `Vmo.createChild` once its handle was looked up: checks the arguments in Zircon's order,
 * makes the child and returns it with its handle's rights (`handleRights` are the parent
 * handle's). The statuses are those `Vmo.createChild` documents.
 */
export function createChild(
  parent: VmoObject,
  handleRights: number,
  options: number,
  offset: number,
  size: number,
): NewVmo {
  checkU32(options, "options");
  checkU64(offset, "offset");
  checkU64(size, "size");
  const rounded = roundUpPage(size);
  if (rounded > MAX_VMO_SIZE) {
    fail(Status.OUT_OF_RANGE, `child size ${size} exceeds Vmo.MAX_VMO_SIZE`);
  }
  const noWrite = (options & VmoChildOptions.NO_WRITE) !== 0;
  const resizable = (options & VmoChildOptions.RESIZABLE) !== 0;
  if (noWrite && resizable) {
    fail(Status.INVALID_ARGS, "NO_WRITE and RESIZABLE exclude each other");
  }
  needRights(handleRights, Rights.DUPLICATE | Rights.READ, "createChild");
  if (parent.discardable) fail(Status.NOT_SUPPORTED, "a discardable VMO cannot have children");
  const kindOptions = options & ~VmoChildOptions.NO_WRITE;
  if ((kindOptions & ~KNOWN_CHILD_OPTIONS) !== 0) {
    fail(Status.INVALID_ARGS, `unknown child options ${options}`);
  }
  let child: VmoObject;
  let isSnapshot = false;
  if ((kindOptions & VmoChildOptions.SLICE) !== 0) {
    child = slice(parent, kindOptions, offset, size, rounded);
  } else if ((kindOptions & VmoChildOptions.REFERENCE) !== 0) {
    child = reference(parent, kindOptions, offset, size);
  } else {
    child = snapshot(parent, kindOptions, offset, size, rounded, noWrite);
    isSnapshot = true;
  }
  if (hasRights(handleRights, Rights.GET_PROPERTY)) child.name = parent.name;
  let rights = (handleRights & ~Rights.RESIZE) | (resizable ? Rights.RESIZE : 0) |
    Rights.GET_PROPERTY | Rights.SET_PROPERTY;
  if (noWrite) rights &= ~Rights.WRITE;
  else if (isSnapshot) rights = (rights & ~Rights.EXECUTE) | Rights.WRITE;
  return { object: child, rights: rights >>> 0 };
}

function slice(
  parent: VmoObject,
  options: number,
  offset: number,
  size: number,
  rounded: number,
): VmoObject {
  if (options !== VmoChildOptions.SLICE) {
    fail(Status.INVALID_ARGS, "SLICE takes no other kind and no RESIZABLE");
  }
  if (!isPageAligned(offset)) {
    fail(Status.INVALID_ARGS, `slice offset ${offset} is not page aligned`);
  }
  if (offset + rounded > parent.size || (rounded === 0 && offset > parent.size)) {
    fail(Status.INVALID_ARGS, `slice [${offset}, ${offset + rounded}) is not inside the parent`);
  }
  if (parent.resizable) fail(Status.NOT_SUPPORTED, "a resizable VMO cannot be sliced");
  if (parent.cachePolicy !== CachePolicy.CACHED) {
    fail(Status.BAD_STATE, "the parent is not CACHED");
  }
  return new VmoObject({
    backing: parent.backing,
    offset: parent.offset + offset,
    sliceSize: rounded,
    stream: { value: size },
    kind: "slice",
    parent,
  });
}

function reference(parent: VmoObject, options: number, offset: number, size: number): VmoObject {
  if ((options & ~(VmoChildOptions.REFERENCE | VmoChildOptions.RESIZABLE)) !== 0) {
    fail(Status.INVALID_ARGS, "REFERENCE takes only RESIZABLE besides");
  }
  if (offset !== 0 || size !== 0) {
    fail(Status.INVALID_ARGS, "a REFERENCE needs offset 0 and size 0");
  }
  if (parent.kind === "slice") fail(Status.NOT_SUPPORTED, "a slice cannot have references");
  if ((options & VmoChildOptions.RESIZABLE) !== 0 && !parent.resizable) {
    fail(Status.NOT_SUPPORTED, "a resizable reference needs a resizable parent");
  }
  if (parent.cachePolicy !== CachePolicy.CACHED) {
    fail(Status.BAD_STATE, "the parent is not CACHED");
  }
  return new VmoObject({
    backing: parent.backing,
    offset: parent.offset,
    sliceSize: null,
    stream: parent.stream,
    kind: "reference",
    parent,
    discardable: parent.discardable,
  });
}

function snapshot(
  parent: VmoObject,
  options: number,
  offset: number,
  size: number,
  rounded: number,
  noWrite: boolean,
): VmoObject {
  const type = options & SNAPSHOT_TYPES;
  if (type === 0 || (type & (type - 1)) !== 0) {
    fail(
      Status.INVALID_ARGS,
      "a child needs exactly one of SNAPSHOT, SNAPSHOT_AT_LEAST_ON_WRITE, SNAPSHOT_MODIFIED, SLICE, REFERENCE",
    );
  }
  if (!isPageAligned(offset)) {
    fail(Status.INVALID_ARGS, `snapshot offset ${offset} is not page aligned`);
  }
  checkedEnd(offset, size, "createChild");
  if (parent.cachePolicy !== CachePolicy.CACHED) {
    fail(Status.BAD_STATE, "the parent is not CACHED");
  }
  const pagerBacked = parent.pageOwner.kind === "file" || parent.pageOwner.pagerDerived;
  if (type === VmoChildOptions.SNAPSHOT && pagerBacked) {
    fail(Status.NOT_SUPPORTED, "SNAPSHOT of a file-backed VMO: use SNAPSHOT_AT_LEAST_ON_WRITE");
  }
  const resizable = (options & VmoChildOptions.RESIZABLE) !== 0;
  const backing = Backing.memfd(rounded, resizable, "vmo-snapshot");
  try {
    const copyEnd = Math.min(offset + rounded, parent.size);
    if (copyEnd > offset) {
      parent.backing.copyDataTo(backing, parent.offset + offset, copyEnd - offset, 0);
    }
    // Nothing maps the copy yet, so the write seal cannot fail with EBUSY.
    if (noWrite && addSeals(backing.fd, F_SEAL_WRITE) !== 0) {
      throw syscallError("fcntl", "cannot seal the VMO");
    }
  } catch (error) {
    backing.discard();
    throw error;
  }
  return new VmoObject({
    backing,
    offset: 0,
    sliceSize: null,
    stream: { value: size },
    kind: "snapshot",
    parent,
    // Zircon flags only the plain SNAPSHOT | NO_WRITE immutable; the other kinds are sealed
    // all the same (their handle has no WRITE), but info does not say so.
    immutable: noWrite && type === VmoChildOptions.SNAPSHOT,
    pagerDerived: pagerBacked,
  });
}
