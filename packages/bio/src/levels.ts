// The RAID levels softraid knows, as one table: bio(4) level codes, names as
// softraid prints them ("RAID 5"), minimum chunk counts as OpenBSD checks
// them, and how many missing chunks each level survives.

export const raidLevels = ['raid0', 'raid1', 'raid5', 'raid6', 'concat', 'crypto', 'raid1c'] as const;
export type RaidLevel = (typeof raidLevels)[number];

/**
 * The levels a volume view may show: softraid's, plus those another
 * controller runs that softraid does not create (Linux md's RAID 4 and
 * RAID 10), and `unknown` for a level a controller reports in a word this
 * port does not know (shown as such, never as a guess).
 */
export const viewLevels = [...raidLevels, 'raid4', 'raid10', 'unknown'] as const;
export type ViewLevel = (typeof viewLevels)[number];

/** Parity placement for RAID 5 (and later RAID 6). */
export const raid5Layouts = ['left-asymmetric', 'left-symmetric'] as const;
export type Raid5Layout = (typeof raid5Layouts)[number];

export interface LevelInfo {
  level: ViewLevel;
  /** bio(4) bv_level: 0, 1, 5, 6, 'C' (0x43), 'c' (0x63), 0x1C. */
  bioLevelCode: number;
  /** softraid's product name without the "SR " prefix: "RAID 5", "CONCAT". */
  displayName: string;
  /** Minimum chunks to create, as OpenBSD's bioctl checks. */
  minimumChunks: number;
  /** Fewer chunks bioctl -c may name when it assembles (RAID 1C from one mirror, as OpenBSD's bioctl allows); absent = minimumChunks. */
  assembleMinimumChunks?: number;
  /** Maximum chunks (CRYPTO: exactly one). */
  maximumChunks: number;
  /** How many chunks may be missing while the volume still serves I/O. For RAID 1 it is n - 1. */
  toleratedMissing(chunkCount: number): number;
  /** The level stripes data in strips (strip size matters). */
  striped: boolean;
  /** Each chunk contributes its own size (CONCAT): no coercion to the smallest. */
  nonCoerced: boolean;
}

const chunkCountMax = 256; // BIOC_CRMAXLEN / sizeof(dev_t)

export const levelTable: Readonly<Record<ViewLevel, LevelInfo>> = {
  raid0: { level: 'raid0', bioLevelCode: 0, displayName: 'RAID 0', minimumChunks: 2, maximumChunks: chunkCountMax, toleratedMissing: () => 0, striped: true, nonCoerced: false },
  raid1: { level: 'raid1', bioLevelCode: 1, displayName: 'RAID 1', minimumChunks: 2, maximumChunks: chunkCountMax, toleratedMissing: (n) => n - 1, striped: false, nonCoerced: false },
  raid5: { level: 'raid5', bioLevelCode: 5, displayName: 'RAID 5', minimumChunks: 3, maximumChunks: chunkCountMax, toleratedMissing: () => 1, striped: true, nonCoerced: false },
  raid6: { level: 'raid6', bioLevelCode: 6, displayName: 'RAID 6', minimumChunks: 4, maximumChunks: chunkCountMax, toleratedMissing: () => 2, striped: true, nonCoerced: false },
  concat: { level: 'concat', bioLevelCode: 0x63, displayName: 'CONCAT', minimumChunks: 1, maximumChunks: chunkCountMax, toleratedMissing: () => 0, striped: false, nonCoerced: true },
  crypto: { level: 'crypto', bioLevelCode: 0x43, displayName: 'CRYPTO', minimumChunks: 1, maximumChunks: 1, toleratedMissing: () => 0, striped: false, nonCoerced: false },
  raid1c: { level: 'raid1c', bioLevelCode: 0x1c, displayName: 'RAID 1C', minimumChunks: 2, assembleMinimumChunks: 1, maximumChunks: chunkCountMax, toleratedMissing: (n) => n - 1, striped: false, nonCoerced: false },
  // md's: RAID 10 with its default two copies (md's layout may keep more; the md controller reads it).
  raid4: { level: 'raid4', bioLevelCode: 4, displayName: 'RAID 4', minimumChunks: 3, maximumChunks: chunkCountMax, toleratedMissing: () => 1, striped: true, nonCoerced: false },
  raid10: { level: 'raid10', bioLevelCode: 10, displayName: 'RAID 10', minimumChunks: 2, maximumChunks: chunkCountMax, toleratedMissing: () => 1, striped: true, nonCoerced: false },
  // bio(4) has no code for it: 0xff, printed as UNKNOWN.
  unknown: { level: 'unknown', bioLevelCode: 0xff, displayName: 'UNKNOWN', minimumChunks: 1, maximumChunks: chunkCountMax, toleratedMissing: () => 0, striped: false, nonCoerced: false },
};

/**
 * The parity layouts each level takes, its default first; none for levels
 * without parity. RAID 6 is laid out as Linux md's default only.
 */
export const levelLayouts: Readonly<Record<RaidLevel, readonly Raid5Layout[]>> = {
  raid0: [], raid1: [], raid5: ['left-asymmetric', 'left-symmetric'], raid6: ['left-symmetric'], concat: [], crypto: [], raid1c: [],
};

/** The fewest chunks a create-or-assemble request may name (bioctl's "not enough disks" check). */
export function requestMinimumChunks(level: ViewLevel): number {
  const info = levelTable[level];
  return info.assembleMinimumChunks ?? info.minimumChunks;
}

export function isRedundant(level: ViewLevel, chunkCount: number): boolean {
  return levelTable[level].toleratedMissing(chunkCount) > 0;
}

/** bioctl's -c argument: "0", "1", "5", "6", "C", "c", "1C". Returns undefined when unknown. */
export function levelFromBioCode(code: number): RaidLevel | undefined {
  return raidLevels.find((level) => levelTable[level].bioLevelCode === code);
}

/** Strip sizes: any power of two from 4 KiB to 1 MiB; OpenBSD's fixed 64 KiB is the default. */
export const stripSizeBytesMin = 4 * 1024;
export const stripSizeBytesMax = 1024 * 1024;
export const stripSizeBytesDefault = 64 * 1024;
