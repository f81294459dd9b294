// The crash simulator's world (docs/RELIABILITY.md, "The simulator"): seeded
// random I/O on a RAID 1 or RAID 5 volume over fault-injecting memory chunks,
// crashes at arbitrary device operations (including in the middle of log
// replay, resync and rebuild) with torn writes, member failures and returns,
// clean restarts — every volume assembled by the real assembly code — against
// a reference model of what the volume owes its user:
//   mustMatch  the byte's last acknowledged value must be read back;
//   durable    it must also survive a crash (a flush completed after its
//              write was acknowledged, or the write was FUA).
// Bytes written but not durable may take any value after a crash, but from
// the first read on they must stay what was read (the model adopts them).
// After every step the data and the volume's state are checked, and during
// every step the ordering rules of docs/write-ordering.md are checked on the
// chunks' durable bytes as each data write reaches a device.
import assert from 'node:assert/strict';
import { MemoryChunk } from '../../src/chunk/memory.js';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { MetadataError, SoftraidError, VolumeIoError } from '../../src/engine/errors.js';
import { assembleVolume } from '../../src/engine/assembly/assemble.js';
import { createVolume } from '../../src/engine/assembly/create.js';
import { copyOffsetsBytes, copyBytesMax, dataOffsetBytesDefault, reservedRegionsDefault } from '../../src/engine/metadata/layout.js';
import { decodeMetadata } from '../../src/engine/metadata/codec.js';
import { bitmapCopyOffsetBytes, bitmapSlotBytes, decodeBitmapCopy } from '../../src/engine/metadata/write-intent.js';
import { readChunkMetadata, saveVolumeMetadata } from '../../src/engine/metadata/io.js';
import type { ChunkBackend } from '../../src/engine/chunk.js';
import { Volume } from '../../src/engine/volume/volume.js';
import { levelTable, type Raid5Layout } from '@openbsd38/bio/levels.js';
import { raid5ParityChunk } from '../../src/engine/disciplines/raid5-layout.js';
import { raid6PChunk, raid6QChunk } from '../../src/engine/disciplines/raid6-layout.js';
import type { ScrubResult } from '../../src/engine/volume/scrub.js';
import type { VolumeRecord } from '../../src/engine/metadata/record.js';
import { checkRedundancy } from './consistency.js';
import { FakeClock, isEncrypted, openSimKeys, randomBytes, simKeySource, simVault } from './harness.js';
import { newVolumeKeys } from '../../src/engine/crypto/keying.js';

export interface SimConfig {
  level: 'raid1' | 'raid1c' | 'raid5' | 'raid6';
  chunkCount: number;
  layout?: Raid5Layout;
  stripSizeBytes?: number;
  chunkDataSizeBytes: number;
}

export interface SimStats {
  steps: number;
  crashes: number;
  tornCrashes: number;
  cleanRestarts: number;
  memberFailures: number;
  partialRebuilds: number;
  fullRebuilds: number;
  dirtyDegradedAssemblies: number;
  orderingChecks: number;
  resyncedRegions: number;
  pplRecordsReplayed: number;
  bytesChecked: number;
  /** RAID 5: partial rows of concurrent sequential writes merged into whole rows. */
  rowsGathered: number;
  /** Write-zeroes requests among the writes. */
  zeroWrites: number;
  /** Scrubs started (check or repair) while writes ran, and those that ran to their end. */
  scrubs: number;
  scrubsFinished: number;
  /** RAID 5 and 6: parity sectors damaged on purpose before a repair scrub, and repaired by it. */
  paritySectorsDamaged: number;
  paritySectorsRepaired: number;
}

export function emptyStats(): SimStats {
  return { steps: 0, crashes: 0, tornCrashes: 0, cleanRestarts: 0, memberFailures: 0, partialRebuilds: 0, fullRebuilds: 0,
    dirtyDegradedAssemblies: 0, orderingChecks: 0, resyncedRegions: 0, pplRecordsReplayed: 0, bytesChecked: 0,
    rowsGathered: 0, zeroWrites: 0, scrubs: 0, scrubsFinished: 0, paritySectorsDamaged: 0, paritySectorsRepaired: 0 };
}

