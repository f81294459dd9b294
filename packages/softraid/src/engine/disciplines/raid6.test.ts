// RAID 6 against an independent, straightforward implementation written
// here: GF(2^8)/0x11D multiplication by shift-and-add (no tables), P and Q
// byte by byte, md's left-symmetric rotation from its own formula
// (raid5_compute_sector, ALGORITHM_LEFT_SYMMETRIC with raid6_d0 numbering).
// For 4, 5 and 6 chunks, exhaustively: every single chunk and every pair of
// chunks missing — reads regenerate the volume, writes with them missing
// keep P and Q exact, rebuilds of one and of two chunks give back the very
// bytes, and the partial parity log replay makes a cut write consistent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { randomBytes, seedFromEnv } from '../../../tests/sim/harness.js';
import { gfMultiply, gfPowerOf2 } from '../../../tests/sim/gf256-reference.js';
import { raid6, raid6DataChunk, raid6Map, raid6PChunk, raid6QChunk, raid6StripOf } from './raid6.js';
import { raid6Scrub } from './raid6-scrub.js';
import type { ChunkIo, Geometry, PartialParityEntry } from './discipline.js';

const KiB = 1024;

/** md: pd_idx = n-1 - row%n, qd_idx = pd_idx+1 mod n, dd_idx = pd_idx+2+k mod n; syndrome slots from qd_idx+1. */
function mdLayout(row: number, n: number): { p: number; q: number; data: number[] } {
  const p = n - 1 - (row % n);
  const q = (p + 1) % n;
  const data = Array.from({ length: n - 2 }, (_v, k) => (p + 2 + k) % n);
  return { p, q, data };
}

/** The chunks md would hold for `volume`. */
function referenceChunks(n: number, stripSizeBytes: number, rows: number, volume: Uint8Array): Uint8Array[] {
  const chunks = Array.from({ length: n }, () => new Uint8Array(rows * stripSizeBytes));
  for (let row = 0; row < rows; row++) {
    const { p, q, data } = mdLayout(row, n);
    // raid6_d0: the first syndrome source is the chunk after Q; count slots the way md walks.
    let slot = 0;
    for (let step = 1; step <= n; step++) {
      const chunk = (q + step) % n;
      if (chunk === p || chunk === q) continue;
      const k = data.indexOf(chunk);
      assert.equal(k, slot, 'md numbers syndrome sources in data order');
      const strip = volume.subarray((row * (n - 2) + k) * stripSizeBytes, (row * (n - 2) + k + 1) * stripSizeBytes);
      chunks[chunk]!.set(strip, row * stripSizeBytes);
      const coefficient = gfPowerOf2(k);
      for (let i = 0; i < stripSizeBytes; i++) {
        chunks[p]![row * stripSizeBytes + i]! ^= strip[i]!;
        chunks[q]![row * stripSizeBytes + i]! ^= gfMultiply(coefficient, strip[i]!);
      }
      slot++;
    }
  }
  return chunks;
}

/** In-memory chunks; `offline` cannot be read or written, `rebuilding` written only. */
function memoryIo(chunks: Uint8Array[], offline: ReadonlySet<number>, rebuilding: ReadonlySet<number> = new Set()): ChunkIo {
  const read = (chunkIndex: number, at: number, buffers: readonly Uint8Array[]): Promise<void> => {
    assert.ok(!offline.has(chunkIndex) && !rebuilding.has(chunkIndex), `read from unreadable chunk ${chunkIndex}`);
    for (const buffer of buffers) {
      assert.ok(at + buffer.length <= chunks[chunkIndex]!.length, 'read past the chunk');
      buffer.set(chunks[chunkIndex]!.subarray(at, at + buffer.length));
      at += buffer.length;
    }
    return Promise.resolve();
  };
  const write = (chunkIndex: number, at: number, buffers: readonly Uint8Array[]): Promise<void> => {
    assert.ok(!offline.has(chunkIndex), `write to offline chunk ${chunkIndex}`);
    for (const buffer of buffers) {
      chunks[chunkIndex]!.set(buffer, at);
      at += buffer.length;
    }
    return Promise.resolve();
  };
  let counter = 0;
  return {
    chunkCount: chunks.length,
    isReadable: (chunkIndex) => !offline.has(chunkIndex) && !rebuilding.has(chunkIndex),
    isWritable: (chunkIndex) => !offline.has(chunkIndex),
    read: (chunkIndex, at, into) => read(chunkIndex, at, [into]),
    write: (chunkIndex, at, data) => write(chunkIndex, at, [data]),
    readv: read,
    writev: write,
    nextRoundRobin: () => counter++,
  };
}

