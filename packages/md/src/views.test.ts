// The state mapping on sysfs trees built by hand from md.rst: one case per
// state the docs' table names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SysfsTree } from './sysfs/tree.js';
import { listArrays, readArray } from './sysfs/read-array.js';
import { inquiryOf, volumeOf } from './views.js';
import { chunkStateRows, emptySlotRow, volumeStateRows } from './states.js';
import { SysfsFixture, cleanRaid1, type FixtureArray } from './testing/sysfs-fixture.test-helper.js';
import type { VolumeView } from '@openbsd38/bio/controller.js';

function viewOf(array: FixtureArray, name = 'md0'): VolumeView {
  const fixture = new SysfsFixture().array(name, array);
  try {
    return volumeOf(readArray(new SysfsTree(fixture.root), name), 0);
  } finally {
    fixture.remove();
  }
}

const raid5 = (md: Record<string, string>, members: FixtureArray['members']): FixtureArray => ({
  size: '253952',
  md: {
    array_state: 'clean', level: 'raid5', raid_disks: '3', degraded: '0', sync_action: 'idle', sync_completed: 'none',
    sync_speed: 'none', mismatch_cnt: '0', chunk_size: '524288', component_size: '63488', layout: '2', resync_start: 'none',
    metadata_version: '1.2', uuid: '00000000-1111-2222-3333-444444444444', 'bitmap/location': '+8', ...md,
  },
  members,
});
const inSync = (slot: string) => ({ state: 'in_sync', slot, size: '63488' });

test('a clean RAID 1 is Online, its members Online by slot, md facts in extras', () => {
  const view = viewOf(cleanRaid1());
  assert.equal(view.state, 'Online');
  assert.equal(view.level, 'raid1');
  assert.equal(view.sizeBytes, 126976 * 512);
  assert.equal(view.progress, null);
  assert.deepEqual(view.chunks.map((chunk) => [chunk.chunkIndex, chunk.name, chunk.state, chunk.sizeBytes]),
    [[0, '/dev/ubdb', 'Online', 63488 * 1024], [1, '/dev/ubdc', 'Online', 63488 * 1024]]);
  assert.equal(view.extras?.bitmap, 'internal');
  assert.equal(view.extras?.metadata_version, '1.2');
  assert.equal(view.uuid, '329ff775-ebf3-b74d-3e97-440fc1997bfe');
  assert.equal(view.problem, undefined);
});

test('recovery onto a spare: Rebuild with its percentage; the member recovered onto is Rebuild', () => {
  const view = viewOf(raid5({ degraded: '1', sync_action: 'recover', last_sync_action: 'recovery', sync_completed: '31744 / 126976', sync_speed: '44844' },
    { ubdb: inSync('0'), ubdc: inSync('1'), ubdd: { state: 'spare', slot: '2', size: '63488', recovery_start: '31744' } }));
  assert.equal(view.state, 'Rebuild');
  assert.equal(view.progress?.operation, 'rebuild');
  assert.equal(view.progress?.percent, 25);
  assert.equal(view.progress?.rateBytesPerSecond, 44844 * 1024);
  assert.equal(view.chunks[2]!.state, 'Rebuild');
  assert.equal(view.extras?.layout, 'left-symmetric');
  assert.equal(view.layout, 'left-symmetric');
});

test('a delayed recovery is Degraded, waiting, not Rebuild', () => {
  const view = viewOf(raid5({ degraded: '1', sync_action: 'recover', sync_completed: 'delayed' },
    { ubdb: inSync('0'), ubdc: inSync('1'), ubdd: { state: 'spare', slot: '2', size: '63488' } }));
  assert.equal(view.state, 'Degraded');
  assert.equal(view.progress?.waiting, 'delayed');
  assert.equal(view.progress?.percent, 0);
});

