// On-disk codes for the record's enumerations. Level codes are bio(4)'s
// bv_level values; the hot-spare pseudo-volume uses softraid's 0xffffffff,
// the key disk 0xfffffffe.
import { levelTable, raidLevels, type Raid5Layout } from '@openbsd38/bio/levels.js';
import type { RecordKind } from './record.js';

export const hotSpareKindCode = 0xffffffff;
/** softraid's SR_KEYDISK_LEVEL. */
export const keyDiskKindCode = 0xfffffffe;

export function kindCode(kind: RecordKind): number {
  if (kind === 'hotspare') return hotSpareKindCode;
  if (kind === 'keydisk') return keyDiskKindCode;
  return levelTable[kind].bioLevelCode;
}

export function kindFromCode(code: number): RecordKind | undefined {
  if (code === hotSpareKindCode) return 'hotspare';
  if (code === keyDiskKindCode) return 'keydisk';
  return raidLevels.find((level) => levelTable[level].bioLevelCode === code);
}

/** 0 = no parity layout (levels without parity). */
const layoutCodes: Readonly<Record<Raid5Layout, number>> = { 'left-asymmetric': 1, 'left-symmetric': 2 };

export function layoutCode(layout: Raid5Layout | null): number {
  return layout === null ? 0 : layoutCodes[layout];
}

export function layoutFromCode(code: number): Raid5Layout | null | undefined {
  if (code === 0) return null;
  return (Object.keys(layoutCodes) as Raid5Layout[]).find((layout) => layoutCodes[layout] === code);
}
