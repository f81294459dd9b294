// Seeded fuzz of the sysfs reader: a real-looking RAID 5 tree whose files are
// truncated, replaced by unknown words, `none`, `delayed`, noise or a file
// larger than a page, or removed. Every case must give a view: either the
// array is Invalid with a problem naming a file of the tree, or a state the
// remaining facts support — never an exception, never Online over a
// degraded count or a running sync. Replay a failure with its printed seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededSource, type RandomSource } from '@openbsd38/libutil/random.js';
import { ChunkState, VolumeState } from '@openbsd38/bio/states.js';
import { SysfsTree } from './tree.js';
import { listArrays, readArray } from './read-array.js';
import { inquiryOf } from '../views.js';
import { SysfsFixture } from '../testing/sysfs-fixture.test-helper.js';

const caseCount = 2000;
const words = ['none', 'delayed', 'idle', 'recover', 'sleeping', '', '12 / 7', '7 / 12', '-1', '99999999999999999999', 'in_sync,faulty', 'spare', 'clean', 'raid7', '+8', 'frozen'];

function mutation(random: RandomSource, original: string): string | null {
  switch (random.below(7)) {
    case 0: return original.slice(0, random.below(original.length + 1));
    case 1: return words[random.below(words.length)]!;
    case 2: return `${words[random.below(words.length)]!}\n`;
    case 3: return Buffer.from(random.fill(new Uint8Array(random.below(16)))).toString('latin1');
    case 4: return 'x'.repeat(5000);
    case 5: return null; // removed
    default: return `${original.trim()} ${words[random.below(words.length)]!}`;
  }
}

test(`${caseCount} fuzzed sysfs trees: a view or a named problem, never a crash or a wrong Online`, () => {
  const fixture = new SysfsFixture().array('md0', {
    size: '253952',
    md: {
      array_state: 'clean', level: 'raid5', raid_disks: '3', degraded: '1', sync_action: 'recover', last_sync_action: 'recover',
      sync_completed: '31744 / 126976', sync_speed: '44844', mismatch_cnt: '0', chunk_size: '524288', component_size: '63488',
      layout: '2', resync_start: 'none', reshape_position: 'none', metadata_version: '1.2', uuid: '00000000-1111-2222-3333-444444444444',
      'bitmap/location': '+8', 'bitmap/chunksize': '67108864',
    },
    members: {
      ubdb: { state: 'in_sync', slot: '0', size: '63488', errors: '0' },
      ubdc: { state: 'in_sync', slot: '1', size: '63488', errors: '0' },
      ubdd: { state: 'spare', slot: '2', size: '63488', recovery_start: '31744' },
      ubde: { state: 'spare', slot: 'none', size: '63488' },
    },
  });
  const md = 'block/md0/md';
  const files = [
    'block/md0/size',
    ...['array_state', 'level', 'raid_disks', 'degraded', 'sync_action', 'last_sync_action', 'sync_completed', 'sync_speed', 'mismatch_cnt',
      'chunk_size', 'component_size', 'layout', 'resync_start', 'reshape_position', 'metadata_version', 'uuid', 'bitmap/location', 'bitmap/chunksize']
      .map((name) => `${md}/${name}`),
    ...['ubdb', 'ubdc', 'ubdd', 'ubde'].flatMap((member) => ['state', 'slot', 'size'].map((name) => `${md}/dev-${member}/${name}`)),
  ];
  const originals = new Map(files.map((file) => [file, readFileSync(join(fixture.root, file), 'utf8')]));
  const tree = new SysfsTree(fixture.root);
  let problems = 0;
  let removed = 0;
  try {
    for (let seed = 1; seed <= caseCount; seed++) {
      const random = seededSource(seed);
      const changed = new Set<string>();
      for (let count = 1 + random.below(3); count > 0; count--) {
        const file = files[random.below(files.length)]!;
        const text = mutation(random, originals.get(file)!);
        changed.add(file);
        if (text === null) {
          rmSync(join(fixture.root, file), { force: true });
          removed++;
        } else {
          writeFileSync(join(fixture.root, file), text);
        }
      }
      const context = `seed ${seed}: ${[...changed].join(', ')}`;
      const view = inquiryOf(listArrays(tree).map((name) => ({ array: readArray(tree, name), minor: null })));
      const volume = view.volumes[0];
      assert.ok(volume !== undefined, context);
      assert.ok(Object.values(VolumeState).includes(volume.state), context);
      for (const chunk of volume.chunks) assert.ok(Object.values(ChunkState).includes(chunk.state), context);
      if (volume.progress !== null) assert.ok(volume.progress.percent >= 0 && volume.progress.percent <= 100, context);
      if (volume.problem !== undefined) {
        problems++;
        assert.equal(volume.state, 'Invalid', context);
        assert.ok(volume.problem.includes(fixture.root), `${context}: the problem names no file: ${volume.problem}`);
      }
      if (volume.state === 'Online') {
        const degraded = tree.read(`${md}/degraded`)?.trim();
        const action = tree.read(`${md}/sync_action`)?.trim();
        assert.ok(degraded === undefined || degraded === '0', `${context}: Online with degraded ${degraded}`);
        assert.ok(action === undefined || action === 'idle' || action === 'frozen', `${context}: Online while ${action}`);
      }
      for (const file of changed) writeFileSync(join(fixture.root, file), originals.get(file)!);
    }
  } finally {
    fixture.remove();
  }
  // The fuzz really injected faults the reader had to name, and removed files it had to do without.
  assert.ok(problems > caseCount / 4, `only ${problems} cases had a problem`);
  assert.ok(removed > caseCount / 10, `only ${removed} files removed`);
});