test('a resync is Building; a delayed one is Building and waiting', () => {
  const running = viewOf(cleanRaid1({ array_state: 'active', sync_action: 'resync', sync_completed: '63488 / 126976', resync_start: '63488' }));
  assert.equal(running.state, 'Building');
  assert.equal(running.progress?.operation, 'resync');
  assert.equal(running.progress?.percent, 50);
  const delayed = viewOf(cleanRaid1({ sync_action: 'resync', sync_completed: 'delayed', resync_start: '0' }));
  assert.equal(delayed.state, 'Building');
  assert.equal(delayed.progress?.waiting, 'delayed');
});

test('auto-read-only with a resync owed is Building, pending; read-only and clean is Online', () => {
  const pending = viewOf(cleanRaid1({ array_state: 'read-auto', resync_start: '1024' }));
  assert.equal(pending.state, 'Building');
  assert.equal(pending.progress?.waiting, 'pending');
  assert.equal(pending.progress?.bytesDone, 1024 * 512);
  assert.equal(pending.extras?.array_state, 'read-auto');
  const readOnly = viewOf(cleanRaid1({ array_state: 'readonly' }));
  assert.equal(readOnly.state, 'Online');
  assert.equal(readOnly.extras?.array_state, 'readonly');
});

test('a reshape is Building with reshape progress; raid_disks "4 (3)" is read', () => {
  const view = viewOf(raid5({ raid_disks: '4 (3)', sync_action: 'reshape', sync_completed: '1000 / 126976', reshape_position: '2000' },
    { ubdb: inSync('0'), ubdc: inSync('1'), ubdd: inSync('2'), ubde: inSync('3') }));
  assert.equal(view.state, 'Building');
  assert.equal(view.progress?.operation, 'reshape');
  assert.equal(view.extras?.raid_disks, 4);
  assert.equal(view.extras?.reshape_from_disks, 3);
});

test('a reshape of strip size or layout: chunk_size and layout "new (old)" are read, not Invalid; RAID 10 survives the fewer copies', () => {
  const strip = viewOf(raid5({ chunk_size: '131072 (524288)', layout: '2 (0)', sync_action: 'reshape', sync_completed: '1000 / 126976', reshape_position: '2000' },
    { ubdb: inSync('0'), ubdc: inSync('1'), ubdd: inSync('2') }));
  assert.deepEqual([strip.state, strip.problem, strip.stripSizeBytes, strip.layout], ['Building', undefined, 131072, 'left-symmetric']);
  assert.equal(strip.extras?.reshape_from_strip_bytes, 524288);
  assert.equal(strip.extras?.reshape_from_layout, 'left-asymmetric');
  assert.equal(viewOf(raid5({}, { ubdb: inSync('0') })).extras?.reshape_from_strip_bytes, null);
  // n3 (0x103) to n2 (0x102): with one member missing, n2 survives it, and with two it does not.
  const raid10 = (degraded: string): VolumeView => viewOf({ size: '1000', md: {
    array_state: 'clean', level: 'raid10', raid_disks: '4', degraded, layout: '258 (259)', sync_action: 'reshape', sync_completed: '10 / 1000', reshape_position: '20',
  }, members: { ubdb: inSync('0') } });
  assert.equal(raid10('1').state, 'Degraded');
  assert.equal(raid10('2').state, 'Offline');
  for (const malformed of ['131072 (', '(524288)', '131072 (524288) (4)', '-1']) {
    assert.match(viewOf(raid5({ chunk_size: malformed }, { ubdb: inSync('0') })).problem ?? '', /chunk_size: .* is not a number, or "new \(old\)" during a reshape/);
  }
});

test('a degraded array with an empty slot: Degraded, the slot Offline with no name', () => {
  const view = viewOf(cleanRaid1({ degraded: '1' }, { ubdb: inSync('0') }));
  assert.equal(view.state, 'Degraded');
  assert.deepEqual(view.chunks[1], { chunkIndex: 1, name: '', state: 'Offline', sizeBytes: 0 });
});

