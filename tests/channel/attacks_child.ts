/**
 * Attacks on pending reads, each in its own process so that the parent
 * (tests/channel/attacks.test.ts) can assert how the process ended: that it exits when it
 * should (no pending read holds it), by itself or by `Deno.exit`, with no fd leaked. Usage:
 * attacks_child.ts <mode>; prints one JSON line unless the mode ends the process otherwise.
 */

import { Channel, Status, ZxError } from "../../mod.ts";
import { listFds } from "../_support/proc.ts";
import { pollerState } from "../../src/channel/poller.ts";

function statusName(error: unknown): string {
  if (!(error instanceof ZxError)) return `not a ZxError: ${error}`;
  return Object.entries(Status).find(([, v]) => v === error.status)?.[0] ?? `${error.status}`;
}
const settle = (p: Promise<unknown>) => p.then(() => "resolved", statusName);

// Warm the poller's eventfd, which lives as long as the process.
{
  const [a, b] = Channel.createPair();
  const read = b.read().catch(() => {});
  a.close();
  await read;
  b.close();
}
const before = listFds();
const leaked = () =>
  [...listFds()].filter(([fd]) => !before.has(fd)).map(([fd, to]) => `${fd} ${to}`);

switch (Deno.args[0]) {
  case "exit-pending": {
    // A read pending on an open channel, and the program calls Deno.exit.
    const [, b] = Channel.createPair();
    b.read().catch(() => {});
    setTimeout(() => Deno.exit(3), 50);
    break;
  }
  case "throw-pending": {
    // A read pending on an open channel, and an uncaught error.
    const [, b] = Channel.createPair();
    b.read().catch(() => {});
    setTimeout(() => {
      throw new Error("uncaught on purpose");
    }, 50);
    break;
  }
  case "gc-peer": {
    // The peer's only reference is dropped: its finalizer closes it, and the pending read
    // ends with PEER_CLOSED, so the process exits by itself.
    let [a, b]: (Channel | null)[] = Channel.createPair();
    const read = settle(b!.read());
    a = null;
    b = null;
    for (let i = 0; i < 20 && pollerState().waiters > 0; i++) {
      (globalThis as unknown as { gc(): void }).gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    const outcome = await read;
    // Then b, unreachable once its read settled, is collected and closed too.
    for (let i = 0; i < 20 && leaked().length > 0; i++) {
      (globalThis as unknown as { gc(): void }).gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    console.log(JSON.stringify({ a, b, read: outcome, leaked: leaked() }));
    break;
  }
  case "close-100": {
    // 100 channels with a read pending each; all closed at once.
    const pairs = Array.from({ length: 100 }, () => Channel.createPair());
    const reads = pairs.map(([, b]) => settle(b.read()));
    await new Promise((r) => setTimeout(r, 20));
    const waiting = pollerState().waiters;
    for (const [a, b] of pairs) {
      b.close();
      a.close();
    }
    const outcomes = [...new Set(await Promise.all(reads))];
    console.log(JSON.stringify({ waiting, outcomes, poller: pollerState(), leaked: leaked() }));
    break;
  }
  case "peer-close-100": {
    // 100 channels with a read pending each; all peers closed at once.
    const pairs = Array.from({ length: 100 }, () => Channel.createPair());
    const reads = pairs.map(([, b]) => settle(b.read()));
    await new Promise((r) => setTimeout(r, 20));
    for (const [a] of pairs) a.close();
    const outcomes = [...new Set(await Promise.all(reads))];
    for (const [, b] of pairs) b.close();
    console.log(JSON.stringify({ outcomes, poller: pollerState(), leaked: leaked() }));
    break;
  }
  case "peer-into-channel": {
    // The peer end written into its own channel: allowed (as in Zircon); the message holds
    // the peer's socket, so this end sees no PEER_CLOSED; closing it frees everything.
    const [a, b] = Channel.createPair();
    a.write(new Uint8Array([1]), [b]);
    const moved = !b.isValid;
    let tried: string;
    try {
      a.tryRead();
      tried = "message";
    } catch (error) {
      tried = statusName(error);
    }
    a.close();
    // The kernel's garbage collector of in-flight sockets runs on a close: give it a moment.
    await new Promise((r) => setTimeout(r, 50));
    console.log(JSON.stringify({ moved, tried, leaked: leaked() }));
    break;
  }
}
