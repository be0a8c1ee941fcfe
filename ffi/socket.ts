/**
 * Unix sockets for channels: `socketpair`, `sendmsg`/`recvmsg` with `SCM_RIGHTS`, socket
 * options, listening sockets, an eventfd, and `poll` on a runtime thread.
 *
 * Every wrapper returns what C returns on success and `-errno` on failure, read at once, so the
 * caller cannot lose errno to a later FFI call. Layouts are x86_64 Linux, as measured:
 * `msghdr` 56 bytes, `iovec` 16, `cmsghdr` header 16, `CMSG_SPACE(4 * n)` = 16 + 4n rounded up
 * to 8.
 *
 * @module
 */

import { fstat } from "./file.ts";
import { lastErrno, libc } from "./libc.ts";

export const AF_UNIX = 1;
export const SOCK_SEQPACKET = 5;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_PEERCRED = 17;
export const SO_ACCEPTCONN = 30;
export const SO_DOMAIN = 39;
export const MSG_CTRUNC = 0x8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x4000_0000;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
export const POLLRDHUP = 0x2000;
/** `sizeof(struct sockaddr_un)`: a 2-byte family and a 108-byte path. */
const SOCKADDR_UN_SIZE = 110;
/** The longest path a `sockaddr_un` holds, leaving room for the NUL. */
export const UNIX_PATH_MAX = 107;

const MSGHDR_SIZE = 56;
const CMSG_HEADER = 16;

/** `CMSG_SPACE(bytes)`: a control message header plus `bytes`, rounded up to 8. */
export function cmsgSpace(bytes: number): number {
  return CMSG_HEADER + Math.ceil(bytes / 8) * 8;
}

/** The address of an off-heap buffer, for the pointer fields of `msghdr` and `iovec`. */
function addressOf(bytes: Uint8Array<ArrayBuffer>): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
}

/** Off-heap bytes (`new ArrayBuffer` keeps its store out of the moving V8 heap). */
function offHeap(size: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new ArrayBuffer(size));
}

/**
 * A reusable `msghdr` with one `iovec` and a control buffer, for one direction of traffic.
 * The buffers live as long as the module: their addresses are written into the header once.
 */
export class MessageBuffers {
  readonly data: Uint8Array<ArrayBuffer>;
  readonly control: Uint8Array<ArrayBuffer>;
  readonly #header = offHeap(MSGHDR_SIZE);
  readonly #iov = offHeap(16);
  readonly #hv = new DataView(this.#header.buffer);
  readonly #iv = new DataView(this.#iov.buffer);
  readonly #cv: DataView;

  constructor(dataSize: number, maxFds: number) {
    this.data = offHeap(dataSize);
    this.control = offHeap(cmsgSpace(4 * maxFds));
    this.#cv = new DataView(this.control.buffer);
    this.#iv.setBigUint64(0, addressOf(this.data), true);
    this.#hv.setBigUint64(16, addressOf(this.#iov), true);
    this.#hv.setBigUint64(24, 1n, true);
    this.#hv.setBigUint64(32, addressOf(this.control), true);
  }

