// RAID 6 end to end with the real softraidd and real clients: `bioctl -c 6`
// over five files and two hot spares; fio (nbd engine, libnbd) writes
// random blocks with crc32c verification while two members are failed with
// `bioctl -O`, one after the other, in the middle of its run; the spares
// take over and are rebuilt one after the other; fio verifies every block
// (read degraded and during the rebuilds), a verify-only pass reads it all
// again from the rebuilt volume, qemu-io checks patterns written across
// strip and row boundaries while two members were away, and a scrub finds
// P and Q right everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { bioctl, run, startSoftraidd, workspace } from '../../src/daemon/testing/softraidd-process.js';

interface VolumeJson {
  status: string;
  level: string;
  progress: { operation: string; percent: number } | null;
  last_scrub: { status: string; mismatch_sectors: number } | null;
  chunks: { status: string; name: string }[];
}

interface Exit {
  code: number | null;
  output: string;
}

function spawnTool(command: string, args: string[]): { exited: Promise<Exit>; running(): boolean } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  child.stderr.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code) => resolve({ code, output })));
  return { exited, running: () => child.exitCode === null && child.signalCode === null };
}

const stripBytes = 64 * 1024;
const rowBytes = 3 * stripBytes; // five chunks: three data strips, P and Q

function fioJob(uri: string, verifyOnly: boolean): string[] {
  return ['--name=raid6', '--ioengine=nbd', `--uri=${uri}`, '--rw=randwrite', '--bsrange=4k-192k', '--size=16M', '--offset=4M',
    '--iodepth=8', '--randseed=6006', '--verify=crc32c', '--verify_fatal=1', '--verify_state_save=0',
    ...(verifyOnly ? ['--verify_only=1'] : ['--rate=6m'])];
}