/** What runs must have done for their silence to mean something (an empty list: enough). */
export function quietProblems(totals: SimStats, configs: readonly SimConfig[]): string[] {
  const problems: string[] = [];
  const need = (what: keyof SimStats, label: string): void => {
    if (totals[what] === 0) problems.push(`no ${label}`);
  };
  need('crashes', 'crash injected');
  need('tornCrashes', 'crash with torn writes');
  need('memberFailures', 'member failure');
  need('orderingChecks', 'ordering check');
  need('bytesChecked', 'byte read back and compared');
  need('cleanRestarts', 'clean restart');
  if (totals.partialRebuilds + totals.fullRebuilds === 0) problems.push('no rebuild');
  if (configs.some((config) => config.level === 'raid5' || config.level === 'raid6')) {
    need('dirtyDegradedAssemblies', 'dirty and degraded assembly');
    need('pplRecordsReplayed', 'partial parity log record replayed');
  }
  return problems;
}

export function describeConfig(config: SimConfig): string {
  return `${config.level} n=${config.chunkCount}${config.layout ? ` ${config.layout}` : ''}${config.stripSizeBytes ? ` strip=${config.stripSizeBytes}` : ''}`;
}

const pieceBytes = 64 * 1024;

export class CrashWorld {
  readonly random: () => number;
  readonly clock = new FakeClock();
  readonly disks: MemoryChunk[];
  /** Disks not listed at the next assembly (pulled). */
  readonly absent = new Set<number>();
  volume!: Volume;
  record!: VolumeRecord;
  private expected!: Uint8Array;
  private mustMatch!: Uint8Array;
  private durable!: Uint8Array;
  private crashAfterOperations = -1;
  private crashTornRate = 0;
  private crashSignal: (() => void) | null = null;
  private crashed = false;
  /** Bumped by every crash: completions of an earlier life are not seen by the user. */
  private life = 0;
  private writesThisBoot = 0;
  /** Set while parity damaged on purpose (scrubStep) is on the disks. */
  private undoDamage: (() => void) | null = null;
  readonly stats = emptyStats();
  readonly log: string[] = [];

  constructor(readonly config: SimConfig, readonly seed: number) {
    this.random = seededRandom(seed);
    this.disks = Array.from({ length: config.chunkCount }, (_, index) => this.newDisk(`d${index}`));
  }

  private newDisk(name: string): MemoryChunk {
    const disk = new MemoryChunk(name, dataOffsetBytesDefault + this.config.chunkDataSizeBytes, seededRandom(this.seed ^ name.length ^ this.random() * 1e9));
    disk.trackDirtyPages = true;
    disk.beforeOperation = (operation, offsetBytes, lengthBytes) => this.beforeOperation(disk, operation, offsetBytes, lengthBytes);
    return disk;
  }

  private note(text: string): void {
    this.log.push(text);
    if (this.log.length > 40) this.log.shift();
  }

