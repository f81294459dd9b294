// An in-memory Controller for tests of the daemon shell and bioctl: the
// bio(4) verbs with softraid's wording, no I/O. Not the engine; the
// end-to-end tests run the real one.
import type {
  Controller, ControllerEvent, ControllerReply, CreateRequest, InquiryView, RebuildRateLimits, VolumeView, ProgressView,
  PatrolView, ScrubSchedule, KeptDeviceName,
} from '../controller.js';
import { levelTable } from '../levels.js';
import type { BlockDevice } from '../block-device.js';

export class FakeController implements Controller {
  readonly controllerName = 'softraid0';
  volumes: VolumeView[] = [];
  hotSpares: Array<{ name: string; sizeBytes: number }> = [];
  rateLimits: RebuildRateLimits | undefined;
  scanned: string[][] = [];
  shutdownCount = 0;
  /** Every chunk name offered, with its size; others "do not exist". */
  readonly chunkSizes = new Map<string, number>();
  private readonly eventListeners = new Set<(event: ControllerEvent) => void>();
  private readonly volumeListeners = new Set<() => void>();
  kept: KeptDeviceName[] = [];

  keptDeviceNames(): KeptDeviceName[] {
    return structuredClone(this.kept);
  }

  keepDeviceNames(names: readonly KeptDeviceName[]): void {
    this.kept.push(...names);
  }

  inquire(): InquiryView {
    const spareBase = this.volumes.length;
    return {
      controllerName: this.controllerName,
      volumes: structuredClone(this.volumes),
      hotSpares: this.hotSpares.map((spare, index) => ({ volumeIndex: spareBase + index, name: spare.name, sizeBytes: spare.sizeBytes })),
    };
  }

  private inUse(name: string): boolean {
    return this.volumes.some((volume) => volume.chunks.some((chunk) => chunk.name === name)) || this.hotSpares.some((spare) => spare.name === name);
  }

  emit(event: ControllerEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }

  private changed(): void {
    for (const listener of this.volumeListeners) listener();
  }

  async create(request: CreateRequest): Promise<ControllerReply<VolumeView>> {
    await Promise.resolve();
    for (const name of request.chunkNames) {
      if (!this.chunkSizes.has(name)) return { ok: false, messages: [{ type: 'error', text: `could not open ${name}` }] };
      if (this.inUse(name)) return { ok: false, messages: [{ type: 'error', text: `chunk ${name} already in use` }] };
    }
    const info = levelTable[request.level];
    const chunkSizeBytes = Math.min(...request.chunkNames.map((name) => this.chunkSizes.get(name)!));
    const dataChunks = request.level === 'raid1' ? 1 : request.level === 'raid5' ? request.chunkNames.length - 1 : request.chunkNames.length;
    const deviceName = `sd${this.volumes.length}`;
    const volume: VolumeView = {
      volumeIndex: this.volumes.length, deviceName, uuid: `00000000-0000-4000-8000-00000000000${this.volumes.length}`,
      level: request.level, layout: request.level === 'raid5' ? (request.layout ?? 'left-asymmetric') : null,
      stripSizeBytes: request.stripSizeBytes ?? 65536, state: 'Online', sizeBytes: chunkSizeBytes * dataChunks,
      noAutoAssemble: request.noAutoAssemble,
      chunks: request.chunkNames.map((name, chunkIndex) => ({ chunkIndex, name, state: 'Online', sizeBytes: chunkSizeBytes })),
      progress: null,
    };
    this.volumes.push(volume);
    this.emit({ name: 'NewArray', device: deviceName });
    this.changed();
    return { ok: true, messages: [{ type: 'info', text: `${info.displayName} volume attached as ${deviceName}` }], result: volume };
  }

  async scan(chunkNames: string[]): Promise<ControllerReply<VolumeView[]>> {
    await Promise.resolve();
    this.scanned.push(chunkNames);
    return { ok: true, messages: [], result: [] };
  }

  async detach(deviceName: string): Promise<ControllerReply> {
    await Promise.resolve();
    const index = this.volumes.findIndex((volume) => volume.deviceName === deviceName);
    if (index === -1) return { ok: false, messages: [{ type: 'error', text: `volume ${deviceName} not found` }] };
    this.volumes.splice(index, 1);
    this.changed();
    return { ok: true, messages: [] };
  }

  async addHotSpare(chunkName: string): Promise<ControllerReply> {
    await Promise.resolve();
    if (!this.chunkSizes.has(chunkName)) return { ok: false, messages: [{ type: 'error', text: `could not open ${chunkName}` }] };
    if (this.inUse(chunkName)) return { ok: false, messages: [{ type: 'error', text: `chunk ${chunkName} already in use` }] };
    this.hotSpares.push({ name: chunkName, sizeBytes: this.chunkSizes.get(chunkName)! });
    this.changed();
    return { ok: true, messages: [] };
  }

