import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRequest, decodeResponse, peekRequestId } from './messages.js';
import { ControlProtocolError } from './errors.js';
import { encodeRequest, encodeResponse } from './serializer.js';
import { FrameParser } from './parser.js';
import { seededRandom } from '@openbsd38/libutil/random.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

test('a request round-trips through serializer, parser and decoder', () => {
  const frame = encodeRequest(7, { op: 'setstate', operation: 'offline', device: 'sd0', chunk: { kind: 'name', name: '/dev/loop3' } });
  const [body] = new FrameParser().push(frame);
  assert.deepEqual(decodeRequest(body!), {
    version: 2, id: 7, op: 'setstate', operation: 'offline', device: 'sd0', chunk: { kind: 'name', name: '/dev/loop3' },
  });
});

test('a response round-trips with bio_status and result', () => {
  const frame = encodeResponse(3, { controller: 'softraid0', status: 'success', messages: [{ type: 'info', text: 'RAID 5 volume attached as sd0' }] }, { kind: 'volume' });
  const [body] = new FrameParser().push(frame);
  const response = decodeResponse(body!);
  assert.equal(response.id, 3);
  assert.equal(response.bio_status.messages[0]!.text, 'RAID 5 volume attached as sd0');
  assert.deepEqual(response.result, { kind: 'volume' });
});

test('passphrases travel in the secret section, never in the JSON, and come out as copies of their own', () => {
  const oldPassphrase = new TextEncoder().encode('correct horse');
  const newPassphrase = Buffer.from('battery staple'); // a Buffer too: its toJSON would list its bytes
  const frame = encodeRequest(5, { op: 'passphrase', device: 'sd0', oldPassphrase, newPassphrase, kdfRounds: 16 });
  const [body] = new FrameParser().push(frame);
  const end = body!.indexOf(0);
  assert.equal(new TextDecoder().decode(body!.subarray(0, end)),
    '{"version":2,"id":5,"op":"passphrase","device":"sd0","oldPassphrase":{"secret":0},"newPassphrase":{"secret":1},"kdfRounds":16}');
  assert.deepEqual([...body!.subarray(end + 1, end + 3)], [0, 13], 'a big-endian length before each secret');
  const request = decodeRequest(body!);
  assert.ok(request.op === 'passphrase');
  assert.equal(Buffer.from(request.oldPassphrase).toString(), 'correct horse');
  assert.equal(Buffer.from(request.newPassphrase).toString(), 'battery staple');
  for (const secret of [request.oldPassphrase, request.newPassphrase]) {
    assert.equal(secret.buffer.byteLength, secret.length, 'each secret has a buffer of its own (outside the heap, zeroable)');
  }
  const created = encodeRequest(6, { op: 'create', level: 'crypto', chunks: ['/a'], force: false, noAutoAssemble: true, crypto: { passphrase: oldPassphrase } });
  const decoded = decodeRequest(new FrameParser().push(created)[0]!);
  assert.ok(decoded.op === 'create');
  assert.equal(Buffer.from(decoded.crypto!.passphrase!).toString(), 'correct horse');
  assert.equal(Buffer.from(created).includes(Buffer.from('99,111,114')), false, 'no passphrase as JSON numbers');
});

test('secrets of every length and byte round-trip (seeded), whatever bytes they hold, NUL and newline included', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261203);
  const random = seededRandom(seed);
  for (let iteration = 0; iteration < 300; iteration++) {
    const bytes = (): Uint8Array => {
      const length = iteration < 4 ? [1, 2, 1023, 1024][iteration]! : 1 + Math.floor(random() * 1024);
      return Uint8Array.from({ length }, () => Math.floor(random() * 256));
    };
    const [oldPassphrase, newPassphrase] = [bytes(), bytes()];
    const frame = encodeRequest(iteration + 1, { op: 'passphrase', device: 'sd0', oldPassphrase, newPassphrase });
    const request = decodeRequest(new FrameParser().push(frame)[0]!);
    assert.ok(request.op === 'passphrase', `seed ${seed} iteration ${iteration}`);
    assert.deepEqual([request.oldPassphrase, request.newPassphrase], [oldPassphrase, newPassphrase], `seed ${seed} iteration ${iteration}`);
  }
});

