/**
 * Readiness of channel and listener sockets without blocking the event loop.
 *
 * One `poll` runs on a runtime thread (a `nonblocking` FFI call) over every fd something is
 * waiting on, plus an eventfd. Adding or dropping a waiter writes the eventfd, so the `poll`
 * returns and is issued again over the new set. When no one waits, no `poll` is in flight, and
 * nothing keeps the process alive: a pending FFI call holds the event loop open, so a closed
 * channel must drop its waiter, and the eventfd makes that take effect at once.
 *
 * Waiters are told only "look again": they retry their nonblocking operation, which is the
 * truth (a poll result can be stale by the time it is read, and an fd number can be reused).
 *
 * @module
 */

import { drainEventFd, eventFd, pollAsync, signalEventFd } from "../../ffi/socket.ts";
import { fail, Status } from "../status.ts";

/** Something waiting for `fd` to be ready for `events`. */
export interface Waiter {
  fd: number;
  events: number;
  /** Called once, from the event loop, after `poll` saw the fd ready (or in error). */
  ready(): void;
}

const waiters = new Set<Waiter>();
let wakeFd = -1;
let inFlight = false;
/** While poll's results are handed out: new waiters join the next poll, issued right after. */
let dispatching = false;

function wakeFdOf(): number {
  if (wakeFd < 0) {
    const fd = eventFd();
    if (fd < 0) fail(Status.NO_RESOURCES, "cannot create the eventfd that wakes poll");
    wakeFd = fd;
  }
  return wakeFd;
}

/** Starts waiting; `ready` runs once when the fd may be ready. */
export function addWaiter(waiter: Waiter): void {
  wakeFdOf();
  waiters.add(waiter);
  if (dispatching) return;
  if (inFlight) signalEventFd(wakeFd);
  else issue();
}

/** Stops waiting (idempotent). The in-flight `poll`, if any, returns at once. */
export function removeWaiter(waiter: Waiter): void {
  if (!waiters.delete(waiter)) return;
  if (inFlight && !dispatching) signalEventFd(wakeFd);
}

function issue(): void {
  if (inFlight || waiters.size === 0) return;
  const list = [...waiters];
  // A fresh buffer per call: the runtime thread reads and writes it until the call returns.
  const fds = new Uint8Array(new ArrayBuffer(8 * (list.length + 1)));
  const view = new DataView(fds.buffer);
  view.setInt32(0, wakeFd, true);
  view.setInt16(4, 1, true); // POLLIN
  list.forEach((w, i) => {
    view.setInt32(8 * (i + 1), w.fd, true);
    view.setInt16(8 * (i + 1) + 4, w.events, true);
  });
  inFlight = true;
  pollAsync(fds, list.length + 1).then((r) => {
    drainEventFd(wakeFd);
    dispatching = true;
    try {
      if (r > 0) {
        list.forEach((w, i) => {
          if (view.getInt16(8 * (i + 1) + 6, true) === 0 || !waiters.delete(w)) return;
          try {
            w.ready();
          } catch (error) {
            // A waiter's own failure is its promise's business; it must not stop the others.
            queueMicrotask(() => {
              throw error;
            });
          }
        });
      }
    } finally {
      dispatching = false;
      inFlight = false;
    }
    issue();
  });
}

/** How many waiters there are and whether a `poll` is in flight (for tests). */
export function pollerState(): { waiters: number; inFlight: boolean } {
  return { waiters: waiters.size, inFlight };
}
