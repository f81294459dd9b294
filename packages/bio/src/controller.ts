// bio(4)'s common language: the Controller every RAID controller implements
// (bio's verbs: inquire, create, delete, set state, hot spares, patrol) and
// the views it answers with. Views are plain data, so a control server can
// turn them into replies and bioctl into tables or JSON whatever the
// controller behind them (softraid's volumes today, Linux md next).
import { isOperatingError } from '@openbsd38/libutil/errors.js';
import type { ChunkState, VolumeState } from './states.js';
import type { RaidLevel, Raid5Layout, ViewLevel } from './levels.js';
import type { BlockDevice } from './block-device.js';

/** bio_status message types. */
export type BioMessageType = 'info' | 'warning' | 'error';
export interface BioMessage {
  type: BioMessageType;
  /**
   * softraid's wording, without the "softraid0: " prefix (bioctl adds it).
   * Unlike bio(4)'s 128-byte bm_msg, not truncated: paths and UUIDs stay whole.
   */
  text: string;
}

/** Progress of a rebuild (later also scrub/resync). */
export interface ProgressView {
  /** reshape: md's change of level, layout or disk count (the array serves meanwhile). */
  operation: 'rebuild' | 'scrub' | 'resync' | 'reshape';
  percent: number;
  bytesDone: number;
  bytesTotal: number;
  rateBytesPerSecond: number;
  etaSeconds: number | null;
  /** Scrub only: repair mode (rewrite what disagrees) rather than check. */
  repair?: boolean;
  /** Scrub only: 512-byte sectors found inconsistent so far (md's mismatch_cnt). */
  mismatchSectors?: number;
  /**
   * Waiting rather than running: md's `delayed` (another array sharing a
   * disk syncs first) or `pending` (an auto-read-only array resyncs at its
   * first write). Absent when it runs.
   */
  waiting?: 'delayed' | 'pending';
}

/** A controller's own facts about a volume beyond bio's fields (md: bitmap, metadata version, UUID). snake_case keys. */
export type VolumeExtrasView = Readonly<Record<string, string | number | boolean | null>>;

/** A volume byte range [offsetBytes, offsetBytes + lengthBytes). */
export interface ByteRangeView {
  offsetBytes: number;
  lengthBytes: number;
}

/** How the last scrub (md's check / repair) of a volume ended, with wall-clock times. */
export interface ScrubResultView {
  repair: boolean;
  /** finished: every stripe checked; stopped: by request or close; failed: a chunk went Offline or the volume degraded. */
  status: 'finished' | 'stopped' | 'failed';
  reason: string | null;
  bytesDone: number;
  bytesTotal: number;
  /** 512-byte sectors found inconsistent (md's mismatch_cnt). */
  mismatchSectors: number;
  /** Of those, sectors rewritten to agree (repair mode). */
  repairedSectors: number;
  /** Member sectors that failed to read. */
  mediaErrorSectors: number;
  /** Of those, sectors regenerated from redundancy, rewritten and read back. */
  mediaErrorSectorsRewritten: number;
  /** Volume byte ranges with no good copy left: their data is lost. Merged, ascending. */
  unreadableRanges: ByteRangeView[];
  /** Ranges past the controller's limit, counted only. */
  unreadableRangesDropped: number;
  /** Wall-clock start, ISO 8601 UTC. */
  startedAt: string;
  durationSeconds: number;
}

/** bioctl -t's patrol settings and state (BIOCPATROL), for the controller or one volume. */
export interface PatrolView {
  mode: 'auto' | 'manual' | 'disabled';
  /** auto: seconds between scrubs. */
  intervalSeconds: number;
  /** auto: seconds until the next scrub starts. */
  nextSeconds: number;
  /** active: a scrub runs; aborted: the last one was stopped or failed; ready: waiting for the next auto run. */
  status: 'stopped' | 'ready' | 'active' | 'aborted';
}

export type ScrubSchedule =
  | { mode: 'auto'; intervalSeconds: number | null; startSeconds: number | null }
  | { mode: 'manual' }
  | { mode: 'disabled' };

export interface ChunkView {
  /** Position in the volume (bioctl's disk index and SCSI target). */
  chunkIndex: number;
  /** The member's name (path or NBD URI); "" when missing. */
  name: string;
  state: ChunkState;
  /** Usable size of the member in bytes (softraid's scm_size). */
  sizeBytes: number;
  /** I/O errors the member returned since it took this slot, when the controller counts them. */
  ioErrors?: number;
  /** The controller's own flags on the member (md: write_mostly, want_replacement, replacement, failfast). */
  flags?: string[];
}

