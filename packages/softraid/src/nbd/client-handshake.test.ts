// The NBD client's handshake against a scripted server: what a member's
// server advertises is checked before any I/O. A block size outside the
// spec (doc/proto.md, "Block size constraints") is refused at connect; one
// with a maximum payload below a sector once made every request loop
// forever splitting itself into pieces of 0 bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NbdClientConnection, NbdClientError } from './client.js';
import { seededRandom } from '@openbsd38/libutil/random.js';

const MiB = 1024 * 1024;
const options = { connectTimeoutMs: 2000, requestTimeoutMs: 2000, requestsInFlightMax: 8 };

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

function u64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(value));
  return b;
}

/** An option reply to NBD_OPT_GO (7). */
function goReply(type: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from('0003e889045565a9', 'hex'), u32(7), u32(type), u32(data.length), data]);
}

const GREETING = Buffer.concat([Buffer.from('NBDMAGIC', 'latin1'), Buffer.from('IHAVEOPT', 'latin1'), u16(0x0003)]);
const EXPORT_INFO = goReply(3, Buffer.concat([u16(0), u64(64 * MiB), u16(0x0001)]));
const ACK = goReply(1, Buffer.alloc(0));

function blockSizeInfo(minimum: number, preferred: number, maximum: number): Buffer {
  return goReply(3, Buffer.concat([u16(3), u32(minimum), u32(preferred), u32(maximum)]));
}

/**
 * A server that answers every connection with `script` (by default the
 * greeting and `replies`), whatever the client says; `thenClose` ends the
 * connection after it.
 */
async function scriptedServer(replies: Buffer, script = Buffer.concat([GREETING, replies]), thenClose = false): Promise<{ path: string; server: Server; directory: string }> {
  const directory = mkdtempSync(join(tmpdir(), 'nbd-handshake-'));
  const path = join(directory, 'server.sock');
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    if (thenClose) socket.end(script);
    else socket.write(script);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, server, directory };
}

async function connectTo(replies: Buffer): Promise<NbdClientConnection> {
  const { path, server, directory } = await scriptedServer(replies);
  try {
    return await NbdClientConnection.connect({ kind: 'unix', path }, 'x', options);
  } finally {
    server.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

test('NBD client: block sizes within the spec are taken, the payload capped at 32 MiB', async () => {
  const connection = await connectTo(Buffer.concat([EXPORT_INFO, blockSizeInfo(512, 4096, 0xffffffff), ACK]));
  assert.equal(connection.sizeBytes, 64 * MiB);
  assert.equal(connection.blockSizeMinBytes, 512);
  assert.equal(connection.blockSizePreferredBytes, 4096);
  assert.equal(connection.payloadBytesMax, 32 * MiB);
  await connection.close();
  const small = await connectTo(Buffer.concat([EXPORT_INFO, blockSizeInfo(1, 512, 4096), ACK]));
  assert.equal(small.payloadBytesMax, 4096);
  await small.close();
});

test('NBD client: block sizes outside the spec are refused at connect, naming the values', async () => {
  for (const [minimum, preferred, maximum, problem] of [
    [0, 4096, 32 * MiB, /minimum block size 0/],
    [3, 4096, 32 * MiB, /minimum block size 3/],
    [128 * 1024, 128 * 1024, 32 * MiB, /minimum block size 131072/],
    [512, 256, 32 * MiB, /preferred block size 256/],
    [512, 3000, 32 * MiB, /preferred block size 3000/],
    [512, 4096, 0, /maximum payload 0/],
    [512, 4096, 100, /maximum payload 100/],
    [512, 4096, 1024, /maximum payload 1024/],
    [4096, 4096, 6144, /maximum payload 6144/],
  ] as const) {
    await assert.rejects(connectTo(Buffer.concat([EXPORT_INFO, blockSizeInfo(minimum, preferred, maximum), ACK])), (error: unknown) => {
      assert.ok(error instanceof NbdClientError, String(error));
      assert.equal(error.errno, 'EIO');
      assert.match(error.message, problem);
      return true;
    }, `${minimum}/${preferred}/${maximum}`);
  }
});

test('NBD client fuzz: a mangled handshake connects with sizes in the spec or fails with NbdClientError, never anything else', async () => {
  const random = seededRandom(0x4e4244);
  const valid = Buffer.concat([GREETING, EXPORT_INFO, blockSizeInfo(512, 4096, 32 * MiB), ACK]);
  let connected = 0;
  let refused = 0;
  for (let round = 0; round < 150; round++) {
    const script = Buffer.from(valid);
    for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) script[Math.floor(random() * script.length)] = Math.floor(random() * 256);
    const { path, server, directory } = await scriptedServer(Buffer.alloc(0), script, true);
    try {
      const connection = await NbdClientConnection.connect({ kind: 'unix', path }, 'x', { ...options, connectTimeoutMs: 500 });
      connected++;
      assert.ok(Number.isSafeInteger(connection.sizeBytes) && connection.sizeBytes >= 0);
      assert.ok(connection.payloadBytesMax >= 512 && connection.payloadBytesMax % connection.blockSizeMinBytes === 0,
        `round ${round}: payload ${connection.payloadBytesMax}, minimum ${connection.blockSizeMinBytes}`);
      await connection.close();
    } catch (error) {
      assert.ok(error instanceof NbdClientError, `round ${round}: ${String(error)}`);
      refused++;
    } finally {
      server.close();
      rmSync(directory, { recursive: true, force: true });
    }
  }
  assert.ok(connected > 0 && refused > 0, `${connected} connected, ${refused} refused: the fuzz reaches both outcomes`);
});
