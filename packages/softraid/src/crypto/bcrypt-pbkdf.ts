// bcrypt_pbkdf(3) as OpenBSD's libutil defines it (lib/libutil/bcrypt_pbkdf.c;
// also OpenSSH's new key format), written from the algorithm's description:
//
//   bcrypt_hash(P, S) (P, S: 64-byte SHA-512 digests) = the 32 bytes
//     "OxychromaticBlowfishSwatDynamite" encrypted 64 times (ECB, 4 blocks)
//     under eksblowfish: expandstate(salt S, key P), then 64 times
//     expand0state(S) and expand0state(P); each output word little-endian.
//   For block count = 1, 2, ...: T = bcrypt_hash(SHA512(pass),
//     SHA512(salt ‖ count as 4 big-endian bytes)); rounds − 1 times more
//     T' = bcrypt_hash(SHA512(pass), SHA512(T')), XORing each into the
//     block's output. Output byte i of block `count` goes to key byte
//     i·stride + count − 1, stride = ceil(keyBytes / 32): the bytes of the
//     blocks are interleaved so that every block is needed for any prefix.
//
// Every intermediate that depends on the passphrase (digests, Blowfish state,
// outputs) is zeroed before returning. The passphrase is bytes as given (the
// caller encodes text as UTF-8); it is neither copied nor changed.
import { createHash } from 'node:crypto';
import { assert } from '@openbsd38/libutil/assert.js';
import { secretBytes } from '@openbsd38/libutil/secret-bytes.js';
import {
  digestWords, encipher, expand0State, expandState, initialState, stateWords, wordsOfBytes,
} from './blowfish.js';

export const hashBytes = 32;
/** OpenBSD's limits: at most 32 × 32 output bytes, a salt of at most 1 MiB. */
export const keyBytesMax = hashBytes * hashBytes;
export const saltBytesMax = 1 << 20;
const expansionRounds = 64;
const encryptionRounds = 64;
const magic = new TextEncoder().encode('OxychromaticBlowfishSwatDynamite');
const magicWords = magic.length / 4;

function sha512(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function secretWords(count: number): Int32Array {
  return new Int32Array(secretBytes(4 * count).buffer);
}

/** Scratch of one derivation, zeroed at its end, outside the JavaScript heap (libutil's secret-bytes.ts). */
class Scratch {
  readonly state = secretWords(stateWords);
  readonly passWords = secretWords(digestWords);
  readonly saltWords = secretWords(digestWords);
  readonly cipherWords = secretWords(magicWords);

  wipe(): void {
    for (const words of [this.state, this.passWords, this.saltWords, this.cipherWords]) words.fill(0);
  }
}

/** bcrypt_hash: 32 bytes into `out` from the two digests (already as words in scratch). */
function bcryptHash(scratch: Scratch, out: Uint8Array): void {
  const { state, passWords, saltWords, cipherWords } = scratch;
  state.set(initialState());
  expandState(state, saltWords, passWords);
  for (let round = 0; round < expansionRounds; round++) {
    expand0State(state, saltWords);
    expand0State(state, passWords);
  }
  wordsOfBytes(magic, cipherWords);
  for (let round = 0; round < encryptionRounds; round++) {
    for (let at = 0; at < magicWords; at += 2) encipher(state, cipherWords, at);
  }
  for (let i = 0; i < magicWords; i++) {
    const word = cipherWords[i]!;
    out[4 * i] = word & 0xff;
    out[4 * i + 1] = (word >>> 8) & 0xff;
    out[4 * i + 2] = (word >>> 16) & 0xff;
    out[4 * i + 3] = word >>> 24;
  }
}

export function bcryptPbkdf(passphrase: Uint8Array, salt: Uint8Array, rounds: number, keyBytes: number): Uint8Array {
  assert(passphrase.length > 0, 'bcryptPbkdf: empty passphrase');
  assert(salt.length > 0 && salt.length <= saltBytesMax, `bcryptPbkdf: salt of ${salt.length} bytes`);
  assert(Number.isSafeInteger(rounds) && rounds >= 1, `bcryptPbkdf: ${rounds} rounds`);
  assert(Number.isSafeInteger(keyBytes) && keyBytes >= 1 && keyBytes <= keyBytesMax,
    `bcryptPbkdf: ${keyBytes} key bytes`);
  const stride = Math.ceil(keyBytes / hashBytes);
  const bytesPerBlock = Math.ceil(keyBytes / stride);
  const key = secretBytes(keyBytes);
  const scratch = new Scratch();
  const passDigest = sha512(passphrase);
  const countBytes = new Uint8Array(4);
  const hashed = secretBytes(hashBytes);
  const blockOut = secretBytes(hashBytes);
  let saltDigest: Uint8Array | undefined;
  try {
    wordsOfBytes(passDigest, scratch.passWords);
    for (let count = 1; count <= stride; count++) {
      new DataView(countBytes.buffer).setUint32(0, count);
      saltDigest = sha512(salt, countBytes);
      wordsOfBytes(saltDigest, scratch.saltWords);
      saltDigest.fill(0);
      bcryptHash(scratch, hashed);
      blockOut.set(hashed);
      for (let round = 1; round < rounds; round++) {
        saltDigest = sha512(hashed);
        wordsOfBytes(saltDigest, scratch.saltWords);
        saltDigest.fill(0);
        bcryptHash(scratch, hashed);
        for (let i = 0; i < hashBytes; i++) blockOut[i]! ^= hashed[i]!;
      }
      for (let i = 0; i < bytesPerBlock; i++) {
        const at = i * stride + count - 1;
        if (at >= keyBytes) break;
        key[at] = blockOut[i]!;
      }
    }
    return key;
  } finally {
    scratch.wipe();
    passDigest.fill(0);
    saltDigest?.fill(0);
    hashed.fill(0);
    blockOut.fill(0);
  }
}
