// softraid0: the controller that owns every volume and the global hot-spare
// pool (softraid.c's softc). It opens members through an injected
// openChunk, creates or assembles volumes, keeps the set of chunks in use,
// names volumes sd0, sd1, ..., and — beyond OpenBSD, where only RAID 1 did —
// puts a hot spare to work on every redundant level that degrades.
//
// Management requests run one at a time (a mutex): the pool and the in-use
// set never see two changes interleaved.
import { isOperatingError } from '@openbsd38/libutil/errors.js';
import { MetadataError, SoftraidError } from '../errors.js';
import { assert } from '@openbsd38/libutil/assert.js';
import type { ChunkBackend } from '../chunk.js';
import { levelTable, requestMinimumChunks, type RaidLevel } from '@openbsd38/bio/levels.js';
import { changePassphrase, newVolumeKeys, type KeySource } from '../crypto/keying.js';
import type { KeyVault } from '../crypto/sector-cipher.js';
import { checkUnlockRequest, kdfHintOfChunks, openVolumeKeys, type OpenEncryption } from './encryption.js';
import { volumeStateFromChunks } from '../state-transitions.js';
import { readChunkMetadata, saveVolumeMetadata, wipeChunkMetadata } from '../metadata/io.js';
import { isVolumeKind, type VolumeRecord } from '../metadata/record.js';
import { createVolume } from '../assembly/create.js';
import { assembleVolume } from '../assembly/assemble.js';
import { disciplineFor } from '../disciplines/registry.js';
import { makeHotSpare } from '../assembly/hot-spare.js';
import { refuseLiveMember } from '../assembly/checks.js';
import { Volume } from '../volume/volume.js';
import type { Clock, VolumeEvent } from '../volume/events.js';
import type { VolumeLimits } from '../volume/limits.js';
import type { BlockDevice } from '@openbsd38/bio/block-device.js';
import { volumeRangesOnChunk } from '../volume/scrub.js';
import { Patrol } from './patrol.js';
import { SparePool } from './spare-pool.js';
import { formatRanges, volumeView } from './views.js';
import type { RebuildOutcome } from '../volume/rebuild.js';
import type {
  BioMessage, Controller, ControllerEvent, ControllerReply, CreateRequest, InquiryView, KdfHintView, KeptDeviceName,
  PassphraseChange, PatrolView, RebuildRateLimits, ScrubSchedule, VolumeView,
} from '@openbsd38/bio/controller.js';
import { replyOf } from '@openbsd38/bio/controller.js';

export interface SoftraidControllerOptions {
  /** Opens a member by name (path or NBD URI); rejects with SoftraidError naming it. */
  openChunk: (name: string) => Promise<ChunkBackend>;
  random: (bytes: Uint8Array) => void;
  clock: Clock;
  controllerName?: string;
  volumeLimits?: Partial<VolumeLimits>;
  /** Messages of work the controller starts by itself (hot-spare takeover), for the daemon's log. */
  log?: (message: BioMessage) => void;
  /** Wall-clock time (ms since the epoch) for scrub results; Date.now by default. */
  wallClockMs?: () => number;
  /** CRYPTO and RAID 1C: the cipher and key scheme (src/crypto/ on Node); without it those levels are refused. */
  keyVault?: KeyVault;
}

/** Volumes a controller attaches at most (softraid's SR_MAX_LD). */
export const volumeCountMax = 256;

export class SoftraidController implements Controller {
  readonly controllerName: string;
  private readonly volumes = new Map<string, Volume>();
  private readonly hotSpares = new SparePool();
  private readonly eventListeners = new Set<(event: ControllerEvent) => void>();
  private readonly changeListeners = new Set<() => void>();
  private rateLimits: RebuildRateLimits | null = null;
  private mutex: Promise<unknown> = Promise.resolve();
  private sparingScheduled = false;
  private shuttingDown = false;
  /** Rebuilds running, so shutdown can wait for their checkpoints. */
  private readonly rebuilds = new Set<Promise<unknown>>();

  constructor(private readonly options: SoftraidControllerOptions) {
    this.controllerName = options.controllerName ?? 'softraid0';
    this.patrol = new Patrol({
      clock: options.clock,
      wallClockMs: options.wallClockMs ?? Date.now,
      log: (message) => this.options.log?.(message),
      volumes: () => this.sortedVolumes(),
      volume: (deviceName) => this.volumes.get(deviceName),
      volumeNamed: (deviceName) => this.volumeNamed(deviceName),
      exclusive: (work) => this.exclusive(work),
      emit: (event) => this.emit(event),
      track: (work) => {
        this.rebuilds.add(work);
        void work.finally(() => this.rebuilds.delete(work));
      },
      shuttingDown: () => this.shuttingDown,
    });
  }

