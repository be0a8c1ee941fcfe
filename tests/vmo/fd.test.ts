import assert from "node:assert/strict";
import {
  DEFAULT_VMO_RIGHTS,
  Rights,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  VmoChildOptions as C,
  VmoInfoFlags,
  VmoOptions,
} from "../../mod.ts";
import { vmoObjectOf } from "../../src/vmo/vmo.ts";
import {
  assertStatus,
  closeIfOpen,
  countFds,
  errno,
  F_ADD_SEALS,
  F_SEAL_GROW,
  F_SEAL_SHRINK,
  fdIsOpen,
  filled,
  libc,
  MFD_CLOEXEC,
  O_RDONLY,
  O_RDWR,
  P,
  withTempFile,
} from "../_support/mod.ts";

/** A read-only fd for the same memory as `fd`, opened anew through /proc. */
function readOnlyReopen(fd: number): number {
  const ro = libc.open(`/proc/self/fd/${fd}`, O_RDONLY);
  assert.ok(ro >= 0, `reopen failed: errno ${errno()}`);
  return ro;
}

Deno.test("unsafeFromFd of a dup'd fd (unsafeDupFd)", async (t) => {
  await t.step("shares the memory both ways", () => {
    using original = Vmo.create(2 * P);
    original.write(new Uint8Array([42]), P);
    using adopted = Vmo.unsafeFromFd(original.unsafeDupFd());
    assert.equal(adopted.getSize(), 2 * P);
    assert.equal(adopted.readToArray(P, 1)[0], 42);
    adopted.write(new Uint8Array([43]), 0);
    assert.equal(original.readToArray(0, 1)[0], 43);
    assert.notEqual(adopted.koid, original.koid);
  });
  await t.step("takes ownership: closing the VMO closes the fd", () => {
    // A memfd this process does not have as a VMO yet, as one received from a peer would be.
    const fd = libc.memfd("peer");
    assert.ok(fd >= 0 && libc.ftruncate(fd, P) === 0);
    assert.ok(fdIsOpen(fd));
    const adopted = Vmo.unsafeFromFd(fd);
    assert.ok(fdIsOpen(fd));
    adopted.close();
    assert.equal(fdIsOpen(fd), false);
  });
  await t.step(
    "a file this process already has as a VMO shares its memory: the new fd is closed",
    () => {
      using original = Vmo.create(P);
      original.write(new Uint8Array([9]), 0);
      const fd = original.unsafeDupFd();
      using adopted = Vmo.unsafeFromFd(fd);
      assert.equal(fdIsOpen(fd), false);
      assert.equal(adopted.readToArray(0, 1)[0], 9);
      adopted.write(new Uint8Array([10]), 1);
      assert.equal(original.readToArray(1, 1)[0], 10);
    },
  );
  await t.step("the VMO's own fd number is refused: ALREADY_EXISTS, the VMO unharmed", () => {
    using original = Vmo.create(P);
    original.write(new Uint8Array([5]), 0);
    const own = vmoObjectOf(original).backing.fd;
    assertStatus(() => Vmo.unsafeFromFd(own), Status.ALREADY_EXISTS);
    assert.ok(fdIsOpen(own));
    assert.equal(original.readToArray(0, 1)[0], 5);
  });
  await t.step("unsafeDupFd needs TRANSFER: ACCESS_DENIED", () => {
    using vmo = Vmo.create(P);
    using noTransfer = vmo.duplicate(DEFAULT_VMO_RIGHTS & ~Rights.TRANSFER);
    const before = countFds();
    assertStatus(() => noTransfer.unsafeDupFd(), Status.ACCESS_DENIED);
    assert.equal(countFds(), before);
  });
});

