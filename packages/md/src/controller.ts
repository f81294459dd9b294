// Linux md behind bio's Controller: views read from sysfs (views.ts, the
// state table in states.ts), changes made through mdadm (mdadm.ts) or, for
// md's documented sysfs controls (sync_action, sync_speed_*), by writing the
// attribute. Every refusal is checked before anything runs, so a refusal
// changes nothing; an mdadm failure arrives with its exit status and stderr.
import { replyOf, replyOfSync, type BioMessage, type ChunkView, type Controller, type ControllerReply, type CreateRequest, type InquiryView,
  type PatrolView, type RebuildRateLimits, type ScrubSchedule, type VolumeView, type KeptDeviceName, type ControllerEvent } from '@openbsd38/bio/controller.js';
import { assert } from '@openbsd38/libutil/assert.js';
import type { BlockDevice } from '@openbsd38/bio/block-device.js';
import { isRedundant, levelTable, type RaidLevel } from '@openbsd38/bio/levels.js';
import { MdError } from './errors.js';
import { eventBaseline, mdEvents, unreadableNotices } from './events.js';
import { mdadm, mdadmDefault, mdadmRunner, type MdadmRun } from './mdadm.js';
import { listArrays, readArray } from './sysfs/read-array.js';
import { SysfsTree, sysfsRootDefault, writeAttribute } from './sysfs/tree.js';
import { controllerName, inquiryOf } from './views.js';
import { join } from 'node:path';
import { readScrubSchedule, scrubScheduleFileName, writeScrubSchedule, type MdScrubSchedule } from './scrub-schedule.js';

/** softraidd's state directory, where md's scrub schedule is kept (SOFTRAID_STATE_DIR). */
export const stateDirectoryDefault = '/var/lib/softraid';

/** How often softraidd looks at md arrays (mdadm --monitor's default delay is 60 s; a rebuild's steps need less). */
export const watchIntervalMsDefault = 2000;
export const watchIntervalMsMin = 10;

/** md device numbers tried for a new array (md's own limit is far higher; 512 is plenty for bioctl -c). */
export const createdArrayNumberMax = 511;

export interface MdControllerOptions {
  /** SOFTRAID_SYSFS_ROOT; default /sys. */
  sysfsRoot?: string;
  /** SOFTRAID_MDADM; default mdadm on PATH. */
  mdadm?: string;
  /** How mdadm is run (tests may record the calls); default libutil's runProgram. */
  run?: MdadmRun;
  /** Where the scrub schedule (bioctl -t auto) is kept; none: md scrubs only when asked. */
  scheduleFile?: string;
  /** The clock the schedule runs on (tests); default Date.now. */
  nowMs?: () => number;
}

/** md's --level words for bio's levels; softraid's CRYPTO and RAID 1C have none. */
const mdLevelOf: Partial<Record<RaidLevel, string>> = { raid0: 'raid0', raid1: 'raid1', raid5: 'raid5', raid6: 'raid6', concat: 'linear' };

export class MdController implements Controller {
  readonly controllerName = controllerName;
  private readonly tree: SysfsTree;
  private readonly program: string;
  private readonly run: MdadmRun;
  private readonly eventListeners = new Set<(event: ControllerEvent) => void>();
  private readonly noticeListeners = new Set<(line: string) => void>();
  private readonly volumeListeners = new Set<() => void>();
  private lookNow: (() => void) | undefined;

  constructor(options: MdControllerOptions = {}) {
    this.tree = new SysfsTree(options.sysfsRoot || sysfsRootDefault);
    this.program = options.mdadm || mdadmDefault;
    this.run = options.run ?? mdadmRunner(this.program);
    this.scheduleFile = options.scheduleFile;
    this.nowMs = options.nowMs ?? Date.now;
  }

  private readonly scheduleFile: string | undefined;
  private readonly nowMs: () => number;

  /** From the environment, as bioctl runs it: SOFTRAID_SYSFS_ROOT, SOFTRAID_MDADM. */
  static fromEnvironment(env: Readonly<Record<string, string | undefined>>): MdController {
    return new MdController({ sysfsRoot: env.SOFTRAID_SYSFS_ROOT, mdadm: env.SOFTRAID_MDADM,
      scheduleFile: join(env.SOFTRAID_STATE_DIR || stateDirectoryDefault, scrubScheduleFileName) });
  }

  get sysfsRoot(): string {
    return this.tree.root;
  }