function geometryOf(n: number, stripSizeBytes: number, rows: number): Geometry {
  return { level: 'raid6', chunkCount: n, stripSizeBytes, layout: 'left-symmetric', chunkDataSizeBytes: rows * stripSizeBytes, chunkUsableSizesBytes: [] };
}

function pairsAndSingles(n: number): number[][] {
  const sets: number[][] = [];
  for (let a = 0; a < n; a++) {
    sets.push([a]);
    for (let b = a + 1; b < n; b++) sets.push([a, b]);
  }
  return sets;
}

const stripSizeBytes = 4 * KiB;

test('RAID 6 layout: md\'s left-symmetric rotation, strip for strip, and the n = 5 table of docs/on-disk-format.md', () => {
  for (let n = 4; n <= 9; n++) {
    for (let row = 0; row < 3 * n; row++) {
      const md = mdLayout(row, n);
      assert.equal(raid6PChunk(row, n), md.p);
      assert.equal(raid6QChunk(row, n), md.q);
      md.data.forEach((chunk, k) => {
        assert.equal(raid6DataChunk(row, k, n), chunk);
        assert.equal(raid6StripOf(row, chunk, n), k);
      });
      assert.equal(raid6StripOf(row, md.p, n), 'p');
      assert.equal(raid6StripOf(row, md.q, n), 'q');
    }
  }
  const table = [...Array(5).keys()].map((row) => [...Array(5).keys()].map((chunk) => {
    const strip = raid6StripOf(row, chunk, 5);
    return typeof strip === 'number' ? `D${row * 3 + strip}` : strip.toUpperCase();
  }).join(' '));
  assert.deepEqual(table, ['Q D0 D1 D2 P', 'D3 D4 D5 P Q', 'D7 D8 P Q D6', 'D11 P Q D9 D10', 'P Q D12 D13 D14']);
  // The inverse mapping gives every data strip back, and nothing for P and Q.
  const g = geometryOf(5, stripSizeBytes, 10);
  for (const strip of raid6Map(0, 10 * 3 * stripSizeBytes, { chunkCount: 5, stripSizeBytes })) {
    assert.deepEqual(raid6.volumeRangesOnChunk!(g, strip.chunkIndex, strip.chunkOffsetBytes + 512, 1024),
      [{ offsetBytes: strip.volumeOffsetBytes + 512, lengthBytes: 1024 }]);
  }
  assert.deepEqual(raid6.volumeRangesOnChunk!(g, 4, 0, stripSizeBytes), []);
  assert.deepEqual(raid6.volumeRangesOnChunk!(g, 0, 0, stripSizeBytes), []);
});

