/**
 * File descriptors becoming VMOs: adopting an fd (`Vmo.unsafeFromFd`, a channel's received fd),
 * opening (or creating) a path and duplicating a `Deno.FsFile`'s descriptor (`Vmo.fromFile`), and the checks
 * on the way (a regular file or memfd, its seals, its access mode, no `O_APPEND`, the same file
 * twice sharing one backing).
 *
 * Everything here decides what an fd allows before any VMO exists; the `Vmo` class only wraps
 * the result in a handle. A channel's receive path calls {@linkcode vmoFromReceivedFd}.
 *
 * @module
 */

import {
  CREATE_MODE,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  S_IFMT,
  S_IFREG,
} from "../../ffi/constants.ts";
import {
  closeFd,
  cString,
  dupCloexec,
  fstat,
  getSeals,
  reopenFd,
  setStatusFlags,
  statusFlags,
} from "../../ffi/file.ts";
import { libc } from "../../ffi/libc.ts";
import { checkU64, describe, optionalBool, readOptions, roundUpPage } from "../args.ts";
import { DEFAULT_VMO_RIGHTS, Rights } from "../rights.ts";
import { fail, Status, syscallError, ZxError } from "../status.ts";
import { Backing } from "./backing.ts";
import { MAX_VMO_SIZE, type NewVmo, VmoObject } from "./object.ts";
import type { Vmo } from "./vmo.ts";

/**
 * Options of {@linkcode Vmo.fromFile}, checked as `Deno.open`'s are: `create`, `createNew`,
 * `truncate` and `size` change the file, so they need `writable` (`INVALID_ARGS` otherwise), and
 * `create`, `createNew` and `truncate` need a path, not an open `Deno.FsFile`. Unknown keys are
 * `INVALID_ARGS`.
 */
export interface FromFileOptions {
  /** Open the file for writing too; needs Deno's write permission for a path. */
  writable?: boolean;
  /** Create the file if it is missing (as `Deno.OpenOptions.create`). */
  create?: boolean;
  /**
   * Create the file, which must not exist (`ALREADY_EXISTS` otherwise; as
   * `Deno.OpenOptions.createNew`, it makes `create` and `truncate` moot).
   */
  createNew?: boolean;
  /** Cut the file to length 0 on opening (as `Deno.OpenOptions.truncate`). */
  truncate?: boolean;
  /**
   * Give the file this length in bytes before the VMO is made (as `Deno.FsFile.truncateSync`:
   * it grows with zeros or cuts). The VMO's stream size is then `size`, its size `size`
   * rounded up to pages. Above `Vmo.MAX_SIZE`: `OUT_OF_RANGE`.
   */
  size?: number;
}

/** The keys of {@linkcode FromFileOptions}. */
export const FROM_FILE_KEYS = ["writable", "create", "createNew", "truncate", "size"] as const;

/** Options of {@linkcode Vmo.unsafeFromFd}. */
export interface FromFdOptions {
  /** The rights the handle gets, at most what the fd allows. */
  rights?: number;
}

/** The keys of {@linkcode FromFdOptions}. */
export const FROM_FD_KEYS = ["rights"] as const;

/** {@linkcode FromFileOptions} read and checked once: what {@linkcode openPath} does. */
export interface FileOpening {
  writable: boolean;
  create: boolean;
  createNew: boolean;
  truncate: boolean;
  /** The length to give the file, or `undefined` to keep it. */
  size: number | undefined;
}

/**
 * Reads and checks `Vmo.fromFile`'s options before anything is opened, so that a bad call
 * creates or cuts nothing. `INVALID_ARGS` for an unknown key, a value of the wrong type, a
 * change to the file without `writable`, or `create`/`createNew`/`truncate` on an open
 * `Deno.FsFile`; `OUT_OF_RANGE` for a size above `Vmo.MAX_SIZE`.
 */
