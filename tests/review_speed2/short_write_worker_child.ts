/**
 * Worker of short_write_child.ts: `cut` truncates and regrows a file in a tight loop until told
 * to stop (answers the count of cuts); `write` makes short writes into a mapped file of its own
 * and checks each against the file's bytes.
 */

import { PAGE_SIZE as P, SharedBuffer, Vmar, VmarFlags, Vmo } from "../../mod.ts";
import { O_CLOEXEC, O_RDWR, sys } from "../_support/libc.ts";

const RW = VmarFlags.PERM_READ | VmarFlags.PERM_WRITE;
// A Worker's global scope (this file is type-checked with the window's lib).
const scope = self as unknown as {
  onmessage: (e: MessageEvent) => void;
  postMessage(message: unknown): void;
};

scope.onmessage = (e: MessageEvent) => {
  const msg = e.data;
  if (msg.kind === "cut") {
    const stop = msg.stop as Int32Array;
    // An fd of our own on the file (through /proc for a memfd), cut with ftruncate.
    const fd = sys.open(new TextEncoder().encode(msg.path + "\0"), O_RDWR | O_CLOEXEC, 0);
    scope.postMessage("started");
    let cuts = 0;
    while (fd >= 0 && Atomics.load(stop, 0) === 0) {
      sys.ftruncate(fd, BigInt((cuts * 1237) % msg.size));
      sys.ftruncate(fd, BigInt(msg.size));
      cuts++;
    }
    if (fd >= 0) sys.close(fd);
    scope.postMessage(cuts);
    return;
  }
  const path = Deno.makeTempFileSync({ prefix: "vmo-rs2-w-" });
  Deno.writeFileSync(path, new Uint8Array(4 * P));
  const vmo = Vmo.fromFile(path, { writable: true });
  const root = Vmar.root();
  const addr = root.map(0, vmo, 0, 4 * P, RW);
  const buffer = SharedBuffer.fromRange(root, addr, 4 * P);
  let bad = 0;
  for (let i = 0; i < 3000; i++) {
    const at = (i * 211 + msg.seed) % (3 * P);
    const value = ((i + msg.seed * 7) % 250) + 1;
    buffer.writeAt(at, new Uint8Array(300).fill(value));
    const got = Deno.readFileSync(path).subarray(at, at + 300);
    if (!got.every((x) => x === value)) bad++;
  }
  root.unmap(addr, 4 * P);
  vmo.close();
  Deno.removeSync(path);
  scope.postMessage({ seed: msg.seed, bad });
};
