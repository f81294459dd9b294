// bioctl's command line against softraidd (in-process, fake controller):
// every misuse gets OpenBSD's message and exit status, and refused requests
// change nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeDaemon, type FakeDaemon } from './fake-daemon.test-helper.js';
import { usageText } from './usage.js';
import { runBioctl } from './run.js';

let d: FakeDaemon;
let a: string, b: string, c: string, spare: string;

before(async () => {
  d = await startFakeDaemon();
  a = d.chunk('a');
  b = d.chunk('b');
  c = d.chunk('c');
  spare = d.chunk('spare');
  d.chunk('extra');
});
after(async () => d.close());

const usage = (diagnostic?: string): string => (diagnostic === undefined ? '' : `bioctl: ${diagnostic}\n`) + usageText;

// [argv, stderr, status]; each must leave the controller unchanged.
const misuse: Array<[string[], string]> = [
  [[], usage()],
  [['-i'], usage()],
  [['softraid0', 'sd0'], usage()],
  [['softraid0', '-i'], usage()],
  [['-x', 'softraid0'], usage('unknown option -- x')],
  [['-c'], usage('option requires an argument -- c')],
  [['-P', '-i', 'sd0'], usage()],
  [['--bogus', 'softraid0'], usage('unknown option -- bogus')],
  [['-c', '11', '-l', 'a,b', 'softraid0'], 'bioctl: Invalid RAID level\n'],
  [['-c', 'raid1', '-l', 'a,b', 'softraid0'], 'bioctl: Invalid RAID level\n'],
  [['-c', '1x', '-l', 'a,b', 'softraid0'], 'bioctl: Invalid RAID level\n'],
  [['-c', '4', '-l', 'a,b,c', 'softraid0'], 'bioctl: unsupported RAID level\n'],
  [['-c', 'Z', '-l', 'a,b,c', 'softraid0'], 'bioctl: unsupported RAID level\n'],
  [['-C', 'force,bogus', '-c', '1', '-l', 'a,b', 'softraid0'], 'bioctl: invalid flag bogus\n'],
  [['-c', '1', 'softraid0'], 'bioctl: need -l parameter\n'],
  [['-l', 'a,b', 'softraid0'], 'bioctl: need -c parameter\n'],
  [['-c', '1', '-l', 'a', 'softraid0'], 'bioctl: not enough disks\n'],
  [['-c', '5', '-l', 'a,b', 'softraid0'], 'bioctl: not enough disks\n'],
  [['-c', '1', '-l', 'a,a', 'softraid0'], 'bioctl: duplicate device in list\n'],
  [['-c', '1', '-l', `a,${'./a'}`, 'softraid0'], 'bioctl: duplicate device in list\n'],
  [['-c', '0', '-l', Array.from({ length: 257 }, () => 'a').join(','), 'softraid0'], 'bioctl: too many devices on device list\n'],
  [['-c', '1', '-l', 'a,missing', 'softraid0'], 'bioctl: could not open missing: No such file or directory\n'],
  [['-c', 'C', '-l', 'a,b', 'softraid0'], 'bioctl: not exactly one partition\n'],
  [['-a', 'x', 'softraid0'], 'bioctl: invalid alarm function: x\n'],
  [['-t', 'x', 'softraid0'], 'bioctl: invalid patrol function: x\n'],
  [['-t', 'auto.x', 'softraid0'], 'bioctl: Patrol auto.x: interval is invalid\n'],
  [['-t', 'start', 'softraid0'], 'softraid0: no redundant volume to scrub\n'],
  [['-b', '0', 'softraid0'], 'bioctl: Target 0: target not specified\n'],
  [['-u', '0:999', 'softraid0'], 'bioctl: Target 0:999: too large\n'],
  [['-O', 'nothere', 'softraid0'], 'bioctl: could not open nothere: No such file or directory\n'],
  [['-H', '/dev/lop3', 'softraid0'], 'bioctl: could not open /dev/lop3: No such file or directory\n'],
  [['-O', '0:1', 'softraid0'], 'bioctl: invalid device softraid0\n'],
  [['-R', 'a', 'softraid0'], 'bioctl: invalid device softraid0\n'],
  [['-H', '0:1', 'softraid0'], 'softraid0: 0:1.0 names a chunk already in a volume: bioctl -H needs the path (or NBD URI) of the disk to add\n'],
  [[`/${'x'.repeat(40)}`], `bioctl: Can't locate /${'x'.repeat(40)} device via SOCKET\n`],
  [['-d', 'softraid0'], 'bioctl: invalid device softraid0\n'],
  [['-d', 'sd9'], `bioctl: Can't locate sd9 device via SOCKET\n`],
  [['sd9'], `bioctl: Can't locate sd9 device via SOCKET\n`],
  [['-q', 'softraid0'], 'bioctl: DIOCINQ: Inappropriate ioctl for device\n'],
  [['-a', 'g', '-b', '0:0', 'softraid0'], 'bioctl: conflicting options: only one of -a, -b/-u, -d, -H/-O/-R, -t at a time\n'],
  [['--strip-size=3k', '-c', '5', '-l', 'a,b,c', 'softraid0'], 'bioctl: invalid strip size 3k: a power of two from 4k to 1m\n'],
  [['--layout=diagonal', '-c', '5', '-l', 'a,b,c', 'softraid0'], 'bioctl: invalid layout diagonal: left-asymmetric or left-symmetric\n'],
  [['-r', '8', 'softraid0'], 'bioctl: number of KDF rounds is too small: 8\n'],
];

