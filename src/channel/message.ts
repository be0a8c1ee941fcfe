/**
 * Moving one message through a channel socket: the checks and fds of the handles a write
 * sends, and the validation of everything a read receives before any of it becomes a handle.
 *
 * A received message is trusted in nothing: its bytes must parse exactly (format.ts), the
 * number of fds must match the header, each fd must be what its record says (a regular file or
 * memfd for a VMO, an `AF_UNIX` `SOCK_SEQPACKET` socket for a channel), and a truncated message
 * or control message is refused. Anything wrong drops the message whole, every fd in it closed,
 * and the read fails with `BAD_STATE`.
 *
 * @module
 */

import { F_SEAL_FUTURE_WRITE, F_SEAL_WRITE, O_CLOEXEC, O_RDONLY } from "../../ffi/constants.ts";
import { reopenFd } from "../../ffi/file.ts";
import { lastErrno, libc } from "../../ffi/libc.ts";
import {
  isSeqpacketEnd,
  MessageBuffers,
  MSG_CMSG_CLOEXEC,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_TRUNC,
  POLLHUP,
  POLLIN,
  pollNow,
  POLLRDHUP,
} from "../../ffi/socket.ts";
import { type Handle, liveObjectOf, ObjType, rightsOf } from "../handle.ts";
import { hasRights, Rights } from "../rights.ts";
import { fail, Status, ZxError } from "../status.ts";
import { errorFromErrno } from "./errors.ts";
import type { VmoObject } from "../vmo/object.ts";
import { vmoFromReceivedFd } from "../vmo/fd.ts";
// Loaded for its side effect too: the Vmo class registers how received fds become handles.
import "../vmo/vmo.ts";
import type { Vmo } from "../vmo/vmo.ts";
import {
  HandleKind,
  HEADER_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_MESSAGE_HANDLES,
  MAX_WIRE_BYTES,
  parseHeader,
  RECORD_BYTES,
  recordKind,
  recordRights,
  writeHeader,
  writeRecord,
} from "./format.ts";
import { type ChannelObject, OBJ_TYPE_CHANNEL } from "./object.ts";

const EINTR = 4;
const EAGAIN = 11;

/** The buffers of one direction, made on first use: importing vmo allocates nothing here. */
interface Buffers {
  msg: MessageBuffers;
  view: DataView;
}
let outgoingBuffers: Buffers | null = null;
let incomingBuffers: Buffers | null = null;

function buffers(size: number): Buffers {
  const msg = new MessageBuffers(size, MAX_MESSAGE_HANDLES);
  return { msg, view: new DataView(msg.data.buffer) };
}

/** A received message. */
export interface Message<H> {
  bytes: Uint8Array<ArrayBuffer>;
  handles: H[];
}

/** Turns a received channel socket into a handle with `rights` (given by channel.ts). */
export type AdoptChannel<H> = (fd: number, rights: number) => H;

/**
 * What can stop a VMO handle from crossing, checked before anything is sealed or sent; and
 * whether crossing without `WRITE` needs the seal (a memfd already sealed against writing, by
 * this process or another, needs none: the kernel refuses every writer already).
 */
function checkVmo(vmo: VmoObject, rights: number): boolean {
  if (vmo.offset !== 0 || vmo.sliceSize !== null) {
    // Its fd would show the whole parent to the receiver.
    fail(Status.NOT_SUPPORTED, "a slice of a VMO cannot cross a channel");
  }
  const backing = vmo.backing;
  if (backing.isFile) return false;
  if (hasRights(rights, Rights.WRITE)) {
    // Only this process's own seal is checked here (no syscall on the common path): a seal
    // another process added since shows at the receiver, whose adoption reads the seals and
    // gives no WRITE.
    if (backing.futureWriteSealed) {
      fail(
        Status.ACCESS_DENIED,
        "the VMO was sent without WRITE before (sealed F_SEAL_FUTURE_WRITE): it cannot cross with WRITE",
      );
    }
    return false;
  }
  const sealed = backing.futureWriteSealed ||
    (backing.seals() & (F_SEAL_FUTURE_WRITE | F_SEAL_WRITE)) !== 0;
  if (!sealed && backing.resizable) {
    fail(
      Status.NOT_SUPPORTED,
      "a resizable VMO cannot cross without WRITE: resizing needs the write access a seal removes",
    );
  }
  return !sealed;
}

/**
 * Set by {@linkcode checkHandles} for each handle of the write it checked: whether its memfd
 * must be sealed against writing before it is sent. Scratch space, read by the same
 * `sendMessage` before anything else can check handles (no user code runs in between).
 */
const mustSeal: boolean[] = new Array(MAX_MESSAGE_HANDLES).fill(false);
/**
 * The memory of each VMO of the write so far, and whether its handle had `WRITE`: one message
 * cannot carry the same memory with `WRITE` and without (the seal the second needs would take
 * `WRITE` from the first on its way). At most 64 handles: pairwise checks, no `Set` or `Map`;
 * scratch arrays, emptied again before {@linkcode checkHandles} returns or throws.
 */
