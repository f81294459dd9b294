// The daemon shell in-process over the fake controller: socket mode, stale
// and live sockets, state file, events and PROGRAM, reload, shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startFakeDaemon } from './testing/harness.js';
import { FakeController } from '@openbsd38/bio/testing/fake-controller.js';
import { startDaemon } from './daemon.js';
import { NbdServer } from '../nbd/index.js';
import { SocketInUseError } from '@openbsd38/bio/server/socket-guard.js';
import { parseConfigFile, parseDaemonArgs, parseNbdAddress, ConfigError } from './config.js';

test('control socket is mode 0600 in a 0700 directory; state file follows the volumes', async () => {
  const d = await startFakeDaemon();
  try {
    assert.equal(statSync(d.socketPath).mode & 0o777, 0o600);
    assert.equal(statSync(join(d.directory, 'run')).mode & 0o777, 0o700);
    await d.bioctl('-c', '1', '-l', `${d.chunk('a')},${d.chunk('b')}`, 'softraid0');
    await d.bioctl('-C', 'noauto', '-c', '1', '-l', `${d.chunk('c')},${d.chunk('e')}`, 'softraid0');
    await d.bioctl('-H', d.chunk('s'), 'softraid0');
    const state = JSON.parse(readFileSync(join(d.directory, 'state', 'volumes.json'), 'utf8')) as { volumes: Array<{ chunks: string[] }>; hot_spares: string[] };
    assert.deepEqual(state.volumes.map((volume) => volume.chunks), [[join(d.directory, 'a'), join(d.directory, 'b')]], 'noauto volumes are not remembered');
    assert.deepEqual(state.hot_spares, [join(d.directory, 's')]);
    assert.ok(d.logLines.includes('NewArray event detected on sd0'));
  } finally {
    await d.close();
  }
});

test('a second daemon on a live socket is refused; a stale socket is replaced; remembered members are scanned', async () => {
  const d = await startFakeDaemon();
  try {
    await d.bioctl('-c', '1', '-l', `${d.chunk('a')},${d.chunk('b')}`, 'softraid0');
    const config = {
      controlSocketPath: d.socketPath, nbd: { kind: 'unix' as const, path: join(d.directory, 'nbd2.sock') }, stateDirectory: join(d.directory, 'state'),
      configFile: undefined, flagOverrides: {}, scanPatterns: [], controlRequestTimeoutMs: 10_000, program: undefined, rebuildRateBytesPerSecondMin: 1, rebuildRateBytesPerSecondMax: 2, http: null, httpCredentials: null, sysfsRoot: '/sys',
    };
    const deps = { controller: new FakeController(), createNbdServer: (exports: never) => new NbdServer({ exports }), log: () => {} };
    await assert.rejects(startDaemon(config, deps), SocketInUseError);
    await d.daemon.close();
    // A stale socket: its listener was SIGKILLed, so the file stays and nobody answers.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(d.socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(statSync(d.socketPath).isSocket());
    const controller = new FakeController();
    const second = await startDaemon(config, { ...deps, controller });
    assert.deepEqual(controller.scanned, [[join(d.directory, 'a'), join(d.directory, 'b')]]);
    await second.close();
    assert.equal(controller.shutdownCount, 1);
    writeFileSync(d.socketPath, '');
    await assert.rejects(startDaemon(config, { ...deps, controller: new FakeController() }), /is not a socket/);
  } finally {
    await d.close();
  }
});

test('malformed frames get a protocol error reply and the connection is closed', async () => {
  const d = await startFakeDaemon();
  try {
    const reply = await new Promise<Buffer>((resolve) => {
      const socket = createConnection({ path: d.socketPath });
      const chunks: Buffer[] = [];
      socket.on('data', (bytes) => chunks.push(bytes));
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      const body = Buffer.from('{"version":2,"id":5,"op":"format"}');
      const header = Buffer.alloc(4);
      header.writeUInt32BE(body.length);
      socket.write(Buffer.concat([header, body]));
    });
    const response = JSON.parse(reply.subarray(4).toString()) as { id: number; bio_status: { status: string; messages: Array<{ text: string }> } };
    assert.equal(response.id, 5);
    assert.equal(response.bio_status.status, 'error');
    assert.match(response.bio_status.messages[0]!.text, /^protocol error: op must be one of/);
    const oversized = await new Promise<number>((resolve) => {
      const socket = createConnection({ path: d.socketPath });
      let received = 0;
      socket.on('data', (bytes) => { received += bytes.length; });
      socket.on('close', () => resolve(received));
      socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    });
    assert.ok(oversized > 0, 'an oversized frame is answered and the connection closed');
  } finally {
    await d.close();
  }
});

