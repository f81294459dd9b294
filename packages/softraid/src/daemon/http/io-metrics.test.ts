import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BlockDevice } from '@openbsd38/bio/block-device.js';
import { VolumeIoMetrics } from './io-metrics.js';

function device(readFails: boolean): BlockDevice {
  return {
    sizeBytes: 1 << 20, blockSizeMinBytes: 512, blockSizePreferredBytes: 4096, requestBytesMax: 1 << 20, readOnly: false, flushIsGlobal: true,
    read: async () => { if (readFails) throw new Error('EIO'); },
    write: async () => {}, writeZeroes: async () => {}, trim: async () => {}, flush: async () => {},
  };
}

test('requests are counted by operation, failures apart, latency in cumulative buckets; one wrapper per volume', async () => {
  const metrics = new VolumeIoMetrics();
  const inner = device(false);
  const sd0 = metrics.instrument('sd0', inner);
  assert.equal(metrics.instrument('sd0', inner), sd0, 'the same wrapper again');
  await sd0.write(0, new Uint8Array(4096), { fua: false });
  await sd0.write(0, new Uint8Array(8192), { fua: true });
  await sd0.flush();
  const failing = metrics.instrument('sd"1', device(true));
  await assert.rejects(failing.read(0, new Uint8Array(512)), /EIO/);
  const text = metrics.exposition();
  assert.match(text, /^softraid_volume_io_operations_total\{device="sd0",operation="write"\} 2$/m);
  assert.match(text, /^softraid_volume_io_bytes_total\{device="sd0",operation="write"\} 12288$/m);
  assert.match(text, /^softraid_volume_io_operations_total\{device="sd0",operation="flush"\} 1$/m);
  assert.match(text, /^softraid_volume_io_errors_total\{device="sd\\"1",operation="read"\} 1$/m);
  assert.match(text, /^softraid_volume_io_bytes_total\{device="sd\\"1",operation="read"\} 0$/m);
  assert.match(text, /^softraid_volume_io_duration_seconds_bucket\{device="sd0",operation="write",le="\+Inf"\} 2$/m);
  assert.match(text, /^softraid_volume_io_duration_seconds_count\{device="sd0",operation="write"\} 2$/m);
  // Buckets never decrease.
  const buckets = [...text.matchAll(/^softraid_volume_io_duration_seconds_bucket\{device="sd0",operation="write",le="[^"]+"\} (\d+)$/gm)].map((match) => Number(match[1]));
  assert.equal(buckets.length, 17);
  assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b));
  assert.match(text, /^# TYPE softraid_volume_io_duration_seconds histogram$/m);
});