export function readFromFileOptions(opts: unknown, isPath: boolean): FileOpening {
  const raw = readOptions(opts, FROM_FILE_KEYS, "opts");
  const opening: FileOpening = {
    writable: optionalBool(raw.writable, "opts.writable"),
    create: optionalBool(raw.create, "opts.create"),
    createNew: optionalBool(raw.createNew, "opts.createNew"),
    truncate: optionalBool(raw.truncate, "opts.truncate"),
    size: raw.size === undefined ? undefined : checkU64(raw.size, "opts.size"),
  };
  const changes = opening.create || opening.createNew || opening.truncate;
  if ((changes || opening.size !== undefined) && !opening.writable) {
    fail(Status.INVALID_ARGS, "create, createNew, truncate and size need writable: true");
  }
  if (changes && !isPath) {
    fail(Status.INVALID_ARGS, "create, createNew and truncate need a path, not an open FsFile");
  }
  if (opening.size !== undefined && roundUpPage(opening.size) > MAX_VMO_SIZE) {
    fail(Status.OUT_OF_RANGE, `opts.size ${opening.size} exceeds Vmo.MAX_SIZE`);
  }
  return opening;
}

/** Gives the file open as `fd` the length `size`; the fd is closed if that fails. */
export function sizeFile(fd: number, size: number): void {
  if (libc.ftruncate(fd, BigInt(size)) !== 0) {
    const error = syscallError("ftruncate", `cannot give the file the size ${size}`);
    closeFd(fd);
    throw error;
  }
}

/** How {@linkcode adoptFd} treats an fd. */
export interface AdoptOptions {
  /** Narrows the rights; `undefined` keeps all the fd allows. */
  rightsMask?: number;
  /**
   * The fd was opened or duplicated by `Vmo.fromFile`: a memfd reached through a path is
   * never resizable by the new handle.
   */
  fromFilePath: boolean;
}

/**
 * Turns an open fd of a regular file or memfd into a VMO object and its handle's rights. The
 * fd is taken over: it is the VMO's from now on, or closed if adoption fails (as with Rust's
 * `FromRawFd`). What the fd allows bounds the rights: no `WRITE` for a read-only fd or a
 * write-sealed memfd, `RESIZE` only for a read-write memfd not sealed against resizing.
 *
 * Errors: `BAD_HANDLE` for a closed fd; `ALREADY_EXISTS` for a VMO's own fd; `WRONG_TYPE` for
 * an fd that is not a regular file or memfd; `OUT_OF_RANGE` for a file past `Vmo.MAX_SIZE`.
 */
