// softraid0's patrol (bioctl -t, BIOCPATROL): scrubs started by request or
// by the auto schedule, followed to their end (the last result of each
// volume, ScrubFinished, a log line with what was found). The scrub itself
// is the volume's (src/engine/volume/scrub.ts, docs/scrub.md); this is the
// controller's side of it, given what it needs of the controller as a host.
import { SoftraidError } from '../errors.js';
import type { Volume } from '../volume/volume.js';
import type { Clock } from '../volume/events.js';
import type { BioMessage, ControllerEvent, ControllerReply, PatrolView, ScrubResultView, ScrubSchedule } from '@openbsd38/bio/controller.js';
import { percentOf, scrubLogMessage, scrubResultView } from './views.js';

export const scrubIntervalSecondsDefault = 7 * 24 * 3600;
/** How often the auto schedule looks at the clock. */
export const scrubSchedulePollMs = 1000;

export interface PatrolHost {
  readonly clock: Clock;
  wallClockMs(): number;
  log(message: BioMessage): void;
  /** Attached volumes in device order. */
  volumes(): Volume[];
  volume(deviceName: string): Volume | undefined;
  /** The volume, or a SoftraidError naming the device. */
  volumeNamed(deviceName: string): Volume;
  /** Runs `work` as a management request (one at a time), operating errors becoming the reply's messages. */
  exclusive<T>(work: (messages: BioMessage[]) => Promise<T>): Promise<ControllerReply<T>>;
  emit(event: ControllerEvent): void;
  /** Background work the controller waits for at shutdown. */
  track(work: Promise<unknown>): void;
  shuttingDown(): boolean;
}

export class Patrol {
  constructor(private readonly host: PatrolHost) {}

  /** The last scrub result of a volume, by UUID (survives its re-assembly, not a restart). */
  lastScrub(uuid: string): ScrubResultView | null {
    return this.lastScrubs.get(uuid) ?? null;
  }

  private schedule: { mode: 'auto' | 'manual' | 'disabled'; intervalSeconds: number; nextDueMs: number } =
    { mode: 'manual', intervalSeconds: scrubIntervalSecondsDefault, nextDueMs: 0 };
  private scheduleGeneration = 0;
  /** The last scrub result of each volume, by UUID (survives the volume's re-assembly, not a restart). */
  private readonly lastScrubs = new Map<string, ScrubResultView>();

  start(deviceName: string | null, options: { repair: boolean }): Promise<ControllerReply> {
    return this.host.exclusive(async (messages) => {
      await Promise.resolve();
      if (deviceName !== null) {
        this.launch(this.host.volumeNamed(deviceName), options.repair, messages);
        return undefined;
      }
      const candidates = this.host.volumes().filter((volume) => volume.members.redundant);
      if (candidates.length === 0) throw new SoftraidError('no redundant volume to scrub');
      let started = 0;
      const refusals: string[] = [];
      for (const volume of candidates) {
        try {
          this.launch(volume, options.repair, messages);
          started++;
        } catch (error) {
          if (!(error instanceof SoftraidError)) throw error;
          refusals.push(error.message);
        }
      }
      // Some started: the others are warnings. None started: the request failed, as it does for one volume.
      if (started === 0) throw new SoftraidError(refusals.join('; '));
      for (const text of refusals) messages.push({ type: 'warning', text });
      return undefined;
    });
  }

  stop(deviceName: string | null): Promise<ControllerReply> {
    return this.host.exclusive(async (messages) => {
      const volumes = deviceName === null ? this.host.volumes() : [this.host.volumeNamed(deviceName)];
      const running = volumes.filter((volume) => volume.scrubbing);
      if (running.length === 0) throw new SoftraidError(deviceName === null ? 'no scrub in progress' : `${deviceName}: no scrub in progress`);
      for (const volume of running) {
        const result = await volume.stopScrub();
        if (result !== null) messages.push({ type: 'info', text: `scrub of ${volume.record.deviceName} stopped at ${percentOf(result)}%` });
      }
      return undefined;
    });
  }

