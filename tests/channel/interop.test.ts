/**
 * The wire format (docs/channel.md) spoken by another language: a Python program, given the
 * socket by `spawn`, receives a VMO with `socket.recv_fds` and answers with a memfd sent with
 * `socket.send_fds`. Skips with a message when python3 is absent.
 */

import assert from "node:assert/strict";
import { Rights, spawn, Vmo } from "../../mod.ts";
import { haveProgram } from "../_support/mod.ts";

const python = haveProgram("python3");
if (!python) console.log("interop.test.ts: python3 not found, the Python interop test is skipped");

Deno.test({
  name: "interop: a Python peer receives a VMO and sends a memfd back",
  ignore: !python,
  fn: async () => {
    const script = new URL("./fixtures/peer.py", import.meta.url).pathname;
    const { child, channel } = spawn("python3", { args: [script], stderr: "piped" });
    const vmo = Vmo.create(4096);
    const text = new TextEncoder().encode("hello from deno");
    vmo.write(text, 0);
    channel.write(text, [vmo]);
    const reply = await channel.read();
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(new TextDecoder().decode(reply.bytes), "python:hello from deno");
    const got = reply.handles[0] as Vmo;
    assert.equal(got.rights, Rights.READ | Rights.WRITE | Rights.MAP | Rights.TRANSFER);
    assert.equal(new TextDecoder().decode(got.readToArray(0, 17)), "hello from python");
    got.close();
    channel.close();
  },
});
