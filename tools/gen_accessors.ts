/**
 * Generates the typed accessors (`readU8` ... `writeF64`) of every memory object from one table.
 *
 * Each accessor is written out as its own monomorphic function: a fast path (one bounds test,
 * one value test, one `DataView` call) and a fallback to the target's checked slow path. No
 * table lookup, closure or dynamic dispatch runs on the fast path; the table exists only here.
 *
 * Run `deno task gen` after changing this file; CI regenerates and fails when a checked-in
 * output differs. The outputs are formatted with `deno fmt` before they are written.
 *
 * The parts:
 * - `ACCESSORS`: one row per accessor: its name suffix, size in bytes, `DataView` getter and
 *   setter, and kind (`uint`, `int`, `bigint`, `float`), from which the value type, the
 *   fast-path value test and the slow-path value check follow (see `valueGuard`,
 *   `valueCheck`).
 * - `TARGETS`: one template per memory object. A template names its output file, the imports
 *   and the function-name prefix, and gives the code of one reader and one writer for a row.
 *
 * To add a target (say guest memory by guest address, or a volatile slice): add an entry to
 * `TARGETS` with its own `out` file (several targets may share one), `imports`, `prefix`,
 * `receiver` (the leading parameters, e.g. `mem: GuestMemoryState`), `address` (the name and
 * type of the position parameter, e.g. `addr: number`) and the bodies of `read`/`readSlow`/
 * `write`/`writeSlow`, built from the row helpers below (each accessor is a small fast function
 * and a separate checked one). A writer hook (dirty marking, say) is the target's `afterWrite`
 * statement: `write` and `writeSlow` place it after their store, without touching the table.
 * tests/tools/gen_accessors.test.ts checks that each row's fast value test and slow check
 * accept the same values. To add
 * an accessor, add a row; every target gets it. Then `deno task gen`, and give each new public
 * method its JSDoc in the class that exposes it.
 *
 * The class that exposes a target calls the generated functions through module constants
 * (`const { sharedReadU8, ... } = generated;`), not through the imports: V8 does not fold an
 * imported function binding, and the call through it measured 5-10% slower on `readU32`.
 *
 * @module
 */

/** What kind of value an accessor carries, which decides its checks. */
type Kind = "uint" | "int" | "bigint" | "ibigint" | "float";

/** One typed accessor: `read<name>`/`write<name>`. */
export interface Accessor {
  name: string;
  size: 1 | 2 | 4 | 8;
  getter: string;
  setter: string;
  kind: Kind;
}

/** The table every target is generated from. */
export const ACCESSORS: readonly Accessor[] = [
  { name: "U8", size: 1, getter: "getUint8", setter: "setUint8", kind: "uint" },
  { name: "U16", size: 2, getter: "getUint16", setter: "setUint16", kind: "uint" },
  { name: "U32", size: 4, getter: "getUint32", setter: "setUint32", kind: "uint" },
  { name: "I32", size: 4, getter: "getInt32", setter: "setInt32", kind: "int" },
  { name: "U64", size: 8, getter: "getBigUint64", setter: "setBigUint64", kind: "bigint" },
  { name: "F32", size: 4, getter: "getFloat32", setter: "setFloat32", kind: "float" },
  { name: "F64", size: 8, getter: "getFloat64", setter: "setFloat64", kind: "float" },
];

/**
 * Rows only some targets take (`Target.accessors`): hyperlight's host memory reads and writes
 * every integer width. `SharedBuffer` does not have them, so its output is unchanged.
 */
export const EXTRA_ACCESSORS: readonly Accessor[] = [
  { name: "I8", size: 1, getter: "getInt8", setter: "setInt8", kind: "int" },
  { name: "I16", size: 2, getter: "getInt16", setter: "setInt16", kind: "int" },
  { name: "I64", size: 8, getter: "getBigInt64", setter: "setBigInt64", kind: "ibigint" },
];

// ---- row helpers: the code pieces a template is built from -------------------------------------

/** The TypeScript type of the value. */
export function valueType(a: Accessor): string {
  return a.kind === "bigint" || a.kind === "ibigint" ? "bigint" : "number";
}

/** The `DataView` endianness argument: little-endian, none for a byte. */
function endian(a: Accessor): string {
  return a.size === 1 ? "" : ", true";
}

/** `data.getX(index, true)`. */
export function getCall(a: Accessor, data: string, index: string): string {
  return `${data}.${a.getter}(${index}${endian(a)})`;
}

/** `data.setX(index, value, true)`. */
export function setCall(a: Accessor, data: string, index: string, value: string): string {
  return `${data}.${a.setter}(${index}, ${value}${endian(a)})`;
}

function hex(n: number): string {
  return (n < 0 ? "-0x" : "0x") + Math.abs(n).toString(16);
}

