// md's events in mdadm's names, from successive looks at hand-built trees:
// the failure workflow (a member fails, the spare rebuilds, it is active),
// a check, arrays appearing and disappearing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ControllerEvent, InquiryView } from '@openbsd38/bio/controller.js';
import { MdController } from './controller.js';
import { eventBaseline, mdEvents, unreadableNotices } from './events.js';
import { SysfsFixture, cleanRaid1, type FixtureArray } from './testing/sysfs-fixture.test-helper.js';

const names = (events: ControllerEvent[]): string[] => events.map((event) => [event.name, event.device, event.member].filter(Boolean).join(' '));

/**
 * Successive looks at a fixture's tree, compared as softraidd's watch
 * compares them: each with the baseline the last one left (eventBaseline).
 */
function watcherOf(fixture: SysfsFixture): { first: InquiryView; baseline(): InquiryView; look(): string[] } {
  const controller = new MdController({ sysfsRoot: fixture.root });
  const first = controller.inquire();
  let baseline = first;
  return {
    first,
    baseline: () => baseline,
    look() {
      const after = controller.inquire();
      const events = names(mdEvents(baseline, after));
      baseline = eventBaseline(baseline, after);
      return events;
    },
  };
}

test('a member fails, the spare rebuilds through mdadm\'s steps and becomes active', () => {
  const fixture = new SysfsFixture().array('md0', cleanRaid1({}, {
    ubdb: { state: 'in_sync', slot: '0', size: '63488' }, ubdc: { state: 'in_sync', slot: '1', size: '63488' }, ubdd: { state: 'spare', slot: 'none', size: '63488' },
  }));
  try {
    const { first, look } = watcherOf(fixture);
    assert.deepEqual(names(mdEvents(null, first)), []);
    fixture.write('block/md0/md/dev-ubdc/state', 'faulty\n');
    fixture.write('block/md0/md/degraded', '1\n');
    fixture.write('block/md0/md/dev-ubdd/slot', '1\n');
    fixture.write('block/md0/md/sync_action', 'recover\n');
    fixture.write('block/md0/md/sync_completed', '50000 / 126976\n');
    assert.deepEqual(look(), ['Fail md0 /dev/ubdc', 'DegradedArray md0', 'RebuildStarted md0', 'Rebuild20 md0']);
    fixture.write('block/md0/md/sync_completed', '110000 / 126976\n');
    assert.deepEqual(look(), ['Rebuild40 md0', 'Rebuild60 md0', 'Rebuild80 md0']);
    rmSync(join(fixture.root, 'block/md0/md/dev-ubdc'), { recursive: true });
    fixture.write('block/md0/md/dev-ubdd/state', 'in_sync\n');
    fixture.write('block/md0/md/degraded', '0\n');
    fixture.write('block/md0/md/sync_action', 'idle\n');
    fixture.write('block/md0/md/sync_completed', 'none\n');
    assert.deepEqual(look(), ['RebuildFinished md0', 'SpareActive md0 /dev/ubdd']);
    fixture.write('block/md0/md/sync_action', 'check\n');
    assert.deepEqual(look(), ['ScrubStarted md0']);
    fixture.write('block/md0/md/sync_action', 'idle\n');
    assert.deepEqual(look(), ['ScrubFinished md0']);
  } finally {
    fixture.remove();
  }
});

test('a member failed and removed between two looks is a Fail', () => {
  const fixture = new SysfsFixture().array('md0', cleanRaid1());
  try {
    const controller = new MdController({ sysfsRoot: fixture.root });
    const before = controller.inquire();
    rmSync(join(fixture.root, 'block/md0/md/dev-ubdc'), { recursive: true });
    rmSync(join(fixture.root, 'block/md0/md/rd1'));
    fixture.write('block/md0/md/degraded', '1\n');
    assert.deepEqual(names(mdEvents(before, controller.inquire())), ['Fail md0 /dev/ubdc', 'DegradedArray md0']);
  } finally {
    fixture.remove();
  }
});

