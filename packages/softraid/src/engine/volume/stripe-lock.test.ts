import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RangeLock } from './stripe-lock.js';

test('overlapping ranges run one after the other in arrival order; disjoint ones at once', async () => {
  const lock = new RangeLock(16);
  const order: string[] = [];
  const first = await lock.acquire(0, 100);
  const second = lock.acquire(50, 100).then((release) => { order.push('second'); return release; });
  const third = lock.acquire(120, 10).then((release) => { order.push('third'); return release; });
  const disjoint = await lock.acquire(1000, 10);
  order.push('disjoint');
  await Promise.resolve();
  assert.deepEqual(order, ['disjoint']);
  first();
  const releaseSecond = await second;
  assert.deepEqual(order, ['disjoint', 'second']);
  releaseSecond();
  (await third)();
  disjoint();
  assert.deepEqual(order, ['disjoint', 'second', 'third']);
  assert.equal(lock.size, 0);
});

test('a waiter blocks later overlapping requests even when what it waits for is elsewhere', async () => {
  const lock = new RangeLock(16);
  const a = await lock.acquire(0, 10);
  let bGranted = false;
  let cGranted = false;
  const b = lock.acquire(5, 20).then((release) => { bGranted = true; return release; });
  const c = lock.acquire(20, 5).then((release) => { cGranted = true; return release; });
  await Promise.resolve();
  assert.equal(bGranted, false);
  assert.equal(cGranted, false, 'c overlaps the waiting b and must not overtake it');
  a();
  (await b)();
  (await c)();
  assert.ok(bGranted && cGranted);
});

test('shared ranges run together; an exclusive one waits for them, and later shared ones wait behind it', async () => {
  const lock = new RangeLock(16);
  const readA = await lock.acquire(0, 100, 'shared');
  const readB = await lock.acquire(50, 100, 'shared');
  let writeGranted = false;
  let lateReadGranted = false;
  const write = lock.acquire(90, 20).then((release) => { writeGranted = true; return release; });
  const lateRead = lock.acquire(0, 100, 'shared').then((release) => { lateReadGranted = true; return release; });
  const elsewhere = await lock.acquire(500, 10, 'shared');
  await Promise.resolve();
  assert.equal(writeGranted, false, 'the write overlaps two readers');
  assert.equal(lateReadGranted, false, 'a reader arriving after a queued write must not overtake it');
  readA();
  await Promise.resolve();
  assert.equal(writeGranted, false);
  readB();
  (await write)();
  (await lateRead)();
  elsewhere();
  assert.ok(writeGranted && lateReadGranted);
  assert.equal(lock.size, 0);
});

test('an exclusive holder blocks a shared request over its range, not beside it', async () => {
  const lock = new RangeLock(16);
  const write = await lock.acquire(0, 10);
  let overlapping = false;
  const read = lock.acquire(5, 10, 'shared').then((release) => { overlapping = true; return release; });
  const beside = await lock.acquire(10, 10, 'shared');
  await Promise.resolve();
  assert.equal(overlapping, false);
  write();
  (await read)();
  beside();
  assert.equal(lock.size, 0);
});
