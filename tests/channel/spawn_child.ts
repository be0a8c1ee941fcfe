/**
 * A child started by `spawn` (or, with the argument "baseline", by plain `Deno.Command`):
 * reports the fds it has, which of them are sockets, and whether the channel variable was
 * cleared; with a channel, answers its parent's message with it and a tag of its own.
 */

import { Channel } from "../../mod.ts";
import { listFds } from "../_support/proc.ts";

const fds = listFds();
const sockets = [...fds].filter(([, target]) => target.startsWith("socket:")).map(([fd]) => fd);
const report: Record<string, unknown> = { fds: [...fds.keys()], sockets };
if (Deno.args[0] !== "baseline") {
  const envFd = Number(Deno.env.get("VMO_CHANNEL_FD"));
  const channel = Channel.fromEnv();
  report.envFd = envFd;
  report.cleared = Deno.env.get("VMO_CHANNEL_FD") === undefined;
  const { bytes } = await channel.read();
  channel.write(new TextEncoder().encode(new TextDecoder().decode(bytes) + ":" + Deno.pid));
  channel.close();
}
console.log(JSON.stringify(report));
