/**
 * Two processes, a producer (this program) and a consumer (consumer.ts, which it spawns),
 * moving 4 KiB messages through a ring buffer in shared memory with futex wake-ups, beside the
 * same messages through a Unix stream socket between the same two processes. Every message is
 * stamped and checked on arrival. The producer copies each message into the ring; the consumer
 * reads it in place (`ring`: one copy in all, where the socket makes two), or copies it out
 * first (`ring-copy`: two copies, as the socket). The runs alternate and the medians are
 * compared.
 *
 * Run: `deno run --allow-ffi --allow-run --allow-net --allow-read --allow-write examples/ring/main.ts [--count N] [--rounds N]`
 * (Deno asks net, read and write permission for a Unix socket's path, and write for its
 * temp directory).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Mapping, spawn } from "../../mod.ts";
import { BATCH, MESSAGE, Ring, RING_BYTES, SLOTS, stamp } from "./ring.ts";
import type { RunReport, RunRequest } from "./consumer.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    count: { type: "string", default: "50000" },
    rounds: { type: "string", default: "5" },
  },
});
const COUNT = Number(values.count);
const ROUNDS = Number(values.rounds);

const [mapping, vmo] = Mapping.allocate(RING_BYTES);
const ring = new Ring(mapping);
const { child, channel } = spawn(Deno.execPath(), {
  args: [
    "run",
    "--quiet",
    "--allow-ffi",
    "--allow-env=VMO_CHANNEL_FD",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    new URL("./consumer.ts", import.meta.url).pathname,
  ],
  stdin: "null",
});
channel.write(new Uint8Array(0), [vmo]); // the VMO moves: this process keeps its mapping
const dir = await Deno.makeTempDir({ prefix: "vmo-ring-" });
const message = new Uint8Array(MESSAGE).map((_, i) => i & 0xff);
const view = new DataView(message.buffer);

type Via = "ring" | "ring-copy" | "socket";

async function run(kind: Via): Promise<{ ms: number; report: RunReport }> {
  const via = kind === "socket" ? "socket" : "ring";
  const request: RunRequest = { via, count: COUNT, copy: kind === "ring-copy" };
  let listener: Deno.UnixListener | undefined;
  if (via === "ring") ring.reset();
  else {
    request.socket = `${dir}/socket`;
    listener = Deno.listen({ transport: "unix", path: request.socket });
  }
  const reply = (async () => {
    const { bytes } = await channel.read();
    return JSON.parse(new TextDecoder().decode(bytes)) as RunReport;
  })();
  channel.write(new TextEncoder().encode(JSON.stringify(request)));
  let start: number;
  if (listener === undefined) {
    start = performance.now();
    for (let seq = 0; seq < COUNT;) {
      const n = Math.min(ring.free(seq), BATCH, COUNT - seq);
      if (n === 0) {
        await ring.waitFree(seq);
        continue;
      }
      for (let i = 0; i < n; i++, seq++) {
        stamp(view, seq);
        ring.put(seq, message);
      }
      ring.commit(seq);
    }
  } else {
    using conn = await listener.accept();
    start = performance.now();
    for (let seq = 0; seq < COUNT; seq++) {
      stamp(view, seq);
      for (let at = 0; at < MESSAGE;) at += await conn.write(message.subarray(at));
    }
  }
  const report = await reply;
  const ms = performance.now() - start;
  listener?.close(); // which removes the socket's path
  if (report.received !== COUNT || report.bad !== 0) {
    throw new Error(`${via}: ${report.received} of ${COUNT} messages, ${report.bad} bad`);
  }
  return { ms, report };
}

const rate = (ms: number) => COUNT * MESSAGE / (1024 * 1024) / (ms / 1000);
console.log(
  `producer pid ${Deno.pid}, consumer pid ${child.pid}: ${COUNT} messages of ${MESSAGE} B per ` +
    `run, ring of ${SLOTS} slots (${RING_BYTES / 1024} KiB VMO); ${ROUNDS} rounds, alternating`,
);
await run("ring"); // warm-up: both sides compile their loops
await run("ring-copy");
await run("socket");
const times = { ring: [] as number[], "ring-copy": [] as number[], socket: [] as number[] };
for (let round = 0; round < ROUNDS; round++) {
  for (const via of ["ring", "ring-copy", "socket"] as const) {
    const { ms } = await run(via);
    times[via].push(ms);
    console.log(
      `  round ${round + 1} ${via.padEnd(9)} ${ms.toFixed(1).padStart(7)} ms  ` +
        `${rate(ms).toFixed(0).padStart(5)} MiB/s  ${(COUNT / ms / 1000).toFixed(2)} M msg/s, ` +
        `all ${COUNT} stamps checked`,
    );
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ringMs = median(times.ring);
const copyMs = median(times["ring-copy"]);
const socketMs = median(times.socket);
const mibs = (ms: number) => `${rate(ms).toFixed(0)} MiB/s`;
const ratio = (ms: number) => `${(socketMs / ms).toFixed(1)}x`;
console.log(
  `median: ring ${mibs(ringMs)}, ring-copy ${mibs(copyMs)}, Unix socket ${mibs(socketMs)}: ` +
    `the ring is ${ratio(ringMs)} the socket, ${ratio(copyMs)} copying out (goal: at least 5x)`,
);
channel.close();
await child.status;
mapping.close();
await Deno.remove(dir, { recursive: true });
