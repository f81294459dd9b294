// bioctl on md arrays with no daemon: SOFTRAID_SYSFS_ROOT pointed at a tree
// built by hand, the same table, -v's md facts and the JSON schema.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runBioctl } from './run.js';
import { SysfsFixture, cleanRaid1 } from '@openbsd38/md/testing/sysfs-fixture.test-helper.js';

let fixture: SysfsFixture;

before(() => {
  fixture = new SysfsFixture()
    .array('md0', cleanRaid1({}, {
      ubdb: { state: 'in_sync,writemostly', slot: '0', size: '63488' },
      ubdc: { state: 'in_sync', slot: '1', size: '63488' },
      ubde: { state: 'spare', slot: 'none', size: '63488' },
    }))
    .array('md1', {
      size: '253952',
      md: {
        array_state: 'clean', level: 'raid5', raid_disks: '3', degraded: '1', sync_action: 'recover', sync_completed: '63488 / 126976',
        sync_speed: '1024', chunk_size: '65536', component_size: '63488', layout: '2', metadata_version: '1.2', uuid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
        'bitmap/location': '+8',
      },
      members: {
        ubdf: { state: 'in_sync', slot: '0', size: '63488' }, ubdg: { state: 'in_sync', slot: '1', size: '63488' },
        ubdh: { state: 'spare', slot: '2', size: '63488' },
      },
    })
    .array('md2', cleanRaid1({ array_state: 'sleeping' }));
});
after(() => fixture.remove());

async function bioctl(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await runBioctl(argv, {
    env: { SOFTRAID_SYSFS_ROOT: fixture.root, SOFTRAID_MDADM: '/nonexistent/mdadm' }, cwd: '/',
    stdout: (text) => { stdout += text; }, stderr: (text) => { stderr += text; },
  });
  return { status, stdout, stderr };
}

test('bioctl md: every array in OpenBSD\'s table, a spare under its array, a rebuild with its percentage', async () => {
  const { status, stdout, stderr } = await bioctl('md');
  assert.equal(status, 0);
  assert.equal(stdout, [
    'Volume      Status               Size Device  ',
    '       md 0 Online           65011712 md0     RAID1 ',
    '          0 Online           65011712 0:0.0   noencl </dev/ubdb>',
    '          1 Online           65011712 0:1.0   noencl </dev/ubdc>',
    '          2 Hot spare        65011712 0:2.0   noencl </dev/ubde>',
    '       md 1 Rebuild         130023424 md1     RAID5 50% done ',
    '          0 Online           65011712 1:0.0   noencl </dev/ubdf>',
    '          1 Online           65011712 1:1.0   noencl </dev/ubdg>',
    '          2 Rebuild          65011712 1:2.0   noencl </dev/ubdh>',
    '       md 2 Invalid          65011712 md2     RAID1 ',
    '          0 Online           65011712 2:0.0   noencl </dev/ubdb>',
    '          1 Online           65011712 2:1.0   noencl </dev/ubdc>',
    '',
  ].join('\n'));
  assert.equal(stderr, `bioctl: md2: ${fixture.root}/block/md2/md/array_state: unknown word "sleeping"\n`);
});

test('bioctl -v md0: the UUID, metadata version, bitmap and a member\'s writemostly flag', async () => {
  const { status, stdout } = await bioctl('-v', 'md0');
  assert.equal(status, 0);
  const lines = stdout.split('\n');
  assert.match(lines[2]!, /^ {12}uuid 329ff775-ebf3-b74d-3e97-440fc1997bfe, md_level raid1, array_state clean, metadata_version 1\.2, bitmap internal, bitmap_chunk_bytes 67108864, /);
  assert.match(lines[4]!, /'unknown serial' writemostly$/);
});

test('bioctl -h and /dev/md0 that does not exist here', async () => {
  const human = await bioctl('-h', 'md1');
  assert.match(human.stdout, /md 1 Rebuild\s+124M md1\s+RAID5 50% done/);
  const missing = await bioctl('/dev/md-nonexistent');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^bioctl: Can't locate \/dev\/md-nonexistent device: ENOENT\n$/);
  const unknown = await bioctl('md7');
  assert.equal(unknown.stderr, `bioctl: Can't locate md7 device via ${fixture.root}/block\n`);
});

test('bioctl --json md: softraid\'s schema (1.2) with md\'s extras, flags and waiting', async () => {
  const { status, stdout } = await bioctl('--json', 'md');
  assert.equal(status, 0);
  const json = JSON.parse(stdout) as {
    output_version: unknown; controller: string;
    volumes: Record<string, { status: string; level: string; progress: Record<string, unknown> | null; extras: Record<string, unknown>; problem?: string; chunks: Array<{ flags?: string[]; status: string }> }>;
  };
  assert.deepEqual(json.output_version, { command: 'bioctl -i', vers_major: 1, vers_minor: 3 });
  assert.equal(json.controller, 'md');
  assert.deepEqual(Object.keys(json.volumes), ['md0', 'md1', 'md2']);
  assert.equal(json.volumes.md0!.extras.bitmap, 'internal');
  assert.deepEqual(json.volumes.md0!.chunks[0]!.flags, ['writemostly']);
  assert.equal(json.volumes.md1!.progress?.operation, 'rebuild');
  assert.equal(json.volumes.md1!.progress?.percent, 50);
  assert.equal(json.volumes.md1!.progress?.rate_bytes_per_second, 1024 * 1024);
  assert.match(json.volumes.md2!.problem ?? '', /array_state: unknown word/);
});

test('a change with mdadm missing: the failure carried, exit 1; -t get is manual', async () => {
  // By locator, as bioctl prints it (the disk is not on this machine).
  const failed = await bioctl('-O', '0:1', 'md0');
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /^md: \/nonexistent\/mdadm \/dev\/md0 --fail \/dev\/ubdc --remove \/dev\/ubdc could not be run: .*ENOENT/);
  const patrol = await bioctl('-t', 'get', 'md0');
  assert.equal(patrol.stdout, 'patrol mode: manual\npatrol status: stopped\n');
});
