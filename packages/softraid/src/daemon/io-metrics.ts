// Per-volume I/O as NBD clients see it: every request through a volume's
// export counted (operations, bytes, errors) and timed (a latency
// histogram), by wrapping the volume's BlockDevice once. The volume's own
// behaviour is untouched: the wrapper only observes.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { BlockDevice, WriteOptions, WriteZeroesOptions } from '@openbsd38/bio/block-device.js';

type Operation = 'read' | 'write' | 'write_zeroes' | 'trim' | 'flush';

/** Latency buckets, seconds: 50 µs (tmpfs) to 10 s (a member timing out). */
const latencyBucketsSeconds = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export class VolumeIoMetrics {
  private readonly operations: Counter<'device' | 'operation'>;
  private readonly bytes: Counter<'device' | 'operation'>;
  private readonly errors: Counter<'device' | 'operation'>;
  private readonly latency: Histogram<'device' | 'operation'>;
  private readonly wrapped = new WeakMap<BlockDevice, { name: string; device: BlockDevice }>();

  constructor(registry: Registry) {
    this.operations = new Counter({ name: 'softraid_volume_io_operations_total', help: 'NBD requests served by the volume.', labelNames: ['device', 'operation'], registers: [registry] });
    this.bytes = new Counter({ name: 'softraid_volume_io_bytes_total', help: 'Bytes read from or written to the volume by NBD clients (write_zeroes: the range zeroed).', labelNames: ['device', 'operation'], registers: [registry] });
    this.errors = new Counter({ name: 'softraid_volume_io_errors_total', help: 'NBD requests the volume failed.', labelNames: ['device', 'operation'], registers: [registry] });
    this.latency = new Histogram({ name: 'softraid_volume_io_duration_seconds', help: 'Time the volume took to complete an NBD request.', labelNames: ['device', 'operation'], buckets: latencyBucketsSeconds, registers: [registry] });
  }

  /** The volume's device as served: counted and timed. The same wrapper for the same volume. */
  instrument(name: string, device: BlockDevice): BlockDevice {
    const cached = this.wrapped.get(device);
    if (cached !== undefined && cached.name === name) return cached.device;
    // Children per operation, looked up once: no label hashing on the request path.
    const children = new Map((['read', 'write', 'write_zeroes', 'trim', 'flush'] as const).map((operation) => [operation, {
      operations: this.operations.labels(name, operation),
      bytes: this.bytes.labels(name, operation),
      errors: this.errors.labels(name, operation),
      latency: this.latency.labels(name, operation),
    }]));
    const timed = async (operation: Operation, bytes: number, run: () => Promise<void>): Promise<void> => {
      const metrics = children.get(operation)!;
      const started = performance.now();
      try {
        await run();
        metrics.bytes.inc(bytes);
      } catch (error) {
        metrics.errors.inc();
        throw error;
      } finally {
        metrics.operations.inc();
        metrics.latency.observe((performance.now() - started) / 1000);
      }
    };
    const wrapper: BlockDevice = {
      sizeBytes: device.sizeBytes,
      blockSizeMinBytes: device.blockSizeMinBytes,
      blockSizePreferredBytes: device.blockSizePreferredBytes,
      requestBytesMax: device.requestBytesMax,
      readOnly: device.readOnly,
      flushIsGlobal: device.flushIsGlobal,
      read: (offsetBytes: number, into: Uint8Array) => timed('read', into.length, () => device.read(offsetBytes, into)),
      write: (offsetBytes: number, data: Uint8Array, options: WriteOptions) => timed('write', data.length, () => device.write(offsetBytes, data, options)),
      writeZeroes: (offsetBytes: number, lengthBytes: number, options: WriteZeroesOptions) => timed('write_zeroes', lengthBytes, () => device.writeZeroes(offsetBytes, lengthBytes, options)),
      trim: (offsetBytes: number, lengthBytes: number) => timed('trim', lengthBytes, () => device.trim(offsetBytes, lengthBytes)),
      flush: () => timed('flush', 0, () => device.flush()),
      ...(device.plug === undefined ? {} : { plug: () => device.plug!() }),
      ...(device.unplug === undefined ? {} : { unplug: () => device.unplug!() }),
    };
    this.wrapped.set(device, { name, device: wrapper });
    return wrapper;
  }
}
