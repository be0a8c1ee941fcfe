/**
 * Crash child: hostile arguments to every `Vmar` method, in a loop, on a live sub-VMAR, on
 * the process root, on a destroyed VMAR and on a closed handle: negative, fractional, NaN,
 * infinite, huge and non-number values in every numeric position, non-buffers in the buffer
 * positions, non-VMOs in the VMO position, and foreign `this` values. Everything must end in a
 * `ZxError` (or a harmless success) with the status the API promises, and the process lives.
 *
 * docs/semantics.md §0: a size, offset or address that is not a non-negative integer is `INVALID_ARGS`;
 * flags and ops must be 32-bit unsigned integers (`INVALID_ARGS`); a closed handle is
 * `BAD_HANDLE`; a non-VMO in the VMO slot is `BAD_HANDLE` (not a handle) or `WRONG_TYPE`.
 *
 * @module
 */

import { Status, Vmar, VmarFlags as F, VmarOp, Vmo } from "../../../mod.ts";
import { CAN, Checker, P, R, RW } from "./common.ts";

const c = new Checker("hostile-args");

/** Not a non-negative integer: INVALID_ARGS wherever a size, offset, address or flag goes. */
const BAD_SHAPE: unknown[] = [
  -1,
  -P,
  -0.5,
  0.5,
  P + 0.5,
  NaN,
  Infinity,
  -Infinity,
  -(2 ** 53),
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  "4096",
  "",
  null,
  undefined,
  {},
  [],
  [P],
  true,
  4096n,
  Symbol("s"),
  () => P,
  new Number(P),
];
/** Integers, but huge or odd: any ZxError (or success) will do, as long as nothing breaks. */
const HUGE: number[] = [
  -0,
  2 ** 31,
  2 ** 32,
  2 ** 32 - 1,
  2 ** 47,
  2 ** 47 - P,
  2 ** 48,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  2 ** 64,
  2 ** 64 - P,
  Number.MAX_VALUE,
  0xffff_f000,
];
/** Not a Uint8Array. */
const BAD_BUFFERS: unknown[] = [
  null,
  undefined,
  {},
  [1, 2, 3],
  "abc",
  4,
  new Uint16Array(4),
  new DataView(new ArrayBuffer(4)),
  new ArrayBuffer(4),
  { length: 4 },
];
/** Not an open VMO handle. */
const BAD_VMOS: unknown[] = [null, undefined, {}, 3, "vmo", Vmar.root()];

using vmo = Vmo.create(4 * P);
const closedVmo = Vmo.create(P);
closedVmo.close();
BAD_VMOS.push(closedVmo);

const root = Vmar.root();
const [region, base] = root.allocate(0, 64 * P, CAN);
const keeper = region.map(0, vmo, 0, 4 * P, RW);
const rootKeeper = root.map(0, vmo, 0, 4 * P, RW);
const [dead] = region.allocate(32 * P, 4 * P, CAN | F.SPECIFIC);
dead.destroy();
const [closedTarget] = region.allocate(40 * P, 4 * P, CAN | F.SPECIFIC);
const closed = closedTarget.duplicate();
closed.close();

type Kind = "u64" | "u32" | "vmo" | "buffer";
interface Method {
  name: string;
  kinds: Kind[];
  /** Valid arguments for a handle whose mapping is at `keep`. */
  defaults: (keep: number) => unknown[];
  /** Undoes a success. */
  cleanup: (vmar: Vmar, result: unknown, args: unknown[]) => void;
}

// deno-lint-ignore no-explicit-any
type AnyFn = (...args: any[]) => unknown;

const methods: Method[] = [
  {
    name: "allocate",
    kinds: ["u64", "u64", "u32"],
    defaults: () => [0, P, 0],
    cleanup: (_v, result) => (result as [Vmar, number])[0].destroy(),
  },
  {
    name: "map",
    kinds: ["u64", "vmo", "u64", "u64", "u32"],
    defaults: () => [0, vmo, 0, P, R],
    cleanup: (v, result, args) => v.unmap(result as number, Number(args[3]) || P),
  },
  { name: "unmap", kinds: ["u64", "u64"], defaults: (k) => [k + 8 * P, P], cleanup: () => {} },
  { name: "protect", kinds: ["u64", "u64", "u32"], defaults: (k) => [k, P, RW], cleanup: () => {} },
  {
    name: "opRange",
    kinds: ["u32", "u64", "u64"],
    defaults: (k) => [VmarOp.MAP_RANGE, k, P],
    cleanup: () => {},
  },
  {
    name: "readMemory",
    kinds: ["u64", "buffer"],
    defaults: (k) => [k, new Uint8Array(8)],
    cleanup: () => {},
  },
  {
    name: "writeMemory",
    kinds: ["u64", "buffer"],
    defaults: (k) => [k, new Uint8Array(8)],
    cleanup: () => {},
  },
];

