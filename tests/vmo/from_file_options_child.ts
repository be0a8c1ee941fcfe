/**
 * Run by tests/vmo/from_file_options.test.ts in a child `deno run` with limited permissions:
 * `Vmo.fromFile(Deno.args[0], JSON.parse(Deno.args[1]))`, then prints what it gave as JSON:
 * `{ "status": <status or "ok:<stream size>"> }`.
 *
 * @module
 */

import { Vmo, ZxError } from "../../mod.ts";

const [path, options] = Deno.args;
let status: string | number;
try {
  using vmo = Vmo.fromFile(path, JSON.parse(options));
  status = `ok:${vmo.getStreamSize()}`;
} catch (error) {
  status = error instanceof ZxError ? error.status : `not a ZxError: ${error}`;
}
console.log(JSON.stringify({ status }));
