/**
 * `ChannelListener`: a listening `SOCK_SEQPACKET` Unix socket at a path, for processes that did
 * not spawn each other. Each accepted connection is a channel.
 *
 * @module
 */

import { libc } from "../../ffi/libc.ts";
import {
  acceptOne,
  bindListen,
  pathIdentity,
  POLLIN,
  seqpacketSocket,
  unlinkPath,
} from "../../ffi/socket.ts";
import { Status, ZxError } from "../status.ts";
import type { Channel } from "./channel.ts";
import { errorFromErrno } from "./errors.ts";
import { addWaiter, removeWaiter, type Waiter } from "./poller.ts";

const EINTR = 4;
const EAGAIN = 11;
/** Errors of `accept` that concern one connection only (it died before it was taken). */
const TRANSIENT = new Set([EINTR, 103, /* ECONNABORTED */ 71 /* EPROTO */]);

/**
 * Listens for {@linkcode Channel.connect} at a Unix socket path; made by
 * {@linkcode Channel.listen}. `close()` stops listening, fails pending `accept()`s with
 * `CANCELED` and removes the socket file.
 *
 * @example
 * ```ts
 * import { Channel, Status, ZxError } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempDirSync() + "/vmo.sock";
 * const listener = Channel.listen(path);
 * const pending = listener.accept();
 * listener.close();
 * await assert.rejects(pending, (e) => e instanceof ZxError && e.status === Status.CANCELED);
 * ```
 */
export class ChannelListener implements Disposable {
  #fd: number;
  readonly #path: Uint8Array<ArrayBuffer>;
  readonly #adopt: (fd: number) => Channel;
  readonly #pending: { resolve(c: Channel): void; reject(e: ZxError): void }[] = [];
  #waiter: Waiter | null = null;
  /**
   * The socket file bind made, as `(dev, ino)`: `close` removes the path only while it still
   * names that file (not one put there since, nor the same relative path after a `chdir`).
   */
  #file: { dev: bigint; ino: bigint } | null = null;

  /**
   * Use {@linkcode Channel.listen}.
   * @ignore
   */
  constructor(path: Uint8Array<ArrayBuffer>, display: string, adopt: (fd: number) => Channel) {
    this.#adopt = adopt;
    this.#path = new Uint8Array([...path, 0]);
    const fd = seqpacketSocket();
    if (fd < 0) throw errorFromErrno("socket", -fd, "cannot make a socket");
    const r = bindListen(fd, path, 128);
    if (r < 0) {
      libc.close(fd);
      throw errorFromErrno("bind", -r, `cannot listen at ${display}`);
    }
    this.#fd = fd;
    this.#file = pathIdentity(this.#path);
  }

  /**
   * The next connection, as a channel, waiting for one without blocking the event loop.
   *
   * Errors: `CANCELED` when the listener is closed while waiting; `BAD_HANDLE` after
   * `close()`; `NO_RESOURCES` when the process is out of fds.
   *
   * @example
   * ```ts
   * import { Channel } from "@vmo/vmo";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempDirSync() + "/vmo.sock";
   * using listener = Channel.listen(path);
   * const client = await Channel.connect(path);
   * const server = await listener.accept();
   * server.write(new Uint8Array([9]));
   * assert.equal(client.tryRead().bytes[0], 9);
   * client.close();
   * server.close();
   * ```
   */
  accept(): Promise<Channel> {
    if (this.#fd < 0) {
      return Promise.reject(new ZxError(Status.BAD_HANDLE, "the listener is closed"));
    }
    return new Promise<Channel>((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#serve();
    });
  }

  #serve(): void {
    while (this.#pending.length > 0 && this.#fd >= 0) {
      const fd = acceptOne(this.#fd);
      if (fd >= 0) {
        this.#pending.shift()!.resolve(this.#adopt(fd));
        continue;
      }
      if (TRANSIENT.has(-fd)) continue;
      if (-fd === EAGAIN) {
        if (this.#waiter === null) {
          const waiter: Waiter = {
            fd: this.#fd,
            events: POLLIN,
            ready: () => {
              if (this.#waiter !== waiter) return;
              this.#waiter = null;
              this.#serve();
            },
          };
          this.#waiter = waiter;
          addWaiter(waiter);
        }
        return;
      }
      this.#pending.shift()!.reject(errorFromErrno("accept4", -fd, "cannot accept"));
    }
  }

  /**
   * Stops listening, fails pending `accept()`s with `CANCELED`, and removes the socket file,
   * if the path still names the file `listen` made: a file put there since, or another file at
   * the same relative path after a change of directory, is left alone (the socket file then
   * stays). Idempotent.
   */
  close(): void {
    if (this.#fd < 0) return;
    if (this.#waiter !== null) removeWaiter(this.#waiter);
    this.#waiter = null;
    libc.close(this.#fd);
    this.#fd = -1;
    const now = pathIdentity(this.#path);
    if (
      now !== null && this.#file !== null && now.dev === this.#file.dev &&
      now.ino === this.#file.ino
    ) {
      unlinkPath(this.#path);
    }
    for (const p of this.#pending.splice(0)) {
      p.reject(new ZxError(Status.CANCELED, "the listener was closed"));
    }
  }

  /** Same as {@linkcode ChannelListener.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
