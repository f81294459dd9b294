// Rebuild throughput of one member, in a process of its own (spawned by
// bench/run.ts): builds a volume on member files, takes the last chunk
// Offline, and rebuilds it onto a spare file, first with no rate limit,
// then once per given limit. Prints one JSON line per rebuild on stdout.
// Each rebuild needs a spare of its own: a member that returns is rebuilt
// only where the write-intent bitmap says it went stale, which would not
// measure a rebuild at all.
//   node dist/bench/rebuild.js --level raid1 --spare /dev/shm/s0 --spare /dev/shm/s1 \
//     --chunk /dev/shm/m0 --chunk /dev/shm/m1 --limit-bytes-per-second N
// First: the parity kernels are compiled on import (enable-wasm-relaxed-simd.ts).
import '@openbsd38/libutil/enable-wasm-relaxed-simd.js';
import { parseArgs } from 'node:util';
import { FileChunk } from '../src/chunk/file.js';
import { buildBenchVolume, parseLevel, residentBytes } from './volume-setup.js';

/** "No limit": the rate limiter computes a due time of 0 ms past the window start, so it never sleeps. */
const rateUnlimitedBytesPerSecond = Number.MAX_SAFE_INTEGER;


const { values } = parseArgs({
  options: {
    level: { type: 'string' },
    chunk: { type: 'string', multiple: true },
    spare: { type: 'string', multiple: true },
    'limit-bytes-per-second': { type: 'string', multiple: true },
  },
  strict: true,
});
if (values.level === undefined || values.chunk === undefined || values.spare === undefined) {
  throw new Error('rebuild: --level, --chunk and --spare are required');
}
const { volume, chunks } = await buildBenchVolume({ level: parseLevel(values.level, 'rebuild'), memberPaths: values.chunk, missingChunkIndexes: [], deviceName: 'sd0' });
const chunkIndex = chunks.length - 1;
const limits = [rateUnlimitedBytesPerSecond, ...(values['limit-bytes-per-second'] ?? []).map(Number)];
if (values.spare.length !== limits.length) throw new Error(`rebuild: ${limits.length} rebuilds need ${limits.length} --spare files, ${values.spare.length} given`);
const spares: FileChunk[] = [];
for (const [index, limitBytesPerSecond] of limits.entries()) {
  const spare = await FileChunk.open(values.spare[index]!);
  spares.push(spare);
  await volume.setChunkOffline(chunkIndex);
  volume.setRebuildRateLimits({ rateBytesPerSecondMin: limitBytesPerSecond, rateBytesPerSecondMax: limitBytesPerSecond });
  const cpuBefore = process.cpuUsage();
  const startMs = performance.now();
  const handle = await volume.startRebuild(chunkIndex, spare);
  // The bytes this rebuild regenerates (a fresh spare: the whole data area).
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
await Promise.all([...chunks, ...spares].map((chunk) => chunk.close()));