export function adoptFd(fd: number, opts: AdoptOptions): NewVmo {
  // Seals before size: a peer may shrink and then seal between the two reads, and a size
  // read after the seals is the one the seals protect.
  const sealsResult = getSeals(fd);
  const stat = fstat(fd);
  if (stat === null) throw syscallError("fstat", `cannot adopt fd ${fd}`);
  const known = Backing.lookup(stat);
  if (known !== undefined && known.fd === fd) {
    fail(Status.ALREADY_EXISTS, `fd ${fd} is a VMO's own; use duplicate()`);
  }
  try {
    if ((stat.mode & S_IFMT) !== S_IFREG) {
      fail(Status.WRONG_TYPE, `fd ${fd} is not a regular file or memfd`);
    }
    let flags = statusFlags(fd);
    if (flags < 0) throw syscallError("fcntl", `cannot read the mode of fd ${fd}`);
    if ((flags & O_APPEND) !== 0) {
      // pwrite on an O_APPEND description appends wherever it is asked to write: use a
      // description of our own without it.
      const mode = (flags & O_ACCMODE) === O_RDWR ? O_RDWR : O_RDONLY;
      const reopened = reopenFd(fd, mode | O_CLOEXEC);
      if (reopened < 0) throw syscallError("open", "cannot reopen the file without O_APPEND");
      closeFd(fd);
      fd = reopened;
      flags = mode;
    }
    // Only shmem files (memfds, tmpfs) answer F_GET_SEALS.
    const isMemfd = sealsResult >= 0;
    const seals = isMemfd ? sealsResult : 0;
    const writable = (flags & O_ACCMODE) === O_RDWR &&
      (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) === 0;
    const sizeSealed = (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) === (F_SEAL_SHRINK | F_SEAL_GROW);
    const resizable = !opts.fromFilePath && isMemfd && !sizeSealed && writable;
    const size = roundUpPage(stat.size);
    if (size > MAX_VMO_SIZE) {
      fail(Status.OUT_OF_RANGE, `the file's size ${stat.size} exceeds Vmo.MAX_SIZE`);
    }
    // The same file twice (a dup of a VMO's fd, /proc/self/fd/N...) shares one backing, so
    // that a resize through either is seen by every mapping of it.
    let backing = known;
    if (backing !== undefined) {
      const theirs = statusFlags(backing.fd);
      if (writable && (theirs & O_ACCMODE) !== O_RDWR) backing.upgradeFd(fd);
      else closeFd(fd);
      if (backing.isFile) backing.size = Math.max(backing.size, size);
    } else {
      backing = new Backing({
        fd,
        size,
        resizable,
        isFile: !isMemfd,
        identity: stat,
        seals,
      });
    }
    const object = new VmoObject({
      backing,
      offset: 0,
      sliceSize: null,
      stream: { value: Math.min(stat.size, backing.size) },
      kind: backing.isFile ? "file" : "root",
      parent: null,
    });
    let rights = DEFAULT_VMO_RIGHTS | (resizable ? Rights.RESIZE : 0);
    if (!writable) rights &= ~Rights.WRITE;
    if (opts.rightsMask !== undefined) rights &= opts.rightsMask;
    return { object, rights: rights >>> 0 };
  } catch (error) {
    // The fd was handed over: it is closed whether adoption works or not.
    if (Backing.lookup(stat)?.fd !== fd) closeFd(fd);
    throw error;
  }
}

/**
 * Wraps a VMO object in a new `Vmo` handle; set by the `Vmo` class when it loads (its
 * constructor is private, and this module, below it, cannot import it at run time).
 */
let wrapVmo: ((adopted: NewVmo) => Vmo) | null = null;

/** Called once by the `Vmo` class: how {@linkcode vmoFromReceivedFd} makes a handle. */
export function setVmoWrapper(wrap: (adopted: NewVmo) => Vmo): void {
  wrapVmo = wrap;
}

/** `INVALID_ARGS` unless `fd` is a number that can be a file descriptor. */
export function checkFdNumber(fd: unknown): number {
  const n = checkU64(fd, "fd");
  if (n > 0x7fff_ffff) fail(Status.INVALID_ARGS, `fd ${n} is no file descriptor`);
  return n;
}

/**
 * The receive path of a channel: the fd that came with a message (`SCM_RIGHTS`) becomes a
 * `Vmo` whose rights are those the sender's handle had (`rights`), narrowed to what the fd
 * allows. The fd is taken over as by `Vmo.unsafeFromFd` (closed on failure), with its statuses.
 */
export function vmoFromReceivedFd(fd: number, rights: number): Vmo {
  if (wrapVmo === null) {
    closeFd(fd);
    fail(Status.INTERNAL, "the Vmo class is not loaded: import it before receiving a VMO");
  }
  return wrapVmo(adoptFd(fd, { rightsMask: rights, fromFilePath: false }));
}

/**
 * A new fd of the regular file at `path`, read-only or read-write, created or truncated as
 * `opening` says, after checking Deno's read (and write) permission for it. Errors: `NOT_FOUND`
 * for a missing file without `create`; `ALREADY_EXISTS` for an existing one with `createNew`;
 * `ACCESS_DENIED` for a permission Deno or the file system refuses; `WRONG_TYPE` for a
 * directory or other non-file.
 */
