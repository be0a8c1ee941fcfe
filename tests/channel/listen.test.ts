/**
 * `Channel.listen` / `Channel.connect` between processes that did not spawn each other, and
 * `peerCredentials` (`SO_PEERCRED`).
 */

import assert from "node:assert/strict";
import { Channel, Status, type Vmo, ZxError } from "../../mod.ts";
import { assertStatus } from "../_support/mod.ts";

function tempPath(): string {
  return Deno.makeTempDirSync({ prefix: "vmo-chan-" }) + "/s.sock";
}

async function rejectsWith(promise: Promise<unknown>, status: Status): Promise<void> {
  await assert.rejects(promise, (e) => e instanceof ZxError && e.status === status);
}

Deno.test("listen/connect: a VMO crosses between unrelated processes", async () => {
  const path = tempPath();
  using listener = Channel.listen(path);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-ffi",
      new URL("./connect_child.ts", import.meta.url).pathname,
      path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const server = await listener.accept();
  const creds = server.peerCredentials();
  assert.equal(creds.pid, child.pid, "SO_PEERCRED names the connecting process");
  const ids = Deno.dlopen("libc.so.6", {
    getuid: { parameters: [], result: "u32" },
    getgid: { parameters: [], result: "u32" },
  });
  assert.equal(creds.uid, ids.symbols.getuid());
  assert.equal(creds.gid, ids.symbols.getgid());
  ids.close();
  const msg = await server.read();
  assert.equal(new TextDecoder().decode(msg.bytes), "hello");
  const vmo = msg.handles[0] as Vmo;
  assert.equal(
    new TextDecoder().decode(vmo.readToArray(0, String(child.pid).length)),
    String(child.pid),
  );
  vmo.close();
  server.write(new TextEncoder().encode("bye"));
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout).trim(), `bye ${Deno.pid}`);
  server.close();
});

Deno.test("listen/connect: statuses", async (t) => {
  await t.step("ALREADY_EXISTS for a path in use; close removes the file", () => {
    const path = tempPath();
    const listener = Channel.listen(path);
    assertStatus(() => Channel.listen(path), Status.ALREADY_EXISTS);
    listener.close();
    listener.close();
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
    Channel.listen(path).close();
  });
  await t.step("INVALID_ARGS for bad paths", () => {
    for (const bad of ["", "a\0b", "/tmp/" + "x".repeat(200), 42 as unknown as string]) {
      assertStatus(() => Channel.listen(bad), Status.INVALID_ARGS);
    }
  });
  await t.step(
    "NOT_FOUND with nothing at the path, PEER_CLOSED with no one listening",
    async () => {
      const path = tempPath();
      await rejectsWith(Channel.connect(path), Status.NOT_FOUND);
      await rejectsWith(Channel.connect(""), Status.INVALID_ARGS);
      // a socket file whose listener is gone (its fd closed, the file kept)
      const listener = Channel.listen(path);
      const keep = path + ".kept";
      Deno.renameSync(path, keep);
      listener.close();
      await rejectsWith(Channel.connect(keep), Status.PEER_CLOSED);
      Deno.removeSync(keep);
    },
  );
  await t.step("accept after close is BAD_HANDLE; a pending accept is CANCELED", async () => {
    const listener = Channel.listen(tempPath());
    const pending = listener.accept();
    listener.close();
    await rejectsWith(pending, Status.CANCELED);
    await rejectsWith(listener.accept(), Status.BAD_HANDLE);
  });
  await t.step("many clients at once are each accepted", async () => {
    const path = tempPath();
    using listener = Channel.listen(path);
    const clients = await Promise.all(Array.from({ length: 20 }, () => Channel.connect(path)));
    const servers = await Promise.all(clients.map(() => listener.accept()));
    clients.forEach((c, i) => c.write(new Uint8Array([i])));
    const got = servers.map((s) => s.tryRead().bytes[0]).sort((a, b) => a - b);
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));
    for (const c of [...clients, ...servers]) c.close();
  });
});