export interface VolumeView {
  /** bio volume id: channel in bioctl's c:t.l column. */
  volumeIndex: number;
  /** sd0, sd1, ...: the NBD export name. */
  deviceName: string;
  uuid: string;
  level: ViewLevel;
  layout: Raid5Layout | null;
  stripSizeBytes: number;
  state: VolumeState;
  sizeBytes: number;
  noAutoAssemble: boolean;
  chunks: ChunkView[];
  /** CRYPTO and RAID 1C unlocked by a key disk: its name as last seen (bioctl shows it as a disk row, "key disk"). */
  keyDisk?: { name: string } | null;
  progress: ProgressView | null;
  /** The last scrub that ended on this volume since softraidd started; null if none. */
  lastScrub?: ScrubResultView | null;
  /** Facts of the controller's own (bioctl -v, JSON `extras`). */
  extras?: VolumeExtrasView;
  /**
   * Why the controller could not read the volume's state (a file it could
   * not parse, named): the state is then Invalid rather than a guess.
   */
  problem?: string;
}

export interface HotSpareView {
  /** Hot spares are listed after the volumes as pseudo-volumes (softraid). */
  volumeIndex: number;
  name: string;
  sizeBytes: number;
}

export interface InquiryView {
  controllerName: string;
  volumes: VolumeView[];
  hotSpares: HotSpareView[];
}

export interface CreateRequest {
  level: RaidLevel;
  /** Member names in order: paths or NBD URIs. */
  chunkNames: string[];
  /** -C force: overwrite existing metadata. */
  force: boolean;
  /** -C noauto: never assemble automatically. */
  noAutoAssemble: boolean;
  stripSizeBytes?: number;
  layout?: Raid5Layout;
  /** CRYPTO and RAID 1C: how the volume's mask key is had (bioctl -p/-s or -k, and -r). */
  crypto?: CryptoUnlock;
}

/**
 * The passphrase (bytes, as typed, without the newline) or the key disk that
 * unlocks an encrypted volume, and for a new passphrase volume the KDF
 * rounds (absent: tuned to about a second). The controller zeroes nothing
 * it was given; whoever holds the request zeroes the passphrase after it.
 */
export interface CryptoUnlock {
  passphrase?: Uint8Array;
  keyDisk?: string;
  kdfRounds?: number;
}

/** bioctl -c C/1C's first question (BIOC_SOOUT): do the chunks hold an encrypted volume, and what unlocks it. */
export interface KdfHintView {
  existing: boolean;
  /** Existing volumes: a passphrase (bcrypt_pbkdf with these rounds) or a key disk. */
  unlock: 'passphrase' | 'keydisk' | null;
  kdfRounds: number | null;
}

/** bioctl -P: the old passphrase, the new one, and the new rounds (absent: auto, never fewer than the old). */
export interface PassphraseChange {
  oldPassphrase: Uint8Array;
  newPassphrase: Uint8Array;
  kdfRounds?: number;
}

/** What every controller call resolves to: bio_status plus an optional result. */
export interface ControllerReply<T = undefined> {
  ok: boolean;
  messages: BioMessage[];
  result?: T;
}

/**
 * Runs one request: its result as a successful reply with the messages it
 * gave, or — when it fails with an operating error (a refusal, a device's
 * or a volume's I/O error) — a failed reply whose last message is that
 * error. The one place an operating error becomes a bio_status message, for
 * every controller and for the control server. Anything else (an assertion)
 * is a bug and is rethrown.
 */
export async function replyOf<T>(request: (messages: BioMessage[]) => Promise<T>): Promise<ControllerReply<T>> {
  const messages: BioMessage[] = [];
  try {
    const result = await request(messages);
    return { ok: true, messages, result };
  } catch (error) {
    if (!isOperatingError(error)) throw error;
    messages.push({ type: 'error', text: error.message });
    return { ok: false, messages };
  }
}

/** replyOf for a request that does not wait (Controller.setScrubSchedule answers at once). */
export function replyOfSync<T>(request: (messages: BioMessage[]) => T): ControllerReply<T> {
  const messages: BioMessage[] = [];
  try {
    const result = request(messages);
    return { ok: true, messages, result };
  } catch (error) {
    if (!isOperatingError(error)) throw error;
    messages.push({ type: 'error', text: error.message });
    return { ok: false, messages };
  }
}

export interface RebuildRateLimits {
  rateBytesPerSecondMin: number;
  rateBytesPerSecondMax: number;
}

