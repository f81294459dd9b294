import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkStateFromCode, chunkStateCode, ChunkState } from './states.js';

test('chunk state codes round-trip and match bio(4)', () => {
  assert.equal(chunkStateCode['Hot spare'], 4);
  for (const state of Object.values(ChunkState)) assert.equal(chunkStateFromCode(chunkStateCode[state]), state);
  assert.equal(chunkStateFromCode(0x42), undefined);
});
