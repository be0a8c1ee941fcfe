/**
 * The other side of the futex ping-pong: takes a VMO from its parent over the channel, maps
 * it, and answers each odd value of word 0 with the next even one, waking the parent.
 * Usage: pingpong_child.ts <rounds>
 */

import { Channel, futexWait, futexWake, Mapping, VmarFlags, type Vmo } from "../../mod.ts";

const rounds = Number(Deno.args[0]);
const channel = Channel.fromEnv();
const { handles } = await channel.read();
const vmo = handles[0] as Vmo;
const mapping = Mapping.createFromVmo(vmo, 4096, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
const word = mapping.int32View(0, 1);
for (let i = 0; i < rounds; i++) {
  // Wait for the parent's odd value 2i+1.
  while (Atomics.load(word, 0) === 2 * i) {
    await futexWait(mapping, 0, 2 * i).catch(() => {});
  }
  Atomics.store(word, 0, 2 * i + 2);
  futexWake(mapping, 0, 1);
}
mapping.close();
vmo.close();
channel.write(new TextEncoder().encode("done"));
channel.close();
