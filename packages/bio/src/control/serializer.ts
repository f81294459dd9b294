// Pure functions from messages to frames: a 4-byte big-endian body length,
// then the body as UTF-8 JSON.
import { assert } from '@openbsd38/libutil/assert.js';
import { ControlProtocolError } from './errors.js';
import { controlProtocolVersion, frameBodyBytesMax, frameHeaderBytes } from './protocol.js';
import type { BioStatus, Request, RequestBody, Response } from './messages.js';

export function encodeFrame(body: Uint8Array): Uint8Array {
  assert(body.length <= frameBodyBytesMax, `frame body of ${body.length} bytes exceeds ${frameBodyBytesMax}`);
  const frame = new Uint8Array(frameHeaderBytes + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, false);
  frame.set(body, frameHeaderBytes);
  return frame;
}

/** Throws ControlProtocolError when the message does not fit in one frame (an operating error: e.g. a huge inquiry). */
function encodeJson(value: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(value));
  if (body.length > frameBodyBytesMax) throw new ControlProtocolError(`message of ${body.length} bytes exceeds the frame limit of ${frameBodyBytesMax} bytes`);
  return encodeFrame(body);
}

export function encodeRequest(id: number, body: RequestBody): Uint8Array {
  const request: Request = { version: controlProtocolVersion, id, ...body };
  return encodeJson(request);
}

export function encodeResponse(id: number, bioStatus: BioStatus, result?: unknown): Uint8Array {
  const response: Response = { version: controlProtocolVersion, id, bio_status: bioStatus };
  if (result !== undefined) response.result = result;
  return encodeJson(response);
}
