// An administrator's mistakes against the real softraidd and bioctl: none
// may take the daemon down, lose a byte of another volume, or go without a
// clear answer. Items 1-3 of the operator-safety issue: detaching an Offline
// volume, taking the last good chunk offline, detaching a volume a client
// is using, then a round of the other mistakes (items 5-7). One daemon for
// the whole file; sd0 is the bystander whose data must survive every
// mistake made on the others.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bioctl, run, softraiddPath, startSoftraidd, workspace, type Daemon, type Workspace } from '../../src/daemon/testing/softraidd-process.js';

let space: Workspace;
let daemon: Daemon;
const memberBytes = 32 * 1024 * 1024;
const file = (name: string): string => join(space.directory, name);
let bystanderDigest = '';

before(async () => {
  space = workspace('operator-mistakes');
  space.env['SOFTRAID_CONTROL_TIMEOUT'] = '2';
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']) run('truncate', ['-s', String(memberBytes), file(name)]);
  daemon = await startSoftraidd(space);
  assert.equal(bioctl(space, ['-c', '1', '-l', `${file('a')},${file('b')}`, 'softraid0']).status, 0);
  // The bystander's contents, written through NBD and read back at every step.
  writeFileSync(file('pattern'), createHash('sha512').update('bystander').digest().toString('hex').repeat(4096));
  run('nbdcopy', [file('pattern'), space.nbdUri('sd0')]);
  bystanderDigest = digestOfExport('sd0', readFileSync(file('pattern')).length);
});

after(async () => {
  await daemon.stop();
  space.remove();
});

function digestOfExport(device: string, lengthBytes: number): string {
  run('nbdcopy', [space.nbdUri(device), file('readback')]);
  return createHash('sha256').update(readFileSync(file('readback')).subarray(0, lengthBytes)).digest('hex');
}

/** The daemon is alive and the bystander volume reads back exactly. */
function assertBystanderIntact(): void {
  assert.equal(daemon.child.exitCode, null, `softraidd died:\n${daemon.log()}`);
  assert.match(bioctl(space, ['sd0']).stdout, /sd0 +RAID1/);
  assert.equal(digestOfExport('sd0', readFileSync(file('pattern')).length), bystanderDigest, 'the bystander volume lost data');
}

