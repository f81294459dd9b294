// volumes.json: what is written reads back whole (kept device names
// included), a file from before kept_device_names reads as one without any,
// and every mangled file is refused with StateFileError naming the file,
// never half-read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { StateFile, StateFileError, stateFileName, type RememberedVolumes } from './state-file.js';

const sample: RememberedVolumes = {
  version: 1,
  volumes: [{ device: 'sd1', uuid: '11111111-2222-4333-8444-555555555555', chunks: ['/dev/loop1', '/dev/loop2'] }],
  hot_spares: ['/dev/loop3'],
  kept_device_names: [{ device: 'sd0', uuid: '99999999-2222-4333-8444-555555555555' }],
};

function inDirectory(run: (directory: string, file: StateFile) => void): void {
  const directory = mkdtempSync(join(tmpdir(), 'state-file-'));
  try {
    run(directory, new StateFile(directory));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

test('volumes.json round trip, and a file from before kept_device_names', () => {
  inDirectory((directory, file) => {
    assert.equal(file.read(), undefined, 'no file yet');
    file.write(sample);
    assert.deepEqual(file.read(), sample);
    const older = { version: 1, volumes: sample.volumes, hot_spares: sample.hot_spares };
    writeFileSync(join(directory, stateFileName), JSON.stringify(older));
    assert.deepEqual(file.read(), older);
  });
});

test('mangled state files are refused with the file named, never half-read (2,000 mutations)', () => {
  inDirectory((directory, file) => {
    const path = join(directory, stateFileName);
    const text = JSON.stringify(sample, null, 2);
    const random = seededRandom(0x57a7e);
    let refused = 0;
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.from(text);
      for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 128);
      writeFileSync(path, bytes);
      let read: RememberedVolumes | undefined;
      try {
        read = file.read();
      } catch (error) {
        assert.ok(error instanceof StateFileError, `round ${round}: ${String(error)}`);
        assert.ok(error.message.startsWith(`${path}: `), error.message);
        refused++;
        continue;
      }
      // Accepted: then it has the shape the daemon relies on.
      assert.ok(read !== undefined && read.version === 1 && Array.isArray(read.volumes) && Array.isArray(read.hot_spares));
      for (const volume of read.volumes) assert.ok(volume.chunks.every((chunk) => typeof chunk === 'string'));
      for (const kept of read.kept_device_names ?? []) assert.ok(typeof kept.device === 'string' && typeof kept.uuid === 'string');
    }
    assert.ok(refused > 1000, `${refused} of 2000 refused`);
  });
});
