// Pure functions from messages to frames: a 4-byte big-endian body length,
// then the body as UTF-8 JSON, and for a request carrying passphrases their
// bytes in the secret section after it (secret-section.ts).
import { assert } from '@openbsd38/libutil/assert.js';
import { ControlProtocolError } from './errors.js';
import { joinSecretSection, type SecretReference } from './secret-section.js';
import { controlProtocolVersion, frameBodyBytesMax, frameHeaderBytes } from './protocol.js';
import type { BioStatus, Request, RequestBody, Response } from './messages.js';

export function encodeFrame(body: Uint8Array): Uint8Array {
  assert(body.length <= frameBodyBytesMax, `frame body of ${body.length} bytes exceeds ${frameBodyBytesMax}`);
  const frame = new Uint8Array(frameHeaderBytes + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, false);
  frame.set(body, frameHeaderBytes);
  return frame;
}

function checkFits(body: Uint8Array): void {
  if (body.length > frameBodyBytesMax) throw new ControlProtocolError(`message of ${body.length} bytes exceeds the frame limit of ${frameBodyBytesMax} bytes`);
}

/** Throws ControlProtocolError when the message does not fit in one frame (an operating error: e.g. a huge inquiry). */
function encodeJson(value: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(value));
  checkFits(body);
  return encodeFrame(body);
}

/**
 * A request's frame. Every byte array in it (a passphrase) goes to the secret
 * section, its place in the JSON taken by {"secret": i}; the caller zeroes
 * its arrays and the frame after sending.
 */
export function encodeRequest(id: number, body: RequestBody): Uint8Array {
  const request: Request = { version: controlProtocolVersion, id, ...body };
  const secrets: Uint8Array[] = [];
  // `this[key]` is the value before toJSON, so a Buffer (whose toJSON lists its bytes) is caught too.
  const text = JSON.stringify(request, function (this: Record<string, unknown>, key: string, value: unknown): unknown {
    const original = this[key];
    if (!(original instanceof Uint8Array)) return value;
    const reference: SecretReference = { secret: secrets.length };
    secrets.push(original);
    return reference;
  });
  const withSecrets = joinSecretSection(new TextEncoder().encode(text), secrets);
  checkFits(withSecrets);
  const frame = encodeFrame(withSecrets);
  withSecrets.fill(0);
  return frame;
}

export function encodeResponse(id: number, bioStatus: BioStatus, result?: unknown): Uint8Array {
  const response: Response = { version: controlProtocolVersion, id, bio_status: bioStatus };
  if (result !== undefined) response.result = result;
  return encodeJson(response);
}
