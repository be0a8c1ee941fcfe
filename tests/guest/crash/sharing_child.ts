/**
 * The other process of the sharing round trip (`tests/guest/guest_memory.test.ts`): for each
 * region it is given (args: host pid, then `fd:fileOffset:size` per region), it reaches the VMO
 * through `/proc/<pid>/fd/<fd>`, maps it, reports the sum and first byte of the region's bytes
 * and writes `0xee` at the region's last byte, which the host then reads.
 *
 * @module
 */

import { PAGE_SIZE, SharedBuffer, Vmar, VmarFlags } from "../../../mod.ts";
import { adoptFd, openPeerFd } from "../helpers.ts";

const pid = Number(Deno.args[0]);
const seen: { first: number; sum: number }[] = [];
const root = Vmar.root();
for (const spec of Deno.args.slice(1)) {
  const [fd, offset, size] = spec.split(":").map(Number);
  using vmo = adoptFd(openPeerFd(pid, fd));
  const start = Math.floor(offset / PAGE_SIZE) * PAGE_SIZE;
  const len = Math.ceil((offset - start + size) / PAGE_SIZE) * PAGE_SIZE;
  const addr = root.map(0, vmo, start, len, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
  const buf = SharedBuffer.fromRange(root, addr + offset - start, size);
  const bytes = new Uint8Array(size);
  buf.readAt(0, bytes);
  seen.push({ first: bytes[0], sum: bytes.reduce((a, b) => a + b, 0) });
  buf.writeU8(size - 1, 0xee);
  root.unmap(addr, len);
}
console.log(`RESULT ${JSON.stringify(seen)}`);
