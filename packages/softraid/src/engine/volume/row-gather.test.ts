import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RowGather } from './row-gather.js';

const rowBytes = 300;

function recorder(fail = false) {
  const submitted: { offsetBytes: number; data: number[] }[] = [];
  const host = {
    submit: (offsetBytes: number, data: Uint8Array): Promise<void> => {
      submitted.push({ offsetBytes, data: [...data] });
      return fail ? Promise.reject(new Error('EIO from the members')) : Promise.resolve();
    },
    sleepMs: (durationMs: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, durationMs)),
  };
  return { submitted, host };
}

const bytes = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);

test('the tail of one write and the head of the next make one whole row, written once for both', async () => {
  const { submitted, host } = recorder();
  const gather = new RowGather(rowBytes, host, { arrivalsMax: 16, groupsMax: 64, holdMsMax: 10_000 });
  let tailDone = false;
  const tail = gather.offer(300 + 0, bytes(100, 1), true).then(() => { tailDone = true; });
  await Promise.resolve();
  assert.equal(submitted.length, 0, 'held, not written');
  assert.equal(tailDone, false, 'not acknowledged before it is written');
  const head = gather.offer(300 + 100, bytes(200, 2), false);
  assert.deepEqual(submitted.map((s) => [s.offsetBytes, s.data.length]), [[300, 300]]);
  assert.deepEqual(submitted[0]!.data, [...bytes(100, 1), ...bytes(200, 2)]);
  await Promise.all([tail, head]);
  assert.equal(tailDone, true);
  assert.deepEqual(gather.counters, { held: 1, rowsCompleted: 1, piecesMerged: 1, letGo: 1 });
  assert.equal(gather.heldRows, 0);
});

test('small sequential pieces accumulate until the row is whole; a piece before the held one joins at the front', async () => {
  const { submitted, host } = recorder();
  const gather = new RowGather(rowBytes, host);
  const pieces = [gather.offer(100, bytes(100, 2), true), gather.offer(0, bytes(100, 1), true), gather.offer(200, bytes(100, 3), true)];
  await Promise.all(pieces);
  assert.deepEqual(submitted, [{ offsetBytes: 0, data: [...bytes(100, 1), ...bytes(100, 2), ...bytes(100, 3)] }]);
});

test('what is held is let go, alone and first, when a piece overlaps it, leaves a gap, or may not wait', async () => {
  const { submitted, host } = recorder();
  const gather = new RowGather(rowBytes, host);
  const held = gather.offer(0, bytes(100, 1), true);
  const overlapping = gather.offer(50, bytes(100, 2), false);
  assert.deepEqual(submitted.map((s) => [s.offsetBytes, s.data.length]), [[0, 100], [50, 100]], 'arrival order kept');
  const again = gather.offer(0, bytes(10, 3), true);
  const gap = gather.offer(20, bytes(10, 4), true);
  assert.deepEqual(submitted.slice(2).map((s) => [s.offsetBytes, s.data.length]), [[0, 10]]);
  assert.equal(gather.heldRows, 1, 'the piece after the gap is held in turn');
  const adjacentNoWait = gather.offer(30, bytes(10, 5), false);
  assert.deepEqual(submitted.slice(3).map((s) => [s.offsetBytes, s.data.length]), [[20, 20]], 'merged, then written at once');
  await Promise.all([held, overlapping, again, gap, adjacentNoWait]);
  assert.equal(gather.heldRows, 0);
});

test('arrivals age held pieces out; releaseOverlapping and releaseAll let go by row and all', async () => {
  const { submitted, host } = recorder();
  const gather = new RowGather(rowBytes, host, { arrivalsMax: 2, groupsMax: 2, holdMsMax: 10_000 });
  const a = gather.offer(0, bytes(10, 1), true);
  gather.noteArrival();
  assert.equal(submitted.length, 0);
  gather.noteArrival();
  assert.equal(submitted.length, 1, 'two arrivals without completing the row');
  const b = gather.offer(300, bytes(10, 1), true);
  const c = gather.offer(600, bytes(10, 1), true);
  const d = gather.offer(900, bytes(10, 1), true);
  assert.deepEqual(submitted.slice(1).map((s) => s.offsetBytes), [300], 'beyond groupsMax the oldest goes');
  gather.releaseOverlapping(650, 300);
  assert.deepEqual(submitted.slice(2).map((s) => s.offsetBytes), [600, 900]);
  const e = gather.offer(1200, bytes(10, 1), true);
  gather.releaseAll();
  assert.deepEqual(submitted.slice(4).map((s) => s.offsetBytes), [1200]);
  await Promise.all([a, b, c, d, e]);
});

test('a failed merged write fails every request it carried', async () => {
  const { host } = recorder(true);
  const gather = new RowGather(rowBytes, host);
  const tail = gather.offer(0, bytes(100, 1), true);
  const head = gather.offer(100, bytes(200, 2), false);
  await assert.rejects(tail, /EIO/);
  await assert.rejects(head, /EIO/);
});

test('a piece that is a whole row, or crosses a row boundary, is a caller bug', () => {
  const gather = new RowGather(rowBytes, recorder().host);
  assert.throws(() => gather.offer(0, bytes(300, 1), true), /not inside one row/);
  assert.throws(() => gather.offer(250, bytes(100, 1), true), /not inside one row/);
});

test('a piece nobody completes is let go after holdMsMax', async () => {
  const { submitted, host } = recorder();
  const gather = new RowGather(rowBytes, host, { arrivalsMax: 16, groupsMax: 64, holdMsMax: 20 });
  const started = performance.now();
  await gather.offer(0, bytes(10, 1), true);
  assert.ok(performance.now() - started >= 15, 'held for about holdMsMax');
  assert.equal(submitted.length, 1);
});
