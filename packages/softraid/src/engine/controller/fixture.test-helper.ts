// Test fixtures for the controller: named memory chunks standing in for
// files (opening one that is open hands out the same storage), a real and a
// manual clock, and polling. Shared by the controller's test files.
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { MemoryChunk } from '../../chunk/memory.js';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { SoftraidError } from '../errors.js';
import { MiB } from '@openbsd38/libutil/units.js';
import { SoftraidController } from './softraid.js';
import type { BioMessage, ControllerEvent } from '@openbsd38/bio/controller.js';
import type { ChunkBackend } from '../chunk.js';
import type { Clock } from '../volume/events.js';
import type { VolumeLimits } from '../volume/limits.js';
import type { KeyVault } from '../crypto/sector-cipher.js';

/** Time moves only when the test says so; sleepers wake in due order. */
export class ManualClock implements Clock {
  private now = 0;
  private sleepers: { dueMs: number; wake: () => void }[] = [];
  nowMs(): number {
    return this.now;
  }
  sleepMs(durationMs: number): Promise<void> {
    return new Promise((resolve) => this.sleepers.push({ dueMs: this.now + durationMs, wake: resolve }));
  }
  async advance(durationMs: number): Promise<void> {
    const end = this.now + durationMs;
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const next = this.sleepers.filter((sleeper) => sleeper.dueMs <= end).sort((a, b) => a.dueMs - b.dueMs)[0];
      if (!next) break;
      this.now = Math.max(this.now, next.dueMs);
      this.sleepers.splice(this.sleepers.indexOf(next), 1);
      next.wake();
    }
    this.now = end;
  }
}

export const realClock: Clock = { nowMs: () => performance.now(), sleepMs: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

export function fixture(sizes: Record<string, number>, options: { clock?: Clock; limits?: Partial<VolumeLimits>; keyVault?: KeyVault; chunks?: Map<string, MemoryChunk> } = {}) {
  // Another fixture's chunks: the next start of softraidd over the same disks.
  const chunks = options.chunks ?? new Map<string, MemoryChunk>();
  const random = seededRandom(7);
  for (const [name, sizeBytes] of Object.entries(sizes)) chunks.set(name, new MemoryChunk(name, sizeBytes, random));
  const events: ControllerEvent[] = [];
  const log: BioMessage[] = [];
  const controller = new SoftraidController({
    openChunk: async (name) => {
      const chunk = chunks.get(name);
      if (!chunk) throw new SoftraidError(`chunk ${name}: No such file or directory`);
      chunk.reopen();
      return chunk as ChunkBackend;
    },
    random: (bytes) => randomFillSync(bytes),
    clock: options.clock ?? realClock,
    volumeLimits: { rebuildRateBytesPerSecondMin: 1000 * MiB, rebuildRateBytesPerSecondMax: 1000 * MiB, ...options.limits },
    log: (message) => log.push(message),
    wallClockMs: () => Date.UTC(2026, 0, 2, 3, 4, 5),
    ...(options.keyVault === undefined ? {} : { keyVault: options.keyVault }),
  });
  controller.onEvent((event) => events.push(event));
  return { controller, chunks, events, log };
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

