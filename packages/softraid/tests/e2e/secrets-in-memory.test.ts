// What a core of softraidd would hold after the control exchanges of a
// CRYPTO volume: the real daemon and bioctl, a real file as the chunk, and
// the daemon's whole memory read through /proc/PID/mem (every readable
// mapping: the malloc heap, V8's heaps, the threads' stacks, what was freed
// and not yet reused). After a creation (-s), a passphrase change (-P), a
// wrong passphrase and an assembly, none of the three passphrases is there
// in any form JavaScript could have left (bytes, UTF-16, the decimal numbers
// of a JSON array, V8's small integers), nor either mask key; after the
// volume is detached, no data key either, though the copy threads held
// copies of their own to decrypt reads of its chunk on tmpfs. A RAID 1C volume's key disk: its
// mask key is read, used and gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bcryptPbkdf } from '../../src/crypto/bcrypt-pbkdf.js';
import { unmaskDataKeys } from '../../src/crypto/key-scheme.js';
import { decodeKeyArea, keyAreaSlotBytes, keyAreaSlotOffsetsBytes, maskKeyBytes, type VolumeKeyArea } from '../../src/engine/metadata/key-area.js';
import { bioctl, run, startSoftraidd, workspace } from '../../src/daemon/testing/softraidd-process.js';

const cryptoRegionOffsetBytes = 768 * 1024;

/** The chunk's current key area (the slot of the highest generation). */
function keyAreaOf(chunk: string): VolumeKeyArea {
  const bytes = readFileSync(chunk);
  const areas = keyAreaSlotOffsetsBytes
    .map((slot) => {
      try {
        return decodeKeyArea(bytes.subarray(cryptoRegionOffsetBytes + slot, cryptoRegionOffsetBytes + slot + keyAreaSlotBytes), chunk);
      } catch {
        return null; // a slot never written
      }
    })
    .filter((area): area is VolumeKeyArea => area !== null && area.kind === 'volume');
  assert.ok(areas.length > 0, `${chunk} holds a volume key area`);
  return areas.reduce((newest, area) => (area.generation > newest.generation ? area : newest));
}

function maskKeyOf(area: VolumeKeyArea, passphrase: string): Buffer {
  assert.ok(area.kdf.type === 'bcrypt-pbkdf');
  return Buffer.from(bcryptPbkdf(Buffer.from(passphrase), area.kdf.salt, area.kdf.rounds, maskKeyBytes));
}

/** Every way a passphrase's bytes could sit in a JavaScript process's memory. */
function passphraseForms(passphrase: string): Array<[string, Buffer]> {
  const bytes = Buffer.from(passphrase);
  return [
    ['bytes', bytes],
    ['UTF-16', Buffer.from(passphrase, 'utf16le')],
    ['JSON numbers', Buffer.from(Array.from(bytes).join(','))],
    // A JavaScript array of small integers: each element a 64-bit Smi, the value in its upper half.
    ['V8 small integers', Buffer.concat(Array.from(bytes.subarray(0, 8), (byte) => Buffer.from([0, 0, 0, 0, byte, 0, 0, 0])))],
  ];
}

/** The names of the patterns found anywhere in the readable memory of process `pid`. */
function foundInMemory(pid: number, patterns: Array<[string, Buffer]>): { found: string[]; scannedBytes: number } {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n');
  const memory = openSync(`/proc/${pid}/mem`, 'r');
  const found = new Set<string>();
  const overlap = Math.max(...patterns.map(([, pattern]) => pattern.length));
  const window = Buffer.alloc(4 << 20);
  let scannedBytes = 0;
  try {
    for (const line of maps) {
      const [range, permissions, , , , name] = line.split(/\s+/);
      if (!permissions!.startsWith('r') || name === '[vvar]' || name === '[vsyscall]') continue;
      const [start, end] = range!.split('-').map((hex) => parseInt(hex, 16)) as [number, number];
      for (let at = start; at < end; at += window.length - overlap) {
        const length = Math.min(window.length, end - at);
        let got: number;
        try {
          got = readSync(memory, window, 0, length, at);
        } catch {
          break; // a mapping that cannot be read (a guard page)
        }
        scannedBytes += got;
        const view = window.subarray(0, got);
        for (const [what, pattern] of patterns) if (view.includes(pattern)) found.add(`${what} in ${name || 'an anonymous mapping'} at 0x${(at).toString(16)}`);
        if (got < length || at + length >= end) break;
      }
    }
  } finally {
    closeSync(memory);
  }
  return { found: [...found], scannedBytes };
}

