import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { MiB } from '@openbsd38/libutil/units.js';
import { SoftraidController } from './softraid.js';
import { fixture, realClock, waitFor } from './fixture.test-helper.js';
import type { CreateRequest } from '@openbsd38/bio/controller.js';

test('controller: RAID 5 create, member fails, hot spare rebuilds, data intact', async () => {
  const { controller, chunks, events } = fixture({ a: 8 * MiB, b: 8 * MiB, c: 8 * MiB, d: 8 * MiB, spare: 9 * MiB });
  const created = await controller.create({ level: 'raid5', chunkNames: ['a', 'b', 'c', 'd'], force: false, noAutoAssemble: false });
  assert.equal(created.ok, true, JSON.stringify(created.messages));
  assert.deepEqual(created.messages.at(-1), { type: 'info', text: 'RAID 5 volume attached as sd0' });
  const volume = controller.blockDevice('sd0');
  assert.ok(volume);
  assert.equal(volume.sizeBytes, 3 * (7 * MiB));
  const pattern = new Uint8Array(volume.sizeBytes);
  randomFillSync(pattern);
  await volume.write(0, pattern, { fua: false });
  await volume.flush();

  const spare = await controller.addHotSpare('spare');
  assert.equal(spare.ok, true, JSON.stringify(spare.messages));
  assert.equal(controller.inquire().hotSpares.length, 1);
  assert.equal(controller.inquire().hotSpares[0]!.volumeIndex, 1);

  // Pull disk b: the next read that touches it takes it offline, the spare takes over.
  chunks.get('b')!.disappeared = true;
  const readBack = new Uint8Array(volume.sizeBytes);
  await volume.read(0, readBack);
  assert.ok(Buffer.from(readBack).equals(Buffer.from(pattern)), 'degraded read returns the data');
  await waitFor(() => events.some((event) => event.name === 'SpareActive'), 'the spare to finish rebuilding');
  const view = controller.inquire().volumes[0]!;
  assert.equal(view.state, 'Online');
  assert.deepEqual(view.chunks.map((chunk) => chunk.name), ['a', 'spare', 'c', 'd']);
  assert.equal(controller.inquire().hotSpares.length, 0);
  assert.deepEqual(events.map((event) => event.name).filter((name) => name !== 'Rebuild20' && name !== 'Rebuild40' && name !== 'Rebuild60' && name !== 'Rebuild80'),
    ['NewArray', 'Fail', 'DegradedArray', 'RebuildStarted', 'RebuildFinished', 'SpareActive']);

  // The rebuilt member is exact: fail another one and read everything back.
  chunks.get('c')!.disappeared = true;
  const again = new Uint8Array(volume.sizeBytes);
  await volume.read(0, again);
  assert.ok(Buffer.from(again).equals(Buffer.from(pattern)), 'data intact after rebuild and a second failure');

  await controller.shutdown();
  // Reassemble from what survives: a, spare, d (b and c are gone): the volume comes up degraded.
  chunks.get('c')!.disappeared = false;
  const second = new SoftraidController({
    openChunk: async (name) => { const chunk = chunks.get(name)!; chunk.reopen(); return chunk; },
    random: (bytes) => randomFillSync(bytes), clock: realClock,
  });
  const scanned = await second.scan(['a', 'spare', 'c', 'd']);
  assert.equal(scanned.ok, true, JSON.stringify(scanned.messages));
  assert.equal(scanned.result?.length, 1);
  const reassembled = second.blockDevice('sd0')!;
  const third = new Uint8Array(reassembled.sizeBytes);
  await reassembled.read(0, third);
  assert.ok(Buffer.from(third).equals(Buffer.from(pattern)), 'data intact after reassembly');
  await second.shutdown();
});

