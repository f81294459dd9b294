// What the status page shows, as one JSON document (GET /status.json, and
// each message of /status/stream): every controller's volumes with their
// member maps, background progress, recent I/O, the hot spares, the event
// log and the sensors, plus the bioctl commands an operator would run next
// (the page is read-only: it shows commands, it never changes anything).
// snake_case keys and integer bytes, as bioctl --json; documented in
// docs/status-page.md. Nothing secret is in it.
import type { Controller, HotSpareView, VolumeView } from '@openbsd38/bio/controller.js';
import { isRedundant, levelTable } from '@openbsd38/bio/levels.js';
import { bioSensors } from '@openbsd38/sensors/bio-sensors.js';
import { formatValue } from '@openbsd38/sensors/format.js';
import { sensorName, sortSensors, type Sensor } from '@openbsd38/sensors/sensor.js';
import type { EventLog } from './event-log.js';
import type { IoHistory } from './io-history.js';
import type { CommandHint, ControllerStatus, StatusDocument, VolumeStatus } from '../../status-page/status-types.js';

export const statusVersion: StatusDocument['status_version'] = 1;

export interface StatusSources {
  controllers(): readonly Controller[];
  ioHistory: IoHistory | null;
  eventLog: EventLog;
  /** The machine's own sensors (hwmon, thermal zones); the volumes' are added from the controllers. */
  machineSensors(): Promise<Sensor[]>;
  hostname: string;
  startedAtMs: number;
}

function volumeCommands(volume: VolumeView): CommandHint[] {
  const hints: CommandHint[] = [];
  const device = volume.deviceName;
  const lost = volume.chunks.filter((chunk) => chunk.state === 'Offline' || chunk.state === 'Failed');
  for (const chunk of lost) {
    hints.push({ label: `replace ${chunk.name === '' ? `the missing disk in slot ${chunk.chunkIndex}` : chunk.name}, then rebuild onto the new disk`, command: `bioctl -R NEWDISK ${device}` });
  }
  // A volume named with -H: softraid's pool serves every volume, md's spare belongs to the array named.
  if (lost.length > 0) hints.push({ label: 'or add a hot spare (the rebuild starts at once)', command: `bioctl -H NEWDISK ${device}` });
  if (volume.state === 'Scrubbing' || volume.progress?.operation === 'scrub') hints.push({ label: 'stop the scrub', command: `bioctl -t stop ${device}` });
  else if (volume.state === 'Online' && isRedundant(volume.level, volume.chunks.length)) hints.push({ label: 'check that every copy agrees (scrub)', command: `bioctl -t start ${device}` });
  if (volume.state === 'Online' && isRedundant(volume.level, volume.chunks.length)) hints.push({ label: 'take a disk out, to pull it', command: `bioctl -O DISK ${device}` });
  hints.push({ label: 'the same in a terminal', command: `bioctl -v ${device}` });
  return hints;
}

