/**
 * Futexes on shared memory, across processes.
 *
 * @module
 */

export { futexWait, futexWake } from "./futex.ts";
