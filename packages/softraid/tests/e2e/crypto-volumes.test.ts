// CRYPTO and RAID 1C end to end: the real softraidd and bioctl, real files
// as chunks, qemu-io as the client. A passphrase volume (-s, -p), a wrong
// passphrase and a passphrase file of mode 0644 that change no byte, -P, a
// RAID 1C volume whose key disk makes it assemble at start (and whose
// absence keeps it down), a rebuild of ciphertext onto a hot spare, and what
// crosses the control socket, the log and the JSON: never a key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { bioctl, bioctlPath, run, startSoftraidd, waitForTable, workspace, type Workspace } from '../../src/daemon/testing/softraidd-process.js';

const dataOffsetBytes = 1024 * 1024;
const cryptoRegionOffsetBytes = 768 * 1024;
/** Where a key area's 2048 bytes of keys (masked, or a key disk's 32-byte mask key) sit in a slot. */
const keysFieldOffsetBytes = 224;

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function qemuIo(uri: string, commands: string[]): { status: number | null; output: string } {
  const result = spawnSync('qemu-io', ['-f', 'raw', ...commands.flatMap((command) => ['-c', command]), uri], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A run of `length` bytes all equal to `byte` somewhere in the file: the plaintext pattern, if it were stored. */
function holdsRun(path: string, byte: number, length: number): boolean {
  return readFileSync(path).includes(Buffer.alloc(length, byte));
}

/** bioctl without blocking the event loop (a proxy in this process relays its control connection). */
function bioctlAsync(space: Workspace, args: string[], env: Record<string, string>, input: string): Promise<{ status: number | null; output: string }> {
  const child = spawn(process.execPath, [bioctlPath, ...args], { env: { ...process.env, ...space.env, ...env }, cwd: space.directory });
  let output = '';
  child.stdout.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  child.stderr.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  child.stdin.end(input);
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, output })));
}

