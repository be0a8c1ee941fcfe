/**
 * An unrelated process: connects to the listener at the path it is given, sends a VMO holding
 * its pid, and waits for the answer. Usage: connect_child.ts <path>
 */

import { Channel, Vmo } from "../../mod.ts";

const channel = await Channel.connect(Deno.args[0]);
const vmo = Vmo.create(4096);
vmo.write(new TextEncoder().encode(String(Deno.pid)), 0);
channel.write(new TextEncoder().encode("hello"), [vmo]);
const reply = await channel.read();
console.log(new TextDecoder().decode(reply.bytes), channel.peerCredentials().pid);
channel.close();
