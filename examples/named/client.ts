/**
 * The other of two unrelated programs that exchange VMOs through a named channel: connects to
 * the path server.ts listens at, maps the read-only VMO it is sent, shows that writing it is
 * refused, and sends back a VMO of its own.
 *
 * Run: `deno run --allow-ffi examples/named/client.ts PATH`
 *
 * @module
 */

import { Channel, ImmutableMapping, statusName, Vmo, ZxError } from "../../mod.ts";

const path = Deno.args[0];
if (path === undefined) {
  console.error("usage: client.ts PATH (the path server.ts printed)");
  Deno.exit(2);
}
using channel = await Channel.connect(path);
const { bytes, handles } = await channel.read();
const { length } = JSON.parse(new TextDecoder().decode(bytes));
using notice = handles[0] as Vmo;
using view = ImmutableMapping.createFromVmo(notice);
const text = new Uint8Array(length);
view.readAt(0, text);
console.log(`connected to ${path}; the server's VMO (${notice.getSize()} B) says:`);
console.log(`  "${new TextDecoder().decode(text)}"`);
let refusal = "written (unexpected)";
try {
  notice.write(new TextEncoder().encode("graffiti"), 0);
} catch (error) {
  refusal = error instanceof ZxError ? statusName(error.status) : String(error);
}
console.log(`writing it: ${refusal}`);

const answer = Vmo.create(4096);
const reply = `thanks, from pid ${Deno.pid}`;
answer.write(new TextEncoder().encode(reply), 0);
channel.write(new TextEncoder().encode(JSON.stringify({ length: reply.length })), [answer]);
console.log("sent back a VMO of my own");