export function openPath(path: string, opening: FileOpening): number {
  if (typeof path !== "string" || path.includes("\0")) fail(Status.INVALID_ARGS, "bad path");
  const writable = opening.writable;
  for (const name of writable ? ["read", "write"] as const : ["read"] as const) {
    if (Deno.permissions.querySync({ name, path }).state !== "granted") {
      fail(Status.ACCESS_DENIED, `Deno's ${name} permission for ${path} is not granted`);
    }
  }
  let flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK;
  if (opening.createNew) flags |= O_CREAT | O_EXCL;
  else {
    if (opening.create) flags |= O_CREAT;
    if (opening.truncate) flags |= O_TRUNC;
  }
  // O_NONBLOCK so that opening a FIFO does not wait for a writer; it is cleared once fstat
  // has told a regular file.
  const fd = libc.open(cString(path), flags, CREATE_MODE);
  if (fd < 0) throw syscallError("open", `cannot open ${path}`);
  const stat = fstat(fd);
  if (stat === null || (stat.mode & S_IFMT) !== S_IFREG) {
    closeFd(fd);
    fail(Status.WRONG_TYPE, `${path} is not a regular file`);
  }
  setStatusFlags(fd, statusFlags(fd) & ~O_NONBLOCK);
  if (opening.size !== undefined) sizeFile(fd, opening.size);
  return fd;
}

/**
 * Whether `value` is a `Deno.FsFile`. `instanceof` runs a Proxy's `getPrototypeOf` trap (and a
 * revoked Proxy throws): such a value is no FsFile, and the trap's error does not escape.
 */
function isFsFile(value: unknown): boolean {
  try {
    return value instanceof Deno.FsFile;
  } catch {
    return false;
  }
}

/**
 * A new fd of the file a `Deno.FsFile` has open. Deno does not expose the descriptor: it is
 * found among this process's fds by device and inode (and access mode), then duplicated.
 */
export function dupFsFile(file: Deno.FsFile, writable: boolean): number {
  if (!isFsFile(file)) {
    fail(Status.INVALID_ARGS, `file must be a path or Deno.FsFile, got ${describe(file)}`);
  }
  let dev: bigint;
  let ino: bigint;
  try {
    // Deno's own statSync: a subclass may carry another.
    const info = Deno.FsFile.prototype.statSync.call(file);
    if (!info.isFile) fail(Status.WRONG_TYPE, "the FsFile is not a regular file");
    dev = BigInt(info.dev);
    ino = BigInt(info.ino ?? -1);
  } catch (error) {
    if (error instanceof ZxError) throw error;
    throw new ZxError(Status.BAD_HANDLE, "cannot stat the FsFile (closed?)");
  }
  let readOnlyMatch = false;
  for (let fd = 0; fd < 65536; fd++) {
    const stat = fstat(fd);
    if (stat === null || stat.dev !== dev || stat.ino !== ino) {
      continue;
    }
    const mode = statusFlags(fd) & O_ACCMODE;
    if (writable && mode !== O_RDWR) {
      readOnlyMatch = true;
      continue;
    }
    if (mode === O_WRONLY) continue;
    if ((statusFlags(fd) & O_APPEND) !== 0) {
      // A dup would share the O_APPEND file description, and pwrite on it appends wherever
      // it is asked to write: open the file anew instead.
      const reopened = reopenFd(fd, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
      if (reopened < 0) throw syscallError("open", "cannot reopen the file without O_APPEND");
      return reopened;
    }
    const copy = dupCloexec(fd);
    if (copy < 0) throw syscallError("fcntl", "cannot duplicate the file's fd");
    return copy;
  }
  if (readOnlyMatch) fail(Status.ACCESS_DENIED, "the FsFile is not open for reading and writing");
  fail(Status.NOT_FOUND, "cannot find the FsFile's descriptor");
}
