/**
 * Channels between processes, and spawning a child with one.
 *
 * @module
 */

export { Channel, type ChannelMessage } from "./channel.ts";
export { ChannelListener } from "./listener.ts";
export { spawn, type SpawnOptions } from "./spawn.ts";
