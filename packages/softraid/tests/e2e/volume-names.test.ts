// A volume keeps its export name across detach, re-assembly and restarts:
// a client that reconnects to sd0 is never handed another volume's data.
// Re-assembling a detached volume clears noauto unless -C noauto asks to
// keep it. The real softraidd and bioctl, restarted between steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { bioctl, run, startSoftraidd, workspace } from '../../src/daemon/testing/softraidd-process.js';

interface JsonVolume { noauto: boolean; chunks: { name: string }[] }

test('detach keeps sd0 for its volume; a new volume takes sd1; re-assembly gets sd0 back and clears noauto; names survive restarts', async () => {
  const space = workspace('volume-names');
  const file = (name: string): string => join(space.directory, name);
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) run('truncate', ['-s', String(16 * 1024 * 1024), file(name)]);
  let daemon = await startSoftraidd(space);
  try {
    const volumes = (): Record<string, JsonVolume> => (JSON.parse(bioctl(space, ['--json', 'softraid0']).stdout) as { volumes: Record<string, JsonVolume> }).volumes;
    assert.equal(bioctl(space, ['-c', '1', '-l', `${file('a')},${file('b')}`, 'softraid0']).stdout, 'softraid0: RAID 1 volume attached as sd0\n');
    assert.equal(bioctl(space, ['-d', 'sd0']).status, 0);
    // The mistake: a new volume while sd0 is detached. It must not become sd0.
    assert.equal(bioctl(space, ['-c', '1', '-l', `${file('c')},${file('d')}`, 'softraid0']).stdout, 'softraid0: RAID 1 volume attached as sd1\n');
    const assembled = bioctl(space, ['-c', '1', '-l', `${file('a')},${file('b')}`, 'softraid0']);
    assert.equal(assembled.status, 0, assembled.stderr);
    assert.doesNotMatch(assembled.stderr + assembled.stdout, /roaming/);
    assert.match(assembled.stdout, /RAID 1 volume attached as sd0/);
    assert.match(assembled.stdout, /sd0 no longer noauto/);
    assert.equal(volumes()['sd0']!.noauto, false);
    assert.equal(volumes()['sd0']!.chunks[0]!.name, file('a'));

    // Both come back under their names after a restart.
    await daemon.stop();
    daemon = await startSoftraidd(space);
    assert.deepEqual(Object.keys(volumes()).sort(), ['sd0', 'sd1']);
    assert.equal(volumes()['sd1']!.chunks[0]!.name, file('c'));

    // Detached, then a restart: the name is still kept (state file), not handed to the next new volume.
    assert.equal(bioctl(space, ['-d', 'sd0']).status, 0);
    await daemon.stop();
    daemon = await startSoftraidd(space);
    assert.deepEqual(Object.keys(volumes()), ['sd1'], 'a detached volume is not assembled at start');
    assert.equal(bioctl(space, ['-c', '1', '-l', `${file('e')},${file('f')}`, 'softraid0']).stdout, 'softraid0: RAID 1 volume attached as sd2\n');
    // -C noauto on re-assembly keeps it noauto, and its name is kept across the next restart too.
    const noauto = bioctl(space, ['-C', 'noauto', '-c', '1', '-l', `${file('a')},${file('b')}`, 'softraid0']);
    assert.match(noauto.stdout, /attached as sd0/);
    assert.equal(volumes()['sd0']!.noauto, true);
    await daemon.stop();
    daemon = await startSoftraidd(space);
    assert.deepEqual(Object.keys(volumes()).sort(), ['sd1', 'sd2']);
    assert.match(bioctl(space, ['-c', '1', '-l', `${file('a')},${file('b')}`, 'softraid0']).stdout, /attached as sd0/);

    // A volume created over a detached volume's chunks with -C force ends it: its name is free again.
    assert.equal(bioctl(space, ['-d', 'sd0']).status, 0);
    assert.equal(bioctl(space, ['-C', 'force', '-c', '1', '-l', `${file('a')},${file('b')}`, 'softraid0']).stdout,
      'softraid0: RAID 1 volume attached as sd0\n');
  } finally {
    await daemon.stop();
    space.remove();
  }
});
