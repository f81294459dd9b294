// Passphrases as bioctl takes them: -p's file rules (owner, mode 0600, a
// first line ending in a newline), -s and -r in the option loop, and the
// prompts of bio_createraid and bio_changepass through a scripted reader, and
// -s's reader of the real standard input (a pipe, a file, /dev/null, too much).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBioctlArgs } from './args.js';
import { FatalFailure, UsageFailure } from './failures.js';
import { readPassphraseFile } from './passphrase.js';

const uid = process.getuid?.() ?? 0;

test('passphrase file: its first line, owned by the caller, mode 0600, ending in a newline', () => {
  const directory = mkdtempSync(join(tmpdir(), 'passfile-'));
  try {
    const path = join(directory, 'pass');
    writeFileSync(path, 'hunter2\nignored\n');
    chmodSync(path, 0o600);
    assert.deepEqual(Buffer.from(readPassphraseFile(path, uid)).toString(), 'hunter2');
    const refused = (text: RegExp, fileUid = uid): void => {
      assert.throws(() => readPassphraseFile(path, fileUid), (error: unknown) => error instanceof FatalFailure && text.test(error.message));
    };
    refused(/must be owned by the user running bioctl \(uid 4242\), not uid/, 4242);
    for (const mode of [0o644, 0o640, 0o400, 0o700, 0o4600]) {
      chmodSync(path, mode);
      refused(/^passphrase file has the wrong permissions: mode \d{4}, it must be 0600$/);
    }
    chmodSync(path, 0o600);
    writeFileSync(path, 'no newline');
    refused(/^invalid passphrase length$/);
    writeFileSync(path, '\nempty first line\n');
    refused(/^invalid passphrase length$/);
    writeFileSync(path, `${'x'.repeat(2000)}\n`);
    refused(/^invalid passphrase length$/);
    assert.throws(() => readPassphraseFile(join(directory, 'missing'), uid), /^FatalFailure: open passphrase file: No such file or directory$|open passphrase file: No such file or directory/);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('option loop: -p, -s, -k and -r are kept; -r is checked as OpenBSD does', () => {
  const parsed = parseBioctlArgs(['-c', 'C', '-s', '-r', '64', '-p', 'file', '-k', '/dev/key', '-l', '/dev/a', 'softraid0']);
  assert.equal(parsed.createLevel, 0x43);
  assert.deepEqual([parsed.stdinPassphrase, parsed.kdfRounds, parsed.passFile, parsed.keyDisk], [true, 64, 'file', '/dev/key']);
  assert.equal(parseBioctlArgs(['-c', '1C', '-r', 'auto', '-l', '/dev/a', 'softraid0']).kdfRounds, undefined);
  assert.equal(parseBioctlArgs(['-c', '1C', '-l', '/dev/a', 'softraid0']).createLevel, 0x1c);
  for (const [rounds, text] of [['15', 'too small'], ['1073741825', 'too large'], ['lots', 'invalid']] as const) {
    assert.throws(() => parseBioctlArgs(['-r', rounds, 'sd0']), (error: unknown) => error instanceof FatalFailure
      && error.message === `number of KDF rounds is ${text}: ${rounds}`);
  }
  assert.equal(parseBioctlArgs(['-P', 'sd0']).changePassphrase, true);
  assert.throws(() => parseBioctlArgs(['-P', '-d', 'sd0']), (error: unknown) => error instanceof UsageFailure, '-P with a function flag is usage()');
});

test('-s: standard input read to its end, line by line, from a pipe, a file or /dev/null, and refused when too long', () => {
  const compiled = fileURLToPath(new URL('../dist/src/passphrase.js', import.meta.url));
  assert.ok(existsSync(compiled), `${compiled} is missing: run npx tsc -b first`);
  // Two lines asked for, as bioctl -P -s does; each printed as hex, or the failure's message.
  const script = `import { processPassphraseReader } from ${JSON.stringify(compiled)};
    const reader = processPassphraseReader();
    try {
      for (let i = 0; i < 2; i++) console.log(Buffer.from(await reader.fromStdin()).toString('hex'));
    } catch (error) { console.log('failed: ' + error.message); }
    reader.close();`;
  const run = (stdin: 'pipe' | number, input?: string): string => spawnSync(process.execPath, ['--input-type=module', '-e', script],
    { input, stdio: [stdin, 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000 }).stdout;
  const hex = (text: string): string => Buffer.from(text).toString('hex');
  assert.equal(run('pipe', 'old one\nnew\xe9\n'), `${hex('old one')}\n${hex('new\xe9')}\n`);
  // readpassphrase(3) ends a line at CR too; CR LF is one end.
  assert.equal(run('pipe', 'old\r\nnew\r\n'), `${hex('old')}\n${hex('new')}\n`);
  assert.equal(run('pipe', 'old\rnew'), `${hex('old')}\n${hex('new')}\n`);
  assert.equal(run('pipe', 'old\n\r\nnew\n'), `${hex('old')}\n${hex('')}\n`);
  assert.equal(run('pipe', 'no newline at the end'), `${hex('no newline at the end')}\nfailed: unable to read passphrase: standard input ended\n`);
  assert.equal(run('pipe', 'x'.repeat(16 * 1024 + 1)), 'failed: unable to read passphrase: standard input is too long\n');
  const directory = mkdtempSync(join(tmpdir(), 'bioctl-stdin-'));
  try {
    const file = join(directory, 'lines');
    writeFileSync(file, 'first\nsecond\n');
    const fd = openSync(file, 'r');
    try {
      assert.equal(run(fd), `${hex('first')}\n${hex('second')}\n`, 'a file');
    } finally {
      closeSync(fd);
    }
    const empty = openSync('/dev/null', 'r');
    try {
      assert.equal(run(empty), 'failed: unable to read passphrase: standard input ended\n');
    } finally {
      closeSync(empty);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
