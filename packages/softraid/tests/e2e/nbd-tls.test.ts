// NBD_OPT_STARTTLS with X.509 (FORCEDTLS): with a throwaway CA made by
// openssl, nbdinfo and qemu-io connect over TLS with client certificates;
// without TLS every option is refused with NBD_REP_ERR_TLS_REQD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NbdClientConnection, NbdClientError } from '../../src/nbd/client.js';
import { MemoryBlockDevice, nbdUnixUri, run, startServer } from './nbd-helpers.js';

async function openssl(dir: string, args: string[]): Promise<void> {
  const result = await run('openssl', args.map((arg) => arg.replaceAll('DIR', dir)), { timeoutMs: 20_000 });
  assert.equal(result.code, 0, result.stderr);
}

/** A CA, a server certificate and a client certificate, in libnbd's directory layout. */
async function makeCertificates(dir: string): Promise<void> {
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, ['req', '-x509', ...key, '-keyout', 'DIR/ca-key.pem', '-out', 'DIR/ca-cert.pem', '-days', '2', '-subj', '/CN=softraid test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  for (const [who, usage] of [['server', 'serverAuth'], ['client', 'clientAuth']] as const) {
    await openssl(dir, ['req', ...key, '-keyout', `DIR/${who}-key.pem`, '-out', `DIR/${who}.csr`, '-subj', `/CN=${who === 'server' ? 'localhost' : 'softraid-client'}`]);
    await writeFile(join(dir, `${who}.ext`), `subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=${usage}\nkeyUsage=critical,digitalSignature\n`);
    await openssl(dir, ['x509', '-req', '-in', `DIR/${who}.csr`, '-CA', 'DIR/ca-cert.pem', '-CAkey', 'DIR/ca-key.pem', '-CAcreateserial',
      '-out', `DIR/${who}-cert.pem`, '-days', '2', '-extfile', `DIR/${who}.ext`]);
  }
}

test('STARTTLS with X.509 client certificates; TLS required refuses plain-text options', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbd-tls-'));
  try {
    await makeCertificates(dir);
    const fixture = await startServer({
      tls: {
        key: await readFile(join(dir, 'server-key.pem')),
        cert: await readFile(join(dir, 'server-cert.pem')),
        ca: await readFile(join(dir, 'ca-cert.pem')),
        required: true,
      },
    });
    try {
      const device = new MemoryBlockDevice(4 * 1024 * 1024);
      fixture.registry.set('sd0', device);
      const tlsUri = `nbds+unix:///sd0?socket=${encodeURIComponent(fixture.socketPath)}&tls-certificates=${encodeURIComponent(dir)}&tls-hostname=localhost`;

      const info = await run('nbdinfo', ['--json', tlsUri]);
      assert.equal(info.code, 0, info.stderr);
      const parsed = JSON.parse(info.stdout) as { TLS: boolean; exports: { 'export-size': number }[] };
      assert.equal(parsed.TLS, true);
      assert.equal(parsed.exports[0]?.['export-size'], 4 * 1024 * 1024);

      const io = await run('qemu-io', [
        '--object', `tls-creds-x509,id=tls0,endpoint=client,dir=${dir}`,
        '--image-opts', `driver=nbd,path=${fixture.socketPath},export=sd0,tls-creds=tls0,tls-hostname=localhost`,
        '-c', 'write -P 0x6b 65536 128k', '-c', 'read -P 0x6b 65536 128k', '-c', 'flush',
      ]);
      assert.equal(io.code, 0, io.stderr);
      assert.doesNotMatch(io.stdout, /verification failed/i);
      assert(device.data.subarray(65536, 65536 + 131072).every((byte) => byte === 0x6b));

      // Plain text: refused with NBD_REP_ERR_TLS_REQD (our client maps it to EPERM); nbdinfo fails too.
      await assert.rejects(NbdClientConnection.connect({ kind: 'unix', path: fixture.socketPath }, 'sd0', { connectTimeoutMs: 2000, requestTimeoutMs: 2000, requestsInFlightMax: 4 }),
        (error: NbdClientError) => error.errno === 'EPERM' && /TLS/.test(error.message));
      const plain = await run('nbdinfo', [nbdUnixUri(fixture.socketPath, 'sd0')]);
      assert.notEqual(plain.code, 0);
      // A client certificate the CA did not sign is refused.
      await openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'DIR/client-key.pem', '-out', 'DIR/client-cert.pem', '-days', '2', '-subj', '/CN=intruder']);
      const intruder = await run('nbdinfo', [tlsUri]);
      assert.notEqual(intruder.code, 0, 'a self-signed client certificate was accepted');
    } finally {
      await fixture.cleanup();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
