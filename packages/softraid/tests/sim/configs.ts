// The crash simulator's volume configurations: the five CI runs on every
// `npm test`, and the wider set a campaign (`npm run sim`) covers — every
// RAID 1 width from 2 to 4, RAID 1C of 2 and 3, RAID 5 from 3 to 6 members in both layouts with
// 4, 16 and 64 KiB strips, RAID 6 from 4 to 6 members with the same strips. Each has a short name for the command line.
import type { SimConfig } from './crash-world.js';

const KiB = 1024;
const chunkDataSizeBytes = 1024 * KiB;

export const ciConfigs: readonly SimConfig[] = [
  { level: 'raid1', chunkCount: 2, chunkDataSizeBytes },
  { level: 'raid1', chunkCount: 3, chunkDataSizeBytes },
  { level: 'raid5', chunkCount: 3, layout: 'left-asymmetric', stripSizeBytes: 4 * KiB, chunkDataSizeBytes },
  { level: 'raid5', chunkCount: 4, layout: 'left-symmetric', stripSizeBytes: 16 * KiB, chunkDataSizeBytes },
  { level: 'raid5', chunkCount: 5, layout: 'left-asymmetric', stripSizeBytes: 64 * KiB, chunkDataSizeBytes },
  { level: 'raid6', chunkCount: 5, layout: 'left-symmetric', stripSizeBytes: 16 * KiB, chunkDataSizeBytes },
  { level: 'raid1c', chunkCount: 2, chunkDataSizeBytes },
];

export const allConfigs: readonly SimConfig[] = [
  ...[2, 3, 4].map((chunkCount): SimConfig => ({ level: 'raid1', chunkCount, chunkDataSizeBytes })),
  ...[2, 3].map((chunkCount): SimConfig => ({ level: 'raid1c', chunkCount, chunkDataSizeBytes })),
  ...[3, 4, 5, 6].flatMap((chunkCount) => (['left-symmetric', 'left-asymmetric'] as const).flatMap((layout) =>
    [4, 16, 64].map((strip): SimConfig => ({ level: 'raid5', chunkCount, layout, stripSizeBytes: strip * KiB, chunkDataSizeBytes })))),
  ...[4, 5, 6].flatMap((chunkCount) => [4, 16, 64].map((strip): SimConfig =>
    ({ level: 'raid6', chunkCount, layout: 'left-symmetric', stripSizeBytes: strip * KiB, chunkDataSizeBytes }))),
];

/** raid1-n2, raid5-n4-ls-16k: what --configs and a replay line name. */
export function configName(config: SimConfig): string {
  if (config.level === 'raid1' || config.level === 'raid1c') return `${config.level}-n${config.chunkCount}`;
  const layout = config.layout === 'left-asymmetric' ? 'la' : 'ls';
  if (config.level === 'raid6') return `raid6-n${config.chunkCount}-${(config.stripSizeBytes ?? 0) / KiB}k`;
  return `raid5-n${config.chunkCount}-${layout}-${(config.stripSizeBytes ?? 0) / KiB}k`;
}

/** "ci", "all", or names separated by commas; an unknown name is an error that lists the known ones. */
export function parseConfigs(text: string): SimConfig[] {
  if (text === 'ci') return [...ciConfigs];
  if (text === 'all') return [...allConfigs];
  const byName = new Map(allConfigs.map((config) => [configName(config), config]));
  return text.split(',').map((name) => {
    const config = byName.get(name.trim());
    if (config === undefined) throw new Error(`unknown configuration '${name}' (known: ci, all, ${[...byName.keys()].join(', ')})`);
    return config;
  });
}
