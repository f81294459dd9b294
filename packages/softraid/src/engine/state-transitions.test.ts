import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertChunkTransition, assertVolumeTransition, volumeStateFromChunks } from './state-transitions.js';
import { AssertionError } from '@openbsd38/libutil/assert.js';

test('volume state follows chunk states per tolerance', () => {
  assert.equal(volumeStateFromChunks(['Online', 'Online'], 1), 'Online');
  assert.equal(volumeStateFromChunks(['Online', 'Offline'], 1), 'Degraded');
  assert.equal(volumeStateFromChunks(['Offline', 'Offline'], 1), 'Offline');
  assert.equal(volumeStateFromChunks(['Online', 'Rebuild'], 1), 'Rebuild');
  assert.equal(volumeStateFromChunks(['Online', 'Online', 'Offline', 'Offline'], 1), 'Offline');
  assert.equal(volumeStateFromChunks(['Online', 'Online', 'Online', 'Offline'], 1), 'Degraded');
  assert.equal(volumeStateFromChunks(['Online', 'Offline'], 0), 'Offline');
  assert.equal(volumeStateFromChunks(['Online', 'Scrubbing', 'Online'], 1), 'Scrubbing');
});

test('illegal transitions are assertion failures, legal ones pass', () => {
  assertChunkTransition(true, 'Online', 'Offline');
  assertChunkTransition(true, 'Hot spare', 'Rebuild');
  assertChunkTransition(false, 'Online', 'Online');
  assert.throws(() => assertChunkTransition(false, 'Offline', 'Rebuild'), AssertionError);
  assert.throws(() => assertChunkTransition(true, 'Online', 'Rebuild'), AssertionError);
  assertVolumeTransition('Degraded', 'Rebuild');
  assert.throws(() => assertVolumeTransition('Offline', 'Online'), AssertionError);
});
