import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levelTable, raidLevels } from '@openbsd38/bio/levels.js';
import { disciplineFor } from './registry.js';

test('registry: every level has its discipline, and exactly CRYPTO and RAID 1C are encrypted', () => {
  for (const level of raidLevels) {
    const discipline = disciplineFor(level);
    assert.equal(discipline.level, level);
    assert.equal(discipline.capabilities.encrypted, level === 'crypto' || level === 'raid1c', level);
    assert.equal(discipline.capabilities.redundant, levelTable[level].toleratedMissing(levelTable[level].minimumChunks + 1) > 0, level);
  }
});
