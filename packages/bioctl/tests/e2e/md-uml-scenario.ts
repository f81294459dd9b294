// The guest side of md-uml.test.ts: runs inside user-mode Linux as its init's
// one command, against the real md driver and mdadm. Every step is bioctl's
// own code (runBioctl, as bin/bioctl runs it) with its output checked here;
// each step prints one "step: …" line the host test checks too. Exits 0 when
// all held, 1 with the failed assertion otherwise.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededSource } from '@openbsd38/libutil/random.js';
import { bioctl, idle, json, ok, step, waitFor } from './md-uml-steps.js';

const patternBytes = 4 * 1024 * 1024;

function dropCaches(): void {
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

function writePattern(device: string): string {
  const bytes = seededSource(38).fill(new Uint8Array(patternBytes));
  const fd = openSync(device, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return createHash('sha256').update(bytes).digest('hex');
}

function readPatternHash(device: string): string {
  dropCaches();
  const bytes = new Uint8Array(patternBytes);
  const fd = openSync(device, 'r');
  try {
    assert.equal(readSync(fd, bytes, 0, bytes.length, 0), bytes.length);
  } finally {
    closeSync(fd);
  }
  return createHash('sha256').update(bytes).digest('hex');
}

async function scrub(device: string, mode: 'start' | 'repair'): Promise<number> {
  const started = await ok('-t', mode, device);
  assert.equal(started, `md: ${mode === 'repair' ? 'repair' : 'scrub'} of ${device} started\n`);
  const done = await waitFor(device, `end of ${mode}`, (volume) => idle(volume) && volume.extras.last_sync_action === (mode === 'repair' ? 'repair' : 'check'));
  return done.extras.mismatch_sectors as number;
}

// 1. Create a RAID 1 and a RAID 5; the table and the JSON show them.
assert.equal(await ok('-c', '1', '-l', '/dev/ubda,/dev/ubdb', 'md'), 'md: RAID 1 volume attached as md0\n');
assert.equal(await ok('-c', '5', '-l', '/dev/ubdc,/dev/ubdd,/dev/ubde', '--strip-size=64k', 'md'), 'md: RAID 5 volume attached as md1\n');
await waitFor('md0', 'end of the initial resync', idle);
await waitFor('md1', 'end of the initial build', idle);
const table = await ok('md');
assert.match(table, /^ {7}md 0 Online +\d+ md0 +RAID1 \n {10}0 Online +\d+ 0:0\.0 +noencl <\/dev\/ubda>\n {10}1 Online +\d+ 0:1\.0 +noencl <\/dev\/ubdb>$/m);
assert.match(table, /^ {7}md 1 Online +\d+ md1 +RAID5 $/m);
step('created', table);
const created = await json('md');
assert.equal(created.md1?.extras.metadata_version, '1.2');
assert.equal(created.md1?.extras.bitmap, 'internal');
assert.equal((JSON.parse(await ok('--json', 'md1')) as { volumes: Record<string, { strip_size_bytes: number }> }).volumes.md1?.strip_size_bytes, 65536);
assert.deepEqual(created.md0?.chunks.map((chunk) => chunk.status), ['Online', 'Online']);
step('json', `md1 metadata ${String(created.md1?.extras.metadata_version)} bitmap ${String(created.md1?.extras.bitmap)}`);

// The program itself, as an administrator runs it (a process of its own, exit status and all),
// by /dev/md/NAME as udev names an array; and -b, which without ledctl or an enclosure says why.
mkdirSync('/dev/md', { recursive: true });
symlinkSync('../md1', '/dev/md/data');
// The compiled launcher (npm test builds first): loading the sources through tsx costs the slow guest seconds.
const cli = spawnSync(process.execPath, ['packages/bioctl/bin/bioctl', '-h', '/dev/md/data'], { encoding: 'utf8' });
assert.equal(cli.status, 0, cli.stderr);
assert.match(cli.stdout, /^ {7}md 1 Online +\d+(\.\d)?M md1 +RAID5 $/m);
const blink = await bioctl('-b', '0:0', 'md0');
assert.equal(blink.status, 0);
assert.match(blink.stderr, /^md: blink not supported on \/dev\/ubda: /);
step('cli', `bioctl -h /dev/md/data exited 0; -b: ${blink.stderr.trim()}`);

// 2. A hot spare for md1, by its node's path; a pattern written.
assert.equal(await ok('-H', '/dev/ubdf', '/dev/md1'), '');
assert.deepEqual((await json('md1')).md1?.chunks.map((chunk) => [chunk.name, chunk.status]),
  [['/dev/ubdc', 'Online'], ['/dev/ubdd', 'Online'], ['/dev/ubde', 'Online'], ['/dev/ubdf', 'Hot spare']]);
const patternHash = writePattern('/dev/md1');
step('spare', 'ubdf Hot spare, pattern written');

// 3. -O a member: the spare rebuilds, seen on the way as "Rebuild NN% done"; the pattern verifies.
writeFileSync('/sys/block/md1/md/sync_speed_max', '8000'); // KiB/s, so the rebuild can be watched
const rebuildRows: string[] = [];
assert.equal(await ok('-O', '/dev/ubdc', 'md1'), '');
await waitFor('md1', 'end of the rebuild', idle, (row) => {
  if (/ Rebuild +\d+ md1 +RAID5 \d+% done/.test(row)) rebuildRows.push(row);
});
writeFileSync('/sys/block/md1/md/sync_speed_max', 'system');
assert.ok(rebuildRows.length > 0, 'no "Rebuild NN% done" row seen');
assert.deepEqual((await json('md1')).md1?.chunks.map((chunk) => [chunk.name, chunk.status]),
  [['/dev/ubdf', 'Online'], ['/dev/ubdd', 'Online'], ['/dev/ubde', 'Online']]);
assert.equal(readPatternHash('/dev/md1'), patternHash);
step('rebuild', `${rebuildRows[0]!.trim()} (${rebuildRows.length} rows), pattern verified`);

// 4. The replaced disk becomes the new hot spare; a refusal changes nothing.
assert.equal(await ok('-H', '/dev/ubdc', 'md1'), '');
assert.equal((await json('md1')).md1?.chunks.at(-1)?.status, 'Hot spare');
const refused = await bioctl('-O', '/dev/ubda', 'md1');
assert.equal(refused.status, 1);
assert.equal(refused.stderr, 'md: chunk /dev/ubda is not part of md1\n');
step('spare-again', 'ubdc Hot spare; -O of a stranger refused');

// 5. A check finds nothing; a block corrupted behind md's back is found, repaired, and gone.
assert.equal(await scrub('md1', 'start'), 0);
const dataOffsetSectors = Number(readFileSync('/sys/block/md1/md/dev-ubdd/offset', 'utf8'));
const noise = seededSource(8).fill(new Uint8Array(64 * 1024));
const member = openSync('/dev/ubdd', 'r+');
writeSync(member, noise, 0, noise.length, dataOffsetSectors * 512 + 1024 * 1024);
fsyncSync(member);
closeSync(member);
dropCaches();
const found = await scrub('md1', 'start');
assert.ok(found > 0, 'the corrupted block was not found');
const repaired = await scrub('md1', 'repair');
assert.ok(repaired > 0, 'repair found nothing to fix');
assert.equal(await scrub('md1', 'start'), 0);
assert.equal(readPatternHash('/dev/md1'), patternHash);
step('scrub', `0 mismatches, then ${found} after corruption, repair fixed ${repaired}, then 0`);

// 6. A reshape of strip size and layout (mdadm --grow): md prints chunk_size and layout as "new (old)";
// bioctl shows it Building with the new values and the old ones in extras, never Invalid, and the data survives.
writeFileSync('/sys/block/md1/md/sync_speed_max', '4000');
// The guest's /tmp is the host's (hostfs): mdadm refuses a backup file that exists, so each run has its own.
const backupDirectory = mkdtempSync(join(tmpdir(), 'md1-grow-'));
const grow = spawn('/usr/sbin/mdadm', ['--grow', '/dev/md1', '--chunk=32', '--layout=left-asymmetric', `--backup-file=${join(backupDirectory, 'backup')}`],
  { stdio: ['ignore', 'pipe', 'pipe'] });
let growOutput = '';
grow.stdout.on('data', (data: Buffer) => { growOutput += String(data); });
grow.stderr.on('data', (data: Buffer) => { growOutput += String(data); });
let growStatus: number | null | undefined;
const growExit = new Promise<number | null>((resolve) => grow.on('exit', (status) => {
  growStatus = status;
  resolve(status);
}));
const statusesSeen = new Set<string>();
// mdadm sets reshape_position (sync_action reads reshape from then on) before the new strip size and
// layout: wait for md to show both as "new (old)".
const reshaping = await waitFor('md1', 'the reshape to the new strip size and layout', (volume) => {
  statusesSeen.add(volume.status);
  assert.ok(growStatus === undefined || growStatus === 0 || volume.progress !== null, `mdadm --grow exited ${growStatus}: ${growOutput}`);
  return volume.progress?.operation === 'reshape' && volume.extras.reshape_from_strip_bytes !== null && volume.extras.reshape_from_layout !== null;
});
assert.equal(reshaping.status, 'Building');
assert.deepEqual([reshaping.strip_size_bytes, reshaping.layout], [32768, 'left-asymmetric']);
assert.deepEqual([reshaping.extras.reshape_from_strip_bytes, reshaping.extras.reshape_from_layout], [65536, 'left-symmetric']);
writeFileSync('/sys/block/md1/md/sync_speed_max', 'system');
// mdadm may reach the new shape in more than one reshape (one CI run saw md idle at 65536
// left-asymmetric between them): the end is md idle at the new strip size and layout.
const shapesSeen = new Set<string>();
const reshaped = await waitFor('md1', 'the end of the reshape at 32k left-asymmetric', (volume) => {
  statusesSeen.add(volume.status);
  shapesSeen.add(`${volume.status} ${volume.strip_size_bytes} ${volume.layout}`);
  return idle(volume) && volume.extras.reshape_from_strip_bytes === null && volume.extras.reshape_from_layout === null
    && volume.strip_size_bytes === 32768 && volume.layout === 'left-asymmetric';
});
assert.equal(await growExit, 0, `mdadm --grow: ${growOutput}`);
assert.deepEqual([reshaped.strip_size_bytes, reshaped.layout], [32768, 'left-asymmetric']);
assert.ok(!statusesSeen.has('Invalid'), `md1 was seen Invalid during the reshape: ${[...statusesSeen].join(', ')}`);
rmSync(backupDirectory, { recursive: true, force: true });
assert.equal(readPatternHash('/dev/md1'), patternHash);
step('reshape', `64k left-symmetric to 32k left-asymmetric: ${[...statusesSeen].join(', ')} (seen: ${[...shapesSeen].join(', ')}); pattern verified`);

// 7. -d stops both arrays.
assert.equal(await ok('-d', 'md0'), '');
assert.equal(await ok('-d', 'md1'), '');
assert.equal(await ok('md'), '');
step('stopped', 'md0 and md1 stopped, bioctl md empty');
process.stdout.write('scenario: all steps passed\n');
