/**
 * The peer of bench/futex.bench.ts's ping-pong: takes a VMO over the channel `spawn` gave it
 * and answers every positive odd value of word 0 with the next even one, until the word is -1.
 *
 * Word 1 holds a delay in nanoseconds: the peer busy-waits that long after it sees an odd
 * value before it answers (0: at once), so that the parent's wait outlasts its spin. When word
 * 0 is -2, the peer writes its CPU time so far (user + system, microseconds) as an int64 at
 * byte 8 and answers -3.
 *
 * @module
 */

import { Channel, futexWait, futexWake, Mapping, VmarFlags, type Vmo } from "../mod.ts";
import process from "node:process";

const channel = Channel.fromEnv();
const vmo = (await channel.read()).handles[0] as Vmo;
const mapping = Mapping.createFromVmo(vmo, 4096, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
const word = mapping.int32View(0, 2);
const cpu = mapping.bigInt64View(8, 1);
for (;;) {
  const value = Atomics.load(word, 0);
  if (value === -1) break;
  if (value === -2) {
    const used = process.cpuUsage();
    Atomics.store(cpu, 0, BigInt(used.user + used.system));
    Atomics.store(word, 0, -3);
    futexWake(mapping, 0, 1);
    continue;
  }
  if (value > 0 && (value & 1) === 1) {
    const delayNs = Atomics.load(word, 1);
    if (delayNs > 0) {
      const until = performance.now() + delayNs / 1e6;
      while (performance.now() < until) {
        // busy: the answer must come late, not the CPU be given away
      }
    }
    Atomics.store(word, 0, value + 1);
    futexWake(mapping, 0, 1);
    continue;
  }
  await futexWait(mapping, 0, value).catch(() => {});
}
mapping.close();
vmo.close();
channel.close();
