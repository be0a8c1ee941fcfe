/**
 * What a received VMO fd becomes, from a raw peer in this process that claims every right in
 * its header: the rights and the size come from the fd and its seals, never from the header,
 * and an fd that cannot be a VMO (it cannot read) drops the message whole with its fds closed.
 * The records are read where the header puts them: each handle of a message gets its own.
 */

import assert from "node:assert/strict";
import { MessageBuffers, seqpacketPair } from "../../ffi/socket.ts";
import { encodeHeader, HandleKind } from "../../src/channel/format.ts";
import { Channel, Rights, Status, Vmo, VmoOptions } from "../../mod.ts";
import {
  assertStatus,
  cstr,
  F_ADD_SEALS,
  F_SEAL_GROW,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  libc,
  listFds,
  O_RDONLY,
  O_RDWR,
  P,
  sys,
} from "../_support/mod.ts";

const O_WRONLY = 1;
const O_APPEND = 0o2000;
const O_PATH = 0o10000000;
const F_SEAL_FUTURE_WRITE = 0x10;
const MFD_HUGETLB = 4;
const ALL = 0xffff_ffff;

/** A raw end and a channel over its peer, as a hostile sender and its victim. */
function rawPeer(): { raw: number; channel: Channel; send(rights: number[], fds: number[]): void } {
  const pair = seqpacketPair();
  if (typeof pair === "number") throw new Error("socketpair failed");
  Deno.env.set("VMO_RECEIVED_FDS_TEST", String(pair[1]));
  const channel = Channel.fromEnv("VMO_RECEIVED_FDS_TEST");
  const out = new MessageBuffers(4096, 8);
  const view = new DataView(out.data.buffer);
  return {
    raw: pair[0],
    channel,
    send(rights, fds) {
      const records = rights.map((r) => ({ kind: HandleKind.VMO, rights: r }));
      const at = encodeHeader(view, records, 0);
      assert.equal(out.send(pair[0], at, fds, 0), at, "sendmsg");
      for (const fd of fds) libc.close(fd);
    },
  };
}

/** A memfd of `size` bytes whose byte 0 is `first`. */
function memfd(size: number, first = 5): number {
  const fd = libc.memfd("received");
  assert.ok(fd >= 0);
  assert.equal(libc.ftruncate(fd, size), 0);
  assert.equal(libc.pwrite(fd, new Uint8Array([first]), 0), 1);
  return fd;
}

/** Another open file description of `fd`'s file, with `flags`. */
function reopen(fd: number, flags: number): number {
  const copy = libc.open(`/proc/self/fd/${fd}`, flags);
  assert.ok(copy >= 0, `reopen of fd ${fd}`);
  return copy;
}

function receiveOne(peer: ReturnType<typeof rawPeer>, rights: number, fd: number): Vmo {
  peer.send([rights], [fd]);
  const { handles } = peer.channel.tryRead();
  assert.equal(handles.length, 1);
  assert.ok(handles[0] instanceof Vmo);
  return handles[0];
}

function close(peer: ReturnType<typeof rawPeer>): void {
  peer.channel.close();
  libc.close(peer.raw);
}

