import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levelTable, raidLevels } from '@openbsd38/bio/levels.js';
import { disciplineFor } from './registry.js';
import type { ChunkIo, Geometry } from './discipline.js';

test('registry: every level has its discipline, and exactly CRYPTO and RAID 1C are encrypted', () => {
  for (const level of raidLevels) {
    const discipline = disciplineFor(level);
    assert.equal(discipline.level, level);
    assert.equal(discipline.capabilities.encrypted, level === 'crypto' || level === 'raid1c', level);
    assert.equal(discipline.capabilities.redundant, levelTable[level].toleratedMissing(levelTable[level].minimumChunks + 1) > 0, level);
  }
});

test('registry: an encrypted discipline reads volume byte o from chunk byte o (what decrypting-reads.ts relies on)', async () => {
  for (const level of raidLevels) {
    const discipline = disciplineFor(level);
    if (!discipline.capabilities.encrypted) continue;
    const chunkCount = Math.max(levelTable[level].minimumChunks, 3);
    const geometry: Geometry = {
      level, chunkCount: level === 'crypto' ? 1 : chunkCount, stripSizeBytes: 0, layout: null,
      chunkDataSizeBytes: 1 << 20, chunkUsableSizesBytes: new Array<number>(level === 'crypto' ? 1 : chunkCount).fill(1 << 20),
    };
    discipline.validate(geometry);
    for (const [offsetBytes, lengthBytes] of [[0, 512], [4096, 65536], [(1 << 20) - 1024, 1024], [123 * 512, 77 * 512]] as const) {
      const reads: Array<{ chunkOffsetBytes: number; intoOffset: number; lengthBytes: number }> = [];
      const into = new Uint8Array(lengthBytes);
      const io: ChunkIo = {
        chunkCount: geometry.chunkCount,
        isReadable: () => true,
        isWritable: () => true,
        nextRoundRobin: () => reads.length,
        read: (_chunkIndex, chunkOffsetBytes, buffer) => {
          assert.equal(buffer.buffer, into.buffer, `${level}: reads land in the caller's buffer`);
          reads.push({ chunkOffsetBytes, intoOffset: buffer.byteOffset - into.byteOffset, lengthBytes: buffer.length });
          return Promise.resolve();
        },
        readv: () => assert.fail(`${level}: readv`),
        write: () => assert.fail(`${level}: a read writes`),
        writev: () => assert.fail(`${level}: a read writes`),
      };
      await discipline.read(io, geometry, offsetBytes, into);
      assert.ok(reads.length > 0, level);
      let covered = 0;
      for (const read of reads) {
        assert.equal(read.chunkOffsetBytes, offsetBytes + read.intoOffset, `${level}: volume byte ${offsetBytes + read.intoOffset} read from its own offset`);
        covered += read.lengthBytes;
      }
      assert.equal(covered, lengthBytes, `${level}: the whole request read`);
    }
  }
});
