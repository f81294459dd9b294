// Every limit of the NBD server, named with its unit last, with defaults.
import { KiB, MiB } from '@openbsd38/libutil/units.js';
import { assert } from '@openbsd38/libutil/assert.js';

export interface NbdServerLimits {
  /** Open connections, handshaking or transmitting; more are closed at once. */
  connectionsMax: number;
  /** Requests being served at once on one connection; beyond it the socket is not read. */
  requestsInFlightMax: number;
  /** Payload bytes (READ and WRITE) held for one connection's requests in flight. */
  inFlightBytesMax: number;
  /** Largest READ/WRITE payload advertised, whatever the device accepts. */
  payloadBytesMax: number;
  /** Option data kept in memory; longer options are skipped and refused. */
  optionBytesMax: number;
  /** Options accepted during one handshake before the client is dropped. */
  optionsMax: number;
  /** Time allowed from connection to the transmission phase. */
  handshakeTimeoutMs: number;
  /** Reply bytes queued in the socket before reading pauses. */
  replyQueueBytesMax: number;
  /** Free payload and reply buffers the server keeps for reuse (all connections together). */
  bufferPoolBytesMax: number;
}

export const DEFAULT_LIMITS: NbdServerLimits = {
  connectionsMax: 64,
  requestsInFlightMax: 64,
  inFlightBytesMax: 64 * MiB,
  payloadBytesMax: 32 * MiB,
  optionBytesMax: 16 * KiB,
  optionsMax: 256,
  handshakeTimeoutMs: 30_000,
  replyQueueBytesMax: 16 * MiB,
  bufferPoolBytesMax: 64 * MiB,
};

export function resolveLimits(partial: Partial<NbdServerLimits> | undefined): NbdServerLimits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    assert(Number.isSafeInteger(value) && value > 0, `NBD limit ${name} must be a positive integer, got ${value}`);
  }
  return limits;
}
