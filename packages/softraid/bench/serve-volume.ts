// One RAID volume served over NBD on a Unix socket, in a process of its own
// so the benchmark can read its RSS and CPU time apart from the runner's and
// from fio's. Spawned by bench/run.ts; usable by hand too:
//   node dist/bench/serve-volume.js --level raid5 --socket /dev/shm/s \
//     --chunk /dev/shm/m0 --chunk /dev/shm/m1 --chunk /dev/shm/m2 [--missing 2]
//   node dist/bench/serve-volume.js --level none --size-bytes 1073741824 --socket /dev/shm/s
// Prints one JSON line {"ready":true,...} on stdout once it listens; SIGTERM
// closes the server and the volume and exits 0 (so --cpu-prof is written).
// First: the parity kernels are compiled on import (enable-wasm-relaxed-simd.ts).
import '@openbsd38/libutil/enable-wasm-relaxed-simd.js';
import { parseArgs } from 'node:util';
import { MapExportRegistry, NbdServer } from '../src/nbd/index.js';
import { nullDevice } from './null-device.js';
import { buildBenchVolume, parseLevel } from './volume-setup.js';


const { values } = parseArgs({
  options: {
    level: { type: 'string' },
    chunk: { type: 'string', multiple: true },
    missing: { type: 'string', multiple: true },
    socket: { type: 'string' },
    export: { type: 'string', default: 'sd0' },
    'strip-bytes': { type: 'string' },
    'size-bytes': { type: 'string' },
  },
  strict: true,
});
if (values.level === undefined || values.socket === undefined || (values.chunk === undefined && values.level !== 'none')) {
  throw new Error('serve-volume: --level, --socket and --chunk are required (--size-bytes instead of --chunk for --level none)');
}
const deviceName = values.export ?? 'sd0';
// --level none: no volume, a device that stores nothing (bench/null-device.ts), sized by --size-bytes.
const served = values.level === 'none'
  ? { volume: null, device: nullDevice(Number(values['size-bytes'] ?? 0)), chunks: [] }
  : await buildBenchVolume({
    level: parseLevel(values.level, 'serve-volume'),
    memberPaths: values.chunk ?? [],
    missingChunkIndexes: (values.missing ?? []).map(Number),
    ...(values['strip-bytes'] === undefined ? {} : { stripSizeBytes: Number(values['strip-bytes']) }),
    deviceName,
  }).then(({ volume, chunks }) => ({ volume, device: volume, chunks }));
const { volume, device, chunks } = served;
const exports = new MapExportRegistry();
exports.set(deviceName, device);
const server = new NbdServer({ exports, onProtocolError: (reason) => process.stderr.write(`serve-volume: nbd: ${reason}\n`) });
await server.listenUnix(values.socket);
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, state: volume?.state ?? 'Online', sizeBytes: device.sizeBytes })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.close();
  await volume?.close({ clean: true });
  await Promise.all(chunks.map((chunk) => chunk.close()));
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
