/**
 * The consumer of examples/ring/ (main.ts starts it with a channel): maps the ring VMO it is
 * sent, and for each run the producer asks for, receives the messages through the ring or
 * through a Unix socket, checks every message's stamp, and replies with what it saw.
 *
 * Run by main.ts: `deno run --allow-ffi --allow-env=VMO_CHANNEL_FD --allow-net --allow-read --allow-write examples/ring/consumer.ts`
 *
 * @module
 */

import { Channel, Mapping, Status, VmarFlags, type Vmo, ZxError } from "../../mod.ts";
import { BATCH, MESSAGE, Ring, RING_BYTES, stamped } from "./ring.ts";

/** What the producer asks for. */
export type RunRequest = {
  via: "ring" | "socket";
  count: number;
  /** Ring only: copy each message out (as a socket does) instead of reading it in place. */
  copy?: boolean;
  socket?: string;
};
/** What the consumer answers: messages seen, how many had a wrong stamp, its own time. */
export type RunReport = { received: number; bad: number; ms: number };

using channel = Channel.fromEnv();
const first = await channel.read();
const vmo = first.handles[0] as Vmo;
using mapping = Mapping.createFromVmo(vmo, RING_BYTES, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
vmo.close();
const ring = new Ring(mapping);
const message = new Uint8Array(MESSAGE);

async function viaRing(count: number, copy: boolean): Promise<RunReport> {
  const start = performance.now();
  let bad = 0;
  for (let seq = 0; seq < count;) {
    const n = Math.min(ring.ready(seq), BATCH);
    if (n === 0) {
      await ring.waitReady(seq);
      continue;
    }
    for (let i = 0; i < n; i++, seq++) {
      if (copy) {
        ring.take(seq, message);
        if (!stamped(message, seq)) bad++;
      } else if (!ring.stampedInPlace(seq)) bad++;
    }
    ring.release(seq);
  }
  return { received: count, bad, ms: performance.now() - start };
}

async function viaSocket(count: number, path: string): Promise<RunReport> {
  using conn = await Deno.connect({ transport: "unix", path });
  const start = performance.now();
  const buffer = new Uint8Array(256 * 1024);
  let bad = 0;
  let filled = 0;
  let seq = 0;
  while (seq < count) {
    const n = await conn.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
    let at = 0;
    for (; filled - at >= MESSAGE; at += MESSAGE, seq++) {
      if (!stamped(buffer.subarray(at, at + MESSAGE), seq)) bad++;
    }
    buffer.copyWithin(0, at, filled);
    filled -= at;
  }
  return { received: seq, bad, ms: performance.now() - start };
}

for (;;) {
  let request: RunRequest;
  try {
    request = JSON.parse(new TextDecoder().decode((await channel.read()).bytes));
  } catch (error) {
    if (error instanceof ZxError && error.status === Status.PEER_CLOSED) break;
    throw error;
  }
  const report = request.via === "ring"
    ? await viaRing(request.count, request.copy ?? false)
    : await viaSocket(request.count, request.socket!);
  channel.write(new TextEncoder().encode(JSON.stringify(report)));
}
