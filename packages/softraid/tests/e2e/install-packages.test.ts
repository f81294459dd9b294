// Each program installs on its own from the checkout: `npm pack` of its
// package and of the packages it depends on, `npm install -g` of those
// tarballs into an empty prefix (third-party dependencies from npm's cache,
// which npm ci filled). The installed bioctl then manages
// a volume of the installed softraidd, and the man pages are where man finds them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryRoot, run, workspace } from '../../src/daemon/testing/softraidd-process.js';

const scratch = mkdtempSync(join(tmpdir(), 'install-packages-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface PackedFile { path: string }
interface Packed { name: string; filename: string; files: PackedFile[] }

function npm(args: string[], cwd = repositoryRoot): string {
  const result = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });
  assert.equal(result.status, 0, `npm ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

function pack(names: string[]): Packed[] {
  const destination = mkdtempSync(join(scratch, 'pack-'));
  const output = npm(['pack', '--json', '--pack-destination', destination, ...names.flatMap((name) => ['-w', `packages/${name}`])]);
  return (JSON.parse(output) as Packed[]).map((packed) => ({ ...packed, filename: join(destination, packed.filename) }));
}

function install(tarballs: Packed[]): string {
  const prefix = mkdtempSync(join(scratch, 'prefix-'));
  npm(['install', '--global', '--prefer-offline', '--prefix', prefix, ...tarballs.map((packed) => packed.filename)], scratch);
  return prefix;
}

test('npm pack: each package holds its compiled code, launchers and manual pages, and no tests', () => {
  const packed = pack(['libutil', 'bio', 'md', 'sensors', 'sensorsd', 'softraid', 'bioctl']);
  const files = (name: string): string[] => packed.find((p) => p.name === `@openbsd38/${name}`)!.files.map((file) => file.path);
  for (const name of ['libutil', 'bio', 'md', 'sensors', 'sensorsd', 'softraid', 'bioctl']) {
    const paths = files(name);
    assert.ok(paths.includes('package.json') && paths.includes('README.md'), name);
    assert.ok(paths.some((path) => path.startsWith('dist/src/') && path.endsWith('.js')), `${name} holds compiled code`);
    assert.deepEqual(paths.filter((path) => /\.test\.|test-helper|\/testing\/|\.ts$(?<!\.d\.ts)/.test(path)), [], `${name} holds no tests or sources`);
  }
  assert.ok(files('bioctl').includes('bin/bioctl') && files('bioctl').includes('man/bioctl.8') && files('bioctl').includes('dist/src/main.js'));
  assert.ok(files('softraid').includes('bin/softraidd') && files('softraid').includes('man/softraidd.8') && files('softraid').includes('dist/src/cmd/softraidd.js'));
});

test('bioctl, softraidd and sensorsd installed on their own, each with only the packages it needs, work together', async () => {
  const bioctlPrefix = install(pack(['libutil', 'bio', 'md', 'bioctl']));
  const softraidPrefix = install(pack(['libutil', 'bio', 'md', 'sensors', 'softraid']));
  const installed = (prefix: string): string[] => readdirSync(join(prefix, 'lib', 'node_modules', '@openbsd38')).sort();
  assert.deepEqual(installed(bioctlPrefix), ['bio', 'bioctl', 'libutil', 'md']);
  assert.deepEqual(installed(softraidPrefix), ['bio', 'libutil', 'md', 'sensors', 'softraid']);
  assert.deepEqual(readdirSync(join(bioctlPrefix, 'bin')), ['bioctl']);
  assert.deepEqual(readdirSync(join(softraidPrefix, 'bin')), ['softraidd']);
  assert.ok(existsSync(join(bioctlPrefix, 'share', 'man', 'man8', 'bioctl.8')), 'man bioctl finds its page');
  assert.ok(existsSync(join(softraidPrefix, 'share', 'man', 'man8', 'softraidd.8')), 'man softraidd finds its page');

  const space = workspace('install-packages');
  for (const name of ['a', 'b']) run('truncate', ['-s', '64M', join(space.directory, name)]);
  const daemon = spawn(join(softraidPrefix, 'bin', 'softraidd'), [], { env: { ...process.env, ...space.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  daemon.stderr.on('data', (bytes: Buffer) => { log += bytes.toString(); });
  try {
    const deadline = Date.now() + 15_000;
    while (!log.includes('softraidd: ready:')) {
      assert.ok(Date.now() < deadline && daemon.exitCode === null, `the installed softraidd did not come up:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const bioctl = (...args: string[]) => spawnSync(join(bioctlPrefix, 'bin', 'bioctl'), args, { cwd: space.directory, env: { ...process.env, ...space.env }, encoding: 'utf8' });
    assert.deepEqual(bioctl('-c', '1', '-l', 'a,b', 'softraid0').stdout, 'softraid0: RAID 1 volume attached as sd0\n');
    const table = bioctl('sd0');
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^softraid0 0 Online .* sd0 {5}RAID1 $/m);
    // sensorsd on its own: the listing sees the installed softraidd's volume.
    const sensorsdPrefix = install(pack(['libutil', 'bio', 'sensors', 'sensorsd']));
    assert.deepEqual(installed(sensorsdPrefix), ['bio', 'libutil', 'sensors', 'sensorsd']);
    assert.ok(existsSync(join(sensorsdPrefix, 'share', 'man', 'man8', 'sensorsd.8')) && existsSync(join(sensorsdPrefix, 'share', 'man', 'man5', 'sensorsd.conf.5')));
    const listing = spawnSync(join(sensorsdPrefix, 'bin', 'sensorsd'), ['-l', 'softraid0'], { env: { ...process.env, ...space.env }, encoding: 'utf8' });
    assert.deepEqual([listing.status, listing.stdout], [0, 'hw.sensors.softraid0.drive0=online (sd0), OK\n']);
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((resolve) => daemon.once('exit', resolve));
    space.remove();
  }
});