Deno.test("unsafeFromFd: sealed vs unsealed memfd resizability", async (t) => {
  await t.step("a non-resizable VMO's fd is sealed: adopted VMO is not resizable", () => {
    using original = Vmo.create(P);
    using adopted = Vmo.unsafeFromFd(original.unsafeDupFd());
    assert.equal(adopted.rights, DEFAULT_VMO_RIGHTS);
    assert.equal(adopted.info().flags & VmoInfoFlags.RESIZABLE, 0);
    assertStatus(() => adopted.setSize(2 * P), Status.UNAVAILABLE);
  });
  await t.step("a resizable VMO's fd is unsealed: adopted VMO is resizable with RESIZE", () => {
    using original = Vmo.create(P, VmoOptions.RESIZABLE);
    using adopted = Vmo.unsafeFromFd(original.unsafeDupFd());
    assert.equal(adopted.rights, DEFAULT_VMO_RIGHTS | Rights.RESIZE);
    assert.ok(adopted.info().flags & VmoInfoFlags.RESIZABLE);
    adopted.setSize(3 * P);
    assert.equal(adopted.getSize(), 3 * P);
  });
  await t.step("a raw memfd of our own, unsealed: resizable; size rounded, stream exact", () => {
    const fd = libc.memfd("raw");
    assert.ok(fd >= 0);
    assert.equal(libc.ftruncate(fd, 100), 0);
    assert.equal(libc.pwrite(fd, new Uint8Array([7]), 99), 1);
    using vmo = Vmo.unsafeFromFd(fd);
    assert.equal(vmo.getSize(), P);
    assert.equal(vmo.getStreamSize(), 100);
    assert.equal(vmo.readToArray(99, 1)[0], 7);
    assert.ok(vmo.rights & Rights.RESIZE);
    vmo.setSize(2 * P);
    assert.equal(vmo.getSize(), 2 * P);
  });
  await t.step("a raw memfd sealed against shrink and grow: not resizable", () => {
    const fd = libc.memfd("sealed");
    assert.equal(libc.ftruncate(fd, P), 0);
    assert.equal(libc.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    using vmo = Vmo.unsafeFromFd(fd);
    assert.equal(vmo.rights & Rights.RESIZE, 0);
    assertStatus(() => vmo.setSize(2 * P), Status.UNAVAILABLE);
  });
  await t.step("a raw memfd without sealing support is resizable", () => {
    const fd = libc.memfd("no-sealing", MFD_CLOEXEC);
    assert.equal(libc.ftruncate(fd, P), 0);
    using vmo = Vmo.unsafeFromFd(fd);
    assert.ok(vmo.rights & Rights.RESIZE);
  });
});

Deno.test("unsafeFromFd: a read-only fd gives no WRITE right", async (t) => {
  await t.step("a read-only memfd fd", () => {
    using original = Vmo.create(P, VmoOptions.RESIZABLE);
    original.write(new Uint8Array([5]), 0);
    const rwFd = original.unsafeDupFd();
    const roFd = readOnlyReopen(rwFd);
    libc.close(rwFd);
    using vmo = Vmo.unsafeFromFd(roFd);
    assert.equal(vmo.rights & Rights.WRITE, 0);
    assert.equal(vmo.rights & Rights.RESIZE, 0);
    assert.equal(vmo.readToArray(0, 1)[0], 5);
    assertStatus(() => vmo.write(new Uint8Array(1), 0), Status.ACCESS_DENIED);
    assertStatus(() => vmo.setSize(2 * P), Status.ACCESS_DENIED);
  });
  await t.step("a read-only fd of a sealed memfd: large and small reads", () => {
    using original = Vmo.create(256 * 1024);
    const data = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 0xff);
    original.write(data, 0);
    const rwFd = original.unsafeDupFd();
    const roFd = readOnlyReopen(rwFd);
    libc.close(rwFd);
    using vmo = Vmo.unsafeFromFd(roFd);
    assert.equal(vmo.rights & Rights.WRITE, 0);
    assert.deepEqual(vmo.readToArray(0, 256 * 1024), data);
    assert.deepEqual(vmo.readToArray(1000, 10), data.slice(1000, 1010));
    assertStatus(() => vmo.write(new Uint8Array(1), 0), Status.ACCESS_DENIED);
    original.write(new Uint8Array([1, 2, 3]), 0);
    assert.deepEqual([...vmo.readToArray(0, 3)], [1, 2, 3]);
  });
  await t.step("a read-only regular-file fd", () => {
    withTempFile(filled(10, 3), (path) => {
      const fd = libc.open(path, O_RDONLY);
      using vmo = Vmo.unsafeFromFd(fd);
      assert.equal(vmo.rights & Rights.WRITE, 0);
      assert.deepEqual(vmo.readToArray(0, 10), filled(10, 3));
      assert.equal(vmo.getStreamSize(), 10);
    });
  });
  await t.step("a read-write regular-file fd: writes reach the file", () => {
    withTempFile(filled(10, 3), (path) => {
      const fd = libc.open(path, O_RDWR);
      using vmo = Vmo.unsafeFromFd(fd);
      assert.ok(vmo.rights & Rights.WRITE);
      vmo.write(new Uint8Array([1]), 0);
      assert.equal(Deno.readFileSync(path)[0], 1);
      assertStatus(() => vmo.setSize(2 * P), Status.UNAVAILABLE);
    });
  });
  await t.step("an IMMUTABLE snapshot's fd is write-sealed: no WRITE", () => {
    using parent = Vmo.create(P);
    parent.write(new Uint8Array([6]), 0);
    using frozen = parent.createChild(C.SNAPSHOT | C.NO_WRITE, 0, P);
    const fd = frozen.unsafeDupFd();
    assert.equal(libc.pwrite(fd, new Uint8Array([1]), 0), -1, "the kernel refuses writes");
    using adopted = Vmo.unsafeFromFd(fd);
    assert.equal(adopted.rights & Rights.WRITE, 0);
    assert.equal(adopted.readToArray(0, 1)[0], 6);
  });
});