  setSchedule(schedule: ScrubSchedule): ControllerReply {
    this.scheduleGeneration++;
    if (schedule.mode !== 'auto') {
      this.schedule = { ...this.schedule, mode: schedule.mode, nextDueMs: 0 };
      return { ok: true, messages: [] };
    }
    const intervalSeconds = schedule.intervalSeconds ?? this.schedule.intervalSeconds;
    if (!Number.isSafeInteger(intervalSeconds) || intervalSeconds < 1) {
      return { ok: false, messages: [{ type: 'error', text: `invalid patrol interval ${intervalSeconds}: at least 1 second` }] };
    }
    const startSeconds = schedule.startSeconds ?? intervalSeconds;
    this.schedule = { mode: 'auto', intervalSeconds, nextDueMs: this.host.clock.nowMs() + startSeconds * 1000 };
    void this.runSchedule(this.scheduleGeneration);
    return { ok: true, messages: [] };
  }

  status(deviceName: string | null): ControllerReply<PatrolView> {
    const volume = deviceName === null ? undefined : this.host.volume(deviceName);
    if (deviceName !== null && volume === undefined) return { ok: false, messages: [{ type: 'error', text: `invalid device ${deviceName}` }] };
    const volumes = volume === undefined ? this.host.volumes() : [volume];
    const schedule = this.schedule;
    let status: PatrolView['status'] = schedule.mode === 'auto' ? 'ready' : 'stopped';
    if (volumes.some((candidate) => this.lastScrubs.get(candidate.record.uuid)?.status !== undefined
      && this.lastScrubs.get(candidate.record.uuid)?.status !== 'finished')) status = 'aborted';
    if (volumes.some((candidate) => candidate.scrubbing)) status = 'active';
    const nextSeconds = schedule.mode === 'auto' ? Math.max(0, Math.ceil((schedule.nextDueMs - this.host.clock.nowMs()) / 1000)) : 0;
    return { ok: true, messages: [], result: { mode: schedule.mode, intervalSeconds: schedule.mode === 'auto' ? schedule.intervalSeconds : 0, nextSeconds, status } };
  }

  /** Starts a scrub and follows it to its end: last result, ScrubFinished, a log line with what it found. */
  private launch(volume: Volume, repair: boolean, messages: BioMessage[]): void {
    const deviceName = volume.record.deviceName;
    const uuid = volume.record.uuid;
    const startedAtWallMs = this.host.wallClockMs();
    const handle = volume.startScrub({ repair });
    messages.push({ type: 'info', text: `${repair ? 'repair' : 'scrub'} of ${deviceName} started` });
    this.host.emit({ name: 'ScrubStarted', device: deviceName });
    const tracked = handle.finished.then((result) => {
      const view = scrubResultView(result, startedAtWallMs);
      this.lastScrubs.set(uuid, view);
      this.host.emit({ name: 'ScrubFinished', device: deviceName });
      this.host.log(scrubLogMessage(deviceName, view));
    }, (error: unknown) => {
      this.host.log({ type: 'error', text: `scrub of ${deviceName} failed: ${(error as Error).message}` });
    });
    this.host.track(tracked);
  }

  /** The auto schedule: wakes every scrubSchedulePollMs and scrubs every eligible volume when due. */
  private async runSchedule(generation: number): Promise<void> {
    const clock = this.host.clock;
    while (generation === this.scheduleGeneration && !this.host.shuttingDown() && this.schedule.mode === 'auto') {
      const waitMs = this.schedule.nextDueMs - clock.nowMs();
      if (waitMs > 0) {
        await clock.sleepMs(Math.min(waitMs, scrubSchedulePollMs));
        continue;
      }
      this.schedule.nextDueMs = clock.nowMs() + this.schedule.intervalSeconds * 1000;
      const reply = await this.host.exclusive(async (messages) => {
        await Promise.resolve();
        if (generation !== this.scheduleGeneration || this.host.shuttingDown()) return undefined;
        for (const volume of this.host.volumes()) {
          if (volume.state !== 'Online' || volume.scrubbing || !volume.members.redundant) continue;
          this.launch(volume, false, messages);
        }
        return undefined;
      });
      for (const message of reply.messages) this.host.log(message);
    }
  }
}