  /** Scrubs and their schedule (bioctl -t), in their own file. */
  private readonly patrol: Patrol;
  /** Volume uuid -> the name of the key disk it was unlocked with (shown as a disk row, remembered for the next start). */
  private readonly keyDiskNames = new Map<string, string>();
  /** Device name -> uuid of a volume not attached now whose name no other volume may take (keptDeviceNames). */
  private readonly keptNames = new Map<string, string>();

  startScrub(deviceName: string | null, options: { repair: boolean }): Promise<ControllerReply> {
    return this.patrol.start(deviceName, options);
  }

  stopScrub(deviceName: string | null): Promise<ControllerReply> {
    return this.patrol.stop(deviceName);
  }

  setScrubSchedule(schedule: ScrubSchedule): ControllerReply {
    return this.patrol.setSchedule(schedule);
  }

  patrolStatus(deviceName: string | null): ControllerReply<PatrolView> {
    return this.patrol.status(deviceName);
  }

  /** A rebuild that failed: the log names the volume byte ranges that were not rebuilt. */
  private reportRebuildOutcome(volume: Volume, chunkIndex: number, outcome: RebuildOutcome): void {
    if (outcome.status !== 'failed') return;
    const record = volume.record;
    const member = record.chunks[chunkIndex]?.name ?? `chunk ${chunkIndex}`;
    let where = '';
    if (outcome.failedRange !== null && isVolumeKind(record.kind)) {
      const geometry = { level: record.kind, chunkCount: record.chunkCount, stripSizeBytes: record.stripSizeBytes, layout: record.layout,
        chunkDataSizeBytes: record.chunkDataSizeBytes, chunkUsableSizesBytes: record.chunks.map((chunk) => chunk.usableSizeBytes) };
      const ranges = volumeRangesOnChunk(geometry, chunkIndex, outcome.failedRange.offsetBytes, outcome.failedRange.lengthBytes);
      where = ` at volume bytes ${formatRanges(ranges)}`;
    }
    const unreadable = 'every range of it is unreadable until a chunk returns';
    const after = volume.state !== 'Offline' ? `; the volume is ${volume.state}`
      : /volume is offline/.test(outcome.reason) ? `: ${unreadable}` : `; the volume is offline: ${unreadable}`;
    this.options.log?.({ type: 'error', text: `rebuild of ${record.deviceName} on ${member} failed${where}: ${outcome.reason}${after}` });
  }

  // ---- end of scrub and patrol ----

  inquire(): InquiryView {
    const volumes = this.sortedVolumes().map((volume, volumeIndex) => this.view(volume, volumeIndex));
    return { controllerName: this.controllerName, volumes, hotSpares: this.hotSpares.views(volumes.length) };
  }

  blockDevice(deviceName: string): BlockDevice | undefined {
    return this.volumes.get(deviceName);
  }

