import assert from "node:assert/strict";
import { MFD_CLOEXEC, O_CLOEXEC, O_RDONLY, O_RDWR, S_IFMT, S_IFREG } from "../../ffi/constants.ts";
import { EBADF } from "../../ffi/errno.ts";
import {
  closeFd,
  cString,
  forEachDataExtent,
  fstat,
  getSeals,
  openFile,
  pread,
  pwrite,
  statusFlags,
} from "../../ffi/file.ts";
import { lastErrno, libc } from "../../ffi/libc.ts";
import { PAGE_SIZE as P } from "../../mod.ts";
import { withTempFile } from "../_support/bytes.ts";

/** A memfd of `pages` pages with data written at the given page ranges; closed by the caller. */
function sparseMemfd(pages: number, data: [number, number][]): number {
  const fd = libc.memfd_create(cString("ffi-test"), MFD_CLOEXEC);
  assert.ok(fd >= 0);
  assert.equal(libc.ftruncate(fd, BigInt(pages * P)), 0);
  for (const [from, to] of data) {
    const bytes = new Uint8Array((to - from) * P).fill(7);
    assert.equal(pwrite(fd, bytes, bytes.length, from * P), bytes.length);
  }
  return fd;
}

function extents(fd: number, start: number, end: number): { found: number[][]; errno: number } {
  const found: number[][] = [];
  const errno = forEachDataExtent(fd, start, end, (from, to) => found.push([from, to]));
  return { found, errno };
}

Deno.test("ffi/file.ts wrappers", async (t) => {
  await t.step("cString is UTF-8 with one NUL at the end", () => {
    const bytes = cString("é/x");
    assert.deepEqual([...bytes], [...new TextEncoder().encode("é/x"), 0]);
  });

  await t.step("fstat agrees with Deno.statSync; fails with EBADF on a closed fd", () => {
    withTempFile(new Uint8Array(5000), (path) => {
      const fd = openFile(path, O_RDONLY | O_CLOEXEC);
      assert.ok(fd >= 0);
      const stat = fstat(fd);
      const info = Deno.statSync(path);
      assert.ok(stat !== null);
      assert.equal(stat.size, 5000);
      assert.equal(stat.ino, BigInt(info.ino!));
      assert.equal(stat.dev, BigInt(info.dev));
      assert.equal(stat.mode & S_IFMT, S_IFREG);
      assert.equal(statusFlags(fd) & 3, O_RDONLY);
      assert.equal(closeFd(fd), 0);
      assert.equal(fstat(fd), null);
      assert.equal(lastErrno(), EBADF);
    });
  });

  await t.step("pread/pwrite move exactly the bytes asked, at the offset asked", () => {
    withTempFile(new Uint8Array(0), (path) => {
      const fd = openFile(path, O_RDWR | O_CLOEXEC);
      const src = new Uint8Array([1, 2, 3, 4, 5, 6]);
      assert.equal(pwrite(fd, src, 4, 10), 4);
      assert.deepEqual([...Deno.readFileSync(path)], [...new Uint8Array(10), 1, 2, 3, 4]);
      const dst = new Uint8Array(8).fill(9);
      assert.equal(pread(fd, dst, 3, 11), 3);
      assert.deepEqual([...dst], [2, 3, 4, 9, 9, 9, 9, 9]);
      assert.equal(pread(fd, dst, 8, 14), 0, "at the end of the file");
      closeFd(fd);
      assert.equal(pread(fd, dst, 1, 0), -1);
      assert.equal(lastErrno(), EBADF);
    });
  });

  await t.step("forEachDataExtent gives the data runs of a sparse memfd, clipped", () => {
    const fd = sparseMemfd(16, [[3, 4], [8, 10]]);
    try {
      assert.deepEqual(extents(fd, 0, 16 * P), {
        found: [[3 * P, 4 * P], [8 * P, 10 * P]],
        errno: 0,
      });
      assert.deepEqual(extents(fd, 3 * P + 100, 9 * P), {
        found: [[3 * P + 100, 4 * P], [8 * P, 9 * P]],
        errno: 0,
      });
      assert.deepEqual(extents(fd, 10 * P, 16 * P), { found: [], errno: 0 }, "no data: ENXIO");
      assert.deepEqual(extents(fd, 4 * P, 8 * P), { found: [], errno: 0 }, "a hole");
      assert.ok(getSeals(fd) >= 0, "a memfd answers F_GET_SEALS");
    } finally {
      closeFd(fd);
    }
    assert.deepEqual(extents(fd, 0, P), { found: [], errno: EBADF });
  });

  await t.step("a visit that throws stops the walk and the error comes out", () => {
    const fd = sparseMemfd(4, [[0, 1], [2, 3]]);
    try {
      let calls = 0;
      assert.throws(
        () =>
          forEachDataExtent(fd, 0, 4 * P, () => {
            calls++;
            throw new RangeError("stop");
          }),
        RangeError,
      );
      assert.equal(calls, 1);
    } finally {
      closeFd(fd);
    }
  });
});
