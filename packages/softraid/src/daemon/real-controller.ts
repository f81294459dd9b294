// The production controller: softraid0 over the real engine, members opened
// as files, block devices or NBD exports, real time and randomness.
import { randomFillSync } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SoftraidController } from '../engine/controller/softraid.js';
import { openChunk } from '../chunk/open.js';
import { nodeKeyVault } from '../crypto/key-vault.js';
import type { ControllerFactory } from './main.js';

export const createRealController: ControllerFactory = (log) => new SoftraidController({
  openChunk,
  random: (bytes) => { randomFillSync(bytes); },
  clock: { nowMs: () => performance.now(), sleepMs: async (durationMs) => { await sleep(durationMs); } },
  log,
  keyVault: nodeKeyVault(),
});
