/**
 * A hostile peer: takes the raw socket its parent passed (without Channel.fromEnv) and sends,
 * with plain sendmsg, the script below, then `bulk` messages as fast as it can, alternating a
 * valid message (with a memfd on odd ones) and a garbage one. Usage: hostile_child.ts <bulk>
 */

import { MessageBuffers } from "../../ffi/socket.ts";
import { encodeHeader, HandleKind } from "../../src/channel/format.ts";

const c = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
}).symbols;
const O_CLOEXEC = 0o2000000;
const O_DIRECTORY = 0o200000;

const fd = Number(Deno.env.get("VMO_CHANNEL_FD"));
const bulk = Number(Deno.args[0]);
const out = new MessageBuffers(80_000, 128);
const view = new DataView(out.data.buffer);

function send(length: number, fds: number[]): void {
  const n = out.send(fd, length, fds, 0x4000 /* MSG_NOSIGNAL */);
  if (n < 0) throw new Error(`sendmsg failed: errno ${-n}`);
  for (const f of fds) c.close(f);
}
function header(kinds: number[], payload: number): number {
  return encodeHeader(view, kinds.map((kind) => ({ kind, rights: 0xffff_ffff })), payload);
}
function memfd(byte: number): number {
  const m = c.memfd_create(new TextEncoder().encode("hostile\0"), 1);
  c.ftruncate(m, 4096n);
  c.pwrite(m, new Uint8Array([byte]), 1n, 0n);
  return m;
}
const dir = () => c.open(new TextEncoder().encode("/tmp\0"), O_DIRECTORY | O_CLOEXEC, 0);
function pipe(): number {
  const fds = new Int32Array(2);
  c.pipe2(new Uint8Array(fds.buffer), O_CLOEXEC);
  c.close(fds[1]);
  return fds[0];
}
const VMO = HandleKind.VMO;
const CHANNEL = HandleKind.CHANNEL;

// 1. garbage bytes
out.data.set(crypto.getRandomValues(new Uint8Array(100)));
send(100, []);
// 2-7. fds that are not what their record says
send(header([VMO], 0), [dir()]);
send(header([VMO], 0), [pipe()]);
send(header([VMO], 0), [c.eventfd(0, O_CLOEXEC)]);
send(header([CHANNEL], 0), [c.socket(1, 1, /* SOCK_STREAM */ 0)]);
send(header([CHANNEL], 0), [memfd(1)]);
send(header([VMO], 0), [c.socket(1, 5, /* SOCK_SEQPACKET */ 0)]);
// 8. the header names 2 handles, 1 fd comes
send(header([VMO, VMO], 0), [memfd(1)]);
// 9. 100 fds: more than the reader's control buffer holds (MSG_CTRUNC)
send(header([], 0), Array.from({ length: 100 }, () => memfd(1)));
// 10. longer than any message (MSG_TRUNC)
send(70_000, []);
// 11. an empty message
send(0, []);
// 12. a valid message with a memfd
const at = header([VMO], 3);
out.data.set([1, 2, 3], at);
send(at + 3, [memfd(77)]);
// 13-15. a bad version, a reserved field, a wrong payload length
header([], 0);
view.setUint16(4, 2, true);
send(16, []);
header([], 0);
view.setUint32(12, 1, true);
send(16, []);
header([], 5);
send(16 + 4, []);
// 16. a good memfd and then a directory: dropped whole
send(header([VMO, VMO], 0), [memfd(1), dir()]);
// 17. an unknown kind
send(header([3], 0), [memfd(1)]);
// bulk
for (let i = 0; i < bulk; i++) {
  if (i % 2 === 0) {
    const at = header(i % 4 === 0 ? [] : [VMO], 4);
    view.setUint32(at, i, true);
    send(at + 4, i % 4 === 0 ? [] : [memfd(i & 0xff)]);
  } else {
    out.data.set(crypto.getRandomValues(new Uint8Array(24)));
    send(24, i % 3 === 0 ? [pipe()] : []);
  }
}
c.close(fd);
