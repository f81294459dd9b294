// bioctl tells a peer that is not softraidd from the first bytes it sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notControlReply } from './client.js';
import { encodeResponse } from './serializer.js';
import { seededRandom } from '@openbsd38/libutil/random.js';

test('an NBD greeting, an HTTP reply and an oversized length are no control reply; a real reply is', () => {
  const nbd = Buffer.concat([Buffer.from('NBDMAGIC'), Buffer.from('IHAVEOPT'), Buffer.from([0, 3])]);
  assert.match(notControlReply(nbd) ?? '', /^it speaks NBD/);
  assert.equal(notControlReply(Buffer.from('HTTP/1.1 400 Bad Request\r\n')), 'it speaks HTTP');
  assert.match(notControlReply(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')) ?? '', /^its first bytes \("SSH-2\.0-"\) are no control reply$/);
  const reply = encodeResponse(1, { controller: 'softraid0', status: 'success', messages: [] });
  assert.equal(notControlReply(reply), null);
  assert.equal(notControlReply(reply.subarray(0, 2)), null, 'a reply cut short may still be one');
});

test('fuzzed first bytes: judged without throwing, and every reply softraidd could send passes', () => {
  const random = seededRandom(0xc11e);
  for (let round = 0; round < 3000; round++) {
    const bytes = Uint8Array.from({ length: Math.floor(random() * 24) }, () => Math.floor(random() * 256));
    const verdict = notControlReply(bytes);
    assert.ok(verdict === null || typeof verdict === 'string');
    const text = 'x'.repeat(Math.floor(random() * 1000));
    assert.equal(notControlReply(encodeResponse(round + 1, { controller: 'softraid0', status: 'error', messages: [{ type: 'error', text }] })), null);
  }
});
