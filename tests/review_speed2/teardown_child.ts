/**
 * Child of teardown.test.ts: the one-call unmap inside one mapping (`unmapInOne`), the
 * `Mapping.close` direct path and the window that watches its one record, attacked in a
 * process of its own (a fault exits 139/135). Prints a JSON report as its last line; every
 * mode ends with the root's tree against /proc/self/maps (`problems`).
 */

import { Mapping, PAGE_SIZE as P, Status, Vmar, VmarFlags } from "../../mod.ts";
import { treeVersusKernel } from "../hardening/_util.ts";
import { procMaps } from "../_support/proc.ts";
import { outcomeOf } from "../_support/status.ts";

const R = VmarFlags.PERM_READ;
const report: Record<string, unknown> = {};
const root = Vmar.root();
const gc = (globalThis as { gc?: () => void }).gc;

/** The kernel's permissions at `addr` ("" when unmapped). */
function kernelAt(addr: number): string {
  const m = procMaps().find((x) => x.start <= addr && addr < x.end);
  return m === undefined ? "" : m.perms.slice(0, 3);
}

const mode = Deno.args[0];
for (let round = 0; round < 20; round++) {
  const [m, vmo] = Mapping.allocate(4 * P);
  const addr = m.addr;
  // No view in the unmap-then modes: memory that had views is quarantined, never reused.
  const v = mode.startsWith("unmap-then") ? new Uint8Array(0) : m.bytes();
  // (Nor a write: the window's own cached view counts as one.)
  if (!mode.startsWith("unmap-then")) m.writeAt(P, new Uint8Array([1]));
  if (mode === "close") {
    m.close();
    report.viewAfterClose = v.length;
    // Touching the detached view is harmless: it is empty.
    v[P] = 2;
    report.readDetached = v[P];
    report.secondClose = outcomeOf(() => m.close());
    report.writeAfterClose = outcomeOf(() => m.writeAt(0, new Uint8Array([1])));
    // Memory that had views stays harmless to touch: reserved, never given to something else
    // while a view could still name it... and whatever is there is not another mapping's.
    report.kernelAfterClose = kernelAt(addr + P);
  } else if (mode === "partial") {
    root.unmap(addr + P, P);
    report.viewAfterPartial = v.length;
    report.writeAfterPartial = outcomeOf(() => m.writeAt(0, new Uint8Array([1])));
    report.bytesAfterPartial = outcomeOf(() => m.bytes());
    report.kernelHole = kernelAt(addr + P);
    report.kernelRest = kernelAt(addr + 2 * P);
    report.close = outcomeOf(() => m.close());
    report.kernelRestAfterClose = kernelAt(addr + 2 * P);
  } else if (mode === "protect-unmap") {
    root.protect(addr, 4 * P, R);
    report.viewAfterProtect = v.length;
    report.bytesReadOnly = outcomeOf(() => m.bytes());
    report.readAfterProtect = outcomeOf(() => m.readAt(P, new Uint8Array(1)));
    root.unmap(addr, 4 * P);
    report.readAfterUnmap = outcomeOf(() => m.readAt(P, new Uint8Array(1)));
    report.close = outcomeOf(() => m.close());
    report.secondClose = outcomeOf(() => m.close());
  } else if (mode === "unmap-then-close" || mode === "unmap-then-gc") {
    root.unmap(addr, 4 * P);
    // Map until something lands at the freed address (root maps place first-fit).
    const others: Mapping[] = [];
    let other: Mapping | undefined;
    for (let i = 0; i < 64 && other === undefined; i++) {
      const [o] = Mapping.allocate(4 * P);
      if (o.addr === addr) other = o;
      else others.push(o);
    }
    report.reused = other !== undefined;
    if (other !== undefined) {
      other.bytes()[P] = 77;
      if (mode === "unmap-then-close") {
        report.close = outcomeOf(() => m.close());
      } else {
        // Drop `m` unclosed (the backstop runs when it is collected).
        for (let i = 0; i < 5; i++) {
          gc?.();
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      report.otherView = other.bytes().length;
      report.otherByte = other.bytes()[P];
      report.otherKernel = kernelAt(addr + P);
      other.close();
    }
    for (const o of others) o.close();
  } else if (mode === "callback") {
    // The mapping closed from inside the library's read of its arguments.
    const offset = { valueOf: () => (m.close(), 0) } as unknown as number;
    report.valueOfOffset = outcomeOf(() => m.writeAt(offset, new Uint8Array([3])));
    class Evil extends Uint8Array {
      override get length(): number {
        m.close();
        return 4096;
      }
      override subarray(): Uint8Array<ArrayBuffer> {
        m.close();
        return new Uint8Array(4096);
      }
    }
    report.evilSrc = outcomeOf(() => m.writeAt(0, new Evil(4096).fill(9)));
    report.afterEvil = outcomeOf(() => m.readAt(0, new Uint8Array(1)));
    report.viewAfterEvil = v.length;
    m.close();
    report.finalView = v.length;
  }
  vmo.close();
  if (round === 0) report.problems = treeVersusKernel(root.infoMaps());
}
report.problemsEnd = treeVersusKernel(root.infoMaps());
report.status = Status.OK;
console.log(JSON.stringify(report));
