// Passphrases as bioctl takes them: -p's file rules (owner, mode 0600, a
// first line ending in a newline), -s and -r in the option loop, and the
// prompts of bio_createraid and bio_changepass through a scripted reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
