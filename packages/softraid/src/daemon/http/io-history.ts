// The last minutes of each volume's I/O for the status page's graphs: every
// interval, the difference of the running totals (io-metrics.ts) since the
// sample before, as rates and mean latencies, kept in a bounded ring per
// volume. Writes count write_zeroes too (both put data on the disks).
import type { IoOperation, IoTotals } from './io-metrics.js';

export interface IoSample {
  /** Wall-clock end of the interval, ms since the epoch. */
  atMs: number;
  readBytesPerSecond: number;
  writeBytesPerSecond: number;
  readOperationsPerSecond: number;
  writeOperationsPerSecond: number;
  /** Mean time to complete a read in the interval; null when there was none. */
  readLatencyMs: number | null;
  writeLatencyMs: number | null;
  errors: number;
}

export type IoTotalsSource = () => ReadonlyMap<string, Readonly<Record<IoOperation, IoTotals>>>;

export const ioSampleIntervalMsDefault = 2000;
/** Ten minutes at the default interval. */
export const ioSamplesMaxDefault = 300;

interface Summed {
  readOperations: number;
  readBytes: number;
  readSeconds: number;
  writeOperations: number;
  writeBytes: number;
  writeSeconds: number;
  errors: number;
}

function summed(totals: Readonly<Record<IoOperation, IoTotals>>): Summed {
  const { read, write, write_zeroes: zeroes } = totals;
  return {
    readOperations: read.operations, readBytes: read.bytes, readSeconds: read.sumSeconds,
    writeOperations: write.operations + zeroes.operations, writeBytes: write.bytes + zeroes.bytes, writeSeconds: write.sumSeconds + zeroes.sumSeconds,
    errors: Object.values(totals).reduce((sum, stats) => sum + stats.errors, 0),
  };
}

export class IoHistory {
  private readonly samples = new Map<string, IoSample[]>();
  private previous = new Map<string, { atMs: number; totals: Summed }>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly source: IoTotalsSource,
    readonly intervalMs = ioSampleIntervalMsDefault, private readonly samplesMax = ioSamplesMaxDefault) {}

  /** Takes one sample of every volume now (the timer calls it; tests call it with their own clock). */
  sample(nowMs = Date.now()): void {
    const next = new Map<string, { atMs: number; totals: Summed }>();
    for (const [device, totals] of this.source()) {
      const current = summed(totals);
      next.set(device, { atMs: nowMs, totals: current });
      const before = this.previous.get(device);
      if (before === undefined) continue;
      const seconds = (nowMs - before.atMs) / 1000;
      if (seconds <= 0) continue;
      const reads = current.readOperations - before.totals.readOperations;
      const writes = current.writeOperations - before.totals.writeOperations;
      const ring = this.samples.get(device) ?? [];
      ring.push({
        atMs: nowMs,
        readBytesPerSecond: (current.readBytes - before.totals.readBytes) / seconds,
        writeBytesPerSecond: (current.writeBytes - before.totals.writeBytes) / seconds,
        readOperationsPerSecond: reads / seconds,
        writeOperationsPerSecond: writes / seconds,
        readLatencyMs: reads === 0 ? null : ((current.readSeconds - before.totals.readSeconds) / reads) * 1000,
        writeLatencyMs: writes === 0 ? null : ((current.writeSeconds - before.totals.writeSeconds) / writes) * 1000,
        errors: current.errors - before.totals.errors,
      });
      if (ring.length > this.samplesMax) ring.splice(0, ring.length - this.samplesMax);
      this.samples.set(device, ring);
    }
    // A volume that is gone takes its history with it.
    for (const device of this.samples.keys()) if (!next.has(device)) this.samples.delete(device);
    this.previous = next;
  }

  /** The volume's samples, oldest first. */
  of(device: string): readonly IoSample[] {
    return this.samples.get(device) ?? [];
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
