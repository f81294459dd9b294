// The md controller's verbs on hand-built sysfs trees, with mdadm replaced by
// a recorder: the exact command lines it would run, refusals that run
// nothing and write nothing, and an mdadm failure carried whole. (The real
// mdadm and kernel: tests/e2e/uml-md.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandResult } from '@openbsd38/libutil/run-command.js';
import { MdController } from './controller.js';
import { SysfsFixture, cleanRaid1 } from './testing/sysfs-fixture.test-helper.js';

function result(status: number, stderr = ''): CommandResult {
  return { status, signal: null, timedOut: false, startError: null, stdout: '', stderr, droppedBytes: 0, durationMs: 1, aborted: false };
}

function setup(onRun: (args: readonly string[], fixture: SysfsFixture) => CommandResult = () => result(0)) {
  const fixture = new SysfsFixture().array('md0', cleanRaid1());
  const calls: string[][] = [];
  const controller = new MdController({ sysfsRoot: fixture.root, mdadm: 'mdadm', run: (args) => {
    calls.push([...args]);
    return Promise.resolve(onRun(args, fixture));
  } });
  return { fixture, calls, controller };
}

test('bioctl -c 1: mdadm --create with the defaults spelled out, and softraid\'s attach line', async () => {
  const { fixture, calls, controller } = setup((args, tree) => {
    tree.array('md1', cleanRaid1({}, { ubdd: { state: 'in_sync', slot: '0', size: '63488' }, ubde: { state: 'in_sync', slot: '1', size: '63488' } }));
    assert.equal(args[1], '/dev/md1');
    return result(0, 'mdadm: array /dev/md1 started.\n');
  });
  try {
    const reply = await controller.create({ level: 'raid1', chunkNames: ['/dev/ubdd', '/dev/ubde'], force: false, noAutoAssemble: false, stripSizeBytes: 65536 });
    assert.deepEqual(calls, [['--create', '/dev/md1', '--metadata=1.2', '--level=raid1', '--raid-devices=2', '--bitmap=internal', '/dev/ubdd', '/dev/ubde']]);
    assert.equal(reply.ok, true);
    assert.deepEqual(reply.messages, [{ type: 'info', text: 'RAID 1 volume attached as md1' }]);
    assert.equal(reply.result?.deviceName, 'md1');
  } finally {
    fixture.remove();
  }
});

test('bioctl -c 5 with a strip size and -C force: --chunk in KiB, --run --force; RAID 0 gets no bitmap', async () => {
  const { fixture, calls, controller } = setup(() => result(1, 'mdadm: stop here\n'));
  try {
    await controller.create({ level: 'raid5', chunkNames: ['/dev/a', '/dev/b', '/dev/c'], force: true, noAutoAssemble: false, stripSizeBytes: 131072, layout: 'left-symmetric' });
    await controller.create({ level: 'raid0', chunkNames: ['/dev/a', '/dev/b'], force: false, noAutoAssemble: false });
    assert.deepEqual(calls, [
      ['--create', '/dev/md1', '--metadata=1.2', '--level=raid5', '--raid-devices=3', '--bitmap=internal', '--chunk=128', '--layout=left-symmetric', '--run', '--force', '/dev/a', '/dev/b', '/dev/c'],
      ['--create', '/dev/md1', '--metadata=1.2', '--level=raid0', '--raid-devices=2', '/dev/a', '/dev/b'],
    ]);
  } finally {
    fixture.remove();
  }
});

test('an mdadm failure arrives with its command line, exit status and stderr', async () => {
  const { fixture, controller } = setup(() => result(1, 'mdadm: cannot open /dev/x: Device or resource busy\nmdadm: create aborted\n'));
  try {
    const reply = await controller.create({ level: 'raid1', chunkNames: ['/dev/x', '/dev/y'], force: false, noAutoAssemble: false });
    assert.equal(reply.ok, false);
    assert.equal(reply.messages.at(-1)?.text, 'mdadm --create /dev/md1 --metadata=1.2 --level=raid1 --raid-devices=2 --bitmap=internal /dev/x /dev/y '
      + 'exited with status 1: mdadm: cannot open /dev/x: Device or resource busy; mdadm: create aborted');
  } finally {
    fixture.remove();
  }
});

