// Volumes whose members are files on tmpfs, as the benchmark and anyone
// testing softraid in memory builds them: large I/O then goes through the
// copy threads (src/chunk/copy-threads.ts) on the NBD server's shared
// buffers. fio's nbd engine writes with verify=crc32c and reads everything
// back; a scrub then finds mirrors and parity exact, and the copy threads
// are seen to have carried the I/O. CRYPTO and RAID 1C too, with the real
// key vault: there the copy threads also decrypt the reads (and, for
// CRYPTO, encrypt the writes), and fio's data is nowhere on the members.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileChunk } from '../../src/chunk/file.js';
import { sharedCopyThreads } from '../../src/chunk/copy-threads.js';
import { createVolume } from '../../src/engine/assembly/create.js';
import { saveVolumeMetadata } from '../../src/engine/metadata/io.js';
import { Volume } from '../../src/engine/volume/volume.js';
import type { RaidLevel } from '@openbsd38/bio/levels.js';
import { realClock } from '../../src/engine/controller/fixture.test-helper.js';
import { newVolumeKeys } from '../../src/engine/crypto/keying.js';
import { nodeKeyVault } from '../../src/crypto/key-vault.js';
import { fioVerify, nbdUnixUri, startServer } from './nbd-helpers.js';

const MiB = 1024 * 1024;

async function tmpfsVolume(dir: string, level: RaidLevel, memberCount: number): Promise<{ volume: Volume; chunks: FileChunk[]; paths: string[] }> {
  const paths = Array.from({ length: memberCount }, (_unused, index) => join(dir, `member${index}`));
  for (const path of paths) {
    await writeFile(path, '');
    await truncate(path, 24 * MiB);
  }
  const chunks = await Promise.all(paths.map((path) => FileChunk.open(path)));
  assert.ok(chunks.every((chunk) => chunk.syncIoBytesMax > 0), 'members on tmpfs are memory');
  const encrypted = level === 'crypto' || level === 'raid1c';
  const striped = level !== 'raid1' && !encrypted;
  const created = await createVolume({
    level, ...(striped ? { stripSizeBytes: 64 * 1024 } : {}), chunks, deviceName: 'sd0', noAutoAssemble: true, force: false,
    chunksInUse: () => false, random: (bytes) => randomFillSync(bytes),
    ...(encrypted ? { newKeys: (uuid: string) => newVolumeKeys(nodeKeyVault(), uuid, { kind: 'passphrase', passphrase: Buffer.from('tmpfs members'), kdfRounds: 16 }) } : {}),
  });
  const volume = new Volume(created.record, created.members, {
    saveMetadata: saveVolumeMetadata, onEvent: () => undefined, clock: realClock,
    ...(created.encryption === null ? {} : { encryption: created.encryption }),
  });
  return { volume, chunks, paths };
}

function fioHeadersAt4KiB(bytes: Buffer): number {
  let count = 0;
  for (let at = 0; at + 2 <= bytes.length; at += 4096) if (bytes[at] === 0xca && bytes[at + 1] === 0xac) count++;
  return count;
}

for (const [level, memberCount] of [['raid0', 4], ['raid1', 2], ['raid5', 4], ['crypto', 1], ['raid1c', 2]] as const) {
  const scrubbed = level !== 'raid0' && level !== 'crypto';
  test(`tmpfs members, ${level}: fio writes and verifies through the copy threads${scrubbed ? '; a scrub finds mirrors or parity exact' : ''}`, async () => {
    const dir = await mkdtemp('/dev/shm/softraid-e2e-');
    const { volume, chunks, paths } = await tmpfsVolume(dir, level, memberCount);
    const fixture = await startServer();
    const copyThreads = sharedCopyThreads();
    assert.ok(copyThreads !== undefined);
    const jobsBefore = copyThreads.jobsDone;
    try {
      fixture.registry.set('sd0', volume);
      const uri = nbdUnixUri(fixture.socketPath, 'sd0');
      for (const pass of [
        ['--name=seq', '--rw=write', '--bs=1m', `--size=${16 * MiB}`],
        // 4 KiB to 512 KiB: on RAID 5 this stalled about one run in two until partial parity log
        // records were marked done per piece (docs/PERFORMANCE.md, round 6, "Found and fixed").
        ['--name=rand', '--rw=randwrite', '--bsrange=4k-512k', `--size=${16 * MiB}`, '--randseed=77'],
      ]) {
        const job = await fioVerify(uri, pass);
        assert.ok(job.write.io_bytes >= 16 * MiB && job.read.io_bytes === job.write.io_bytes, `${pass[0]}: wrote ${job.write.io_bytes}, read back ${job.read.io_bytes}`);
      }
      assert.ok(copyThreads.jobsDone > jobsBefore + 16, `copy threads carried ${copyThreads.jobsDone - jobsBefore} jobs`);
      // Each fio verify block starts with its header's magic (0xacca, little-endian), at 4 KiB
      // boundaries: plenty on a plain member, none (by chance, one in 65536) on an encrypted one.
      const encrypted = level === 'crypto' || level === 'raid1c';
      for (const path of encrypted || level === 'raid1' ? paths : []) {
        const headers = fioHeadersAt4KiB(await readFile(path));
        if (encrypted) assert.ok(headers <= 2, `${path}: ${headers} fio headers in plaintext`);
        else assert.ok(headers >= 10, `${path}: ${headers} fio headers (the check sees plaintext)`);
      }
      if (scrubbed) {
        const scrub = await volume.startScrub({ repair: false }).finished;
        assert.equal(scrub.status, 'finished');
        assert.equal(scrub.mismatchSectors, 0);
      }
      assert.deepEqual(fixture.protocolErrors, []);
    } finally {
      await fixture.cleanup();
      await volume.close({ clean: true });
      await Promise.all(chunks.map((chunk) => chunk.close()));
      await rm(dir, { recursive: true, force: true });
    }
  });
}
