// Rebuild throughput of one member, in a process of its own (spawned by
// bench/run.ts): builds a volume on member files, takes the last chunk
// Offline, and rebuilds it onto a spare file, first with no rate limit,
// then once per given limit. Prints one JSON line per rebuild on stdout.
//   node dist/bench/rebuild.js --level raid1 --spare /dev/shm/s \
//     --chunk /dev/shm/m0 --chunk /dev/shm/m1 [--limit-bytes-per-second N]...
import { parseArgs } from 'node:util';
import { FileChunk } from '../src/chunk/file.js';
import { raidLevels, type RaidLevel } from '../src/engine/levels.js';
import { buildBenchVolume, residentBytes } from './volume-setup.js';

/** "No limit": the rate limiter computes a due time of 0 ms past the window start, so it never sleeps. */
const rateUnlimitedBytesPerSecond = Number.MAX_SAFE_INTEGER;

function parseLevel(text: string): RaidLevel {
  const level = raidLevels.find((name) => name === text);
  if (level === undefined) throw new Error(`rebuild: unknown level ${text}`);
  return level;
}

const { values } = parseArgs({
  options: {
    level: { type: 'string' },
    chunk: { type: 'string', multiple: true },
    spare: { type: 'string' },
    'limit-bytes-per-second': { type: 'string', multiple: true },
  },
  strict: true,
});
if (values.level === undefined || values.chunk === undefined || values.spare === undefined) {
  throw new Error('rebuild: --level, --chunk and --spare are required');
}
const { volume, chunks } = await buildBenchVolume({ level: parseLevel(values.level), memberPaths: values.chunk, missingChunkIndexes: [], deviceName: 'sd0' });
const spare = await FileChunk.open(values.spare);
const chunkIndex = chunks.length - 1;
const limits = [rateUnlimitedBytesPerSecond, ...(values['limit-bytes-per-second'] ?? []).map(Number)];
for (const limitBytesPerSecond of limits) {
  await volume.setChunkOffline(chunkIndex);
  volume.setRebuildRateLimits({ rateBytesPerSecondMin: limitBytesPerSecond, rateBytesPerSecondMax: limitBytesPerSecond });
  const cpuBefore = process.cpuUsage();
  const startMs = performance.now();
  const handle = await volume.startRebuild(chunkIndex, spare);
  const bytesTotal = volume.info().progress?.bytesTotal ?? 0;
  const outcome = await handle.finished;
  const seconds = (performance.now() - startMs) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const rss = await residentBytes('self');
  process.stdout.write(`${JSON.stringify({
    level: values.level,
    chunkCount: chunks.length,
    outcome: outcome.status,
    limitBytesPerSecond: limitBytesPerSecond === rateUnlimitedBytesPerSecond ? null : limitBytesPerSecond,
    bytesTotal,
    seconds,
    bytesPerSecond: bytesTotal / seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssBytes: rss?.peakBytes ?? null,
  })}\n`);
}
await volume.close({ clean: true });
await Promise.all([...chunks, spare].map((chunk) => chunk.close()));
