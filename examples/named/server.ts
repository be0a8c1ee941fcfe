/**
 * One of two unrelated programs that exchange VMOs through a named channel: this one listens
 * at a path, sends the first client that connects a read-only VMO holding a notice, and reads
 * the VMO the client sends back. Start it, then client.ts with the path it prints.
 *
 * Run: `deno run --allow-ffi --allow-write examples/named/server.ts [PATH]`
 * (`--allow-write` to make a temp directory for the socket when no PATH is given).
 *
 * @module
 */

import { Channel, Rights, Vmo } from "../../mod.ts";

const dir = Deno.args[0] === undefined ? await Deno.makeTempDir({ prefix: "vmo-named-" }) : null;
const path = Deno.args[0] ?? `${dir}/vmo.sock`;
const listener = Channel.listen(path);
console.log(`listening at ${path}`);
console.log(`  now run: deno run --allow-ffi examples/named/client.ts ${path}`);

using channel = await listener.accept();
listener.close(); // one client is all this example serves: the path is removed
if (dir !== null) await Deno.remove(dir);
const peer = channel.peerCredentials();
console.log(`a client connected: pid ${peer.pid}, uid ${peer.uid}`);

using notice = Vmo.create(64 * 1024);
notice.setName("notice");
const text = `hello pid ${peer.pid}, from pid ${Deno.pid}: this VMO is yours to read, not to write`;
notice.write(new TextEncoder().encode(text), 0);
// A duplicate without WRITE: the kernel, not just vmo, keeps the client from writing it.
const readOnly = notice.duplicate(
  Rights.BASIC | Rights.READ | Rights.MAP | Rights.GET_PROPERTY,
);
channel.write(new TextEncoder().encode(JSON.stringify({ length: text.length })), [readOnly]);
console.log(`sent a read-only VMO of ${notice.getSize()} B (koid ${notice.basicInfo().koid})`);

const reply = await channel.read();
const { length } = JSON.parse(new TextDecoder().decode(reply.bytes));
using answer = reply.handles[0] as Vmo;
console.log(
  `the client sent back a VMO of ${answer.getSize()} B: ` +
    `"${new TextDecoder().decode(answer.readToArray(0, length))}"`,
);
const still = new TextDecoder().decode(notice.readToArray(0, text.length)) === text;
console.log(`the notice is ${still ? "unchanged" : "CHANGED"}`);
