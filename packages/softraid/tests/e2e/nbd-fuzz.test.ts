// 10,000 malformed sessions against one server over a Unix socket (seeded:
// set NBD_FUZZ_SEED to replay). The server must survive, drop or refuse each
// bad client alone, never write for a rejected request, and still serve a
// well-behaved client afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { NbdChunk } from '../../src/chunk/nbd.js';
import { MemoryBlockDevice, nbdUnixUri, startServer } from './nbd-helpers.js';

const SESSIONS = 10_000;
const CONCURRENCY = 48;
const DEVICE_BYTES = 1024 * 1024;
const PAYLOAD_BYTES_MAX = 64 * 1024;
/** Long enough that no mutation of the read-only export's name reaches it. */
const WRITABLE = 'writable-export-that-fuzzing-must-not-change';
const READ_ONLY = 'ro';

type Random = () => number;

function be32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

function header(type: number, flags: number, offsetBytes: number, lengthBytes: number, cookie: number): Buffer {
  const out = Buffer.alloc(28);
  out.writeUInt32BE(0x25609513, 0);
  out.writeUInt16BE(flags, 4);
  out.writeUInt16BE(type, 6);
  out.writeUInt32BE(cookie, 12);
  out.writeUInt32BE(Math.floor(offsetBytes / 2 ** 32), 16);
  out.writeUInt32BE(offsetBytes >>> 0, 20);
  out.writeUInt32BE(lengthBytes >>> 0, 24);
  return out;
}

function optionBytes(optionType: number, data: Buffer, claimedBytes = data.length): Buffer {
  return Buffer.concat([Buffer.from('IHAVEOPT'), be32(optionType), be32(claimedBytes), data]);
}

function goOption(exportName: string): Buffer {
  const name = Buffer.from(exportName);
  return optionBytes(7, Buffer.concat([be32(name.length), name, Buffer.from([0, 1, 0, 3])]));
}

function randomBytes(random: Random, count: number): Buffer {
  const out = Buffer.alloc(count);
  for (let index = 0; index < count; index++) out[index] = Math.floor(random() * 256);
  return out;
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** A request to the writable export that the server must reject, whatever it is. */
function rejectedRequest(random: Random, cookie: number): Buffer {
  const kind = Math.floor(random() * 9);
  const aligned = Math.floor(random() * (DEVICE_BYTES / 512)) * 512;
  switch (kind) {
    case 0: { // write past the end
      const length = 512 * (1 + Math.floor(random() * 8));
      return Buffer.concat([header(1, 0, DEVICE_BYTES - 512 + 512 * Math.floor(random() * 4) + 512, length, cookie), randomBytes(random, length)]);
    }
    case 1: { // misaligned write
      const length = 1 + Math.floor(random() * 1000);
      return Buffer.concat([header(1, 0, aligned + 1 + Math.floor(random() * 511), length, cookie), randomBytes(random, length)]);
    }
    case 2: { // oversized write, payload sent in part or whole
      const length = PAYLOAD_BYTES_MAX + 512 * (1 + Math.floor(random() * 64));
      return Buffer.concat([header(1, 0, 0, length, cookie), Buffer.alloc(Math.floor(random() * length))]);
    }
    case 3: // a claimed length of 4 GiB - 1 with a truncated payload
      return Buffer.concat([header(1, 0, 0, 0xffffffff, cookie), randomBytes(random, Math.floor(random() * 2000))]);
    case 4: { // write with an undefined flag
      const length = 512;
      return Buffer.concat([header(1, 1 << (5 + Math.floor(random() * 11)), aligned, length, cookie), randomBytes(random, length)]);
    }
    case 5: // write zeroes / trim out of range or misaligned
      return header(pick(random, [4, 6]), 0, pick(random, [DEVICE_BYTES, aligned + 3, 2 ** 60]), 4096, cookie);
    case 6: // unknown command
      return header(8 + Math.floor(random() * 65000), Math.floor(random() * 65536), aligned, Math.floor(random() * 65536), cookie);
    case 7: // read past the end or oversized, and harmless reads/flushes
      return pick(random, [header(0, 0, DEVICE_BYTES, 512, cookie), header(0, 0, 0, 0x7fffffff, cookie), header(0, 0, aligned, 512, cookie), header(3, 0, 0, 0, cookie)]);
    default: // a header with the wrong magic, or cut short
      return pick(random, [randomBytes(random, 28), header(0, 0, 0, 512, cookie).subarray(0, Math.floor(random() * 27))]);
  }
}

function mutate(random: Random, bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  const flips = 1 + Math.floor(random() * 4);
  for (let index = 0; index < flips; index++) { const at = Math.floor(random() * out.length); out[at] = (out[at] ?? 0) ^ (1 << Math.floor(random() * 8)); }
  return random() < 0.3 ? out.subarray(0, Math.floor(random() * out.length)) : out;
}

function session(random: Random): Buffer {
  const flags = be32(3);
  const kind = random();
  if (kind < 0.45) {
    const requests = Array.from({ length: 1 + Math.floor(random() * 6) }, (_, index) => rejectedRequest(random, index));
    return Buffer.concat([flags, goOption(WRITABLE), ...requests]);
  }
  if (kind < 0.75) {
    // A valid session against the read-only export, then mutated anywhere.
    const writes = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, index) =>
      Buffer.concat([header(pick(random, [1, 4, 6]), 0, 512 * index, 512, index), Buffer.alloc(512, 0xee)]));
    return mutate(random, Buffer.concat([flags, optionBytes(8, Buffer.alloc(0)), goOption(READ_ONLY), ...writes]));
  }
  if (kind < 0.9) {
    // Option haggling garbage: random options, lying lengths, huge claims.
    const options = Array.from({ length: 1 + Math.floor(random() * 5) }, () => {
      const data = randomBytes(random, Math.floor(random() * 64));
      const claimed = pick(random, [data.length, data.length + 7, 0xffffffff, Math.floor(random() * 100000)]);
      return optionBytes(Math.floor(random() * 16), data, claimed);
    });
    return Buffer.concat([pick(random, [flags, be32(Math.floor(random() * 2 ** 32))]), ...options]);
  }
  return randomBytes(random, Math.floor(random() * 200));
}

