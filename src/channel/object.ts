/**
 * The channel object behind `Channel` handles: one end of a connected `SOCK_SEQPACKET` Unix
 * socket, and the reads waiting on it.
 *
 * @module
 */

import { libc } from "../../ffi/libc.ts";
import { KernelObject } from "../handle.ts";
import { Rights } from "../rights.ts";
import { Status, ZxError } from "../status.ts";
import { removeWaiter, type Waiter } from "./poller.ts";

/** Zircon's object type number of a channel (`ZX_OBJ_TYPE_CHANNEL`). */
export const OBJ_TYPE_CHANNEL = 4;

/**
 * The rights of a new channel handle, Zircon's `ZX_DEFAULT_CHANNEL_RIGHTS`: `TRANSFER`,
 * `WAIT`, `INSPECT`, `READ`, `WRITE`, `SIGNAL`, `SIGNAL_PEER` (no `DUPLICATE`).
 */
export const DEFAULT_CHANNEL_RIGHTS: number = Rights.TRANSFER | Rights.WAIT | Rights.INSPECT |
  Rights.READ | Rights.WRITE | Rights.SIGNAL | Rights.SIGNAL_PEER;

/** A `read()` waiting for a message. */
export interface PendingRead {
  /**
   * The handle the read was made on, held so that it stays reachable while the read waits: a
   * program that awaits `Channel.fromEnv().read()` keeps no other reference, and the handle's
   * finalizer would close the channel and cancel the read.
   */
  handle: object;
  resolve(message: unknown): void;
  reject(error: ZxError): void;
}

/**
 * The socket fds that channel objects of this process own: an fd adopted from outside
 * (`Channel.fromEnv`) must not be one of them, or two objects would close the same number.
 */
const ownedFds = new Set<number>();

/** Whether a live channel object of this process owns `fd`. */
export function isChannelFd(fd: number): boolean {
  return ownedFds.has(fd);
}

/** One end of a channel. */
export class ChannelObject extends KernelObject {
  readonly type: number = OBJ_TYPE_CHANNEL;
  /** The socket; -1 once closed. */
  fd: number;
  /** Reads waiting, first come first served. */
  readonly readers: PendingRead[] = [];
  /** Registered with the poller while `readers` is not empty. */
  waiter: Waiter | null = null;
  /** The koid of the other end when this process made both (`createPair`), else 0. */
  peerKoid = 0;

  constructor(fd: number) {
    super();
    this.fd = fd;
    ownedFds.add(fd);
  }

  /** Stops waiting and fails every pending read with `status`. */
  failReaders(status: Status, message: string): void {
    if (this.waiter !== null) {
      removeWaiter(this.waiter);
      this.waiter = null;
    }
    for (const reader of this.readers.splice(0)) reader.reject(new ZxError(status, message));
  }

  protected onLastReference(): void {
    // Zircon: closing the handle a wait is pending on cancels the wait.
    this.failReaders(Status.CANCELED, "the channel was closed while a read was pending");
    if (this.fd >= 0) {
      ownedFds.delete(this.fd);
      libc.close(this.fd);
    }
    this.fd = -1;
  }
}