Deno.test("received fds: the header's WRITE holds only where the fd and its seals allow it", () => {
  const peer = rawPeer();
  const before = listFds();
  const cases: [string, () => number, boolean][] = [
    ["an O_RDWR memfd", () => memfd(P), true],
    ["an O_RDONLY memfd", () => {
      const m = memfd(P);
      const ro = reopen(m, O_RDONLY);
      libc.close(m);
      return ro;
    }, false],
    ["an O_RDWR memfd sealed F_SEAL_WRITE", () => {
      const m = memfd(P);
      assert.equal(libc.fcntl(m, F_ADD_SEALS, F_SEAL_WRITE), 0);
      return m;
    }, false],
    ["an O_RDWR memfd sealed F_SEAL_FUTURE_WRITE", () => {
      const m = memfd(P);
      assert.equal(libc.fcntl(m, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
      return m;
    }, false],
  ];
  for (const [what, make, writable] of cases) {
    const vmo = receiveOne(peer, ALL, make());
    assert.equal((vmo.rights & Rights.WRITE) !== 0, writable, `${what}: WRITE`);
    assert.equal(vmo.readToArray(0, 1)[0], 5, `${what}: reads`);
    if (writable) {
      vmo.write(new Uint8Array([6]), 0);
      assert.equal(vmo.readToArray(0, 1)[0], 6, `${what}: writes`);
    } else {
      assertStatus(() => vmo.write(new Uint8Array([6]), 0), Status.ACCESS_DENIED, what);
      assert.equal(vmo.readToArray(0, 1)[0], 5, `${what}: unchanged`);
    }
    vmo.close();
  }
  assert.deepEqual([...listFds().keys()].sort(), [...before.keys()].sort(), "no fd leaked");
  close(peer);
});

Deno.test("received fds: RESIZE only for a writable memfd not sealed against resizing", () => {
  const peer = rawPeer();
  const sizeSealed = memfd(P);
  assert.equal(libc.fcntl(sizeSealed, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  const ro = memfd(P);
  const cases: [string, number, boolean][] = [
    ["unsealed O_RDWR", memfd(P), true],
    ["sealed against resizing", sizeSealed, false],
    ["O_RDONLY", reopen(ro, O_RDONLY), false],
  ];
  libc.close(ro);
  for (const [what, fd, resizable] of cases) {
    const vmo = receiveOne(peer, ALL, fd);
    assert.equal((vmo.rights & Rights.RESIZE) !== 0, resizable, `${what}: RESIZE`);
    if (resizable) {
      vmo.setSize(3 * P);
      assert.equal(vmo.getSize(), 3 * P);
    }
    vmo.close();
  }
  close(peer);
});

Deno.test("received fds: the size is the file's, rounded up to pages, whatever was claimed", () => {
  const peer = rawPeer();
  for (const bytes of [0, 1, P, 3 * P + 100]) {
    const fd = libc.memfd("received");
    assert.equal(libc.ftruncate(fd, bytes), 0);
    const vmo = receiveOne(peer, ALL, fd);
    assert.equal(vmo.getSize(), Math.ceil(bytes / P) * P, `${bytes} bytes`);
    vmo.close();
  }
  close(peer);
});

Deno.test("received fds: each handle of a message gets the rights of its own record", () => {
  const peer = rawPeer();
  const r1 = Rights.READ | Rights.TRANSFER;
  const r2 = Rights.READ | Rights.WRITE | Rights.MAP | Rights.TRANSFER | Rights.DUPLICATE;
  const r3 = Rights.READ | Rights.GET_PROPERTY;
  peer.send([r1, r2, r3], [memfd(P, 1), memfd(P, 2), memfd(P, 3)]);
  const { handles } = peer.channel.tryRead();
  assert.deepEqual(handles.map((h) => h.rights), [r1, r2, r3]);
  assert.deepEqual(handles.map((h) => (h as Vmo).readToArray(0, 1)[0]), [1, 2, 3]);
  for (const h of handles) h.close();
  close(peer);
});

Deno.test("received fds: an fd that cannot read drops the message whole, its fds closed", () => {
  const peer = rawPeer();
  const before = listFds();
  const makers: [string, () => number][] = [
    ["an O_WRONLY memfd", () => {
      const m = memfd(P);
      const wo = reopen(m, O_WRONLY);
      libc.close(m);
      return wo;
    }],
    ["an O_PATH memfd", () => {
      const m = memfd(P);
      const path = sys.open(cstr(`/proc/self/fd/${m}`), O_PATH | 0o2000000, 0);
      assert.ok(path >= 0);
      libc.close(m);
      return path;
    }],
  ];
  for (const [what, make] of makers) {
    // A good memfd first: the bad one after it must take it down too.
    const good = memfd(P);
    const watched = reopen(good, O_RDWR);
    peer.send([ALL, ALL], [good, make()]);
    assertStatus(() => peer.channel.tryRead(), Status.BAD_STATE, what);
    // The message's copy of the good memfd was closed: only our own reopen holds the file.
    libc.close(watched);
  }
  assert.deepEqual([...listFds().keys()].sort(), [...before.keys()].sort(), "no fd leaked");
  close(peer);
});

Deno.test("received fds: files on tmpfs and on disk, read-only, read-write and O_APPEND", () => {
  const peer = rawPeer();
  const dirs = ["/dev/shm", Deno.makeTempDirSync({ prefix: "vmo-received-" })];
  for (const dir of dirs) {
    let path: string;
    try {
      path = Deno.makeTempFileSync({ dir, prefix: "vmo-received-" });
    } catch {
      continue; // no /dev/shm here
    }
    try {
      checkFile(peer, dir, path);
    } finally {
      Deno.removeSync(path);
    }
  }
  Deno.removeSync(dirs[1]);
  close(peer);
});

/** A file at `path` received read-only, read-write, O_APPEND and write-only. */
function checkFile(peer: ReturnType<typeof rawPeer>, dir: string, path: string): void {
  Deno.writeFileSync(path, new Uint8Array(100).fill(9));
  const rw = libc.open(path, O_RDWR);
  const rdonly = libc.open(path, O_RDONLY);
  const append = libc.open(path, O_RDWR | O_APPEND);
  const wronly = libc.open(path, O_WRONLY);
  assert.ok(rw >= 0 && rdonly >= 0 && append >= 0 && wronly >= 0);

  const ro = receiveOne(peer, ALL, rdonly);
  assert.equal(ro.rights & Rights.WRITE, 0, `${dir}: O_RDONLY gives no WRITE`);
  assert.equal(ro.getSize(), P, `${dir}: size`);
  assert.equal(ro.readToArray(99, 1)[0], 9);
  assertStatus(() => ro.write(new Uint8Array([1]), 0), Status.ACCESS_DENIED);

  const w = receiveOne(peer, ALL, rw);
  assert.notEqual(w.rights & Rights.WRITE, 0, `${dir}: O_RDWR gives WRITE`);
  // A file on disk never resizes; one on tmpfs answers F_GET_SEALS, so it counts as a memfd.
  if (dir !== "/dev/shm") assert.equal(w.rights & Rights.RESIZE, 0, `${dir}: no RESIZE`);
  w.write(new Uint8Array([1]), 10);

  // O_APPEND: a write at offset 20 lands at offset 20, not at the end of the file.
  const a = receiveOne(peer, ALL, append);
  a.write(new Uint8Array([2]), 20);
  const file = Deno.readFileSync(path);
  assert.equal(file.length, 100, `${dir}: nothing appended`);
  assert.deepEqual([file[10], file[20]], [1, 2]);

  peer.send([ALL], [wronly]);
  assertStatus(() => peer.channel.tryRead(), Status.BAD_STATE, `${dir}: O_WRONLY`);
  for (const v of [ro, w, a]) v.close();
}

Deno.test("received fds: a hugetlb memfd, when the machine has huge pages", () => {
  const fd = libc.memfd("received-huge", 1 | 2 | MFD_HUGETLB);
  const HUGE = 2 * 1024 * 1024;
  if (fd < 0 || libc.ftruncate(fd, HUGE) !== 0) {
    if (fd >= 0) libc.close(fd);
    console.log("no hugetlb memfd here: skipped");
    return;
  }
  const peer = rawPeer();
  const vmo = receiveOne(peer, ALL, fd);
  assert.equal(vmo.getSize(), HUGE);
  assert.equal(vmo.readToArray(HUGE - 1, 1)[0], 0);
  vmo.close();
  close(peer);
});

Deno.test("received fds: one file, one backing, through thousands of files received and closed", () => {
  const peer = rawPeer();
  const before = listFds();
  // A resizable VMO kept open: every fd of its memfd received later must share its backing
  // (a resize through one is seen by the other).
  const original = Vmo.create(4 * P, VmoOptions.RESIZABLE);
  original.write(new Uint8Array([7]), 0);
  const shared = () => {
    const again = receiveOne(peer, ALL, original.unsafeDupFd());
    original.setSize(2 * P);
    assert.equal(again.getSize(), 2 * P, "the received VMO shares the original's backing");
    original.setSize(4 * P);
    assert.equal(again.readToArray(0, 1)[0], 7);
    again.close();
  };
  shared();
  // A memfd that only a raw fd keeps: each receipt makes a backing, each close ends it.
  const raw = memfd(3 * P, 9);
  for (let round = 0; round < 3; round++) {
    // Thousands of distinct files, each received and closed: their entries in the table of
    // live backings are emptied and swept.
    for (let i = 0; i < 1500; i++) receiveOne(peer, ALL, memfd(P)).close();
    // The same file again and again: its entry is emptied and filled again.
    for (let i = 0; i < 500; i++) {
      const vmo = receiveOne(peer, ALL, reopen(raw, O_RDWR));
      assert.equal(vmo.getSize(), 3 * P);
      if (i === 0) assert.equal(vmo.readToArray(0, 1)[0], 9);
      vmo.close();
    }
    shared();
  }
  libc.close(raw);
  original.close();
  assert.deepEqual([...listFds().keys()].sort(), [...before.keys()].sort(), "no fd leaked");
  close(peer);
});

Deno.test("received fds: the fd of a VMO made among hundreds, some closed, shares its backing", () => {
  const peer = rawPeer();
  // Made before any lookup, some closed (their fd numbers go to the ones made after): the
  // lookup of a received fd must still find each live one.
  const first = Array.from({ length: 300 }, () => Vmo.create(P, VmoOptions.RESIZABLE));
  for (let i = 0; i < first.length; i += 3) first[i].close();
  const then = Array.from({ length: 100 }, () => Vmo.create(P, VmoOptions.RESIZABLE));
  for (const vmo of [first[1], first[2], first[299], then[0], then[99]]) {
    const again = receiveOne(peer, ALL, vmo.unsafeDupFd());
    vmo.setSize(3 * P);
    assert.equal(again.getSize(), 3 * P, "the received VMO shares the original's backing");
    again.close();
  }
  for (const vmo of [...first, ...then]) vmo.close();
  close(peer);
});