test('events run PROGRAM as `PROGRAM event device [member]`; SIGHUP-style reload picks up a new program', async () => {
  const d = await startFakeDaemon();
  try {
    const output = join(d.directory, 'events.txt');
    const program = join(d.directory, 'program.sh');
    writeFileSync(program, `#!/bin/sh\necho "$@" >> ${output}\n`);
    chmodSync(program, 0o755);
    const configFile = join(d.directory, 'softraidd.conf');
    writeFileSync(configFile, `# test\nprogram = ${program}\nrebuild-rate-max = 8M\n`);
    // The harness daemon has no config file: start one that has.
    await d.daemon.close();
    const controller = new FakeController();
    const lines: string[] = [];
    const daemon = await startDaemon({
      controlSocketPath: d.socketPath, nbd: { kind: 'unix', path: join(d.directory, 'nbd3.sock') }, stateDirectory: join(d.directory, 'state3'),
      configFile, flagOverrides: {}, scanPatterns: [], controlRequestTimeoutMs: 10_000, program: undefined, rebuildRateBytesPerSecondMin: 1024, rebuildRateBytesPerSecondMax: 2048, http: null, httpCredentials: null, sysfsRoot: '/sys',
    }, { controller, createNbdServer: (exports) => new NbdServer({ exports }), log: (line) => lines.push(line) });
    controller.emit({ name: 'TestMessage', device: 'sd0' });
    daemon.reload();
    assert.equal(controller.rateLimits?.rateBytesPerSecondMax, 8 * 1024 * 1024);
    controller.emit({ name: 'Fail', device: 'sd0', member: '/dev/loop1' });
    await daemon.close();
    assert.equal(readFileSync(output, 'utf8'), 'Fail sd0 /dev/loop1\n', 'no program before the reload, then mdadm\'s arguments');
    assert.ok(lines.includes('TestMessage event detected on sd0'));
    assert.ok(lines.includes('Fail event detected on sd0, component device /dev/loop1'));
  } finally {
    await d.close();
  }
});

test('configuration parsing', () => {
  assert.deepEqual(parseNbdAddress('/run/x.sock'), { kind: 'unix', path: '/run/x.sock' });
  assert.deepEqual(parseNbdAddress('127.0.0.1:10809'), { kind: 'tcp', host: '127.0.0.1', port: 10809 });
  assert.deepEqual(parseNbdAddress('[::1]:0'), { kind: 'tcp', host: '::1', port: 0 });
  assert.throws(() => parseNbdAddress('localhost'), ConfigError);
  assert.throws(() => parseConfigFile('colour = blue\n', 'f'), /f:1: unknown key colour/);
  assert.throws(() => parseDaemonArgs(['--rebuild-rate-min', '2M', '--rebuild-rate-max', '1M', '--config', '/dev/null'], {}), /exceeds/);
  const config = parseDaemonArgs(['--nbd', '127.0.0.1:0', '--config', '/dev/null'], { SOFTRAID_SOCKET: '/tmp/s.sock', SOFTRAID_STATE_DIR: '/tmp/st' });
  assert.ok(config !== 'help');
  assert.equal(config.controlSocketPath, '/tmp/s.sock');
  assert.equal(config.stateDirectory, '/tmp/st');
  assert.equal(config.rebuildRateBytesPerSecondMax, 200_000 * 1024);
});

test('--http on another address than loopback needs --http-auth, whose file must be private', () => {
  assert.throws(() => parseDaemonArgs(['--http', '0.0.0.0:9797', '--config', '/dev/null'], {}),
    (error: Error) => error instanceof ConfigError && /--http 0\.0\.0\.0:9797 is not a loopback address: serving the status page and metrics there needs --http-auth FILE/.test(error.message));
  assert.throws(() => parseDaemonArgs(['--config', '/dev/null'], { SOFTRAID_HTTP: '[::]:9797' }), /not a loopback address/);
  const directory = mkdtempSync(join(tmpdir(), 'softraidd-auth-'));
  try {
    const file = join(directory, 'http-auth');
    writeFileSync(file, 'prometheus:long-enough-secret\n', { mode: 0o644 });
    assert.throws(() => parseDaemonArgs(['--http', '0.0.0.0:9797', '--http-auth', file, '--config', '/dev/null'], {}), /mode 0644 lets others read it/);
    chmodSync(file, 0o600);
    const config = parseDaemonArgs(['--http', '0.0.0.0:9797', '--config', '/dev/null'], { SOFTRAID_HTTP_AUTH: file });
    assert.ok(config !== 'help' && config.httpCredentials !== null);
    assert.ok(!JSON.stringify(config).includes('long-enough-secret'), 'the configuration holds a digest, not the password');
    assert.throws(() => parseDaemonArgs(['--http-auth', '', '--config', '/dev/null'], {}), /--http-auth needs a value/);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
