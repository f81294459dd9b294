// bio(4)'s volume and chunk states, verbatim: the words every controller
// answers in (softraid's transitions between them are softraid's own:
// packages/softraid/src/engine/state-transitions.ts).

/** bioc_vol.bv_status, with the strings bioctl prints. */
export const VolumeState = {
  Online: 'Online',
  Offline: 'Offline',
  Degraded: 'Degraded',
  Building: 'Building',
  Scrubbing: 'Scrubbing',
  Rebuild: 'Rebuild',
  Invalid: 'Invalid',
} as const;
export type VolumeState = (typeof VolumeState)[keyof typeof VolumeState];

/** bioc_disk.bd_status, with the strings bioctl prints. */
export const ChunkState = {
  Online: 'Online',
  Offline: 'Offline',
  Failed: 'Failed',
  Rebuild: 'Rebuild',
  HotSpare: 'Hot spare',
  Unused: 'Unused',
  Scrubbing: 'Scrubbing',
  Invalid: 'Invalid',
} as const;
export type ChunkState = (typeof ChunkState)[keyof typeof ChunkState];

/** bio(4) numeric codes (BIOC_SV*), used on disk and in JSON. */
export const volumeStateCode: Readonly<Record<VolumeState, number>> = {
  Online: 0x00, Offline: 0x01, Degraded: 0x02, Building: 0x03, Scrubbing: 0x04, Rebuild: 0x05, Invalid: 0xff,
};

/** bio(4) numeric codes (BIOC_SD*), stored on disk per chunk. */
export const chunkStateCode: Readonly<Record<ChunkState, number>> = {
  Online: 0x00, Offline: 0x01, Failed: 0x02, Rebuild: 0x03, 'Hot spare': 0x04, Unused: 0x05, Scrubbing: 0x06, Invalid: 0xff,
};

export function chunkStateFromCode(code: number): ChunkState | undefined {
  return (Object.keys(chunkStateCode) as ChunkState[]).find((state) => chunkStateCode[state] === code);
}
