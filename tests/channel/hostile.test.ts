/**
 * A hostile peer process sends garbage headers, fds of the wrong kind (a directory, a pipe, an
 * eventfd, a stream socket), truncated control data and messages, then 10,000 messages as fast
 * as it can: the reader never crashes, never leaks an fd, and never hands out a bad handle.
 */

import assert from "node:assert/strict";
import { Channel, type ChannelMessage, Status, type Vmo, ZxError } from "../../mod.ts";
import { listFds, spawnDenoChild } from "../_support/mod.ts";

const BULK = 10_000;

async function next(channel: Channel): Promise<ChannelMessage | Status> {
  try {
    return await channel.read();
  } catch (e) {
    if (!(e instanceof ZxError)) throw e;
    return e.status;
  }
}

Deno.test("hostile peer: every bad message is dropped whole, good ones get through", async () => {
  // warm up the poller's eventfd
  const [x, y] = Channel.createPair();
  const warm = y.read().catch(() => {});
  x.close();
  await warm;
  y.close();
  const before = listFds();
  const { child, channel } = spawnDenoChild(
    new URL("./hostile_child.ts", import.meta.url),
    [String(BULK)],
    "null",
  );
  const expectDropped = async (what: string) => {
    const got = await next(channel);
    assert.equal(got, Status.BAD_STATE, `${what}: expected BAD_STATE, got ${JSON.stringify(got)}`);
  };
  for (
    const what of [
      "garbage bytes",
      "a directory as a VMO",
      "a pipe as a VMO",
      "an eventfd as a VMO",
      "a stream socket as a channel",
      "a memfd as a channel",
      "a seqpacket socket as a VMO",
      "2 records, 1 fd",
      "100 fds (MSG_CTRUNC)",
      "70,000 bytes (MSG_TRUNC)",
      "an empty message",
    ]
  ) await expectDropped(what);
  const good = await next(channel);
  assert.ok(typeof good === "object");
  assert.deepEqual([...good.bytes], [1, 2, 3]);
  const vmo = good.handles[0] as Vmo;
  assert.equal(vmo.readToArray(0, 1)[0], 77);
  vmo.close();
  for (
    const what of [
      "version 2",
      "a reserved field",
      "a wrong payload length",
      "a memfd and a directory",
      "an unknown kind",
    ]
  ) await expectDropped(what);
  let ok = 0;
  let dropped = 0;
  for (let i = 0; i < BULK; i++) {
    const got = await next(channel);
    if (i % 2 === 0) {
      assert.ok(typeof got === "object", `message ${i}: ${got}`);
      assert.equal(new DataView(got.bytes.buffer).getUint32(0, true), i);
      if (i % 4 !== 0) {
        const v = got.handles[0] as Vmo;
        assert.equal(v.readToArray(0, 1)[0], i & 0xff);
        v.close();
      }
      ok++;
    } else {
      assert.equal(got, Status.BAD_STATE, `message ${i}`);
      dropped++;
    }
  }
  assert.equal(ok, BULK / 2);
  assert.equal(dropped, BULK / 2);
  assert.equal(await next(channel), Status.PEER_CLOSED);
  const status = await child.status;
  const stderr = new TextDecoder().decode(
    (await child.stderr.getReader().read()).value ?? new Uint8Array(),
  );
  assert.equal(status.code, 0, stderr);
  channel.close();
  const after = listFds();
  const added = [...after].filter(([fd]) => !before.has(fd));
  assert.deepEqual(added, [], "no fd leaked");
});