test('a faulty member is Failed; a spare is Hot spare after the slots; flags are shown', () => {
  const view = viewOf(cleanRaid1({ degraded: '1' }, {
    ubdb: { state: 'in_sync,writemostly', slot: '0', size: '63488' },
    ubdc: { state: 'faulty', slot: '1', size: '63488' },
    ubdd: { state: 'spare', slot: 'none', size: '63488' },
  }));
  assert.deepEqual(view.chunks.map((chunk) => chunk.state), ['Online', 'Failed', 'Hot spare']);
  assert.deepEqual(view.chunks[0]!.flags, ['writemostly']);
});

test('want_replacement and a replacement: the replacement is listed after the slots, Rebuild', () => {
  const view = viewOf(cleanRaid1({ sync_action: 'recover', sync_completed: '100 / 126976' }, {
    ubdb: { state: 'in_sync,want_replacement', slot: '0', size: '63488' },
    ubdc: inSync('1'),
    ubdd: { state: 'replacement', slot: '0', size: '63488' },
  }));
  assert.equal(view.state, 'Rebuild');
  assert.deepEqual(view.chunks.map((chunk) => [chunk.name, chunk.state, chunk.flags]),
    [['/dev/ubdb', 'Online', ['want_replacement']], ['/dev/ubdc', 'Online', undefined], ['/dev/ubdd', 'Rebuild', ['replacement']]]);
});

test('check and repair are Scrubbing, with md\'s mismatch count', () => {
  const check = viewOf(cleanRaid1({ sync_action: 'check', sync_completed: '63488 / 126976', mismatch_cnt: '128' }));
  assert.equal(check.state, 'Scrubbing');
  assert.equal(check.progress?.repair, false);
  assert.equal(check.progress?.mismatchSectors, 128);
  const repair = viewOf(cleanRaid1({ sync_action: 'repair', sync_completed: '0 / 126976' }));
  assert.equal(repair.progress?.repair, true);
});

test('inactive (assembled with members missing) and broken are Offline', () => {
  const inactive = viewOf({ md: { array_state: 'inactive', level: '', metadata_version: '1.2', raid_disks: '0' }, members: { ubdb: { state: '', slot: 'none', size: '63488' } } });
  assert.equal(inactive.state, 'Offline');
  assert.equal(inactive.level, 'unknown');
  assert.equal(inactive.chunks[0]!.state, 'Offline');
  const broken = viewOf({ size: '253952', md: { array_state: 'broken', level: 'raid0', raid_disks: '2', chunk_size: '65536', metadata_version: '1.2' }, members: { ubdb: inSync('0') } });
  assert.equal(broken.state, 'Offline');
  assert.equal(broken.stripSizeBytes, 65536);
});

test('an array mdadm is still building: clear with members, then inactive with md\'s level number, both Offline, no problem', () => {
  // What a look every 1 ms saw during mdadm --create of a RAID 1 on Linux 6.1 in user-mode Linux.
  const clear = viewOf({ md: { array_state: 'clear', level: '', raid_disks: '', metadata_version: '1.2' }, members: { ubda: { state: '', slot: 'none' }, ubdb: { state: '', slot: 'none' } } });
  assert.deepEqual([clear.state, clear.problem, clear.chunks.map((chunk) => chunk.state)], ['Offline', undefined, ['Offline', 'Offline']]);
  const inactive = viewOf({ md: { array_state: 'inactive', level: '1', raid_disks: '2', metadata_version: '1.2' }, members: { ubda: { state: '', slot: 'none' } } });
  assert.deepEqual([inactive.state, inactive.level, inactive.problem], ['Offline', 'raid1', undefined]);
  // The level number may still show a moment after the array runs, and so may last_sync_action's initial `none`.
  const starting = viewOf(cleanRaid1({ level: '1', last_sync_action: 'none', sync_action: 'resync', sync_completed: '0 / 126976', resync_start: '0' }));
  assert.deepEqual([starting.state, starting.level, starting.problem], ['Building', 'raid1', undefined]);
  for (const [number, level] of [['-1', 'concat'], ['0', 'raid0'], ['5', 'raid5'], ['6', 'raid6'], ['10', 'raid10'], ['-4', 'unknown']]) {
    assert.equal(viewOf({ md: { array_state: 'inactive', level: number!, raid_disks: '2' } }).level, level, `level ${number}`);
  }
  // A number md has no level for is still a problem, as any unknown word.
  assert.match(viewOf(cleanRaid1({ level: '7' })).problem ?? '', /block\/md0\/md\/level: unknown word "7"/);
});

