/**
 * A guest of the demo (examples/host.ts starts several): it gets the control buffer and the
 * guest-memory regions over its channel, maps them, and does what the host asks:
 *
 * - `render`: reads the job from the control buffer and the palette from guest RAM, renders its
 *   band of a Mandelbrot into the framebuffer by guest address, fills in its slot, increments the
 *   doorbell word and wakes the host with `futexWake`;
 * - `scribble`: writes random bytes over pages of guest RAM (the host then restores a snapshot);
 * - `hostile`: for a while, writes garbage offsets and lengths into its slot (and garbage into
 *   the framebuffer) as fast as it can, racing the host's reads.
 *
 * Each reply carries the pages this guest dirtied: its own `GuestMemoryMmap`, over the same
 * memory, tracks them (a write from another process is invisible to the host's bitmap).
 *
 * Run by the host: `deno run --allow-ffi --allow-env=VMO_CHANNEL_FD examples/guest.ts`
 *
 * @module
 */

import {
  Channel,
  FileOffset,
  futexWake,
  GuestMemoryMmap,
  GuestRegionMmap,
  GuestSharedMemory,
  MmapRegion,
  Status,
  type Vmo,
  ZxError,
} from "../mod.ts";
import {
  bandRows,
  CTRL,
  decodeJson,
  encodeJson,
  type GuestReply,
  type HostMessage,
  type Job,
  MAGIC,
  NOTE_SIZE,
  PALETTE_ENTRIES,
  renderRow,
  SLOT,
} from "./job.ts";

using channel = Channel.fromEnv();

/** The next message, or null once the host has gone. */
async function next(): Promise<{ message: HostMessage; handles: unknown[] } | null> {
  try {
    const { bytes, handles } = await channel.read();
    return { message: decodeJson<HostMessage>(bytes), handles };
  } catch (error) {
    if (error instanceof ZxError && error.status === Status.PEER_CLOSED) return null;
    throw error;
  }
}

const first = await next();
if (first === null || first.message.op !== "attach") throw new Error("expected attach first");
const { index, regions } = first.message;
const [controlVmo, ...regionVmos] = first.handles as Vmo[];

// The control buffer, between guard pages as the host has it; the guest memory, region by
// region at its guest address, with this guest's own dirty tracking.
using control = GuestSharedMemory.map(controlVmo);
controlVmo.close();
const ctrl = control.buffer();
using memory = GuestMemoryMmap.fromRegions(
  regions.map((r, i) =>
    new GuestRegionMmap(
      MmapRegion.fromFile(new FileOffset(regionVmos[i], r.fileOffset), r.size, {
        dirtyTracking: true,
      }),
      r.guestAddress,
    )
  ),
);
for (const vmo of regionVmos) vmo.close();
if (ctrl.readU32(CTRL.magic) !== MAGIC) throw new Error("the control buffer holds no job");
const slot = CTRL.slots + index * CTRL.slotSize;

function reply(op: string, extra: Partial<GuestReply> = {}): void {
  const dirty = memory.dirtyPages();
  memory.resetDirty();
  channel.write(encodeJson({ op, dirty, ...extra } satisfies GuestReply));
}

function render(): void {
  const start = performance.now();
  const job: Job = {
    width: ctrl.readU32(CTRL.width),
    height: ctrl.readU32(CTRL.height),
    maxIter: ctrl.readU32(CTRL.maxIter),
    centerX: ctrl.readF64(CTRL.centerX),
    centerY: ctrl.readF64(CTRL.centerY),
    scale: ctrl.readF64(CTRL.scale),
  };
  const fbAddr = ctrl.readF64(CTRL.fbAddr);
  const colours = new Uint8Array(PALETTE_ENTRIES * 4);
  memory.readSlice(colours, ctrl.readF64(CTRL.paletteAddr));
  const [from, to] = bandRows(index, ctrl.readU32(CTRL.guests), job.height);
  const stride = job.width * 4;
  const row = new Uint8Array(stride);
  let writeMs = 0;
  for (let y = from; y < to; y++) {
    renderRow(job, y, colours, row);
    const before = performance.now();
    memory.writeSlice(row, fbAddr + y * stride);
    writeMs += performance.now() - before;
  }
  ctrl.writeF64(slot + SLOT.writeMs, writeMs);
  ctrl.writeF64(slot + SLOT.bandOffset, from * stride);
  ctrl.writeF64(slot + SLOT.bandLength, (to - from) * stride);
  ctrl.writeF64(slot + SLOT.renderMs, performance.now() - start);
  ctrl.writeU32(slot + SLOT.rows, to - from);
  const note = new Uint8Array(NOTE_SIZE);
  note.set(
    new TextEncoder().encode(`guest ${index}: rows ${from}-${to - 1}`).subarray(0, NOTE_SIZE),
  );
  ctrl.writeAt(slot + SLOT.note, note);
  ctrl.writeF64(slot + SLOT.noteOffset, slot + SLOT.note);
  // The slot's plain writes are ordered before the doorbell (a sequentially consistent add).
  Atomics.add(ctrl.int32View(CTRL.done, 1), 0, 1);
  futexWake(ctrl, CTRL.done, 1);
  reply("render");
}

/** xorshift32: the same garbage for the same seed. */
function random(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function scribble(pages: number, seed: number): void {
  const next = random(seed);
  const junk = new Uint8Array(4096);
  const ramPages = regions[0].size / 4096;
  for (let i = 0; i < pages; i++) {
    for (let j = 0; j < junk.length; j += 4) new DataView(junk.buffer).setUint32(j, next());
    memory.writeSlice(junk, regions[0].guestAddress + (next() % ramPages) * 4096);
  }
  reply("scribble");
}

/** Values chosen to break a careless reader: negative, fractional, huge, NaN, past the end. */
function garbage(next: () => number): number {
  const pick = [
    () => -(next() % 100_000),
    () => (next() % 4_000_000) + 0.5,
    () => 2 ** 53 + next(),
    () => NaN,
    () => Infinity,
    () => next() * 4096,
    () => next() % 4_000_000,
  ];
  return pick[next() % pick.length]();
}

function hostile(ms: number): void {
  const next = random(index * 7919 + 1);
  const until = performance.now() + ms;
  let writes = 0;
  const junk = new Uint8Array(4096);
  while (performance.now() < until) {
    ctrl.writeF64(slot + SLOT.bandOffset, garbage(next));
    ctrl.writeF64(slot + SLOT.bandLength, garbage(next));
    ctrl.writeU32(slot + SLOT.rows, next());
    ctrl.writeF64(slot + SLOT.noteOffset, garbage(next));
    // Garbage into the framebuffer too, under the host's reads (the host's copies are
    // bounds-checked; torn pixels are all a race can give it).
    junk.fill(next() & 0xff);
    memory.write(junk, ctrl.readF64(CTRL.fbAddr) + (next() % 768) * 4096);
    writes += 4;
  }
  reply("hostile", { writes });
}

reply("attach"); // mapped and ready: the host times the render from here

for (;;) {
  const got = await next();
  if (got === null) break;
  const { message } = got;
  if (message.op === "render") render();
  else if (message.op === "scribble") scribble(message.pages, message.seed);
  else if (message.op === "hostile") hostile(message.ms);
  else throw new Error(`unknown op ${message.op}`);
}