  inquire(): InquiryView {
    return inquiryOf(listArrays(this.tree).map((name) => ({ array: readArray(this.tree, name), minor: this.minorOf(name) })));
  }

  private minorOf(name: string): number | null {
    const match = /^[0-9]+:([0-9]+)$/.exec(this.tree.read(`block/${name}/dev`)?.trim() ?? '');
    return match === null ? null : Number(match[1]);
  }

  private volumeNamed(deviceName: string): VolumeView {
    const volume = this.inquire().volumes.find((candidate) => candidate.deviceName === deviceName);
    if (volume === undefined) throw new MdError(`invalid device ${deviceName}`);
    return volume;
  }

  /** The array a disk already belongs to (as a member or a spare), if any. */
  private holderOf(chunkName: string): string | undefined {
    const view = this.inquire();
    if (view.hotSpares.some((spare) => spare.name === chunkName)) return 'an md container';
    return view.volumes.find((volume) => volume.chunks.some((chunk) => chunk.name === chunkName))?.deviceName;
  }

  private mdadm(args: readonly string[]): Promise<unknown> {
    return mdadm(this.run, this.program, args);
  }

  private freeArrayName(): string {
    const taken = new Set(this.inquire().volumes.map((volume) => volume.deviceName));
    for (let number = 0; number <= createdArrayNumberMax; number++) {
      const name = `md${number}`;
      if (!taken.has(name) && this.tree.list(`block/${name}/md`).length === 0) return name;
    }
    throw new MdError(`no free md device: md0 to md${createdArrayNumberMax} are all in use`);
  }

  create(request: CreateRequest): Promise<ControllerReply<VolumeView>> {
    return replyOf(async (messages) => {
      const info = levelTable[request.level];
      const mdLevel = mdLevelOf[request.level];
      if (mdLevel === undefined) throw new MdError(`md has no ${info.displayName}: create it on softraid (bioctl -c ... softraid0)`);
      if (request.chunkNames.length < info.minimumChunks) throw new MdError('not enough disks');
      for (const name of request.chunkNames) {
        if (name.includes('://')) throw new MdError(`chunk ${name}: md's members are block devices, not NBD URIs`);
        const holder = this.holderOf(name);
        if (holder !== undefined) throw new MdError(`chunk ${name} already in use (a chunk of ${holder})`);
      }
      const deviceName = this.freeArrayName();
      // Spelled out rather than left to mdadm.conf: metadata 1.2 (4 KiB from the start), a write-intent
      // bitmap on every redundant level (md refuses one on RAID 0 and linear), the strip size given.
      const args = ['--create', `/dev/${deviceName}`, '--metadata=1.2', `--level=${mdLevel}`, `--raid-devices=${request.chunkNames.length}`];
      if (isRedundant(request.level, request.chunkNames.length)) args.push('--bitmap=internal');
      if (info.striped && request.stripSizeBytes !== undefined) args.push(`--chunk=${request.stripSizeBytes / 1024}`);
      if (request.layout !== undefined) args.push(`--layout=${request.layout}`);
      // Without -C force, mdadm's question about members holding a file system or an old array
      // meets a closed stdin and the create is aborted, changing nothing.
      if (request.force) args.push('--run', '--force');
      await this.mdadm([...args, ...request.chunkNames]);
      if (request.noAutoAssemble) {
        messages.push({ type: 'warning', text: `noauto is softraid's: md assembles ${deviceName} as mdadm.conf and udev say` });
      }
      messages.push({ type: 'info', text: `${info.displayName} volume attached as ${deviceName}` });
      return this.volumeNamed(deviceName);
    });
  }

  /** md assembles its arrays itself (udev, mdadm --assemble --scan): the arrays running now. */
  scan(): Promise<ControllerReply<VolumeView[]>> {
    return replyOf(() => Promise.resolve(this.inquire().volumes));
  }

  detach(deviceName: string): Promise<ControllerReply> {
    return replyOf(async () => {
      this.volumeNamed(deviceName);
      await this.mdadm(['--stop', `/dev/${deviceName}`]);
      return undefined;
    });
  }