const memories: unknown[] = new Array(MAX_MESSAGE_HANDLES).fill(null);
const withWrite: boolean[] = new Array(MAX_MESSAGE_HANDLES).fill(false);

/**
 * Checks the handles of a write without changing anything; throws as Zircon would. Sets
 * {@linkcode mustSeal} for each handle.
 */
function checkHandles(self: ChannelObject, handles: readonly unknown[]): void {
  let vmos = 0;
  try {
    for (let i = 0; i < handles.length; i++) {
      const handle = handles[i];
      const object = liveObjectOf(handle);
      for (let j = 0; j < i; j++) {
        if (handles[j] === handle) fail(Status.BAD_HANDLE, "the same handle is written twice");
      }
      if (object === self) fail(Status.NOT_SUPPORTED, "a channel cannot be written into itself");
      if (object.type === ObjType.VMAR) {
        fail(Status.NOT_SUPPORTED, "a VMAR cannot cross a channel");
      }
      if (object.type !== ObjType.VMO && object.type !== OBJ_TYPE_CHANNEL) {
        fail(Status.WRONG_TYPE, "only VMO and channel handles can be written");
      }
      const rights = rightsOf(handle as Handle);
      if (!hasRights(rights, Rights.TRANSFER)) {
        fail(Status.ACCESS_DENIED, "a handle written into a channel needs the TRANSFER right");
      }
      mustSeal[i] = false;
      if (object.type !== ObjType.VMO) continue;
      const vmo = object as VmoObject;
      mustSeal[i] = checkVmo(vmo, rights);
      if (vmo.backing.isFile) continue;
      const writes = hasRights(rights, Rights.WRITE);
      for (let j = 0; j < vmos; j++) {
        if (memories[j] === vmo.backing && withWrite[j] !== writes) {
          fail(
            Status.ACCESS_DENIED,
            "one message cannot carry the same memory with WRITE and without: the seal of the " +
              "read-only handle would take WRITE from the other",
          );
        }
      }
      memories[vmos] = vmo.backing;
      withWrite[vmos++] = writes;
    }
  } finally {
    // No backing kept alive by the scratch space.
    for (let j = 0; j < vmos; j++) memories[j] = null;
  }
}

/**
 * The fd that carries a VMO handle: a copy to close after sending when the handle lacks
 * `WRITE`. (A memfd not sealed against shrinking never gets views, shared or not: nothing
 * changes for it here.)
 *
 * With `WRITE`, the VMO's own fd: `sendmsg` takes its own reference to the file, so no `dup`
 * is needed. Without, the kernel must refuse the receiver every way to write (a read-only fd is
 * not enough: a memfd's `/proc/self/fd/N` reopens read-write), so the memfd is sealed with
 * `F_SEAL_FUTURE_WRITE` first (the sender keeps writing through a mapping made before the
 * seal), and a read-only reopen of it is sent. A file crosses as a read-only fd: its own
 * permissions decide what a reopen may do.
 */
function vmoFd(handle: Vmo, seal: boolean): number {
  const object = liveObjectOf(handle) as VmoObject;
  const backing = object.backing;
  if (hasRights(rightsOf(handle), Rights.WRITE)) return backing.fd;
  if (seal) backing.sealFutureWrite();
  const ro = reopenFd(backing.fd, O_RDONLY | O_CLOEXEC);
  if (ro < 0) throw errorFromErrno("open", lastErrno(), "cannot make a read-only fd of the VMO");
  return ro;
}

function closeAll(fds: readonly number[]): void {
  for (const fd of fds) libc.close(fd);
}

/**
 * Sends `bytes` and `handles` on `self`'s socket, then closes the handles. Nothing changes
 * when it fails.
 */
