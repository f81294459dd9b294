// A frame body's secret section: the bytes of passphrases, kept out of the
// JSON so that no JavaScript string or array ever holds them (the daemon
// could not zero those: strings are immutable and the heap copies them).
//
//   body    = JSON text [ 0x00 section ]
//   section = { length: uint16 big-endian, 1..passphraseBytesMax; bytes }*
//
// In the JSON a secret is {"secret": i}, i its place in the section. JSON
// text never holds a raw 0x00 (JSON.stringify writes U+0000 as \u0000), so
// the first 0x00 ends it. Every secret in the section must be referred to
// exactly once: stray bytes are refused, not carried.
import { secretBytes, secretCopy } from '@openbsd38/libutil/secret-bytes.js';
import { ControlProtocolError } from './errors.js';
import { passphraseBytesMax } from './protocol.js';

const lengthBytes = 2;
/** Secrets one request may carry (bioctl -P: the old passphrase and the new). */
export const secretsPerFrameMax = 2;

/** Wire form of a reference to secret `index`. */
export interface SecretReference {
  secret: number;
}

/**
 * The body's JSON text and, outside the JavaScript heap, each secret. The
 * body is not changed; the caller zeroes it (and the secrets, on failure or
 * after use).
 */
export function splitSecretSection(body: Uint8Array): { json: Uint8Array; secrets: Uint8Array[] } {
  const end = body.indexOf(0);
  if (end < 0) return { json: body, secrets: [] };
  const secrets: Uint8Array[] = [];
  try {
    let at = end + 1;
    while (at < body.length) {
      if (secrets.length === secretsPerFrameMax) throw new ControlProtocolError(`more than ${secretsPerFrameMax} secrets in one request`);
      if (body.length - at < lengthBytes) throw new ControlProtocolError('secret section: a length cut short');
      const length = (body[at]! << 8) | body[at + 1]!;
      at += lengthBytes;
      if (length === 0 || length > passphraseBytesMax) throw new ControlProtocolError(`secret section: a secret of ${length} bytes (1 to ${passphraseBytesMax})`);
      if (body.length - at < length) throw new ControlProtocolError(`secret section: a secret of ${length} bytes with ${body.length - at} left`);
      secrets.push(secretCopy(body.subarray(at, at + length)));
      at += length;
    }
    if (secrets.length === 0) throw new ControlProtocolError('secret section: empty');
  } catch (error) {
    for (const secret of secrets) secret.fill(0);
    throw error;
  }
  return { json: body.subarray(0, end), secrets };
}

/** The JSON text followed by the section holding `secrets` (none: the text alone). */
export function joinSecretSection(json: Uint8Array, secrets: readonly Uint8Array[]): Uint8Array {
  if (secrets.length === 0) return json;
  if (secrets.length > secretsPerFrameMax) throw new ControlProtocolError(`more than ${secretsPerFrameMax} secrets in one request`);
  let bytes = json.length + 1;
  for (const secret of secrets) {
    if (secret.length === 0 || secret.length > passphraseBytesMax) {
      throw new ControlProtocolError(`a secret of ${secret.length} bytes (1 to ${passphraseBytesMax})`);
    }
    bytes += lengthBytes + secret.length;
  }
  const body = secretBytes(bytes);
  body.set(json, 0);
  let at = json.length + 1;
  for (const secret of secrets) {
    body[at] = secret.length >> 8;
    body[at + 1] = secret.length & 0xff;
    body.set(secret, at + lengthBytes);
    at += lengthBytes + secret.length;
  }
  return body;
}

/** Hands out a request's secrets as its JSON refers to them, each once. */
export class SecretClaims {
  private readonly claimed: boolean[];

  constructor(private readonly secrets: readonly Uint8Array[]) {
    this.claimed = secrets.map(() => false);
  }

  /** The secret `value` ({"secret": i}) refers to; `what` names the field in errors (never the bytes). */
  claim(value: unknown, what: string): Uint8Array {
    const index = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>).secret : undefined;
    if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0 || index >= this.secrets.length) {
      throw new ControlProtocolError(`${what} must be {"secret": i}, i one of the request's ${this.secrets.length} secrets`);
    }
    if (this.claimed[index]) throw new ControlProtocolError(`${what}: secret ${index} is already used by another field`);
    this.claimed[index] = true;
    return this.secrets[index]!;
  }

  /** Throws when a secret was sent that no field refers to. */
  assertAllClaimed(): void {
    const stray = this.claimed.indexOf(false);
    if (stray >= 0) throw new ControlProtocolError(`secret ${stray} is referred to by no field`);
  }

  /** Zeroes every secret (on a refused request). */
  wipe(): void {
    for (const secret of this.secrets) secret.fill(0);
  }
}
