/**
 * Channels against their raw equivalents (the futex ping-pong is bench/futex.bench.ts).
 *
 * Group `channel round trip, 64 B + 1 VMO` compares, in one process, a message of 64 bytes and
 * one VMO handle written on one end and read (`tryRead`) on the other, then sent back the same
 * way, with the raw equivalent (the baseline): `sendmsg` of 64 bytes and one fd with
 * `SCM_RIGHTS`, `close` of the sender's fd (a move), `recvmsg`, and back. The goal:
 * within 1.5x. Its interleaved group also times the raw loop with the three calls the
 * receiver needs to check a VMO fd (`F_GET_SEALS`, `fstat`, `F_GETFL`): the floor of any
 * receiver that checks what it is given; and with only the two of them a receiver needs to drop
 * a message, as it arrives, whose fd is not a memfd or cannot read (the size and identity that
 * `fstat` gives could wait for the handle's first use): the floor of any receiver that keeps
 * that contract.
 *
 * Run with `deno bench --allow-ffi --allow-read --allow-write bench/channel.bench.ts`.
 *
 * @module
 */

import { Channel, Vmo } from "../mod.ts";
import { lastErrno, libc } from "../ffi/libc.ts";
import process from "node:process";

const cleanups: (() => void)[] = [];
globalThis.addEventListener("unload", () => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

// ---- channel round trip --------------------------------------------------------------------

const [a, b] = Channel.createPair();
cleanups.push(() => (a.close(), b.close()));
const payload = new Uint8Array(64).fill(1);
let travelling: Vmo = Vmo.create(4096);

Deno.bench({
  name: "Channel write + tryRead, there and back",
  group: "channel round trip, 64 B + 1 VMO",
  fn: () => {
    a.write(payload, [travelling]);
    const there = b.tryRead();
    b.write(there.bytes, there.handles);
    travelling = a.tryRead().handles[0] as Vmo;
  },
});

/** A raw `msghdr` with one iovec of 64 bytes and room for one fd. */
function rawMessage() {
  const header = new Uint8Array(new ArrayBuffer(56));
  const iov = new Uint8Array(new ArrayBuffer(16));
  const data = new Uint8Array(new ArrayBuffer(64));
  const control = new Uint8Array(new ArrayBuffer(24));
  const addr = (u: Uint8Array<ArrayBuffer>) =>
    BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(u)));
  const hv = new DataView(header.buffer);
  const cv = new DataView(control.buffer);
  new DataView(iov.buffer).setBigUint64(0, addr(data), true);
  new DataView(iov.buffer).setBigUint64(8, 64n, true);
  hv.setBigUint64(16, addr(iov), true);
  hv.setBigUint64(24, 1n, true);
  hv.setBigUint64(32, addr(control), true);
  hv.setBigUint64(40, 24n, true);
  cv.setBigUint64(0, 20n, true); // CMSG_LEN(4)
  cv.setInt32(8, 1, true); // SOL_SOCKET
  cv.setInt32(12, 1, true); // SCM_RIGHTS
  // Every buffer is returned so that it stays alive: the header holds their raw addresses.
  return { header, hv, cv, iov, data, control };
}
const sendBuf = rawMessage();
const recvBuf = rawMessage();
const pair = new Int32Array(2);
libc.socketpair(1, 5 | 0o2000000, 0, new Uint8Array(pair.buffer));
cleanups.push(() => (libc.close(pair[0]), libc.close(pair[1])));
const memfd = libc.memfd_create(new TextEncoder().encode("bench\0"), 1);
let rawFd = memfd;

const statBuffer = new Uint8Array(144);

/**
 * One move of the raw baseline; with `checks` 3, also the three calls a channel's receiver makes
 * to check a received VMO fd (`F_GET_SEALS`, `fstat`, `F_GETFL`): the floor of what any
 * receiver that checks its fds can reach. With 2, only the two a receiver cannot do without if
 * it drops, when it receives them, an fd that is not a memfd and one that cannot read
 * (`F_GET_SEALS`, `F_GETFL`; the size and identity `fstat` gives left for later).
 */
