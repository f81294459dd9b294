// The guest side of md-pool-uml.test.ts: softraidd runs beside the real md
// driver, watches the md arrays and lends its global hot-spare pool: an md
// RAID 1 with no spare of its own loses a member, and softraid0's pool spare
// is moved into it and rebuilt onto. softraidd's log and PROGRAM get the
// events in mdadm's names.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { idle, json, ok, setBioctlEnv, step, waitFor, deadlineMs } from './md-uml-steps.js';

const directory = mkdtempSync(join(tmpdir(), 'md-pool-'));
const socket = join(directory, 'control.sock');
const logFile = join(directory, 'softraidd.log');
const programLog = join(directory, 'program.log');
const program = join(directory, 'program');
writeFileSync(program, `#!/bin/sh\necho "$@" >> ${programLog}\n`);
chmodSync(program, 0o755);
setBioctlEnv('SOFTRAID_SOCKET', socket);
// Where bioctl -t auto keeps md's scrub schedule for softraidd to carry out.
setBioctlEnv('SOFTRAID_STATE_DIR', join(directory, 'state'));

const log = openSync(logFile, 'a');
// The compiled softraidd (npm test builds first): loading the sources through tsx costs the slow guest seconds.
const daemon = spawn(process.execPath, ['packages/softraid/bin/softraidd',
  '--socket', socket, '--nbd', join(directory, 'nbd.sock'), '--state-dir', join(directory, 'state'), '--http', 'off', '--program', program],
{ stdio: ['ignore', log, log] });
const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));

async function until(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!predicate()) {
    assert.ok(Date.now() < deadline, `no ${what} within ${deadlineMs} ms; softraidd's log:\n${readFileSync(logFile, 'utf8')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

try {
  await until('control socket', () => existsSync(socket));
  // 1. A hot spare in softraid0's pool; an md RAID 1 with none of its own.
  assert.equal(await ok('-H', '/dev/ubdc', 'softraid0'), '');
  assert.match(await ok('softraid0'), /Hot spare +\d+ \d+:0\.0 +noencl <\/dev\/ubdc>/);
  assert.equal(await ok('-c', '1', '-l', '/dev/ubda,/dev/ubdb', 'md'), 'md: RAID 1 volume attached as md0\n');
  await waitFor('md0', 'end of the initial resync', idle);
  // softraidd looks at md every 2 s: it must have seen md0 whole before a member fails, or the failure
  // falls before its first look (NewArray and DegradedArray only, as mdadm --monitor would report too).
  await until('softraidd to see md0', () => readFileSync(logFile, 'utf8').includes('NewArray event detected on md0'));
  // Its first look may have caught md0 still being built: give it two more looks (2 s apart) at md0 whole.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  step('pool', 'ubdc in softraid0\'s pool, md0 Online with no spare');

  // 2. A member fails: softraidd moves the pool's spare into md0, which rebuilds onto it (slowly enough to be seen).
  writeFileSync('/sys/block/md0/md/sync_speed_max', '8000');
  assert.equal(await ok('-O', '/dev/ubdb', 'md0'), '');
  const rebuilt = await waitFor('md0', 'rebuild onto the pool\'s spare', (volume) => idle(volume)
    // md marks the array whole a moment before the new member in sync: wait for both.
    && volume.chunks.some((chunk) => chunk.name === '/dev/ubdc') && volume.chunks.every((chunk) => chunk.status === 'Online'));
  assert.deepEqual(rebuilt.chunks.map((chunk) => [chunk.name, chunk.status]), [['/dev/ubda', 'Online'], ['/dev/ubdc', 'Online']]);
  assert.doesNotMatch(await ok('softraid0'), /ubdc/);
  assert.equal((await json('md')).md0?.status, 'Online');
  step('moved', 'md0 rebuilt onto /dev/ubdc from softraid0\'s pool');

  // 3. The events, in mdadm's names, in the log and through PROGRAM.
  await until('SpareActive of the pool\'s spare in the log', () => readFileSync(logFile, 'utf8').includes('SpareActive event detected on md0, component device /dev/ubdc'));
  const lines = readFileSync(logFile, 'utf8');
  for (const line of ['Fail event detected on md0, component device /dev/ubdb', 'DegradedArray event detected on md0', 'hot spare /dev/ubdc moved from softraid0\'s pool to md0',
    'MoveSpare event detected on md0, component device /dev/ubdc', 'RebuildStarted event detected on md0',
    'RebuildFinished event detected on md0', 'SpareActive event detected on md0, component device /dev/ubdc']) {
    assert.ok(lines.includes(line), `softraidd's log lacks "${line}":\n${lines}`);
  }
  // The array's own members coming up at creation were never spares.
  assert.doesNotMatch(lines, /SpareActive event detected on md0, component device \/dev\/ubd[ab]/);
  await until('PROGRAM runs', () => existsSync(programLog) && readFileSync(programLog, 'utf8').includes('SpareActive md0 /dev/ubdc'));
  const runs = readFileSync(programLog, 'utf8');
  for (const run of ['DegradedArray md0', 'MoveSpare md0 /dev/ubdc', 'RebuildFinished md0']) assert.ok(runs.includes(`${run}\n`), `PROGRAM was not run as "${run}":\n${runs}`);
  step('events', lines.split('\n').filter((line) => / event detected on md0/.test(line)).map((line) => line.replace(/^softraidd: /, '')).join('; '));
  // 4. md's scrub schedule: bioctl -t auto.N keeps it, softraidd starts md's check when it is due.
  writeFileSync('/sys/block/md0/md/sync_speed_max', 'system');
  assert.match(await ok('-t', 'auto.3600.1', 'md'), /md arrays are checked every 3600 seconds while softraidd runs/);
  assert.match(await ok('-t', 'get', 'md0'), /auto/);
  await until('the scheduled check', () => readFileSync(logFile, 'utf8').includes('md: scheduled scrub of md0 started'));
  // A check of so small an array may fall between two of softraidd's looks: the kernel's own words say it ran.
  const attribute = (name: string): string => readFileSync(`/sys/block/md0/md/${name}`, 'utf8').trim();
  await until('the check to end', () => attribute('last_sync_action') === 'check' && attribute('sync_action') === 'idle');
  assert.equal(attribute('mismatch_cnt'), '0');
  step('schedule', 'bioctl -t auto.3600.1 md: softraidd started md0\'s check a second later; 0 mismatches');
  assert.equal(await ok('-t', 'manual', 'md'), '');
  assert.equal(await ok('-d', 'md0'), '');
} finally {
  daemon.kill('SIGTERM');
  assert.equal(await exited, 0, `softraidd did not stop cleanly:\n${readFileSync(logFile, 'utf8')}`);
  rmSync(directory, { recursive: true, force: true });
}
process.stdout.write('scenario: all steps passed\n');
