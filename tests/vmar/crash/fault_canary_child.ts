/**
 * Crash child that faults on purpose: it reads a `PROT_NONE` page of a sub-VMAR directly.
 * The parent checks that such a fault is seen as exit status 139, so that the other children's
 * exit status 0 means something.
 *
 * @module
 */

import { Vmar, VmarFlags as F } from "../../../mod.ts";

const [region, base] = Vmar.root().allocate(0, 4096 * 4, F.CAN_MAP_READ);
console.log("RESULT " + JSON.stringify({ scenario: "fault-canary", reserved: region.info().len }));
const view = new Deno.UnsafePointerView(Deno.UnsafePointer.create(BigInt(base))!);
console.log(view.getUint8(0));
console.log("RESULT " + JSON.stringify({ scenario: "fault-canary-survived" }));
