import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedMemoryIds } from './shared-memory-ids.js';

test('SharedMemoryIds: one number per piece of memory, registered once, on first use', () => {
  const registered: [number, SharedArrayBuffer][] = [];
  const ids = new SharedMemoryIds((id, memory) => registered.push([id, memory]), () => {});
  const first = new SharedArrayBuffer(16);
  const second = new SharedArrayBuffer(16);
  assert.equal(ids.idOf(first), 1);
  assert.equal(ids.idOf(second), 2);
  assert.equal(ids.idOf(first), 1);
  assert.deepEqual(registered, [[1, first], [2, second]]);
});
