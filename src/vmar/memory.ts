/**
 * Memory access through the region tree, for the layers above it: the one query that says
 * whether a range may be read or written, whether views may be made over it, and registers a
 * watch on it (all from one walk of the tree), and the checked copies behind
 * `Vmar.readMemory`/`writeMemory` and the mapping layer's bounce copies, which never fault.
 *
 * @module
 */

import { ENOSYS, EPERM } from "../../ffi/errno.ts";
import { pread, pwrite } from "../../ffi/file.ts";
import { BigIntMemo } from "../../ffi/bigint.ts";
import { lastErrno, libc } from "../../ffi/libc.ts";
import { byteLength, bytesWindow, copyBytes } from "../args.ts";
import { fail, Status, syscallError } from "../status.ts";
import {
  mappingAt,
  MappingRecord,
  needAlive,
  PERM_READ,
  PERM_WRITE,
  visitRange,
  type VmarObject,
  type WalkVisitor,
} from "./region.ts";
import { addWatch, type Lease, newWatch } from "./watch.ts";
import { SHORT_WRITE_UNAVAILABLE, writeShort } from "./short_write.ts";

// What the layers above need besides the query: the permission bits it takes, the VMAR and
// lease types it works on.
export { type Lease, PERM_READ, PERM_WRITE, type VmarObject };

/**
 * What {@linkcode queryRange} found for `[start, end)` of a VMAR: whether an access would
 * succeed, whether views may be made, and the mappings under it, on which
 * {@linkcode RangeQuery.watch} registers a watch without walking the tree again. Valid until
 * the tree next changes: use it at once.
 */
export class RangeQuery implements WalkVisitor {
  /**
   * `OK`, or the status of the first page that fails the access asked: `NOT_FOUND` unmapped,
   * `ACCESS_DENIED` lacking a permission, `OUT_OF_RANGE` past the end of its VMO.
   */
  status: Status = Status.OK;
  /**
   * Whether JavaScript views may be made over the range: no mapping under it shows a file
   * whose size someone else can change (a view of a page cut off under it would fault).
   */
  viewable = true;
  /** The mappings under the range, in address order. */
  readonly records: MappingRecord[] = [];
  readonly start: number;
  readonly end: number;
  /** The PERM_* bits the access needs. */
  readonly needs: number;

  /** An empty answer for `[start, end)`, which {@linkcode queryRange} fills in. */
  constructor(start: number, end: number, needs: number) {
    this.start = start;
    this.end = end;
    this.needs = needs;
  }

  /**
   * Registers `target` (a view's buffer, or a lease) on every mapping under the range, so that
   * it fires when the memory is unmapped or, for a view, loses a permission it `needs`
   * (`needs` 0 makes a lease). `strong` holds a lease strongly: for a holder that unmaps the
   * memory when it is collected.
   */
  watch(needs: number, target: ArrayBuffer | Lease, strong = false): void {
    const watch = newWatch(this.start, this.end, needs, target, strong);
    const records = this.records;
    for (let i = 0; i < records.length; i++) addWatch(records[i], watch);
  }

  /**
   * Registers `lease` on every mapping under the range: it dies when the memory is unmapped or
   * loses a permission in `needs`. Unlike a view it points at no memory, so it never holds
   * memory back from being unmapped (`quarantine.ts`).
   */
  watchPermissions(needs: number, lease: Lease): void {
    const watch = newWatch(this.start, this.end, needs, lease, false, false);
    const records = this.records;
    for (let i = 0; i < records.length; i++) addWatch(records[i], watch);
  }

  /** A hole: the first failure, unless one came before. */
  gap(): void {
    if (this.status === Status.OK) this.status = Status.NOT_FOUND;
  }

  /** A piece of a mapping: recorded, and checked while everything before it passed. */
  mapping(record: MappingRecord, start: number, end: number): void {
    this.records.push(record);
    // Memory whose size someone else can change under a view (a file, an unsealed memfd).
    if (record.vmo.backing.cuttable) this.viewable = false;
    if (this.status !== Status.OK) return;
    const validEnd = record.validEnd;
    for (const range of record.ranges) {
      if (range.end <= start || range.start >= end) continue;
      if ((this.needs & ~range.perms) !== 0) {
        this.status = Status.ACCESS_DENIED;
        return;
      }
      if (Math.min(range.end, end) > validEnd) {
        this.status = Status.OUT_OF_RANGE;
        return;
      }
    }
  }
}

/**
 * One walk of `[start, end)` of a VMAR for an access needing `needs` (PERM_* bits; 0 asks
 * only whether the range is mapped): its status, its viewability and the mappings under it.
 */
export function queryRange(
  vmar: VmarObject,
  start: number,
  end: number,
  needs: number,
): RangeQuery {
  const query = new RangeQuery(start, end, needs);
  const direct = vmar.children.find(start);
  if (direct instanceof MappingRecord && start < end && end <= direct.end) {
    // The common case, one direct mapping: no list of children.
    query.mapping(direct, start, end);
  } else {
    visitRange(vmar, start, end, query);
  }
  return query;
}