test('refusals run nothing: CRYPTO, a member of another array, -H with no array, the last good copy, scrub of a degraded array', async () => {
  const { fixture, calls, controller } = setup();
  try {
    const refusals = [
      await controller.create({ level: 'crypto', chunkNames: ['/dev/x'], force: false, noAutoAssemble: false }),
      await controller.create({ level: 'raid1', chunkNames: ['/dev/ubdb', '/dev/x'], force: false, noAutoAssemble: false }),
      await controller.addHotSpare('/dev/x', null),
      await controller.addHotSpare('/dev/ubdc', 'md0'),
      await controller.rebuild('md0', '/dev/x'),
      await controller.setOffline('md0', '/dev/x'),
      await controller.setOffline('md9', '/dev/ubdb'),
      await controller.stopScrub('md0'),
      await controller.removeHotSpare('/dev/ubdb'),
    ];
    assert.deepEqual(refusals.map((reply) => reply.messages.at(-1)?.text), [
      'md has no CRYPTO: create it on softraid (bioctl -c ... softraid0)',
      'chunk /dev/ubdb already in use (a chunk of md0)',
      'md\'s hot spares belong to an array: name it (bioctl -H /dev/x md0)',
      'chunk /dev/ubdc already in use (a chunk of md0)',
      'volume not degraded',
      'chunk /dev/x is not part of md0',
      'invalid device md9',
      'md0: no scrub in progress',
      '/dev/ubdb is neither a volume nor a hot spare of md',
    ]);
    assert.ok(refusals.every((reply) => !reply.ok));
    fixture.array('md1', cleanRaid1({ degraded: '1' }, { ubdd: { state: 'in_sync', slot: '0', size: '63488' } }));
    const lastCopy = await controller.setOffline('md1', '/dev/ubdd');
    assert.match(lastCopy.messages.at(-1)?.text ?? '', /^chunk \/dev\/ubdd not taken offline: it holds the last good copy/);
    const scrub = await controller.startScrub('md1', { repair: false });
    assert.equal(scrub.messages.at(-1)?.text, 'md1 is degraded: md scrubs only an array in sync (sync_action is idle)');
    assert.deepEqual(calls, []);
    assert.equal(readFileSync(join(fixture.root, 'block/md1/md/sync_action'), 'utf8'), 'idle\n');
  } finally {
    fixture.remove();
  }
});

test('-O, -H, -R and -d run mdadm on the array; -t start and stop write sync_action', async () => {
  const { fixture, calls, controller } = setup();
  try {
    assert.equal((await controller.setOffline('md0', '/dev/ubdc')).ok, true);
    assert.equal((await controller.addHotSpare('/dev/ubdd', 'md0')).ok, true);
    assert.equal((await controller.detach('md0')).ok, true);
    fixture.array('md1', cleanRaid1({ degraded: '1' }, { ubde: { state: 'in_sync', slot: '0', size: '63488' } }));
    assert.equal((await controller.rebuild('md1', '/dev/ubdf')).ok, true);
    assert.deepEqual(calls, [
      ['/dev/md0', '--fail', '/dev/ubdc', '--remove', '/dev/ubdc'], ['/dev/md0', '--add', '/dev/ubdd'], ['--stop', '/dev/md0'], ['/dev/md1', '--add', '/dev/ubdf'],
    ]);
    const started = await controller.startScrub('md0', { repair: true });
    assert.deepEqual(started.messages, [{ type: 'info', text: 'repair of md0 started' }]);
    assert.equal(readFileSync(join(fixture.root, 'block/md0/md/sync_action'), 'utf8'), 'repair');
    fixture.write('block/md0/md/sync_completed', '31744 / 126976\n');
    fixture.write('block/md0/md/mismatch_cnt', '8\n');
    assert.equal(controller.patrolStatus('md0').result?.status, 'active');
    const stopped = await controller.stopScrub(null);
    assert.deepEqual(stopped.messages, [{ type: 'info', text: 'scrub of md0 stopped at 25%: 8 mismatched sectors so far' }]);
    assert.equal(readFileSync(join(fixture.root, 'block/md0/md/sync_action'), 'utf8'), 'idle');
  } finally {
    fixture.remove();
  }
});

test('-t auto without a schedule file is refused: md scrubs when asked', () => {
  const { fixture, controller } = setup();
  try {
    assert.match(controller.setScrubSchedule({ mode: 'auto', intervalSeconds: 60, startSeconds: null }).messages[0]!.text, /without a schedule file, run bioctl -t start from cron/);
    assert.deepEqual(controller.patrolStatus(null).result, { mode: 'manual', intervalSeconds: 0, nextSeconds: 0, status: 'stopped' });
  } finally {
    fixture.remove();
  }
});
