/**
 * Worker for high_fd_child.ts: a second isolate with its own copy of the library (and so its
 * own table of high fd numbers). Commands: `adoptAndClose` (adopt an fd number of the main
 * isolate with `Vmo.unsafeFromFd` and close it), `create` (make and keep a VMO; replies its fd),
 * `churn` (create, check and close VMOs many times; replies the count of wrong contents).
 */

import { Vmo } from "../../mod.ts";
import { checkDistinct, fdOf } from "./high_fd_child.ts";

/** The Worker's global scope, typed for the two calls used here. */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};
const kept: Vmo[] = [];
const P = 4096;

scope.onmessage = async (e: MessageEvent) => {
  const msg = e.data;
  if (msg.cmd === "adoptAndClose") {
    Vmo.unsafeFromFd(msg.fd).close();
    scope.postMessage({ ok: true });
  } else if (msg.cmd === "create") {
    const vmo = Vmo.create(msg.size);
    kept.push(vmo);
    scope.postMessage({ fd: fdOf(vmo) });
  } else if (msg.cmd === "churn") {
    let wrong = 0;
    for (let round = 0; round < msg.rounds; round++) {
      const vmos = Array.from({ length: 20 }, () => Vmo.create(P));
      wrong += checkDistinct(vmos, P);
      for (const v of vmos) v.close();
      await new Promise((r) => setTimeout(r, 0));
    }
    scope.postMessage({ wrong });
  }
};
