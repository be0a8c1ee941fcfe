/**
 * The tests' own libc: the one `Deno.dlopen` the test suite makes, so that the probes do not
 * go through the FFI layer they are testing. Owns the raw symbols, errno, the constants the
 * tests pass to the kernel, and small wrappers that make fds of the tests' own.
 *
 * @module
 */

/** Raw libc symbols for the tests (and their child scripts). */
export const sys = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  getpid: { parameters: [], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  process_vm_readv: {
    parameters: ["i32", "buffer", "usize", "buffer", "usize", "usize"],
    result: "isize",
  },
  process_vm_writev: {
    parameters: ["i32", "buffer", "usize", "buffer", "usize", "usize"],
    result: "isize",
  },
  __errno_location: { parameters: [], result: "pointer" },
}).symbols;

const errnoView = new Deno.UnsafePointerView(sys.__errno_location()!);

/** errno of the last failed call of this module's libc. */
export function errno(): number {
  return errnoView.getInt32(0);
}

export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_DIRECTORY = 0o200000;
export const O_CLOEXEC = 0o2000000;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const FD_CLOEXEC = 1;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;
export const MFD_CLOEXEC = 1;
export const MFD_ALLOW_SEALING = 2;
export const EBADF = 9;
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;

/** A NUL-terminated copy of `s`. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

/** Raw libc calls the tests need to make fds of their own. */
export const libc = {
  open(path: string, flags: number): number {
    return sys.open(cstr(path), flags | O_CLOEXEC, 0);
  },
  close(fd: number): number {
    return sys.close(fd);
  },
  fcntl(fd: number, cmd: number, arg = 0): number {
    return sys.fcntl(fd, cmd, arg);
  },
  memfd(name: string, flags = MFD_CLOEXEC | MFD_ALLOW_SEALING): number {
    return sys.memfd_create(cstr(name), flags);
  },
  ftruncate(fd: number, size: number): number {
    return sys.ftruncate(fd, BigInt(size));
  },
  pwrite(fd: number, data: Uint8Array<ArrayBuffer>, pos: number): number {
    return Number(sys.pwrite(fd, data, BigInt(data.length), BigInt(pos)));
  },
  pread(fd: number, data: Uint8Array<ArrayBuffer>, pos: number): number {
    return Number(sys.pread(fd, data, BigInt(data.length), BigInt(pos)));
  },
  /** Makes a FIFO at `path`; 0 on success. */
  mkfifo(path: string): number {
    return sys.mkfifo(cstr(path), 0o600);
  },
  /** A pipe: `[readEnd, writeEnd]`, both close-on-exec. */
  pipe(): [number, number] {
    const fds = new Int32Array(2);
    if (sys.pipe2(new Uint8Array(fds.buffer), O_CLOEXEC) !== 0) throw new Error("pipe2 failed");
    return [fds[0], fds[1]];
  },
};

/** Whether `fd` is an open file descriptor. */
export function fdIsOpen(fd: number): boolean {
  return sys.fcntl(fd, F_GETFD, 0) >= 0;
}

/** Closes each of `fds` that is still open (a call that refused an fd left it to the caller). */
export function closeIfOpen(...fds: number[]): void {
  for (const fd of fds) if (fdIsOpen(fd)) sys.close(fd);
}
