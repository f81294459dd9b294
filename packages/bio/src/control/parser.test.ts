import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameParser } from './parser.js';
import { ControlProtocolError } from './errors.js';
import { decodeRequest, decodeResponse } from './messages.js';
import { frameHeaderBytes } from './protocol.js';
import { seededRandom } from '@openbsd38/libutil/random.js';

/** Fixture frames built by hand, not by the production serializer. */
function frame(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}


const bodies = [
  '{"version":2,"id":1,"op":"inquire"}',
  '{"version":2,"id":2,"op":"locate","name":"sd0"}',
  '',
  '{"version":2,"id":3,"op":"create","level":"raid5","chunks":["/a","/b","/c"],"force":false,"noAutoAssemble":true}',
  // A request with a secret section: two passphrases after the NUL, each a 2-byte length and its bytes.
  '{"version":2,"id":4,"op":"passphrase","device":"sd0","oldPassphrase":{"secret":0},"newPassphrase":{"secret":1}}\0\0\x03abc\0\x02de',
];

test('every split of a stream of frames yields the same frames', () => {
  const stream = Buffer.concat(bodies.map(frame));
  for (let first = 0; first <= stream.length; first++) {
    for (const second of [first, Math.min(stream.length, first + 1), Math.min(stream.length, first + 7), stream.length]) {
      const parser = new FrameParser();
      const got = [
        ...parser.push(stream.subarray(0, first)),
        ...parser.push(stream.subarray(first, second)),
        ...parser.push(stream.subarray(second)),
      ].map((body) => Buffer.from(body).toString('utf8'));
      assert.deepEqual(got, bodies, `split at ${first}/${second}`);
      assert.equal(parser.bufferedBytes, 0);
    }
  }
});

test('byte-at-a-time delivery yields the same frames', () => {
  const stream = Buffer.concat(bodies.map(frame));
  const parser = new FrameParser();
  const got: string[] = [];
  for (const byte of stream) got.push(...parser.push(Uint8Array.of(byte)).map((body) => Buffer.from(body).toString('utf8')));
  assert.deepEqual(got, bodies);
});

test('a partial frame is kept for the next push', () => {
  const parser = new FrameParser();
  const whole = frame(bodies[0]!);
  assert.deepEqual(parser.push(whole.subarray(0, 10)), []);
  assert.equal(parser.bufferedBytes, 10 - frameHeaderBytes);
  assert.equal(parser.push(whole.subarray(10)).length, 1);
});

test('an oversized header is refused before its body is buffered', () => {
  const parser = new FrameParser(100);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(101, 0);
  assert.throws(() => parser.push(header), ControlProtocolError);
  assert.throws(() => parser.push(Buffer.from('x')), ControlProtocolError);
  const exact = new FrameParser(100);
  header.writeUInt32BE(100, 0);
  assert.deepEqual(exact.push(header), []);
  assert.equal(exact.push(Buffer.alloc(100)).length, 1);
});

test('frames returned do not alias the pushed buffer', () => {
  const parser = new FrameParser();
  const stream = frame('{"a":1}');
  const [body] = parser.push(stream);
  stream.fill(0);
  assert.equal(Buffer.from(body!).toString(), '{"a":1}');
});

// Fuzz: seeded random and mutated inputs, split at random points. The only
// acceptable failure is ControlProtocolError; the buffer stays bounded.
test('fuzz: 12,000 seeded malformed inputs never crash the parser or the decoders', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261127);
  const random = seededRandom(seed);
  const bodyBytesMax = 256;
  const valid = Buffer.concat(bodies.map(frame));
  let framesSeen = 0;
  for (let iteration = 0; iteration < 12_000; iteration++) {
    let input: Buffer;
    const shape = iteration % 3;
    if (shape === 0) {
      input = Buffer.alloc(Math.floor(random() * 300));
      for (let i = 0; i < input.length; i++) input[i] = Math.floor(random() * 256);
    } else if (shape === 1) {
      input = Buffer.from(valid);
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
    } else {
      const text = bodies[Math.floor(random() * bodies.length)]!;
      const cut = Math.floor(random() * (text.length + 1));
      input = frame(text.slice(0, cut) + String.fromCharCode(Math.floor(random() * 128)) + text.slice(cut + 1));
    }
    const parser = new FrameParser(bodyBytesMax);
    let offset = 0;
    try {
      while (offset < input.length) {
        const size = 1 + Math.floor(random() * 40);
        for (const body of parser.push(input.subarray(offset, offset + size))) {
          framesSeen++;
          for (const decode of [decodeRequest, decodeResponse]) {
            try {
              decode(body);
            } catch (error) {
              assert.ok(error instanceof ControlProtocolError, `seed ${seed} iteration ${iteration}: ${String(error)}`);
            }
          }
        }
        offset += size;
        assert.ok(parser.bufferedBytes <= frameHeaderBytes + bodyBytesMax, `seed ${seed} iteration ${iteration}: buffer unbounded`);
      }
    } catch (error) {
      assert.ok(error instanceof ControlProtocolError, `seed ${seed} iteration ${iteration}: ${String(error)}`);
    }
  }
  assert.ok(framesSeen > 1000, `the fuzzer should reach the decoders often (${framesSeen})`);
});
