// Retiring partial parity log records must never leave an older record valid
// without the later ones over the same columns (docs/write-ordering.md,
// "Retiring records"). Two writes to one row of a degraded RAID 5, each
// modifying a different strip over the same columns, leave two records on
// the row's parity chunk; a flush retires both. A power cut at every device
// operation of that flush, with unflushed sectors landing at random, must
// leave the missing member's strip — which nobody wrote, and which only
// parity holds — reading back as it was. Records zeroed one by one failed
// this (the crash simulator found it: seed 3061868772, RAID 5 of four).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { assembleVolume } from '../assembly/assemble.js';
import { featureFlag, reservedRegionsDefault } from '../metadata/layout.js';
import { saveVolumeMetadata } from '../metadata/io.js';
import { decodePplMark, encodePplRecord, pplMarkOffsetBytes } from '../metadata/partial-parity-log.js';
import { raid5DataChunk, raid5ParityChunk } from '../disciplines/raid5-layout.js';
import { createTestVolume, openVolume, randomBytes } from '../../../tests/sim/harness.js';
import { firstDifference } from '../../../tests/sim/consistency.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const stripBytes = 4 * KiB;
const chunkCount = 4;
const layout = 'left-symmetric';
const row = 6;
const rowBytes = stripBytes * (chunkCount - 1);
const journal = reservedRegionsDefault.journal;

interface Outcome {
  /** The crash came during the flush (not after it). */
  crashed: boolean;
  /** A journal-region write had been issued before the crash (a retirement was under way). */
  retiring: boolean;
  /** -1, or the first byte of the missing strip that reads back wrong. */
  difference: number;
}

/** One life up to a crash at the `crashAt`-th device operation of the flush, then assembly and a read of the missing strip. */
async function crashDuringRetirement(crashAt: number, tornRate: number, seed: number, fua: boolean): Promise<Outcome> {
  const { record, members } = await createTestVolume({ level: 'raid5', chunkCount, layout, stripSizeBytes: stripBytes, chunkDataSizeBytes: MiB }, seed);
  const handles = members.map((member) => member.handle());
  const first = openVolume(record, handles, { pplPieceBytesMax: 64 * KiB });
  const data = randomBytes(seededRandom(seed + 1), first.volume.sizeBytes);
  await first.volume.write(0, data, { fua: false });
  await first.volume.flush();

  // The strip nobody writes is on the member that fails; parity alone holds it from then on.
  const missing = raid5DataChunk(row, 2, chunkCount, layout);
  const parity = raid5ParityChunk(row, chunkCount);
  members[missing]!.disappeared = true;
  await first.volume.setChunkOffline(missing);
  const rowStart = row * rowBytes;
  // Write A modifies strip 0, write B strip 1, over the same 2 KiB of columns: two records, B after A.
  for (const [strip, fill] of [[0, 0xa1], [1, 0xb2]] as const) {
    const at = rowStart + strip * stripBytes + 512;
    const bytes = new Uint8Array(2 * KiB).fill(fill);
    await first.volume.write(at, bytes, { fua: false });
    data.set(bytes, at);
  }
  assert.equal(first.volume.state, 'Degraded');
  assert.ok(first.volume.partialParityLog!.counters.records >= 2, 'both writes logged');

  let operations = 0;
  let retiring = false;
  let crashed = false;
  let signalCrash = (): void => {};
  const crash = new Promise<void>((resolve) => { signalCrash = resolve; });
  const alive = members.filter((_, index) => index !== missing);
  for (const member of alive) {
    member.beforeOperation = (operation, offsetBytes) => {
      if (crashed) return;
      if (++operations === crashAt) {
        crashed = true;
        for (const each of members) each.crash(tornRate);
        signalCrash();
        return;
      }
      if (operation === 'write' && member === members[parity] && offsetBytes >= journal.offsetBytes
        && offsetBytes < journal.offsetBytes + journal.lengthBytes) retiring = true;
    };
  }
  const flushed = fua
    ? first.volume.write(rowStart + 2 * stripBytes + 3 * KiB, new Uint8Array(512).fill(0xc3), { fua: true })
    : first.volume.flush();
  await Promise.race([flushed, crash]);
  for (const member of members) member.beforeOperation = null;
  if (!crashed) return { crashed, retiring, difference: -1 };

  // The next boot: the failed member is still gone; the volume assembles dirty and degraded and replays the log.
  const assembled = await assembleVolume(alive.map((member) => member.handle()), { chunksInUse: () => false });
  assert.equal(assembled.record.dirty, true);
  const { volume } = openVolume(assembled.record, assembled.members);
  const strip = new Uint8Array(stripBytes);
  const stripStart = rowStart + 2 * stripBytes;
  await volume.read(stripStart, strip);
  // The FUA write of the second variant was in flight: its 512 bytes may read back old or new.
  const expected = data.slice(stripStart, stripStart + stripBytes);
  if (fua) expected.set(strip.subarray(3 * KiB, 3 * KiB + 512), 3 * KiB);
  return { crashed, retiring, difference: firstDifference(expected, strip) };
}

