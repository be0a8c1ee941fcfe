/**
 * Exact-status checks: every failure of the library throws a `ZxError` with a `Status`, and
 * the tests check which one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Status, statusName, Vmo, ZxError } from "../../mod.ts";

function render(status: number): string {
  return `${statusName(status)} (${status})`;
}

/**
 * Asserts that `fn` throws a `ZxError` whose status is exactly `status`, and returns it.
 * Anything else (no throw, another error class, another status) fails with a message that
 * names the expected and actual statuses.
 */
export function assertStatus(fn: () => unknown, status: Status, what = ""): ZxError {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    if (!(error instanceof ZxError)) {
      assert.fail(
        `${what ? what + ": " : ""}expected ZxError ${render(status)}, got ${
          error instanceof Error ? `${error.name}: ${error.message}` : String(error)
        }`,
      );
    }
    assert.equal(
      error.status,
      status,
      `${what ? what + ": " : ""}expected ${render(status)}, got ${
        render(error.status)
      } (${error.message})`,
    );
    assert.equal(error.name, "ZxError");
    assert.ok(
      error.message.startsWith(statusName(status) + ":"),
      `message "${error.message}" should start with "${statusName(status)}:"`,
    );
    return error;
  }
  if (result instanceof Vmo) result.close();
  assert.fail(`${what ? what + ": " : ""}expected ${render(status)}, but the call succeeded`);
}

/** The status `fn` throws, or 0 (OK) when it returns; other errors are rethrown. */
export function statusOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (error) {
    if (error instanceof ZxError) return error.status;
    throw error;
  }
}

/**
 * For a child's JSON report: the status `fn` throws, or `"ok"` when it returns (`"ok:N"` when
 * it returns a number N); other errors are rethrown.
 */
export function outcomeOf(fn: () => unknown): number | string {
  try {
    const r = fn();
    return typeof r === "number" ? `ok:${r}` : "ok";
  } catch (error) {
    if (error instanceof ZxError) return error.status;
    throw error;
  }
}