  async rebuild(deviceName: string, chunkName: string): Promise<ControllerReply> {
    await Promise.resolve();
    const volume = this.volumes.find((candidate) => candidate.deviceName === deviceName);
    if (!volume) return { ok: false, messages: [{ type: 'error', text: `volume ${deviceName} not found` }] };
    if (volume.state !== 'Degraded') return { ok: false, messages: [{ type: 'error', text: 'volume not degraded' }] };
    const offline = volume.chunks.find((chunk) => chunk.state === 'Offline')!;
    offline.name = chunkName;
    offline.state = 'Rebuild';
    volume.state = 'Rebuild';
    this.setProgress(deviceName, 0);
    return { ok: true, messages: [{ type: 'warning', text: `rebuild of ${deviceName} started on ${chunkName}` }] };
  }

  async removeHotSpare(chunkName: string): Promise<ControllerReply> {
    await Promise.resolve();
    const index = this.hotSpares.findIndex((spare) => spare.name === chunkName);
    if (index < 0) return { ok: false, messages: [{ type: 'error', text: `${chunkName} is neither a volume nor a hot spare of softraid0` }] };
    this.hotSpares.splice(index, 1);
    this.changed();
    return { ok: true, messages: [{ type: 'info', text: `hot spare ${chunkName} removed from the pool` }] };
  }

  async setOffline(deviceName: string, chunkName: string): Promise<ControllerReply> {
    await Promise.resolve();
    const volume = this.volumes.find((candidate) => candidate.deviceName === deviceName);
    const chunk = volume?.chunks.find((candidate) => candidate.name === chunkName);
    if (!volume || !chunk) return { ok: false, messages: [{ type: 'error', text: `chunk ${chunkName} is not part of ${deviceName}` }] };
    chunk.state = 'Offline';
    volume.state = 'Degraded';
    this.emit({ name: 'Fail', device: deviceName, member: chunkName });
    this.changed();
    return { ok: true, messages: [] };
  }

  setProgress(deviceName: string, percent: number | null): void {
    const volume = this.volumes.find((candidate) => candidate.deviceName === deviceName)!;
    const progress: ProgressView | null = percent === null ? null : {
      operation: 'rebuild', percent, bytesDone: Math.floor((volume.sizeBytes * percent) / 100), bytesTotal: volume.sizeBytes,
      rateBytesPerSecond: 1048576, etaSeconds: 10,
    };
    volume.progress = progress;
  }

  blockDevice(_deviceName: string): BlockDevice | undefined {
    return undefined;
  }

  onEvent(listener: (event: ControllerEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onVolumesChanged(listener: () => void): () => void {
    this.volumeListeners.add(listener);
    return () => this.volumeListeners.delete(listener);
  }

  setRebuildRateLimits(limits: RebuildRateLimits): void {
    this.rateLimits = limits;
  }

  schedule: ScrubSchedule = { mode: 'manual' };

  async startScrub(deviceName: string | null, options: { repair: boolean }): Promise<ControllerReply> {
    await Promise.resolve();
    const volumes = this.volumes.filter((volume) => deviceName === null || volume.deviceName === deviceName);
    if (volumes.length === 0) return { ok: false, messages: [{ type: 'error', text: deviceName === null ? 'no redundant volume to scrub' : `invalid device ${deviceName}` }] };
    for (const volume of volumes) {
      if (volume.state !== 'Online') return { ok: false, messages: [{ type: 'error', text: `${volume.deviceName}: volume is ${volume.state}, a scrub needs every chunk online` }] };
      volume.state = 'Scrubbing';
      volume.progress = { operation: 'scrub', percent: 0, bytesDone: 0, bytesTotal: volume.sizeBytes, rateBytesPerSecond: 0, etaSeconds: null, repair: options.repair, mismatchSectors: 0 };
    }
    return { ok: true, messages: volumes.map((volume) => ({ type: 'info' as const, text: `${options.repair ? 'repair' : 'scrub'} of ${volume.deviceName} started` })) };
  }

  async stopScrub(deviceName: string | null): Promise<ControllerReply> {
    await Promise.resolve();
    const volumes = this.volumes.filter((volume) => (deviceName === null || volume.deviceName === deviceName) && volume.state === 'Scrubbing');
    if (volumes.length === 0) return { ok: false, messages: [{ type: 'error', text: 'no scrub in progress' }] };
    for (const volume of volumes) {
      volume.state = 'Online';
      volume.progress = null;
    }
    return { ok: true, messages: [] };
  }

  setScrubSchedule(schedule: ScrubSchedule): ControllerReply {
    this.schedule = schedule;
    return { ok: true, messages: [] };
  }

  patrolStatus(deviceName: string | null): ControllerReply<PatrolView> {
    const volumes = this.volumes.filter((volume) => deviceName === null || volume.deviceName === deviceName);
    const auto = this.schedule.mode === 'auto';
    return {
      ok: true, messages: [],
      result: {
        mode: this.schedule.mode,
        intervalSeconds: this.schedule.mode === 'auto' ? this.schedule.intervalSeconds ?? 604800 : 0,
        nextSeconds: this.schedule.mode === 'auto' ? this.schedule.startSeconds ?? 0 : 0,
        status: volumes.some((volume) => volume.state === 'Scrubbing') ? 'active' : auto ? 'ready' : 'stopped',
      },
    };
  }

  async shutdown(): Promise<void> {
    await Promise.resolve();
    this.shutdownCount++;
  }
}