  addHotSpare(chunkName: string, deviceName?: string | null): Promise<ControllerReply> {
    return replyOf(async (messages) => {
      if (deviceName === undefined || deviceName === null) {
        throw new MdError(`md's hot spares belong to an array: name it (bioctl -H ${chunkName} md0)`);
      }
      const volume = this.volumeNamed(deviceName);
      if (!isRedundant(volume.level, volume.chunks.length)) throw new MdError(`${deviceName}: ${levelTable[volume.level].displayName} has no redundancy to rebuild onto a hot spare`);
      const holder = this.holderOf(chunkName);
      if (holder !== undefined) throw new MdError(`chunk ${chunkName} already in use (a chunk of ${holder})`);
      await this.mdadm([`/dev/${deviceName}`, '--add', chunkName]);
      // md puts a spare to work at once in a degraded array: say so rather than call it a spare.
      const state = this.volumeNamed(deviceName).chunks.find((chunk) => chunk.name === chunkName)?.state;
      if (state === 'Rebuild') messages.push({ type: 'info', text: `${deviceName} was degraded: rebuilding onto ${chunkName}` });
      return undefined;
    });
  }

  removeHotSpare(chunkName: string): Promise<ControllerReply> {
    return replyOf(async (messages) => {
      const volume = this.inquire().volumes.find((candidate) => candidate.chunks.some((chunk) => chunk.name === chunkName && chunk.state === 'Hot spare'));
      if (volume === undefined) throw new MdError(`${chunkName} is neither a volume nor a hot spare of ${controllerName}`);
      await this.mdadm([`/dev/${volume.deviceName}`, '--remove', chunkName]);
      messages.push({ type: 'info', text: `hot spare ${chunkName} removed from ${volume.deviceName}` });
      return undefined;
    });
  }

  rebuild(deviceName: string, chunkName: string): Promise<ControllerReply> {
    return replyOf(async () => {
      const volume = this.volumeNamed(deviceName);
      if (volume.state === 'Rebuild') throw new MdError('rebuild already in progress');
      if (volume.state === 'Offline') throw new MdError(`${deviceName} is offline: too few chunks are left to rebuild from`);
      if (volume.state !== 'Degraded') throw new MdError('volume not degraded');
      const holder = this.holderOf(chunkName);
      if (holder !== undefined) throw new MdError(`chunk ${chunkName} already in use (a chunk of ${holder})`);
      await this.mdadm([`/dev/${deviceName}`, '--add', chunkName]);
      return undefined;
    });
  }

  setOffline(deviceName: string, chunkName: string, options: { force: boolean } = { force: false }): Promise<ControllerReply> {
    return replyOf(async () => {
      const volume = this.volumeNamed(deviceName);
      const chunk = volume.chunks.find((candidate) => candidate.name === chunkName);
      if (chunk === undefined) throw new MdError(`chunk ${chunkName} is not part of ${deviceName}`);
      if (!options.force && chunk.state === 'Online' && wouldGoOffline(volume, chunk)) {
        throw new MdError(`chunk ${chunkName} not taken offline: it holds the last good copy of some of ${deviceName}'s data, and ${deviceName} would go offline `
          + `(its reads and writes would fail); bioctl -C force -O ${chunkName} ${deviceName} takes it offline anyway`);
      }
      // Failed, then removed from the array, so the disk can be pulled (mdadm --fail --remove).
      await this.mdadm([`/dev/${deviceName}`, '--fail', chunkName, '--remove', chunkName]);
      return undefined;
    });
  }

  keptDeviceNames(): KeptDeviceName[] {
    return []; // md's names are the kernel's: nothing to keep.
  }

  keepDeviceNames(): void {
    // md's names are the kernel's: nothing to keep.
  }

  blockDevice(): BlockDevice | undefined {
    return undefined; // md arrays are the kernel's block devices (/dev/mdN), not NBD exports.
  }