  /**
   * `sendmsg` of the first `length` bytes of `data` with `fds` as one `SCM_RIGHTS` message.
   * Returns the bytes sent or `-errno`.
   */
  send(fd: number, length: number, fds: readonly number[], flags: number): number {
    // 64-bit fields written as two 32-bit halves: no BigInt on the hot path.
    this.#iv.setUint32(8, length, true);
    if (fds.length === 0) {
      this.#hv.setUint32(40, 0, true);
    } else {
      this.#cv.setUint32(0, CMSG_HEADER + 4 * fds.length, true);
      this.#cv.setInt32(8, SOL_SOCKET, true);
      this.#cv.setInt32(12, SCM_RIGHTS, true);
      for (let i = 0; i < fds.length; i++) this.#cv.setInt32(CMSG_HEADER + 4 * i, fds[i], true);
      this.#hv.setUint32(40, cmsgSpace(4 * fds.length), true);
    }
    this.#hv.setInt32(48, 0, true);
    const n = Number(libc.sendmsg(fd, this.#header, flags));
    return n < 0 ? -lastErrno() : n;
  }

  /** The message flags of the last {@linkcode MessageBuffers.receive}. */
  flags = 0;
  /**
   * The fds the last {@linkcode MessageBuffers.receive} took from the control messages, which
   * the caller now owns. Each call makes a new array (emptying the old one with
   * `length = 0` costs a runtime call, more than a new array).
   */
  fds: number[] = [];

  /**
   * `recvmsg` into `data` and `control`. Returns the byte count or `-errno`; the message
   * flags and every fd the control messages carried are in {@linkcode MessageBuffers.flags}
   * and {@linkcode MessageBuffers.fds}.
   */
  receive(fd: number, flags: number): number {
    this.flags = 0;
    this.#iv.setUint32(8, this.data.length, true);
    this.#hv.setUint32(40, this.control.length, true);
    this.#hv.setInt32(48, 0, true);
    const n = Number(libc.recvmsg(fd, this.#header, flags));
    if (n < 0) {
      this.fds = [];
      return -lastErrno();
    }
    this.flags = this.#hv.getInt32(48, true);
    const controlLength = this.#hv.getUint32(40, true);
    // Counted first, so that the array is made at its size: an array grown by push starts at
    // 17 slots, and a receive is on the hot path of every round trip.
    const fds = new Array<number>(this.#walkRights(controlLength, null));
    this.#walkRights(controlLength, fds);
    this.fds = fds;
    return n;
  }

  /**
   * Walks every control message of the last receive (a peer may send several, or other kinds):
   * any fd in any `SCM_RIGHTS` message is ours to close. Returns how many there are, and
   * stores them in `out` when it is given.
   */
  #walkRights(controlLength: number, out: number[] | null): number {
    const cv = this.#cv;
    let count = 0;
    for (let at = 0; at + CMSG_HEADER <= controlLength;) {
      // A length above 2^32 cannot fit the buffer: the high half must be 0.
      const len = cv.getUint32(at + 4, true) === 0 ? cv.getUint32(at, true) : -1;
      if (len < CMSG_HEADER || at + len > controlLength) break;
      if (cv.getInt32(at + 8, true) === SOL_SOCKET && cv.getInt32(at + 12, true) === SCM_RIGHTS) {
        for (let p = at + CMSG_HEADER; p + 4 <= at + len; p += 4) {
          if (out !== null) out[count] = cv.getInt32(p, true);
          count++;
        }
      }
      at += Math.ceil(len / 8) * 8;
    }
    return count;
  }
}

/** A connected pair of close-on-exec `AF_UNIX` `SOCK_SEQPACKET` sockets, or `-errno`. */
export function seqpacketPair(): [number, number] | number {
  const fds = new Int32Array(2);
  const r = libc.socketpair(
    AF_UNIX,
    SOCK_SEQPACKET | SOCK_CLOEXEC,
    0,
    new Uint8Array(fds.buffer),
  );
  return r < 0 ? -lastErrno() : [fds[0], fds[1]];
}

const optBuffer = new Uint8Array(12);
const optView = new DataView(optBuffer.buffer);
const optLength = new Uint32Array(1);

/** An integer `SOL_SOCKET` option of `fd`, or `-errno` (`-ENOTSOCK` for a non-socket). */
export function socketOptionInt(fd: number, option: number): number {
  optLength[0] = 4;
  const r = libc.getsockopt(fd, SOL_SOCKET, option, optBuffer, new Uint8Array(optLength.buffer));
  return r < 0 ? -lastErrno() : optView.getInt32(0, true);
}

/** `SO_PEERCRED` of a connected Unix socket: `{ pid, uid, gid }`, or `-errno`. */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } | number {
  optLength[0] = 12;
  const r = libc.getsockopt(
    fd,
    SOL_SOCKET,
    SO_PEERCRED,
    optBuffer,
    new Uint8Array(optLength.buffer),
  );
  if (r < 0) return -lastErrno();
  return {
    pid: optView.getInt32(0, true),
    uid: optView.getUint32(4, true),
    gid: optView.getUint32(8, true),
  };
}

function sockaddrUn(path: Uint8Array): Uint8Array<ArrayBuffer> {
  const addr = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(path, 2);
  return addr;
}

/** A new nonblocking, close-on-exec `SOCK_SEQPACKET` Unix socket, or `-errno`. */
export function seqpacketSocket(): number {
  const fd = libc.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  return fd < 0 ? -lastErrno() : fd;
}

/** `bind` then `listen` of `fd` at `path` (UTF-8, no NUL, at most 107 bytes): 0 or `-errno`. */
export function bindListen(fd: number, path: Uint8Array, backlog: number): number {
  if (libc.bind(fd, sockaddrUn(path), SOCKADDR_UN_SIZE) < 0) return -lastErrno();
  return libc.listen(fd, backlog) < 0 ? -lastErrno() : 0;
}

/** `connect` of `fd` to `path`: 0 or `-errno` (`-EAGAIN` when the backlog is full). */
export function connectTo(fd: number, path: Uint8Array): number {
  return libc.connect(fd, sockaddrUn(path), SOCKADDR_UN_SIZE) < 0 ? -lastErrno() : 0;
}

/** `accept4` of a nonblocking, close-on-exec connection, or `-errno`. */
export function acceptOne(fd: number): number {
  const r = libc.accept4(fd, null, null, SOCK_CLOEXEC | SOCK_NONBLOCK);
  return r < 0 ? -lastErrno() : r;
}

/** `unlink(path)`: 0 or `-errno`. */
export function unlinkPath(path: Uint8Array<ArrayBuffer>): number {
  return libc.unlink(path) < 0 ? -lastErrno() : 0;
}

/** A nonblocking, close-on-exec eventfd, or `-errno`. */
export function eventFd(): number {
  const fd = libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return fd < 0 ? -lastErrno() : fd;
}

const one = new BigUint64Array([1n]);
const drained = new BigUint64Array(1);

/** Adds 1 to an eventfd, waking a `poll` on it. */
export function signalEventFd(fd: number): void {
  libc.write(fd, new Uint8Array(one.buffer), 8n);
}

/** Resets an eventfd to 0. */
export function drainEventFd(fd: number): void {
  libc.read(fd, new Uint8Array(drained.buffer), 8n);
}

const onePoll = new Uint8Array(8);
const onePollView = new DataView(onePoll.buffer);

/** `poll` of one fd with a zero timeout: its `revents`, or `-errno`. */
export function pollNow(fd: number, events: number): number {
  onePollView.setInt32(0, fd, true);
  onePollView.setInt16(4, events, true);
  onePollView.setInt16(6, 0, true);
  const r = libc.poll(onePoll, 1n, 0);
  return r < 0 ? -lastErrno() : onePollView.getInt16(6, true) & 0xffff;
}

/**
 * `poll(fds, n, -1)` on a runtime thread. `fds` holds `n` `struct pollfd` (8 bytes each) and
 * must not be touched until the promise settles. Resolves to poll's result (-1 on failure;
 * errno is lost on the runtime thread).
 */
export function pollAsync(fds: Uint8Array<ArrayBuffer>, n: number): Promise<number> {
  return libc.poll_async(fds, BigInt(n), -1);
}

const peerAddress = new Uint8Array(SOCKADDR_UN_SIZE);
const peerAddressLength = new Uint32Array(1);

/** Whether `fd` is a connected socket (`getpeername` succeeds: never a listening one). */
export function isConnected(fd: number): boolean {
  peerAddressLength[0] = SOCKADDR_UN_SIZE;
  return libc.getpeername(fd, peerAddress, new Uint8Array(peerAddressLength.buffer)) === 0;
}

/**
 * Whether `fd` can be a channel end: a connected `AF_UNIX` `SOCK_SEQPACKET` socket (so not a
 * listening one, nor one its sender could still `connect` or `listen` on). An end whose peer
 * has closed still counts as connected: its queued messages can be read.
 */
export function isSeqpacketEnd(fd: number): boolean {
  return socketOptionInt(fd, SO_DOMAIN) === AF_UNIX &&
    socketOptionInt(fd, SO_TYPE) === SOCK_SEQPACKET && isConnected(fd);
}

const O_PATH = 0o10000000;
const O_NOFOLLOW = 0o400000;
const O_CLOEXEC_FLAG = 0o2000000;

/**
 * The identity (`st_dev`, `st_ino`) of the file `path` names now, without following a final
 * symlink, or null when nothing is there. `path` ends with a NUL.
 */
export function pathIdentity(path: Uint8Array<ArrayBuffer>): { dev: bigint; ino: bigint } | null {
  const fd = libc.open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC_FLAG, 0);
  if (fd < 0) return null;
  const stat = fstat(fd);
  libc.close(fd);
  return stat === null ? null : { dev: stat.dev, ino: stat.ino };
}