export function sendMessage(self: ChannelObject, bytes: Uint8Array, handles: readonly unknown[]) {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    fail(Status.OUT_OF_RANGE, `${bytes.length} bytes is more than ${MAX_MESSAGE_BYTES}`);
  }
  if (handles.length > MAX_MESSAGE_HANDLES) {
    fail(Status.OUT_OF_RANGE, `${handles.length} handles is more than ${MAX_MESSAGE_HANDLES}`);
  }
  checkHandles(self, handles);
  const { msg: outgoing, view: outView } = outgoingBuffers ??= buffers(MAX_WIRE_BYTES);
  const count = handles.length;
  const fds = new Array<number>(count);
  /** The fds made for this message (read-only reopens), closed whatever happens. */
  let copies: number[] | null = null;
  try {
    writeHeader(outView, count, bytes.length);
    for (let i = 0; i < count; i++) {
      const handle = handles[i] as Handle;
      const object = liveObjectOf(handle);
      const rights = rightsOf(handle);
      if (object.type === ObjType.VMO) {
        const fd = vmoFd(handle as Vmo, mustSeal[i]);
        if (!hasRights(rights, Rights.WRITE)) (copies ??= []).push(fd);
        writeRecord(outView, i, HandleKind.VMO, rights);
        fds[i] = fd;
      } else {
        writeRecord(outView, i, HandleKind.CHANNEL, rights);
        fds[i] = (object as ChannelObject).fd;
      }
    }
    const at = HEADER_BYTES + RECORD_BYTES * count;
    outgoing.data.set(bytes, at);
    let n: number;
    do n = outgoing.send(self.fd, at + bytes.length, fds, MSG_DONTWAIT | MSG_NOSIGNAL); while (
      n === -EINTR
    );
    if (n < 0) {
      if (-n === EAGAIN) throw new ZxError(Status.SHOULD_WAIT, "the peer's queue is full");
      throw errorFromErrno("sendmsg", -n, "cannot write the message");
    }
  } finally {
    if (copies !== null) closeAll(copies);
  }
  for (let i = 0; i < count; i++) (handles[i] as Handle).close();
}

/** Whether the peer of `fd` has hung up. */
function peerGone(fd: number): boolean {
  const revents = pollNow(fd, POLLIN | POLLRDHUP);
  return revents > 0 && (revents & (POLLHUP | POLLRDHUP)) !== 0;
}

/** Closes every fd of a received message and fails the read with `BAD_STATE`. */
function dropMessage(fds: readonly number[], why: string): never {
  closeAll(fds);
  fail(Status.BAD_STATE, `a message was dropped: ${why}`);
}

/**
 * Receives one message from `self`'s socket without waiting: `SHOULD_WAIT` when none is
 * queued, `PEER_CLOSED` when none is and the peer is gone, `BAD_STATE` for a message that was
 * dropped (with every fd in it closed).
 */
export function receiveMessage<H extends Handle>(
  self: ChannelObject,
  adoptChannel: AdoptChannel<H>,
): Message<H> {
  // One byte more than the largest message, so that an oversized one shows as truncated even
  // if the kernel did not say so.
  const { msg: incoming, view: inView } = incomingBuffers ??= buffers(MAX_WIRE_BYTES + 1);
  let n;
  do n = incoming.receive(self.fd, MSG_DONTWAIT | MSG_CMSG_CLOEXEC); while (n === -EINTR);
  // The fds of this message, now ours: nothing below receives again (an adoption runs no user
  // code), so the header in inView stays this message's until every fd is a handle or closed.
  const fds = incoming.fds;
  const flags = incoming.flags;
  if (n < 0) {
    if (-n === EAGAIN) {
      if (peerGone(self.fd)) fail(Status.PEER_CLOSED, "the peer closed the channel");
      fail(Status.SHOULD_WAIT, "no message is queued");
    }
    throw errorFromErrno("recvmsg", -n, "cannot read the channel");
  }
  if (n === 0 && fds.length === 0 && peerGone(self.fd)) {
    fail(Status.PEER_CLOSED, "the peer closed the channel");
  }
  if ((flags & MSG_CTRUNC) !== 0) {
    dropMessage(fds, "its control data was truncated (too many fds?)");
  }
  if ((flags & MSG_TRUNC) !== 0 || n > MAX_WIRE_BYTES) {
    dropMessage(fds, "it is longer than any message");
  }
  const payloadStart = parseHeader(inView, n, fds.length);
  if (typeof payloadStart === "string") dropMessage(fds, payloadStart);
  // A VMO's fd is checked by its adoption (vmoFromReceivedFd: a memfd or regular file that can
  // read, else WRONG_TYPE or ACCESS_DENIED), which runs before any handle of the message is
  // handed out: a failed adoption drops the message whole below.
  for (let i = 0; i < fds.length; i++) {
    if (recordKind(inView, i) === HandleKind.CHANNEL && !isSeqpacketEnd(fds[i])) {
      dropMessage(fds, "a channel handle's fd is not a connected AF_UNIX SOCK_SEQPACKET socket");
    }
  }
  const handles = new Array<H>(fds.length);
  for (let i = 0; i < fds.length; i++) {
    const rights = recordRights(inView, i);
    try {
      handles[i] = recordKind(inView, i) === HandleKind.VMO
        ? vmoFromReceivedFd(fds[i], rights) as unknown as H
        : adoptChannel(fds[i], rights);
    } catch (error) {
      // fds[i] was taken over (and closed) by the failed adoption.
      for (let j = 0; j < i; j++) handles[j].close();
      closeAll(fds.slice(i + 1));
      fail(
        Status.BAD_STATE,
        `a message was dropped: handle ${i} could not be adopted (${(error as Error).message})`,
      );
    }
  }
  const bytes = incoming.data.slice(payloadStart as number, n);
  return { bytes, handles };
}
