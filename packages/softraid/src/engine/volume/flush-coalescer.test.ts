import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlushCoalescer } from './flush-coalescer.js';

function controlled() {
  const started: { chunkIndex: number; finish: (error?: Error) => void }[] = [];
  const flushChunk = (chunkIndex: number): Promise<void> => new Promise((resolve, reject) => {
    started.push({ chunkIndex, finish: (error) => (error ? reject(error) : resolve()) });
  });
  return { started, flushChunk };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('asks while a flush runs share one flush that starts after it; other chunks flush on their own', async () => {
  const { started, flushChunk } = controlled();
  const coalescer = new FlushCoalescer(2, flushChunk);
  const settled: string[] = [];
  const first = coalescer.flush(0).then(() => settled.push('first'));
  const second = coalescer.flush(0).then(() => settled.push('second'));
  const third = coalescer.flush(0).then(() => settled.push('third'));
  const other = coalescer.flush(1).then(() => settled.push('other'));
  assert.deepEqual(started.map((s) => s.chunkIndex), [0, 1], 'the later asks wait: the running flush may not cover their writes');
  started[0]!.finish();
  await turn();
  assert.deepEqual(settled, ['first']);
  assert.equal(started.length, 3, 'one more flush for the two that waited');
  started[2]!.finish();
  started[1]!.finish();
  await Promise.all([first, second, third, other]);
  assert.deepEqual(settled.sort(), ['first', 'other', 'second', 'third']);
  assert.deepEqual(coalescer.counters, { asked: 4, flushed: 3 });
});

test('a failed flush fails everyone who shares it; the next ask flushes again', async () => {
  const { started, flushChunk } = controlled();
  const coalescer = new FlushCoalescer(1, flushChunk);
  const first = coalescer.flush(0);
  const a = coalescer.flush(0);
  const b = coalescer.flush(0);
  started[0]!.finish(new Error('EIO'));
  await assert.rejects(first, /EIO/);
  await turn();
  started[1]!.finish(new Error('EIO again'));
  await assert.rejects(a, /EIO again/);
  await assert.rejects(b, /EIO again/);
  const c = coalescer.flush(0);
  assert.equal(started.length, 3);
  started[2]!.finish();
  await c;
});