for (const n of [4, 5, 6]) {
  test(`RAID 6 n=${n}: written whole and in pieces, the chunks hold what md's would; every single and pair of missing chunks is read, written and rebuilt exactly`, async () => {
    const seed = seedFromEnv();
    const random = seededRandom(seed + n);
    const rows = 2 * n + 1;
    const g = geometryOf(n, stripSizeBytes, rows);
    const volumeBytes = raid6.volumeSizeBytes(g);
    assert.equal(volumeBytes, rows * (n - 2) * stripSizeBytes);
    const volume = randomBytes(random, volumeBytes);
    // Healthy: one whole write, then odd pieces over it.
    const chunks = Array.from({ length: n }, () => new Uint8Array(rows * stripSizeBytes));
    await raid6.write(memoryIo(chunks, new Set()), g, 0, volume);
    assert.deepEqual(chunks, referenceChunks(n, stripSizeBytes, rows, volume), `seed ${seed}: whole write`);
    for (let i = 0; i < 12; i++) {
      const at = Math.floor(random() * (volumeBytes - 1));
      const length = 1 + Math.floor(random() * Math.min(volumeBytes - at, 3 * stripSizeBytes));
      const piece = randomBytes(random, length);
      volume.set(piece, at);
      await raid6.write(memoryIo(chunks, new Set()), g, at, piece);
    }
    assert.deepEqual(chunks, referenceChunks(n, stripSizeBytes, rows, volume), `seed ${seed}: piecewise writes`);

    for (const missing of pairsAndSingles(n)) {
      const what = `seed ${seed} n=${n} missing ${missing.join(',')}`;
      const offline = new Set(missing);
      // Reads regenerate every byte, whole and at odd offsets.
      const whole = new Uint8Array(volumeBytes);
      await raid6.read(memoryIo(chunks, offline), g, 0, whole);
      assert.ok(Buffer.from(whole).equals(volume), `${what}: whole read`);
      const at = 3 * KiB + 17;
      const odd = new Uint8Array(2 * stripSizeBytes + 100);
      await raid6.read(memoryIo(chunks, offline), g, at, odd);
      assert.ok(Buffer.from(odd).equals(volume.subarray(at, at + odd.length)), `${what}: odd read`);
      // Random ranges: a row's readable strips partly inside, partly outside the span regenerated.
      for (let i = 0; i < 6; i++) {
        const from = Math.floor(random() * (volumeBytes - 1));
        const piece = new Uint8Array(1 + Math.floor(random() * Math.min(volumeBytes - from, 3 * stripSizeBytes)));
        await raid6.read(memoryIo(chunks, offline), g, from, piece);
        assert.ok(Buffer.from(piece).equals(volume.subarray(from, from + piece.length)), `${what}: read ${from}+${piece.length}`);
      }

      // Writes with the chunks missing, then the chunks rebuilt (stale content first), one after the other.
      const degraded = chunks.map((chunk) => chunk.slice());
      const expected = volume.slice();
      for (let i = 0; i < 4; i++) {
        const start = Math.floor(random() * (volumeBytes - 1));
        const length = 1 + Math.floor(random() * Math.min(volumeBytes - start, 2 * stripSizeBytes));
        const piece = randomBytes(random, length);
        expected.set(piece, start);
        await raid6.write(memoryIo(degraded, offline), g, start, piece);
      }
      const after = new Uint8Array(volumeBytes);
      await raid6.read(memoryIo(degraded, offline), g, 0, after);
      assert.ok(Buffer.from(after).equals(expected), `${what}: degraded writes read back`);
      for (const chunkIndex of missing) degraded[chunkIndex]!.fill(0xa5);
      const stillOffline = new Set(missing);
      for (const chunkIndex of missing) {
        stillOffline.delete(chunkIndex);
        await raid6.rebuildPiece!(memoryIo(degraded, stillOffline, new Set([chunkIndex])), g, chunkIndex, 0, rows * stripSizeBytes);
      }
      assert.deepEqual(degraded, referenceChunks(n, stripSizeBytes, rows, expected), `${what}: rebuilt chunks`);
    }
  });
}

test('RAID 6: three chunks missing fail the request with nothing written', async () => {
  const g = geometryOf(5, stripSizeBytes, 4);
  const chunks = Array.from({ length: 5 }, () => new Uint8Array(4 * stripSizeBytes));
  const before = chunks.map((chunk) => chunk.slice());
  await assert.rejects(raid6.write(memoryIo(chunks, new Set([0, 1, 2])), g, 0, new Uint8Array(100)), /RAID 6: chunks 0, 1, 2 of row 0 are offline/);
  await assert.rejects(raid6.read(memoryIo(chunks, new Set([0, 1, 2])), g, 0, new Uint8Array(100)), /offline/);
  assert.deepEqual(chunks, before);
});