for (const [argv, stderr] of misuse) {
  test(`bioctl ${argv.join(' ').slice(0, 70)} -> exit 1`, async () => {
    const before = JSON.stringify(d.controller.inquire());
    const result = await d.bioctl(...argv);
    assert.equal(result.stderr, stderr.replace('SOCKET', d.socketPath));
    assert.equal(result.stdout, '');
    assert.equal(result.status, 1);
    assert.equal(JSON.stringify(d.controller.inquire()), before, 'a refused request changed nothing');
  });
}

test('no daemon: err(3)-style message naming the socket and the errno', async () => {
  let stderr = '';
  const status = await runBioctl(['softraid0'], { env: { SOFTRAID_SOCKET: `${d.directory}/none.sock` }, cwd: d.directory, stdout: () => {}, stderr: (text) => { stderr += text; } });
  assert.equal(status, 1);
  assert.equal(stderr, `bioctl: Can't open ${d.directory}/none.sock: No such file or directory\n`);
});

test('create, inquire, hot spare, offline, rebuild, detach', async () => {
  const created = await d.bioctl('-c', '5', '-l', 'a,b,c', 'softraid0');
  assert.deepEqual(created, { status: 0, stdout: 'softraid0: RAID 5 volume attached as sd0\n', stderr: '' });
  assert.equal(d.controller.volumes[0]!.chunks[0]!.name, a, 'relative chunk paths are made absolute');

  const inUse = await d.bioctl('-c', '1', '-l', 'a,extra', 'softraid0');
  assert.deepEqual(inUse, { status: 1, stdout: '', stderr: `softraid0: chunk ${a} already in use\n` });

  assert.equal((await d.bioctl('-H', 'spare', 'softraid0')).status, 0);
  const table = await d.bioctl('softraid0');
  assert.equal(table.stdout, [
    'Volume      Status               Size Device  ',
    'softraid0 0 Online            2097152 sd0     RAID5 ',
    `          0 Online            1048576 0:0.0   noencl <${a}>`,
    `          1 Online            1048576 0:1.0   noencl <${b}>`,
    `          2 Online            1048576 0:2.0   noencl <${c}>`,
    `softraid0 1 Hot spare         1048576 1:0.0   noencl <${spare}>`,
    '',
  ].join('\n'));

  assert.equal((await d.bioctl('-O', 'b', 'sd0')).status, 0);
  const rebuild = await d.bioctl('-R', 'extra', 'sd0');
  assert.deepEqual(rebuild, { status: 0, stdout: '', stderr: `softraid0: rebuild of sd0 started on ${d.directory}/extra\n` });
  d.controller.setProgress('sd0', 42.7);
  const only = await d.bioctl('-h', 'sd0');
  assert.equal(only.stdout.split('\n')[1], 'softraid0 0 Rebuild              2.0M sd0     RAID5 42% done ');
  assert.ok(!only.stdout.includes('Hot spare'));

  const json = JSON.parse((await d.bioctl('--json', 'softraid0')).stdout) as Record<string, unknown>;
  assert.deepEqual(json.output_version, { command: 'bioctl -i', vers_major: 1, vers_minor: 3 });
  const sd0 = (json.volumes as Record<string, Record<string, unknown>>).sd0!;
  assert.equal(sd0.status, 'Rebuild');
  assert.equal((sd0.progress as Record<string, unknown>).percent, 42);
  assert.equal((json.hot_spares as unknown[]).length, 1);

  const q = await d.bioctl('-q', 'sd0');
  assert.equal(q.stdout, 'sd0: <OPENBSD, SR RAID 5, 006>, serial 00000000000040008000000000000000\n');
  assert.equal((await d.bioctl('-a', 'g', 'softraid0')).stdout, 'alarm is currently disabled\n');
  const blink = await d.bioctl('-b', '0:0', 'softraid0');
  assert.deepEqual(blink, { status: 0, stdout: '', stderr: `softraid0: blink not supported on ${a}: not a block device\n` });
  assert.deepEqual(await d.bioctl('-b', '7:0', 'softraid0'), { status: 1, stdout: '', stderr: 'softraid0: Disk 7:0.0 does not exist\n' });

  const detached = await d.bioctl('--json', '-d', 'sd0');
  assert.equal(detached.status, 0);
  assert.equal((JSON.parse(detached.stdout) as { bio_status: { status: string } }).bio_status.status, 'success');
  assert.equal(d.controller.volumes.length, 0);
});