for (const fua of [false, true]) {
  test(`RAID 5: a crash at any point of retiring two records over the same columns keeps the missing member's strip (${fua ? 'FUA write' : 'flush'})`, async () => {
    let crashes = 0;
    let duringRetirement = 0;
    const failures: string[] = [];
    for (let crashAt = 1; ; crashAt++) {
      let reachedEnd = false;
      for (const [tornRate, seeds] of [[0, 1], [1, 1], [0.5, 6]] as const) {
        for (let seed = 1; seed <= seeds; seed++) {
          const outcome = await crashDuringRetirement(crashAt, tornRate, 100 * crashAt + seed, fua);
          if (!outcome.crashed) {
            reachedEnd = true;
            break;
          }
          crashes++;
          if (outcome.retiring) duringRetirement++;
          if (outcome.difference >= 0) failures.push(`crash at operation ${crashAt}, torn ${tornRate}, seed ${100 * crashAt + seed}: byte ${outcome.difference} of the missing strip wrong`);
        }
        if (reachedEnd) break;
      }
      if (reachedEnd) break;
      assert.ok(crashAt < 100, 'the flush ends within 100 device operations');
    }
    assert.ok(crashes >= 4, `crashed at ${crashes} points`);
    assert.ok(duringRetirement >= 2, `${duringRetirement} crashes came after the retirement began`);
    assert.deepEqual(failures, []);
  });
}

test('a log written before retirement marks (records from byte 0, no marks feature bit) is still replayed, then marked', async () => {
  const { record, members } = await createTestVolume({ level: 'raid5', chunkCount: 3, layout, stripSizeBytes: stripBytes, chunkDataSizeBytes: MiB }, 9);
  const first = openVolume(record, members);
  const data = randomBytes(seededRandom(10), first.volume.sizeBytes);
  await first.volume.write(0, data, { fua: false });
  await first.volume.close({ clean: true });
  // As an older version left a crash: strip 0 of row 2 rewritten, parity not, a record for it at byte 0 of the log.
  const oldRow = 2;
  const oldRowBytes = 2 * stripBytes;
  const written = raid5DataChunk(oldRow, 0, 3, layout);
  const untouched = raid5DataChunk(oldRow, 1, 3, layout);
  const parity = raid5ParityChunk(oldRow, 3);
  const chunkOffsetBytes = oldRow * stripBytes;
  const dataAt = record.dataOffsetBytes + chunkOffsetBytes;
  const newStrip = new Uint8Array(stripBytes).fill(0x5a);
  for (const image of [members[written]!.durable, members[written]!.current]) image.set(newStrip, dataAt);
  const partialParity = data.slice(oldRow * oldRowBytes + stripBytes, (oldRow + 1) * oldRowBytes);
  const oldRecord = encodePplRecord({ uuid: record.uuid, sequence: 17, parityChunkIndex: parity, chunkOffsetBytes, lengthBytes: stripBytes, modifiedChunkIndexes: [written], partialParity });
  for (const image of [members[parity]!.durable, members[parity]!.current]) image.set(oldRecord, journal.offsetBytes);
  const old = { ...record, dirty: true, featureFlags: featureFlag.writeIntentBitmap | featureFlag.partialParityLog };
  assert.deepEqual(await saveVolumeMetadata(old, members), []);

  // The untouched member is lost: only the replayed record keeps its strip.
  const listed = members.filter((_, index) => index !== untouched);
  const assembled = await assembleVolume(listed, { chunksInUse: () => false });
  const { volume } = openVolume(assembled.record, assembled.members);
  const strip = new Uint8Array(stripBytes);
  await volume.read(oldRow * oldRowBytes + stripBytes, strip);
  assert.equal(firstDifference(partialParity, strip), -1, 'the untouched strip, reconstructed after replay');
  assert.deepEqual(volume.recovery.partialParityLog, { recordsFound: 1, recordsApplied: 1, recordsSkipped: 0, recordsRetired: 0 });
  assert.ok(((assembled.record.featureFlags ?? 0) & featureFlag.partialParityLogMarks) !== 0, 'the volume now says its log uses marks');
  const marks = [0, 1].map((copy) => decodePplMark(members[parity]!.durable.subarray(journal.offsetBytes + pplMarkOffsetBytes(copy),
    journal.offsetBytes + pplMarkOffsetBytes(copy) + 512), record.uuid));
  assert.ok(marks.some((mark) => mark !== null && mark > 17), `the record is retired by a mark (${marks.join(', ')})`);
  await volume.close({ clean: true });
  const again = await assembleVolume(listed, { chunksInUse: () => false });
  const reopened = openVolume(again.record, again.members);
  await reopened.volume.read(0, new Uint8Array(512));
  assert.equal(reopened.volume.recovery.partialParityLog?.recordsFound, 0, 'nothing replayed twice');
});
