/**
 * `Channel`: Zircon's bidirectional message pipe, between processes, on a connected pair of
 * `AF_UNIX` `SOCK_SEQPACKET` sockets. Messages are bytes plus handles (VMOs, channels) that
 * move: their fds travel as `SCM_RIGHTS`.
 *
 * @module
 */

import { F_GETFD, F_SETFD, FD_CLOEXEC } from "../../ffi/constants.ts";
import { libc } from "../../ffi/libc.ts";
import {
  connectTo,
  isSeqpacketEnd,
  peerCredentials as socketPeerCredentials,
  POLLOUT,
  seqpacketPair,
  seqpacketSocket,
  SO_ERROR,
  socketOptionInt,
  UNIX_PATH_MAX,
} from "../../ffi/socket.ts";
import { checkBytes, describe } from "../args.ts";
import {
  Handle,
  type HandleBasicInfo,
  type KernelObject,
  liveObjectOfType,
  rightsOf,
} from "../handle.ts";
import { hasRights, Rights } from "../rights.ts";
import { fail, Status, ZxError } from "../status.ts";
import type { Vmo } from "../vmo/vmo.ts";
import { ChannelListener } from "./listener.ts";
import { type Message, receiveMessage, sendMessage } from "./message.ts";
import { MAX_MESSAGE_HANDLES } from "./format.ts";
import { ChannelObject, DEFAULT_CHANNEL_RIGHTS, isChannelFd, OBJ_TYPE_CHANNEL } from "./object.ts";
import { addWaiter } from "./poller.ts";
import { errorFromErrno } from "./errors.ts";

const POLLIN = 0x1;
const POLLRDHUP = 0x2000;

/** What a channel read gives: the bytes and the handles that came with them. */
export interface ChannelMessage {
  /** The payload, a copy owned by the caller. */
  bytes: Uint8Array<ArrayBuffer>;
  /** The handles, now owned by the caller (close them). */
  handles: (Vmo | Channel)[];
}

/** The environment variable `spawn` names the child's end in. */
export const CHANNEL_ENV = "VMO_CHANNEL_FD";

/** Set by `Channel`'s static block: its private adoption, for reads served by the poller. */
let adoptReceived: (fd: number, rights: number) => Channel;

function channelObjectOf(handle: unknown): ChannelObject {
  return liveObjectOfType<ChannelObject>(handle, OBJ_TYPE_CHANNEL, "the handle");
}

/** UTF-8 bytes of a socket path: `INVALID_ARGS` for a non-string, a NUL or too long a path. */
export function socketPath(path: unknown): Uint8Array<ArrayBuffer> {
  if (typeof path !== "string" || path.length === 0) {
    fail(Status.INVALID_ARGS, `path must be a non-empty string, got ${describe(path)}`);
  }
  if (path.includes("\0")) fail(Status.INVALID_ARGS, "a socket path cannot hold a NUL");
  const bytes = new TextEncoder().encode(path);
  if (bytes.length > UNIX_PATH_MAX) {
    fail(Status.INVALID_ARGS, `a socket path is at most ${UNIX_PATH_MAX} bytes`);
  }
  return bytes;
}

/**
 * One end of a channel: Zircon's `zx_channel`, between threads or processes. A message is up
 * to 65,536 bytes and up to 64 handles (VMOs and channels), which move: after a successful
 * `write` the sender's handles are closed, after a failed one they are untouched. Reads never
 * block the event loop.
 *
 * A VMO crosses as a file descriptor of its memory (a memfd or file): the receiver gets a `Vmo`
 * to the same memory, with the rights the sender's handle had, less what the fd allows. Rights
 * hold against the receiver's own libc calls too: a VMO handle without `WRITE` seals its memfd
 * with `F_SEAL_FUTURE_WRITE` (this process keeps writing: through mappings made before, and
 * new writable mappings duplicate one), so no other process can gain write access to it. A channel crosses
 * as its socket. The wire format is in `docs/channel.md`, so other programs
 * can take part.
 *
 * @example A VMO through a channel
 * ```ts
 * import { Channel, Vmo } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = Channel.createPair();
 * const vmo = Vmo.create(4096);
 * vmo.write(new Uint8Array([7]), 0);
 * a.write(new TextEncoder().encode("here"), [vmo]);
 * assert.equal(vmo.isValid, false); // moved
 * const { bytes, handles } = await b.read();
 * assert.equal(new TextDecoder().decode(bytes), "here");
 * const received = handles[0] as Vmo;
 * assert.equal(received.readToArray(0, 1)[0], 7);
 * received.close();
 * a.close();
 * b.close();
 * ```
 */
export class Channel extends Handle {
  /** @ignore */
  private constructor(object: ChannelObject, rights: number) {
    super(object, rights);
  }

