/**
 * `spawn` and `Channel.fromEnv`: the child inherits exactly one extra fd, its own channel end;
 * two children spawned at once each get their own; `fromEnv` validates the fd and clears the
 * variable.
 */

import assert from "node:assert/strict";
import { bindListen, seqpacketSocket } from "../../ffi/socket.ts";
import { Channel, spawn, Status } from "../../mod.ts";
import { assertStatus, libc, listFds } from "../_support/mod.ts";

const script = new URL("./spawn_child.ts", import.meta.url).pathname;
const flags = ["run", "--quiet", "--allow-ffi", "--allow-env", "--allow-read"];

interface Report {
  fds: number[];
  sockets: number[];
  envFd?: number;
  cleared?: boolean;
}

async function stdoutOf(child: Deno.ChildProcess): Promise<Report> {
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("spawn: each child inherits exactly its own channel end", async () => {
  const baseline = await stdoutOf(
    new Deno.Command(Deno.execPath(), {
      args: [...flags, script, "baseline"],
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  // Fds this process holds that a careless spawn would leak: other channels, a memfd.
  const [x, y] = Channel.createPair();
  const memfd = libc.memfd("spawn-test");
  const opts: Deno.CommandOptions = {
    args: [...flags, script],
    stdout: "piped",
    stderr: "piped",
  };
  const first = spawn(Deno.execPath(), opts);
  const second = spawn(Deno.execPath(), opts);
  first.channel.write(new TextEncoder().encode("first"));
  second.channel.write(new TextEncoder().encode("second"));
  const [r1, r2] = await Promise.all([stdoutOf(first.child), stdoutOf(second.child)]);
  const [m1, m2] = await Promise.all([first.channel.read(), second.channel.read()]);
  assert.equal(new TextDecoder().decode(m1.bytes), `first:${first.child.pid}`);
  assert.equal(new TextDecoder().decode(m2.bytes), `second:${second.child.pid}`);
  for (const r of [r1, r2]) {
    assert.equal(r.fds.length, baseline.fds.length + 1, `fds ${r.fds} vs ${baseline.fds}`);
    assert.deepEqual(r.sockets.filter((fd) => !baseline.sockets.includes(fd)), [r.envFd]);
    assert.equal(r.cleared, true, "fromEnv clears the variable");
  }
  // the parent closed its copies of the children's ends
  const sockets = [...listFds().values()].filter((t) => t.startsWith("socket:"));
  first.channel.close();
  second.channel.close();
  const after = [...listFds().values()].filter((t) => t.startsWith("socket:"));
  assert.equal(sockets.length - after.length, 2);
  x.close();
  y.close();
  libc.close(memfd);
});

Deno.test("spawn: a command that cannot start closes both ends", () => {
  const before = listFds().size;
  assert.throws(() => spawn("/nonexistent/command", {}), Deno.errors.NotFound);
  assert.equal(listFds().size, before);
  assertStatus(() => spawn("true", { env: { VMO_CHANNEL_FD: "3" } }), Status.INVALID_ARGS);
  assertStatus(() => spawn("true", null as unknown as object), Status.INVALID_ARGS);
});

Deno.test("fromEnv: validates the fd and clears the variable", () => {
  const name = "VMO_TEST_CHANNEL_FD";
  Deno.env.delete(name);
  assertStatus(() => Channel.fromEnv(name), Status.NOT_FOUND);
  const [r, w] = libc.pipe();
  for (const value of [String(r), "-1", "abc", "99999", ""]) {
    Deno.env.set(name, value);
    assertStatus(() => Channel.fromEnv(name), Status.BAD_HANDLE, `"${value}"`);
    assert.equal(Deno.env.get(name), undefined);
  }
  libc.close(r);
  libc.close(w);
  // a listening seqpacket socket is no channel end
  const listening = seqpacketSocket();
  const path = new TextEncoder().encode(Deno.makeTempDirSync() + "/l.sock");
  assert.equal(bindListen(listening, path, 1), 0);
  Deno.env.set(name, String(listening));
  assertStatus(() => Channel.fromEnv(name), Status.BAD_HANDLE, "a listening socket");
  libc.close(listening);
  // a real seqpacket socket is taken
  const [a, b] = Channel.createPair();
  const fd = Channel.socketFdOf(b);
  // hand the fd number over as spawn would, with a duplicate the channel then owns
  const dup = libc.fcntl(fd, 1030, /* F_DUPFD_CLOEXEC */ 0);
  Deno.env.set(name, String(dup));
  const c = Channel.fromEnv(name);
  a.write(new Uint8Array([6]));
  assert.equal(c.tryRead().bytes[0], 6);
  for (const h of [a, b, c]) h.close();
});
