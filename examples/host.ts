/**
 * The demo: a host process and real guest processes sharing memory, as the three seed systems
 * do it. The host builds guest memory (vm-memory's `GuestMemoryMmap`: RAM at guest address 0, a
 * framebuffer high up, dirty tracking on) and a hyperlight-style control buffer
 * (`ExclusiveSharedMemory` holding the job, then `build()`); it spawns guests
 * (examples/guest.ts), each with a channel, and sends each the shareable regions (OpenVMM's
 * `sharing().getRegions()`) and the guest side of the control buffer. The guests render bands of
 * a Mandelbrot into the framebuffer by guest address and wake the host with a futex; the host
 * reads the framebuffer only through safe copies and writes it as a PNG. Then a snapshot and
 * restore of guest RAM around a guest that scribbles over it, as hyperlight does between calls.
 * With `--hostile`, a guest writes garbage into the control buffer while the host reads it.
 *
 * Run: `deno run --allow-ffi --allow-run --allow-write examples/host.ts [--hostile] [--guests N] [--out FILE]`
 * (`deno task demo`). `--allow-write` is for the PNG (a new temp directory, or `--out`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type Channel,
  ExclusiveSharedMemory,
  formatMaps,
  futexWait,
  GuestMemoryMmap,
  spawn,
  statusName,
  Vmar,
  type Vmo,
  VmoChildOptions,
  ZxError,
} from "../mod.ts";
import { encodePng } from "./png.ts";
import {
  CTRL,
  decodeJson,
  encodeJson,
  FB_ADDR,
  FB_SIZE,
  type GuestReply,
  HEIGHT,
  type HostMessage,
  MAGIC,
  MAX_GUESTS,
  NOTE_SIZE,
  palette,
  PALETTE_ADDR,
  RAM_ADDR,
  RAM_SIZE,
  SLOT,
  VIEW,
  WIDTH,
} from "./job.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    hostile: { type: "boolean", default: false },
    guests: { type: "string", default: "4" },
    out: { type: "string" },
  },
});
const GUESTS = Number(values.guests);
if (!Number.isInteger(GUESTS) || GUESTS < 1 || GUESTS > MAX_GUESTS) {
  console.error(`--guests must be an integer from 1 to ${MAX_GUESTS}`);
  Deno.exit(2);
}

const MiB = 1024 * 1024;
const hex = (n: number) => "0x" + n.toString(16);
const size = (n: number) =>
  n >= MiB
    ? `${+(n / MiB).toFixed(2)} MiB`
    : n >= 1024
    ? `${+(n / 1024).toFixed(1)} KiB`
    : `${n} B`;
const ms = (t: number) => `${t.toFixed(1)} ms`;
const pages = (runs: [number, number][]) => runs.reduce((n, [, p]) => n + p, 0);
const step = (title: string) => console.log(`\n== ${title}`);
const nameOf = (error: unknown) =>
  error instanceof ZxError ? statusName(error.status) : `${(error as Error).name}`;

// ---- 1. Guest memory and the control buffer -----------------------------------------------

step("guest memory and the control buffer");
using memory = GuestMemoryMmap.fromRanges([[RAM_ADDR, RAM_SIZE], [FB_ADDR, FB_SIZE]], {
  dirtyTracking: true,
});
memory.writeSlice(palette(), PALETTE_ADDR);
// A "boot image" for the snapshot step to protect: 1 MiB of a known pattern at 1 MiB.
const boot = new Uint8Array(MiB).map((_, i) => (i * 31 + (i >> 12)) & 0xff);
memory.writeSlice(boot, MiB);
console.log(
  `GuestMemoryMmap: RAM ${size(RAM_SIZE)} at ${hex(RAM_ADDR)}, framebuffer ${WIDTH}x${HEIGHT} ` +
    `RGBA (${size(FB_SIZE)}) at ${hex(FB_ADDR)}; dirty tracking on`,
);
console.log(
  `host loaded a palette at ${hex(PALETTE_ADDR)} and a 1 MiB boot image at ${hex(MiB)}: ` +
    `${pages(memory.dirtyPages())} pages dirty`,
);

const exclusive = ExclusiveSharedMemory.create(CTRL.size);
const jobView = exclusive.asMutSlice();
const job = new DataView(jobView.buffer);
job.setUint32(CTRL.magic, MAGIC, true);
job.setUint32(CTRL.guests, GUESTS, true);
job.setUint32(CTRL.width, WIDTH, true);
job.setUint32(CTRL.height, HEIGHT, true);
job.setFloat64(CTRL.fbAddr, FB_ADDR, true);
job.setFloat64(CTRL.paletteAddr, PALETTE_ADDR, true);
job.setUint32(CTRL.maxIter, VIEW.maxIter, true);
job.setFloat64(CTRL.centerX, VIEW.centerX, true);
job.setFloat64(CTRL.centerY, VIEW.centerY, true);
job.setFloat64(CTRL.scale, VIEW.scale, true);
const [control, guestSide] = exclusive.build();
using _closeControl = control; // a destructured binding cannot itself be `using`
console.log(
  `control buffer: ${size(control.memSize())} between guard pages at ${hex(control.baseAddr())}, ` +
    `job written through asMutSlice(), then build(): that view now has length ${jobView.length}`,
);
using controlVmo = guestSide.vmo();

// ---- 2. Guests ----------------------------------------------------------------------------

step(`${GUESTS} guest processes`);
const regions = await memory.sharing()!.getRegions();
controlVmo.setName("control");
for (const r of regions) r.vmo.setName(r.guestAddress === RAM_ADDR ? "guest-ram" : "framebuffer");
const guestScript = new URL("./guest.ts", import.meta.url).pathname;
interface Guest {
  child: Deno.ChildProcess;
  channel: Channel;
}
const guests: Guest[] = [];
let start = performance.now();
for (let index = 0; index < GUESTS; index++) {
  const { child, channel } = spawn(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-ffi", "--allow-env=VMO_CHANNEL_FD", guestScript],
    stdin: "null",
  });
  const attach: HostMessage = {
    op: "attach",
    index,
    regions: regions.map(({ guestAddress, size, fileOffset }) => ({
      guestAddress,
      size,
      fileOffset,
    })),
  };
  // Handles move: send duplicates, keep ours for the next guest.
  channel.write(encodeJson(attach), [guestSide.vmo(), ...regions.map((r) => r.vmo.duplicate())]);
  guests.push({ child, channel });
}
guestSide.close();
await Promise.all(guests.map((g) => g.channel.read()));
console.log(
  `spawned ${GUESTS} guests (deno run --allow-ffi --allow-env=VMO_CHANNEL_FD examples/guest.ts), ` +
    `all started and mapped in ${ms(performance.now() - start)}; each got over its channel the ` +
    `control VMO and ` +
    `${regions.length} region VMOs (${
      regions.map((r) => `${hex(r.guestAddress)}+${size(r.size)}`).join(", ")
    })`,
);

async function ask(guest: Guest, message: HostMessage): Promise<GuestReply> {
  guest.channel.write(encodeJson(message));
  return decodeJson<GuestReply>((await guest.channel.read()).bytes);
}

// ---- 3. Render ----------------------------------------------------------------------------

step("render: each guest draws its band into the framebuffer, then futexWake");
// The host side of the control buffer only copies, and futexWait takes it as it is: the host
// sleeps on the doorbell word of its own HostSharedMemory. The fence orders the copy after the
// guests' released writes.
const doneCount = () => {
  control.acquireWrites();
  return control.readI32(CTRL.done);
};
memory.resetDirty();
start = performance.now();
const replies = guests.map((g) => ask(g, { op: "render" }));
let wakeups = 0;
for (let done = doneCount(); done < GUESTS; done = doneCount()) {
  try {
    await futexWait(control, CTRL.done, done, 30_000);
    wakeups++;
  } catch (error) {
    // BAD_STATE: the word moved on between the load and the wait; load it again.
    if (nameOf(error) !== "ZX_ERR_BAD_STATE") throw error;
  }
}
const renderTime = performance.now() - start;
const renders = await Promise.all(replies);
console.log(
  `all ${GUESTS} guests done after ${ms(renderTime)} (${wakeups} futex wake-ups seen): ` +
    `${((WIDTH * HEIGHT) / renderTime / 1000).toFixed(2)} Mpixel/s`,
);
const note = (slot: number) => {
  const bytes = new Uint8Array(NOTE_SIZE);
  control.copyToSlice(bytes, control.readF64(slot + SLOT.noteOffset));
  return new TextDecoder().decode(bytes).replace(/\0+$/, "");
};
for (let i = 0; i < GUESTS; i++) {
  const slot = CTRL.slots + i * CTRL.slotSize;
  const offset = control.readF64(slot + SLOT.bandOffset);
  const length = control.readF64(slot + SLOT.bandLength);
  const writeMs = control.readF64(slot + SLOT.writeMs);
  console.log(
    `  guest ${i} (pid ${guests[i].child.pid}): rows ${control.readU32(slot + SLOT.rows)}, band ` +
      `${hex(FB_ADDR + offset)}+${size(length)} in ${ms(control.readF64(slot + SLOT.renderMs))} ` +
      `(writeSlice ${ms(writeMs)}: ${(length / MiB / (writeMs / 1000)).toFixed(0)} MiB/s); ` +
      `note "${note(slot)}"`,
  );
}

// ---- 4. The PNG, through safe copies -------------------------------------------------------

step("the framebuffer, copied out and written as a PNG");
const pixels = new Uint8Array(FB_SIZE);
start = performance.now();
memory.readSlice(pixels, FB_ADDR);
const copyTime = performance.now() - start;
const png = await encodePng({ width: WIDTH, height: HEIGHT, channels: 4, pixels });
const out = values.out ?? `${await Deno.makeTempDir({ prefix: "vmo-demo-" })}/mandelbrot.png`;
await Deno.writeFile(out, png);
console.log(
  `copied ${size(FB_SIZE)} out with readSlice in ${ms(copyTime)} ` +
    `(${(FB_SIZE / MiB / (copyTime / 1000)).toFixed(0)} MiB/s); PNG ${size(png.length)}: ${out}`,
);

// ---- 5. Dirty pages and the address space --------------------------------------------------

step("dirty pages per region");
const describeRuns = (runs: [number, number][]) => {
  const ram = runs.filter(([a]) => a < RAM_ADDR + RAM_SIZE);
  const fb = runs.filter(([a]) => a >= FB_ADDR);
  return `RAM ${pages(ram)} pages, framebuffer ${pages(fb)} pages` +
    (fb.length > 0 ? ` (${fb.map(([a, p]) => `${hex(a)}+${p}`).join(", ")})` : "");
};
console.log(`host's own bitmap since the render began: ${describeRuns(memory.dirtyPages())}`);
renders.forEach((r, i) => console.log(`  guest ${i}'s bitmap: ${describeRuns(r.dirty)}`));
console.log(
  `  (each process tracks its own writes: the guests' are in their bitmaps, not the host's; ` +
    `${pages(renders.flatMap((r) => r.dirty))} of ${FB_SIZE / 4096} framebuffer pages in all)`,
);

step("the host's address space, as formatMaps draws it (vmo's mappings only)");
const tree = formatMaps(Vmar.root().infoMaps()).split("\n");
console.log(
  tree.slice(0, 16).join("\n") + (tree.length > 16 ? `\n  ... ${tree.length - 16} more lines` : ""),
);

// ---- 6. Snapshot and restore ---------------------------------------------------------------

step("snapshot guest RAM, let guest 0 scribble over it, restore");
const ram: Vmo = regions.find((r) => r.guestAddress === RAM_ADDR)!.vmo;
const digest = async () => {
  const bytes = new Uint8Array(RAM_SIZE);
  memory.readSlice(bytes, RAM_ADDR);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
};
const before = await digest();
start = performance.now();
using snapshot = ram.createChild(VmoChildOptions.SNAPSHOT, 0, RAM_SIZE);
console.log(
  `snapshot of ${size(RAM_SIZE)} of RAM in ${ms(performance.now() - start)} ` +
    `(committed ${size(snapshot.info().committedBytes)}); RAM sha256 ${before}…`,
);
const scribbled = await ask(guests[0], { op: "scribble", pages: 64, seed: 12345 });
const after = await digest();
console.log(
  `guest 0 wrote random bytes over ${pages(scribbled.dirty)} pages of RAM: sha256 ${after}… ` +
    `(${after === before ? "UNCHANGED?" : "changed"})`,
);
start = performance.now();
for (const [addr, count] of scribbled.dirty) {
  memory.writeSlice(snapshot.readToArray(addr - RAM_ADDR, count * 4096), addr);
}
const dirtyRestore = performance.now() - start;
const restored = await digest();
console.log(
  `restored the ${scribbled.dirty.length} dirty runs the guest reported in ${ms(dirtyRestore)}: ` +
    `sha256 ${restored}… (${restored === before ? "the bytes are back" : "STILL DIFFERENT"})`,
);
start = performance.now();
ram.write(snapshot.readToArray(0, RAM_SIZE), 0);
console.log(
  `  restoring all of RAM instead costs ${ms(performance.now() - start)} (the snapshot is an ` +
    `eager copy: Linux has no copy-on-write between memfds)`,
);

// ---- 7. A hostile guest --------------------------------------------------------------------

if (values.hostile) {
  step(`--hostile: guest ${GUESTS - 1} writes garbage into its slot while the host reads it`);
  const slot = CTRL.slots + (GUESTS - 1) * CTRL.slotSize;
  const counts = new Map<string, number>();
  const shown = new Set<string>();
  let reads = 0;
  const band = new Uint8Array(FB_SIZE);
  const noteBytes = new Uint8Array(NOTE_SIZE);
  const pending = ask(guests[GUESTS - 1], { op: "hostile", ms: 1500 });
  const until = performance.now() + 1500;
  while (performance.now() < until) {
    reads++;
    const offset = control.readF64(slot + SLOT.bandOffset);
    const length = control.readF64(slot + SLOT.bandLength);
    const noteAt = control.readF64(slot + SLOT.noteOffset);
    let outcome = "ok";
    try {
      // The band the guest claims, as a slice of guest memory, then copied out...
      const slice = memory.getSlice(FB_ADDR + offset, length);
      slice.copyTo(band.subarray(0, slice.len()));
      // ... and its note, copied out of the control buffer at the offset it claims.
      control.copyToSlice(noteBytes, noteAt);
    } catch (error) {
      outcome = nameOf(error);
    }
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    if (outcome !== "ok" && !shown.has(outcome) && shown.size < 6) {
      shown.add(outcome);
      console.log(
        `  band offset ${offset}, length ${length}, note at ${noteAt}: ${outcome}, skipped`,
      );
    }
    if (reads % 64 === 0) await Promise.resolve(); // let the channel's reply come in
  }
  const hostileReply = await pending;
  console.log(
    `${reads} reads of guest-supplied values raced ${hostileReply.writes} garbage writes: ` +
      [...counts].map(([k, v]) => `${k} ${v}`).join(", ") + "; the host carried on",
  );
  const check = new Uint8Array(4);
  memory.readSlice(check, FB_ADDR);
  console.log(`the host still reads guest memory: first pixel ${check.join(",")}`);
}

// ---- 8. Shut down --------------------------------------------------------------------------

step("shut down");
for (const r of regions) r.vmo.close();
for (const g of guests) g.channel.close();
const statuses = await Promise.all(guests.map((g) => g.child.status));
console.log(
  `closed the channels: guests exited with ${statuses.map((s) => s.code).join(", ")}; ` +
    `${size(RAM_SIZE + FB_SIZE + CTRL.size)} of shared memory released on exit`,
);