test('controller: refusals name the problem and change nothing', async () => {
  const { controller, chunks } = fixture({ a: 8 * MiB, b: 8 * MiB, c: 8 * MiB, tiny: 1 * MiB });
  const tooFew = await controller.create({ level: 'raid5', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false });
  assert.deepEqual(tooFew, { ok: false, messages: [{ type: 'error', text: 'not enough disks' }] });
  const missing = await controller.create({ level: 'raid1', chunkNames: ['a', 'nope'], force: false, noAutoAssemble: false });
  assert.equal(missing.ok, false);
  assert.match(missing.messages[0]!.text, /nope: No such file/);
  for (const chunk of chunks.values()) assert.equal(chunk.counters.writes, 0, `${chunk.name} untouched`);

  const made = await controller.create({ level: 'raid1', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false });
  assert.equal(made.ok, true);
  const writesBefore = chunks.get('c')!.counters.writes;
  const inUse = await controller.create({ level: 'raid1', chunkNames: ['c', 'a'], force: true, noAutoAssemble: false });
  assert.equal(inUse.ok, false);
  assert.match(inUse.messages[0]!.text, /chunk a already in use/);
  assert.equal(chunks.get('c')!.counters.writes, writesBefore);
  const spareInUse = await controller.addHotSpare('b');
  assert.match(spareInUse.messages[0]!.text, /chunk b already in use/);
  const notDegraded = await controller.rebuild('sd0', 'c');
  assert.deepEqual(notDegraded.messages, [{ type: 'error', text: 'volume not degraded' }]);
  const unknown = await controller.detach('sd9');
  assert.deepEqual(unknown.messages, [{ type: 'error', text: 'invalid device sd9' }]);
  await controller.shutdown();
});

test('controller: a create over one used and one blank chunk says how to assemble or overwrite, and writes nothing', async () => {
  const { controller, chunks } = fixture({ a: 8 * MiB, b: 8 * MiB, blank: 8 * MiB });
  await controller.create({ level: 'raid1', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false });
  assert.equal((await controller.detach('sd0')).ok, true);
  const writes = [...chunks.values()].map((chunk) => chunk.counters.writes);
  const mixed = await controller.create({ level: 'raid1', chunkNames: ['a', 'blank'], force: false, noAutoAssemble: false });
  assert.deepEqual(mixed.messages, [{ type: 'error', text: 'chunk blank has no softraid metadata; a holds softraid metadata: '
    + 'to assemble a volume, name all of its members; to create a new volume over them, use -C force' }]);
  assert.deepEqual([...chunks.values()].map((chunk) => chunk.counters.writes), writes);
  const forced = await controller.create({ level: 'raid1', chunkNames: ['a', 'blank'], force: true, noAutoAssemble: false });
  assert.equal(forced.ok, true, JSON.stringify(forced.messages));
  await controller.shutdown();
});

test('controller: an encrypted level it cannot serve is refused before a byte is written (a refused CRYPTO create used to leave its metadata on the chunks)', async () => {
  const { controller, chunks } = fixture({ a: 8 * MiB, b: 8 * MiB, c: 8 * MiB, d: 8 * MiB });
  const cases: { request: CreateRequest; text: string }[] = [
    { request: { level: 'crypto', chunkNames: ['a'], force: false, noAutoAssemble: false, crypto: { passphrase: new Uint8Array([1]) } },
      text: 'CRYPTO is not available here: this controller has no key vault' },
    { request: { level: 'raid1c', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false },
      text: 'RAID 1C is not available here: this controller has no key vault' },
  ];
  for (const { request, text } of cases) {
    const refused = await controller.create(request);
    assert.deepEqual(refused, { ok: false, messages: [{ type: 'error', text }] });
  }
  for (const chunk of chunks.values()) assert.equal(chunk.counters.writes, 0, `${chunk.name} untouched`);
  // The chunks are as good as new: a supported level creates on them.
  const made = await controller.create({ level: 'raid6', chunkNames: ['a', 'b', 'c', 'd'], force: false, noAutoAssemble: false });
  assert.equal(made.ok, true, JSON.stringify(made.messages));
  assert.equal(controller.inquire().volumes[0]!.level, 'raid6');
  await controller.shutdown();
});

test('controller: -R refuses a chunk that another volume still counts on (a detached volume\'s member), and writes nothing to it', async () => {
  const { controller, chunks } = fixture({ a: 4 * MiB, b: 4 * MiB, c: 4 * MiB, d: 4 * MiB, e: 4 * MiB });
  await controller.create({ level: 'raid1', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false });
  await controller.create({ level: 'raid1', chunkNames: ['c', 'd'], force: false, noAutoAssemble: false });
  const detachedUuid = controller.inquire().volumes[1]!.uuid;
  assert.equal((await controller.detach('sd1')).ok, true);
  assert.equal((await controller.setOffline('sd0', 'b')).ok, true);
  const writesBefore = chunks.get('c')!.counters.writes;
  const refused = await controller.rebuild('sd0', 'c');
  assert.deepEqual(refused, { ok: false, messages: [{ type: 'error',
    text: `chunk c holds metadata of RAID 1 volume sd1 (uuid ${detachedUuid}); it cannot become a member of sd0` }] });
  assert.equal(chunks.get('c')!.counters.writes, writesBefore, 'the detached volume\'s member is untouched');
  // A fresh chunk, or the volume's own member coming back, is rebuilt onto as before.
  const rebuilt = await controller.rebuild('sd0', 'e');
  assert.equal(rebuilt.ok, true, JSON.stringify(rebuilt.messages));
  // The detached volume still assembles from its untouched members.
  await waitFor(() => controller.inquire().volumes[0]!.state === 'Online', 'the rebuild onto e');
  const back = await controller.create({ level: 'raid1', chunkNames: ['c', 'd'], force: false, noAutoAssemble: false });
  assert.equal(back.ok, true, JSON.stringify(back.messages));
  assert.equal(controller.inquire().volumes.find((volume) => volume.uuid === detachedUuid)?.state, 'Online');
  await controller.shutdown();
});

