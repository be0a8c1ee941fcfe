/**
 * Waits on memory that goes away while the wait sleeps: a Mapping closed, a sub-VMAR
 * destroyed, a range unmapped. Each wait must end with BAD_STATE, soon, and the process must
 * neither fault nor hang. Prints "ok" at the end.
 */

import {
  futexWait,
  Mapping,
  PAGE_SIZE,
  SharedBuffer,
  Status,
  Vmar,
  VmarFlags,
  Vmo,
  ZxError,
} from "../../mod.ts";

async function endsWithBadState(wait: Promise<void>, unmap: () => void): Promise<void> {
  await new Promise((r) => setTimeout(r, 30)); // let the wait reach the kernel
  const start = performance.now();
  unmap();
  try {
    await wait;
    throw new Error("the wait resolved");
  } catch (e) {
    if (!(e instanceof ZxError) || e.status !== Status.BAD_STATE) throw e;
  }
  const ms = performance.now() - start;
  if (ms > 1000) throw new Error(`the wait took ${ms} ms to end`);
}

{
  const [mapping, vmo] = Mapping.allocate(PAGE_SIZE);
  await endsWithBadState(futexWait(mapping, 8, 0), () => mapping.close());
  vmo.close();
}
{
  const [region] = Vmar.root().allocate(
    0,
    4 * PAGE_SIZE,
    VmarFlags.CAN_MAP_READ | VmarFlags.CAN_MAP_WRITE,
  );
  const vmo = Vmo.create(PAGE_SIZE);
  const addr = region.map(0, vmo, 0, PAGE_SIZE, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
  const buffer = SharedBuffer.fromRange(region, addr, PAGE_SIZE);
  await endsWithBadState(futexWait(buffer.slice(4, 8), 0, 0), () => region.destroy());
  region.close();
  vmo.close();
}
{
  const vmo = Vmo.create(PAGE_SIZE);
  const root = Vmar.root();
  const addr = root.map(0, vmo, 0, PAGE_SIZE, VmarFlags.PERM_READ | VmarFlags.PERM_WRITE);
  const buffer = SharedBuffer.fromRange(root, addr, PAGE_SIZE);
  // several waits on one word and one on another
  const waits = [futexWait(buffer, 0, 0), futexWait(buffer, 0, 0), futexWait(buffer, 64, 0)];
  await endsWithBadState(
    Promise.any(waits).then(() => {}, () => {
      throw new ZxError(Status.BAD_STATE, "all ended");
    }),
    () => root.unmap(addr, PAGE_SIZE),
  );
  for (const w of waits) await w.catch(() => {});
  vmo.close();
}
console.log("ok");
