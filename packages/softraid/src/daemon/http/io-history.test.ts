import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IoOperation, IoTotals } from './io-metrics.js';
import { IoHistory } from './io-history.js';

type Totals = Record<IoOperation, IoTotals>;
const zero = (): IoTotals => ({ operations: 0, bytes: 0, errors: 0, sumSeconds: 0 });
const blank = (): Totals => ({ read: zero(), write: zero(), write_zeroes: zero(), trim: zero(), flush: zero() });

test('io history: rates and mean latencies per interval, writes with write_zeroes, bounded, gone with the volume', () => {
  const devices = new Map<string, Totals>([['sd0', blank()]]);
  const history = new IoHistory(() => devices, 2000, 3);
  history.sample(0);
  assert.deepEqual(history.of('sd0'), [], 'the first sample only sets the baseline');

  const sd0 = devices.get('sd0')!;
  sd0.read = { operations: 10, bytes: 4 * 1024 * 1024, errors: 0, sumSeconds: 0.02 };
  sd0.write = { operations: 4, bytes: 1024 * 1024, errors: 1, sumSeconds: 0.04 };
  sd0.write_zeroes = { operations: 1, bytes: 1024 * 1024, errors: 0, sumSeconds: 0.01 };
  history.sample(2000);
  const [first] = history.of('sd0');
  assert.deepEqual(first, {
    atMs: 2000, readBytesPerSecond: 2 * 1024 * 1024, writeBytesPerSecond: 1024 * 1024,
    readOperationsPerSecond: 5, writeOperationsPerSecond: 2.5, readLatencyMs: 2, writeLatencyMs: 10, errors: 1,
  });

  history.sample(4000);
  const idle = history.of('sd0')[1]!;
  assert.equal(idle.readBytesPerSecond, 0);
  assert.equal(idle.readLatencyMs, null, 'no reads: no latency, not zero');
  assert.equal(idle.writeLatencyMs, null);

  history.sample(6000);
  history.sample(8000);
  assert.deepEqual(history.of('sd0').map((sample) => sample.atMs), [4000, 6000, 8000], 'the oldest samples leave first');

  history.sample(8000);
  assert.equal(history.of('sd0').length, 3, 'no interval, no sample');
  devices.delete('sd0');
  history.sample(10_000);
  assert.deepEqual(history.of('sd0'), []);
});