const localIov = new BigUint64Array(2);
const remoteIov = new BigUint64Array(2);
let processVmWorks = true;
/** This process: Deno cannot fork, so the id never changes. */
const selfPid = libc.getpid();
/**
 * A private buffer the short copies go through, at an address found once: finding the address
 * of a caller's array (`Deno.UnsafePointer.of`) costs more than the copy's system call.
 */
const scratch = new Uint8Array(16 * 1024);
const scratchAddress = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(scratch)));
const ADDR = new BigIntMemo();
const LENGTH = new BigIntMemo();

/**
 * The checked copy behind `readMemory`/`writeMemory`: runs of pages the tree says are mapped,
 * permitted and inside their VMO, each copied with `process_vm_readv`/`writev` (or, where the
 * kernel forbids those, `pread`/`pwrite` on the VMO's file: the same pages). Returns the bytes
 * copied, short when a later page fails; `BAD_STATE` for a destroyed VMAR, and the status of
 * the first page when it fails (`NOT_FOUND`, `ACCESS_DENIED`, `OUT_OF_RANGE`).
 */
export function copyMemory(
  vmar: VmarObject,
  addr: number,
  buffer: Uint8Array,
  write: boolean,
): number {
  needAlive(vmar);
  const wanted = write ? PERM_WRITE : PERM_READ;
  let done = 0;
  const total = byteLength(buffer);
  while (done < total) {
    const at = addr + done;
    const record = at >= vmar.base && at < vmar.end ? mappingAt(vmar, at) : undefined;
    let failure: Status | null = null;
    if (record === undefined) failure = Status.NOT_FOUND;
    else if ((record.rangeAt(at).perms & wanted) === 0) failure = Status.ACCESS_DENIED;
    else if (at >= record.validEnd) failure = Status.OUT_OF_RANGE;
    if (failure !== null) {
      if (done > 0) return done;
      fail(failure, `cannot ${write ? "write" : "read"} memory at 0x${at.toString(16)}`);
    }
    const range = record!.rangeAt(at);
    const runEnd = Math.min(range.end, record!.validEnd, addr + total);
    const part = bytesWindow(buffer, done, runEnd - at);
    const n = copyRun(record!, at, part, write);
    if (n === 0 && done === 0) {
      // The kernel refused the page the tree thinks is there: its file was cut short outside
      // vmo (another process truncated it), so the page is past the end of the VMO's memory.
      fail(Status.OUT_OF_RANGE, `memory at 0x${at.toString(16)} is past the end of its file`);
    }
    done += n;
    if (n < runEnd - at) return done;
  }
  return done;
}

/**
 * Writes the first `count` bytes of `src` to `addr` with one system call, for memory the
 * caller knows is mapped read-write in the tree: a `pread` from the library's own memfd
 * (short_write.ts), or where that is not available one `process_vm_writev`. Returns the bytes
 * written, or -1 when nothing was written (the caller then takes {@linkcode copyMemory}, which
 * finds out why).
 */
export function writeMemoryShort(addr: number, src: Uint8Array, count: number): number {
  const written = writeShort(addr, src, count);
  if (written !== SHORT_WRITE_UNAVAILABLE) return written > 0 ? written : -1;
  if (!processVmWorks || count > scratch.length) return -1;
  copyBytes(scratch, src);
  localIov[0] = scratchAddress;
  const length = LENGTH.of(count);
  localIov[1] = length;
  remoteIov[0] = ADDR.of(addr);
  remoteIov[1] = length;
  const n = Number(libc.process_vm_writev(selfPid, localIov, 1n, remoteIov, 1n, 0n));
  return n > 0 ? n : -1;
}

function copyRun(record: MappingRecord, addr: number, part: Uint8Array, write: boolean): number {
  if (processVmWorks) {
    const partLength = byteLength(part);
    const viaScratch = partLength <= scratch.length;
    if (viaScratch) {
      localIov[0] = scratchAddress;
      if (write) copyBytes(scratch, part);
    } else {
      localIov[0] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(part)));
    }
    const length = LENGTH.of(partLength);
    localIov[1] = length;
    remoteIov[0] = ADDR.of(addr);
    remoteIov[1] = length;
    const n = Number(
      write
        ? libc.process_vm_writev(selfPid, localIov, 1n, remoteIov, 1n, 0n)
        : libc.process_vm_readv(selfPid, localIov, 1n, remoteIov, 1n, 0n),
    );
    if (n > 0 && viaScratch && !write) copyBytes(part, scratch.subarray(0, n));
    if (n >= 0) return n;
    const errno = lastErrno();
    if (errno !== ENOSYS && errno !== EPERM) {
      // EFAULT: the page tables disagree with the tree (another process shrank the file).
      return 0;
    }
    processVmWorks = false;
  }
  const fd = record.vmo.backing.fd;
  const offset = record.fileOffsetAt(addr);
  const length = byteLength(part);
  const n = write ? pwrite(fd, part, length, offset) : pread(fd, part, length, offset);
  if (n < 0) throw syscallError(write ? "pwrite" : "pread", "cannot copy memory");
  return n;
}
