// softraidd's Prometheus metrics, computed from the controller at every
// scrape. node_exporter's md metrics under their own names, so dashboards
// and alerts written for md arrays work on softraid volumes unchanged:
//
//   node_md_state{device,state}   1 for the volume's state: active (Online,
//                                 Degraded), recovering (Rebuild), resync
//                                 (Building), check (Scrubbing), inactive (Offline)
//   node_md_disks{device,state}   members active / failed / spare (a member
//                                 being rebuilt counts as spare, as in md)
//   node_md_disks_required, node_md_degraded, node_md_blocks, node_md_blocks_synced
//
// and what node_exporter lacks: background progress as a ratio with its
// rate and time remaining, the last scrub's findings and time, each
// member's state and I/O errors, the hot-spare pool, and every sensor (sensors package)
// with its status.
import { Gauge, Registry } from 'prom-client';
import type { Controller, VolumeView } from '@openbsd38/bio/controller.js';
import { parityKernel } from '../../engine/parity/index.js';
import { baseUnitValue } from '@openbsd38/sensors/base-units.js';
import { bioSensors } from '@openbsd38/sensors/bio-sensors.js';
import { machineSensors } from '@openbsd38/sensors/hwmon.js';
import { sensorName, sortSensors, type Sensor } from '@openbsd38/sensors/sensor.js';

const mdStates = ['active', 'inactive', 'recovering', 'resync', 'check'] as const;

function mdState(volume: VolumeView): (typeof mdStates)[number] {
  switch (volume.state) {
    case 'Offline': return 'inactive';
    case 'Rebuild': return 'recovering';
    case 'Building': return 'resync';
    case 'Scrubbing': return 'check';
    default: return volume.progress?.operation === 'resync' ? 'resync' : 'active';
  }
}

export interface MetricsSources {
  controller: Controller;
  /** Where hwmon and thermal zones are read (SOFTRAID_SYSFS_ROOT). */
  sysfsRoot: string;
}

