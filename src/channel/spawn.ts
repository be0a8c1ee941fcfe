/**
 * `spawn`: a child process that starts with one end of a new channel.
 *
 * `Deno.Command` passes no fds beyond stdio, but a child inherits every fd without
 * `FD_CLOEXEC`. So the child's end has `FD_CLOEXEC` cleared just around the (synchronous)
 * `spawn()` call, its number goes in `VMO_CHANNEL_FD`, and the parent closes its copy after.
 * JavaScript on this thread cannot run in between, so two `spawn`s of one thread each give
 * their child only its own end. Another thread of this process (a `Worker`) that starts a
 * process during that window inherits the end too; the channel then sees `PEER_CLOSED` only
 * when both children have exited. docs/channel.md says what holds.
 *
 * @module
 */

import { F_GETFD, F_SETFD, FD_CLOEXEC } from "../../ffi/constants.ts";
import { libc } from "../../ffi/libc.ts";
import { describe } from "../args.ts";
import { fail, Status } from "../status.ts";
import { Channel, CHANNEL_ENV } from "./channel.ts";

/** Options of {@linkcode spawn}: those of `Deno.Command`. */
export type SpawnOptions = Deno.CommandOptions;

/**
 * Starts `command` as `new Deno.Command(command, opts).spawn()` does, with one end of a new
 * channel: the child gets it with {@linkcode Channel.fromEnv}; the parent gets the other end.
 * The child inherits exactly that one extra fd (named in the environment variable
 * `VMO_CHANNEL_FD`). Needs `--allow-run` (and the child, `--allow-env` for `fromEnv`).
 *
 * Errors: `INVALID_ARGS` for options that are not an object, or an `env` that sets
 * `VMO_CHANNEL_FD`; `NO_RESOURCES` when out of fds; what `Deno.Command` throws when the
 * command cannot start (a `Deno.errors.NotFound`, for one), after closing both ends.
 *
 * @example
 * ```ts
 * import { spawn } from "@vmo/vmo";
 * import assert from "node:assert/strict";
 *
 * const { child, channel } = spawn("sh", {
 *   args: ["-c", 'test -S /proc/self/fd/"$VMO_CHANNEL_FD"'],
 * });
 * assert.equal((await child.status).code, 0);
 * channel.close();
 * ```
 */
export function spawn(
  command: string | URL,
  opts: SpawnOptions = {},
): { child: Deno.ChildProcess; channel: Channel } {
  if (typeof opts !== "object" || opts === null) {
    fail(Status.INVALID_ARGS, `opts must be an object, got ${describe(opts)}`);
  }
  if (opts.env !== undefined && Object.hasOwn(opts.env, CHANNEL_ENV)) {
    fail(Status.INVALID_ARGS, `env cannot set ${CHANNEL_ENV}: spawn sets it`);
  }
  const [parentEnd, childEnd] = Channel.createPair();
  try {
    const fd = Channel.socketFdOf(childEnd);
    const env = { ...opts.env, [CHANNEL_ENV]: String(fd) };
    const flags = libc.fcntl(fd, F_GETFD, 0);
    libc.fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(command, { ...opts, env }).spawn();
    } finally {
      libc.fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
    return { child, channel: parentEnd };
  } catch (error) {
    parentEnd.close();
    throw error;
  } finally {
    childEnd.close();
  }
}