test('softraidd keeps no passphrase, mask key or (once detached) data key in its memory', async () => {
  const space = workspace('secrets-in-memory');
  const cleanups: Array<() => void> = [];
  const daemon = await startSoftraidd(space);
  try {
    // On tmpfs, so that large reads are decrypted by the copy threads, which then hold keys of their own.
    const memoryDirectory = mkdtempSync('/dev/shm/secrets-in-memory-');
    cleanups.push(() => rmSync(memoryDirectory, { recursive: true, force: true }));
    const chunk = join(memoryDirectory, 'disk0');
    run('truncate', ['-s', '16M', chunk]);
    const [first, second, wrong] = ['correct horse battery staple', 'Tr0ub4dor&3 xyzzy', 'not-the-passphrase-at-all'];
    const created = bioctl(space, ['-c', 'C', '-s', '-r', '16', '-l', chunk, 'softraid0'], { input: `${first}\n` });
    assert.equal(created.status, 0, created.stderr);
    const firstArea = keyAreaOf(chunk);
    const changed = bioctl(space, ['-P', '-s', '-r', '16', 'sd0'], { input: `${first}\n${second}\n` });
    assert.equal(changed.status, 0, changed.stderr);
    assert.equal(bioctl(space, ['-d', 'sd0']).status, 0);
    const refused = bioctl(space, ['-c', 'C', '-s', '-l', chunk, 'softraid0'], { input: `${wrong}\n` });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /incorrect key or passphrase/);
    const assembled = bioctl(space, ['-c', 'C', '-s', '-l', chunk, 'softraid0'], { input: `${second}\n` });
    assert.equal(assembled.status, 0, assembled.stderr);
    assert.match(assembled.stdout, /CRYPTO volume attached as sd0/);

    const secondArea = keyAreaOf(chunk);
    const maskKeys: Array<[string, Buffer]> = [['first mask key', maskKeyOf(firstArea, first)], ['second mask key', maskKeyOf(secondArea, second)]];
    const dataKeys = unmaskDataKeys(secondArea.maskedKeys, secondArea.checkMac, maskKeys[1]![1]);
    assert.ok(dataKeys !== null, 'the test derives the same mask key as the daemon');
    const pid = daemon.child.pid!;
    const secrets: Array<[string, Buffer]> = [
      ...[first, second, wrong].flatMap((passphrase, index) =>
        passphraseForms(passphrase).map(([form, bytes]): [string, Buffer] => [`passphrase ${index + 1} as ${form}`, bytes])),
      ...maskKeys,
    ];
    const attached = foundInMemory(pid, secrets);
    assert.ok(attached.scannedBytes > 64 * 1024 * 1024, `${attached.scannedBytes} bytes of memory read`);
    assert.deepEqual(attached.found, [], 'no passphrase and no mask key in softraidd\'s memory');

    // Data through a real client, read back in requests the copy threads decrypt.
    const pattern = randomBytes(4 * 1024 * 1024);
    writeFileSync(join(memoryDirectory, 'pattern'), pattern);
    run('nbdcopy', [join(memoryDirectory, 'pattern'), space.nbdUri('sd0')]);
    run('nbdcopy', ['--request-size=1048576', space.nbdUri('sd0'), join(memoryDirectory, 'back')]);
    assert.ok(readFileSync(join(memoryDirectory, 'back')).subarray(0, pattern.length).equals(pattern), 'the pattern reads back');

    // The data keys must be there while the volume is attached (the scan can see them); detached, they go.
    const firstDataKey = Buffer.from(dataKeys.subarray(0, 32));
    assert.deepEqual(foundInMemory(pid, [['data key 0', firstDataKey]]).found.length > 0, true, 'the scan finds a key in use');
    assert.equal(bioctl(space, ['-d', 'sd0']).status, 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(foundInMemory(pid, [['data key 0', firstDataKey]]).found, [], 'no data key once the volume is detached');
  } finally {
    await daemon.stop();
    space.remove();
    for (const cleanup of cleanups) cleanup();
  }
});

test('softraidd keeps no key disk mask key in its memory once a RAID 1C volume is up', async () => {
  const space = workspace('secrets-in-memory-keydisk');
  const daemon = await startSoftraidd(space);
  try {
    const disk = (name: string, size: string): string => {
      const path = join(space.directory, name);
      run('truncate', ['-s', size, path]);
      return path;
    };
    const [m0, m1, keyDisk] = [disk('m0', '16M'), disk('m1', '16M'), disk('keydisk', '4M')];
    const created = bioctl(space, ['-c', '1C', '-k', keyDisk, '-l', `${m0},${m1}`, 'softraid0']);
    assert.equal(created.status, 0, created.stderr);
    assert.equal(bioctl(space, ['-d', 'sd0']).status, 0);
    const assembled = bioctl(space, ['-c', '1C', '-k', keyDisk, '-l', `${m0},${m1}`, 'softraid0']);
    assert.equal(assembled.status, 0, assembled.stderr);
    const bytes = readFileSync(keyDisk);
    const area = keyAreaSlotOffsetsBytes.map((slot) => bytes.subarray(cryptoRegionOffsetBytes + slot, cryptoRegionOffsetBytes + slot + keyAreaSlotBytes))
      .map((slot) => decodeKeyArea(slot, keyDisk)).find((found) => found !== null && found.kind === 'keydisk');
    assert.ok(area !== undefined && area !== null && area.kind === 'keydisk', 'the key disk holds a mask key');
    const { found } = foundInMemory(daemon.child.pid!, [['the key disk\'s mask key', Buffer.from(area.maskKey)]]);
    assert.deepEqual(found, [], 'no mask key in softraidd\'s memory');
  } finally {
    await daemon.stop();
    space.remove();
  }
});
