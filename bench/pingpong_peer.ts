/**
 * The peer of bench/channel.bench.ts's futex ping-pong: takes a VMO over the channel `spawn`
 * gave it, and answers every odd value of word 0 with the next even one until the word is -1.
 *
 * @module
 */

import { Channel, futexWait, futexWake, Mapping, VmarFlags, type Vmo } from "../mod.ts";

const channel = Channel.fromEnv();
const vmo = (await channel.read()).handles[0] as Vmo;
const mapping = Mapping.createFromVmo(vmo, 4096, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
const word = mapping.int32View(0, 1);
for (;;) {
  const value = Atomics.load(word, 0);
  if (value === -1) break;
  if ((value & 1) === 1) {
    Atomics.store(word, 0, value + 1);
    futexWake(mapping, 0, 1);
    continue;
  }
  await futexWait(mapping, 0, value).catch(() => {});
}
mapping.close();
vmo.close();
channel.close();