  onEvent(listener: (event: ControllerEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** The watch's own words (an array it cannot read, and again can), for a log. */
  onWatchNotice(listener: (line: string) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  onVolumesChanged(listener: () => void): () => void {
    this.volumeListeners.add(listener);
    return () => this.volumeListeners.delete(listener);
  }

  /**
   * Watches the arrays (softraidd does; bioctl does not): every interval the
   * inquiry is compared with the last one and the events are emitted in
   * mdadm's names (events.ts). md has no change notification a process can
   * wait on portably, so this polls, as mdadm --monitor does. Returns stop.
   */
  startWatching(intervalMs: number = watchIntervalMsDefault): () => void {
    assert(Number.isSafeInteger(intervalMs) && intervalMs >= watchIntervalMsMin, `md watch interval ${intervalMs} ms: at least ${watchIntervalMsMin}`);
    let before: InquiryView | null = null;
    const invalidLooks = new Map<string, number>();
    const look = (): void => {
      const after = this.inquire();
      const events = mdEvents(before, after);
      for (const line of unreadableNotices(invalidLooks, after)) for (const listener of this.noticeListeners) listener(line);
      const changed = before !== null && before.volumes.map((volume) => volume.deviceName).join() !== after.volumes.map((volume) => volume.deviceName).join();
      before = eventBaseline(before, after);
      for (const event of events) for (const listener of this.eventListeners) listener(event);
      if (changed) for (const listener of this.volumeListeners) listener();
    };
    look();
    const timer = setInterval(look, intervalMs);
    this.lookNow = look;
    return () => {
      clearInterval(timer);
      this.lookNow = undefined;
    };
  }

  /** While watching: look now rather than at the next interval (after a change made here, so its start is seen). */
  pollNow(): void {
    this.lookNow?.();
  }

  /** md's per-array sync_speed_min / sync_speed_max (KiB/s). */
  setRebuildRateLimits(limits: RebuildRateLimits): void {
    for (const volume of this.inquire().volumes) {
      if (!isRedundant(volume.level, volume.chunks.length)) continue;
      writeAttribute(this.tree, `block/${volume.deviceName}/md/sync_speed_min`, String(Math.max(1, Math.floor(limits.rateBytesPerSecondMin / 1024))));
      writeAttribute(this.tree, `block/${volume.deviceName}/md/sync_speed_max`, String(Math.max(1, Math.floor(limits.rateBytesPerSecondMax / 1024))));
    }
  }

  startScrub(deviceName: string | null, options: { repair: boolean }): Promise<ControllerReply> {
    return replyOf(async (messages) => {
      await Promise.resolve();
      const action = options.repair ? 'repair' : 'check';
      if (deviceName !== null) {
        this.launchScrub(this.volumeNamed(deviceName), action, messages);
        return undefined;
      }
      const candidates = this.inquire().volumes.filter((volume) => isRedundant(volume.level, volume.chunks.length) && volume.state === 'Online');
      if (candidates.length === 0) throw new MdError('no redundant volume to scrub');
      for (const volume of candidates) this.launchScrub(volume, action, messages);
      return undefined;
    });
  }

  private launchScrub(volume: VolumeView, action: 'check' | 'repair', messages: BioMessage[]): void {
    const deviceName = volume.deviceName;
    if (!isRedundant(volume.level, volume.chunks.length)) throw new MdError(`${deviceName}: ${levelTable[volume.level].displayName} has no redundancy to scrub`);
    if (volume.state === 'Scrubbing') throw new MdError(`${deviceName}: a scrub is already in progress`);
    if (volume.state !== 'Online') throw new MdError(`${deviceName} is ${volume.state.toLowerCase()}: md scrubs only an array in sync (sync_action is ${String(volume.extras?.sync_action)})`);
    writeAttribute(this.tree, `block/${deviceName}/md/sync_action`, action);
    messages.push({ type: 'info', text: `${action === 'repair' ? 'repair' : 'scrub'} of ${deviceName} started` });
  }

  stopScrub(deviceName: string | null): Promise<ControllerReply> {
    return replyOf(async (messages) => {
      await Promise.resolve();
      const volumes = deviceName === null ? this.inquire().volumes : [this.volumeNamed(deviceName)];
      const running = volumes.filter((volume) => volume.state === 'Scrubbing');
      if (running.length === 0) throw new MdError(deviceName === null ? 'no scrub in progress' : `${deviceName}: no scrub in progress`);
      for (const volume of running) {
        writeAttribute(this.tree, `block/${volume.deviceName}/md/sync_action`, 'idle');
        const percent = Math.floor(volume.progress?.percent ?? 0);
        const mismatches = volume.progress?.mismatchSectors ?? 0;
        messages.push({ type: 'info', text: `scrub of ${volume.deviceName} stopped at ${percent}%: ${mismatches} mismatched sector${mismatches === 1 ? '' : 's'} so far` });
      }
      return undefined;
    });
  }

  /**
   * bioctl -t auto[.interval[.start]], manual, disable: kept in the schedule
   * file, which softraidd carries out (runDueScrubs) while it watches md.
   */
  setScrubSchedule(schedule: ScrubSchedule): ControllerReply {
    if (this.scheduleFile === undefined) {
      return { ok: false, messages: [{ type: 'error', text: 'md scrubs when asked: without a schedule file, run bioctl -t start from cron (as Debian\'s checkarray does)' }] };
    }
    const file = this.scheduleFile;
    const reply = replyOfSync((messages) => {
      const current = readScrubSchedule(file);
      if (schedule.mode !== 'auto') {
        writeScrubSchedule(file, { mode: schedule.mode, intervalSeconds: current.intervalSeconds, nextDueMs: 0 });
        return;
      }
      const intervalSeconds = schedule.intervalSeconds ?? current.intervalSeconds;
      if (!Number.isSafeInteger(intervalSeconds) || intervalSeconds < 1) throw new MdError(`invalid patrol interval ${intervalSeconds}: at least 1 second`);
      const startSeconds = schedule.startSeconds ?? intervalSeconds;
      writeScrubSchedule(file, { mode: 'auto', intervalSeconds, nextDueMs: this.nowMs() + startSeconds * 1000 });
      messages.push({ type: 'info', text: `md arrays are checked every ${intervalSeconds} seconds while softraidd runs (it watches md and starts each check)` });
    });
    return { ok: reply.ok, messages: reply.messages };
  }

  patrolStatus(deviceName: string | null): ControllerReply<PatrolView> {
    const volumes = this.inquire().volumes.filter((volume) => deviceName === null || volume.deviceName === deviceName);
    if (deviceName !== null && volumes.length === 0) return { ok: false, messages: [{ type: 'error', text: `invalid device ${deviceName}` }] };
    let schedule: MdScrubSchedule = { mode: 'manual', intervalSeconds: 0, nextDueMs: 0 };
    if (this.scheduleFile !== undefined) {
      try {
        schedule = readScrubSchedule(this.scheduleFile);
      } catch (error) {
        return { ok: false, messages: [{ type: 'error', text: (error as Error).message }] };
      }
    }
    const scrubbing = volumes.some((volume) => volume.state === 'Scrubbing');
    const status = scrubbing ? 'active' : schedule.mode === 'auto' ? 'ready' : 'stopped';
    const nextSeconds = schedule.mode === 'auto' ? Math.max(0, Math.ceil((schedule.nextDueMs - this.nowMs()) / 1000)) : 0;
    return { ok: true, messages: [], result: { mode: schedule.mode, intervalSeconds: schedule.mode === 'auto' ? schedule.intervalSeconds : 0, nextSeconds, status } };
  }

  /**
   * softraidd's part of the schedule, at each look: when a scrub is due,
   * md's check on every redundant array in sync (those rebuilding or already
   * scrubbing wait for the next one), then the next time. What it started
   * or could not start is returned as log lines.
   */
  runDueScrubs(): string[] {
    if (this.scheduleFile === undefined) return [];
    let schedule: MdScrubSchedule;
    try {
      schedule = readScrubSchedule(this.scheduleFile);
    } catch (error) {
      return [`md scrub schedule: ${(error as Error).message}`];
    }
    const now = this.nowMs();
    if (schedule.mode !== 'auto' || now < schedule.nextDueMs) return [];
    const lines: string[] = [];
    for (const volume of this.inquire().volumes) {
      if (!isRedundant(volume.level, volume.chunks.length)) continue;
      const messages: BioMessage[] = [];
      try {
        this.launchScrub(volume, 'check', messages);
        lines.push(`md: scheduled ${messages.map((message) => message.text).join('; ')}`);
      } catch (error) {
        if (!(error instanceof MdError)) throw error;
        lines.push(`md: scheduled scrub of ${volume.deviceName} not started: ${error.message}`);
      }
    }
    try {
      writeScrubSchedule(this.scheduleFile, { ...schedule, nextDueMs: now + schedule.intervalSeconds * 1000 });
    } catch (error) {
      lines.push(`md scrub schedule: ${(error as Error).message}`);
    }
    return lines;
  }

  shutdown(): Promise<void> {
    return Promise.resolve(); // The kernel owns the arrays: nothing to flush or close here.
  }
}

/** Taking this Online member away leaves fewer in-sync members than the level needs. */
function wouldGoOffline(volume: VolumeView, chunk: ChunkView): boolean {
  const slots = volume.chunks.filter((candidate) => candidate.chunkIndex < Number(volume.extras?.raid_disks ?? volume.chunks.length));
  const online = slots.filter((candidate) => candidate.state === 'Online' && candidate !== chunk).length;
  const tolerated = volume.level === 'raid10' ? 1 : levelTable[volume.level].toleratedMissing(slots.length);
  return slots.length - online > tolerated;
}
