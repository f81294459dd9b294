// kill -9 of the real softraidd in the middle of an fio workload over NBD,
// then restart: the volume comes back dirty, the partial parity log is
// replayed and the write-intent bitmap's regions resynced, and an fio
// verify-only pass finds every block it wrote before its final flush; a
// scrub finds 0 mismatches. RAID 1, RAID 5 and RAID 6, every other cycle with a
// member lost across the crash (dirty and degraded at assembly), which the
// operator then re-adds (rebuilt only where it went stale).
//
// What is required, and only that: the verified region (the even 64 KiB
// strips of the first 8 MiB) was written and flushed (end_fsync) before any
// cycle; a churn job writes 4 KiB blocks at random in the odd strips — on
// RAID 5 (64 KiB strips, 3 chunks) and RAID 6 (4 chunks) each row holds one
// verified strip and one churned one, so every churn write is a partial-stripe write whose write
// hole would hit the verified strip beside it — with fsync every 8 writes,
// and larger random writes further on without flushes (many writes in flight
// when the kill comes), until softraidd is killed. The simulator (tests/sim/crash-world.ts) checks
// the finer rule, acknowledged-before-the-last-flush, on every byte.
// SOFTRAID_KILL9_CYCLES=<n> runs more cycles per level (CI: 2).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { bioctl, run, startSoftraidd, workspace, type Daemon, type Workspace } from '../../src/daemon/testing/softraidd-process.js';

const cycles = Number(process.env['SOFTRAID_KILL9_CYCLES'] ?? 2);
const seed = Number(process.env['SOFTRAID_SEED'] ?? ((Math.random() * 2 ** 32) >>> 0));
const daemonArgs = ['--rebuild-rate-min', '200M', '--rebuild-rate-max', '400M'];
const totals = { kills: 0, cyclesWithLostMember: 0, verifyFailures: 0, mismatchSectors: 0 };

interface VolumeJson {
  status: string;
  progress: { operation: string; percent: number } | null;
  last_scrub: { status: string; mismatch_sectors: number } | null;
  chunks: { status: string; name: string }[];
}

function volumeJson(space: Workspace): VolumeJson {
  const result = bioctl(space, ['--json', 'sd0']);
  assert.equal(result.status, 0, result.stderr);
  const parsed = JSON.parse(result.stdout) as { volumes: Record<string, VolumeJson> };
  const volume = parsed.volumes['sd0'];
  assert.ok(volume !== undefined, result.stdout);
  return volume;
}

async function waitFor(space: Workspace, what: string, predicate: (volume: VolumeJson) => boolean, timeoutMs: number): Promise<VolumeJson> {
  const deadline = Date.now() + timeoutMs;
  let volume = volumeJson(space);
  while (!predicate(volume)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(volume)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    volume = volumeJson(space);
  }
  return volume;
}

interface Exit {
  code: number | null;
  output: string;
}

function fio(args: string[]): { exited: Promise<Exit>; kill(): void } {
  const child = spawn('fio', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  child.stderr.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code) => resolve({ code, output })));
  return { exited, kill: () => child.kill('SIGKILL') };
}

function keptJob(uri: string, verifyOnly: boolean, patternSeed: number): string[] {
  return ['--name=kept', '--ioengine=nbd', `--uri=${uri}`, '--rw=write:64k', '--bs=64k', '--size=8M', '--iodepth=8',
    '--verify=crc32c', '--verify_fatal=1', '--verify_state_save=0', `--randseed=${patternSeed}`,
    ...(verifyOnly ? ['--verify_only=1'] : ['--do_verify=0', '--end_fsync=1'])];
}

function churnJobs(uri: string, random: () => number): string[] {
  return [
    '--name=between', '--ioengine=nbd', `--uri=${uri}`, '--rw=randwrite', '--bs=4k', '--offset=64k', '--size=8128k',
    '--zonemode=strided', '--zonerange=64k', '--zonesize=16k', '--zoneskip=64k', '--time_based', '--runtime=60',
    '--iodepth=8', '--fsync=8', `--randseed=${Math.floor(random() * 1e9)}`,
    '--name=further', '--ioengine=nbd', `--uri=${uri}`, '--rw=randwrite', '--offset=8M', '--bsrange=4k-256k', '--size=12M',
    '--time_based', '--runtime=60', '--iodepth=16', `--randseed=${Math.floor(random() * 1e9)}`,
  ];
}

