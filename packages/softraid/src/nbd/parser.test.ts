// The client-stream parser: frames built by hand (not by the serializer),
// fed whole, byte by byte and split at every possible point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientStreamParser, NbdProtocolError } from './parser.js';
import type { ClientFrame, ParserPhase } from './messages.js';

const LIMITS = { optionBytesMax: 64, payloadBytesMax: 1024, bufferedBytesMax: 1 << 20 };

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

// WRITE, flags FUA, cookie 0x0102030405060708, offset 0x1_0000_0200, length 4, data "abcd"
const WRITE_FRAME = hex('25609513 0001 0001 0102030405060708 0000000100000200 00000004 61626364');
// READ, flags 0, cookie ffffffff00000001, offset 512, length 4096
const READ_FRAME = hex('25609513 0000 0000 ffffffff00000001 0000000000000200 00001000');
// Option GO with 3 bytes of data "xyz"
const OPTION_FRAME = hex('49484156454f5054 00000007 00000003 78797a');

function collect(parser: ClientStreamParser, pieces: Buffer[]): ClientFrame[] {
  const frames: ClientFrame[] = [];
  for (const piece of pieces) {
    parser.push(piece);
    for (let frame = parser.next(); frame !== undefined; frame = parser.next()) frames.push(frame);
  }
  return frames;
}

function parse(phase: ParserPhase, pieces: Buffer[]): ClientFrame[] {
  const parser = new ClientStreamParser(LIMITS);
  parser.phase = phase;
  return collect(parser, pieces);
}

function checkRequests(frames: ClientFrame[]): void {
  assert.equal(frames.length, 2);
  const [write, read] = frames;
  assert(write?.kind === 'request' && read?.kind === 'request');
  assert.equal(write.type, 1);
  assert.equal(write.flags, 1);
  assert.equal(write.cookieHi, 0x01020304);
  assert.equal(write.cookieLo, 0x05060708);
  assert.equal(write.offsetBytes, 0x100000200);
  assert.equal(write.lengthBytes, 4);
  assert.equal(write.payload?.toString('latin1'), 'abcd');
  assert.equal(read.type, 0);
  assert.equal(read.cookieHi, 0xffffffff);
  assert.equal(read.offsetBytes, 512);
  assert.equal(read.lengthBytes, 4096);
  assert.equal(read.payload, undefined);
}

test('requests parse whole, byte by byte, and split at every point', () => {
  const stream = Buffer.concat([WRITE_FRAME, READ_FRAME]);
  checkRequests(parse('request', [stream]));
  checkRequests(parse('request', [...stream].map((byte) => Buffer.from([byte]))));
  for (let cut = 1; cut < stream.length; cut++) {
    checkRequests(parse('request', [stream.subarray(0, cut), stream.subarray(cut)]));
  }
});

test('an option parses split at every point, and the client flags before it', () => {
  for (let cut = 0; cut <= OPTION_FRAME.length; cut++) {
    const frames = parse('option', [OPTION_FRAME.subarray(0, cut), OPTION_FRAME.subarray(cut)]);
    assert.equal(frames.length, 1);
    const [frame] = frames;
    assert(frame?.kind === 'option');
    assert.equal(frame.option, 7);
    assert.equal(frame.data.toString('latin1'), 'xyz');
    assert.equal(frame.oversized, false);
  }
  const flags = parse('clientFlags', [hex('00000003')]);
  assert.deepEqual(flags, [{ kind: 'clientFlags', flags: 3 }]);
});

test('a WRITE over the payload limit is skipped without being stored, and the stream stays in sync', () => {
  const big = Buffer.alloc(28 + 4096);
  hex('25609513 0000 0001 0000000000000009 0000000000000000 00001000').copy(big);
  const stream = Buffer.concat([big, READ_FRAME]);
  for (const pieces of [[stream], [stream.subarray(0, 100), stream.subarray(100, 3000), stream.subarray(3000)]]) {
    const frames = parse('request', pieces);
    assert.equal(frames.length, 2);
    const [write, read] = frames;
    assert(write?.kind === 'request' && read?.kind === 'request');
    assert.equal(write.payloadDiscarded, true);
    assert.equal(write.payload, undefined);
    assert.equal(read.lengthBytes, 4096);
  }
});

test('an oversized option is skipped and flagged', () => {
  const data = Buffer.alloc(100, 0x41);
  const header = hex('49484156454f5054 00000003 00000064');
  const frames = parse('option', [header, data.subarray(0, 50), data.subarray(50), OPTION_FRAME]);
  assert.equal(frames.length, 2);
  assert(frames[0]?.kind === 'option' && frames[0].oversized && frames[0].data.length === 0);
  assert(frames[1]?.kind === 'option' && frames[1].data.toString('latin1') === 'xyz');
});

test('wrong magic is a protocol error; the buffer limit holds', () => {
  assert.throws(() => parse('request', [hex('25609514 0000 0000 0000000000000000 0000000000000000 00000000')]), NbdProtocolError);
  assert.throws(() => parse('option', [hex('49484156454f5055 00000001 00000000')]), NbdProtocolError);
  const parser = new ClientStreamParser({ ...LIMITS, bufferedBytesMax: 10 });
  parser.phase = 'request';
  parser.push(Buffer.alloc(10));
  assert.throws(() => parser.push(Buffer.alloc(1)), NbdProtocolError);
});