function runSession(socketPath: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.once('connect', () => socket.end(bytes));
    socket.setTimeout(10_000, () => socket.destroy());
    socket.once('close', () => resolve());
  });
}

function digest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

test(`the server survives ${SESSIONS} malformed sessions and writes nothing for them`, async () => {
  const seed = Number(process.env.NBD_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`nbd-fuzz seed ${seed} (replay with NBD_FUZZ_SEED=${seed})`);
  const fixture = await startServer({ limits: { payloadBytesMax: PAYLOAD_BYTES_MAX, handshakeTimeoutMs: 5000 } });
  try {
    const device = new MemoryBlockDevice(DEVICE_BYTES);
    for (let index = 0; index < DEVICE_BYTES; index++) device.data[index] = (index * 7 + 3) & 0xff;
    const before = digest(device.data);
    fixture.registry.set(WRITABLE, device);
    fixture.registry.set(READ_ONLY, new MemoryBlockDevice(DEVICE_BYTES, { readOnly: true }));
    const random = seededRandom(seed);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < SESSIONS) {
        next++;
        await runSession(fixture.socketPath, session(random));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    assert.equal(device.counters.writes + device.counters.zeroes + device.counters.trims, 0, `seed ${seed}: a rejected request reached the device`);
    assert.equal(digest(device.data), before, `seed ${seed}: device contents changed`);
    assert(fixture.protocolErrors.length > 0, 'some sessions were dropped for protocol errors');

    const chunk = await NbdChunk.open(nbdUnixUri(fixture.socketPath, WRITABLE), { requestTimeoutMs: 5000 });
    const data = Buffer.alloc(64 * 1024, 0x5a);
    await chunk.write(data, 128 * 1024);
    await chunk.flush();
    const back = Buffer.alloc(data.length);
    await chunk.read(back, 128 * 1024);
    assert(back.equals(data), `seed ${seed}: a well-behaved client after the fuzzing`);
    await chunk.close();
    const deadline = Date.now() + 5000;
    while (fixture.server.connectionCount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(fixture.server.connectionCount, 0, 'every fuzz connection was cleaned up');
  } finally {
    await fixture.cleanup();
  }
});
