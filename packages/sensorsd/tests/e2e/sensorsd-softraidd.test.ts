// sensorsd against a live softraidd and a sysfs tree built by hand: the
// listing, then the daemon following a RAID 1 that degrades and is rebuilt,
// running the configured command after the debounce, killing a hung one,
// and keeping its configuration when a reload finds a bad file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bioctl, repositoryRoot, run, startSoftraidd, workspace } from '@openbsd38/softraid/daemon/testing/softraidd-process.js';

const sensorsdPath = join(repositoryRoot, 'bin', 'sensorsd');
const space = workspace('sensorsd');
after(() => space.remove());

function sysfsTree(): string {
  const root = join(space.directory, 'sys');
  const files: Record<string, string> = {
    'class/hwmon/hwmon0/name': 'coretemp',
    'class/hwmon/hwmon0/temp1_input': '41000',
    'class/hwmon/hwmon0/temp1_label': 'Package id 0',
    'class/hwmon/hwmon0/temp1_crit': '100000',
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), `${content}\n`);
  }
  return root;
}

const sysfsRoot = sysfsTree();
const env = { ...process.env, ...space.env, SOFTRAID_SYSFS_ROOT: sysfsRoot, SENSORSD_COMMAND_TIMEOUT: '2' };
const sensorsd = (...args: string[]) => spawnSync(process.execPath, [sensorsdPath, ...args], { env, encoding: 'utf8' });

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('sensorsd -l: the hw.sensors listing, with and without softraidd', async () => {
  const nobody = spawnSync(process.execPath, [sensorsdPath, '-l'], { env: { ...env, SOFTRAID_SOCKET: join(space.directory, 'none.sock') }, encoding: 'utf8' });
  assert.equal(nobody.status, 0);
  assert.equal(nobody.stdout, 'hw.sensors.coretemp0.temp0=41.00 degC (Package id 0), OK\n');
  assert.match(nobody.stderr, /^sensorsd: softraidd not reachable at .*none\.sock \(ENOENT\): its volumes are left out\n$/);

  for (const name of ['a', 'b', 'c']) run('truncate', ['-s', '64M', join(space.directory, name)]);
  const daemon = await startSoftraidd(space);
  try {
    assert.equal(bioctl(space, ['-c', '1', '-l', 'a,b', 'softraid0']).status, 0);
    const listing = sensorsd('-l');
    assert.equal(listing.status, 0, listing.stderr);
    assert.equal(listing.stderr, '');
    assert.equal(listing.stdout, [
      'hw.sensors.coretemp0.temp0=41.00 degC (Package id 0), OK',
      `hw.sensors.sd0.drive0=online (${join(space.directory, 'a')}), OK`,
      `hw.sensors.sd0.drive1=online (${join(space.directory, 'b')}), OK`,
      'hw.sensors.softraid0.drive0=online (sd0), OK',
      '',
    ].join('\n'));
    assert.equal(sensorsd('-l', 'hw.sensors.softraid0').stdout, 'hw.sensors.softraid0.drive0=online (sd0), OK\n');
    assert.equal(sensorsd('-l', 'sd0.drive1').stdout, `hw.sensors.sd0.drive1=online (${join(space.directory, 'b')}), OK\n`);
    const json = JSON.parse(sensorsd('-l', '--json', 'softraid0').stdout) as { sensors: Array<Record<string, unknown>> };
    assert.deepEqual(json.sensors, [{ name: 'softraid0.drive0', device: 'softraid0', type: 'drive', index: 0, value: 4, text: 'online', description: 'sd0', status: 'OK' }]);
    const missing = sensorsd('-l', 'lm9');
    assert.deepEqual([missing.status, missing.stderr], [1, 'sensorsd: no sensor lm9\n']);

    // The daemon: a drive command that records itself, and a temp command that hangs.
    const record = join(space.directory, 'record');
    const config = join(space.directory, 'sensorsd.conf');
    writeFileSync(config, [
      '# sensorsd.conf for the test',
      `hw.sensors.softraid0.drive0:command=echo %x %t %n %s %2 >> ${record}`,
      'hw.sensors.coretemp0.temp0:high=90C:command=sleep 100',
      'hw.sensors.lm9.temp0:high=90C',
      '',
    ].join('\n'));
    const child = spawn(process.execPath, [sensorsdPath, '-d', '-c', '1', '-f', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stderr.on('data', (bytes: Buffer) => { log += bytes.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await until('startup', () => log.includes('sensorsd: startup, system has 4 sensors'));
      assert.match(log, new RegExp(`sensorsd: ${config.replace(/[.]/g, '\\.')}:4: no sensor hw\\.sensors\\.lm9\\.temp0: it is watched if it appears`));
      // The first state counts as a change, after four checks.
      await until('the first report', () => log.includes('sensorsd: softraid0.drive0: online, OK'));
      await until('the first command', () => existsSync(record) && readFileSync(record, 'utf8').includes('softraid0 drive 0 OK online'));
      assert.match(log, /sensorsd: coretemp0\.temp0: within limits: 41\.00 degC/);
      // The hung command is killed after its time limit; monitoring goes on.
      await until('the hung command killed', () => log.includes('sensorsd: command "sleep 100": killed after its time limit'));

      // Pull disk b: the volume degrades.
      assert.equal(bioctl(space, ['-O', 'b', 'sd0']).status, 0);
      const degradedAt = Date.now();
      await until('the degraded report', () => log.includes('sensorsd: softraid0.drive0: pfail, WARN'));
      assert.ok(Date.now() - degradedAt >= 2500, 'reported only after the debounce');
      assert.match(log, /sensorsd: sd0\.drive1: fail, CRITICAL/);
      await until('the command for it', () => readFileSync(record, 'utf8').includes('softraid0 drive 0 WARNING pfail'));

      // A bad configuration on SIGHUP is refused and the running one kept.
      writeFileSync(config, 'temp:high=90\n');
      child.kill('SIGHUP');
      await until('the refused reload', () => log.includes(`sensorsd: configuration not reloaded: ${config}:1: high=90: no unit for temp sensor (C or F)`));

      // Rebuild onto c: back online, and the command runs again.
      assert.equal(bioctl(space, ['-R', 'c', 'sd0']).status, 0);
      await until('back online', () => readFileSync(record, 'utf8').trim().split('\n').at(-1) === 'softraid0 drive 0 OK online', 30_000);
      assert.equal(readFileSync(record, 'utf8').trim().split('\n').filter((line) => line === 'softraid0 drive 0 WARNING pfail').length, 1, 'one command per change');
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, log);
    }
    assert.match(log, /sensorsd: stopped\n$/);
  } finally {
    await daemon.stop();
  }
});

test('sensorsd: bad flags and a bad configuration file are refused before it starts', () => {
  const badCheck = sensorsd('-c', '601');
  assert.deepEqual([badCheck.status, badCheck.stderr], [1, 'sensorsd: check is too large: 601\nusage: sensorsd [-d] [-c check] [-f file]\n       sensorsd -l [--json] [name-prefix]\n']);
  const config = join(space.directory, 'bad.conf');
  writeFileSync(config, 'volt:low=4.8\n');
  const bad = sensorsd('-d', '-f', config);
  assert.deepEqual([bad.status, bad.stderr], [1, `sensorsd: ${config}:1: low=4.8: no unit for voltage sensor (V)\n`]);
});
