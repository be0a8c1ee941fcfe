/**
 * Open files by identity (device and inode), so that one file is one backing however often its
 * fd arrives (`backing.ts`: a VMO received twice through a channel shares its pages).
 *
 * @module
 */

import type { FileStat } from "../../ffi/file.ts";

/** `2^21` and `2^32`: a device below the one and an inode below the other fit one safe integer. */
const DEV_LIMIT = 1n << 21n;
const INO_LIMIT = 1n << 32n;

/**
 * A file's key: `dev * 2^32 + ino` when that is exact (every memfd and nearly every file), else
 * the string `dev:ino` (a string never equals a number). A number keys a `Map` without the
 * string to print and hash (about 450 ns per adoption).
 */
export type FileKey = number | string;

function keyOf(stat: FileStat): FileKey {
  const { dev, ino } = stat;
  return dev < DEV_LIMIT && ino < INO_LIMIT
    ? Number(dev) * 0x1_0000_0000 + Number(ino)
    : `${dev}:${ino}`;
}

/**
 * What is alive of each file. A removed entry is emptied (`null`), not deleted, and the empty
 * entries are swept once they outnumber the live ones: a `Map` deletes by leaving a hole in its
 * bucket's chain until it rehashes, so the same file added and removed over and over (a VMO
 * going back and forth through a channel) grew one chain by a hole each time; with 10,000 live
 * VMOs each lookup of that file walked thousands of holes (26 us per received fd, against 5).
 *
 * @example
 * ```ts ignore
 * const live = new LiveFiles<object>();
 * const key = live.add(stat, holder);
 * live.get(stat) === holder; // true
 * live.remove(key, holder);
 * ```
 */
export class LiveFiles<T> {
  readonly #byKey = new Map<FileKey, T | null>();
  #emptied = 0;

  /** What is alive of the file `stat` describes, if anything. */
  get(stat: FileStat): T | undefined {
    return this.#byKey.get(keyOf(stat)) ?? undefined;
  }

  /** Makes `holder` what is alive of the file `stat` describes; returns its key. */
  add(stat: FileStat, holder: T): FileKey {
    const key = keyOf(stat);
    if (this.#byKey.get(key) === null) this.#emptied--;
    this.#byKey.set(key, holder);
    return key;
  }

  /** Forgets `holder` under `key` (nothing if another holder took the file since). */
  remove(key: FileKey, holder: T): void {
    if (this.#byKey.get(key) !== holder) return;
    this.#byKey.set(key, null);
    if (++this.#emptied > 1024 && this.#emptied > this.#byKey.size - this.#emptied) this.#sweep();
  }

  #sweep(): void {
    for (const [key, holder] of this.#byKey) if (holder === null) this.#byKey.delete(key);
    this.#emptied = 0;
  }
}
