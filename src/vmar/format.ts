/**
 * A readable rendering of `Vmar.infoMaps()`, in the spirit of Fuchsia's `vmaps`.
 *
 * @module
 */

import { MapInfoType } from "./constants.ts";
import type { MapInfo } from "./info.ts";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** `1536` as `"1.5 KiB"`, `4096` as `"4 KiB"`. */
export function humanBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${text} ${UNITS[unit]}`;
}

function perms(mmuFlags: number): string {
  return (mmuFlags & 1 ? "r" : "-") + (mmuFlags & 2 ? "w" : "-") + (mmuFlags & 4 ? "x" : "-");
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(12, "0");
}

/**
 * Renders {@linkcode Vmar.infoMaps} records as an indented tree, one line a record: regions
 * with their range and size; mappings with permissions as `rwx`, the VMO's name and koid, the
 * VMO offset and committed bytes, sizes in human units.
 *
 * @example
 * ```ts
 * import { formatMaps, Vmar, VmarFlags, Vmo } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * using vmo = Vmo.create(8192);
 * vmo.setName("frames");
 * const [region] = Vmar.root().allocate(0, 1 << 20, VmarFlags.CAN_MAP_READ);
 * region.map(0, vmo, 0, 8192, VmarFlags.PERM_READ);
 * const text = formatMaps(region.infoMaps());
 * assert.match(text, /useralloc/);
 * assert.match(text, /r-- .* 8 KiB vmo "frames" koid \d+/);
 * region.destroy();
 * ```
 */
export function formatMaps(infos: MapInfo[]): string {
  const lines: string[] = [];
  for (const info of infos) {
    const indent = "  ".repeat(info.depth);
    const range = `${hex(info.base)}-${hex(info.base + info.size)}`;
    if (info.type === MapInfoType.MAPPING && info.mapping !== undefined) {
      const m = info.mapping;
      lines.push(
        `${indent}${perms(m.mmuFlags)} ${range} ${humanBytes(info.size).padStart(9)} ` +
          `vmo ${JSON.stringify(info.name)} koid ${m.vmoKoid} @0x${m.vmoOffset.toString(16)} ` +
          `committed ${humanBytes(m.committedBytes)}`,
      );
    } else {
      lines.push(`${indent}${info.name} ${range} ${humanBytes(info.size).padStart(9)}`);
    }
  }
  return lines.join("\n");
}
