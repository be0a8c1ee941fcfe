/**
 * Attacks from review on the file and fd paths of `Vmo`, each kept as a test.
 */

import assert from "node:assert/strict";
import { Status, Vmar, VmarFlags, Vmo, VmoOptions } from "../../mod.ts";
import { vmoObjectOf } from "../../src/vmo/vmo.ts";
import { assertStatus, fdIsOpen, libc, O_RDWR, P, withTempFile } from "../_support/mod.ts";

Deno.test("a VMO whose fd was closed outside vmo refuses to map: BAD_HANDLE", async (t) => {
  await t.step("closed: the number stays free, new fds land below it", () => {
    using vmo = Vmo.create(4 * P);
    const fd = vmoObjectOf(vmo).backing.fd;
    // Someone else closes the number; new files take the lowest free numbers, not this one.
    assert.equal(libc.close(fd), 0);
    const other = libc.memfd("impostor");
    try {
      assert.notEqual(other, fd, "vmo's fd numbers sit above where open puts new fds");
      assertStatus(() => Vmar.root().map(0, vmo, 0, 4 * P, VmarFlags.PERM_READ), Status.BAD_HANDLE);
    } finally {
      libc.close(other);
    }
  });

  await t.step("closed, and the number given by vmo to a new VMO: the old one is refused", () => {
    const vmo = Vmo.create(4 * P);
    const fd = vmoObjectOf(vmo).backing.fd;
    assert.equal(libc.close(fd), 0);
    using next = Vmo.create(P);
    if (vmoObjectOf(next).backing.fd !== fd) return; // another number came first: nothing to see
    assertStatus(() => Vmar.root().map(0, vmo, 0, 4 * P, VmarFlags.PERM_READ), Status.BAD_HANDLE);
    // Closing the old VMO leaves the number to its new owner.
    vmo.close();
    assert.ok(fdIsOpen(fd));
    const addr = Vmar.root().map(0, next, 0, P, VmarFlags.PERM_READ);
    Vmar.root().unmap(addr, P);
  });

  await t.step("a resizable VMO, closed and reused by a new file: BAD_HANDLE", () => {
    using vmo = Vmo.create(4 * P, VmoOptions.RESIZABLE);
    const fd = vmoObjectOf(vmo).backing.fd;
    assert.equal(libc.close(fd), 0);
    const other = libc.memfd("impostor");
    try {
      assertStatus(() => Vmar.root().map(0, vmo, 0, 4 * P, VmarFlags.PERM_READ), Status.BAD_HANDLE);
    } finally {
      libc.close(other);
    }
  });
});

Deno.test("unsafeFromFd closes the fd it was given when adoption fails", () => {
  const [readEnd, writeEnd] = libc.pipe();
  assertStatus(() => Vmo.unsafeFromFd(readEnd), Status.WRONG_TYPE);
  assert.equal(fdIsOpen(readEnd), false);
  libc.close(writeEnd);
});

Deno.test("arguments whose inspection would run code still give ZxError", () => {
  using vmo = Vmo.create(P);
  const hostile = new Proxy({}, {
    get() {
      throw new RangeError("trap");
    },
    getPrototypeOf() {
      throw new RangeError("trap");
    },
  });
  assertStatus(() => vmo.read(hostile as unknown as Uint8Array, 0), Status.INVALID_ARGS);
  assertStatus(
    () => vmo.write(new Uint8Array(1), hostile as unknown as number),
    Status.INVALID_ARGS,
  );
  assertStatus(() => vmo.setName(hostile as unknown as string), Status.INVALID_ARGS);
  assertStatus(() => Vmo.create(hostile as unknown as number), Status.INVALID_ARGS);
});

Deno.test("one file opened read-only, then writable: the writable VMO can write", () => {
  withTempFile(new Uint8Array(P), (path) => {
    using readOnly = Vmo.fromFile(path);
    using writable = Vmo.fromFile(path, { writable: true });
    writable.write(new Uint8Array([7]), 0);
    assert.equal(readOnly.readToArray(0, 1)[0], 7);
    assert.equal(Deno.readFileSync(path)[0], 7);
    const root = Vmar.root();
    const addr = root.map(0, writable, 0, P, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
    assert.equal(root.writeMemory(addr, new Uint8Array([8])), 1);
    root.unmap(addr, P);
    assert.equal(Deno.readFileSync(path)[0], 8);
  });
});

Deno.test("a memfd sealed against shrinking only after it was adopted (and shrunk) gets no internal mapping", () => {
  // A peer shrinks the file and then seals it; the size read at adoption is stale, so the
  // copies must stay on pread/pwrite (a mapping of the old size would fault).
  const peer = libc.memfd("peer");
  assert.ok(peer >= 0 && libc.ftruncate(peer, 2 * P) === 0);
  const mine = libc.open(`/proc/self/fd/${peer}`, O_RDWR);
  using vmo = Vmo.unsafeFromFd(mine);
  assert.equal(vmo.getSize(), 2 * P);
  assert.equal(libc.ftruncate(peer, 0), 0);
  assert.equal(libc.fcntl(peer, 1033, /* F_ADD_SEALS */ 0x2 | 0x4 /* SHRINK | GROW */), 0);
  // Small and large copies: both stay safe (a write past the sealed end fails, not faults).
  assert.deepEqual([...vmo.readToArray(0, 4)], [0, 0, 0, 0]);
  assert.ok(vmo.readToArray(0, 2 * P).every((b) => b === 0));
  assertStatus(() => vmo.write(new Uint8Array(1), 0), Status.ACCESS_DENIED);
  libc.close(peer);
});
