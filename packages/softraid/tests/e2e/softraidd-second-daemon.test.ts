// A second softraidd on a state directory another one holds (its own
// sockets, the same --state-dir) is refused at start, names the holder, and
// changes nothing: volumes.json keeps the first daemon's volumes and hot
// spares. A claim left by a daemon killed with SIGKILL is taken over, and a
// remembered spare missing at a start is not forgotten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { bioctl, run, softraiddPath, startSoftraidd, workspace } from '../../src/daemon/testing/softraidd-process.js';

test('a second softraidd on the same state directory is refused and writes nothing; after a kill -9 the next one starts', async () => {
  const space = workspace('second-daemon');
  const file = (name: string): string => join(space.directory, name);
  for (const name of ['a', 'b', 'spare']) run('truncate', ['-s', String(16 * 1024 * 1024), file(name)]);
  const first = await startSoftraidd(space);
  try {
    assert.equal(bioctl(space, ['-c', '1', '-l', `${file('a')},${file('b')}`, 'softraid0']).status, 0);
    assert.equal(bioctl(space, ['-H', file('spare'), 'softraid0']).status, 0);
    const statePath = join(space.stateDirectory, 'volumes.json');
    const state = readFileSync(statePath, 'utf8');
    assert.match(state, /spare/);

    const second = spawnSync(process.execPath, [softraiddPath], {
      env: { ...process.env, ...space.env, SOFTRAID_SOCKET: file('other-control.sock'), SOFTRAID_NBD: file('other-nbd.sock') },
      encoding: 'utf8', timeout: 15_000,
    });
    assert.equal(second.status, 1, second.stderr);
    assert.equal(second.stderr, `softraidd: state directory ${space.stateDirectory} is in use by another softraidd (process ${first.child.pid}): `
      + 'stop it first, or give this one its own --state-dir (and its own sockets)\n');
    assert.equal(readFileSync(statePath, 'utf8'), state, 'volumes.json untouched');
    assert.match(bioctl(space, ['softraid0']).stdout, /sd0 +RAID1[^]*Hot spare/, 'the first daemon serves on');

    first.child.kill('SIGKILL');
    await first.stop();
    const next = await startSoftraidd(space);
    try {
      const table = bioctl(space, ['softraid0']).stdout;
      assert.match(table, /sd0 +RAID1/);
      assert.match(table, /Hot spare/, 'the spare is remembered');
    } finally {
      await next.stop();
    }
    // A remembered spare that is missing at a start stays remembered, and comes back with its disk.
    renameSync(file('spare'), file('spare.away'));
    const without = await startSoftraidd(space);
    try {
      assert.doesNotMatch(bioctl(space, ['softraid0']).stdout, /Hot spare/);
      assert.match(without.log(), /hot spare .*spare not found; still remembered/);
      assert.match(readFileSync(statePath, 'utf8'), /spare"/);
    } finally {
      await without.stop();
    }
    renameSync(file('spare.away'), file('spare'));
    const back = await startSoftraidd(space);
    try {
      assert.match(bioctl(space, ['softraid0']).stdout, /Hot spare/);
    } finally {
      await back.stop();
    }
  } finally {
    await first.stop();
    space.remove();
  }
});