/** The integer range of an `int`/`uint` row. */
function intRange(a: Accessor): [number, number] {
  const bits = 8 * a.size;
  return a.kind === "uint" ? [0, 2 ** bits - 1] : [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
}

/** A cheap test, true exactly when `value` is acceptable (the fast path's value test). */
export function valueGuard(a: Accessor, value: string): string {
  switch (a.kind) {
    case "float":
      return `typeof ${value} === "number"`;
    case "bigint":
      if (a.size !== 8) throw new Error(`${a.name}: only 64-bit bigints are supported`);
      // V8 lowers asUintN to 64-bit compares (for values below 2^63; above, the test deopts to
      // generic bigint code, still exact). The cheapest exact test of seven measured in a loop
      // of varying values: two bigint comparisons, asIntN with a sign test, a shift by 63, a
      // 63-bit asUintN, and storing asUintN's result all cost as much or more. It costs about
      // 0.2-0.45x of a bare `DataView.setBigUint64`; with no value test at all a host write is
      // still 1.8x one, because V8 peels and hoists the bare store's loop and not ours (the
      // branch to the slow path is a loop exit its loop peeler does not take). A writer with no
      // such branch (a failed check storing at offset -1, the view's own check throwing into a
      // catch that takes the slow path) measured 1.72-2.00x, but the first refused write then
      // deoptimizes the store as out of bounds and V8 never inlines it again: every later write
      // cost 3.4x what it did (8.8 ns against 2.6), so one bad offset from a guest would slow the
      // host for good (tools/inlined_exit.ts shows both). Not used.
      return `typeof ${value} === "bigint" && BigInt.asUintN(64, ${value}) === ${value}`;
    case "ibigint":
      return `typeof ${value} === "bigint" && BigInt.asIntN(64, ${value}) === ${value}`;
    case "uint":
      if (a.size === 4) return `typeof ${value} === "number" && ${value} >>> 0 === ${value}`;
      return `typeof ${value} === "number" && (${value} & ${hex(intRange(a)[1])}) === ${value}`;
    case "int": {
      if (a.size === 4) return `typeof ${value} === "number" && (${value} | 0) === ${value}`;
      const shift = 32 - 8 * a.size;
      return `typeof ${value} === "number" && (${value} << ${shift} >> ${shift}) === ${value}`;
    }
  }
}

/** The slow path's check of `value`: returns it, or throws `INVALID_ARGS` (from buffer_state). */
export function valueCheck(a: Accessor, value: string): string {
  switch (a.kind) {
    case "float":
      return `checkNumber(${value}, "value")`;
    case "bigint":
      return `checkU64Big(${value})`;
    case "ibigint":
      return `checkI64Big(${value})`;
    case "uint":
    case "int": {
      const [min, max] = intRange(a);
      return `checkInt(${value}, ${hex(min)}, ${hex(max)}, "value")`;
    }
  }
}

// ---- targets -----------------------------------------------------------------------------------

/** One memory object whose accessors are generated. */
export interface Target {
  /** The output file, relative to the repository root. */
  out: string;
  /** Import lines the generated code needs. */
  imports: string[];
  /** The function-name prefix: `<prefix>ReadU32`. */
  prefix: string;
  /** The class whose read methods call the readers (`SharedBufferSlice`, ...). */
  owner: string;
  /** The class whose write methods call the writers. */
  writeOwner: string;
  /** The leading parameters, e.g. `state: BufferState`. */
  receiver: string;
  /** The position parameter, e.g. `offset: number`. */
  address: string;
  /** The rows this target is generated for (default: `ACCESSORS`). */
  accessors?: readonly Accessor[];
  /** A statement run after every successful store (dirty marking): empty for none. */
  afterWrite?: (a: Accessor) => string;
  /**
   * The body of the reader of row `a`: the fast path, then `return <slow>(<receiver>,
   * <address>)`. Keeping the slow path in its own function keeps the fast one small enough
   * to inline and free of closures (a closure over a local would allocate a context on every
   * call, fast or not).
   */
  read: (a: Accessor, slow: string) => string;
  /** The body of the reader's slow path, a function of the same parameters. */
  readSlow: (a: Accessor) => string;
  /**
   * The body of the writer of row `a`, as `read`; `hook` is the target's `afterWrite`
   * statement on a line of its own (or "" without one), to be placed right after the store.
   */
  write: (a: Accessor, slow: string, hook: string) => string;
  /** The body of the writer's slow path, a function of the same parameters, `hook` as above. */
  writeSlow: (a: Accessor, hook: string) => string;
}

/** The fast-path condition shared by a `SharedBuffer` reader and writer. */
function sharedBounds(view: string, a: Accessor): string {
  return `win.${view}.length !== 0 && typeof offset === "number" && offset === offset >>> 0 &&
    offset + ${a.size} <= state.len`;
}

/** The imports of the guest-memory targets (one output file). */
const GUEST_IMPORTS = [
  `import { checkInt, checkNumber, checkU64Big } from "../mapping/buffer_state.ts";`,
  `import {
    checkI64Big, type GuestMemState, type HostState, type SliceState,
  } from "./accessor_state.ts";`,
];

/**
 * The fast-path bounds of a host access: within the cached view. That one test stands for
 * three: the view is empty once the host is closed, detached before the memory goes, and
 * parked (empty) while the lock is held (`HostState.park`); otherwise it spans exactly the
 * size the host recorded (`HostState.refresh`): one field and one compare where there were
 * three fields and the lock object (`writeU64` against a bare `DataView`, tools/guest_medians.ts,
 * median of 12 runs: 2.67x before, 2.28x after).
 */
function hostBounds(a: Accessor): string {
  return `typeof offset === "number" && offset === offset >>> 0 &&
    offset + ${a.size} <= h.u8.length`;
}

/** The fast-path bounds of a slice access: within its cached view (empty until taken). */
function sliceBounds(a: Accessor): string {
  return `typeof offset === "number" && offset === offset >>> 0 &&
    offset + ${a.size} <= s.view.length`;
}

/** Guest memory: hyperlight's host side, vm-memory's guest addresses and volatile slices. */
const GUEST_TARGETS: Target[] = [
  {
    out: "src/guest/accessors.generated.ts",
    imports: GUEST_IMPORTS,
    prefix: "host",
    owner: "HostSharedMemory",
    writeOwner: "HostSharedMemory",
    receiver: "h: HostState",
    address: "offset: number",
    accessors: [...ACCESSORS, ...EXTRA_ACCESSORS],
    read: (a, slow) => `
      // Within the cached view: the memory is mapped, the lock free, the size the host's own.
      if (${hostBounds(a)}) {
        return ${getCall(a, "h.data", "offset")};
      }
      return ${slow}(h, offset);`,
    readSlow: (a) => `
      const data = h.slowRead(offset, ${a.size});
      return ${getCall(a, "data", "h.at")};`,
    write: (a, slow, hook) => `
      if (${hostBounds(a)} && ${valueGuard(a, "value")}) {
        ${setCall(a, "h.data", "offset", "value")};${hook}
        return;
      }
      ${slow}(h, offset, value);`,
    writeSlow: (a, hook) => `
      const v = ${valueCheck(a, "value")};
      ${setCall(a, `h.slow(offset, ${a.size})`, "offset", "v")};${hook}`,
  },
  {
    out: "src/guest/accessors.generated.ts",
    imports: GUEST_IMPORTS,
    prefix: "guest",
    owner: "GuestMemoryMmap",
    writeOwner: "GuestMemoryMmap",
    receiver: "m: GuestMemState",
    address: "addr: number",
    read: (a, slow) => `
      const i = m.find(addr);
      if (i >= 0 && addr + ${a.size} <= m.ends[i]) return m.bufs[i].read${a.name}(addr - m.starts[i]);
      return ${slow}(m, addr);`,
    readSlow: (a) => `
      // Across adjacent regions (a copy), or OUT_OF_RANGE at a hole.
      return ${getCall(a, `m.spanning(addr, ${a.size})`, "0")};`,
    write: (a, slow) => `
      const i = m.find(addr);
      if (i >= 0 && addr + ${a.size} <= m.ends[i]) {
        const offset = addr - m.starts[i];
        m.bufs[i].write${a.name}(offset, value);
        // Marked after the store: a refused write throws first and marks nothing.
        const bitmap = m.bitmaps[i];
        if (bitmap !== null) bitmap.mark(offset, ${a.size});
        return;
      }
      ${slow}(m, addr, value);`,
    writeSlow: (a) => `
      const v = ${valueCheck(a, "value")};
      const bytes = new Uint8Array(${a.size});
      ${setCall(a, "new DataView(bytes.buffer)", "0", "v")};
      // Across adjacent regions, all or nothing; writeSlice marks the pages.
      m.writeSlice(bytes, addr);`,
  },
  {
    out: "src/guest/accessors.generated.ts",
    imports: GUEST_IMPORTS,
    prefix: "slice",
    owner: "VolatileSlice",
    writeOwner: "VolatileSlice",
    receiver: "s: SliceState",
    address: "offset: number",
    afterWrite: (a) => `if (s.bitmap !== null) s.bitmap.mark(s.base + offset, ${a.size});`,
    read: (a, slow) => `
      if (${sliceBounds(a)}) {
        return ${getCall(a, "s.data", "offset")};
      }
      return ${slow}(s, offset);`,
    readSlow: (a) => `
      s.cache();
      return s.buf.read${a.name}(offset);`,
    write: (a, slow, hook) => `
      if (${sliceBounds(a)} && ${valueGuard(a, "value")}) {
        ${setCall(a, "s.data", "offset", "value")};${hook}
        return;
      }
      ${slow}(s, offset, value);`,
    writeSlow: (a, hook) => `
      s.cache();
      s.buf.write${a.name}(offset, value);${hook}`,
  },
];

export const TARGETS: readonly Target[] = [
  {
    out: "src/mapping/accessors.generated.ts",
    imports: [
      `import {
        accessData, type BufferState, checkInt, checkLive, checkNumber, checkU64Big, typedAt,
      } from "./buffer_state.ts";`,
      `import { PERM_READ } from "../vmar/region.ts";`,
      `import { READ_WRITE } from "./window.ts";`,
    ],
    prefix: "shared",
    owner: "SharedBufferSlice",
    writeOwner: "SharedBufferSliceMut",
    receiver: "state: BufferState",
    address: "offset: number",
    read: (a, slow) => `
      const win = state.win;
      // A usable cached view proves the memory is mapped and readable: no other check needed.
      if (${sharedBounds("readView", a)}) {
        return ${getCall(a, "win.readData", "state.start + offset")};
      }
      return ${slow}(state, offset);`,
    readSlow: (a) => `
      return accessData(checkLive(state), typedAt(state, offset, ${a.size}), ${a.size}, PERM_READ,
        (d, i) => ${getCall(a, "d", "i")});`,
    write: (a, slow, hook) => `
      const win = state.win;
      // A usable cached view proves the memory is mapped and writable: bounds and value only.
      if (${sharedBounds("writeView", a)} && ${valueGuard(a, "value")}) {
        ${setCall(a, "win.writeData", "state.start + offset", "value")};${hook}
        return;
      }
      ${slow}(state, offset, value);`,
    writeSlow: (a, hook) => `
      checkLive(state);
      const v = ${valueCheck(a, "value")};
      accessData(state, typedAt(state, offset, ${a.size}), ${a.size}, READ_WRITE,
        (d, i) => ${setCall(a, "d", "i", "v")});${hook}`,
  },
  ...GUEST_TARGETS,
];

// ---- emitting ----------------------------------------------------------------------------------

const HEADER = "// generated by tools/gen_accessors.ts; do not edit (run `deno task gen`).";

function emitTarget(t: Target): string {
  const parts: string[] = [];
  for (const a of t.accessors ?? ACCESSORS) {
    const type = valueType(a);
    const after = t.afterWrite?.(a) ?? "";
    const hook = after === "" ? "" : `\n${after}`;
    const read = `${t.prefix}Read${a.name}`;
    const write = `${t.prefix}Write${a.name}`;
    const at = t.address.split(":")[0];
    parts.push(`
/** \`${t.owner}.read${a.name}\`: the ${a.size}-byte ${a.kind} at \`${at}\`. */
export function ${read}(${t.receiver}, ${t.address}): ${type} {${t.read(a, `${read}Slow`)}
}

/** The checked path of \`${read}\`. */
function ${read}Slow(${t.receiver}, ${t.address}): ${type} {${t.readSlow(a)}
}

/** \`${t.writeOwner}.write${a.name}\`: stores the ${a.size}-byte ${a.kind} \`value\` at \`${at}\`. */
export function ${write}(${t.receiver}, ${t.address}, value: ${type}): void {${
      t.write(a, `${write}Slow`, hook)
    }
}

/** The checked path of \`${write}\`. */
function ${write}Slow(${t.receiver}, ${t.address}, value: ${type}): void {${t.writeSlow(a, hook)}
}`);
  }
  return parts.join("\n");
}

/** The text of each output file, unformatted. */
export function render(): Map<string, string> {
  const files = new Map<string, Target[]>();
  for (const t of TARGETS) files.set(t.out, [...(files.get(t.out) ?? []), t]);
  const out = new Map<string, string>();
  for (const [path, targets] of files) {
    const imports = [...new Set(targets.flatMap((t) => t.imports))];
    out.set(
      path,
      `${HEADER}
/**
 * Typed accessors of ${
        targets.map((t) => `\`${t.owner}\`/\`${t.writeOwner}\``).join(", ")
      }, one monomorphic function
 * per accessor, from the table in tools/gen_accessors.ts.
 *
 * @module
 */

${imports.join("\n")}
${targets.map(emitTarget).join("\n")}
`,
    );
  }
  return out;
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  const written: string[] = [];
  for (const [path, text] of render()) {
    const file = new URL(path, root);
    await Deno.writeTextFile(file, text);
    written.push(file.pathname);
  }
  // Formatted with the repository's own settings (deno.json), whatever the caller's directory.
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", ...written],
    cwd: root.pathname,
  }).output();
  if (!fmt.success) {
    console.error(new TextDecoder().decode(fmt.stderr));
    Deno.exit(1);
  }
  for (const path of written) console.log(`generated ${path}`);
}
