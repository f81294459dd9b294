// Strangers on softraidd's control socket, and bioctl pointed at a socket
// that is not it: an NBD client that waits for a greeting forever, a burst
// of silent connections, an HTTP request, and bioctl --socket=nbd.sock. The
// daemon answers each with a clear error, never hangs or runs out of slots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { bioctl, startSoftraidd, workspace } from '../../src/daemon/testing/softraidd-process.js';

test('silent and foreign clients are closed with a reason; bioctl on the NBD socket says it is not the control socket', async () => {
  const space = workspace('control-strangers');
  space.env['SOFTRAID_CONTROL_TIMEOUT'] = '1';
  const daemon = await startSoftraidd(space);
  try {
    // nbdinfo on the control socket waits for NBD's greeting: it is cut off after the time limit, not left hanging.
    const started = Date.now();
    const nbdinfo = spawnSync('nbdinfo', [`nbd+unix:///?socket=${space.socketPath}`], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(nbdinfo.signal, null, 'nbdinfo was not left hanging');
    assert.notEqual(nbdinfo.status, 0);
    assert.ok(Date.now() - started < 10_000, `nbdinfo took ${Date.now() - started} ms`);
    await daemon.waitForLog(/control: a client sent no request in 1 s, connection closed/);

    // As many silent connections as the daemon serves at once: the slots come back.
    const silent: Socket[] = [];
    let closed = 0;
    for (let i = 0; i < 64; i++) {
      const socket = createConnection({ path: space.socketPath });
      socket.resume();
      socket.on('error', () => undefined);
      socket.on('close', () => { closed++; });
      silent.push(socket);
    }
    // Each is closed after the 1 s limit; on a loaded machine that may take a little longer.
    const deadline = Date.now() + 15_000;
    while (closed < 64 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const afterBurst = bioctl(space, ['softraid0']);
    assert.equal(afterBurst.status, 0, `a slot is free again for bioctl: ${afterBurst.stderr}`);
    assert.equal(closed, 64, `${closed} of 64 silent connections closed by the daemon`);
    for (const socket of silent) socket.destroy();

    // An HTTP client: told what this socket is, at once.
    const reply = await new Promise<string>((resolve) => {
      const socket = createConnection({ path: space.socketPath }, () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      let text = '';
      socket.on('data', (bytes: Buffer) => { text += bytes.toString('latin1'); });
      socket.on('close', () => resolve(text));
    });
    assert.match(reply, /not a softraidd control request \(this is softraidd's control socket, where bioctl connects; NBD clients connect to /);

    // bioctl pointed at the NBD socket.
    const wrong = bioctl(space, [`--socket=${space.nbdPath}`, 'softraid0']);
    assert.deepEqual(wrong, { status: 1, stdout: '', stderr: `bioctl: control socket: ${space.nbdPath} is not softraidd's control socket: `
      + 'it speaks NBD (it is an NBD export socket; bioctl talks to the control socket, SOFTRAID_SOCKET)\n' });
    assert.equal(daemon.child.exitCode, null);
  } finally {
    await daemon.stop();
    space.remove();
  }
});