Deno.test("unsafeFromFd: opts.rights narrows the rights", () => {
  using original = Vmo.create(P);
  using vmo = Vmo.unsafeFromFd(original.unsafeDupFd(), { rights: Rights.READ | Rights.DUPLICATE });
  assert.equal(vmo.rights, Rights.READ | Rights.DUPLICATE);
  assertStatus(() => vmo.write(new Uint8Array(1), 0), Status.ACCESS_DENIED);
  // rights can only narrow: asking for RESIZE on a sealed memfd does not grant it
  using other = Vmo.unsafeFromFd(original.unsafeDupFd(), { rights: Rights.RESIZE | Rights.READ });
  assert.equal(other.rights, Rights.READ);
});

Deno.test("unsafeFromFd errors", async (t) => {
  await t.step("a pipe: WRONG_TYPE", () => {
    const [r, w] = libc.pipe();
    try {
      assertStatus(() => Vmo.unsafeFromFd(r), Status.WRONG_TYPE);
      assertStatus(() => Vmo.unsafeFromFd(w), Status.WRONG_TYPE);
    } finally {
      // unsafeFromFd does not take a rejected fd: close what is still ours
      closeIfOpen(r, w);
    }
  });
  await t.step("a directory and a character device: WRONG_TYPE", () => {
    const dir = Deno.makeTempDirSync();
    const dfd = libc.open(dir, O_RDONLY);
    const nfd = libc.open("/dev/null", O_RDWR);
    try {
      assert.ok(dfd >= 0 && nfd >= 0);
      assertStatus(() => Vmo.unsafeFromFd(dfd), Status.WRONG_TYPE);
      assertStatus(() => Vmo.unsafeFromFd(nfd), Status.WRONG_TYPE);
    } finally {
      closeIfOpen(dfd, nfd);
      Deno.removeSync(dir);
    }
  });
  await t.step("a closed fd: BAD_HANDLE with cause EBADF", () => {
    const error = assertStatus(() => Vmo.unsafeFromFd(876_543), Status.BAD_HANDLE);
    assert.equal(error.cause?.code, "EBADF");
  });
  await t.step("not an fd number: INVALID_ARGS", () => {
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 53, "3", undefined, null]) {
      assertStatus(() => Vmo.unsafeFromFd(bad as number), Status.INVALID_ARGS, String(bad));
    }
  });
  await t.step("rights that are no 32-bit value: INVALID_ARGS", () => {
    using original = Vmo.create(P);
    const fd = original.unsafeDupFd();
    try {
      for (const bad of [-1, 1.5, NaN, 2 ** 32, "1"]) {
        assertStatus(
          () => Vmo.unsafeFromFd(fd, { rights: bad as number }),
          Status.INVALID_ARGS,
          String(bad),
        );
      }
    } finally {
      closeIfOpen(fd);
    }
  });
});

Deno.test("one file, one backing: a resize through one VMO is seen by the other's mappings", () => {
  // The same memfd adopted again through /proc/self/fd: without a shared backing, the second
  // VMO's mapping would not hear of the first one's shrink and would fault on the next read.
  using original = Vmo.create(4 * P, VmoOptions.RESIZABLE);
  const own = vmoObjectOf(original).backing.fd;
  using again = Vmo.fromFile(`/proc/self/fd/${own}`);
  const root = Vmar.root();
  const addr = root.map(0, again, 0, 4 * P, VmarFlags.PERM_READ);
  try {
    original.setSize(0);
    assertStatus(() => root.readMemory(addr + 3 * P, new Uint8Array(1)), Status.OUT_OF_RANGE);
    original.setSize(4 * P);
    assert.equal(root.readMemory(addr + 3 * P, new Uint8Array(1)), 1);
  } finally {
    root.unmap(addr, 4 * P);
  }
});

Deno.test("a memfd adopted without F_SEAL_SHRINK cannot be mapped with REQUIRE_NON_RESIZABLE", () => {
  // Its peer may shrink it under the mapping, even when this side only got a read-only fd.
  const peer = libc.memfd("peer");
  assert.ok(peer >= 0 && libc.ftruncate(peer, 4 * P) === 0);
  const ro = readOnlyReopen(peer);
  try {
    using vmo = Vmo.unsafeFromFd(ro);
    assertStatus(
      () =>
        Vmar.root().map(0, vmo, 0, 4 * P, VmarFlags.PERM_READ | VmarFlags.REQUIRE_NON_RESIZABLE),
      Status.NOT_SUPPORTED,
    );
  } finally {
    libc.close(peer);
  }
});
