// The client's parser of a server's simple replies (the NBD member backend
// talks to servers it does not control): replies built by hand, fed whole,
// split at every byte, and fuzzed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimpleReplyParser, type SimpleReply } from './reply-parser.js';
import { NbdProtocolError } from './parser.js';
import { seededRandom } from '@openbsd38/libutil/random.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

// Success for cookie 0:1 (a READ of 4 bytes "abcd"), an EIO error for cookie 0:2 (a READ: no data follows),
// success for cookie 0:3 (a WRITE: no data).
const STREAM = Buffer.concat([
  hex('67446698 00000000 00000000 00000001 61626364'),
  hex('67446698 00000005 00000000 00000002'),
  hex('67446698 00000000 00000000 00000003'),
]);

interface Outcome {
  replies: SimpleReply[];
  payloads: Map<number, Buffer>;
}

/** Feeds `pieces`; READ cookies 1 and 2 want 4 bytes each, anything else none. */
function feed(pieces: readonly Buffer[], bufferedBytesMax = 1 << 20): Outcome {
  const parser = new SimpleReplyParser(bufferedBytesMax);
  const payloads = new Map<number, Buffer>([[1, Buffer.alloc(4)], [2, Buffer.alloc(4)]]);
  const replies: SimpleReply[] = [];
  for (const piece of pieces) {
    parser.push(piece);
    for (let reply = parser.next((hi, lo) => (hi === 0 ? payloads.get(lo) : undefined)); reply !== undefined;
      reply = parser.next((hi, lo) => (hi === 0 ? payloads.get(lo) : undefined))) {
      replies.push(reply);
    }
  }
  return { replies, payloads };
}

function checkStream(outcome: Outcome): void {
  assert.deepEqual(outcome.replies, [
    { error: 0, cookieHi: 0, cookieLo: 1 },
    { error: 5, cookieHi: 0, cookieLo: 2 },
    { error: 0, cookieHi: 0, cookieLo: 3 },
  ]);
  assert.equal(outcome.payloads.get(1)!.toString('latin1'), 'abcd');
  // An error reply carries no data: its buffer is untouched.
  assert.deepEqual(outcome.payloads.get(2), Buffer.alloc(4));
}

test('reply parser: replies whole, byte by byte, and split at every point give the same replies and data', () => {
  checkStream(feed([STREAM]));
  checkStream(feed([...STREAM].map((byte) => Buffer.from([byte]))));
  for (let split = 1; split < STREAM.length; split++) checkStream(feed([STREAM.subarray(0, split), STREAM.subarray(split)]));
});

test('reply parser: a wrong magic and a stream beyond the buffer limit are protocol errors', () => {
  assert.throws(() => feed([hex('67446699 00000000 00000000 00000003')]), (error: unknown) =>
    error instanceof NbdProtocolError && /wrong magic/.test(error.message));
  // A structured reply (the client never asks for them) is a wrong magic too.
  assert.throws(() => feed([hex('668e33ef 0001 0000 0000000000000003 00000000')]), NbdProtocolError);
  assert.throws(() => feed([STREAM], STREAM.length - 1), (error: unknown) =>
    error instanceof NbdProtocolError && /buffer limit/.test(error.message));
});

test('reply parser fuzz: mangled streams in random pieces give replies or a protocol error, never anything else', () => {
  const random = seededRandom(0xbadc0de);
  for (let round = 0; round < 3000; round++) {
    const bytes = Buffer.from(STREAM);
    for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    const cut = random() < 0.3 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
    const pieces: Buffer[] = [];
    for (let at = 0; at < cut.length;) {
      const length = 1 + Math.floor(random() * 12);
      pieces.push(cut.subarray(at, at + length));
      at += length;
    }
    let outcome: Outcome;
    try {
      outcome = feed(pieces);
    } catch (error) {
      assert.ok(error instanceof NbdProtocolError, `round ${round}: ${String(error)}`);
      continue;
    }
    // Whatever came out is well formed: at most the three replies' worth, each a 32-bit error and cookie.
    assert.ok(outcome.replies.length <= 3, `round ${round}: ${outcome.replies.length} replies from ${STREAM.length} bytes`);
    for (const reply of outcome.replies) {
      for (const field of [reply.error, reply.cookieHi, reply.cookieLo]) assert.ok(Number.isInteger(field) && field >= 0 && field <= 0xffffffff);
    }
    for (const payload of outcome.payloads.values()) assert.equal(payload.length, 4, 'a payload buffer never changes size');
  }
});
