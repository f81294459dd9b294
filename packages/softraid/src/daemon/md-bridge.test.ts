// softraid0's pool feeding a degraded md array, with the md controller on a
// hand-built sysfs tree and mdadm recorded: only a pool spare that is a block
// device as large as the array's members is taken; one mdadm refuses goes
// back to the pool. (The real kernel: bioctl's tests/e2e/md-pool-uml.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControllerEvent } from '@openbsd38/bio/controller.js';
import { FakeController } from '@openbsd38/bio/testing/fake-controller.js';
import type { CommandResult } from '@openbsd38/libutil/run-command.js';
import { MdController } from '@openbsd38/md/controller.js';
import { SysfsFixture, cleanRaid1 } from '@openbsd38/md/testing/sysfs-fixture.test-helper.js';
import { startMdBridge } from './md-bridge.js';

const componentBytes = 63488 * 1024;

async function until(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    assert.ok(Date.now() < deadline, `no ${what} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function world(mdadmStatus: number) {
  const fixture = new SysfsFixture().array('md0', cleanRaid1({ degraded: '1' }, { ubdb: { state: 'in_sync', slot: '0', size: '63488' } }));
  const fileDirectory = mkdtempSync(join(tmpdir(), 'md-bridge-'));
  const fileSpare = join(fileDirectory, 'spare.img');
  writeFileSync(fileSpare, '');
  const softraid = new FakeController();
  // A file (md takes block devices only), a block device too small, one that fits.
  for (const [name, sizeBytes] of [[fileSpare, 2 * componentBytes], ['/dev/loop0', componentBytes - 512], ['/dev/loop1', componentBytes]] as const) {
    softraid.chunkSizes.set(name, sizeBytes);
    softraid.hotSpares.push({ name, sizeBytes });
  }
  const calls: string[][] = [];
  const result: CommandResult = { status: mdadmStatus, signal: null, timedOut: false, startError: null, stdout: '', stderr: mdadmStatus === 0 ? '' : 'mdadm: add new device failed\n', droppedBytes: 0, durationMs: 1, aborted: false };
  const md = new MdController({ sysfsRoot: fixture.root, run: (args) => {
    calls.push([...args]);
    return Promise.resolve(result);
  } });
  const events: ControllerEvent[] = [];
  const lines: string[] = [];
  let changes = 0;
  const bridge = startMdBridge({ softraid, md, dispatch: (event) => events.push(event), log: (line) => lines.push(line), afterChange: () => { changes++; }, watchIntervalMs: 50 });
  return {
    softraid, calls, events, lines, get changes() { return changes; }, fileSpare,
    close(): void {
      bridge.stop();
      fixture.remove();
      rmSync(fileDirectory, { recursive: true, force: true });
    },
  };
}

test('a degraded md array with no spare takes the first pool spare that is a large enough block device', async () => {
  const w = world(0);
  try {
    await until('MoveSpare', () => w.events.some((event) => event.name === 'MoveSpare'));
    assert.deepEqual(w.calls, [['/dev/md0', '--add', '/dev/loop1']]);
    assert.deepEqual(w.softraid.hotSpares.map((spare) => spare.name), [w.fileSpare, '/dev/loop0']);
    assert.deepEqual(w.events.map((event) => event.name), ['DegradedArray', 'MoveSpare']);
    assert.deepEqual(w.events[1], { name: 'MoveSpare', device: 'md0', member: '/dev/loop1' });
    assert.ok(w.lines.includes('hot spare /dev/loop1 moved from softraid0\'s pool to md0, which rebuilds onto it'));
    assert.equal(w.changes, 1);
  } finally {
    w.close();
  }
});

test('when mdadm refuses, the spare goes back to the pool and the refusal is logged', async () => {
  const w = world(1);
  try {
    await until('the spare returned', () => w.lines.some((line) => line.includes('returned to softraid0\'s pool')));
    assert.deepEqual(w.calls, [['/dev/md0', '--add', '/dev/loop1']]);
    assert.ok(w.softraid.hotSpares.some((spare) => spare.name === '/dev/loop1'));
    assert.match(w.lines.find((line) => line.startsWith('hot spare /dev/loop1 not moved'))!, /exited with status 1: mdadm: add new device failed$/);
    assert.ok(!w.events.some((event) => event.name === 'MoveSpare'));
  } finally {
    w.close();
  }
});
