// Volume UUIDs: 16 bytes on disk, 8-4-4-4-12 lowercase hex in records and
// messages, random version 4 when created (randomness injected).
import { assert } from '@openbsd38/libutil/assert.js';

export const uuidBytes = 16;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(text: string): boolean {
  return uuidPattern.test(text);
}

export function uuidToString(bytes: Uint8Array): string {
  assert(bytes.length === uuidBytes, 'uuid is 16 bytes');
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function uuidFromString(text: string): Uint8Array {
  assert(isUuid(text), `not a uuid: ${text}`);
  const hex = text.replace(/-/g, '');
  return Uint8Array.from({ length: uuidBytes }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

/** A random (version 4, RFC 4122 variant) UUID; never all zero. */
export function newUuid(random: (bytes: Uint8Array) => void): string {
  const bytes = new Uint8Array(uuidBytes);
  random(bytes);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return uuidToString(bytes);
}

export const nilUuid = '00000000-0000-0000-0000-000000000000';
