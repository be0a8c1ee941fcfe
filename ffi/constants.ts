/**
 * Linux x86_64 and generic ABI constants used by the system-call wrappers.
 *
 * @module
 */

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_FIXED_NOREPLACE = 0x100000;

export const MFD_CLOEXEC = 0x0001;
export const MFD_ALLOW_SEALING = 0x0002;

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_DUPFD_CLOEXEC = 1030;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
export const FD_CLOEXEC = 1;

export const F_SEAL_SEAL = 0x0001;
export const F_SEAL_SHRINK = 0x0002;
export const F_SEAL_GROW = 0x0004;
export const F_SEAL_WRITE = 0x0008;
export const F_SEAL_FUTURE_WRITE = 0x0010;

export const SEEK_SET = 0;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;

export const MADV_DONTNEED = 4;
export const MADV_REMOVE = 9;
export const MADV_COLD = 20;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;

export const POSIX_FADV_WILLNEED = 3;
export const POSIX_FADV_DONTNEED = 4;

export const SC_PAGESIZE = 30;

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;

export const SYS_FUTEX = 202n;

/** `MAP_FAILED`, `(void *)-1`, as the pointer value Deno hands back. */
export const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** `sizeof(struct stat)` on x86_64 and the offsets vmo reads from it. */
export const STAT_SIZE = 144;
export const STAT_DEV = 0;
export const STAT_INO = 8;
export const STAT_MODE = 24;
export const STAT_SIZE_OFFSET = 48;
export const STAT_BLOCKS = 64;

// Vmo.fromFile's create options (src/vmo/fd.ts).
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
/** The mode a created file asks for (the process's umask narrows it), as `Deno.open`'s. */
export const CREATE_MODE = 0o666;
