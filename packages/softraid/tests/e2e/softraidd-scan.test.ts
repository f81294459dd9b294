// softraidd --scan: assembly by scanning patterns at start (softraid's boot-time
// assembly) — a volume and a hot spare come back with no state file at all, a
// noauto volume stays down, and files without metadata are ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bioctl, startSoftraidd, workspace } from '../../src/daemon/testing/softraidd-process.js';

test('softraidd --scan assembles every volume and spare found by the patterns, except noauto ones', async () => {
  const space = workspace('softraidd-scan');
  try {
    const disk = (name: string): string => {
      const path = join(space.directory, name);
      writeFileSync(path, '');
      truncateSync(path, 16 * 1024 * 1024);
      return path;
    };
    const [a, b, c, d, spare] = ['a.img', 'b.img', 'c.img', 'd.img', 'spare.img'].map(disk) as [string, string, string, string, string];
    disk('blank.img');
    const first = await startSoftraidd(space);
    assert.equal(bioctl(space, ['-c', '1', '-l', `${a},${b}`, 'softraid0']).status, 0);
    assert.equal(bioctl(space, ['-c', '1', '-C', 'noauto', '-l', `${c},${d}`, 'softraid0']).status, 0);
    assert.equal(bioctl(space, ['-H', spare, 'softraid0']).status, 0);
    assert.equal(await first.stop(), 0);

    // Forget everything the daemon remembered: only the on-disk metadata is left.
    rmSync(space.stateDirectory, { recursive: true, force: true });
    const second = await startSoftraidd(space, ['--scan', join(space.directory, '*.img')]);
    try {
      const table = bioctl(space, ['softraid0']);
      assert.equal(table.status, 0, table.stderr);
      const lines = table.stdout.split('\n');
      assert.match(lines[1]!, /^softraid0 0 Online +\d+ sd0 +RAID1 $/);
      assert.ok(lines.some((line) => line.endsWith(`<${a}>`)) && lines.some((line) => line.endsWith(`<${b}>`)), table.stdout);
      assert.match(table.stdout, new RegExp(`softraid0 1 Hot spare .*<${spare}>`));
      assert.ok(!table.stdout.includes(c), 'the noauto volume is not assembled by a scan');
      assert.match(second.log(), /NewArray event detected on sd0/);
    } finally {
      assert.equal(await second.stop(), 0);
    }
  } finally {
    space.remove();
  }
});