const spaces: Workspace[] = [];
const daemons: Daemon[] = [];
after(async () => {
  for (const daemon of daemons) await daemon.stop();
  for (const space of spaces) space.remove();
  console.log(`kill -9: ${JSON.stringify({ seed, ...totals })}`);
});

for (const level of ['1', '5', '6'] as const) {
  test(`kill -9 during fio over NBD, RAID ${level}: restart, resync, verify-only pass and scrub clean, also with a member lost (seed ${seed})`, async () => {
    const random = seededRandom(seed + Number(level));
    const space = workspace(`crash-kill9-raid${level}`);
    spaces.push(space);
    const names = level === '1' ? ['m0', 'm1'] : level === '5' ? ['m0', 'm1', 'm2'] : ['m0', 'm1', 'm2', 'm3'];
    const paths = names.map((name) => join(space.directory, name));
    for (const path of paths) run('truncate', ['-s', '24M', path]);
    let daemon = await startSoftraidd(space, daemonArgs);
    daemons.push(daemon);
    assert.equal(bioctl(space, ['-c', level, '-l', paths.join(','), 'softraid0']).status, 0);
    const uri = space.nbdUri('sd0');

    let patternSeed = 4242;
    const kept = await fio(keptJob(uri, false, patternSeed)).exited;
    assert.equal(kept.code, 0, kept.output);

    for (let cycle = 0; cycle < cycles; cycle++) {
      const context = `RAID ${level} cycle ${cycle}; replay with SOFTRAID_SEED=${seed}`;
      const churn = fio(churnJobs(uri, random));
      await new Promise((resolve) => setTimeout(resolve, 400 + Math.floor(random() * 1600)));
      daemon.child.kill('SIGKILL');
      await daemon.stop();
      totals.kills++;
      const killer = setTimeout(() => churn.kill(), 10_000);
      await churn.exited;
      clearTimeout(killer);

      // Every other cycle a member is gone when the daemon comes back.
      const lose = cycle % 2 === 1;
      const lostIndex = Math.floor(random() * paths.length);
      const lostPath = paths[lostIndex]!;
      if (lose) {
        renameSync(lostPath, `${lostPath}.away`);
        totals.cyclesWithLostMember++;
      }
      daemon = await startSoftraidd(space, daemonArgs);
      daemons.push(daemon);
      assert.match(daemon.log(), /sd0 was not shutdown properly/, `${context}: assembled dirty\n${daemon.log()}`);
      const settled = await waitFor(space, 'resync', (volume) => volume.progress === null && (volume.status === 'Online' || volume.status === 'Degraded'), 60_000);
      assert.equal(settled.status, lose ? 'Degraded' : 'Online', context);

      const verified = await fio(keptJob(uri, true, patternSeed)).exited;
      if (verified.code !== 0) totals.verifyFailures++;
      assert.equal(verified.code, 0, `${context}: verify-only pass\n${verified.output}`);

      if (lose) {
        // New contents while the member is away: the re-add must bring exactly these regions over.
        patternSeed++;
        const rewritten = await fio(keptJob(uri, false, patternSeed)).exited;
        assert.equal(rewritten.code, 0, `${context}: rewrite while degraded\n${rewritten.output}`);
        renameSync(`${lostPath}.away`, lostPath);
        const readd = bioctl(space, ['-R', lostPath, 'sd0']);
        assert.equal(readd.status, 0, `${context}: ${readd.stderr}`);
        assert.match(readd.stdout + readd.stderr, /returning member/, `${context}: rebuilt only where it went stale: ${readd.stdout}${readd.stderr}`);
        await waitFor(space, 'rebuild', (volume) => volume.status === 'Online' && volume.progress === null, 60_000);
        const again = await fio(keptJob(uri, true, patternSeed)).exited;
        assert.equal(again.code, 0, `${context}: verify-only pass after the re-add\n${again.output}`);
      }

      const before = volumeJson(space).last_scrub;
      assert.equal(bioctl(space, ['-t', 'start', 'sd0']).status, 0);
      const scrubbed = await waitFor(space, 'scrub', (volume) => volume.progress === null && volume.last_scrub !== null && volume.last_scrub !== before
        && volume.last_scrub.status !== 'running', 60_000);
      totals.mismatchSectors += scrubbed.last_scrub!.mismatch_sectors;
      assert.deepEqual({ status: scrubbed.last_scrub!.status, mismatch: scrubbed.last_scrub!.mismatch_sectors }, { status: 'finished', mismatch: 0 }, context);
    }
    assert.equal(await daemon.stop(), 0, daemon.log());
  });
}
