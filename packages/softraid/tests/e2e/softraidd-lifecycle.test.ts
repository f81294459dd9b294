// softraidd as a process: socket modes, a second daemon refused, SIGHUP
// reload, SIGTERM -> exit 0, volumes remembered across a restart except
// those created noauto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bioctl, repositoryRoot, run, softraiddPath, startSoftraidd, workspace } from '../../src/daemon/testing/softraidd-process.js';

test('lifecycle: modes, live socket refused, reload, clean stop, assembly at start', async () => {
  const space = workspace('softraidd-lifecycle');
  try {
    for (const name of ['a', 'b', 'c', 'd']) run('truncate', ['-s', '32M', join(space.directory, name)]);
    const configFile = join(space.directory, 'softraidd.conf');
    writeFileSync(configFile, 'rebuild-rate-max = 64M\n');
    space.env.SOFTRAID_CONFIG = configFile;
    let daemon = await startSoftraidd(space);
    assert.equal(statSync(space.socketPath).mode & 0o777, 0o600);
    assert.equal(statSync(join(space.directory, 'run')).mode & 0o777, 0o700);

    const second = spawnSync(process.execPath, [softraiddPath], { env: { ...process.env, ...space.env }, encoding: 'utf8', timeout: 15_000 });
    assert.equal(second.status, 1);
    assert.equal(second.stderr, `softraidd: ${space.socketPath} is in use by a running softraidd\n`);

    assert.equal(bioctl(space, ['-c', '1', '-l', 'a,b', 'softraid0']).status, 0);
    assert.equal(bioctl(space, ['-C', 'noauto', '-c', '1', '-l', 'c,d', 'softraid0']).status, 0);
    // The launcher sized libuv's thread pool (member I/O in flight) before Node started it: 32, not 4.
    const poolThreads = Number(process.env['UV_THREADPOOL_SIZE'] ?? 32);
    const threads = readdirSync(`/proc/${daemon.child.pid}/task`).length;
    assert.ok(threads >= poolThreads, `softraidd runs ${threads} threads, fewer than a pool of ${poolThreads}`);

    writeFileSync(configFile, 'rebuild-rate-max = 32M\nbogus = 1\n');
    daemon.child.kill('SIGHUP');
    for (let waited = 0; !daemon.log().includes('configuration not reloaded') && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    writeFileSync(configFile, 'rebuild-rate-max = 32M\n');
    daemon.child.kill('SIGHUP');
    for (let waited = 0; !daemon.log().includes('configuration reloaded') && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.match(daemon.log(), /configuration not reloaded: .*unknown key bogus/);
    assert.match(daemon.log(), /configuration reloaded: program \(none\), rebuild rate 1024000\.\.33554432 bytes\/s/);

    assert.equal(await daemon.stop(), 0);
    assert.match(daemon.log(), /SIGTERM: shutting down\n(.*\n)*softraidd: stopped\n$/);

    daemon = await startSoftraidd(space);
    const table = bioctl(space, ['softraid0']).stdout;
    assert.match(table, /softraid0 0 Online +\d+ sd0 +RAID1 \n/);
    assert.ok(!table.includes(join(space.directory, 'c')), `the noauto volume is not assembled:\n${table}`);
    assert.equal(await daemon.stop(), 0);
  } finally {
    space.remove();
  }
});

test('bad configuration: message, usage, exit 1', () => {
  const result = spawnSync(process.execPath, [softraiddPath, '--nbd', 'nowhere'], { encoding: 'utf8', env: { ...process.env, SOFTRAID_CONFIG: '/dev/null' } });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /^softraidd: invalid NBD address nowhere: a socket path or host:port\nusage: softraidd/);
});

test('manual pages are mandoc -T lint clean', () => {
  const pages = readdirSync(join(repositoryRoot, 'packages')).flatMap((name) => {
    const man = join(repositoryRoot, 'packages', name, 'man');
    return existsSync(man) ? readdirSync(man).map((page) => join(man, page)) : [];
  });
  assert.ok(pages.some((page) => page.endsWith('/bioctl.8')) && pages.some((page) => page.endsWith('/softraidd.8')), `pages found: ${pages.join(', ')}`);
  for (const page of pages) {
    const lint = spawnSync('mandoc', ['-T', 'lint', '-W', 'warning', page], { encoding: 'utf8' });
    assert.equal(lint.status, 0, `${page}: ${lint.stdout}${lint.stderr}`);
  }
});

test('a corrupt state file: one line naming the file and the way back, exit 1, the file kept; --scan then assembles the volume', async () => {
  const space = workspace('softraidd-state');
  try {
    for (const name of ['a', 'b']) run('truncate', ['-s', '32M', join(space.directory, name)]);
    let daemon = await startSoftraidd(space);
    assert.equal(bioctl(space, ['-c', '1', '-l', 'a,b', 'softraid0']).status, 0);
    assert.equal(await daemon.stop(), 0);

    const statePath = join(space.stateDirectory, 'volumes.json');
    const written = readFileSync(statePath, 'utf8');
    for (const [corrupt, problem] of [
      [written.slice(0, written.length / 2), /not valid JSON \(.+\)/],
      ['null\n', /not a softraidd state file of version 1/],
      ['{"version":1,"volumes":[{"chunks":[5]}],"hot_spares":[]}\n', /not a softraidd state file of version 1/],
    ] as const) {
      writeFileSync(statePath, corrupt);
      const refused = spawnSync(process.execPath, [softraiddPath], { env: { ...process.env, ...space.env }, encoding: 'utf8', timeout: 15_000 });
      assert.equal(refused.status, 1, refused.stderr);
      const lines = refused.stderr.split('\n').filter((line) => line !== '');
      assert.equal(lines.length, 1, `one line, no stack trace:\n${refused.stderr}`);
      assert.ok(lines[0]!.startsWith(`softraidd: ${statePath}: `), lines[0]);
      assert.match(lines[0]!, problem);
      assert.match(lines[0]!, /The volumes are not affected: .* --scan MEMBERS, or assemble each volume with bioctl -c LEVEL -l MEMBERS softraid0$/);
      assert.equal(readFileSync(statePath, 'utf8'), corrupt, 'the file is left for the administrator to look at');
    }

    renameSync(statePath, `${statePath}.bad`);
    daemon = await startSoftraidd(space, ['--scan', join(space.directory, 'a'), '--scan', join(space.directory, 'b')]);
    assert.match(bioctl(space, ['softraid0']).stdout, /softraid0 0 Online +\d+ sd0 +RAID1 \n/);
    assert.equal(await daemon.stop(), 0);
  } finally {
    space.remove();
  }
});
