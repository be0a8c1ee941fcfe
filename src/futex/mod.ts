/**
 * Futexes on shared memory, across processes.
 *
 * @module
 */

export { futexWait, futexWake, MAX_CONCURRENT_WAITS } from "./futex.ts";
export type { MemoryRangeSource } from "../mapping/memory_range.ts";
