/**
 * The receiving side of the Python hostile peer (fixtures/hostile_peer.py): spawns it, reads
 * each of its messages, tries what a program would do with what arrived (read, map, view,
 * forward), acknowledges, and prints one JSON report: each step's outcome, and the fds this
 * process gained over the whole run (none may leak). Its exit code is asserted by
 * tests/channel/hostile_py.test.ts: a fault is 139.
 */

import {
  Channel,
  type ChannelMessage,
  Mapping,
  Rights,
  spawn,
  Status,
  VmarFlags,
  type Vmo,
  ZxError,
} from "../../mod.ts";
import { listFds } from "../_support/proc.ts";
import { SO_TYPE, socketOptionInt } from "../../ffi/socket.ts";

const SOCK_STREAM = 1;

type Outcome = string | Record<string, unknown>;
const report: { steps: Outcome[]; leaked: string[] } = { steps: [], leaked: [] };
const RO = Rights.READ | Rights.MAP | Rights.TRANSFER;

function statusOf(error: unknown): string {
  if (error instanceof ZxError) {
    return Object.entries(Status).find(([, v]) => v === error.status)?.[0] ?? `${error.status}`;
  }
  throw error;
}
function attempt(f: () => unknown): unknown {
  try {
    return f() ?? "ok";
  } catch (error) {
    return statusOf(error);
  }
}
async function next(channel: Channel): Promise<ChannelMessage | string> {
  try {
    return await channel.read();
  } catch (error) {
    return statusOf(error);
  }
}

/** What a receiver would do with a VMO: read it, map it and read the mapping, forward it. */
function exercise(vmo: Vmo, at: number): Record<string, unknown> {
  const out: Record<string, unknown> = { rights: vmo.rights, size: attempt(() => vmo.getSize()) };
  out.read = attempt(() => vmo.readToArray(at, 1)[0]);
  out.write = attempt(() => vmo.write(new Uint8Array([1]), 0));
  out.map = attempt(() => {
    const m = Mapping.createFromVmo(vmo, vmo.getSize(), VmarFlags.PERM_READ);
    try {
      return attempt(() => m.readU8(at));
    } finally {
      m.close();
    }
  });
  // Forwarding read-only through a channel of this process, as a proxy would.
  out.forward = attempt(() => {
    const [a, b] = Channel.createPair();
    try {
      const copy = vmo.duplicate(vmo.rights & (RO | Rights.DUPLICATE));
      const readOnly = copy.replace(copy.rights & RO);
      try {
        a.write(new Uint8Array(0), [readOnly]);
      } catch (error) {
        readOnly.close();
        throw error;
      }
      const got = b.tryRead().handles[0] as Vmo;
      try {
        return got.readToArray(at, 1)[0];
      } finally {
        got.close();
      }
    } finally {
      a.close();
      b.close();
    }
  });
  return out;
}

const warm = Channel.createPair();
const pending = warm[1].read().catch(() => {});
warm[0].close();
await pending;
warm[1].close();
const before = listFds();

const { child, channel } = spawn("python3", {
  args: [new URL("./fixtures/hostile_peer.py", import.meta.url).pathname],
  stdout: "null",
  stderr: "piped",
});
let peerGone = false;
const ack = () => {
  try {
    channel.write(new Uint8Array([1]));
  } catch (error) {
    report.steps.push(`ack: ${statusOf(error)}`);
    peerGone = true;
  }
};
const STEPS = 27;
for (let step = 1; step <= STEPS && !peerGone; step++) {
  const got = await next(channel);
  if (typeof got === "string") {
    report.steps.push(got);
    if (got === "PEER_CLOSED") break;
    ack();
    continue;
  }
  const handles = got.handles;
  const outcome: Record<string, unknown> = { bytes: got.bytes.length, handles: handles.length };
  if (step === 8) {
    // Read it once whole, then let the peer cut it, then try again.
    const vmo = handles[0] as Vmo;
    outcome.before = exercise(vmo, 0);
    ack();
    const cut = await next(channel);
    outcome.cut = typeof cut === "string" ? cut : new TextDecoder().decode(cut.bytes);
    outcome.after = exercise(vmo, 4096);
    outcome.afterAt0 = exercise(vmo, 0);
  } else if (step === 27) {
    const inner = handles[0] as Channel;
    ack(); // the peer writes on the other end of `inner` after this
    const first = await next(inner);
    outcome.inner = typeof first === "string" ? first : new TextDecoder().decode(first.bytes);
    outcome.innerThen = await next(inner);
  } else {
    const at = step === 4 ? 1 << 19 : 0;
    outcome.vmos = handles.map((h) =>
      h instanceof Channel
        ? { channel: attempt(() => h.tryRead()), write: attempt(() => h.write(new Uint8Array(1))) }
        : exercise(h, at)
    );
  }
  for (const h of handles) h.close();
  report.steps.push(outcome);
  if (step !== 27) ack();
}
// After the peer is gone: every read says so, again and again.
const outcome = async () => {
  const got = await next(channel);
  return typeof got === "string" ? got : "a message";
};
report.steps.push(await outcome());
report.steps.push(attempt(() => channel.tryRead()) as string);
report.steps.push(await outcome());
const status = await child.status;
const stderr = new TextDecoder().decode(
  (await child.stderr.getReader().read()).value ?? new Uint8Array(),
);
report.steps.push({ peerExit: status.code, stderr: stderr.slice(-2000) });
channel.close();
// The runtime opens a SOCK_STREAM socketpair of its own around its first child process, at a
// moment that varies from run to run, and keeps it; vmo makes only SOCK_SEQPACKET sockets.
const runtimeOwn = (fd: number, to: string) =>
  to.startsWith("socket:") && socketOptionInt(fd, SO_TYPE) === SOCK_STREAM;
report.leaked = [...listFds()]
  .filter(([fd, to]) => !before.has(fd) && !runtimeOwn(fd, to))
  .map(([fd, to]) => `${fd} ${to}`);
console.log(JSON.stringify(report));
