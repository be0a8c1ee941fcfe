/**
 * The ring buffer of examples/ring/: one VMO mapped by a producer and a consumer process,
 * fixed 4 KiB slots, two counters and two "I am asleep" flags, and futex wake-ups only when the
 * other side sleeps. The producer waits on the tail counter when the ring is full, the consumer
 * on the head counter when it is empty.
 *
 * Not run by itself.
 *
 * @module
 */

import { futexWait, futexWake, type Mapping, Status, ZxError } from "../../mod.ts";

/** The message size the example measures. */
export const MESSAGE = 4096;
/** Slots in the ring. */
export const SLOTS = 256;
/** Counters and flags, each on its own cache line; the slots start at the second page. */
const HEAD = 0;
const TAIL = 64;
const CONSUMER_SLEEPS = 128;
const PRODUCER_SLEEPS = 192;
const DATA = 4096;
/** The ring's VMO size. */
export const RING_BYTES = DATA + SLOTS * MESSAGE;

/** The counters and flags of a ring, as `Atomics` views over a mapping of it. */
export class Ring {
  readonly #mapping: Mapping;
  readonly #words: Int32Array<ArrayBuffer>;

  constructor(mapping: Mapping) {
    this.#mapping = mapping;
    this.#words = mapping.int32View(0, PRODUCER_SLEEPS / 4 + 1);
  }

  /** Both counters back to 0 (before the consumer is told to start). */
  reset(): void {
    for (const at of [HEAD, TAIL, CONSUMER_SLEEPS, PRODUCER_SLEEPS]) {
      Atomics.store(this.#words, at / 4, 0);
    }
  }

  /**
   * Waits until the counter at `at` is no longer `seen`, telling the other side through the
   * flag at `flag` that it must wake us. The flag is stored before the counter is read again
   * (sequentially consistent), and the other side stores its counter before it reads the flag:
   * one of the two always sees the other.
   */
  async #waitWhile(at: number, flag: number, seen: number): Promise<void> {
    Atomics.store(this.#words, flag / 4, 1);
    while (Atomics.load(this.#words, at / 4) === seen) {
      try {
        await futexWait(this.#mapping, at, seen);
      } catch (error) {
        // BAD_STATE: the counter moved between our load and the wait.
        if (!(error instanceof ZxError && error.status === Status.BAD_STATE)) throw error;
      }
    }
    Atomics.store(this.#words, flag / 4, 0);
  }

  #publish(at: number, value: number, flag: number): void {
    Atomics.store(this.#words, at / 4, value);
    if (Atomics.load(this.#words, flag / 4) !== 0) futexWake(this.#mapping, at, 1);
  }

  /** Producer: how many slots are free for messages from `seq` on. */
  free(seq: number): number {
    return SLOTS - (seq - Atomics.load(this.#words, TAIL / 4));
  }

  /** Producer: copies `message` (`MESSAGE` bytes) into the slot of `seq` (must be free). */
  put(seq: number, message: Uint8Array): void {
    this.#mapping.writeAt(DATA + (seq % SLOTS) * MESSAGE, message);
  }

  /** Producer: hands every message before `end` to the consumer (waking it if it sleeps). */
  commit(end: number): void {
    this.#publish(HEAD, end, CONSUMER_SLEEPS);
  }

  /** Producer: waits until a slot is free for `seq`. */
  async waitFree(seq: number): Promise<void> {
    for (let tail = Atomics.load(this.#words, TAIL / 4); seq - tail >= SLOTS;) {
      await this.#waitWhile(TAIL, PRODUCER_SLEEPS, tail);
      tail = Atomics.load(this.#words, TAIL / 4);
    }
  }

  /** Consumer: how many messages from `seq` on are ready. */
  ready(seq: number): number {
    return Atomics.load(this.#words, HEAD / 4) - seq;
  }

  /** Consumer: copies message `seq` (it must be ready) out into `into`. */
  take(seq: number, into: Uint8Array): void {
    this.#mapping.readAt(DATA + (seq % SLOTS) * MESSAGE, into);
  }

  /** Consumer: whether message `seq` (it must be ready) carries its stamp, read in place. */
  stampedInPlace(seq: number): boolean {
    const at = DATA + (seq % SLOTS) * MESSAGE;
    return this.#mapping.readU32(at) === seq &&
      this.#mapping.readU32(at + MESSAGE - 4) === (~seq >>> 0);
  }

  /** Consumer: gives the slots of every message before `end` back (waking the producer). */
  release(end: number): void {
    this.#publish(TAIL, end, PRODUCER_SLEEPS);
  }

  /** Consumer: waits until message `seq` is ready. */
  async waitReady(seq: number): Promise<void> {
    for (let head = Atomics.load(this.#words, HEAD / 4); head <= seq;) {
      await this.#waitWhile(HEAD, CONSUMER_SLEEPS, head);
      head = Atomics.load(this.#words, HEAD / 4);
    }
  }
}

/** Messages a side moves before it publishes its counter: fewer wake-ups, some pipelining. */
export const BATCH = 32;

/** Stamps the message under `view` as `seq`: its first word is `seq`, its last `~seq`. */
export function stamp(view: DataView, seq: number): void {
  view.setUint32(0, seq, true);
  view.setUint32(view.byteLength - 4, ~seq >>> 0, true);
}

/** Whether `message` carries the stamp of `seq`. */
export function stamped(message: Uint8Array, seq: number): boolean {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  return view.getUint32(0, true) === seq &&
    view.getUint32(message.length - 4, true) === (~seq >>> 0);
}