const targets: [string, Vmar, number][] = [
  ["region", region, keeper],
  ["root", root, rootKeeper],
  ["dead", dead, base + 32 * P],
  ["closed", closed, base + 40 * P],
];

/** The statuses a hostile value of `kind` must give (null: anything but a crash). */
function expected(target: string, kind: Kind, value: unknown, bad: boolean): number[] | null {
  if (target === "closed") return [Status.BAD_HANDLE];
  if (kind === "vmo") return [Status.BAD_HANDLE, Status.WRONG_TYPE];
  if (bad) return [Status.INVALID_ARGS];
  if (kind === "u32" && typeof value === "number" && value > 0xffff_ffff) {
    return [Status.INVALID_ARGS];
  }
  return null;
}

const seen: Record<string, number> = {};
for (let round = 0; round < 3; round++) {
  for (const [targetName, target, keep] of targets) {
    for (const method of methods) {
      for (let position = 0; position < method.kinds.length; position++) {
        const kind = method.kinds[position];
        const values: [unknown, boolean][] = kind === "buffer"
          ? BAD_BUFFERS.map((v) => [v, true])
          : kind === "vmo"
          ? BAD_VMOS.map((v) => [v, true])
          : [
            ...BAD_SHAPE.map((v): [unknown, boolean] => [v, true]),
            ...HUGE.map((v): [unknown, boolean] => [v, false]),
          ];
        for (const [value, bad] of values) {
          // A huge but valid length could unmap this test's own region from the process root
          // (legitimately); only malformed values go to root.unmap.
          if (targetName === "root" && method.name === "unmap" && !bad) continue;
          const args = method.defaults(keep);
          args[position] = value;
          const fn = (target as unknown as Record<string, AnyFn>)[method.name];
          const got = c.outcome(() => fn.apply(target, args));
          const want = expected(targetName, kind, value, bad);
          const label = `${targetName}.${method.name} arg ${position} = ${String(value)}`;
          if (want !== null) c.judge(label, got, want);
          if (got.ok) {
            seen[`${method.name} OK`] = (seen[`${method.name} OK`] ?? 0) + 1;
            method.cleanup(target, got.value, args);
          }
          c.mix(got.ok ? 0 : -got.status);
        }
      }
    }
    // No-argument methods, and calls with no arguments at all.
    for (
      const name of [
        "destroy",
        "info",
        "infoMaps",
        "allocate",
        "map",
        "unmap",
        "protect",
        "opRange",
        "readMemory",
        "writeMemory",
      ]
    ) {
      if (name === "destroy" && (targetName === "region" || targetName === "root")) continue;
      const fn = (target as unknown as Record<string, AnyFn>)[name];
      const got = c.outcome(() => fn.apply(target, []));
      c.mix(got.ok ? 0 : -got.status);
    }
  }
  // Foreign `this`: a plain object, a VMO, a closed VMAR, null.
  for (const self of [{}, vmo, closed, null, undefined, Vmar.prototype]) {
    for (const method of methods) {
      const fn = (Vmar.prototype as unknown as Record<string, AnyFn>)[method.name];
      c.expectStatus(
        `${method.name} on a foreign this`,
        () => fn.apply(self, method.defaults(keeper)),
        [Status.BAD_HANDLE, Status.WRONG_TYPE],
      );
    }
  }
}

// Everything still works afterwards: the keeper mappings still read (once made read-write
// again: a protect with flags -0, which is 0, took their permissions), the region still maps.
c.expectOk("protect keeper", () => region.protect(keeper, 4 * P, RW));
c.expectOk("protect root keeper", () => root.protect(rootKeeper, 4 * P, RW));
c.read(region, keeper, 8, 8);
c.read(root, rootKeeper, 8, 8);
const again = c.expectOk("map after the storm", () => region.map(0, vmo, 0, P, RW));
if (again !== undefined) c.write(region, again, new Uint8Array([1, 2, 3]), 3);
console.error(
  `hostile-args: successes ${JSON.stringify(seen)}; statuses ${
    Object.keys(c.statuses).map((s) => s.replace(/^ZX_ERR_/, "")).join(",")
  }`,
);
root.unmap(rootKeeper, 4 * P);
region.destroy();
c.finish();
