/**
 * `Vmo.opRange`: Zircon's range operations on a VMO (commit, decommit, zero, lock counting,
 * cache ops, hints), each with its right, its range rule and its Linux call.
 *
 * @module
 */

import { POSIX_FADV_DONTNEED, POSIX_FADV_WILLNEED } from "../../ffi/constants.ts";
import { fadvise } from "../../ffi/file.ts";
import { checkedEnd, checkSafe, checkU32, checkU64, roundUpPage } from "../args.ts";
import { hasRights, needRights, Rights } from "../rights.ts";
import { fail, Status } from "../status.ts";
import { CachePolicy, VmoOp } from "./constants.ts";
import type { VmoObject } from "./object.ts";

/**
 * `Vmo.opRange` once its handle was looked up (`rights` are the handle's): checks the
 * arguments and performs `op` on `[offset, offset + size)`, with the statuses `Vmo.opRange`
 * documents.
 */
export function opRange(
  object: VmoObject,
  rights: number,
  op: number,
  offset: number,
  size: number,
): void {
  checkU32(op, "op");
  checkU64(offset, "offset");
  checkU64(size, "size");
  switch (op) {
    case VmoOp.COMMIT: {
      needRights(rights, Rights.WRITE, "COMMIT");
      const end = checkedEnd(offset, size, "COMMIT");
      if (roundUpPage(end) > object.size) {
        fail(Status.OUT_OF_RANGE, "COMMIT range is past the end");
      }
      object.commit(offset, size);
      return;
    }
    case VmoOp.DECOMMIT: {
      needRights(rights, Rights.WRITE, "DECOMMIT");
      const end = checkedEnd(offset, size, "DECOMMIT");
      if (end > object.size) fail(Status.OUT_OF_RANGE, "DECOMMIT range is past the end");
      object.decommit(offset, size);
      return;
    }
    case VmoOp.ZERO: {
      needRights(rights, Rights.WRITE, "ZERO");
      if (object.cachePolicy !== CachePolicy.CACHED) {
        fail(Status.BAD_STATE, "ZERO needs a CACHED VMO");
      }
      const end = checkedEnd(offset, size, "ZERO");
      if (end > object.size) fail(Status.OUT_OF_RANGE, "ZERO range is past the end");
      object.backing.zero(object.offset + offset, size);
      return;
    }
    case VmoOp.LOCK:
    case VmoOp.TRY_LOCK:
    case VmoOp.UNLOCK: {
      if (!hasRights(rights, Rights.READ) && !hasRights(rights, Rights.WRITE)) {
        fail(Status.ACCESS_DENIED, "locking needs the READ or WRITE right");
      }
      if (!object.discardable) fail(Status.NOT_SUPPORTED, "only a DISCARDABLE VMO can be locked");
      if (offset !== 0 || size !== object.size) {
        fail(Status.OUT_OF_RANGE, "a lock covers exactly (0, size)");
      }
      if (op === VmoOp.LOCK) {
        fail(Status.INVALID_ARGS, "LOCK needs a result buffer: use TRY_LOCK");
      }
      if (op === VmoOp.TRY_LOCK) {
        object.lockCount++;
        return;
      }
      if (object.lockCount === 0) fail(Status.BAD_STATE, "UNLOCK of a VMO that is not locked");
      object.lockCount--;
      return;
    }
    case VmoOp.CACHE_SYNC:
    case VmoOp.CACHE_CLEAN:
    case VmoOp.CACHE_CLEAN_INVALIDATE:
    case VmoOp.CACHE_INVALIDATE: {
      const wanted = op === VmoOp.CACHE_INVALIDATE ? Rights.WRITE : Rights.READ;
      needRights(rights, wanted, "this cache op");
      if (size === 0) fail(Status.INVALID_ARGS, "a cache op needs a non-empty range");
      const end = checkedEnd(offset, size, "cache op");
      if (end > object.size) fail(Status.OUT_OF_RANGE, "cache op range is past the end");
      return;
    }
    case VmoOp.DONT_NEED:
    case VmoOp.ALWAYS_NEED: {
      checkSafe(offset, "offset");
      checkSafe(size, "size");
      if (object.pageOwner.kind !== "file") return;
      const end = checkedEnd(offset, size, "hint");
      if (roundUpPage(end) > object.size) fail(Status.OUT_OF_RANGE, "hint range is past the end");
      adviseFile(
        object,
        offset,
        size,
        op === VmoOp.DONT_NEED ? POSIX_FADV_DONTNEED : POSIX_FADV_WILLNEED,
      );
      return;
    }
    case VmoOp.PREFETCH: {
      needRights(rights, Rights.READ, "PREFETCH");
      const end = checkedEnd(offset, size, "PREFETCH");
      if (roundUpPage(end) > object.size) {
        fail(Status.OUT_OF_RANGE, "PREFETCH range is past the end");
      }
      if (size === 0) return;
      if (object.pageOwner.kind === "file") adviseFile(object, offset, size, POSIX_FADV_WILLNEED);
      return;
    }
    default:
      fail(Status.INVALID_ARGS, `unknown VMO op ${op}`);
  }
}

function adviseFile(object: VmoObject, offset: number, size: number, advice: number): void {
  // Advice is a hint: a file system that ignores it changes nothing observable.
  fadvise(object.backing.fd, object.offset + offset, size, advice);
}