test('arrays that appear and disappear; an array degraded at the first look', () => {
  const fixture = new SysfsFixture().array('md0', cleanRaid1({ degraded: '1' }, { ubdb: { state: 'in_sync', slot: '0', size: '63488' } }));
  try {
    const controller = new MdController({ sysfsRoot: fixture.root });
    const first = controller.inquire();
    assert.deepEqual(names(mdEvents(null, first)), ['DegradedArray md0']);
    fixture.array('md1', cleanRaid1());
    const second = controller.inquire();
    assert.deepEqual(names(mdEvents(first, second)), ['NewArray md1']);
    rmSync(join(fixture.root, 'block/md0'), { recursive: true });
    assert.deepEqual(names(mdEvents(second, controller.inquire())), ['DeviceDisappeared md0']);
  } finally {
    fixture.remove();
  }
});

test('startWatching emits to onEvent listeners until stopped', async () => {
  const fixture = new SysfsFixture().array('md0', cleanRaid1());
  try {
    const controller = new MdController({ sysfsRoot: fixture.root });
    const seen: string[] = [];
    controller.onEvent((event) => seen.push(event.name));
    const stop = controller.startWatching(20);
    fixture.write('block/md0/md/sync_action', 'check\n');
    await eventually('ScrubStarted', () => seen.includes('ScrubStarted'));
    stop();
  } finally {
    fixture.remove();
  }
});

