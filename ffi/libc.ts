/**
 * The one `Deno.dlopen` of the C library. Every system call vmo makes goes through the symbols
 * below; nothing else in the project opens a library.
 *
 * 64-bit parameters are declared `i64`/`u64`/`usize` and callers pass bigints: a JS number
 * there costs 55 to 150 ns per call. Results that can fail are returned
 * raw, as C returns them; the caller reads errno with {@linkcode lastErrno} before any other
 * FFI call and turns it into an error.
 *
 * @module
 */

const symbols = {
  __errno_location: { parameters: [], result: "pointer" },
  getpid: { parameters: [], result: "i32" },
  sysconf: { parameters: ["i32"], result: "i64" },
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  dup: { parameters: ["i32"], result: "i32" },
  dup3: { parameters: ["i32", "i32", "i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  fallocate: { parameters: ["i32", "i32", "i64", "i64"], result: "i32" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pread_ptr: { name: "pread", parameters: ["i32", "pointer", "usize", "i64"], result: "isize" },
  pwrite_ptr: { name: "pwrite", parameters: ["i32", "pointer", "usize", "i64"], result: "isize" },
  copy_file_range: {
    parameters: ["i32", "buffer", "i32", "buffer", "usize", "u32"],
    result: "isize",
  },
  posix_fadvise: { parameters: ["i32", "i64", "i64", "i32"], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  mincore: { parameters: ["pointer", "usize", "buffer"], result: "i32" },
  // The same calls with the address as a usize: a bigint argument costs about 25 ns where
  // making a pointer object costs 80 to 150 ns (the VMAR code works with numeric addresses).
  mmap_at: {
    name: "mmap",
    parameters: ["usize", "usize", "i32", "i32", "i32", "i64"],
    result: "usize",
  },
  munmap_at: { name: "munmap", parameters: ["usize", "usize"], result: "i32" },
  mprotect_at: { name: "mprotect", parameters: ["usize", "usize", "i32"], result: "i32" },
  madvise_at: { name: "madvise", parameters: ["usize", "usize", "i32"], result: "i32" },
  process_vm_readv: {
    parameters: ["i32", "buffer", "u64", "buffer", "u64", "u64"],
    result: "isize",
  },
  process_vm_writev: {
    parameters: ["i32", "buffer", "u64", "buffer", "u64", "u64"],
    result: "isize",
  },
  /** `syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3)`. */
  syscall_futex: {
    name: "syscall",
    parameters: ["i64", "pointer", "i32", "i32", "pointer", "pointer", "i32"],
    result: "i64",
  },
  // channel and futex
  /** `mremap(old, old_size, new_size, flags, new_address)`, addresses as numbers. */
  mremap_at: {
    name: "mremap",
    parameters: ["usize", "usize", "usize", "i32", "usize"],
    result: "usize",
  },
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  unlink: { parameters: ["buffer"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  /** `poll` on a runtime thread: the event loop runs on while it waits (errno is lost). */
  poll_async: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  /** `syscall(SYS_futex, uaddr, op, val, timeout, 0, 0)` with the address as a number. */
  futex_at: {
    name: "syscall",
    parameters: ["i64", "usize", "i32", "i32", "usize", "usize", "i32"],
    result: "i64",
  },
  /** The same on a runtime thread, for waits (errno is lost: the caller infers the cause). */
  futex_wait_async: {
    name: "syscall",
    parameters: ["i64", "usize", "i32", "i32", "usize", "usize", "i32"],
    result: "i64",
    nonblocking: true,
  },
  // channel review: a channel end must be connected
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // ---- speed (issue 9): benches and tools ----
  /** `clock_gettime(clockid, struct timespec *)`: the benches' thread CPU-time clock. */
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  /** `getrlimit(resource, struct rlimit *)`: the fd limit, under which vmo keeps its memfds. */
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  /**
   * `pread`/`pwrite` whose result is read as a 32-bit int: exact for counts below 2^31 (and
   * -1), without the bigint an `isize` result makes on every call. For short copies.
   */
  pread_short: { name: "pread", parameters: ["i32", "buffer", "usize", "i64"], result: "i32" },
  pwrite_short: { name: "pwrite", parameters: ["i32", "buffer", "usize", "i64"], result: "i32" },
  // ---- sp-io (issue 9): short writes into mapped memory ----
  /**
   * `pread` into an address given as a number, its result read as a 32-bit int (exact for
   * counts below 2^31, and -1): a short write into mapped memory as a read from the library's
   * own memfd (src/vmar/short_write.ts).
   */
  pread_to: { name: "pread", parameters: ["i32", "usize", "usize", "i64"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The C library, opened by its soname so that no path is assumed. */
export const libc: Deno.DynamicLibrary<typeof symbols>["symbols"] =
  Deno.dlopen("libc.so.6", symbols).symbols;

const errnoView = new Deno.UnsafePointerView(libc.__errno_location()!);

/**
 * The calling thread's `errno`. Read it right after the failing call: any later FFI call may
 * overwrite it.
 */
export function lastErrno(): number {
  return errnoView.getInt32(0);
}

/** Sets `errno` to 0, for calls whose failure can only be told by errno. */
export function clearErrno(): void {
  new Uint8Array(errnoView.getArrayBuffer(4)).fill(0);
}
