/**
 * The receive path against a model: random messages built from random header fields and random
 * fds (memfds, a regular file, a directory, a pipe, an eventfd, stream and seqpacket sockets),
 * sent raw with `sendmsg`. The reader must accept exactly the messages the format allows, hand
 * out handles that work, drop the rest whole with `BAD_STATE`, and leak no fd.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { bindListen, MessageBuffers, seqpacketPair, seqpacketSocket } from "../../ffi/socket.ts";
import { encodeHeader, HandleKind, MAGIC, VERSION } from "../../src/channel/format.ts";
import { Channel, Status, Vmo, ZxError } from "../../mod.ts";
import { libc, listFds, O_DIRECTORY, O_RDONLY, sys } from "../_support/mod.ts";

const c = Deno.dlopen("libc.so.6", {
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
}).symbols;

type FdKind =
  | "memfd"
  | "file"
  | "dir"
  | "pipe"
  | "eventfd"
  | "stream"
  | "seqpacket"
  | "unconnected"
  | "listening";
const FD_KINDS: FdKind[] = [
  "memfd",
  "file",
  "dir",
  "pipe",
  "eventfd",
  "stream",
  "seqpacket",
  "unconnected",
  "listening",
];
const socketDir = Deno.makeTempDirSync({ prefix: "vmo-receive-model-" });
let sockets = 0;
const tempPath = Deno.makeTempFileSync({ prefix: "vmo-receive-model-" });
Deno.writeFileSync(tempPath, new Uint8Array(100).fill(9));

function makeFd(kind: FdKind): number {
  switch (kind) {
    case "memfd": {
      const fd = libc.memfd("model");
      libc.ftruncate(fd, 4096);
      libc.pwrite(fd, new Uint8Array([42]), 0);
      return fd;
    }
    case "file":
      return libc.open(tempPath, O_RDONLY);
    case "dir":
      return libc.open("/tmp", O_RDONLY | O_DIRECTORY);
    case "pipe": {
      const [r, w] = libc.pipe();
      libc.close(w);
      return r;
    }
    case "eventfd":
      return c.eventfd(0, 0o2000000);
    case "stream":
      return c.socket(1, 1 | 0o2000000, 0);
    case "seqpacket": {
      // A connected end (its peer closed: still a channel, with nothing queued).
      const pair = seqpacketPair();
      if (typeof pair === "number") throw new Error("socketpair failed");
      libc.close(pair[1]);
      return pair[0];
    }
    case "unconnected":
      // Its sender could still connect or listen on it: no channel end.
      return c.socket(1, 5 | 0o2000000, 0);
    case "listening": {
      // A listening SOCK_SEQPACKET socket is no channel end.
      const fd = seqpacketSocket();
      const path = new TextEncoder().encode(`${socketDir}/${sockets++}`);
      if (bindListen(fd, path, 1) !== 0) throw new Error("bind/listen failed");
      return fd;
    }
  }
}

interface Sent {
  fds: FdKind[];
  kinds: number[];
  magic: number;
  version: number;
  reserved: number;
  payload: number;
  lengthDelta: number;
}

const randomArb: fc.Arbitrary<Sent> = fc.record({
  fds: fc.array(fc.constantFrom(...FD_KINDS), { maxLength: 4 }),
  kinds: fc.array(fc.constantFrom(1, 2, 1, 2, 0, 3), { maxLength: 4 }),
  magic: fc.constantFrom(MAGIC, MAGIC, MAGIC, 0x12345678),
  version: fc.constantFrom(VERSION, VERSION, VERSION, 2),
  reserved: fc.constantFrom(0, 0, 0, 1),
  payload: fc.integer({ min: 0, max: 300 }),
  lengthDelta: fc.constantFrom(0, 0, 0, 0, -1, 1),
});

/** Messages that are valid but for at most one field, so both outcomes are common. */
const nearValidArb: fc.Arbitrary<Sent> = fc.record({
  fds: fc.array(fc.constantFrom<FdKind>("memfd", "file", "seqpacket"), { maxLength: 4 }),
  payload: fc.integer({ min: 0, max: 300 }),
  flaw: fc.constantFrom("none", "none", "none", "kind", "fd", "magic", "length", "count"),
  other: fc.constantFrom(...FD_KINDS),
}).map(({ fds, payload, flaw, other }): Sent => {
  const kinds: number[] = fds.map((fd) => fd === "seqpacket" ? HandleKind.CHANNEL : HandleKind.VMO);
  const sent: Sent = {
    fds: [...fds],
    kinds,
    magic: MAGIC,
    version: VERSION,
    reserved: 0,
    payload,
    lengthDelta: 0,
  };
  if (flaw === "kind" && kinds.length > 0) kinds[0] = 3 - kinds[0];
  if (flaw === "fd" && fds.length > 0) sent.fds[0] = other;
  if (flaw === "magic") sent.magic = 0;
  if (flaw === "length") sent.lengthDelta = 1;
  if (flaw === "count") sent.fds.push("memfd");
  return sent;
});