  /** @ignore */
  protected newHandle(object: KernelObject, rights: number): this {
    return new Channel(object as ChannelObject, rights) as this;
  }

  /** A handle over a socket fd this module owns from now on. */
  static #adopt(fd: number, rights = DEFAULT_CHANNEL_RIGHTS): Channel {
    return new Channel(new ChannelObject(fd), rights);
  }

  /**
   * A new channel: two connected ends, each with the default channel rights (`TRANSFER`,
   * `WAIT`, `INSPECT`, `READ`, `WRITE`, `SIGNAL`, `SIGNAL_PEER`).
   *
   * Errors: `NO_RESOURCES` when the process is out of fds.
   *
   * @example
   * ```ts
   * import { Channel } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = Channel.createPair();
   * a.write(new Uint8Array([1, 2, 3]));
   * assert.deepEqual([...b.tryRead().bytes], [1, 2, 3]);
   * a.close();
   * b.close();
   * ```
   */
  static createPair(): [Channel, Channel] {
    const pair = seqpacketPair();
    if (typeof pair === "number") throw errorFromErrno("socketpair", -pair, "no channel");
    const ends: [Channel, Channel] = [Channel.#adopt(pair[0]), Channel.#adopt(pair[1])];
    const [a, b] = ends.map(channelObjectOf);
    a.peerKoid = b.koid;
    b.peerKoid = a.koid;
    return ends;
  }

  /**
   * Writes a message: `bytes` (at most 65,536) and `handles` (at most 64), which move to the
   * peer. Needs `WRITE`; each handle needs `TRANSFER`.
   *
   * Errors: `OUT_OF_RANGE` for too many bytes or handles; `BAD_HANDLE` for a closed handle or
   * the same handle twice; `ACCESS_DENIED` without `WRITE` on this channel or `TRANSFER` on a
   * handle, or a VMO with `WRITE` that an earlier send without `WRITE` sealed; `NOT_SUPPORTED`
   * for this channel itself, a VMAR, a VMO slice (its fd would show the whole parent), or a
   * resizable VMO without `WRITE` (it cannot be sealed); `WRONG_TYPE` for other handles; `PEER_CLOSED` when the peer is gone;
   * `SHOULD_WAIT` when the peer's queue is full. After any error the handles are untouched.
   *
   * @example
   * ```ts
   * import { Channel, Status, Vmo, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = Channel.createPair();
   * b.close();
   * using vmo = Vmo.create(4096);
   * assert.throws(
   *   () => a.write(new Uint8Array(1), [vmo]),
   *   (e) => e instanceof ZxError && e.status === Status.PEER_CLOSED,
   * );
   * assert.ok(vmo.isValid); // a failed write moves nothing
   * a.close();
   * ```
   */
  write(bytes: Uint8Array, handles: (Vmo | Channel)[] = []): void {
    const object = channelObjectOf(this);
    checkBytes(bytes, "bytes");
    if (!Array.isArray(handles)) {
      fail(Status.INVALID_ARGS, `handles must be an array, got ${describe(handles)}`);
    }
    if (!hasRights(rightsOf(this), Rights.WRITE)) {
      fail(Status.ACCESS_DENIED, "write needs the WRITE right");
    }
    // A copy, read once: the checks and the send see the same handles whatever the array
    // does later. A loop into an array of the right size, not a spread: the spread cost about
    // 350 ns per write.
    const length: unknown = handles.length;
    // A genuine array's length is a uint32; a Proxy's may be anything: a non-number or a
    // negative one reads as none, as the spread's ToLength read it.
    const count = typeof length === "number" && length > 0 ? Math.floor(length) : 0;
    if (count > MAX_MESSAGE_HANDLES) {
      fail(Status.OUT_OF_RANGE, `${count} handles is more than ${MAX_MESSAGE_HANDLES}`);
    }
    const copy = new Array<unknown>(count);
    for (let i = 0; i < count; i++) copy[i] = handles[i];
    sendMessage(object, bytes, copy);
  }

  /**
   * Reads the next message if one is queued.
   *
   * Errors: `SHOULD_WAIT` when none is; `PEER_CLOSED` when none is and the peer is gone;
   * `BAD_STATE` when the next message was malformed or carried an fd that is not what its
   * header says (it is dropped, every fd in it closed); `ACCESS_DENIED` without `READ`.
   *
   * @example
   * ```ts
   * import { Channel, Status, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = Channel.createPair();
   * assert.throws(
   *   () => b.tryRead(),
   *   (e) => e instanceof ZxError && e.status === Status.SHOULD_WAIT,
   * );
   * a.close();
   * b.close();
   * ```
   */
  tryRead(): ChannelMessage {
    const object = channelObjectOf(this);
    if (!hasRights(rightsOf(this), Rights.READ)) {
      fail(Status.ACCESS_DENIED, "read needs the READ right");
    }
    return receiveMessage(object, Channel.#adopt) as Message<Vmo | Channel>;
  }

  /**
   * The next message, waiting for one without blocking the event loop (one `poll` on a
   * runtime thread serves every waiting channel). Reads are served in the order they were
   * made. A pending read does not keep the process alive once its channel is closed:
   * `close()` rejects it with `CANCELED`; the peer's closing rejects it with `PEER_CLOSED`.
   *
   * Errors: as {@linkcode Channel.tryRead}, except that it waits instead of `SHOULD_WAIT`.
   *
   * @example
   * ```ts
   * import { Channel } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = Channel.createPair();
   * const pending = b.read();
   * setTimeout(() => a.write(new Uint8Array([42])), 10);
   * assert.equal((await pending).bytes[0], 42);
   * a.close();
   * b.close();
   * ```
   */
  read(): Promise<ChannelMessage> {
    let object: ChannelObject;
    try {
      object = channelObjectOf(this);
      if (!hasRights(rightsOf(this), Rights.READ)) {
        fail(Status.ACCESS_DENIED, "read needs the READ right");
      }
      if (object.readers.length === 0) {
        try {
          return Promise.resolve(receiveMessage(object, Channel.#adopt) as ChannelMessage);
        } catch (error) {
          if (!(error instanceof ZxError) || error.status !== Status.SHOULD_WAIT) throw error;
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<ChannelMessage>((resolve, reject) => {
      object.readers.push({ handle: this, resolve: resolve as (m: unknown) => void, reject });
      waitForMessage(object);
    });
  }

  /**
   * As {@linkcode Handle.basicInfo}, with Zircon's `relatedKoid`: the koid of the other end
   * when this process made the pair, 0 for an end that came from elsewhere (koids are local to
   * a process).
   *
   * @example
   * ```ts
   * import { Channel } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = Channel.createPair();
   * assert.equal(a.basicInfo().relatedKoid, b.koid);
   * a.close();
   * b.close();
   * ```
   */
  override basicInfo(): HandleBasicInfo {
    const info = super.basicInfo();
    info.relatedKoid = channelObjectOf(this).peerKoid;
    return info;
  }

  /**
   * The process id, user id and group id of the process at the other end (`SO_PEERCRED`),
   * as the kernel recorded them when the connection was made: for a `createPair` channel that
   * is the creating process, even after an end moved to another process; for a `connect`ed one
   * it is the process that called `connect` or `listen`.
   *
   * @example
   * ```ts
   * import { Channel } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = Channel.createPair();
   * assert.equal(a.peerCredentials().pid, Deno.pid);
   * a.close();
   * b.close();
   * ```
   */
  peerCredentials(): { pid: number; uid: number; gid: number } {
    const object = channelObjectOf(this);
    const creds = socketPeerCredentials(object.fd);
    if (typeof creds === "number") {
      throw errorFromErrno("getsockopt", -creds, "cannot read SO_PEERCRED");
    }
    return creds;
  }

  /**
   * In a child made by {@linkcode spawn}: the channel end its parent passed, named by the
   * environment variable `name` (default `VMO_CHANNEL_FD`), which is then removed from the
   * environment. The fd is checked to be a connected `AF_UNIX` `SOCK_SEQPACKET` socket that no
   * channel of this process owns already, and made
   * close-on-exec, so it does not leak into this process's own children. Needs `--allow-env`.
   *
   * Errors: `NOT_FOUND` when the variable is not set; `BAD_HANDLE` when it does not name such a
   * socket (not a number, a closed fd, a file, stdin, a listening socket, another channel's).
   *
   * @example
   * ```ts
   * import { Channel, Status, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * assert.throws(
   *   () => Channel.fromEnv("NO_SUCH_VARIABLE"),
   *   (e) => e instanceof ZxError && e.status === Status.NOT_FOUND,
   * );
   * ```
   */
  static fromEnv(name: string = CHANNEL_ENV): Channel {
    if (typeof name !== "string") {
      fail(Status.INVALID_ARGS, `name must be a string, got ${describe(name)}`);
    }
    const value = Deno.env.get(name);
    if (value === undefined) fail(Status.NOT_FOUND, `${name} is not set`);
    Deno.env.delete(name);
    if (!/^[0-9]{1,9}$/.test(value)) fail(Status.BAD_HANDLE, `${name}=${value} is no fd number`);
    const fd = Number(value);
    if (isChannelFd(fd)) fail(Status.BAD_HANDLE, `fd ${fd} is already a channel's`);
    if (!isSeqpacketEnd(fd)) {
      fail(Status.BAD_HANDLE, `fd ${fd} is not a connected AF_UNIX SOCK_SEQPACKET socket`);
    }
    const flags = libc.fcntl(fd, F_GETFD, 0);
    libc.fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    return Channel.#adopt(fd);
  }

  /**
   * Connects to a {@linkcode ChannelListener} (or any `SOCK_SEQPACKET` listener) at the Unix
   * socket `path`, without blocking the event loop.
   *
   * Errors: `INVALID_ARGS` for a bad path (not a string, a NUL, more than 107 bytes);
   * `NOT_FOUND` when nothing is there; `PEER_CLOSED` when nothing listens there
   * (`ECONNREFUSED`); `ACCESS_DENIED` when the socket file's permissions refuse.
   *
   * @example
   * ```ts
   * import { Channel } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempDirSync() + "/vmo.sock";
   * using listener = Channel.listen(path);
   * const [client, server] = await Promise.all([Channel.connect(path), listener.accept()]);
   * client.write(new Uint8Array([5]));
   * assert.equal((await server.read()).bytes[0], 5);
   * assert.equal(server.peerCredentials().pid, Deno.pid);
   * client.close();
   * server.close();
   * ```
   */
  static async connect(path: string): Promise<Channel> {
    const bytes = socketPath(path);
    const fd = seqpacketSocket();
    if (fd < 0) throw errorFromErrno("socket", -fd, "cannot make a socket");
    try {
      const r = connectTo(fd, bytes);
      // EAGAIN (a full backlog) and EINPROGRESS: wait until the socket is writable.
      if (r === -11 || r === -115) {
        await new Promise<void>((resolve) =>
          addWaiter({ fd, events: POLLOUT, ready: () => resolve() })
        );
        const error = socketOptionInt(fd, SO_ERROR);
        if (error !== 0) {
          // A full backlog again: try once more, now that there was room.
          if (error < 0 || connectTo(fd, bytes) < 0) {
            throw errorFromErrno("connect", Math.abs(error), `cannot connect to ${path}`);
          }
        }
      } else if (r < 0) {
        throw errorFromErrno("connect", -r, `cannot connect to ${path}`);
      }
    } catch (error) {
      libc.close(fd);
      throw error;
    }
    return Channel.#adopt(fd);
  }

  /**
   * Listens at the Unix socket `path` (created here, `SOCK_SEQPACKET`) for
   * {@linkcode Channel.connect}. Check who connected with
   * {@linkcode Channel.peerCredentials}. The file is made with the process umask; removing it
   * is the listener's `close()`.
   *
   * Errors: `INVALID_ARGS` for a bad path; `ALREADY_EXISTS` when something is at `path`;
   * `NOT_FOUND` when its directory is missing; `ACCESS_DENIED` when it cannot be written.
   *
   * @example
   * ```ts
   * import { Channel, Status, ZxError } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempDirSync() + "/vmo.sock";
   * using listener = Channel.listen(path);
   * assert.throws(
   *   () => Channel.listen(path),
   *   (e) => e instanceof ZxError && e.status === Status.ALREADY_EXISTS,
   * );
   * ```
   */
  static listen(path: string): ChannelListener {
    return new ChannelListener(socketPath(path), path, (fd) => Channel.#adopt(fd));
  }

  static {
    // The private adoption, for reads served from the poller's callbacks.
    adoptReceived = (fd, rights) => Channel.#adopt(fd, rights);
  }

  /** The socket fd, for spawn (not for users). @ignore */
  static socketFdOf(channel: Channel): number {
    return channelObjectOf(channel).fd;
  }
}

/** Registers `object` with the poller so that its pending reads are served when ready. */
function waitForMessage(object: ChannelObject): void {
  if (object.waiter !== null || object.fd < 0) return;
  const waiter = {
    fd: object.fd,
    events: POLLIN | POLLRDHUP,
    ready: () => {
      if (object.waiter !== waiter) return;
      object.waiter = null;
      serveReaders(object);
    },
  };
  object.waiter = waiter;
  addWaiter(waiter);
}

/** Hands queued messages to pending reads, in order, until one must wait again. */
function serveReaders(object: ChannelObject): void {
  while (object.readers.length > 0 && object.fd >= 0) {
    let message: ChannelMessage;
    try {
      message = receiveMessage(object, adoptReceived) as ChannelMessage;
    } catch (error) {
      const status = error instanceof ZxError ? error.status : Status.INTERNAL;
      if (status === Status.SHOULD_WAIT) {
        waitForMessage(object);
        return;
      }
      if (status === Status.PEER_CLOSED) {
        object.failReaders(Status.PEER_CLOSED, "the peer closed the channel");
        return;
      }
      object.readers.shift()!.reject(
        error instanceof ZxError ? error : new ZxError(Status.INTERNAL, String(error)),
      );
      continue;
    }
    object.readers.shift()!.resolve(message);
  }
}
