// The answers bioctl gives to an administrator's slips, over the real
// daemon: each names the problem, and the exit status matches (item 7 of
// the operator-safety issue). One daemon; RAID 1 sd0 over a and b.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bioctl, run, startSoftraidd, workspace, type Daemon, type Workspace } from '@openbsd38/softraid/daemon/testing/softraidd-process.js';

let space: Workspace;
let daemon: Daemon;
const file = (name: string): string => join(space.directory, name);

before(async () => {
  space = workspace('bioctl-answers');
  mkdirSync(join(space.directory, 'disks'));
  for (const name of ['a', 'b', 'c', 'spare']) run('truncate', ['-s', String(32 * 1024 * 1024), join(space.directory, 'disks', name)]);
  run('truncate', ['-s', String(4 * 1024 * 1024), join(space.directory, 'disks', 'tiny')]);
  // Things a pattern like /dev/loop* also matches: a directory and a FIFO (as /dev/loop-control is no disk).
  mkdirSync(join(space.directory, 'disks', 'subdir'));
  run('mkfifo', [join(space.directory, 'disks', 'fifo')]);
  daemon = await startSoftraidd(space, daemonArgs());
  assert.equal(bioctl(space, ['-c', '1', '-l', `${disk('a')},${disk('b')}`, 'softraid0']).status, 0);
});

after(async () => {
  await daemon.stop();
  space.remove();
});

/** Every disk scanned at start; rebuilds and scrubs slow enough (1 MiB/s) to be seen running. */
function daemonArgs(): string[] {
  return ['--scan', join(space.directory, 'disks', '*'), '--rebuild-rate-min', '1m', '--rebuild-rate-max', '1m'];
}

function disk(name: string): string {
  return join(space.directory, 'disks', name);
}

test('--scan over a pattern passes over what cannot be a member (a directory, a FIFO) without a warning', () => {
  assert.doesNotMatch(daemon.log(), /subdir|fifo/);
});

test('a mistyped path in -H, -O and -R says the file does not exist', () => {
  for (const flag of ['-H', '-O', '-R']) {
    const device = flag === '-H' ? 'softraid0' : 'sd0';
    assert.deepEqual(bioctl(space, [flag, file('dsik-c'), device]),
      { status: 1, stdout: '', stderr: `bioctl: could not open ${file('dsik-c')}: No such file or directory\n` });
  }
});

test('channel:target as bioctl prints it: -O takes that chunk, -H and -R say what they need', () => {
  assert.deepEqual(bioctl(space, ['-H', '0:1', 'softraid0']), { status: 1, stdout: '',
    stderr: 'softraid0: 0:1.0 names a chunk already in a volume: bioctl -H needs the path (or NBD URI) of the disk to add\n' });
  assert.deepEqual(bioctl(space, ['-O', '0:7', 'sd0']), { status: 1, stdout: '', stderr: 'softraid0: Disk 0:7.0 does not exist\n' });
  assert.deepEqual(bioctl(space, ['-O', '0:1', 'sd0']), { status: 0, stdout: '', stderr: '' });
  assert.match(bioctl(space, ['sd0']).stdout, /sd0 +RAID1 \n +0 Online .*\n +1 Offline/);
  assert.equal(bioctl(space, ['-R', disk('c'), 'sd0']).status, 0);
});

test('exit statuses: a controller-wide scrub that starts nothing fails as one for a volume does; blinking a disk that does not exist fails', () => {
  // sd0 is rebuilding onto c (slowly): no scrub may start.
  assert.match(bioctl(space, ['sd0']).stdout, /Rebuild/);
  const one = bioctl(space, ['-t', 'start', 'sd0']);
  assert.deepEqual(one, { status: 1, stdout: '', stderr: 'softraid0: sd0: rebuild in progress\n' });
  assert.deepEqual(bioctl(space, ['-t', 'start', 'softraid0']), one);
  assert.deepEqual(bioctl(space, ['-b', '9:9', 'softraid0']), { status: 1, stdout: '', stderr: 'softraid0: Disk 9:9.0 does not exist\n' });
});

test('a hot spare: smaller than every chunk is warned about; creating over it says to take it out; -d SPARE takes it out', async () => {
  const tiny = bioctl(space, ['-H', disk('tiny'), 'softraid0']);
  assert.equal(tiny.status, 0);
  assert.match(tiny.stderr, new RegExp(`^softraid0: hot spare ${disk('tiny')} \\(4194304 bytes\\) is smaller than every volume's chunks \\(at least \\d+ bytes\\): it cannot replace any of them\\n$`));
  assert.equal(bioctl(space, ['-H', disk('spare'), 'softraid0']).stderr, '');

  for (const force of [[], ['-C', 'force']]) {
    assert.deepEqual(bioctl(space, [...force, '-c', '1', '-l', `${disk('spare')},${disk('tiny')}`, 'softraid0']), { status: 1, stdout: '',
      stderr: `softraid0: chunk ${disk('spare')} is a hot spare in softraid0's pool: take it out first with bioctl -d ${disk('spare')}\n` });
  }
  assert.deepEqual(bioctl(space, ['-d', disk('tiny')]), { status: 0, stdout: `softraid0: hot spare ${disk('tiny')} removed from the pool\n`, stderr: '' });
  assert.doesNotMatch(bioctl(space, ['softraid0']).stdout, /tiny/);
  assert.deepEqual(bioctl(space, ['-d', disk('a')]), { status: 1, stdout: '',
    stderr: `softraid0: ${disk('a')} is neither a volume nor a hot spare of softraid0\n` });
  // Gone for good: a restart that scans every disk does not put it back.
  await daemon.stop();
  daemon = await startSoftraidd(space, daemonArgs());
  const table = bioctl(space, ['softraid0']).stdout;
  assert.doesNotMatch(table, /tiny/);
  assert.match(table, new RegExp(`Hot spare .*<${disk('spare')}>`));
});

test('an empty SOFTRAID_SOCKET is as good as unset; an empty --socket is refused', () => {
  const unset = bioctl({ ...space, env: { ...space.env, SOFTRAID_SOCKET: '' } }, ['softraid0']);
  assert.equal(unset.status, 1);
  assert.match(unset.stderr, /^bioctl: Can't open \/run\/softraid\/control\.sock: /);
  assert.deepEqual(bioctl(space, ['--socket=', 'softraid0']), { status: 1, stdout: '', stderr: 'bioctl: --socket needs the path of softraidd\'s control socket\n' });
});