function rawMove(from: number, to: number, checks: 0 | 2 | 3 = 0): void {
  sendBuf.cv.setInt32(16, rawFd, true);
  const sent = Number(libc.sendmsg(from, sendBuf.header, 0x40));
  if (sent !== 64) throw new Error(`sendmsg: ${sent} errno ${lastErrno()} fd ${rawFd}`);
  libc.close(rawFd);
  recvBuf.hv.setBigUint64(40, 24n, true);
  if (Number(libc.recvmsg(to, recvBuf.header, 0x40 | 0x4000_0000)) !== 64) {
    throw new Error("recvmsg");
  }
  rawFd = recvBuf.cv.getInt32(16, true);
  if (checks !== 0) {
    libc.fcntl(rawFd, 1034, 0); // F_GET_SEALS
    if (checks === 3) libc.fstat(rawFd, statBuffer);
    libc.fcntl(rawFd, 3, 0); // F_GETFL
  }
}

Deno.bench({
  name: "raw sendmsg + close + recvmsg, there and back",
  group: "channel round trip, 64 B + 1 VMO",
  baseline: true,
  fn: () => {
    rawMove(pair[0], pair[1]);
    rawMove(pair[1], pair[0]);
  },
});

/** One channel round trip: the `Deno.bench` above, as a function. */
function channelRoundTrip(): void {
  a.write(payload, [travelling]);
  const there = b.tryRead();
  b.write(there.bytes, there.handles);
  travelling = a.tryRead().handles[0] as Vmo;
}

function rawRoundTrip(): void {
  rawMove(pair[0], pair[1]);
  rawMove(pair[1], pair[0]);
}

function checkedRawRoundTrip(): void {
  rawMove(pair[0], pair[1], 3);
  rawMove(pair[1], pair[0], 3);
}

function leastCheckedRawRoundTrip(): void {
  rawMove(pair[0], pair[1], 2);
  rawMove(pair[1], pair[0], 2);
}

/**
 * Microseconds of CPU (user + system) per call of `f`, over `n` calls. CPU time, not wall
 * time: on a loaded machine the wall clock counts the time other processes ran.
 */
function cpuMicros(f: () => void, n: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

Deno.bench({
  name: "channel vs raw: 41 interleaved batches of 500 round trips, CPU time (figures logged)",
  group: "channel round trip, interleaved",
  n: 1,
  warmup: 0,
  fn: () => {
    const channel: number[] = [];
    const raw: number[] = [];
    const checked: number[] = [];
    const least: number[] = [];
    for (let i = 0; i < 5; i++) {
      cpuMicros(channelRoundTrip, 500);
      cpuMicros(rawRoundTrip, 500);
      cpuMicros(checkedRawRoundTrip, 500);
      cpuMicros(leastCheckedRawRoundTrip, 500);
    }
    for (let i = 0; i < 41; i++) {
      channel.push(cpuMicros(channelRoundTrip, 500));
      raw.push(cpuMicros(rawRoundTrip, 500));
      checked.push(cpuMicros(checkedRawRoundTrip, 500));
      least.push(cpuMicros(leastCheckedRawRoundTrip, 500));
    }
    const ratios = channel.map((c, i) => c / raw[i]);
    const floor = checked.map((c, i) => c / raw[i]);
    const leastFloor = least.map((c, i) => c / raw[i]);
    console.log(
      `channel round trip, 64 B + 1 VMO: ${median(channel).toFixed(2)} us CPU, raw ` +
        `${median(raw).toFixed(2)} us, median of per-batch ratios ${median(ratios).toFixed(2)}x ` +
        `(raw with the receiver's 3 fd checks: ${median(checked).toFixed(2)} us, ` +
        `${median(floor).toFixed(2)}x; with the 2 it cannot do without: ` +
        `${median(least).toFixed(2)} us, ${median(leastFloor).toFixed(2)}x)`,
    );
  },
});

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}