/** A Unix socket in front of softraidd's control socket that keeps every byte of both directions. */
async function recordingProxy(space: Workspace): Promise<{ path: string; requests: Buffer[]; replies: Buffer[]; close(): Promise<void> }> {
  const path = join(space.directory, 'proxy.sock');
  const requests: Buffer[] = [];
  const replies: Buffer[] = [];
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(space.socketPath);
    sockets.push(client, upstream);
    client.on('data', (bytes: Buffer) => { requests.push(Buffer.from(bytes)); upstream.write(bytes); });
    upstream.on('data', (bytes: Buffer) => { replies.push(Buffer.from(bytes)); client.write(bytes); });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path, requests, replies,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

function readSlotKeys(path: string, bytes: number): Buffer {
  return readFileSync(path).subarray(cryptoRegionOffsetBytes + keysFieldOffsetBytes, cryptoRegionOffsetBytes + keysFieldOffsetBytes + bytes);
}

test('CRYPTO over NBD: ciphertext only on the chunk; a wrong passphrase or a 0644 passfile changes no byte; -P keeps the data', async () => {
  const space = workspace('crypto-volume');
  let daemon = await startSoftraidd(space);
  try {
    const chunk = join(space.directory, 'disk0');
    run('truncate', ['-s', '16M', chunk]);
    const created = bioctl(space, ['-c', 'C', '-s', '-r', '16', '-l', chunk, 'softraid0'], { input: 'correct horse battery\n' });
    assert.equal(created.status, 0, created.stderr);
    assert.equal(created.stdout, 'softraid0: CRYPTO volume attached as sd0\n');
    const table = bioctl(space, ['softraid0']).stdout.split('\n');
    assert.match(table[1]!, /^softraid0 0 Online +15728640 sd0 +CRYPTO$/, table.join('\n'));
    assert.match(table[2]!, /^ +0 Online +15728640 0:0\.0 +noencl <.*disk0>$/, table.join('\n'));
    const json = JSON.parse(bioctl(space, ['--json', 'sd0']).stdout) as { volumes: Record<string, { level: string; encrypted: boolean; key_disk: string | null; noauto: boolean }> };
    const { level, encrypted, key_disk: keyDiskName, noauto } = json.volumes['sd0']!;
    assert.deepEqual({ level, encrypted, keyDiskName, noauto }, { level: 'crypto', encrypted: true, keyDiskName: null, noauto: true });

    const uri = space.nbdUri('sd0');
    const wrote = qemuIo(uri, ['write -P 0x5a 0 4M', 'write -P 0xa5 8M 1M', 'flush']);
    assert.equal(wrote.status, 0, wrote.output);
    assert.equal(holdsRun(chunk, 0x5a, 4096) || holdsRun(chunk, 0xa5, 4096), false, 'no 4 KiB of either pattern anywhere on the chunk');
    // (Never-written sectors read as what the chunk's zeroes decrypt to, as on OpenBSD: not checked.)
    const verified = qemuIo(uri, ['read -P 0x5a 0 4M', 'read -P 0xa5 8M 1M', 'write -z 4M 64k', 'read -P 0 4M 64k']);
    assert.equal(verified.status, 0, verified.output);
    assert.doesNotMatch(verified.output, /Pattern verification failed/);

    assert.equal(bioctl(space, ['-d', 'sd0']).status, 0);
    const before = sha256(chunk);
    const wrong = bioctl(space, ['-c', 'C', '-s', '-l', chunk, 'softraid0'], { input: 'correct horse battery staple\n' });
    assert.equal(wrong.status, 1);
    assert.equal(wrong.stderr, 'softraid0: incorrect key or passphrase\n');
    assert.equal(sha256(chunk), before, 'a wrong passphrase leaves the chunk byte-identical');

    const passfile = join(space.directory, 'passfile');
    writeFileSync(passfile, 'correct horse battery\n', { mode: 0o644 });
    chmodSync(passfile, 0o644);
    const loose = bioctl(space, ['-c', 'C', '-p', passfile, '-l', chunk, 'softraid0']);
    assert.equal(loose.status, 1);
    assert.equal(loose.stderr, 'bioctl: passphrase file has the wrong permissions: mode 0644, it must be 0600\n');
    assert.equal(sha256(chunk), before);
    writeFileSync(passfile, 'correct horse battery', { mode: 0o600 });
    chmodSync(passfile, 0o600);
    const noNewline = bioctl(space, ['-c', 'C', '-p', passfile, '-l', chunk, 'softraid0']);
    assert.equal(noNewline.stderr, 'bioctl: invalid passphrase length\n');
    writeFileSync(passfile, 'correct horse battery\nsecond line ignored\n');
    const opened = bioctl(space, ['-v', '-c', 'C', '-p', passfile, '-l', chunk, 'softraid0']);
    assert.equal(opened.status, 0, opened.stderr);
    assert.equal(opened.stdout, 'Deriving key using bcrypt PBKDF with 16 rounds...\nsoftraid0: CRYPTO volume attached as sd0\n');

    const changed = bioctl(space, ['-P', '-s', '-r', '16', 'sd0'], { input: 'correct horse battery\nTr0ub4dor&3\n' });
    assert.equal(changed.status, 0, changed.stderr);
    assert.equal(changed.stdout, 'softraid0: sd0: passphrase changed\n');
    const stillThere = qemuIo(uri, ['read -P 0x5a 0 4M', 'read -P 0xa5 8M 1M']);
    assert.equal(stillThere.status, 0, stillThere.output);
    assert.doesNotMatch(stillThere.output, /Pattern verification failed/);
    assert.equal(bioctl(space, ['-d', 'sd0']).status, 0);

    // softraidd restarts: a passphrase volume never assembles by itself.
    await daemon.stop();
    daemon = await startSoftraidd(space);
    assert.doesNotMatch(bioctl(space, ['softraid0']).stdout, /CRYPTO/);
    const old = bioctl(space, ['-c', 'C', '-s', '-l', chunk, 'softraid0'], { input: 'correct horse battery\n' });
    assert.equal(old.stderr, 'softraid0: incorrect key or passphrase\n');
    const renewed = bioctl(space, ['-c', 'C', '-s', '-l', chunk, 'softraid0'], { input: 'Tr0ub4dor&3\n' });
    assert.equal(renewed.status, 0, renewed.stderr);
    const afterChange = qemuIo(space.nbdUri('sd0'), ['read -P 0x5a 0 4M', 'read -P 0xa5 8M 1M']);
    assert.equal(afterChange.status, 0, afterChange.output);
    assert.doesNotMatch(afterChange.output, /Pattern verification failed/);
    assert.doesNotMatch(daemon.log(), /horse|Tr0ub4dor/, 'no passphrase in the log');
  } finally {
    await daemon.stop();
    space.remove();
  }
});

test('RAID 1C with a key disk: assembles at start when the key disk is there, not without it; a spare rebuilds ciphertext; no key crosses the socket, the log or the JSON', async () => {
  const space = workspace('raid1c-keydisk');
  let daemon = await startSoftraidd(space, ['--rebuild-rate-min', '200M', '--rebuild-rate-max', '400M']);
  const proxy = await recordingProxy(space);
  try {
    const disk = (name: string, size = '16M'): string => {
      const path = join(space.directory, name);
      run('truncate', ['-s', size, path]);
      return path;
    };
    const [m0, m1, spare] = [disk('m0'), disk('m1'), disk('spare')];
    const keyDisk = disk('keydisk', '4M');
    const created = await bioctlAsync(space, ['-c', '1C', '-k', keyDisk, '-l', `${m0},${m1}`, 'softraid0'], { SOFTRAID_SOCKET: proxy.path }, '');
    assert.equal(created.status, 0, created.output);
    assert.equal(created.output, 'softraid0: RAID 1C volume attached as sd0\n');
    const table = bioctl(space, ['softraid0']).stdout.split('\n');
    assert.match(table[1]!, /^softraid0 0 Online +15728640 sd0 +RAID1C $/, table.join('\n'));
    assert.match(table[4]!, /^ +2 Online +key disk 0:2\.0 +noencl <.*keydisk>$/, table.join('\n'));

    const uri = space.nbdUri('sd0');
    assert.equal(qemuIo(uri, ['write -P 0x3c 0 6M', 'write -P 0xc3 6M 2M', 'flush']).status, 0);
    for (const member of [m0, m1]) assert.equal(holdsRun(member, 0x3c, 4096), false, `${member} holds no plaintext`);
    const dataOf = (path: string): Buffer => readFileSync(path).subarray(dataOffsetBytes, dataOffsetBytes + 8 * 1024 * 1024);
    assert.ok(dataOf(m0).equals(dataOf(m1)), 'the mirrors hold the same ciphertext');

    // Pull a member: the spare rebuilds it, copying ciphertext; a scrub finds the mirrors equal.
    assert.equal(bioctl(space, ['-H', spare, 'softraid0']).status, 0);
    assert.equal(bioctl(space, ['-O', m1, 'sd0']).status, 0);
    await waitForTable(space, 'sd0', (text) => /sd0 +RAID1C/.test(text) && /Online +15728640 sd0/.test(text) && text.includes('spare'), 30_000);
    assert.ok(dataOf(spare).equals(dataOf(m0)), 'the rebuilt member holds the ciphertext');
    const verified = qemuIo(uri, ['read -P 0x3c 0 6M', 'read -P 0xc3 6M 2M']);
    assert.doesNotMatch(verified.output, /Pattern verification failed/);
    assert.equal(bioctl(space, ['-t', 'start', 'sd0']).status, 0);
    await waitForTable(space, 'sd0', (text) => !/Scrubbing/.test(text), 30_000);

    // No key anywhere it should not be: the key disk's mask key and the masked keys on the members.
    const maskKey = readSlotKeys(keyDisk, 32);
    const maskedKeys = readSlotKeys(m0, 2048);
    assert.ok(maskKey.some((byte) => byte !== 0) && maskedKeys.some((byte) => byte !== 0), 'the key areas were found where documented');
    const exchange = Buffer.concat([...proxy.requests, ...proxy.replies]);
    const jsonOut = bioctl(space, ['--json', 'softraid0']).stdout;
    for (const [what, secret] of [['mask key', maskKey], ['masked keys', maskedKeys.subarray(0, 64)]] as const) {
      for (const encoding of ['hex', 'base64'] as const) {
        const text = secret.toString(encoding);
        assert.equal(exchange.includes(secret) || exchange.toString('latin1').includes(text), false, `${what} on the control socket`);
        assert.equal(daemon.log().includes(text) || jsonOut.includes(text), false, `${what} in the log or the JSON`);
      }
      assert.equal(exchange.includes(Buffer.from(Array.from(secret.subarray(0, 16)).join(','))), false, `${what} as JSON numbers`);
    }
    assert.ok(proxy.requests.length > 0 && proxy.replies.length > 0, 'the exchange was recorded');

    // Restart: the key disk is remembered and scanned, so the volume comes back by itself.
    await daemon.stop();
    daemon = await startSoftraidd(space);
    const back = bioctl(space, ['sd0']);
    assert.match(back.stdout, /sd0 +RAID1C/, back.stdout + daemon.log());
    assert.match(back.stdout, /key disk/);
    assert.doesNotMatch(qemuIo(space.nbdUri('sd0'), ['read -P 0x3c 0 6M']).output, /Pattern verification failed/);
    // Without its key disk it does not assemble, and the log says why.
    await daemon.stop();
    renameSync(keyDisk, `${keyDisk}.away`);
    daemon = await startSoftraidd(space);
    assert.doesNotMatch(bioctl(space, ['softraid0']).stdout, /RAID1C/);
    assert.match(daemon.log(), /sd0 is a RAID 1C volume unlocked by a key disk, which is not here/);
  } finally {
    await proxy.close();
    await daemon.stop();
    space.remove();
  }
});

/** bioctl on a pseudo-terminal (util-linux's script), each answer typed after its prompt appears. */
async function bioctlOnTerminal(space: Workspace, args: string[], answers: string[]): Promise<{ status: number | null; output: string }> {
  const command = [process.execPath, bioctlPath, ...args].map((word) => `'${word}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...space.env }, cwd: space.directory });
  let output = '';
  let answered = 0;
  const prompts = /(?:New |Re-type |Old )?[Pp]assphrase: $/;
  child.stdout.on('data', (bytes: Buffer) => {
    output += bytes.toString();
    if (prompts.test(output) && answered < answers.length) child.stdin.write(`${answers[answered++]}\r`);
  });
  const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { status, output };
}

test('CRYPTO on a terminal: prompts with echo off, a mismatch asked again, the passphrase asked once to open', async () => {
  const space = workspace('crypto-terminal');
  const daemon = await startSoftraidd(space);
  try {
    const chunk = join(space.directory, 'disk0');
    run('truncate', ['-s', '8M', chunk]);
    const created = await bioctlOnTerminal(space, ['-c', 'C', '-r', '16', '-l', chunk, 'softraid0'], ['sesame', 'sesamy', 'sesame', 'sesame']);
    assert.equal(created.status, 0, created.output);
    assert.equal(created.output.replace(/\r/g, ''), 'New passphrase: \nRe-type passphrase: \nPassphrases did not match, try again\n'
      + 'New passphrase: \nRe-type passphrase: \nsoftraid0: CRYPTO volume attached as sd0\n', 'nothing typed is echoed');
    assert.equal(bioctl(space, ['-d', 'sd0']).status, 0);
    const opened = await bioctlOnTerminal(space, ['-c', 'C', '-l', chunk, 'softraid0'], ['sesame']);
    assert.equal(opened.status, 0, opened.output);
    assert.equal(opened.output.replace(/\r/g, ''), 'Passphrase: \nsoftraid0: CRYPTO volume attached as sd0\n');
    const changed = await bioctlOnTerminal(space, ['-P', '-r', '16', 'sd0'], ['sesame', 'open', 'open']);
    assert.equal(changed.output.replace(/\r/g, ''), 'Old passphrase: \nNew passphrase: \nRe-type passphrase: \nsoftraid0: sd0: passphrase changed\n');
  } finally {
    await daemon.stop();
    space.remove();
  }
});