test('pushed payloads never alias the pushed bytes (the receive buffer is reused)', () => {
  const frame = Buffer.from(WRITE_FRAME);
  const whole = parse('request', [frame]);
  const split = parse('request', [frame.subarray(0, 30), frame.subarray(30)]);
  frame[28] = 0x7a; // 'a' -> 'z' in the source bytes
  assert(whole[0]?.kind === 'request' && split[0]?.kind === 'request');
  assert.equal(whole[0].payload?.toString('latin1'), 'abcd');
  assert.equal(split[0].payload?.toString('latin1'), 'abcd');
});

/** A WRITE request header built by hand, then `lengthBytes` of payload bytes (index * 7 + seed). */
function writeFrame(cookieLo: number, lengthBytes: number, seed: number): Buffer {
  const frame = Buffer.alloc(28 + lengthBytes);
  hex('25609513 0000 0001 00000000').copy(frame);
  frame.writeUInt32BE(cookieLo, 12);
  frame.writeUInt32BE(lengthBytes, 24);
  for (let index = 0; index < lengthBytes; index++) frame[28 + index] = (index * 7 + seed) & 0xff;
  return frame;
}

/** Feeds `stream` through readTarget()/received() in reads of at most the given sizes (cycled), like a socket. */
function readDirect(parser: ClientStreamParser, stream: Buffer, readSizes: number[], onTarget?: (target: Buffer) => void): ClientFrame[] {
  const frames: ClientFrame[] = [];
  let at = 0;
  for (let step = 0; at < stream.length; step++) {
    const target = parser.readTarget();
    onTarget?.(target);
    assert(target.length > 0, 'a read target is never empty');
    const lengthBytes = Math.min(target.length, stream.length - at, readSizes[step % readSizes.length]!);
    stream.copy(target, 0, at, at + lengthBytes);
    at += lengthBytes;
    parser.received(target, lengthBytes);
    for (let frame = parser.next(); frame !== undefined; frame = parser.next()) frames.push(frame);
  }
  return frames;
}

test('direct reads: large WRITE payloads land in their own buffer, small ones are copied out, at every read size', () => {
  const sizes = [0, 512, 4096, 64 * 1024, 200 * 1024 + 512, 1024 * 1024];
  const stream = Buffer.concat([...sizes.map((size, index) => writeFrame(index, size, index)), READ_FRAME]);
  for (const readSizes of [[stream.length], [27, 29], [65536], [100_000, 3], [13, 300_000]]) {
    const parser = new ClientStreamParser({ ...LIMITS, payloadBytesMax: 2 * 1024 * 1024 });
    parser.phase = 'request';
    const directTargets: Buffer[] = [];
    const frames = readDirect(parser, stream, readSizes, (target) => directTargets.push(target));
    assert.equal(frames.length, sizes.length + 1, `reads of ${readSizes.join('/')}`);
    for (const [index, size] of sizes.entries()) {
      const frame = frames[index];
      assert(frame?.kind === 'request' && frame.payload !== undefined);
      assert.equal(frame.cookieLo, index);
      assert(frame.payload.equals(writeFrame(index, size, index).subarray(28)), `payload ${index} (${size} bytes), reads of ${readSizes.join('/')}`);
    }
    const last = frames[sizes.length];
    assert(last?.kind === 'request' && last.type === 0 && last.lengthBytes === 4096);
    // The 1 MiB payload was read into its own buffer (never through the receive buffer) once reads were large.
    const big = frames[sizes.length - 1];
    assert(big?.kind === 'request' && big.payload !== undefined);
    if (readSizes[0]! >= 65536) {
      assert(directTargets.some((target) => target.buffer === big.payload!.buffer), 'the big payload was a read target');
    }
  }
});

test('direct reads: a target handed out while reading is paused stays valid while frames are consumed', () => {
  const parser = new ClientStreamParser(LIMITS);
  parser.phase = 'request';
  const stream = Buffer.concat([READ_FRAME, READ_FRAME, WRITE_FRAME]);
  const first = parser.readTarget();
  stream.copy(first, 0, 0, 40);
  parser.received(first, 40);
  // Paused: the socket asks for its next target before the frames are taken.
  const second = parser.readTarget();
  assert(parser.next()?.kind === 'request');
  stream.copy(second, 0, 40);
  parser.received(second, stream.length - 40);
  const rest = [parser.next(), parser.next(), parser.next()];
  assert(rest[0]?.kind === 'request' && rest[0].type === 0);
  assert(rest[1]?.kind === 'request' && rest[1].payload?.toString('latin1') === 'abcd');
  assert.equal(rest[2], undefined);
  assert.equal(parser.pendingBytes, 0);
});

test('direct reads: the buffered limit holds', () => {
  const parser = new ClientStreamParser({ ...LIMITS, bufferedBytesMax: 100 });
  parser.phase = 'request';
  const target = parser.readTarget();
  assert.throws(() => parser.received(target, 101), NbdProtocolError);
});