const passphraseJson = '{"version":2,"id":1,"op":"passphrase","device":"sd0","oldPassphrase":{"secret":0},"newPassphrase":{"secret":1}}';
const section = (...secrets: string[]): string => `\0${secrets.map((secret) => String.fromCharCode(secret.length >> 8, secret.length & 0xff) + secret).join('')}`;
const badSecrets: Array<[string, string, string]> = [
  ['a passphrase as a JSON array', '{"version":2,"id":1,"op":"passphrase","device":"sd0","oldPassphrase":[97],"newPassphrase":[98]}', 'oldPassphrase must be {"secret": i}'],
  ['a reference past the secrets', passphraseJson + section('a'), 'newPassphrase must be {"secret": i}'],
  ['one secret for both fields', passphraseJson.replace('{"secret":1}', '{"secret":0}') + section('a', 'b'), 'secret 0 is already used'],
  ['a secret no field refers to', '{"version":2,"id":1,"op":"inquire"}' + section('a'), 'secret 0 is referred to by no field'],
  ['three secrets', passphraseJson + section('a', 'b', 'c'), 'more than 2 secrets'],
  ['an empty section', passphraseJson + '\0', 'secret section: empty'],
  ['a zero-length secret', passphraseJson + '\0\0\0', 'a secret of 0 bytes'],
  ['a length cut short', passphraseJson + '\0\0', 'a length cut short'],
  ['a secret cut short', passphraseJson + '\0\0\x05ab', 'a secret of 5 bytes with 2 left'],
];

for (const [what, body, message] of badSecrets) {
  test(`decodeRequest refuses ${what}`, () => {
    assert.throws(() => decodeRequest(Buffer.from(body, 'latin1')), (error: unknown) => error instanceof ControlProtocolError && error.message.includes(message));
  });
}

test('a secret of more than 1024 bytes is refused on both sides', () => {
  assert.throws(() => decodeRequest(Buffer.from(passphraseJson + section('x'.repeat(1025), 'b'), 'latin1')), /a secret of 1025 bytes/);
  assert.throws(() => encodeRequest(1, { op: 'passphrase', device: 'sd0', oldPassphrase: new Uint8Array(1025), newPassphrase: new Uint8Array(1) }), /a secret of 1025 bytes/);
});

const bad: Array<[string, string]> = [
  ['not json', 'frame body is not JSON'],
  ['[]', 'request must be an object'],
  ['{"version":1,"id":1,"op":"inquire"}', 'unsupported protocol version 1, this side speaks 2'],
  ['{"version":2,"id":0,"op":"inquire"}', 'id must be an integer'],
  ['{"version":2,"id":1.5,"op":"inquire"}', 'id must be an integer'],
  ['{"version":2,"id":1,"op":"format"}', 'op must be one of'],
  ['{"version":2,"id":1,"op":"locate","name":""}', 'name must be a non-empty string'],
  ['{"version":2,"id":1,"op":"locate","name":"sd0sd0sd0sd0sd0sd0"}', 'longer than 16 bytes'],
  ['{"version":2,"id":1,"op":"create","level":"raid4","chunks":[],"force":false,"noAutoAssemble":false}', 'level must be one of'],
  ['{"version":2,"id":1,"op":"create","level":"raid1","chunks":"a,b","force":false,"noAutoAssemble":false}', 'chunks must be an array'],
  ['{"version":2,"id":1,"op":"create","level":"raid1","chunks":["a"],"force":1,"noAutoAssemble":false}', 'force must be a boolean'],
  ['{"version":2,"id":1,"op":"setstate","operation":"online","device":"sd0","chunk":{"kind":"name","name":"/x"}}', 'operation must be one of'],
  ['{"version":2,"id":1,"op":"blink","function":"blink","channel":0,"target":300,"lun":0}', 'blink.target must be an integer'],
];

for (const [body, message] of bad) {
  test(`decodeRequest refuses ${body.slice(0, 60)}`, () => {
    assert.throws(() => decodeRequest(text(body)), (error: unknown) => error instanceof ControlProtocolError && error.message.includes(message));
  });
}

test('invalid UTF-8 is refused', () => {
  assert.throws(() => decodeRequest(Uint8Array.of(0x7b, 0xff, 0x7d)), /not UTF-8/);
});

test('peekRequestId finds the id of a malformed request, or nothing', () => {
  assert.equal(peekRequestId(text('{"id":9,"op":"nope"}')), 9);
  assert.equal(peekRequestId(text('garbage')), undefined);
  assert.equal(peekRequestId(text('{"id":-1}')), undefined);
});

test('a response with too many messages is refused', () => {
  const messages = Array.from({ length: 17 }, () => ({ type: 'info', text: 'x' }));
  assert.throws(() => decodeResponse(text(JSON.stringify({ version: 2, id: 1, bio_status: { controller: 'softraid0', status: 'success', messages } }))), /more than 16 messages/);
});