test('RAID 6 partial parity log: a cut partial-row write replayed leaves every unmodified strip regenerable, with any two chunks missing', async () => {
  const seed = seedFromEnv();
  const random = seededRandom(seed);
  for (const n of [4, 5, 6]) {
    const rows = 2;
    const g = geometryOf(n, stripSizeBytes, rows);
    const volume = randomBytes(random, raid6.volumeSizeBytes(g));
    const original = referenceChunks(n, stripSizeBytes, rows, volume);
    for (const missing of [[], ...pairsAndSingles(n)]) {
      // A write of part of data strip 0 of row 1, cut after the data write: P and Q are stale.
      const chunks = original.map((chunk) => chunk.slice());
      const entries: PartialParityEntry[] = [];
      const at = (n - 2) * stripSizeBytes + 1024;
      const piece = randomBytes(random, 2048);
      const written = original.map((chunk) => chunk.slice());
      await raid6.write(memoryIo(written, new Set()), g, at, piece, { beforeWrites: (logged) => Promise.resolve(void entries.push(...logged)) });
      assert.equal(entries.length, 2, 'one record for P, one for Q');
      const d0 = raid6DataChunk(1, 0, n);
      chunks[d0]!.set(written[d0]!.subarray(stripSizeBytes + 1024, stripSizeBytes + 3072), stripSizeBytes + 1024);
      // Assembled with `missing` gone: each record replayed, then every strip read back.
      const offline = new Set(missing);
      const replayIo = memoryIo(chunks, offline);
      for (const entry of entries) if (!offline.has(entry.parityChunkIndex)) await raid6.replayPartialParity!(replayIo, g, entry);
      const expected = volume.slice();
      expected.set(piece, at);
      const back = new Uint8Array(volume.length);
      await raid6.read(memoryIo(chunks, offline), g, 0, back);
      const what = `seed ${seed} n=${n} missing ${missing.join(',')}`;
      for (let k = 0; k < n - 2; k++) {
        const start = ((n - 2) + k) * stripSizeBytes;
        if (k === 0 && offline.has(d0)) continue; // the cut write's own strip on a missing chunk: neither promised
        assert.ok(Buffer.from(back.subarray(start, start + stripSizeBytes)).equals(expected.subarray(start, start + stripSizeBytes)), `${what}: strip ${k}`);
      }
    }
  }
});

test('RAID 6 scrub rules: both syndromes checked; a wrong P, a wrong Q and a wrong data strip each found and fixed where they lie', () => {
  const n = 6;
  const rows = 2;
  const g = geometryOf(n, stripSizeBytes, rows);
  const random = seededRandom(seedFromEnv());
  const volume = randomBytes(random, raid6.volumeSizeBytes(g));
  const good = referenceChunks(n, stripSizeBytes, rows, volume);
  assert.equal(raid6Scrub.inspect(g, 0, good), null);
  for (const strip of ['p', 'q', 0, 1, 3] as const) {
    const chunks = good.map((chunk) => chunk.slice());
    const chunkIndex = strip === 'p' ? raid6PChunk(1, n) : strip === 'q' ? raid6QChunk(1, n) : raid6DataChunk(1, strip, n);
    chunks[chunkIndex]![stripSizeBytes + 600]! ^= 0x5a;
    const inspection = raid6Scrub.inspect(g, 0, chunks);
    assert.ok(inspection !== null);
    const sectors = [...Array(2 * stripSizeBytes / 512).keys()].filter((sector) => inspection.mismatched(sector));
    assert.deepEqual(sectors, [stripSizeBytes / 512 + 1], `strip ${strip}`);
    const repair = inspection.repair(stripSizeBytes + 512, stripSizeBytes + 1024);
    assert.deepEqual(repair.rewrites.map((rewrite) => rewrite.chunkIndex), [chunkIndex], `strip ${strip}: fixed where it lies`);
    assert.ok(Buffer.from(repair.rewrites[0]!.bytes).equals(good[chunkIndex]!.subarray(stripSizeBytes + 512, stripSizeBytes + 1024)));
  }
  // Media errors: any two chunks' blocks regenerated.
  for (const bad of pairsAndSingles(n)) {
    const regenerated = raid6Scrub.regenerate(g, 0, good, bad, stripSizeBytes, stripSizeBytes + 512);
    assert.ok(regenerated !== null);
    bad.forEach((chunkIndex, i) => assert.ok(Buffer.from(regenerated[i]!).equals(good[chunkIndex]!.subarray(stripSizeBytes, stripSizeBytes + 512))));
  }
  assert.equal(raid6Scrub.regenerate(g, 0, good, [0, 1, 2], 0, 512), null);
});
