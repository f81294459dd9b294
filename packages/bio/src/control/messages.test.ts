import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRequest, decodeResponse, peekRequestId } from './messages.js';
import { ControlProtocolError } from './errors.js';
import { encodeRequest, encodeResponse } from './serializer.js';
import { FrameParser } from './parser.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

test('a request round-trips through serializer, parser and decoder', () => {
  const frame = encodeRequest(7, { op: 'setstate', operation: 'offline', device: 'sd0', chunk: { kind: 'name', name: '/dev/loop3' } });
  const [body] = new FrameParser().push(frame);
  assert.deepEqual(decodeRequest(body!), {
    version: 1, id: 7, op: 'setstate', operation: 'offline', device: 'sd0', chunk: { kind: 'name', name: '/dev/loop3' },
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

const bad: Array<[string, string]> = [
  ['not json', 'frame body is not JSON'],
  ['[]', 'request must be an object'],
  ['{"version":2,"id":1,"op":"inquire"}', 'unsupported protocol version 2'],
  ['{"version":1,"id":0,"op":"inquire"}', 'id must be an integer'],
  ['{"version":1,"id":1.5,"op":"inquire"}', 'id must be an integer'],
  ['{"version":1,"id":1,"op":"format"}', 'op must be one of'],
  ['{"version":1,"id":1,"op":"locate","name":""}', 'name must be a non-empty string'],
  ['{"version":1,"id":1,"op":"locate","name":"sd0sd0sd0sd0sd0sd0"}', 'longer than 16 bytes'],
  ['{"version":1,"id":1,"op":"create","level":"raid4","chunks":[],"force":false,"noAutoAssemble":false}', 'level must be one of'],
  ['{"version":1,"id":1,"op":"create","level":"raid1","chunks":"a,b","force":false,"noAutoAssemble":false}', 'chunks must be an array'],
  ['{"version":1,"id":1,"op":"create","level":"raid1","chunks":["a"],"force":1,"noAutoAssemble":false}', 'force must be a boolean'],
  ['{"version":1,"id":1,"op":"setstate","operation":"online","device":"sd0","chunk":{"kind":"name","name":"/x"}}', 'operation must be one of'],
  ['{"version":1,"id":1,"op":"blink","function":"blink","channel":0,"target":300,"lun":0}', 'blink.target must be an integer'],
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
  assert.throws(() => decodeResponse(text(JSON.stringify({ version: 1, id: 1, bio_status: { controller: 'softraid0', status: 'success', messages } }))), /more than 16 messages/);
});
