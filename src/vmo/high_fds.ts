/**
 * Where the library's own memfds live: fd numbers from three quarters of the open-file limit up
 * (`F_DUPFD_CLOEXEC`), far above where `open` and friends put new fds (the lowest free number).
 * A number of ours that something outside the library closes stays free (a map of it fails with
 * `EBADF`) rather than naming another file, unless this very library reuses it, which this table
 * sees. A memfd up there needs no `fstat` before each map to know its fd is still its file.
 *
 * @module
 */

import { openFileLimit } from "../../ffi/file.ts";

/** By fd number, what holds each of the library's high fds. */
export class HighFdTable<T> {
  /**
   * Slot `fd - floor` of a dense array: the numbers up there are handed out lowest first, so the
   * array stays short, and its loads and stores cost no runtime call (a `Map`'s delete and
   * rehash did, on every VMO made and closed).
   */
  #slots: (T | undefined)[] = [];
  /** Three quarters of the way to the fd limit; 0 until first wanted, -1 when unknown. */
  #floor = 0;

  /** The first high number (read once); -1 when the limit is too low to keep one apart. */
  floor(): number {
    if (this.#floor === 0) {
      const limit = openFileLimit();
      this.#floor = limit > 64 ? Math.floor(limit * 3 / 4) : -1;
    }
    return this.#floor;
  }

  get(fd: number): T | undefined {
    const i = fd - this.#floor;
    return i >= 0 && i < this.#slots.length ? this.#slots[i] : undefined;
  }

  set(fd: number, holder: T): void {
    const i = fd - this.#floor;
    while (this.#slots.length < i) this.#slots.push(undefined);
    this.#slots[i] = holder;
  }

  delete(fd: number): void {
    const i = fd - this.#floor;
    if (i < 0 || i >= this.#slots.length) return;
    this.#slots[i] = undefined;
    while (this.#slots.length > 0 && this.#slots[this.#slots.length - 1] === undefined) {
      this.#slots.pop();
    }
  }
}
