// One RAID volume served over NBD on a Unix socket, in a process of its own
// so the benchmark can read its RSS and CPU time apart from the runner's and
// from fio's. Spawned by bench/run.ts; usable by hand too:
//   node dist/bench/serve-volume.js --level raid5 --socket /dev/shm/s \
//     --chunk /dev/shm/m0 --chunk /dev/shm/m1 --chunk /dev/shm/m2 [--missing 2]
// Prints one JSON line {"ready":true,...} on stdout once it listens; SIGTERM
// closes the server and the volume and exits 0 (so --cpu-prof is written).
import { parseArgs } from 'node:util';
import { MapExportRegistry, NbdServer } from '../src/nbd/index.js';
import { buildBenchVolume, parseLevel } from './volume-setup.js';


const { values } = parseArgs({
  options: {
    level: { type: 'string' },
    chunk: { type: 'string', multiple: true },
    missing: { type: 'string', multiple: true },
    socket: { type: 'string' },
    export: { type: 'string', default: 'sd0' },
    'strip-bytes': { type: 'string' },
  },
  strict: true,
});
if (values.level === undefined || values.socket === undefined || values.chunk === undefined) {
  throw new Error('serve-volume: --level, --socket and --chunk are required');
}
const deviceName = values.export ?? 'sd0';
const { volume, chunks } = await buildBenchVolume({
  level: parseLevel(values.level, 'serve-volume'),
  memberPaths: values.chunk,
  missingChunkIndexes: (values.missing ?? []).map(Number),
  ...(values['strip-bytes'] === undefined ? {} : { stripSizeBytes: Number(values['strip-bytes']) }),
  deviceName,
});
const exports = new MapExportRegistry();
exports.set(deviceName, volume);
const server = new NbdServer({ exports, onProtocolError: (reason) => process.stderr.write(`serve-volume: nbd: ${reason}\n`) });
await server.listenUnix(values.socket);
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, state: volume.state, sizeBytes: volume.sizeBytes })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.close();
  await volume.close({ clean: true });
  await Promise.all(chunks.map((chunk) => chunk.close()));
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
