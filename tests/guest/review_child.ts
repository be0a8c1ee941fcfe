/**
 * Run by tests/guest/review_*.test.ts in a child `deno run`: one attack on guest memory per
 * mode (the first argument), reporting what each call did as a JSON line (its last): a status
 * name, `ok:<value>`, or an error class that is not a `ZxError` (which the tests reject). A
 * fault would end the child with 139, which the tests assert against.
 *
 * @module
 */

import nodeCrypto from "node:crypto";
import {
  ExclusiveSharedMemory,
  FileOffset,
  GuestMemoryMmap,
  GuestRegionMmap,
  MapFlags,
  MmapRegion,
  PAGE_SIZE,
  Prot,
  statusName,
  Vmar,
  Vmo,
  ZxError,
} from "../../mod.ts";
import { countFds, countMemfdMappings } from "../_support/mod.ts";

const P = PAGE_SIZE;
const out: Record<string, unknown> = {};

/** What `f` did: `ok:<value>`, a status name without its prefix, or `<ErrorClass>!`. */
function outcome(f: () => unknown): string {
  try {
    const value = f();
    return `ok:${typeof value === "object" && value !== null ? "object" : String(value)}`;
  } catch (error) {
    if (error instanceof ZxError) return statusName(error.status).replace("ZX_ERR_", "");
    return `${(error as Error).name}!`;
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
async function collect(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Hostile positions and lengths: every one must be refused with a status, none coerced. */
const HOSTILE: [string, unknown][] = [
  ["-1", -1],
  ["1.5", 1.5],
  ["NaN", NaN],
  ["Infinity", Infinity],
  ["2**53", 2 ** 53],
  ["2**64", 2 ** 64],
  ["string", "8"],
  ["valueOf", { valueOf: () => 8 }],
  ["null", null],
  ["undefined", undefined],
  ["bigint", 8n],
];

function hostile(): void {
  const ex = ExclusiveSharedMemory.create(2 * P);
  const [host, guest] = ExclusiveSharedMemory.create(2 * P).build();
  const region = MmapRegion.create(2 * P, { dirtyTracking: true });
  const slice = region.getSlice(0, 2 * P);
  const mem = GuestMemoryMmap.fromRanges([[0, 2 * P], [2 * P, 2 * P]], { dirtyTracking: true });
  const b = new Uint8Array(4);
  // deno-lint-ignore no-explicit-any
  const calls: Record<string, (x: any) => unknown> = {
    "ex.copyFromSlice": (x) => ex.copyFromSlice(b, x),
    "ex.copyToSlice": (x) => ex.copyToSlice(b, x),
    "host.readU8": (x) => host.readU8(x),
    "host.readI64": (x) => host.readI64(x),
    "host.writeU32": (x) => host.writeU32(x, 1),
    "host.copyToSlice": (x) => host.copyToSlice(b, x),
    "host.copyFromSlice": (x) => host.copyFromSlice(b, x),
    "host.fill offset": (x) => host.fill(1, x, 4),
    "host.fill len": (x) => host.fill(1, 0, x),
    "region.getSlice offset": (x) => region.getSlice(x, 4),
    "region.getSlice count": (x) => region.getSlice(0, x),
    "region.getAtomicRef": (x) => region.getAtomicRef(x, "i32"),
    "region.computeEndOffset base": (x) => region.computeEndOffset(x, 1),
    "region.computeEndOffset offset": (x) => region.computeEndOffset(1, x),
    "bitmap.resetAddrRange offset": (x) => region.bitmap()!.resetAddrRange(x, 4),
    "bitmap.resetAddrRange len": (x) => region.bitmap()!.resetAddrRange(0, x),
    "slice.readAt": (x) => slice.readAt(x, b),
    "slice.writeAt": (x) => slice.writeAt(x, b),
    "slice.subslice offset": (x) => slice.subslice(x, 4),
    "slice.subslice count": (x) => slice.subslice(0, x),
    "slice.offset": (x) => slice.offset(x),
    "slice.readU32": (x) => slice.readU32(x),
    "slice.writeU32": (x) => slice.writeU32(x, 1),
    "mem.read": (x) => mem.read(b, x),
    "mem.write": (x) => mem.write(b, x),
    "mem.readSlice": (x) => mem.readSlice(b, x),
    "mem.writeSlice": (x) => mem.writeSlice(b, x),
    "mem.readU32": (x) => mem.readU32(x),
    "mem.writeU32": (x) => mem.writeU32(x, 1),
    "mem.readU64": (x) => mem.readU64(x),
    "mem.writeU64": (x) => mem.writeU64(x, 1n),
    "mem.getSlice addr": (x) => mem.getSlice(x, 4),
    "mem.getSlice len": (x) => mem.getSlice(0, x),
    "mem.checkRange addr": (x) => mem.checkRange(x, 4),
    "mem.checkRange len": (x) => mem.checkRange(0, x),
    "mem.checkAddress": (x) => mem.checkAddress(x),
    "mem.findRegion": (x) => mem.findRegion(x),
    "new GuestRegionMmap": (x) => new GuestRegionMmap(region, x),
    "new FileOffset": (x) => new FileOffset(Vmo.create(P), x),
    "ExclusiveSharedMemory.create": (x) => ExclusiveSharedMemory.create(x),
    "MmapRegion.create": (x) => MmapRegion.create(x),
    "GuestMemoryMmap.fromRanges addr": (x) => GuestMemoryMmap.fromRanges([[x, P]]),
    "GuestMemoryMmap.fromRanges size": (x) => GuestMemoryMmap.fromRanges([[0, x]]),
  };
  for (const [name, call] of Object.entries(calls)) {
    const row: Record<string, string> = {};
    for (const [label, value] of HOSTILE) row[label] = outcome(() => call(value));
    out[name] = row;
  }
  // Values that do not fit: every writer refuses them with INVALID_ARGS.
  const values: [string, unknown][] = [["bigint", 1n], ["string", "1"], ["-1", -1], ["1.5", 1.5]];
  // deno-lint-ignore no-explicit-any
  const writers: Record<string, (v: any) => unknown> = {
    "host.fill value": (v) => host.fill(v, 0, 4),
    "host.writeU8 value": (v) => host.writeU8(0, v),
    "slice.writeU8 value": (v) => slice.writeU8(0, v),
    "mem.writeU8 value": (v) => mem.writeU8(0, v),
    "mem.writeU32 across value": (v) => mem.writeU32(2 * P - 2, v),
  };
  for (const [name, call] of Object.entries(writers)) {
    const row: Record<string, string> = {};
    for (const [label, value] of values) row[label] = outcome(() => call(value));
    out[name] = row;
  }
  out.dirtyAfterRefusals = [region.bitmap()!.dirtyPages(), mem.dirtyPages()];
  // The bitmap users get has the Bitmap calls only: no way to mark pages through it.
  out.bitmapMethods = Object.getOwnPropertyNames(Object.getPrototypeOf(region.bitmap())).sort();
  out.bytesUnchanged = [host.readU32(0), mem.readU32(0), slice.readU32(0)];
  ex.close();
  host.close();
  guest.close();
  region.close();
  mem.close();
}

/**
 * `Vmar.root().unmap` over memory the guest objects mapped, then new memory at the same
 * addresses: closing the old objects must neither throw nor unmap the new memory, and must
 * give back every fd.
 */
function reuse(): void {
  const fds = countFds();
  // A region unmapped through the root, its addresses taken by a new region.
  const old = MmapRegion.create(2 * P);
  const at = old.address();
  Vmar.root().unmap(at, 2 * P);
  const keep: MmapRegion[] = [];
  let fresh: MmapRegion | undefined;
  for (let i = 0; i < 64 && fresh === undefined; i++) {
    const r = MmapRegion.create(2 * P);
    if (r.address() === at) fresh = r;
    else keep.push(r);
  }
  out.reused = fresh !== undefined;
  fresh?.asVolatileSlice().writeU8(0, 7);
  out.oldRead = outcome(() => old.asVolatileSlice().readU8(0));
  out.oldClose = outcome(() => old.close());
  out.freshAfterOldClose = fresh === undefined
    ? "ok:7"
    : outcome(() => fresh.getSlice(0, 1).readU8(0));
  fresh?.close();
  for (const r of keep) r.close();
  // A hyperlight layout unmapped through the root (guards and all): both sides still close.
  const [host, guest] = ExclusiveSharedMemory.create(P).build();
  Vmar.root().unmap(host.baseAddr() - P, 3 * P);
  out.hostRead = outcome(() => host.readU8(0));
  out.guestBuffer = outcome(() => guest.buffer().readU8(0));
  out.hostClose = outcome(() => host.close());
  out.guestClose = outcome(() => guest.close());
  out.guestCloseAgain = outcome(() => guest.close());
  const ex = ExclusiveSharedMemory.create(P);
  Vmar.root().unmap(ex.baseAddr() - P, 3 * P);
  out.exClose = outcome(() => ex.close());
  // A guest memory whose region went through the root.
  const mem = GuestMemoryMmap.fromRanges([[0, P], [P, P]]);
  Vmar.root().unmap(mem.findRegion(0)!.region().address(), P);
  out.memWrite = outcome(() => mem.write(new Uint8Array(8), P - 4));
  out.memClose = outcome(() => mem.close());
  out.fdsBack = countFds() === fds;
}

/**
 * Copies across regions when the second one was closed underneath, is read-only or has no
 * access: the whole copy is refused, nothing before the bad region is written, marked dirty
 * or read into the caller's array.
 */
function allOrNothing(): void {
  const closedMem = GuestMemoryMmap.fromRanges([[0, P], [P, P]], { dirtyTracking: true });
  closedMem.regions()[1].region().close();
  const readOnly = GuestMemoryMmap.fromRegions([
    new GuestRegionMmap(MmapRegion.create(P, { dirtyTracking: true }), 0),
    new GuestRegionMmap(MmapRegion.build(null, P, Prot.READ, MapFlags.SHARED), P),
  ]);
  const writeOnly = GuestMemoryMmap.fromRegions([
    new GuestRegionMmap(MmapRegion.create(P, { dirtyTracking: true }), 0),
    new GuestRegionMmap(MmapRegion.build(null, P, Prot.NONE, MapFlags.SHARED), P),
  ]);
  const dst = new Uint8Array(8);
  for (
    const [name, mem] of [["closed", closedMem], ["readOnly", readOnly], [
      "none",
      writeOnly,
    ]] as const
  ) {
    dst.fill(0xee);
    out[name] = {
      writeSlice: outcome(() => mem.writeSlice(new Uint8Array(8).fill(9), P - 4)),
      write: outcome(() => mem.write(new Uint8Array(8).fill(9), P - 4)),
      writeU64: outcome(() => mem.writeU64(P - 4, 0x0909090909090909n)),
      writeU32: outcome(() => mem.writeU32(P - 2, 0x09090909)),
      readSlice: outcome(() => mem.readSlice(dst, P - 4)),
      readU64: outcome(() => mem.readU64(P - 4)),
      dstUntouched: dst.every((b) => b === 0xee),
      firstBytes: [mem.readU8(P - 4), mem.readU8(P - 1)],
      dirty: mem.dirtyPages(),
    };
    mem.close();
  }
}

/** Objects dropped while views, slices, atomics and buffers made from them are used. */
async function dropped(): Promise<void> {
  if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");
  const before = countMemfdMappings();
  const exView = (() => ExclusiveSharedMemory.create(P).asMutSlice())();
  const atomic = (() => MmapRegion.create(P).getAtomicRef(8, "i32") as Int32Array)();
  const slice = (() => GuestMemoryMmap.fromRanges([[0, P], [P, P]]).getSlice(P, 16))();
  const sliceBytes = (() => GuestMemoryMmap.fromRanges([[0, P]]).getSlice(0, 16).bytes())();
  const guestBytes = (() => {
    const [host, guest] = ExclusiveSharedMemory.create(P).build();
    host.writeU8(3, 9);
    return guest.buffer().bytes();
  })();
  await collect();
  exView[0] = 1;
  Atomics.store(atomic, 0, 5);
  slice.writeU8(0, 6);
  sliceBytes[0] = 7;
  out.kept = [exView[0], Atomics.load(atomic, 0), slice.readU8(0), sliceBytes[0], guestBytes[3]];
  out.keptLengths = [exView.length, atomic.length, slice.len(), sliceBytes.length];
  out.mappedWhileKept = countMemfdMappings() - before;
}

/** withExclusivity nested, re-entrant, closing underneath, and its views escaping. */
async function exclusivity(): Promise<void> {
  const [host, guest] = ExclusiveSharedMemory.create(P).build();
  let escaped: Uint8Array | undefined;
  // deno-lint-ignore no-explicit-any
  let escapedEx: any;
  out.inside = host.withExclusivity((ex) => {
    escaped = ex.asMutSlice();
    escapedEx = ex;
    return {
      nestedHost: outcome(() => host.withExclusivity(() => 1)),
      nestedGuest: outcome(() => guest.withExclusivity(() => 1)),
      hostRead: outcome(() => host.readU8(0)),
      hostWrite: outcome(() => host.writeU8(0, 1)),
      hostFill: outcome(() => host.fill(1, 0, 4)),
      hostCopy: outcome(() => host.copyToSlice(new Uint8Array(4), 0)),
      build: outcome(() => ex.build()),
      exWrite: outcome(() => ex.copyFromSlice(new Uint8Array([5]), 0)),
    };
  });
  out.escapedLength = escaped!.length;
  out.escapedEx = outcome(() => escapedEx.asSlice());
  out.afterRead = outcome(() => host.readU8(0));
  // A throwing fn releases the lock and detaches its views.
  let thrownView: Uint8Array | undefined;
  out.thrown = outcome(() =>
    host.withExclusivity((ex) => {
      thrownView = ex.asSlice();
      throw new RangeError("inside");
    })
  );
  out.thrownViewLength = thrownView!.length;
  // An async fn: its awaited part runs after the access ended.
  out.asyncInside = await host.withExclusivity(async (ex) => {
    await null;
    return outcome(() => ex.asSlice());
  });
  // Both sides closed inside fn: the memory goes, the borrowed object refuses, nothing faults.
  out.closedInside = host.withExclusivity((ex) => {
    const view = ex.asMutSlice();
    host.close();
    guest.close();
    return [
      view.length,
      outcome(() => ex.asSlice()),
      outcome(() => ex.copyToSlice(new Uint8Array(1), 0)),
    ];
  });
  out.afterClose = outcome(() => host.withExclusivity(() => 1));
}

/** Views kept past build(), close() and a region's close, then used and given to Deno APIs. */
async function views(): Promise<void> {
  const ex = ExclusiveSharedMemory.create(P);
  const a = ex.asSlice();
  const [host, guest] = ex.build();
  const gb = guest.buffer().bytes();
  host.close();
  guest.close();
  const region = MmapRegion.create(P);
  const r = region.getSlice(0, P).bytes();
  const atomic = region.getAtomicRef(0, "u32") as Uint32Array;
  region.close();
  const uses: Record<string, unknown> = {};
  for (const [name, view] of [["asSlice", a], ["guestBuffer", gb], ["sliceBytes", r]] as const) {
    uses[name] = [
      view.length,
      new TextDecoder().decode(view).length,
      new Uint8Array(await crypto.subtle.digest("SHA-256", view)).length,
      outcome(() => {
        const path = Deno.makeTempFileSync();
        try {
          Deno.writeFileSync(path, view);
          return Deno.statSync(path).size;
        } finally {
          Deno.removeSync(path);
        }
      }),
    ];
  }
  uses.atomic = outcome(() => Atomics.load(atomic, 0));
  out.uses = uses;
}

/**
 * Not asserted yet (the test is ignored): an async runtime op (node:crypto `pbkdf2`) handed a
 * view reads it on another thread after the memory was unmapped.
 */
async function pbkdf2(which: string): Promise<void> {
  const size = 1 << 20;
  let view: Uint8Array;
  let release: () => void;
  if (which === "exclusive") {
    const ex = ExclusiveSharedMemory.create(size);
    view = ex.asSlice();
    release = () => ex.close();
  } else if (which === "built") {
    const ex = ExclusiveSharedMemory.create(size);
    view = ex.asSlice();
    release = () => {
      const [host, guest] = ex.build();
      host.close();
      guest.close();
    };
  } else {
    const region = MmapRegion.create(size);
    view = region.getSlice(0, size).bytes();
    release = () => region.close();
  }
  // The salt is read again for each 64-byte block of the key: 256 reads of 1 MiB.
  const done = new Promise((resolve) =>
    nodeCrypto.pbkdf2("pw", view, 1, 64 * 256, "sha512", (e) => resolve(e === null))
  );
  release();
  out.pbkdf2 = await done;
}

/** Arguments a method of the guest classes takes, by name: enough to get past type checks. */
function argsFor(name: string, self: object): unknown[] {
  const bytes = new Uint8Array(1);
  if (/^write(U64|I64)$/.test(name)) return [0, 1n];
  if (/^write(U|I|F)\d+$/.test(name)) return [0, 1];
  if (name === "readAt" || name === "writeAt") return [0, bytes];
  if (["read", "write", "copyTo", "copyFrom"].includes(name)) return [bytes, 0];
  if (/^(read|write)Slice$|^copy(To|From)Slice$/.test(name)) return [bytes, 0];
  if (name === "fill") return [1, 0, 1];
  if (name === "getAtomicRef") return [0, "i32"];
  if (name === "withExclusivity") return [() => 1];
  if (name === "fdsOverlap") return [self];
  if (name === "setHugetlbfs") return [true];
  return [0, 1];
}

/** Every method of `object` (its prototype chain), called after close, twice closed first. */
function afterClose(object: object, close: () => void): Record<string, string> {
  close();
  const second = outcome(close);
  const row: Record<string, string> = { "close again": second };
  for (
    let p = Object.getPrototypeOf(object);
    p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name === "constructor" || name === "close" || name in row) continue;
      // deno-lint-ignore no-explicit-any
      const method = (object as any)[name];
      if (typeof method === "function") {
        row[name] = outcome(() => method.apply(object, argsFor(name, object)));
      }
    }
  }
  return row;
}

/** Every class closed (twice), then every method called. */
function closed(): void {
  const ex = ExclusiveSharedMemory.create(P);
  out.exclusive = afterClose(ex, () => ex.close());
  const [host, guest] = ExclusiveSharedMemory.create(P).build();
  out.host = afterClose(host, () => host.close());
  out.guest = afterClose(guest, () => guest.close());
  const region = MmapRegion.create(P, { dirtyTracking: true });
  const slice = region.getSlice(0, 64);
  out.region = afterClose(region, () => region.close());
  out.slice = afterClose(slice, () => region.close());
  const mem = GuestMemoryMmap.fromRanges([[0, P], [P, P]]);
  out.mem = afterClose(mem, () => mem.close());
}

const mode = Deno.args[0];
switch (mode) {
  case "hostile":
    hostile();
    break;
  case "allOrNothing":
    allOrNothing();
    break;
  case "closed":
    closed();
    break;
  case "reuse":
    reuse();
    break;
  case "dropped":
    await dropped();
    break;
  case "exclusivity":
    await exclusivity();
    break;
  case "views":
    await views();
    break;
  case "pbkdf2":
    await pbkdf2(Deno.args[1]);
    break;
  default:
    throw new Error(`unknown mode ${mode}`);
}
console.log(JSON.stringify(out));