/** Waits (polling) until `predicate`, failing after 10 s with `what`. */
async function eventually(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    assert.ok(Date.now() < deadline, `no ${what} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('the watch says once when an array stays unreadable (its events wait) and once when it can be read again', async () => {
  const fixture = new SysfsFixture().array('md0', cleanRaid1());
  try {
    const controller = new MdController({ sysfsRoot: fixture.root });
    const seen: string[] = [];
    const notices: string[] = [];
    controller.onEvent((event) => seen.push(event.name));
    controller.onWatchNotice((line) => notices.push(line));
    const stop = controller.startWatching(10);
    try {
      fixture.write('block/md0/md/array_state', 'sleeping\n');
      fixture.write('block/md0/md/degraded', '1\n');
      await eventually('notice of md0 unreadable', () => notices.length > 0);
      assert.match(notices[0]!, /^md: md0 cannot be read: .*block\/md0\/md\/array_state: unknown word "sleeping"; its events wait until it can$/);
      // Several more looks at it unreadable: said once, and no events (the degraded count it shows is not believed).
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(notices.length, 1);
      assert.equal(seen.length, 0, seen.join());
      fixture.write('block/md0/md/array_state', 'clean\n');
      await eventually('notice of md0 readable again', () => notices.length > 1);
      assert.deepEqual(notices.slice(1), ['md: md0 can be read again']);
      await eventually('DegradedArray once readable', () => seen.includes('DegradedArray'));
    } finally {
      stop();
    }
  } finally {
    fixture.remove();
  }
});

test('one look unreadable (md caught mid-change) is not worth a notice', () => {
  const notices = new Map<string, number>();
  const [unreadable, readable] = twoLooks(cleanRaid1({ array_state: 'sleeping' }), (fixture) => fixture.write('block/md0/md/array_state', 'clean\n'));
  assert.deepEqual(unreadableNotices(notices, unreadable), []);
  assert.deepEqual(unreadableNotices(notices, readable), []);
  assert.deepEqual([...notices.keys()], []);
});

/** Two looks at md0: the tree `initial` makes, then the tree after `change`. */
function twoLooks(initial: FixtureArray, change: (fixture: SysfsFixture) => void): [InquiryView, InquiryView] {
  const fixture = new SysfsFixture().array('md0', initial);
  try {
    const controller = new MdController({ sysfsRoot: fixture.root });
    const first = controller.inquire();
    change(fixture);
    return [first, controller.inquire()];
  } finally {
    fixture.remove();
  }
}

test('an array starting (seen inactive while mdadm builds it, then running) is no SpareActive', () => {
  const [first, second] = twoLooks(cleanRaid1({ array_state: 'inactive' }), (fixture) => fixture.write('block/md0/md/array_state', 'clean\n'));
  assert.deepEqual([first.volumes[0]?.state, second.volumes[0]?.state], ['Offline', 'Online']);
  assert.deepEqual(names(mdEvents(first, second)), []);
});

test('mdadm --create as a look every 1 ms saw it (clear with members, inactive, running): NewArray, never SpareActive', () => {
  const fixture = new SysfsFixture().array('md0', { md: { array_state: 'clear', level: '', raid_disks: '', metadata_version: '1.2' } });
  try {
    const { first, baseline, look } = watcherOf(fixture);
    // Nothing behind md0 yet: not listed.
    assert.deepEqual(first.volumes, []);
    for (const member of ['ubdb', 'ubdc']) {
      fixture.write(`block/md0/md/dev-${member}/state`, '\n');
      fixture.write(`block/md0/md/dev-${member}/slot`, 'none\n');
    }
    assert.deepEqual(look(), ['NewArray md0']);
    assert.equal(baseline().volumes[0]?.state, 'Offline');
    fixture.write('block/md0/md/array_state', 'inactive\n');
    fixture.write('block/md0/md/level', '1\n');
    fixture.write('block/md0/md/raid_disks', '2\n');
    assert.deepEqual(look(), []);
    const running = cleanRaid1({ level: '1', sync_action: 'resync', sync_completed: '0 / 126976' });
    for (const [attribute, text] of Object.entries(running.md)) fixture.write(`block/md0/md/${attribute}`, `${text}\n`);
    for (const [slot, member] of ['ubdb', 'ubdc'].entries()) {
      fixture.write(`block/md0/md/dev-${member}/state`, 'in_sync\n');
      fixture.write(`block/md0/md/dev-${member}/slot`, `${slot}\n`);
    }
    assert.deepEqual(look(), []);
    assert.equal(baseline().volumes[0]?.state, 'Building');
    fixture.write('block/md0/md/level', 'raid1\n');
    fixture.write('block/md0/md/sync_action', 'idle\n');
    fixture.write('block/md0/md/sync_completed', 'none\n');
    assert.deepEqual(look(), []);
    assert.equal(baseline().volumes[0]?.state, 'Online');
  } finally {
    fixture.remove();
  }
});

test('after a look that could not read the array (Invalid), members seen Online are no SpareActive', () => {
  // No members at first: array() writes the whole array again, its members' rdN links included.
  const [first, second] = twoLooks(cleanRaid1({ array_state: 'sleeping' }, {}), (fixture) => fixture.array('md0', cleanRaid1()));
  assert.deepEqual([first.volumes[0]?.state, second.volumes[0]?.state], ['Invalid', 'Online']);
  assert.deepEqual(names(mdEvents(first, second)), []);
});

test('a transient misread (Invalid) in the middle of a rebuild has no events and hides none: the next look is compared with the last good one', () => {
  const fixture = new SysfsFixture().array('md0', cleanRaid1({ degraded: '1', sync_action: 'recover', sync_completed: '30000 / 126976' }, {
    ubdb: { state: 'in_sync', slot: '0', size: '63488' }, ubdd: { state: '', slot: '1', size: '63488' },
  }));
  try {
    const { first, baseline, look } = watcherOf(fixture);
    assert.equal(first.volumes[0]?.state, 'Rebuild');
    fixture.write('block/md0/md/sync_action', 'recovering?\n');
    assert.equal(new MdController({ sysfsRoot: fixture.root }).inquire().volumes[0]?.state, 'Invalid');
    assert.deepEqual(look(), []);
    assert.equal(baseline().volumes[0]?.state, 'Rebuild', 'the baseline keeps the last good view');
    // The rebuild ended while the array was misread: RebuildFinished and SpareActive still come, DegradedArray and RebuildStarted not again.
    fixture.write('block/md0/md/sync_action', 'idle\n');
    fixture.write('block/md0/md/sync_completed', 'none\n');
    fixture.write('block/md0/md/degraded', '0\n');
    fixture.write('block/md0/md/dev-ubdd/state', 'in_sync\n');
    assert.deepEqual(look(), ['RebuildFinished md0', 'SpareActive md0 /dev/ubdd']);
    assert.deepEqual(look(), []);
  } finally {
    fixture.remove();
  }
});
