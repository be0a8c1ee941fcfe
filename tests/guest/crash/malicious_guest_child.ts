/**
 * A malicious guest for `tests/guest/malicious_guest.test.ts`: it reaches the host's VMO
 * through `/proc/<pid>/fd/<n>` (args: host pid, fd, duration in ms), maps it with
 * `GuestSharedMemory.map`, tries to shrink it (the VMO is sealed: EPERM), then, until the host
 * writes the stop word (`0x57095709` in the last 4 bytes) or the given time (ms) runs out,
 * rewrites the header the host reads (a u64 offset at 0 and a u32 length at 8) with a mix of
 * valid and hostile values, and scribbles over the rest of the buffer.
 *
 * @module
 */

import { GuestSharedMemory } from "../../../mod.ts";
import { adoptFd, openPeerFd, truncate } from "../helpers.ts";

const [pid, fd, ms] = Deno.args.map(Number);
const raw = openPeerFd(pid, fd);
const shrinkErrno = truncate(raw, 0);
const vmo = adoptFd(raw);
const guest = GuestSharedMemory.map(vmo);
const buf = guest.buffer();
const size = guest.memSize();
const hostile = [
  2n ** 64n - 1n,
  2n ** 63n,
  BigInt(Number.MAX_SAFE_INTEGER),
  BigInt(size),
  BigInt(size - 1),
  BigInt(size - 8),
  0n,
  4096n,
];
const lens = [0xffff_ffff, size, size + 1, 1, 0, 8, 4096, 0x8000_0000];
let x = 12345;
const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
console.log("READY");
const until = Date.now() + ms;
let writes = 0;
const junk = new Uint8Array(256);
buf.writeU32(size - 4, 0);
while (Date.now() < until && buf.readU32(size - 4) !== 0x57095709) {
  buf.writeU64(0, hostile[next() % hostile.length]);
  buf.writeU32(8, lens[next() % lens.length]);
  for (let i = 0; i < junk.length; i++) junk[i] = next() & 0xff;
  buf.writeAt(16 + (next() % (size - 32 - junk.length)), junk);
  writes++;
}
console.log(`RESULT ${JSON.stringify({ shrinkErrno, writes, size })}`);
guest.close();
vmo.close();