test('more missing than the level survives is Offline, never Degraded', () => {
  const view = viewOf(raid5({ degraded: '2' }, { ubdb: inSync('0') }));
  assert.equal(view.state, 'Offline');
});

test('RAID 10 survives copies - 1 from its layout (n3: two missing is Degraded)', () => {
  const view = viewOf({ size: '1000', md: { array_state: 'clean', level: 'raid10', raid_disks: '3', degraded: '2', layout: '259', sync_action: 'idle' }, members: { ubdb: inSync('0') } });
  assert.equal(view.level, 'raid10');
  assert.equal(view.state, 'Degraded');
});

test('an imsm container is no volume: its member array is, and its unused disks are hot spares', () => {
  const fixture = new SysfsFixture()
    .array('md127', { md: { array_state: 'inactive', level: 'container', metadata_version: 'external:imsm', raid_disks: '0' }, members: {
      sda: { state: 'in_sync', slot: 'none', size: '976762584' }, sdb: { state: 'in_sync', slot: 'none', size: '976762584' },
      sdc: { state: 'spare', slot: 'none', size: '976762584' },
    } })
    .array('md126', cleanRaid1({ metadata_version: 'external:/md127/0' }, { sda: inSync('0'), sdb: inSync('1') }));
  try {
    const tree = new SysfsTree(fixture.root);
    const names = listArrays(tree);
    assert.deepEqual(names, ['md126', 'md127']);
    const view = inquiryOf(names.map((name) => ({ array: readArray(tree, name), minor: null })));
    assert.deepEqual(view.volumes.map((volume) => [volume.deviceName, volume.state, volume.extras?.container]), [['md126', 'Online', 'md127']]);
    assert.deepEqual(view.hotSpares.map((spare) => spare.name), ['/dev/sdc']);
    assert.equal(view.hotSpares[0]!.volumeIndex, 127);
  } finally {
    fixture.remove();
  }
});

test('an md node with nothing behind it (clear) is not listed', () => {
  const fixture = new SysfsFixture().array('md5', { md: { array_state: 'clear', level: '' } });
  try {
    const tree = new SysfsTree(fixture.root);
    assert.deepEqual(inquiryOf(listArrays(tree).map((name) => ({ array: readArray(tree, name), minor: null }))).volumes, []);
  } finally {
    fixture.remove();
  }
});

test('an unknown array_state word: Invalid, with a problem naming the file', () => {
  const view = viewOf(cleanRaid1({ array_state: 'sleeping' }));
  assert.equal(view.state, 'Invalid');
  assert.match(view.problem ?? '', /block\/md0\/md\/array_state: unknown word "sleeping"/);
});

test('a member flag this port does not know is kept and shown; the known ones decide', () => {
  const view = viewOf(cleanRaid1({}, { ubdb: { state: 'in_sync,shiny', slot: '0', size: '63488' }, ubdc: { state: 'shiny', slot: 'none' } }));
  assert.equal(view.chunks[0]!.state, 'Online');
  assert.deepEqual(view.chunks[0]!.flags, ['shiny']);
  assert.equal(view.chunks.at(-1)!.state, 'Invalid');
});

test('docs/states.md shows every row of the mapping', () => {
  const docs = readFileSync(new URL('../docs/states.md', import.meta.url), 'utf8');
  for (const row of [...volumeStateRows, ...chunkStateRows]) assert.ok(docs.includes(`| ${row.when} | ${row.state} |`), `docs/states.md lacks "${row.when}"`);
  assert.ok(docs.includes(`| ${emptySlotRow} | Offline |`));
});
