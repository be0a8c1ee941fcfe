/**
 * Child of short_write.test.ts, run under `strace`: warms `writeAt` over a mapped regular file
 * up, then makes 50 writes between two `openat("/dev/null")` calls that mark them in the
 * trace, and prints the short write's memfd and the count of writes.
 */

import { SharedBuffer, Vmar, VmarFlags, Vmo } from "../../mod.ts";
import { shortWriteSourceFd } from "../../src/vmar/short_write.ts";

const SIZE = 4 * 4096;
const path = Deno.makeTempFileSync({ prefix: "vmo-short-write-child-" });
Deno.writeFileSync(path, new Uint8Array(SIZE));
const vmo = Vmo.fromFile(path, { writable: true });
const root = Vmar.root();
const addr = root.map(0, vmo, 0, SIZE, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
const buffer = SharedBuffer.fromRange(root, addr, SIZE);
const src = new Uint8Array(64).fill(9);
for (let i = 0; i < 1000; i++) buffer.writeAt(256, src);
const writes = 50;
Deno.openSync("/dev/null").close();
for (let i = 0; i < writes; i++) buffer.writeAt(64 * i, src);
Deno.openSync("/dev/null").close();
const fd = shortWriteSourceFd();
root.unmap(addr, SIZE);
vmo.close();
Deno.removeSync(path);
console.log(JSON.stringify({ fd, writes }));