test('-O refuses to take the last good chunk offline (RAID 1 and RAID 5), names the way to force it; -C force -O does it', async () => {
  assert.equal(bioctl(space, ['-c', '1', '-l', `${file('c')},${file('d')}`, 'softraid0']).stdout, 'softraid0: RAID 1 volume attached as sd1\n');
  assert.deepEqual(bioctl(space, ['-O', file('c'), 'sd1']), { status: 0, stdout: '', stderr: '' });
  const refused = bioctl(space, ['-O', file('d'), 'sd1']);
  assert.equal(refused.status, 1);
  assert.equal(refused.stderr, `softraid0: chunk ${file('d')} not taken offline: it holds the last good copy of some of sd1's data, `
    + `and sd1 would go offline (its reads and writes would fail); bioctl -C force -O ${file('d')} sd1 takes it offline anyway\n`);
  assert.match(bioctl(space, ['sd1']).stdout, /sd1 +RAID1 \n.*Offline.*\n.*Online/, 'still Degraded, serving from d');

  assert.equal(bioctl(space, ['-c', '5', '-l', `${file('e')},${file('f')},${file('g')}`, 'softraid0']).stdout, 'softraid0: RAID 5 volume attached as sd2\n');
  assert.equal(bioctl(space, ['-O', file('e'), 'sd2']).status, 0);
  const raid5 = bioctl(space, ['-O', file('g'), 'sd2']);
  assert.equal(raid5.status, 1);
  assert.match(raid5.stderr, /not taken offline: it holds the last good copy of some of sd2's data, and sd2 would go offline/);

  assert.deepEqual(bioctl(space, ['-C', 'force', '-O', file('d'), 'sd1']), { status: 0, stdout: '', stderr: '' });
  assert.match(bioctl(space, ['sd1']).stdout, /softraid0 1 Offline/);
  await daemon.waitForLog(/sd1: chunk .*\/d set offline by request \(forced\)/);
  assertBystanderIntact();
});

test('-R on an Offline volume says it is offline, not "volume not degraded"', () => {
  const rebuild = bioctl(space, ['-R', file('h'), 'sd1']);
  assert.deepEqual(rebuild, { status: 1, stdout: '', stderr: 'softraid0: sd1 is offline: too few chunks are left to rebuild from\n' });
});

test('-d of an Offline volume detaches it; the daemon and every other volume live on', async () => {
  assert.deepEqual(bioctl(space, ['-d', 'sd1']), { status: 0, stdout: '', stderr: '' });
  assert.doesNotMatch(bioctl(space, ['softraid0']).stdout, /sd1/);
  await daemon.waitForLog(/sd1 detached by request/);
  assert.doesNotMatch(daemon.log(), /VolumeIoError|at MemberSet/);
  assertBystanderIntact();
});

test('-d of a volume a client is using is refused and says how to force it; forced, it is logged', async () => {
  const fuseDir = file('fuse');
  mkdirSync(fuseDir);
  const pidFile = file('nbdfuse.pid');
  const nbdfuse: ChildProcess = spawn('nbdfuse', ['-P', pidFile, fuseDir, space.nbdUri('sd2')], { stdio: 'ignore' });
  try {
    const deadline = Date.now() + 10_000;
    while (!existsSync(pidFile)) {
      assert.ok(Date.now() < deadline && nbdfuse.exitCode === null, 'nbdfuse did not come up');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // A write through the client, then the mistake.
    run('dd', ['if=/dev/urandom', `of=${join(fuseDir, 'nbd')}`, 'bs=64k', 'count=4', 'conv=notrunc,fsync', 'status=none']);
    // nbdfuse opens several connections (multi-conn): each counts.
    const refused = bioctl(space, ['-d', 'sd2']);
    assert.equal(refused.status, 1);
    const clients = Number(/in use by (\d+) NBD clients?/.exec(refused.stderr)?.[1]);
    assert.ok(clients >= 1, refused.stderr);
    assert.equal(refused.stderr, `softraid0: sd2 is in use by ${clients} NBD client${clients === 1 ? '' : 's'}: disconnect `
      + `${clients === 1 ? 'it' : 'them'} first, or detach anyway with bioctl -C force -d sd2\n`);
    assert.match(bioctl(space, ['sd2']).stdout, /sd2 +RAID5/, 'still attached');
    run('dd', ['if=/dev/urandom', `of=${join(fuseDir, 'nbd')}`, 'bs=64k', 'count=4', 'seek=8', 'conv=notrunc,fsync', 'status=none']);

    assert.deepEqual(bioctl(space, ['-C', 'force', '-d', 'sd2']), { status: 0, stdout: '', stderr: '' });
    await daemon.waitForLog(new RegExp(`sd2 detached by request while ${clients} NBD clients? (was|were) connected \\(forced\\)`));
  } finally {
    await new Promise((resolve) => { spawn('fusermount3', ['-u', '-z', fuseDir]).once('exit', resolve); });
    if (nbdfuse.exitCode === null) nbdfuse.kill('SIGKILL');
  }
  assertBystanderIntact();
});

test('a round of the other mistakes (items 5-7) against the same daemon: every one answered, the daemon and the bystander untouched', () => {
  const run1 = (args: string[], env: Record<string, string> = {}): ReturnType<typeof bioctl> => bioctl({ ...space, env: { ...space.env, ...env } }, args);
  const answers: [string[], RegExp][] = [
    [['-H', file('dsik-i'), 'softraid0'], /could not open .*dsik-i: No such file or directory/],
    [['-O', file('dsik-i'), 'sd0'], /could not open/],
    [['-R', file('dsik-i'), 'sd0'], /could not open/],
    [['-H', '0:1', 'softraid0'], /bioctl -H needs the path/],
    [['-R', '0:1', 'sd0'], /bioctl -R needs the path/],
    [['-O', '5:5', 'sd0'], /Disk 5:5\.0 does not exist/],
    [['-b', '9:9', 'softraid0'], /Disk 9:9\.0 does not exist/],
    [['-d', file('i')], /is neither a volume nor a hot spare/],
    [[`--socket=${space.nbdPath}`, 'softraid0'], /is not softraidd's control socket: it speaks NBD/],
    [['--socket=', 'softraid0'], /--socket needs the path/],
    [['-c', '6', '-l', `${file('h')},${file('i')},${file('a')},${file('b')}`, 'softraid0'], /already in use/],
    [['-c', '1', '-l', `${file('a')},${file('i')}`, 'softraid0'], /already in use \(a chunk of sd0\)/],
  ];
  for (const [args, answer] of answers) {
    const result = run1(args);
    assert.equal(result.status, 1, `bioctl ${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, answer, `bioctl ${args.join(' ')}`);
  }
  // A second daemon on this state directory.
  const second = spawnSync(process.execPath, [softraiddPath], {
    env: { ...process.env, ...space.env, SOFTRAID_SOCKET: file('second.sock'), SOFTRAID_NBD: file('second-nbd.sock') }, encoding: 'utf8', timeout: 15_000,
  });
  assert.equal(second.status, 1);
  assert.match(second.stderr, /is in use by another softraidd/);
  // nbdinfo pointed at the control socket gives up instead of hanging (this daemon's limit: 2 s).
  const nbdinfo = spawnSync('nbdinfo', [`nbd+unix:///?socket=${space.socketPath}`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(nbdinfo.signal, null, 'nbdinfo did not hang');
  assert.notEqual(nbdinfo.status, 0);
  assertBystanderIntact();
});