test('RAID 6 over NBD: fio verify with two members failed during the run, both rebuilt onto hot spares; qemu-io patterns, then two away again', async () => {
  const space = workspace('raid6-two-failures');
  const daemon = await startSoftraidd(space, ['--rebuild-rate-min', '200M', '--rebuild-rate-max', '400M']);
  try {
    const disk = (name: string): string => {
      const path = join(space.directory, name);
      run('truncate', ['-s', '24M', path]);
      return path;
    };
    const members = ['m0', 'm1', 'm2', 'm3', 'm4'].map(disk);
    const spares = ['s0', 's1'].map(disk);
    const created = bioctl(space, ['-c', '6', '-l', members.join(','), 'softraid0']);
    assert.equal(created.status, 0, created.stderr);
    for (const spare of spares) assert.equal(bioctl(space, ['-H', spare, 'softraid0']).status, 0);
    const table = bioctl(space, ['softraid0']);
    assert.match(table.stdout.split('\n')[1]!, /^softraid0 0 Online +\d+ sd0 +RAID6 $/, table.stdout);
    const volume = (): VolumeJson => {
      const result = bioctl(space, ['--json', 'sd0']);
      assert.equal(result.status, 0, result.stderr);
      return (JSON.parse(result.stdout) as { volumes: Record<string, VolumeJson> }).volumes['sd0']!;
    };
    assert.equal(volume().level, 'raid6');
    const uri = space.nbdUri('sd0');

    // qemu-io patterns in the first 4 MiB (fio writes after it): across a strip, a row, several rows.
    const spans: [number, number, number][] = [
      [0x61, stripBytes - 4096, 8192], [0x62, rowBytes - 512, 1024], [0x63, 2 * rowBytes + 4096, 2 * rowBytes + 8192], [0x64, 6 * rowBytes, rowBytes],
    ];
    const written = await spawnTool('qemu-io', ['-f', 'raw', ...spans.flatMap(([pattern, offset, length]) => ['-c', `write -P ${pattern} ${offset} ${length}`]), '-c', 'flush', uri]).exited;
    assert.equal(written.code, 0, written.output);

    const fio = spawnTool('fio', fioJob(uri, false));
    const waitWhileFioRuns = async (ms: number): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      assert.ok(fio.running(), 'fio ended before both members were failed: the failures must come during its run');
    };
    await waitWhileFioRuns(600);
    assert.equal(bioctl(space, ['-O', members[1]!, 'sd0']).status, 0);
    await waitWhileFioRuns(400);
    assert.equal(bioctl(space, ['-O', members[3]!, 'sd0']).status, 0);
    const job = await fio.exited;
    assert.equal(job.code, 0, `fio verify:\n${job.output}`);

    // Both spares became members and were rebuilt, one after the other.
    const rebuildDeadline = Date.now() + 120_000;
    let state = volume();
    while (!(state.status === 'Online' && state.progress === null && spares.every((spare) => state.chunks.some((chunk) => chunk.name === spare)))) {
      assert.ok(Date.now() < rebuildDeadline, `the spares never finished rebuilding: ${JSON.stringify(state)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      state = volume();
    }
    assert.deepEqual(state.chunks.map((chunk) => chunk.status), ['Online', 'Online', 'Online', 'Online', 'Online']);
    assert.ok(!state.chunks.some((chunk) => chunk.name === members[1] || chunk.name === members[3]), JSON.stringify(state.chunks));
    assert.match(daemon.log(), new RegExp(`will attempt to rebuild on hotspare ${spares[0]}`));
    assert.match(daemon.log(), new RegExp(`will attempt to rebuild on hotspare ${spares[1]}`));

    const again = await spawnTool('fio', fioJob(uri, true)).exited;
    assert.equal(again.code, 0, `fio verify-only after the rebuilds:\n${again.output}`);
    const read = await spawnTool('qemu-io', ['-f', 'raw', ...spans.flatMap(([pattern, offset, length]) => ['-c', `read -P ${pattern} ${offset} ${length}`]), uri]).exited;
    assert.equal(read.code, 0, read.output);
    assert.doesNotMatch(read.output, /verification failed|error/i);

    // With two of the rebuilt members gone again, the patterns still read back (from P and Q).
    assert.equal(bioctl(space, ['-O', spares[0]!, 'sd0']).status, 0);
    assert.equal(bioctl(space, ['-O', members[0]!, 'sd0']).status, 0);
    assert.equal(volume().status, 'Degraded');
    const degraded = await spawnTool('qemu-io', ['-f', 'raw', ...spans.flatMap(([pattern, offset, length]) => ['-c', `read -P ${pattern} ${offset} ${length}`]), uri]).exited;
    assert.equal(degraded.code, 0, degraded.output);
    assert.doesNotMatch(degraded.output, /verification failed|error/i);
    const degradedVerify = await spawnTool('fio', fioJob(uri, true)).exited;
    assert.equal(degradedVerify.code, 0, `fio verify-only with two members away:\n${degradedVerify.output}`);
  } finally {
    await daemon.stop();
    space.remove();
  }
});

test('RAID 6 over NBD: a scrub of the volume fio wrote finds 0 mismatched sectors', async () => {
  const space = workspace('raid6-scrub');
  const daemon = await startSoftraidd(space);
  try {
    const members = ['m0', 'm1', 'm2', 'm3'].map((name) => {
      const path = join(space.directory, name);
      run('truncate', ['-s', '16M', path]);
      return path;
    });
    assert.equal(bioctl(space, ['-c', '6', '-l', members.join(','), 'softraid0']).status, 0);
    const uri = space.nbdUri('sd0');
    const job = await spawnTool('fio', ['--name=fill', '--ioengine=nbd', `--uri=${uri}`, '--rw=randwrite', '--bsrange=4k-128k', '--size=8M',
      '--iodepth=8', '--randseed=66', '--verify=crc32c', '--verify_fatal=1', '--verify_state_save=0']).exited;
    assert.equal(job.code, 0, job.output);
    assert.equal(bioctl(space, ['-t', 'start', 'sd0']).status, 0);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const result = bioctl(space, ['--json', 'sd0']);
      const state = (JSON.parse(result.stdout) as { volumes: Record<string, VolumeJson> }).volumes['sd0']!;
      if (state.progress === null && state.last_scrub !== null && state.last_scrub.status !== 'running') {
        assert.deepEqual({ status: state.last_scrub.status, mismatch: state.last_scrub.mismatch_sectors }, { status: 'finished', mismatch: 0 });
        break;
      }
      assert.ok(Date.now() < deadline, `scrub did not finish: ${result.stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await daemon.stop();
    space.remove();
  }
});