  async create(): Promise<void> {
    const random = seededRandom(this.seed ^ 0x5eed);
    await createVolume({
      level: this.config.level,
      ...(this.config.layout ? { layout: this.config.layout } : {}),
      ...(this.config.stripSizeBytes ? { stripSizeBytes: this.config.stripSizeBytes } : {}),
      chunks: this.disks.map((disk) => disk.handle()),
      deviceName: 'sd0', noAutoAssemble: false, force: false, chunksInUse: () => false,
      random: (bytes) => { for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256); },
      ...(isEncrypted(this.config.level) ? { newKeys: async (uuid: string) => newVolumeKeys(simVault, uuid, simKeySource) } : {}),
    }).then((created) => created.encryption?.cipher.destroy());
    for (const disk of this.disks) await disk.flush();
    await this.boot();
    // Encrypted levels: the chunks' zeroes are no sector's ciphertext; the volume starts as written zeroes.
    if (isEncrypted(this.config.level)) {
      await this.volume.writeZeroes(0, this.volume.sizeBytes, { fua: true, mayTrim: false });
      for (const disk of this.disks) await disk.flush();
    }
    this.expected = new Uint8Array(this.volume.sizeBytes);
    this.mustMatch = new Uint8Array(this.volume.sizeBytes).fill(1);
    this.durable = new Uint8Array(this.volume.sizeBytes).fill(1);
  }

  /** Assembly through the real code from the disks present, then the volume as the controller opens it. */
  async boot(): Promise<void> {
    // As the controller's scan does: a disk without metadata (a replacement that crashed before its first
    // save) is not listed, nor one whose every copy is corrupt (a replacement whose first save was
    // torn: nothing else on it was ever valid); the scan warns and assembles without it.
    const listed: ChunkBackend[] = [];
    for (const [index, disk] of this.disks.entries()) {
      if (this.absent.has(index)) continue;
      const handle = disk.handle();
      let found;
      try {
        found = await readChunkMetadata(handle);
      } catch (error) {
        if (!(error instanceof MetadataError)) throw error;
        this.note(`${disk.name} ignored at boot: ${error.message}`);
        continue;
      }
      if (found !== null) listed.push(handle);
    }
    const assembled = await assembleVolume(listed, { chunksInUse: () => false });
    this.record = assembled.record;
    if (assembled.record.dirty && assembled.members.includes(null)) this.stats.dirtyDegradedAssemblies++;
    const limits = {
      rebuildPieceBytes: 16 * 1024,
      rebuildRateBytesPerSecondMin: 64 * 1024 * 1024,
      rebuildRateBytesPerSecondMax: 256 * 1024 * 1024,
      bitmapCleanAfterMs: this.random() < 0.5 ? 0 : 50,
      pplPieceBytesMax: this.random() < 0.5 ? 64 * 1024 : 8 * 1024,
      // Small volumes: the format's finest regions, so that crashes leave many regions to tell apart.
      writeIntentRegionBytesAtLeast: 64 * 1024,
    };
    this.writesThisBoot = 0;
    const encryption = await openSimKeys(this.record, assembled.members);
    this.volume = new Volume(this.record, assembled.members,
      { saveMetadata: saveVolumeMetadata, onEvent: () => {}, clock: this.clock, ...(encryption ? { encryption } : {}) }, limits);
    assert.notEqual(this.volume.state, 'Offline', 'a volume within its tolerance assembles');
    // As the controller: running means dirty, then resume rebuild and resync.
    this.record.dirty = true;
    await this.volume.members.persist();
    this.volume.resumeRebuild();
  }

  // ---- crash injection ----

  /** Arms a crash at the n-th device operation from now. */
  private arm(operations: number, tornRate: number): Promise<void> {
    this.crashAfterOperations = operations;
    this.crashTornRate = tornRate;
    return new Promise((resolve) => { this.crashSignal = resolve; });
  }

  private disarm(): void {
    this.crashAfterOperations = -1;
    this.crashSignal = null;
  }

  private beforeOperation(disk: MemoryChunk, operation: string, offsetBytes: number, lengthBytes: number): void {
    if (this.crashAfterOperations > 0 && --this.crashAfterOperations === 0) {
      this.crashNow();
      return;
    }
    if (operation === 'write' && offsetBytes >= dataOffsetBytesDefault && !disk.disappeared) this.checkOrdering(disk, offsetBytes - dataOffsetBytesDefault, lengthBytes);
  }

  private crashNow(): void {
    this.crashed = true;
    this.life++;
    for (const disk of this.disks) disk.crash(this.crashTornRate);
    const signal = this.crashSignal;
    this.disarm();
    signal?.();
  }

  /**
   * docs/write-ordering.md, rules 1 and 2, on what is durable when a data
   * write reaches a chunk: the metadata of every Online member says dirty,
   * and its write-intent bitmap has the bit of this region set.
   */
  private checkOrdering(disk: MemoryChunk, chunkOffsetBytes: number, lengthBytes: number): void {
    const chunkIndex = this.disks.indexOf(disk);
    const record = this.volume.record;
    if (record.chunks[chunkIndex]?.state !== 'Online') return; // rebuild pieces go to a Rebuild chunk only
    const regionBytes = record.writeIntentRegionBytes ?? 0;
    assert.ok(regionBytes > 0, 'a redundant volume records its write-intent region size');
    const firstBit = Math.floor(chunkOffsetBytes / regionBytes);
    const endBit = Math.ceil((chunkOffsetBytes + lengthBytes) / regionBytes);
    record.chunks.forEach((chunk, index) => {
      if (chunk.state !== 'Online' || this.volume.members.member(index) === null) return;
      const member = this.disks[index]!;
      if (member.disappeared || member.faults.writeErrorRate) return;
      this.stats.orderingChecks++;
      let dirty = false;
      let best = -1;
      for (const offset of copyOffsetsBytes) {
        try {
          const decoded = decodeMetadata(member.durable.subarray(offset, offset + copyBytesMax), member.name);
          if (decoded.status === 'found' && decoded.record.eventCounter > best) {
            best = decoded.record.eventCounter;
            dirty = decoded.record.dirty;
          }
        } catch {
          // a torn copy: the other decides
        }
      }
      assert.ok(dirty, `ordering: data write to ${disk.name} at ${chunkOffsetBytes} before ${member.name}'s metadata says dirty`);
      const region = reservedRegionsDefault.bitmap;
      let bits: Uint8Array | null = null;
      let sequence = -1;
      for (let copy = 0; copy < 2; copy++) {
        const start = bitmapCopyOffsetBytes(region, copy);
        const decoded = decodeBitmapCopy(member.durable.subarray(start, start + bitmapSlotBytes(region)), record.uuid);
        if (decoded !== null && decoded.sequence > sequence) {
          sequence = decoded.sequence;
          bits = decoded.bits;
        }
      }
      for (let bit = firstBit; bit < endBit; bit++) {
        assert.ok(bits !== null && (bits[bit >> 3]! & (1 << (bit & 7))) !== 0,
          `ordering: data write to ${disk.name} at chunk byte ${chunkOffsetBytes} before bit ${bit} is durable on ${member.name}`);
      }
    });
  }

  /** Runs `work` with a crash possibly armed; resolves true when the crash fired (work abandoned). */
  private async underCrash(work: () => Promise<unknown>, crashProbability: number): Promise<boolean> {
    const armed = this.random() < crashProbability;
    const tornRate = [0, 0.05, 0.5, 1][Math.floor(this.random() * 4)]!;
    const crashed = armed ? this.arm(1 + Math.floor(this.random() * 120), tornRate) : new Promise<void>(() => {});
    this.crashed = false;
    const outcome = await Promise.race([work().then(() => 'done' as const), crashed.then(() => 'crashed' as const)]);
    this.disarm();
    if (outcome === 'crashed' || this.crashed) {
      // Bit rot planted for a scrub stands for nothing a crash did: gone before the next boot reads it.
      this.undoDamage?.();
      this.undoDamage = null;
      this.stats.crashes++;
      if (tornRate > 0) this.stats.tornCrashes++;
      this.note(`crash (torn ${tornRate})`);
      await this.afterCrash();
      return true;
    }
    return false;
  }

  private async afterCrash(): Promise<void> {
    // Whatever was not durable may be anything now.
    for (let i = 0; i < this.durable.length; i++) if (this.durable[i] === 0) this.mustMatch[i] = 0;
    // Failed disks come back for assembly (their metadata is stale); sometimes one is pulled.
    for (const disk of this.disks) {
      disk.faults = {};
      disk.disappeared = false;
    }
    this.absent.clear();
    // Only when every disk's durable metadata says so: the volume's record in
    // memory may be ahead of what a crash let reach the disks (a save torn
    // after the rebuild's end, say), and a disk pulled then could take the
    // only copy that says the rebuild finished.
    let allOnline = true;
    for (const disk of this.disks) {
      const found = await readChunkMetadata(disk.handle()).catch(() => null);
      if (found === null || !found.record.chunks.every((chunk) => chunk.state === 'Online')) allOnline = false;
    }
    if (allOnline && this.random() < 0.3) {
      const index = Math.floor(this.random() * this.disks.length);
      this.absent.add(index);
      this.note(`disk ${index} pulled at boot`);
    }
    const written = this.writesThisBoot > 0;
    await this.boot();
    // md's safe mode: the dirty flag is saved before the first write, not at assembly.
    if (written && !this.volume.recovery.dirtyAtAssembly) assert.fail('a volume that crashed after a write assembles dirty');
  }

  // ---- steps ----

  async step(): Promise<void> {
    this.stats.steps++;
    const pick = this.random();
    if (pick < 0.52) await this.batchStep();
    else if (pick < 0.67) await this.flushStep();
    else if (pick < 0.75) await this.failStep();
    else if (pick < 0.85) await this.readdStep();
    else if (pick < 0.91) await this.backgroundStep();
    else if (pick < 0.95) await this.scrubStep();
    else await this.restartStep();
    await this.check();
  }

  private randomRange(): { offsetBytes: number; lengthBytes: number } {
    const size = this.volume.sizeBytes;
    const strip = this.config.stripSizeBytes ?? 4096;
    const row = this.config.level === 'raid5' ? strip * (this.config.chunkCount - 1)
      : this.config.level === 'raid6' ? strip * (this.config.chunkCount - 2) : 4 * strip;
    const windowBytes = this.random() < 0.7 ? Math.min(size, 4 * row) : size;
    const base = Math.floor(this.random() * (size / windowBytes)) * windowBytes;
    const pick = this.random();
    let offsetBytes = base + Math.floor(this.random() * windowBytes);
    let lengthBytes = 1 + Math.floor(this.random() * 2048);
    if (pick < 0.3) {
      offsetBytes = base + Math.floor(this.random() * (windowBytes / 512)) * 512;
      lengthBytes = 512 * (1 + Math.floor(this.random() * 16));
    } else if (pick < 0.45) {
      offsetBytes = base + Math.floor(this.random() * (windowBytes / row)) * row;
      lengthBytes = row * (1 + Math.floor(this.random() * 2));
    } else if (pick < 0.6) {
      lengthBytes = 1 + Math.floor(this.random() * 3 * row);
    }
    offsetBytes = Math.min(offsetBytes, size - 1);
    lengthBytes = Math.max(1, Math.min(lengthBytes, size - offsetBytes));
    // Encrypted levels take whole sectors only.
    if (isEncrypted(this.config.level)) {
      offsetBytes -= offsetBytes % 512;
      lengthBytes = Math.min(size - offsetBytes, Math.ceil(lengthBytes / 512) * 512);
    }
    return { offsetBytes, lengthBytes };
  }

  /**
   * Up to six requests at once on disjoint ranges (writes, some FUA, some
   * write-zeroes, and reads); one batch in four is a sequential stream of
   * writes, each starting where the one before ended (RAID 5 gathers their
   * shared partial rows into whole ones). Perhaps cut by a crash.
   */
  private async batchStep(): Promise<void> {
    const work = this.batchWork([]);
    const gathering = this.volume.writeGathering;
    const gatheredBefore = gathering?.rowsCompleted ?? 0;
    await this.underCrash(() => Promise.all(work.map((run) => run())), 0.25);
    // A crash replaces the volume: only a batch that completed adds its figure.
    if (gathering !== null && this.volume.writeGathering === gathering) this.stats.rowsGathered += gathering.rowsCompleted - gatheredBefore;
  }

  /** The requests of one batch, none overlapping another or any of `avoid`. */
  private batchWork(avoid: readonly { offsetBytes: number; lengthBytes: number }[]): (() => Promise<void>)[] {
    const count = 1 + Math.floor(this.random() * 6);
    const stream = this.random() < 0.25 ? { at: this.randomRange().offsetBytes } : null;
    const taken = [...avoid];
    const overlaps = (a: { offsetBytes: number; lengthBytes: number }): boolean =>
      taken.some((b) => a.offsetBytes < b.offsetBytes + b.lengthBytes && b.offsetBytes < a.offsetBytes + a.lengthBytes);
    const work: (() => Promise<void>)[] = [];
    for (let r = 0; r < count; r++) {
      let range = this.randomRange();
      if (stream !== null) {
        range = { offsetBytes: stream.at, lengthBytes: Math.min(range.lengthBytes, this.volume.sizeBytes - stream.at) };
        if (range.lengthBytes <= 0) break;
        stream.at += range.lengthBytes;
      }
      if (overlaps(range)) continue;
      taken.push(range);
      const { offsetBytes, lengthBytes } = range;
      if (stream !== null || this.random() < 0.6) {
        const zeroes = stream === null && this.random() < 0.1;
        const data = zeroes ? new Uint8Array(lengthBytes) : randomBytes(this.random, lengthBytes);
        const fua = this.random() < 0.15;
        this.mustMatch.fill(0, offsetBytes, offsetBytes + lengthBytes);
        this.durable.fill(0, offsetBytes, offsetBytes + lengthBytes);
        const life = this.life;
        if (zeroes) this.stats.zeroWrites++;
        work.push(async () => {
          if (zeroes) await this.volume.writeZeroes(offsetBytes, lengthBytes, { fua, mayTrim: this.random() < 0.5 });
          else await this.volume.write(offsetBytes, data, { fua });
          this.writesThisBoot++;
          // An acknowledgement that arrives after the crash never reached the user.
          if (life !== this.life) return;
          this.expected.set(data, offsetBytes);
          this.mustMatch.fill(1, offsetBytes, offsetBytes + lengthBytes);
          if (fua) this.durable.fill(1, offsetBytes, offsetBytes + lengthBytes);
        });
      } else {
        work.push(() => this.readAndCheck(offsetBytes, lengthBytes));
      }
    }
    return work;
  }

  /**
   * A scrub while a batch of requests runs, perhaps cut by a crash. A check
   * of a consistent volume must find nothing, whatever the writes do around
   * it (they share the range lock). A RAID 5 repair first meets parity
   * sectors damaged on purpose, in rows the writes leave alone, and must
   * count and fix exactly those; damage a crash or a refusal leaves behind
   * is undone (it stands for bit rot, not for anything a crash did).
   */
  private async scrubStep(): Promise<void> {
    if (this.volume.state !== 'Online' || !this.idle()) return;
    const repair = this.random() < 0.5;
    const damaged = new Map<string, { disk: MemoryChunk; atBytes: number; original: Uint8Array }>();
    const avoid: { offsetBytes: number; lengthBytes: number }[] = [];
    const strip = this.config.stripSizeBytes ?? 0;
    if (repair && (this.config.level === 'raid5' || this.config.level === 'raid6')) {
      const rowBytes = strip * (this.config.chunkCount - (this.config.level === 'raid6' ? 2 : 1));
      const rows = Math.floor(this.volume.sizeBytes / rowBytes);
      for (let k = 1 + Math.floor(this.random() * 3); k > 0; k--) {
        const row = Math.floor(this.random() * rows);
        const sector = Math.floor(this.random() * (strip / 512));
        // RAID 6: P or Q (the scrub tells which from the two syndromes).
        const disk = this.disks[this.config.level === 'raid5' ? raid5ParityChunk(row, this.config.chunkCount)
          : this.random() < 0.5 ? raid6PChunk(row, this.config.chunkCount) : raid6QChunk(row, this.config.chunkCount)]!;
        const atBytes = dataOffsetBytesDefault + row * strip + sector * 512;
        avoid.push({ offsetBytes: row * rowBytes, lengthBytes: rowBytes });
        // A sector holding an unflushed write is left alone: undoing damage there could not say which value to restore.
        const unflushed = disk.durable.subarray(atBytes, atBytes + 512).some((byte, i) => byte !== disk.current[atBytes + i]);
        if (damaged.has(`${row}:${sector}`) || unflushed) continue;
        damaged.set(`${row}:${sector}`, { disk, atBytes, original: disk.durable.slice(atBytes, atBytes + 512) });
        const rot = randomBytes(this.random, 512);
        rot[0] = disk.durable[atBytes]! ^ 0xff; // never the same bytes
        disk.durable.set(rot, atBytes);
        disk.current.set(rot, atBytes);
      }
    }
    const undoDamage = (): void => {
      for (const { disk, atBytes, original } of damaged.values()) {
        disk.durable.set(original, atBytes);
        disk.current.set(original, atBytes);
      }
    };
    let scrub: { finished: Promise<ScrubResult> };
    try {
      scrub = this.volume.startScrub({ repair });
    } catch (error) {
      undoDamage();
      if (error instanceof SoftraidError) return; // refused (a resync due, say): nothing ran
      throw error;
    }
    this.undoDamage = undoDamage;
    this.stats.scrubs++;
    this.stats.paritySectorsDamaged += damaged.size;
    this.note(`scrub (${repair ? `repair, ${damaged.size} parity sectors damaged` : 'check'})`);
    const work = this.batchWork(avoid);
    let result: ScrubResult | null = null;
    const crashed = await this.underCrash(() => Promise.all([scrub.finished.then((outcome) => { result = outcome; }), ...work.map((run) => run())]), 0.25);
    this.undoDamage = null;
    const outcome = result as ScrubResult | null;
    if (crashed || outcome === null || outcome.status !== 'finished') {
      if (!crashed) undoDamage();
      return;
    }
    this.stats.scrubsFinished++;
    assert.equal(outcome.mediaErrorSectors, 0, 'scrub: no media errors injected');
    assert.equal(outcome.mismatchSectors, damaged.size, `scrub ${repair ? 'repair' : 'check'} found ${outcome.mismatchSectors} mismatched sectors, ${damaged.size} damaged; recent: ${this.log.join('; ')}`);
    if (repair) {
      assert.equal(outcome.repairedSectors, damaged.size, 'scrub repair fixed every damaged sector');
      this.stats.paritySectorsRepaired += outcome.repairedSectors;
      for (const { disk, atBytes, original } of damaged.values()) {
        assert.deepEqual(disk.current.subarray(atBytes, atBytes + 512), original, 'scrub repair rewrote the parity the data implies');
      }
    }
  }

  /** Nothing pending: no rebuild, resync or scrub running, and no region left to resync. */
  private idle(): boolean {
    const bitmap = this.volume.writeIntent;
    return this.volume.info().progress === null && bitmap !== null
      && bitmap.pendingBits({ firstBit: 0, endBit: bitmap.bitCount }).length === 0;
  }

  private async flushStep(): Promise<void> {
    const crashed = await this.underCrash(() => this.volume.flush(), 0.2);
    if (!crashed) {
      for (let i = 0; i < this.durable.length; i++) if (this.mustMatch[i] === 1) this.durable[i] = 1;
    }
  }

  /** A member fails: I/O errors or gone; within tolerance (one chunk away at a time). */
  private async failStep(): Promise<void> {
    const away = this.disks.filter((disk, index) => disk.disappeared || disk.faults.writeErrorRate !== undefined
      || this.volume.record.chunks[index]!.state !== 'Online').length;
    // RAID 6 loses a second member while the first is away.
    if (away >= (this.config.level === 'raid6' ? 2 : 1)) return;
    const index = Math.floor(this.random() * this.disks.length);
    const disk = this.disks[index]!;
    if (this.random() < 0.5) disk.disappeared = true;
    else disk.faults = { readErrorRate: 1, writeErrorRate: 1 };
    this.stats.memberFailures++;
    this.note(`disk ${index} fails`);
  }

  /** The Offline member returns (the same disk: a partial rebuild) or is replaced (a new disk: full rebuild). */
  private async readdStep(): Promise<void> {
    const chunkIndex = this.volume.record.chunks.findIndex((chunk) => chunk.state === 'Offline');
    if (chunkIndex < 0 || this.volume.state !== 'Degraded') return;
    let disk = this.disks[chunkIndex]!;
    disk.faults = {};
    disk.disappeared = false;
    this.absent.delete(chunkIndex);
    if (this.random() < 0.3) {
      disk = this.newDisk(`n${chunkIndex}-${this.stats.steps}`);
      this.disks[chunkIndex] = disk;
    }
    const crashed = await this.underCrash(async () => {
      const handle = await this.volume.startRebuild(chunkIndex, disk.handle());
      if (handle.partial) this.stats.partialRebuilds++;
      else this.stats.fullRebuilds++;
      this.note(`rebuild of ${chunkIndex} on ${disk.name} (${handle.partial ? 'partial' : 'full'})`);
      const outcome = await handle.finished;
      assert.equal(outcome.status, 'finished', `rebuild ${JSON.stringify(outcome)}`);
    }, 0.3);
    if (!crashed) assert.equal(this.volume.record.chunks[chunkIndex]!.state, 'Online', 'a finished rebuild leaves the chunk Online');
  }

  /** Lets log replay, resync and rebuild run to their end (maybe crashing in them). */
  private async backgroundStep(): Promise<void> {
    await this.underCrash(async () => {
      const handle = this.volume.resumeResync();
      if (handle) {
        const outcome = await handle.finished;
        if (outcome.status === 'finished') this.stats.resyncedRegions += outcome.regions;
      }
    }, 0.3);
    this.stats.pplRecordsReplayed += this.volume.recovery.partialParityLog?.recordsApplied ?? 0;
  }

  /** A clean shutdown and reassembly: nothing to resync afterwards. */
  private async restartStep(): Promise<void> {
    await this.volume.close({ clean: true });
    for (let i = 0; i < this.durable.length; i++) if (this.mustMatch[i] === 1) this.durable[i] = 1;
    const resyncLeft = this.record.dirty;
    for (const disk of this.disks) {
      disk.faults = {};
      disk.disappeared = false;
    }
    this.stats.cleanRestarts++;
    this.note('clean restart');
    await this.boot();
    if (!resyncLeft) assert.equal(this.volume.recovery.dirtyAtAssembly, false, 'a clean shutdown assembles clean');
  }

  private async readAndCheck(offsetBytes: number, lengthBytes: number): Promise<void> {
    const into = new Uint8Array(lengthBytes);
    const life = this.life;
    await this.volume.read(offsetBytes, into);
    if (life !== this.life) return;
    this.stats.bytesChecked += lengthBytes;
    for (let i = 0; i < lengthBytes; i++) {
      const at = offsetBytes + i;
      if (this.mustMatch[at] === 1) {
        if (into[i] !== this.expected[at]) {
          const mirrors = this.config.level === 'raid1' || this.config.level === 'raid1c'
            ? ` mirrors ${this.disks.map((disk) => `${disk.name}=${disk.current[dataOffsetBytesDefault + at]}`).join(' ')} states ${this.volume.record.chunks.map((chunk) => chunk.state).join(',')}` : '';
          assert.fail(`volume byte ${at} reads ${into[i]}, expected ${this.expected[at]} (durable: ${this.durable[at]})${mirrors}; recent: ${this.log.join('; ')}`);
        }
      } else {
        this.expected[at] = into[i]!;
        this.mustMatch[at] = 1;
      }
    }
  }

  /** After every step: state within tolerance, a random range (and sometimes everything) reads back right. */
  private async check(): Promise<void> {
    const tolerated = levelTable[this.config.level].toleratedMissing(this.config.chunkCount);
    const away = this.volume.record.chunks.filter((chunk) => chunk.state !== 'Online').length;
    assert.notEqual(this.volume.state, 'Offline', `volume went Offline with ${away} chunks away (tolerates ${tolerated})`);
    assert.equal(this.volume.state === 'Online', away === 0, `volume state ${this.volume.state} with ${away} chunks away`);
    const whole = this.random() < 0.2;
    const crashed = await this.underCrash(async () => {
      if (whole) {
        for (let offset = 0; offset < this.volume.sizeBytes; offset += pieceBytes) {
          await this.readAndCheck(offset, Math.min(pieceBytes, this.volume.sizeBytes - offset));
        }
      } else {
        const { offsetBytes, lengthBytes } = this.randomRange();
        await this.readAndCheck(offsetBytes, lengthBytes);
      }
    }, 0.05);
    if (crashed) return;
    // With every chunk Online and nothing pending, mirrors and parity agree byte for byte.
    if (this.idle() && away === 0) {
      assert.equal(checkRedundancy(this.volume.record, this.disks), null, `redundancy after step; recent: ${this.log.join('; ')}`);
    }
  }

  /** The end of a run: everything settles, one last crash-free check of every byte. */
  async finish(): Promise<void> {
    const handle = this.volume.resumeResync();
    if (handle) await handle.finished;
    for (let offset = 0; offset < this.volume.sizeBytes; offset += pieceBytes) {
      await this.readAndCheck(offset, Math.min(pieceBytes, this.volume.sizeBytes - offset));
    }
  }
}

export async function runSimulation(config: SimConfig, seed: number, steps: number): Promise<SimStats> {
  const world = new CrashWorld(config, seed);
  await world.create();
  try {
    for (let step = 0; step < steps; step++) await world.step();
    await world.finish();
  } catch (error) {
    if (error instanceof VolumeIoError) throw new Error(`unexpected I/O error: ${error.message}; recent: ${world.log.join('; ')}`, { cause: error });
    throw error;
  }
  return world.stats;
}
