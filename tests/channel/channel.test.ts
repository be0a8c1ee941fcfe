/**
 * Channels in one process: round trips with bytes and handles, Zircon's limits and statuses,
 * moves (handles invalid after a successful write, untouched after a failed one), close and
 * peer-closed, and fds that do not leak.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  Channel,
  type ChannelMessage,
  Mapping,
  ObjType,
  Rights,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  VmoChildOptions,
  VmoOptions,
  ZxError,
} from "../../mod.ts";
import { assertStatus, fdIsOpen, listFds, P, pattern } from "../_support/mod.ts";

const O_ACCMODE = 3;
const F_GETFL = 3;

function closeMessage(message: ChannelMessage): void {
  for (const h of message.handles) h.close();
}

async function rejectsWith(promise: Promise<unknown>, status: Status): Promise<void> {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof ZxError, `expected ZxError, got ${e}`);
    assert.equal(e.status, status, e.message);
    return true;
  });
}

Deno.test("channel: createPair gives two ends with Zircon's default channel rights", () => {
  const [a, b] = Channel.createPair();
  const expected = Rights.TRANSFER | Rights.WAIT | Rights.INSPECT | Rights.READ | Rights.WRITE |
    Rights.SIGNAL | Rights.SIGNAL_PEER;
  assert.equal(a.rights, expected);
  assert.equal(b.basicInfo().type, 4);
  assert.notEqual(a.koid, b.koid);
  assert.equal(a.basicInfo().relatedKoid, b.koid, "Zircon: related koid is the peer's");
  assert.equal(b.basicInfo().relatedKoid, a.koid);
  // no DUPLICATE right: Zircon channels cannot be duplicated
  assertStatus(() => a.duplicate(), Status.ACCESS_DENIED);
  a.close();
  a.close(); // idempotent
  assertStatus(() => a.write(new Uint8Array(1)), Status.BAD_HANDLE);
  assertStatus(() => a.tryRead(), Status.BAD_HANDLE);
  b.close();
});

Deno.test("channel: round trips of 0 to 65,536 bytes with 0 to 64 VMO handles", async (t) => {
  const [a, b] = Channel.createPair();
  await t.step("property: bytes and handles arrive intact, in order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 65536 }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 1, max: 1000 }),
        async (length, count, seed) => {
          const bytes = pattern(length, seed);
          const vmos = Array.from({ length: count }, (_, i) => {
            const v = Vmo.create(P);
            v.write(new Uint8Array([i + 1, seed & 0xff]), 0);
            return v;
          });
          a.write(bytes, vmos);
          for (const v of vmos) assert.equal(v.isValid, false, "a moved handle is closed");
          const got = await b.read();
          assert.equal(got.bytes.length, length);
          assert.deepEqual(got.bytes, bytes);
          assert.equal(got.handles.length, count);
          got.handles.forEach((h, i) => {
            assert.ok(h instanceof Vmo);
            assert.deepEqual([...h.readToArray(0, 2)], [i + 1, seed & 0xff]);
          });
          closeMessage(got);
        },
      ),
      { numRuns: 40 },
    );
  });
  await t.step("the limits themselves: 65,536 bytes and 64 handles", () => {
    const vmos = Array.from({ length: 64 }, () => Vmo.create(P));
    a.write(new Uint8Array(65536).fill(3), vmos);
    const got = b.tryRead();
    assert.equal(got.bytes.length, 65536);
    assert.equal(got.handles.length, 64);
    closeMessage(got);
  });
  a.close();
  b.close();
});

Deno.test("channel: errors leave every handle valid and nothing sent", async (t) => {
  const [a, b] = Channel.createPair();
  const vmo = Vmo.create(P);
  const check = (fn: () => unknown, status: Status, what: string) => {
    assertStatus(fn, status, what);
    assert.ok(vmo.isValid, `${what}: the VMO is untouched`);
    assertStatus(() => b.tryRead(), Status.SHOULD_WAIT, `${what}: nothing was sent`);
  };
  await t.step("OUT_OF_RANGE: 65,537 bytes, 65 handles", () => {
    check(() => a.write(new Uint8Array(65537), [vmo]), Status.OUT_OF_RANGE, "bytes");
    const many = Array.from({ length: 64 }, () => Vmo.create(P));
    check(() => a.write(new Uint8Array(0), [vmo, ...many]), Status.OUT_OF_RANGE, "handles");
    for (const v of many) {
      assert.ok(v.isValid);
      v.close();
    }
  });
  await t.step("ACCESS_DENIED: a handle without TRANSFER", () => {
    const noTransfer = vmo.duplicate(Rights.READ | Rights.WRITE | Rights.MAP);
    check(() => a.write(new Uint8Array(1), [vmo, noTransfer]), Status.ACCESS_DENIED, "transfer");
    assert.ok(noTransfer.isValid);
    noTransfer.close();
  });
  await t.step("BAD_HANDLE: a closed handle, the same handle twice", () => {
    const closed = Vmo.create(P);
    closed.close();
    check(() => a.write(new Uint8Array(1), [vmo, closed]), Status.BAD_HANDLE, "closed");
    check(() => a.write(new Uint8Array(1), [vmo, vmo]), Status.BAD_HANDLE, "twice");
    check(() => a.write(new Uint8Array(1), [vmo, {} as Vmo]), Status.BAD_HANDLE, "not a handle");
  });
  await t.step("NOT_SUPPORTED: the channel itself, a VMAR, a slice", () => {
    check(() => a.write(new Uint8Array(1), [vmo, a]), Status.NOT_SUPPORTED, "itself");
    assert.ok(a.isValid);
    const vmar = Vmar.root().allocate(0, P, VmarFlags.CAN_MAP_READ)[0];
    check(
      () => a.write(new Uint8Array(1), [vmo, vmar as unknown as Vmo]),
      Status.NOT_SUPPORTED,
      "vmar",
    );
    assert.equal(vmar.basicInfo().type, ObjType.VMAR);
    vmar.destroy();
    vmar.close();
    const slice = vmo.createChild(VmoChildOptions.SLICE, 0, P);
    check(() => a.write(new Uint8Array(1), [vmo, slice]), Status.NOT_SUPPORTED, "slice");
    slice.close();
  });
  await t.step("ACCESS_DENIED: a channel handle without WRITE or READ", () => {
    const [c, d] = Channel.createPair();
    const readOnly = c.replace(Rights.READ | Rights.TRANSFER);
    check(() => readOnly.write(new Uint8Array(1), [vmo]), Status.ACCESS_DENIED, "write");
    const writeOnly = d.replace(Rights.WRITE | Rights.TRANSFER);
    assertStatus(() => writeOnly.tryRead(), Status.ACCESS_DENIED);
    readOnly.close();
    writeOnly.close();
  });
  await t.step("INVALID_ARGS: bytes not a Uint8Array, handles not an array", () => {
    check(() => a.write("x" as unknown as Uint8Array), Status.INVALID_ARGS, "bytes");
    check(() => a.write(new Uint8Array(1), vmo as unknown as Vmo[]), Status.INVALID_ARGS, "arr");
  });
  await t.step("handles read once: a Proxy array, a huge or odd length", () => {
    // Every later read of the array would give a closed handle: only the first read counts.
    let reads = 0;
    const other = Vmo.create(P);
    const closed = Vmo.create(P);
    closed.close();
    const fickle = new Proxy([other], {
      get: (target, key) =>
        key === "0" ? (reads++ === 0 ? other : closed) : Reflect.get(target, key),
    });
    a.write(new Uint8Array([1]), fickle);
    assert.equal(reads, 1);
    assert.equal(other.isValid, false, "moved");
    const got = b.tryRead();
    assert.equal(got.handles.length, 1);
    closeMessage(got);
    const huge = new Proxy([vmo], {
      get: (t, k) => k === "length" ? 2 ** 32 - 1 : Reflect.get(t, k),
    });
    check(() => a.write(new Uint8Array(1), huge), Status.OUT_OF_RANGE, "a length of 2^32 - 1");
    for (const length of [-1, NaN, "1"]) {
      const odd = new Proxy([vmo], { get: (t, k) => k === "length" ? length : Reflect.get(t, k) });
      a.write(new Uint8Array([2]), odd);
      assert.ok(vmo.isValid, `length ${String(length)} reads as none: the VMO stays`);
      const message = b.tryRead();
      assert.deepEqual([message.bytes.length, message.handles.length], [1, 0]);
    }
  });
  await t.step("PEER_CLOSED: the peer is gone", () => {
    b.close();
    assertStatus(() => a.write(new Uint8Array(1), [vmo]), Status.PEER_CLOSED);
    assert.ok(vmo.isValid);
  });
  vmo.close();
  a.close();
});

Deno.test("channel: SHOULD_WAIT when the peer's queue is full, then room after a read", () => {
  const [a, b] = Channel.createPair();
  const chunk = new Uint8Array(16 * 1024);
  let sent = 0;
  for (;;) {
    try {
      a.write(chunk);
      sent++;
    } catch (e) {
      assert.ok(e instanceof ZxError && e.status === Status.SHOULD_WAIT, String(e));
      break;
    }
    assert.ok(sent < 10_000, "the queue never filled");
  }
  assert.ok(sent > 0);
  b.tryRead();
  a.write(chunk);
  a.close();
  b.close();
});

Deno.test("channel: queued messages outlive the peer, then PEER_CLOSED", async () => {
  const [a, b] = Channel.createPair();
  const vmo = Vmo.create(P);
  vmo.write(new Uint8Array([9]), 0);
  a.write(new Uint8Array([1]), [vmo]);
  a.write(new Uint8Array([2]));
  a.close();
  const first = await b.read();
  assert.equal(first.bytes[0], 1);
  assert.equal((first.handles[0] as Vmo).readToArray(0, 1)[0], 9, "the VMO outlives its sender");
  closeMessage(first);
  assert.equal(b.tryRead().bytes[0], 2);
  assertStatus(() => b.tryRead(), Status.PEER_CLOSED);
  await rejectsWith(b.read(), Status.PEER_CLOSED);
  b.close();
});

Deno.test("channel: a pending read ends with CANCELED on close, PEER_CLOSED on peer close", async () => {
  const [a, b] = Channel.createPair();
  const mine = b.read();
  const second = b.read();
  b.close();
  await rejectsWith(mine, Status.CANCELED);
  await rejectsWith(second, Status.CANCELED);
  const theirs = a.read();
  await rejectsWith(theirs, Status.PEER_CLOSED);
  await rejectsWith(a.read(), Status.PEER_CLOSED);
  a.close();
  await rejectsWith(a.read(), Status.BAD_HANDLE);
});

Deno.test("channel: pending reads are served in order as messages come", async () => {
  const [a, b] = Channel.createPair();
  const reads = [b.read(), b.read(), b.read()];
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 5));
    a.write(new Uint8Array([i]));
  }
  const got = await Promise.all(reads);
  assert.deepEqual(got.map((m) => m.bytes[0]), [0, 1, 2]);
  a.close();
  b.close();
});

Deno.test("channel: a channel end moves through a channel and keeps working", async () => {
  const [a, b] = Channel.createPair();
  const [c, d] = Channel.createPair();
  a.write(new Uint8Array([1]), [d]);
  assert.equal(d.isValid, false);
  const got = await b.read();
  const moved = got.handles[0];
  assert.ok(moved instanceof Channel);
  assert.equal(moved.rights, c.rights);
  c.write(new Uint8Array([42]));
  assert.equal((await moved.read()).bytes[0], 42);
  moved.write(new Uint8Array([43]));
  assert.equal(c.tryRead().bytes[0], 43);
  // a moved end's pending read is cancelled as if closed
  const [e, f] = Channel.createPair();
  const pending = f.read();
  a.write(new Uint8Array(0), [f]);
  await rejectsWith(pending, Status.CANCELED);
  closeMessage(b.tryRead());
  for (const h of [a, b, c, moved, e]) h.close();
});

Deno.test("channel: rights travel with a VMO handle", async (t) => {
  const [a, b] = Channel.createPair();
  await t.step("a handle without WRITE arrives without WRITE, on a read-only fd", async () => {
    const vmo = Vmo.create(P);
    vmo.write(new Uint8Array([5]), 0);
    const readOnly = vmo.duplicate(Rights.READ | Rights.MAP | Rights.TRANSFER);
    a.write(new Uint8Array(0), [readOnly]);
    const got = (await b.read()).handles[0] as Vmo;
    assert.equal(got.rights & Rights.WRITE, 0);
    assert.equal(got.rights & Rights.READ, Rights.READ);
    assert.equal(got.readToArray(0, 1)[0], 5);
    assertStatus(() => got.write(new Uint8Array(1), 0), Status.ACCESS_DENIED);
    got.close();
    vmo.close();
  });
  await t.step("a handle with WRITE arrives with its rights", async () => {
    const vmo = Vmo.create(P);
    const rights = Rights.READ | Rights.WRITE | Rights.MAP | Rights.TRANSFER;
    a.write(new Uint8Array(0), [vmo.replace(rights)]);
    const got = (await b.read()).handles[0] as Vmo;
    assert.equal(got.rights, rights);
    got.write(new Uint8Array([1]), 0);
    got.close();
  });
  await t.step("a resizable VMO stays resizable for a receiver with RESIZE", async () => {
    const vmo = Vmo.create(P, VmoOptions.RESIZABLE);
    a.write(new Uint8Array(0), [vmo]);
    const got = (await b.read()).handles[0] as Vmo;
    got.setSize(2 * P);
    assert.equal(got.getSize(), 2 * P);
    got.close();
  });
  a.close();
  b.close();
});

Deno.test("channel: received memory maps and is shared both ways", async () => {
  const [a, b] = Channel.createPair();
  const [mapping, vmo] = Mapping.allocate(P);
  a.write(new Uint8Array(0), [vmo.duplicate()]);
  const got = (await b.read()).handles[0] as Vmo;
  const theirs = Mapping.createFromVmo(got, P, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
  mapping.writeU32(0, 0xdeadbeef);
  assert.equal(theirs.readU32(0), 0xdeadbeef);
  theirs.writeU32(4, 7);
  assert.equal(mapping.readU32(4), 7);
  for (const h of [theirs, mapping, got, vmo, a, b]) h.close();
});

Deno.test("channel: 1,000 round trips with handles and 1,000 failed writes leak no fd", async () => {
  const [a, b] = Channel.createPair();
  // warm-up: whatever the first calls open (the poller's eventfd)
  const warm = b.read();
  a.write(new Uint8Array(1), [Vmo.create(P)]);
  closeMessage(await warm);
  const before = listFds();
  for (let i = 0; i < 1000; i++) {
    const [c, d] = Channel.createPair();
    a.write(new Uint8Array([i & 0xff]), [Vmo.create(P), Vmo.create(P), c]);
    const got = i % 2 === 0 ? b.tryRead() : await b.read();
    assert.equal(got.handles.length, 3);
    closeMessage(got);
    d.close();
  }
  const vmo = Vmo.create(P);
  const noTransfer = vmo.duplicate(Rights.READ | Rights.DUPLICATE);
  for (let i = 0; i < 1000; i++) {
    const status = [Status.OUT_OF_RANGE, Status.ACCESS_DENIED, Status.BAD_HANDLE][i % 3];
    assertStatus(() => {
      if (i % 3 === 0) a.write(new Uint8Array(65537), [vmo]);
      else if (i % 3 === 1) a.write(new Uint8Array(1), [vmo, noTransfer]);
      else a.write(new Uint8Array(1), [vmo, vmo]);
    }, status);
  }
  vmo.close();
  noTransfer.close();
  const after = listFds();
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
  a.close();
  b.close();
});

Deno.test("channel: closed ends release their sockets", () => {
  const [a, b] = Channel.createPair();
  const fd = Channel.socketFdOf(a);
  assert.ok(fdIsOpen(fd));
  a.close();
  assert.equal(fdIsOpen(fd), false);
  b.close();
});

Deno.test("channel: a received VMO fd is read-only when the handle had no WRITE", async () => {
  const [a, b] = Channel.createPair();
  const vmo = Vmo.create(P);
  a.write(new Uint8Array(0), [vmo.replace(Rights.READ | Rights.TRANSFER | Rights.MAP)]);
  const before = new Set(listFds().keys());
  const msg = await b.read();
  const added = [...listFds()].filter(([fd]) => !before.has(fd));
  assert.equal(added.length, 1);
  const { fcntl } = Deno.dlopen("libc.so.6", {
    fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  }).symbols;
  assert.equal(fcntl(added[0][0], F_GETFL, 0) & O_ACCMODE, 0, "O_RDONLY");
  closeMessage(msg);
  a.close();
  b.close();
});
