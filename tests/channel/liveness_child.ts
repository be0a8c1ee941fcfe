/**
 * Pending waits and the event loop. Usage: liveness_child.ts <case>
 * - "closed-read": a read is pending, the channel is closed: the process must exit by itself.
 * - "closed-accept": an accept is pending, the listener is closed: likewise.
 * - "open-read": a read is pending on an open channel whose peer writes after 300 ms from an
 *   unref'd timer: the read must keep the process alive, and it prints the byte.
 * - "unreachable-read" (run with --expose-gc): the only reference to the channel is the pending
 *   read; a garbage collection must not close it (its finalizer would cancel the read).
 */

import { Channel } from "../../mod.ts";

const which = Deno.args[0];
if (which === "closed-read") {
  const [a, b] = Channel.createPair();
  b.read().catch((e) => console.log(e.message));
  setTimeout(() => {
    b.close();
    a.close();
  }, 50);
} else if (which === "closed-accept") {
  const path = Deno.makeTempDirSync() + "/l.sock";
  const listener = Channel.listen(path);
  listener.accept().catch((e) => console.log(e.message));
  setTimeout(() => listener.close(), 50);
} else if (which === "open-read") {
  const [a, b] = Channel.createPair();
  b.read().then((m) => {
    console.log("got", m.bytes[0]);
    a.close();
    b.close();
  });
  // An unref'd timer does not hold the process: the pending read must.
  const t = setTimeout(() => a.write(new Uint8Array([7])), 300);
  Deno.unrefTimer(t);
} else if (which === "unreachable-read") {
  const pair: Channel[] = Channel.createPair();
  const a = pair[0];
  const pending = pair.pop()!.read();
  pair.length = 0;
  setTimeout(() => {
    (globalThis as unknown as { gc(): void }).gc();
    setTimeout(() => a.write(new Uint8Array([5])), 50);
  }, 50);
  pending.then((m) => console.log("got", m.bytes[0]), (e) => console.log(String(e)))
    .finally(() => a.close());
}
