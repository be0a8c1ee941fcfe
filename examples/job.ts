/**
 * What the demo's host (examples/host.ts) and its guests (examples/guest.ts) agree on: the
 * guest-physical layout, the control buffer's fields (a hyperlight-style shared buffer: the job
 * and one slot per guest), the messages on each guest's channel, and the Mandelbrot renderer.
 *
 * Not run by itself.
 *
 * @module
 */

/** Guest RAM: guest address 0, 16 MiB. */
export const RAM_ADDR = 0;
export const RAM_SIZE = 16 * 1024 * 1024;
/** The palette (256 RGBA entries) the host loads into guest RAM before the guests start. */
export const PALETTE_ADDR = 0x10000;
export const PALETTE_ENTRIES = 256;
/** The framebuffer: a region high in the guest-physical space, as a PCI BAR would be. */
export const FB_ADDR = 0xe000_0000;
export const WIDTH = 1024;
export const HEIGHT = 768;
export const FB_SIZE = WIDTH * HEIGHT * 4;

/** The control buffer: the job, written once by the host before `build()`. */
export const CTRL = {
  size: 4096,
  magic: 0, // u32
  guests: 4, // u32
  width: 8, // u32
  height: 12, // u32
  fbAddr: 16, // f64
  paletteAddr: 24, // f64
  maxIter: 32, // u32
  centerX: 40, // f64
  centerY: 48, // f64
  scale: 56, // f64: plane units per pixel
  /** The doorbell: an i32 the guests increment when done, then `futexWake`. */
  done: 64,
  /** Slot `i` starts at `slots + i * slotSize`: what guest `i` reports. */
  slots: 128,
  slotSize: 96,
} as const;
export const MAGIC = 0x4a4f4221;

/** Fields of a guest's slot: where it says it wrote, and how long it took. */
export const SLOT = {
  bandOffset: 0, // f64: byte offset of its band in the framebuffer
  bandLength: 8, // f64: bytes
  renderMs: 16, // f64
  rows: 24, // u32
  /** f64: where in the control buffer its note ("guest 1: rows 192-383") is. */
  noteOffset: 32,
  /** f64: of `renderMs`, the time spent in `writeSlice` (copies into shared memory). */
  writeMs: 40,
  /** Where an honest guest puts its note (`NOTE_SIZE` bytes). */
  note: 64,
} as const;

/** The size of a guest's note, in bytes. */
export const NOTE_SIZE = 24;

/** The most guests the control buffer has slots for. */
export const MAX_GUESTS = (CTRL.size - CTRL.slots) / CTRL.slotSize;

/** Messages from the host to a guest (JSON payloads on its channel). */
export type HostMessage =
  | {
    op: "attach";
    index: number;
    /** One per VMO handle after the control buffer's: where it sits in guest memory. */
    regions: { guestAddress: number; size: number; fileOffset: number }[];
  }
  | { op: "render" }
  | { op: "scribble"; pages: number; seed: number }
  | { op: "hostile"; ms: number };

/** A guest's answer to each message. */
export interface GuestReply {
  op: string;
  /** The guest's own dirty-page runs, `[guestAddr, pages]` (its writes, in its process). */
  dirty: [number, number][];
  /** For `hostile`: how many garbage values it wrote. */
  writes?: number;
}

export const encodeJson = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
export const decodeJson = <T>(bytes: Uint8Array): T =>
  JSON.parse(new TextDecoder().decode(bytes)) as T;

/** The rows `[from, to)` of band `index` out of `count`. */
export function bandRows(index: number, count: number, height: number): [number, number] {
  return [Math.floor(index * height / count), Math.floor((index + 1) * height / count)];
}

/** The demo's palette: 256 RGBA colours, dark blue through orange to white. */
export function palette(): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(PALETTE_ENTRIES * 4);
  for (let i = 0; i < PALETTE_ENTRIES; i++) {
    const t = i / (PALETTE_ENTRIES - 1);
    out[i * 4] = Math.round(255 * Math.min(1, 9 * (1 - t) * t * t * t + 1.2 * t * t));
    out[i * 4 + 1] = Math.round(255 * Math.min(1, 15 * (1 - t) * (1 - t) * t * t + 0.3 * t));
    out[i * 4 + 2] = Math.round(255 * Math.min(1, 8.5 * (1 - t) ** 3 * t + 0.25 * (1 - t)));
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** The part of the Mandelbrot set the demo draws. */
export const VIEW = { maxIter: 256, centerX: -0.7475, centerY: 0.112, scale: 0.00004 } as const;

/** The job as the guests read it. */
export interface Job {
  width: number;
  height: number;
  maxIter: number;
  centerX: number;
  centerY: number;
  scale: number;
}

/** Renders row `y` of the Mandelbrot set into `row` (RGBA), colours from `colours`. */
export function renderRow(job: Job, y: number, colours: Uint8Array, row: Uint8Array): void {
  const ci = job.centerY + (y - job.height / 2) * job.scale;
  for (let x = 0; x < job.width; x++) {
    const cr = job.centerX + (x - job.width / 2) * job.scale;
    let zr = 0, zi = 0, n = 0;
    while (n < job.maxIter && zr * zr + zi * zi <= 4) {
      const t = zr * zr - zi * zi + cr;
      zi = 2 * zr * zi + ci;
      zr = t;
      n++;
    }
    const at = x * 4;
    if (n === job.maxIter) {
      row[at] = row[at + 1] = row[at + 2] = 0;
    } else {
      const c = (Math.floor(Math.sqrt(n / job.maxIter) * (PALETTE_ENTRIES - 1))) * 4;
      row[at] = colours[c];
      row[at + 1] = colours[c + 1];
      row[at + 2] = colours[c + 2];
    }
    row[at + 3] = 255;
  }
}