export function createMetricsRegistry(sources: MetricsSources): Registry {
  const registry = new Registry();
  const { controller } = sources;
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], collect: (g: Gauge<L>) => void | Promise<void>): void => {
    new Gauge<L>({ name, help, labelNames, registers: [registry], async collect() { this.reset(); await collect(this); } });
  };
  const volumes = (): VolumeView[] => controller.inquire().volumes;

  gauge('node_md_state', 'Indicates the state of the md device (softraid volume).', ['device', 'state'], (g) => {
    for (const volume of volumes()) for (const state of mdStates) g.set({ device: volume.deviceName, state }, mdState(volume) === state ? 1 : 0);
  });
  gauge('node_md_disks', 'Number of active/failed/spare disks of the device.', ['device', 'state'], (g) => {
    for (const volume of volumes()) {
      const count = (states: readonly string[]): number => volume.chunks.filter((chunk) => states.includes(chunk.state)).length;
      g.set({ device: volume.deviceName, state: 'active' }, count(['Online', 'Scrubbing']));
      g.set({ device: volume.deviceName, state: 'failed' }, count(['Offline', 'Failed']));
      g.set({ device: volume.deviceName, state: 'spare' }, count(['Rebuild', 'Hot spare']));
    }
  });
  gauge('node_md_disks_required', 'Total number of disks of the device.', ['device'], (g) => {
    for (const volume of volumes()) g.set({ device: volume.deviceName }, volume.chunks.length);
  });
  gauge('node_md_degraded', 'Number of degraded disks on the device.', ['device'], (g) => {
    for (const volume of volumes()) g.set({ device: volume.deviceName }, volume.chunks.filter((chunk) => chunk.state !== 'Online' && chunk.state !== 'Scrubbing').length);
  });
  gauge('node_md_blocks', 'Total number of 1 KiB blocks on the device.', ['device'], (g) => {
    for (const volume of volumes()) g.set({ device: volume.deviceName }, Math.floor(volume.sizeBytes / 1024));
  });
  gauge('node_md_blocks_synced', 'Number of 1 KiB blocks synced on the device.', ['device'], (g) => {
    for (const volume of volumes()) {
      const blocks = Math.floor(volume.sizeBytes / 1024);
      const progress = volume.progress;
      const syncing = progress !== null && (progress.operation === 'rebuild' || progress.operation === 'resync');
      g.set({ device: volume.deviceName }, syncing && progress.bytesTotal > 0 ? Math.floor(blocks * (progress.bytesDone / progress.bytesTotal)) : blocks);
    }
  });
  gauge('softraid_parity_kernel_info', 'The parity kernels this softraidd runs: wasm-relaxed-simd, wasm-simd or js.', ['kernel'], (g) => {
    g.set({ kernel: parityKernel }, 1);
  });
  gauge('softraid_volume_info', 'A softraid volume: its level and UUID.', ['device', 'level', 'uuid', 'controller'], (g) => {
    for (const volume of volumes()) g.set({ device: volume.deviceName, level: volume.level, uuid: volume.uuid, controller: controller.controllerName }, 1);
  });
  gauge('softraid_volume_size_bytes', 'Size of the volume in bytes.', ['device'], (g) => {
    for (const volume of volumes()) g.set({ device: volume.deviceName }, volume.sizeBytes);
  });
  gauge('softraid_volume_progress_ratio', 'Rebuild, resync or scrub progress, 0 to 1.', ['device', 'operation'], (g) => {
    for (const volume of volumes()) {
      const progress = volume.progress;
      if (progress !== null) g.set({ device: volume.deviceName, operation: progress.operation }, progress.bytesTotal === 0 ? 1 : progress.bytesDone / progress.bytesTotal);
    }
  });
  gauge('softraid_volume_progress_rate_bytes_per_second', 'Rate of the background operation since it started.', ['device', 'operation'], (g) => {
    for (const volume of volumes()) if (volume.progress !== null) g.set({ device: volume.deviceName, operation: volume.progress.operation }, volume.progress.rateBytesPerSecond);
  });
  gauge('softraid_volume_progress_remaining_seconds', 'Time the background operation needs at its rate (absent before it has a rate).', ['device', 'operation'], (g) => {
    for (const volume of volumes()) {
      const progress = volume.progress;
      if (progress !== null && progress.etaSeconds !== null) g.set({ device: volume.deviceName, operation: progress.operation }, progress.etaSeconds);
    }
  });
  gauge('softraid_volume_last_scrub_mismatch_sectors', '512-byte sectors the last scrub found inconsistent (md\'s mismatch_cnt).', ['device'], (g) => {
    for (const volume of volumes()) if (volume.lastScrub != null) g.set({ device: volume.deviceName }, volume.lastScrub.mismatchSectors);
  });
  gauge('softraid_volume_last_scrub_unreadable_ranges', 'Volume byte ranges the last scrub found with no good copy left.', ['device'], (g) => {
    for (const volume of volumes()) {
      const scrub = volume.lastScrub;
      if (scrub != null) g.set({ device: volume.deviceName }, scrub.unreadableRanges.length + scrub.unreadableRangesDropped);
    }
  });
  gauge('softraid_volume_last_scrub_timestamp_seconds', 'When the last scrub started (Unix time).', ['device', 'status'], (g) => {
    for (const volume of volumes()) {
      const scrub = volume.lastScrub;
      if (scrub != null) g.set({ device: volume.deviceName, status: scrub.status }, Date.parse(scrub.startedAt) / 1000);
    }
  });
  gauge('softraid_member_state', 'A member of a volume, 1 for its state (Online, Offline, Rebuild, ...).', ['device', 'slot', 'member', 'state'], (g) => {
    for (const volume of volumes()) {
      for (const chunk of volume.chunks) g.set({ device: volume.deviceName, slot: String(chunk.chunkIndex), member: chunk.name === '' ? 'missing' : chunk.name, state: chunk.state }, 1);
    }
  });
  gauge('softraid_member_io_errors', 'I/O errors a member returned since it took its slot (a redundant volume takes a member out at its first).', ['device', 'slot', 'member'], (g) => {
    for (const volume of volumes()) {
      for (const chunk of volume.chunks) g.set({ device: volume.deviceName, slot: String(chunk.chunkIndex), member: chunk.name === '' ? 'missing' : chunk.name }, chunk.ioErrors ?? 0);
    }
  });
    gauge('softraid_hot_spares', 'Chunks waiting in the hot-spare pool.', ['controller'], (g) => {
    g.set({ controller: controller.controllerName }, controller.inquire().hotSpares.length);
  });

  // Sensors: read once per scrape, shared by the two gauges below.
  let sensorsOfScrape: Promise<Sensor[]> | null = null;
  const sensors = (): Promise<Sensor[]> => {
    sensorsOfScrape ??= (async () => {
      const machine = await machineSensors(sources.sysfsRoot);
      return sortSensors([...machine, ...bioSensors(controller.inquire())]).filter((sensor) => sensor.invalid !== true);
    })();
    const current = sensorsOfScrape;
    // registry.metrics() starts every collect in one tick: both sensor gauges share this reading, the next scrape reads afresh.
    setImmediate(() => { if (sensorsOfScrape === current) sensorsOfScrape = null; });
    return current;
  };
  gauge('sensor_value', 'A sensor\'s value in base units (celsius, volts, rpm, watts, ...; drive sensors: the drive state, 4 online).', ['sensor', 'device', 'type', 'unit', 'description'], async (g) => {
    for (const sensor of await sensors()) {
      const { value, unit } = baseUnitValue(sensor);
      if (value !== null) g.set({ sensor: sensorName(sensor), device: sensor.device, type: sensor.type, unit, description: sensor.description }, value);
    }
  });
  gauge('sensor_status', 'A sensor\'s status, 1 for the current one (OK, WARNING, CRITICAL, UNKNOWN, UNSPEC).', ['sensor', 'status'], async (g) => {
    for (const sensor of await sensors()) {
      for (const status of ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN', 'UNSPEC']) {
        g.set({ sensor: sensorName(sensor), status }, sensor.status.toUpperCase() === status ? 1 : 0);
      }
    }
  });
  return registry;
}