  onEvent(listener: (event: ControllerEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onVolumesChanged(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  setRebuildRateLimits(limits: RebuildRateLimits): void {
    this.rateLimits = { ...limits };
    for (const volume of this.volumes.values()) volume.setRebuildRateLimits(limits);
  }

  create(request: CreateRequest): Promise<ControllerReply<VolumeView>> {
    return this.exclusive(async (messages) => {
      checkUnlockRequest(request.level, request.crypto, this.options.keyVault);
      if (request.chunkNames.length < requestMinimumChunks(request.level)) throw new SoftraidError('not enough disks');
      const chunks = await this.openAll(request.chunkNames);
      let keyDisk: ChunkBackend | null = null;
      let released: [string, string][] = [];
      try {
        if (request.crypto?.keyDisk !== undefined) keyDisk = await this.options.openChunk(request.crypto.keyDisk);
        const source: KeySource | null = request.crypto?.passphrase !== undefined
          ? { kind: 'passphrase', passphrase: request.crypto.passphrase, ...(request.crypto.kdfRounds === undefined ? {} : { kdfRounds: request.crypto.kdfRounds }) }
          : keyDisk !== null ? { kind: 'keydisk', keyDisk } : null;
        // A chunk this controller already holds: say what holds it (-C force would not help).
        for (const chunk of chunks) {
          const spare = this.hotSpares.byIdentity(chunk.identity);
          if (spare !== undefined) {
            throw new SoftraidError(`chunk ${chunk.name} is a hot spare in ${this.controllerName}'s pool: `
              + `take it out first with bioctl -d ${spare.chunk.name}`);
          }
          const holder = [...this.volumes.values()].find((volume) =>
            volume.record.chunks.some((_, index) => volume.members.member(index)?.identity === chunk.identity));
          if (holder !== undefined) throw new SoftraidError(`chunk ${chunk.name} already in use (a chunk of ${holder.record.deviceName})`);
        }
        const replacedUuids = new Set<string>();
        const existing = await Promise.all(chunks.map((chunk) => readChunkMetadata(chunk).then((found) => {
          if (found !== null) replacedUuids.add(found.record.uuid);
          return found !== null;
        }, () => true)));
        // -C force over a detached volume's chunks ends that volume: its kept name is free again
        // (for the new one, if the create succeeds; kept as it was if it does not).
        released = request.force ? [...this.keptNames].filter(([, uuid]) => replacedUuids.has(uuid)) : [];
        for (const [name] of released) this.keptNames.delete(name);
        const volume = existing.some(Boolean) && !request.force
          // A passphrase volume stays noauto whatever the request says: its passphrase is not stored.
          ? await this.assemble(chunks, messages, request.level, { noAutoAssemble: request.noAutoAssemble || source?.kind === 'passphrase', keySource: source }).catch((error: unknown) => {
            // Some chunks blank, some not: say what the two ways forward are.
            if (error instanceof SoftraidError && !existing.every(Boolean)) {
              const used = chunks.filter((_chunk, index) => existing[index]).map((chunk) => chunk.name);
              throw new SoftraidError(`${error.message}; ${used.join(', ')} ${used.length === 1 ? 'holds' : 'hold'} softraid metadata: `
                + 'to assemble a volume, name all of its members; to create a new volume over them, use -C force');
            }
            throw error;
          })
          : await this.createNew(chunks, request, messages, source, keyDisk);
        if (keyDisk !== null) this.keyDiskNames.set(volume.record.uuid, keyDisk.name);
        return this.view(volume, this.sortedVolumes().indexOf(volume));
      } catch (error) {
        for (const [name, uuid] of released) this.keptNames.set(name, uuid);
        await closeAll(chunks.filter((chunk) => !this.owns(chunk)));
        throw error;
      } finally {
        // The key disk gave its mask key; it is not held (softraid closes it too).
        if (keyDisk !== null && !this.owns(keyDisk)) await keyDisk.close();
      }
    });
  }

  scan(chunkNames: string[]): Promise<ControllerReply<VolumeView[]>> {
    return this.exclusive(async (messages) => {
      const attached: Volume[] = [];
      const groups = new Map<string, ChunkBackend[]>();
      const keyDisks = new Map<string, ChunkBackend>();
      for (const name of chunkNames) {
        let chunk: ChunkBackend;
        try {
          chunk = await this.options.openChunk(name);
        } catch (error) {
          if (!(error instanceof SoftraidError)) throw error;
          messages.push({ type: 'warning', text: error.message });
          continue;
        }
        if (this.isInUse(chunk.identity)) {
          if (!this.owns(chunk)) await chunk.close(); // a second open of a member may be the member itself
          continue;
        }
        let found;
        try {
          found = await readChunkMetadata(chunk);
        } catch (error) {
          if (!(error instanceof SoftraidError)) throw error;
          messages.push({ type: 'warning', text: error.message });
          await chunk.close();
          continue;
        }
        if (found === null) {
          await chunk.close();
          continue;
        }
        if (found.record.kind === 'hotspare') {
          this.hotSpares.add({ chunk, record: found.record });
          continue;
        }
        if (found.record.kind === 'keydisk') {
          if (keyDisks.has(found.record.uuid)) await chunk.close();
          else keyDisks.set(found.record.uuid, chunk);
          continue;
        }
        const group = groups.get(found.record.uuid) ?? [];
        group.push(chunk);
        groups.set(found.record.uuid, group);
      }
      for (const [uuid, chunks] of groups) {
        // Key disk volumes assemble when their key disk is here; passphrase volumes never by themselves.
        const keyDisk = keyDisks.get(uuid);
        try {
          const volume = await this.assemble(chunks, messages, undefined, { skipNoAuto: true, keySource: keyDisk === undefined ? null : { kind: 'keydisk', keyDisk } });
          if (volume) attached.push(volume);
          if (keyDisk !== undefined) this.keyDiskNames.set(uuid, keyDisk.name);
        } catch (error) {
          if (!(error instanceof SoftraidError)) throw error;
          messages.push({ type: 'warning', text: error.message });
          await closeAll(chunks);
        }
      }
      await closeAll([...keyDisks.values()]);
      this.scheduleSparing();
      const sorted = this.sortedVolumes();
      return attached.map((volume) => this.view(volume, sorted.indexOf(volume)));
    });
  }

  detach(deviceName: string): Promise<ControllerReply> {
    return this.exclusive(async () => {
      const volume = this.volumeNamed(deviceName);
      // OpenBSD: the metadata is kept, but the volume no longer assembles by itself.
      volume.record.noAutoAssemble = true;
      volume.members.touch();
      await volume.close({ clean: true });
      await this.release(volume);
      this.keptNames.set(deviceName, volume.record.uuid);
      this.notifyChanged();
      return undefined;
    });
  }

  addHotSpare(chunkName: string): Promise<ControllerReply> {
    return this.exclusive(async (messages) => {
      const [chunk] = await this.openAll([chunkName]);
      assert(chunk !== undefined, 'openAll returned no chunk');
      try {
        const { record, messages: spareMessages } = await makeHotSpare(chunk, {
          chunksInUse: (identity) => this.isInUse(identity),
          random: this.options.random,
          // A failed member put back in (the volume has moved on without it) may become a spare: bioctl -H after a replacement.
          isStaleMember: (existing) => this.isStaleMember(existing),
        });
        messages.push(...spareMessages);
        // A spare no volume could use is almost certainly a mistake (a partition of the wrong disk): say so.
        const redundant = [...this.volumes.values()].filter((volume) => volume.members.redundant);
        const needs = redundant.map((volume) => Math.min(...volume.record.chunks.map((_, index) => volume.replacementBytesMin(index))));
        if (needs.length > 0 && needs.every((bytes) => chunk.sizeBytes < bytes)) {
          messages.push({ type: 'warning', text: `hot spare ${chunk.name} (${chunk.sizeBytes} bytes) is smaller than every volume's chunks `
            + `(at least ${Math.min(...needs)} bytes): it cannot replace any of them` });
        }
        this.hotSpares.add({ chunk, record });
      } catch (error) {
        if (!this.owns(chunk)) await chunk.close(); // a second open of a member may be the member itself
        throw error;
      }
      this.scheduleSparing();
      return undefined;
    });
  }

  removeHotSpare(chunkName: string): Promise<ControllerReply> {
    return this.exclusive(async (messages) => {
      let spare = this.hotSpares.byName(chunkName);
      if (spare === undefined) {
        // Another path to the same disk.
        const [probe] = await this.openAll([chunkName]).catch((error: unknown) => {
          if (!isOperatingError(error)) throw error;
          return [undefined];
        });
        if (probe !== undefined) {
          spare = this.hotSpares.byIdentity(probe.identity);
          if (!this.owns(probe)) await probe.close();
        }
      }
      if (spare === undefined) throw new SoftraidError(`${chunkName} is neither a volume nor a hot spare of ${this.controllerName}`);
      this.hotSpares.take(spare);
      // Its metadata goes too, or the next scan would put it back in the pool.
      try {
        await wipeChunkMetadata(spare.chunk);
      } finally {
        await spare.chunk.close();
      }
      messages.push({ type: 'info', text: `hot spare ${spare!.chunk.name} removed from the pool` });
      this.options.log?.({ type: 'info', text: `hot spare ${spare!.chunk.name} removed from the pool by request` });
      this.notifyChanged();
      return undefined;
    });
  }

  rebuild(deviceName: string, chunkName: string): Promise<ControllerReply> {
    return this.exclusive(async (messages) => {
      const volume = this.volumeNamed(deviceName);
      const chunkIndex = volume.record.chunks.findIndex((chunk) => chunk.state === 'Offline');
      if (volume.state === 'Rebuild') throw new SoftraidError('rebuild already in progress');
      if (volume.state === 'Offline') {
        throw new SoftraidError(`${deviceName} is offline: too few chunks are left to rebuild from`);
      }
      if (volume.state !== 'Degraded') throw new SoftraidError('volume not degraded');
      if (chunkIndex < 0) throw new SoftraidError('no offline chunks available to rebuild');
      const [chunk] = await this.openAll([chunkName]);
      assert(chunk !== undefined, 'openAll returned no chunk');
      // A spare named by hand leaves the pool; any other chunk must be free.
      const namedSpare = this.hotSpares.byIdentity(chunk.identity);
      if (namedSpare === undefined && this.isInUse(chunk.identity)) {
        if (!this.owns(chunk)) await chunk.close(); // a second open of a member may be the member itself
        throw new SoftraidError(`chunk ${chunkName} already in use`);
      }
      if (namedSpare === undefined) {
        try {
          await this.refuseForeignMetadata(volume, chunk);
        } catch (error) {
          await chunk.close();
          throw error;
        }
      }
      if (namedSpare !== undefined) this.hotSpares.take(namedSpare);
      const member = namedSpare?.chunk ?? chunk;
      if (member !== chunk) await chunk.close();
      try {
        await this.startRebuild(volume, chunkIndex, member, messages);
      } catch (error) {
        // Refused before the volume took the member (too small, the volume changed meanwhile):
        // a spare goes back to the pool, any other chunk is closed. One the volume took stays its.
        if (!this.owns(member)) {
          if (namedSpare !== undefined) this.hotSpares.add(namedSpare);
          else await member.close();
        }
        throw error;
      }
      return undefined;
    });
  }

  /**
   * A rebuild target named by hand may carry metadata: its own volume's (a
   * returning member: the volume decides how much to rebuild) or a leftover.
   * A member another volume still counts on (a detached or noauto volume, a
   * disk from another machine) is refused, as for a hot spare.
   */
  private async refuseForeignMetadata(volume: Volume, chunk: ChunkBackend): Promise<void> {
    let existing;
    try {
      existing = await readChunkMetadata(chunk);
    } catch (error) {
      if (!(error instanceof MetadataError)) throw error;
      throw new SoftraidError(`chunk ${chunk.name} holds damaged softraid metadata (${error.message}); wipe it before rebuilding onto it`);
    }
    if (existing === null || existing.record.uuid === volume.record.uuid) return;
    refuseLiveMember(chunk, existing, `a member of ${volume.record.deviceName}`, (record) => this.isStaleMember(record));
  }

  /** A member of an assembled volume that has moved on without it (a failed disk put back in). */
  private isStaleMember(record: VolumeRecord): boolean {
    return [...this.volumes.values()].some((volume) => volume.record.uuid === record.uuid && volume.record.eventCounter > record.eventCounter);
  }

  setOffline(deviceName: string, chunkName: string, options: { force: boolean } = { force: false }): Promise<ControllerReply> {
    return this.exclusive(async () => {
      const volume = this.volumeNamed(deviceName);
      const chunkIndex = await this.chunkIndexByName(volume, chunkName);
      if (chunkIndex < 0) throw new SoftraidError(`chunk ${chunkName} is not part of ${deviceName}`);
      // md refuses to fail its last working device: a volume must not be taken
      // past what it tolerates by a keystroke. Forcing it is documented.
      const states = volume.record.chunks.map((chunk, index) => (index === chunkIndex ? 'Offline' as const : chunk.state));
      const tolerated = levelTable[volume.info().level].toleratedMissing(volume.record.chunkCount);
      if (!options.force && volume.state !== 'Offline' && volumeStateFromChunks(states, tolerated) === 'Offline') {
        const why = volume.record.chunks[chunkIndex]!.state === 'Online' && tolerated > 0
          ? `it holds the last good copy of some of ${deviceName}'s data` : `${deviceName} cannot serve without it`;
        throw new SoftraidError(`chunk ${chunkName} not taken offline: ${why}, and ${deviceName} would go offline `
          + `(its reads and writes would fail); bioctl -C force -O ${chunkName} ${deviceName} takes it offline anyway`);
      }
      await volume.setChunkOffline(chunkIndex);
      this.scheduleSparing();
      return undefined;
    });
  }

  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.mutex.catch(() => undefined);
    for (const volume of this.sortedVolumes()) {
      // A volume that cannot be closed cleanly (a member failing) stays dirty and is resynced at the
      // next assembly; the others still close. An assertion is a bug and is not swallowed.
      await volume.close({ clean: true }).catch((error: unknown) => {
        if (!isOperatingError(error)) throw error;
        this.options.log?.({ type: 'warning', text: `${volume.record.deviceName}: not closed cleanly: ${(error as Error).message}` });
      });
      await this.release(volume);
    }
    await Promise.allSettled([...this.rebuilds]);
    await this.hotSpares.closeAll();
    this.notifyChanged();
  }

  // ---- creating and assembling ----

  private async createNew(chunks: ChunkBackend[], request: CreateRequest, messages: BioMessage[], source: KeySource | null,
    keyDisk: ChunkBackend | null): Promise<Volume> {
    const vault = this.options.keyVault;
    const created = await createVolume({
      level: request.level,
      layout: request.layout,
      stripSizeBytes: request.stripSizeBytes,
      chunks,
      deviceName: this.freeDeviceName(),
      // A passphrase volume never assembles by itself (softraid refuses it otherwise): its passphrase is not stored.
      noAutoAssemble: request.noAutoAssemble || source?.kind === 'passphrase',
      force: request.force,
      chunksInUse: (identity) => this.isInUse(identity),
      random: this.options.random,
      ...(source === null || vault === undefined ? {} : { newKeys: (uuid: string) => newVolumeKeys(vault, uuid, source) }),
      ...(keyDisk === null ? {} : { keyDisk }),
    });
    messages.push(...created.messages);
    return this.attach(created.record, created.members, messages, false, created.encryption);
  }

  private async assemble(chunks: ChunkBackend[], messages: BioMessage[], level?: CreateRequest['level'],
    options: { skipNoAuto?: boolean; noAutoAssemble?: boolean; keySource?: KeySource | null } = {}): Promise<Volume> {
    const assembled = await assembleVolume(chunks, { chunksInUse: (identity) => this.isInUse(identity) });
    const record = assembled.record;
    if (level !== undefined && record.kind !== level) {
      const recorded = record.kind === 'hotspare' ? 'a hot spare' : record.kind === 'keydisk' ? 'a key disk' : levelTable[record.kind].displayName;
      throw new SoftraidError(`volume level mismatch: the chunks hold ${recorded}, not ${levelTable[level].displayName}`);
    }
    const encrypted = isVolumeKind(record.kind) && disciplineFor(record.kind).capabilities.encrypted;
    // An encrypted volume with nothing to unlock it says what it needs (openVolumeKeys) rather than "noauto".
    if (options.skipNoAuto && record.noAutoAssemble && !(encrypted && (options.keySource ?? null) === null)) {
      throw new SoftraidError(`${record.deviceName} is marked noauto, not assembled`);
    }
    if ([...this.volumes.values()].some((volume) => volume.record.uuid === record.uuid)) {
      throw new SoftraidError(`volume ${record.uuid} is already assembled`);
    }
    // Encrypted levels: the keys open first (a wrong passphrase writes nothing, not even a roaming name).
    let encryption: OpenEncryption | null = null;
    if (encrypted) {
      const vault = this.options.keyVault;
      if (vault === undefined) throw new SoftraidError(`${levelTable[record.kind as RaidLevel].displayName} is not available here: this controller has no key vault`);
      encryption = await openVolumeKeys(vault, record, assembled.members, options.keySource ?? null, messages);
    }
    try {
      return await this.attachAssembled(record, chunks, assembled, messages, options, encryption);
    } catch (error) {
      if (encryption !== null && !this.volumes.has(record.deviceName)) await encryption.cipher.destroy();
      throw error;
    }
  }

  private async attachAssembled(record: VolumeRecord, chunks: ChunkBackend[], assembled: { members: (ChunkBackend | null)[]; messages: BioMessage[] },
    messages: BioMessage[], options: { noAutoAssemble?: boolean }, encryption: OpenEncryption | null): Promise<Volume> {
    messages.push(...assembled.messages);
    // Stale members are left out of the volume: release them (they may become rebuild targets).
    await closeAll(chunks.filter((chunk) => !assembled.members.includes(chunk)));
    // Roaming: the recorded name may be taken by now (kept names are never given to another volume).
    const keptFor = this.keptNames.get(record.deviceName);
    if (this.volumes.has(record.deviceName) || !/^sd\d+$/.test(record.deviceName) || (keptFor !== undefined && keptFor !== record.uuid)) {
      const newName = this.freeDeviceName();
      messages.push({ type: 'warning', text: `volume ${newName} is roaming, it used to be ${record.deviceName}, updating metadata` });
      record.deviceName = newName;
    }
    for (const [name, uuid] of this.keptNames) if (uuid === record.uuid) this.keptNames.delete(name);
    // Assembled by request (bioctl -c over its members): noauto is what the request says, as at creation.
    const noAutoAssemble = options.noAutoAssemble;
    const changed = noAutoAssemble !== undefined && record.noAutoAssemble !== noAutoAssemble;
    if (changed) {
      record.noAutoAssemble = noAutoAssemble;
      messages.push({ type: 'info', text: noAutoAssemble ? `${record.deviceName} marked noauto` : `${record.deviceName} no longer noauto: it is assembled at start again` });
    }
    return this.attach(record, assembled.members, messages, changed, encryption);
  }

  private async attach(record: VolumeRecord, members: (ChunkBackend | null)[], messages: BioMessage[], recordChanged = false,
    encryption: OpenEncryption | null = null): Promise<Volume> {
    assert(isVolumeKind(record.kind), 'attach: not a volume');
    const level = record.kind;
    assert(!this.volumes.has(record.deviceName), `attach: ${record.deviceName} taken`);
    if (this.volumes.size >= volumeCountMax) throw new SoftraidError(`too many volumes: at most ${volumeCountMax}`);
    const deviceName = record.deviceName;
    const volume = new Volume(record, members, {
      saveMetadata: saveVolumeMetadata,
      onEvent: (event) => this.volumeEvent(event),
      clock: this.options.clock,
      ...(encryption === null ? {} : { encryption }),
    }, this.options.volumeLimits);
    if (volume.state === 'Offline') {
      await encryption?.cipher.destroy();
      throw new SoftraidError(`${deviceName} is offline, will not be brought online`);
    }
    this.volumes.set(deviceName, volume);
    if (this.rateLimits) volume.setRebuildRateLimits(this.rateLimits);
    // Running: the metadata says so until a clean shutdown.
    record.dirty = true;
    if (recordChanged) volume.members.touch();
    await volume.members.persist();
    messages.push({ type: 'info', text: `${levelTable[level].displayName} volume attached as ${deviceName}` });
    this.emit({ name: 'NewArray', device: deviceName });
    if (volume.state === 'Degraded') this.emit({ name: 'DegradedArray', device: deviceName });
    const resumed = volume.resumeRebuild();
    if (resumed) {
      this.track(resumed.finished);
      void resumed.finished.then((outcome) => this.reportRebuildOutcome(volume, resumed.chunkIndex, outcome), () => undefined);
    }
    // Crash recovery (log replay, then resync of the regions the bitmap marks) runs in the background: say how it ended.
    const resync = volume.resumeResync();
    if (resync) {
      void resync.finished.then((outcome) => {
        if (outcome.status === 'finished' && outcome.regions > 0) {
          this.options.log?.({ type: 'info', text: `${deviceName}: resync of ${outcome.regions} dirty regions (${outcome.bytes} bytes) finished in ${Math.round(outcome.elapsedMs)} ms` });
        } else if (outcome.status === 'failed') {
          this.options.log?.({ type: 'warning', text: `${deviceName}: resync failed: ${outcome.reason}` });
        }
      }, () => undefined);
    }
    this.notifyChanged();
    return volume;
  }

  // ---- hot spares and rebuild ----

  private async startRebuild(volume: Volume, chunkIndex: number, member: ChunkBackend, messages: BioMessage[]): Promise<void> {
    const replaced = volume.members.member(chunkIndex);
    const handle = await volume.startRebuild(chunkIndex, member);
    // The failed member is out of the volume now: release its handle (it may come back as a spare).
    if (replaced !== null && replaced !== member) await replaced.close().catch(() => undefined);
    messages.push({ type: 'warning', text: `rebuild of ${volume.record.deviceName} started on ${member.name}${handle.partial ? ' (returning member: only the regions written while it was away)' : ''}` });
    this.track(handle.finished);
    void handle.finished.then((outcome) => this.reportRebuildOutcome(volume, handle.chunkIndex, outcome), () => undefined);
  }

  /** Follows a rebuild to its end (the volume reports SpareActive / FailSpare itself), then looks for work for spares again. */
  private track(finished: Promise<{ status: string }>): void {
    const tracked = finished.then((outcome) => {
      if (outcome.status !== 'aborted') this.scheduleSparing();
    }, () => undefined);
    this.rebuilds.add(tracked);
    void tracked.finally(() => this.rebuilds.delete(tracked));
  }

  /** After any degradation: give every degraded redundant volume a spare that fits (softraid's sr_hotspare_rebuild). */
  private scheduleSparing(): void {
    if (this.sparingScheduled || this.shuttingDown) return;
    this.sparingScheduled = true;
    queueMicrotask(() => {
      this.sparingScheduled = false;
      void this.exclusive(async (messages) => {
        for (const volume of this.sortedVolumes()) {
          if (volume.state !== 'Degraded') continue;
          const chunkIndex = volume.record.chunks.findIndex((chunk) => chunk.state === 'Offline');
          const neededBytes = volume.record.dataOffsetBytes + volume.record.chunkDataSizeBytes;
          if (chunkIndex < 0) continue;
          const spare = this.hotSpares.takeFitting(neededBytes);
          if (spare === undefined) continue;
          messages.push({ type: 'warning', text: `${volume.record.deviceName} volume degraded, will attempt to rebuild on hotspare ${spare.chunk.name}` });
          try {
            await this.startRebuild(volume, chunkIndex, spare.chunk, messages);
          } catch (error) {
            if (!(error instanceof SoftraidError)) throw error;
            this.hotSpares.add(spare);
          }
        }
        return undefined;
      }).then((reply) => {
        for (const message of reply.messages) this.options.log?.(message);
      });
    });
  }

  private volumeEvent(event: VolumeEvent): void {
    this.emit({ name: event.name, device: event.device, member: event.member });
    if (event.name === 'Fail' || event.name === 'DegradedArray') this.scheduleSparing();
  }

  // ---- bookkeeping ----

  private async exclusive<T>(work: (messages: BioMessage[]) => Promise<T>): Promise<ControllerReply<T>> {
    // Refusals and member I/O errors (a disk failing while its metadata is written) are
    // operating errors: the request fails, the daemon lives on. So are volume I/O errors
    // (a volume that went Offline under the request). bio's replyOf maps them.
    const run = this.mutex.then(() => replyOf(work));
    this.mutex = run.catch(() => undefined);
    return run;
  }

  private async openAll(names: string[]): Promise<ChunkBackend[]> {
    const opened: ChunkBackend[] = [];
    try {
      for (const name of names) opened.push(await this.options.openChunk(name));
    } catch (error) {
      await closeAll(opened);
      throw error;
    }
    return opened;
  }

  private sortedVolumes(): Volume[] {
    return [...this.volumes.values()].sort((a, b) => deviceNumber(a.record.deviceName) - deviceNumber(b.record.deviceName));
  }

  keptDeviceNames(): KeptDeviceName[] {
    const kept = [...this.keptNames].map(([device, uuid]) => ({ device, uuid }));
    // An attached noauto volume is not assembled at the next start: its name is kept for it too.
    for (const volume of this.volumes.values()) {
      if (volume.record.noAutoAssemble) kept.push({ device: volume.record.deviceName, uuid: volume.record.uuid });
    }
    return kept.sort((a, b) => deviceNumber(a.device) - deviceNumber(b.device));
  }

  keepDeviceNames(names: readonly KeptDeviceName[]): void {
    for (const { device, uuid } of names) {
      if (/^sd\d+$/.test(device) && !this.volumes.has(device)) this.keptNames.set(device, uuid);
    }
  }

  private freeDeviceName(): string {
    for (let n = 0; n < volumeCountMax; n++) if (!this.volumes.has(`sd${n}`) && !this.keptNames.has(`sd${n}`)) return `sd${n}`;
    throw new SoftraidError(`too many volumes: at most ${volumeCountMax}`);
  }

  private volumeNamed(deviceName: string): Volume {
    const volume = this.volumes.get(deviceName);
    if (!volume) throw new SoftraidError(`invalid device ${deviceName}`);
    return volume;
  }

  private async chunkIndexByName(volume: Volume, chunkName: string): Promise<number> {
    const byName = volume.info().chunks.findIndex((chunk) => chunk.present && chunk.name === chunkName);
    if (byName >= 0) return byName;
    // Another path to the same storage (a symlink, /dev/disk/by-id/...).
    let probe: ChunkBackend;
    try {
      probe = await this.options.openChunk(chunkName);
    } catch (error) {
      if (!isOperatingError(error)) throw error;
      return -1;
    }
    await probe.close();
    return volume.record.chunks.findIndex((_, index) => volume.members.member(index)?.identity === probe.identity);
  }

  private owns(chunk: ChunkBackend): boolean {
    return [...this.volumes.values()].some((volume) => volume.record.chunks.some((_, index) => volume.members.member(index) === chunk))
      || this.hotSpares.holds(chunk);
  }

  private isInUse(identity: string): boolean {
    for (const volume of this.volumes.values()) {
      for (let index = 0; index < volume.record.chunkCount; index++) {
        if (volume.members.member(index)?.identity === identity) return true;
      }
    }
    return this.hotSpares.byIdentity(identity) !== undefined;
  }

  private async release(volume: Volume): Promise<void> {
    this.volumes.delete(volume.record.deviceName);
    const members = volume.record.chunks.map((_, index) => volume.members.member(index));
    await closeAll(members.filter((member): member is ChunkBackend => member !== null));
  }

  private view(volume: Volume, volumeIndex: number): VolumeView {
    const view = volumeView(volume.info(), volumeIndex, this.patrol.lastScrub(volume.record.uuid));
    const keyDisk = this.keyDiskNames.get(volume.record.uuid);
    return keyDisk === undefined ? view : { ...view, keyDisk: { name: keyDisk } };
  }

  // ---- CRYPTO and RAID 1C (encryption.ts) ----

  kdfHint(chunkNames: string[]): Promise<ControllerReply<KdfHintView>> {
    return this.exclusive(async () => {
      const chunks = await this.openAll(chunkNames);
      try {
        return await kdfHintOfChunks(chunks);
      } finally {
        await closeAll(chunks.filter((chunk) => !this.owns(chunk)));
      }
    });
  }

  changePassphrase(deviceName: string, change: PassphraseChange): Promise<ControllerReply> {
    return this.exclusive(async (messages) => {
      const volume = this.volumeNamed(deviceName);
      const vault = this.options.keyVault;
      const current = volume.keyArea;
      if (vault === undefined || current === null) throw new SoftraidError(`${deviceName} is not an encrypted volume`);
      const next = await changePassphrase(vault, current, change.oldPassphrase, change.newPassphrase, change.kdfRounds);
      await volume.replaceKeyArea(next);
      messages.push({ type: 'info', text: `${deviceName}: passphrase changed` });
      return undefined;
    });
  }

  private emit(event: ControllerEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }

  private notifyChanged(): void {
    for (const listener of this.changeListeners) listener();
  }
}

function deviceNumber(deviceName: string): number {
  return Number(deviceName.slice(2));
}

async function closeAll(chunks: readonly ChunkBackend[]): Promise<void> {
  await Promise.allSettled(chunks.map((chunk) => chunk.close()));
}
