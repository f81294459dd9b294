// bioctl -c over temporary files, the table it prints, and requests the
// controller refuses — with nothing changed on disk for those.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bioctl, run, startSoftraidd, workspace, type Daemon, type Workspace } from '@openbsd38/softraid/daemon/testing/softraidd-process.js';

let space: Workspace;
let daemon: Daemon;
const memberBytes = 64 * 1024 * 1024;

const digest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

before(async () => {
  space = workspace('bioctl-create');
  // The run directory is world-searchable here, so only the socket's own mode keeps other users out.
  mkdirSync(join(space.directory, 'run'), { mode: 0o755 });
  chmodSync(space.directory, 0o755);
  for (const name of ['a', 'b', 'c', 'd', 'e', 'small']) run('truncate', ['-s', name === 'small' ? '1M' : String(memberBytes), join(space.directory, name)]);
  daemon = await startSoftraidd(space);
});

after(async () => {
  await daemon.stop();
  space.remove();
});

test('create RAID 1 and RAID 5; the table is OpenBSD\'s', () => {
  const raid1 = bioctl(space, ['-c', '1', '-l', 'a,b', 'softraid0']);
  assert.deepEqual(raid1, { status: 0, stdout: 'softraid0: RAID 1 volume attached as sd0\n', stderr: '' });
  const raid5 = bioctl(space, ['-C', 'noauto', '-c', '5', '-l', 'c,d,e', 'softraid0']);
  assert.deepEqual(raid5, { status: 0, stdout: 'softraid0: RAID 5 volume attached as sd1\n', stderr: '' });

  const table = bioctl(space, ['softraid0']);
  assert.equal(table.status, 0);
  const lines = table.stdout.split('\n');
  assert.equal(lines[0], 'Volume      Status               Size Device  ');
  assert.match(lines[1]!, /^softraid0 0 Online {5}[ 0-9]{14} sd0 {5}RAID1 $/);
  assert.equal(lines[2], `          0 Online     ${lines[2]!.slice(23, 37)} 0:0.0   noencl <${join(space.directory, 'a')}>`);
  assert.match(lines[4]!, /^softraid0 1 Online {5}[ 0-9]{14} sd1 {5}RAID5 $/);
  assert.equal(lines.length, 1 + 3 + 4 + 1);
  // RAID 5 of three equal members holds twice what RAID 1 of two does.
  const size = (line: string): number => Number(line.slice(23, 37).trim());
  assert.equal(size(lines[4]!), 2 * size(lines[1]!));

  const only = bioctl(space, ['-h', 'sd1']).stdout.split('\n');
  assert.equal(only.length, 1 + 4 + 1);
  assert.match(only[1]!, /^softraid0 1 Online {15}126M sd1 {5}RAID5 $/);

  const json = JSON.parse(bioctl(space, ['--json', 'softraid0']).stdout) as { volumes: Record<string, { level: string; noauto: boolean; chunks: unknown[] }> };
  assert.equal(json.volumes.sd1!.level, 'raid5');
  assert.equal(json.volumes.sd1!.noauto, true);
  assert.equal(json.volumes.sd0!.chunks.length, 2);
});

test('refused requests: messages, exit status 1, and no change on disk', () => {
  const files = ['a', 'b', 'c', 'small'].map((name) => join(space.directory, name));
  const before = files.map(digest);
  const inUse = bioctl(space, ['-c', '1', '-l', 'a,small', 'softraid0']);
  assert.equal(inUse.status, 1);
  assert.match(inUse.stderr, /^softraid0: .*already in use/m);
  assert.equal(inUse.stdout, '');

  assert.deepEqual(bioctl(space, ['-c', '5', '-l', 'small,b', 'softraid0']), { status: 1, stdout: '', stderr: 'bioctl: not enough disks\n' });
  assert.deepEqual(bioctl(space, ['sd7']), { status: 1, stdout: '', stderr: `bioctl: Can't locate sd7 device via ${space.socketPath}\n` });
  assert.deepEqual(bioctl(space, ['-d', 'sd7']), { status: 1, stdout: '', stderr: `bioctl: Can't locate sd7 device via ${space.socketPath}\n` });
  assert.deepEqual(bioctl(space, ['-c', '1', '-l', 'a,b', 'sd0']), { status: 1, stdout: '', stderr: 'bioctl: must use bio device\n' });
  assert.deepEqual(bioctl(space, ['-t', 'stop', 'softraid0']), { status: 1, stdout: '', stderr: 'softraid0: no scrub in progress\n' });
  assert.deepEqual(bioctl(space, ['-c', '9', '-l', 'a,b', 'softraid0']), { status: 1, stdout: '', stderr: 'bioctl: unsupported RAID level\n' });
  assert.deepEqual(files.map(digest), before, 'refused requests wrote nothing');
});

test('another user cannot use the control socket (mode 0600)', () => {
  const refused = bioctl(space, ['softraid0'], { uid: 'nobody' });
  assert.deepEqual(refused, { status: 1, stdout: '', stderr: `bioctl: Can't open ${space.socketPath}: Permission denied\n` });
  const refusedCreate = bioctl(space, ['-d', 'sd0'], { uid: 'nobody' });
  assert.equal(refusedCreate.status, 1);
  assert.match(bioctl(space, ['sd0']).stdout, /sd0 {5}RAID1 /, 'the volume is still there');
});

test('detach keeps the metadata; the chunks are free again only after it', () => {
  assert.deepEqual(bioctl(space, ['-d', 'sd1']), { status: 0, stdout: '', stderr: '' });
  assert.ok(!bioctl(space, ['softraid0']).stdout.includes('sd1'));
  // Assembling the detached volume again from its members.
  const again = bioctl(space, ['-c', '5', '-l', 'c,d,e', 'softraid0']);
  assert.equal(again.status, 0, again.stderr);
  // Its name was kept for it, and assembling it by hand clears the noauto the detach set.
  assert.equal(again.stdout, 'softraid0: sd1 no longer noauto: it is assembled at start again\nsoftraid0: RAID 5 volume attached as sd1\n');
});
