// nbdinfo (libnbd) sees the truth: size, transmission flags and block sizes
// of each export, the export list, and exports that appear and disappear
// while the server runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBlockDevice, nbdUnixUri, run, startServer } from './nbd-helpers.js';

interface NbdInfoExport {
  'export-name': string;
  'export-size': number;
  description?: string;
  is_read_only: boolean;
  can_flush: boolean;
  can_fua: boolean;
  can_trim: boolean;
  can_zero: boolean;
  can_multi_conn: boolean;
  block_size_minimum: number;
  block_size_preferred: number;
  block_size_maximum: number;
}

async function nbdinfo(args: string[]): Promise<{ exports: NbdInfoExport[] }> {
  const result = await run('nbdinfo', ['--json', ...args]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as { exports: NbdInfoExport[] };
}

test('nbdinfo reports size, flags, block sizes and the export list; exports come and go without restart', async () => {
  const fixture = await startServer();
  try {
    const raid5 = new MemoryBlockDevice(3 * 1024 * 1024, { blockSizeMinBytes: 4096, blockSizePreferredBytes: 3 * 65536, requestBytesMax: 1024 * 1024 });
    const readOnly = Object.assign(new MemoryBlockDevice(1024 * 1024, { readOnly: true }), { flushIsGlobal: false });
    fixture.registry.set('sd0', raid5, 'RAID 5 volume');
    fixture.registry.set('sd1', readOnly);

    const [sd0] = (await nbdinfo([nbdUnixUri(fixture.socketPath, 'sd0')])).exports;
    assert(sd0 !== undefined);
    assert.equal(sd0['export-size'], 3 * 1024 * 1024);
    assert.equal(sd0.description, 'RAID 5 volume');
    assert.equal(sd0.is_read_only, false);
    assert.equal(sd0.can_flush && sd0.can_fua && sd0.can_trim && sd0.can_zero, true);
    assert.equal(sd0.can_multi_conn, true);
    assert.equal(sd0.block_size_minimum, 4096);
    // The spec wants a power of two: a full stripe of 3 x 64 KiB is advertised as the strip.
    assert.equal(sd0.block_size_preferred, 65536);
    assert.equal(sd0.block_size_maximum, 1024 * 1024);

    const [sd1] = (await nbdinfo([nbdUnixUri(fixture.socketPath, 'sd1')])).exports;
    assert(sd1 !== undefined);
    assert.equal(sd1.is_read_only, true);
    assert.equal(sd1.can_multi_conn, false, 'CAN_MULTI_CONN only when flush is global');

    const listed = (await nbdinfo(['--list', nbdUnixUri(fixture.socketPath, '')])).exports.map((entry) => entry['export-name']).sort();
    assert.deepEqual(listed, ['sd0', 'sd1']);

    fixture.registry.set('sd2', new MemoryBlockDevice(2 * 1024 * 1024));
    fixture.registry.delete('sd1');
    const relisted = (await nbdinfo(['--list', nbdUnixUri(fixture.socketPath, '')])).exports.map((entry) => entry['export-name']).sort();
    assert.deepEqual(relisted, ['sd0', 'sd2']);
    const gone = await run('nbdinfo', [nbdUnixUri(fixture.socketPath, 'sd1')]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /sd1|unknown|not available|export/i);
  } finally {
    await fixture.cleanup();
  }
});