const sentArb = fc.oneof(randomArb, nearValidArb);

function fits(fd: FdKind, kind: number): boolean {
  if (kind === HandleKind.VMO) return fd === "memfd" || fd === "file";
  if (kind === HandleKind.CHANNEL) return fd === "seqpacket";
  return false;
}

/** The model: whether the format accepts the message. */
function accepted(s: Sent): boolean {
  return s.magic === MAGIC && s.version === VERSION && s.reserved === 0 &&
    s.lengthDelta === 0 && s.kinds.length === s.fds.length &&
    s.fds.every((fd, i) => fits(fd, s.kinds[i]));
}

Deno.test("receive model: the reader accepts exactly what the format allows", () => {
  const pair = seqpacketPair();
  if (typeof pair === "number") throw new Error("socketpair failed");
  const [raw, theirs] = pair;
  Deno.env.set("VMO_MODEL_FD", String(theirs));
  const channel = Channel.fromEnv("VMO_MODEL_FD");
  const out = new MessageBuffers(70_000, 8);
  const view = new DataView(out.data.buffer);
  const before = listFds();
  const seen = { accepted: 0, dropped: 0 };
  fc.assert(
    fc.property(sentArb, (s) => {
      const at = encodeHeader(
        view,
        s.kinds.map((kind) => ({ kind, rights: 0xffff_ffff })),
        s.payload,
      );
      view.setUint32(0, s.magic, true);
      view.setUint16(4, s.version, true);
      view.setUint32(12, s.reserved, true);
      out.data.fill(7, at, at + s.payload);
      const length = Math.max(0, at + s.payload + s.lengthDelta);
      const fds = s.fds.map(makeFd);
      assert.equal(out.send(raw, length, fds, 0), length, "sendmsg");
      for (const fd of fds) libc.close(fd);
      let got;
      try {
        got = channel.tryRead();
      } catch (e) {
        assert.ok(e instanceof ZxError, String(e));
        assert.equal(e.status, Status.BAD_STATE, e.message);
        assert.equal(accepted(s), false, `dropped a valid message: ${e.message}`);
        seen.dropped++;
        return;
      }
      assert.equal(accepted(s), true, "accepted an invalid message");
      seen.accepted++;
      assert.equal(got.bytes.length, s.payload);
      assert.equal(got.handles.length, s.fds.length);
      got.handles.forEach((h, i) => {
        if (s.fds[i] === "seqpacket") assert.ok(h instanceof Channel);
        else {
          assert.ok(h instanceof Vmo);
          assert.equal(h.readToArray(0, 1)[0], s.fds[i] === "memfd" ? 42 : 9);
        }
        h.close();
      });
    }),
    { numRuns: 400 },
  );
  assert.ok(seen.accepted > 20 && seen.dropped > 20, JSON.stringify(seen));
  assert.deepEqual([...listFds().keys()].sort(), [...before.keys()].sort(), "no fd leaked");
  channel.close();
  sys.close(raw);
  Deno.removeSync(tempPath);
  Deno.removeSync(socketDir, { recursive: true });
});