test('controller: -O takes a member offline, -R rebuilds it by hand, -d keeps metadata', async () => {
  const { controller, chunks, events } = fixture({ a: 4 * MiB, b: 4 * MiB, c: 4 * MiB });
  await controller.create({ level: 'raid1', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false });
  const volume = controller.blockDevice('sd0')!;
  const data = new Uint8Array(volume.sizeBytes).fill(0x5a);
  await volume.write(0, data, { fua: true });
  const offline = await controller.setOffline('sd0', 'b');
  assert.equal(offline.ok, true, JSON.stringify(offline.messages));
  assert.equal(controller.inquire().volumes[0]!.state, 'Degraded');
  const rebuilt = await controller.rebuild('sd0', 'c');
  assert.equal(rebuilt.ok, true, JSON.stringify(rebuilt.messages));
  assert.deepEqual(rebuilt.messages, [{ type: 'warning', text: 'rebuild of sd0 started on c' }]);
  await waitFor(() => events.some((event) => event.name === 'RebuildFinished'), 'rebuild');
  assert.equal(controller.inquire().volumes[0]!.state, 'Online');
  const c = chunks.get('c')!;
  const dataOffsetBytes = 1 * MiB;
  assert.ok(c.current.subarray(dataOffsetBytes, dataOffsetBytes + data.length).every((byte) => byte === 0x5a), 'mirror copied onto c');
  const detached = await controller.detach('sd0');
  assert.equal(detached.ok, true);
  assert.equal(controller.inquire().volumes.length, 0);
  // Detached volumes are noauto: a scan skips them, an explicit -c assembles them.
  const scanned = await controller.scan(['a', 'c']);
  assert.equal(scanned.result?.length, 0);
  const assembled = await controller.create({ level: 'raid1', chunkNames: ['a', 'c'], force: false, noAutoAssemble: false });
  assert.equal(assembled.ok, true, JSON.stringify(assembled.messages));
  await controller.shutdown();
});

test('controller: the failed disk, put back in, becomes the new hot spare (-H); a live member never does', async () => {
  const { controller, events } = fixture({ a: 4 * MiB, b: 4 * MiB, spare: 4 * MiB, other1: 4 * MiB, other2: 4 * MiB });
  await controller.create({ level: 'raid1', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false });
  assert.equal((await controller.addHotSpare('spare')).ok, true);
  assert.equal((await controller.setOffline('sd0', 'b')).ok, true);
  await waitFor(() => events.some((event) => event.name === 'SpareActive'), 'the spare to take over');
  const readded = await controller.addHotSpare('b');
  assert.equal(readded.ok, true, JSON.stringify(readded.messages));
  assert.match(readded.messages[0]!.text, /chunk b held metadata of RAID 1 volume sd0 .*, overwritten/);
  assert.deepEqual(controller.inquire().hotSpares.map((spare) => spare.name), ['b']);
  // A member of a volume that is not assembled here is still refused.
  await controller.create({ level: 'raid1', chunkNames: ['other1', 'other2'], force: false, noAutoAssemble: false });
  await controller.detach('sd1');
  const foreign = await controller.addHotSpare('other1');
  assert.equal(foreign.ok, false);
  assert.match(foreign.messages[0]!.text, /chunk other1 holds metadata of RAID 1 volume sd1 .*cannot become a hot spare/);
  await controller.shutdown();
});

test('controller: a member failing while its metadata is written fails the request, not the controller', async () => {
  const { controller, chunks } = fixture({ a: 4 * MiB, b: 4 * MiB, c: 4 * MiB });
  chunks.get('b')!.faults = { writeErrorRate: 1 };
  const failed = await controller.create({ level: 'raid1', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false });
  assert.equal(failed.ok, false);
  assert.match(failed.messages[0]!.text, /^b: write error EIO/);
  assert.equal(controller.inquire().volumes.length, 0);
  // The controller still serves requests, and the chunks were released.
  const made = await controller.create({ level: 'raid1', chunkNames: ['a', 'c'], force: true, noAutoAssemble: false });
  assert.equal(made.ok, true, JSON.stringify(made.messages));
  await controller.shutdown();
});

