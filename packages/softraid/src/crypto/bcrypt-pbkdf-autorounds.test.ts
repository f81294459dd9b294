// bcryptPbkdfAutoRounds: about the target time, never below 16 rounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { bcryptPbkdf } from './bcrypt-pbkdf.js';
import { autoRoundsMin, bcryptPbkdfAutoRounds, bcryptPbkdfMillisecondsPerRound } from './bcrypt-pbkdf-autorounds.js';

test('bcrypt-pbkdf-autorounds: a tiny target still gives the 16-round floor', () => {
  assert.equal(bcryptPbkdfAutoRounds(0.001), autoRoundsMin);
  assert.throws(() => bcryptPbkdfAutoRounds(0), /target/);
  assert.throws(() => bcryptPbkdfAutoRounds(Number.NaN), /target/);
});

test('bcrypt-pbkdf-autorounds: the rounds for a 300 ms target take roughly 300 ms', (context) => {
  const rounds = bcryptPbkdfAutoRounds(300);
  assert.ok(rounds >= autoRoundsMin);
  const start = performance.now();
  bcryptPbkdf(new TextEncoder().encode('testpassword'), new Uint8Array(128), rounds, 32);
  const elapsedMilliseconds = performance.now() - start;
  context.diagnostic(`${rounds} rounds, ${elapsedMilliseconds.toFixed(0)} ms, `
    + `${bcryptPbkdfMillisecondsPerRound().toFixed(2)} ms per round`);
  // Wide bounds: the machine is shared, and load only makes the timed run slower than the probe.
  if (rounds > autoRoundsMin) assert.ok(elapsedMilliseconds > 100, `${rounds} rounds took ${elapsedMilliseconds} ms`);
  assert.ok(elapsedMilliseconds < 3000, `${rounds} rounds took ${elapsedMilliseconds} ms`);
});