/** Events with mdadm's names, so existing mdadm --monitor PROGRAM scripts work. */
export type ControllerEventName =
  | 'NewArray' | 'DegradedArray' | 'Fail' | 'FailSpare' | 'SpareActive' | 'RebuildStarted'
  | 'Rebuild20' | 'Rebuild40' | 'Rebuild60' | 'Rebuild80' | 'RebuildFinished'
  | 'DeviceDisappeared' | 'SparesMissing' | 'TestMessage'
  /** mdadm's: a spare moved to an array that needed it (here: from softraid's pool to an md array). */
  | 'MoveSpare'
  /** Not mdadm's: a scrub (check or repair) started or ended on the volume (zed's scrub_start / scrub_finish). */
  | 'ScrubStarted' | 'ScrubFinished';

export interface ControllerEvent {
  name: ControllerEventName;
  /** The volume's device name (sd0), or the controller name for pool events. */
  device: string;
  /** The member concerned, when there is one. */
  member?: string;
}

export interface KeptDeviceName {
  device: string;
  uuid: string;
}

export interface Controller {
  readonly controllerName: string;
  inquire(): InquiryView;
  /** bioctl -c: create or assemble. */
  create(request: CreateRequest): Promise<ControllerReply<VolumeView>>;
  /**
   * Boot-time assembly (softraid's sr_boot_assembly): read the metadata of
   * every named chunk, assemble each volume found that is not noauto, and put
   * hot spares found back into the pool. Chunks without metadata are ignored.
   * softraidd calls it at start with the members it remembers.
   */
  scan(chunkNames: string[]): Promise<ControllerReply<VolumeView[]>>;
  /** bioctl -d: detach, metadata kept, noauto set (as OpenBSD), the device name kept for the volume. */
  detach(deviceName: string): Promise<ControllerReply>;
  /**
   * bioctl -H: add a chunk to the hot-spare pool. `deviceName` is the volume
   * bioctl named (bioctl -H disk md0), null when it named the controller:
   * softraid's pool serves every volume and ignores it; md's spares belong
   * to one array.
   */
  addHotSpare(chunkName: string, deviceName?: string | null): Promise<ControllerReply>;
  /** bioctl -d SPARE: take a chunk out of the hot-spare pool (its spare metadata wiped). */
  removeHotSpare(chunkName: string): Promise<ControllerReply>;
  /** bioctl -R: rebuild the volume's first offline chunk onto this member. */
  rebuild(deviceName: string, chunkName: string): Promise<ControllerReply>;
  /** bioctl -O: take a member offline. */
  setOffline(deviceName: string, chunkName: string, options?: { force: boolean }): Promise<ControllerReply>;
  /**
   * Device names kept for volumes not attached now (detached, remembered but
   * not assembled, or attached noauto and so not assembled at the next
   * start): a new volume never takes one, so a client that reconnects to
   * sd0 is never handed another volume's data. The volume gets its name back
   * when it is assembled again.
   */
  keptDeviceNames(): KeptDeviceName[];
  keepDeviceNames(names: readonly KeptDeviceName[]): void;
  /** The volume to serve as an NBD export, by device name. */
  blockDevice(deviceName: string): BlockDevice | undefined;
  /** Event subscription (log lines, PROGRAM, sensors). Returns an unsubscribe function. */
  onEvent(listener: (event: ControllerEvent) => void): () => void;
  /** Volumes attached or detached (so the NBD server's export list follows). */
  onVolumesChanged(listener: () => void): () => void;
  setRebuildRateLimits(limits: RebuildRateLimits): void;
  /** bioctl -t start: scrub one volume, or (null) every redundant volume online. */
  startScrub(deviceName: string | null, options: { repair: boolean }): Promise<ControllerReply>;
  /** bioctl -t stop: stop the scrub of one volume, or (null) of every volume. */
  stopScrub(deviceName: string | null): Promise<ControllerReply>;
  /** bioctl -t auto / manual / disable: when scrubs start by themselves (controller-wide, like a hardware patrol). */
  setScrubSchedule(schedule: ScrubSchedule): ControllerReply;
  /** bioctl -t get. */
  patrolStatus(deviceName: string | null): ControllerReply<PatrolView>;
  /** CRYPTO and RAID 1C, where the controller has them: whether chunks hold an encrypted volume (bioctl -c C's first step). */
  kdfHint?(chunkNames: string[]): Promise<ControllerReply<KdfHintView>>;
  /** bioctl -P (SR_IOCTL_CHANGE_PASSPHRASE): the data keys masked anew, no data re-encrypted. */
  changePassphrase?(deviceName: string, change: PassphraseChange): Promise<ControllerReply>;
  /** Flush every volume, mark metadata clean, close members. */
  shutdown(): Promise<void>;
}