test('controller: after a crash the resync of dirty regions runs at assembly and is logged', async () => {
  const { controller, chunks } = fixture({ a: 8 * MiB, b: 8 * MiB });
  await controller.create({ level: 'raid1', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false });
  const volume = controller.blockDevice('sd0')!;
  // FUA: durable at once, and no flush afterwards that could let the bitmap clean its bit.
  await volume.write(3 * MiB, new Uint8Array(64 * 1024).fill(7), { fua: true });
  // Power cut: no clean shutdown; the members keep what was made durable.
  for (const chunk of chunks.values()) chunk.crash();
  const logged: string[] = [];
  const after = new SoftraidController({
    openChunk: async (name) => { const chunk = chunks.get(name)!; chunk.reopen(); return chunk; },
    random: (bytes) => randomFillSync(bytes), clock: realClock,
    log: (message) => logged.push(message.text),
  });
  const scanned = await after.scan(['a', 'b']);
  assert.equal(scanned.ok, true, JSON.stringify(scanned.messages));
  assert.ok(scanned.messages.some((message) => /was not shutdown properly/.test(message.text)), JSON.stringify(scanned.messages));
  await waitFor(() => logged.some((line) => /^sd0: resync of [1-9]\d* dirty regions \(\d+ bytes\) finished in \d+ ms$/.test(line)),
    `the resync log line (logged: ${JSON.stringify(logged)})`);
  const back = new Uint8Array(64 * 1024);
  await after.blockDevice('sd0')!.read(3 * MiB, back);
  assert.ok(back.every((byte) => byte === 7));
  await after.shutdown();
});

test('controller: -R of a hot spare too small for the volume is refused and the spare stays in the pool', async () => {
  const { controller } = fixture({ a: 8 * MiB, b: 8 * MiB, small: 4 * MiB });
  await controller.create({ level: 'raid1', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false });
  const added = await controller.addHotSpare('small');
  assert.equal(added.ok, true, JSON.stringify(added.messages));
  assert.match(added.messages.map((message) => message.text).join('\n'), /cannot replace any of them/);
  assert.equal((await controller.setOffline('sd0', 'b')).ok, true);
  const refused = await controller.rebuild('sd0', 'small');
  assert.equal(refused.ok, false);
  assert.match(refused.messages.at(-1)!.text, /small partition too small, at least \d+ bytes required/);
  assert.deepEqual(controller.inquire().hotSpares.map((spare) => spare.name), ['small'], 'the refused spare is still a spare');
  assert.equal(controller.inquire().volumes[0]!.state, 'Degraded');
  await controller.shutdown();
});

test('controller: members\' I/O errors are counted in the views, and a replacement starts from zero', async () => {
  const { controller, chunks, events } = fixture({ a: 8 * MiB, b: 8 * MiB, c: 8 * MiB, d: 8 * MiB, e: 8 * MiB });
  await controller.create({ level: 'raid0', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false });
  await controller.create({ level: 'raid1', chunkNames: ['c', 'd'], force: false, noAutoAssemble: false });
  const raid0 = controller.blockDevice('sd0')!;
  chunks.get('b')!.faults = { readErrorRate: 1 };
  // RAID 0 has no redundancy: the read fails, the member stays, and its errors add up.
  for (let i = 0; i < 3; i++) await assert.rejects(raid0.read(0, new Uint8Array(raid0.sizeBytes)));
  const view = (device: string) => controller.inquire().volumes.find((volume) => volume.deviceName === device)!;
  assert.deepEqual(view('sd0').chunks.map((chunk) => chunk.ioErrors), [0, 3]);
  // RAID 1: the member's first error takes it out.
  chunks.get('d')!.disappeared = true;
  const raid1 = controller.blockDevice('sd1')!;
  await raid1.read(0, new Uint8Array(64 * 1024));
  assert.deepEqual(view('sd1').chunks.map((chunk) => [chunk.state, chunk.ioErrors]), [['Online', 0], ['Offline', 1]]);
  assert.equal((await controller.rebuild('sd1', 'e')).ok, true);
  await waitFor(() => events.some((event) => event.name === 'RebuildFinished'), 'rebuild');
  assert.deepEqual(view('sd1').chunks.map((chunk) => [chunk.name, chunk.ioErrors]), [['c', 0], ['e', 0]]);
  await controller.shutdown();
});