function volumeJson(volume: VolumeView, ioHistory: IoHistory | null): VolumeStatus {
  const progress = volume.progress;
  const scrub = volume.lastScrub ?? null;
  return {
    name: volume.deviceName,
    uuid: volume.uuid,
    level: volume.level,
    level_name: levelTable[volume.level].displayName,
    state: volume.state,
    size_bytes: volume.sizeBytes,
    strip_size_bytes: volume.stripSizeBytes,
    progress: progress === null ? null : {
      operation: progress.operation,
      percent: progress.percent,
      bytes_done: progress.bytesDone,
      bytes_total: progress.bytesTotal,
      rate_bytes_per_second: progress.rateBytesPerSecond,
      eta_seconds: progress.etaSeconds,
      ...(progress.operation === 'scrub' ? { repair: progress.repair ?? false, mismatch_sectors: progress.mismatchSectors ?? 0 } : {}),
      ...(progress.waiting === undefined ? {} : { waiting: progress.waiting }),
    },
    last_scrub: scrub === null ? null : {
      mode: scrub.repair ? 'repair' : 'check',
      status: scrub.status,
      reason: scrub.reason,
      started_at: scrub.startedAt,
      duration_seconds: scrub.durationSeconds,
      mismatch_sectors: scrub.mismatchSectors,
      repaired_sectors: scrub.repairedSectors,
      unreadable_bytes: scrub.unreadableRanges.reduce((sum, range) => sum + range.lengthBytes, 0),
    },
    members: volume.chunks.map((chunk) => ({
      slot: chunk.chunkIndex,
      name: chunk.name,
      state: chunk.state,
      size_bytes: chunk.sizeBytes,
      io_errors: chunk.ioErrors ?? null,
      flags: chunk.flags ?? [],
    })),
    io: ioHistory === null ? null : {
      interval_seconds: ioHistory.intervalMs / 1000,
      samples: ioHistory.of(volume.deviceName).map((sample) => ({
        at_ms: sample.atMs,
        read_bytes_per_second: Math.round(sample.readBytesPerSecond),
        write_bytes_per_second: Math.round(sample.writeBytesPerSecond),
        read_operations_per_second: round(sample.readOperationsPerSecond),
        write_operations_per_second: round(sample.writeOperationsPerSecond),
        read_latency_ms: sample.readLatencyMs === null ? null : round(sample.readLatencyMs),
        write_latency_ms: sample.writeLatencyMs === null ? null : round(sample.writeLatencyMs),
        errors: sample.errors,
      })),
    },
    commands: volumeCommands(volume),
    problem: volume.problem ?? null,
    extras: { ...(volume.extras ?? {}) },
  };
}

/** softraid's pool serves every volume; md keeps each array's spares with the array (and softraidd's pool serves md arrays too). */
function hasSparePool(controllerName: string): boolean {
  return controllerName !== 'md';
}

function controllerCommands(controllerName: string): CommandHint[] {
  const hints = [{ label: 'create a mirror', command: `bioctl -c 1 -l DISK,DISK ${controllerName}` }];
  if (hasSparePool(controllerName)) hints.push({ label: 'add a hot spare to the pool', command: `bioctl -H DISK ${controllerName}` });
  return hints;
}

function round(value: number): number {
  return Number(value.toPrecision(4));
}

function spareJson(spare: HotSpareView): ControllerStatus['hot_spares'][number] {
  return { name: spare.name, size_bytes: spare.sizeBytes };
}

export async function statusDocument(sources: StatusSources, nowMs = Date.now()): Promise<StatusDocument> {
  const inquiries = sources.controllers().map((controller) => controller.inquire());
  let machine: Sensor[] = [];
  let sensorsProblem: string | null = null;
  try {
    machine = await sources.machineSensors();
  } catch (error) {
    sensorsProblem = (error as Error).message;
  }
  const sensors = sortSensors([...machine, ...inquiries.flatMap((inquiry) => bioSensors(inquiry))]).filter((sensor) => sensor.invalid !== true);
  return {
    status_version: statusVersion,
    generated_at: new Date(nowMs).toISOString(),
    host: sources.hostname,
    started_at: new Date(sources.startedAtMs).toISOString(),
    controllers: inquiries.map((inquiry) => ({
      name: inquiry.controllerName,
      volumes: inquiry.volumes.map((volume) => volumeJson(volume, sources.ioHistory)),
      spare_pool: hasSparePool(inquiry.controllerName),
      hot_spares: inquiry.hotSpares.map(spareJson),
      commands: controllerCommands(inquiry.controllerName),
    })),
    events: sources.eventLog.newestFirst().map((event) => ({
      sequence: event.sequence,
      at: new Date(event.atMs).toISOString(),
      controller: event.controller,
      name: event.name,
      device: event.device,
      member: event.member ?? null,
    })),
    sensors: sensors.map((sensor) => ({
      name: sensorName(sensor),
      type: sensor.type,
      value: formatValue(sensor),
      description: sensor.description,
      status: sensor.status,
    })),
    sensors_problem: sensorsProblem,
  };
}
