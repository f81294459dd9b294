// The Blowfish pieces bcrypt_pbkdf(3) needs (bcrypt's "eksblowfish" key
// schedule), written from the cipher's description: the Feistel network, the
// state expansion with a key and a salt, the expansion with a key alone, and
// ECB encryption of a few blocks.
//
// The state is one Int32Array: S0, S1, S2, S3 (256 words each) then P (18
// words), so F(x) = ((S0[a] + S1[b]) ^ S2[c]) + S3[d] indexes one array.
// Words are signed int32; additions wrap because every result goes through
// ^ or |0, which is ToInt32 (mod 2^32) — what the unsigned C arithmetic does.
//
// bcrypt_pbkdf feeds only 64-byte SHA-512 digests as keys and salts: the
// "stream to word" reader over them is a cycle of 16 big-endian words, so
// they are passed as 16-word arrays.
import { assert } from '@openbsd38/libutil/assert.js';
import { piFractionWords } from './pi-words.js';

export const sBoxWords = 4 * 256;
export const pWords = 18;
export const stateWords = sBoxWords + pWords;
/** A SHA-512 digest as big-endian words. */
export const digestWords = 16;
const p = sBoxWords;

let initial: Int32Array | undefined;

/** Blowfish's initial state (pi's digits, P first in the digit order), laid out S0..S3 then P. */
export function initialState(): Int32Array {
  if (initial === undefined) {
    const digits = piFractionWords(stateWords);
    const state = new Int32Array(stateWords);
    state.set(digits.subarray(0, pWords), p);
    state.set(digits.subarray(pWords), 0);
    // Known words of the published tables: P[0], P[1], S0[0], the last word of S3.
    assert(state[p] === 0x243f6a88 && state[p + 1] === (0x85a308d3 | 0), 'blowfish: P from pi is wrong');
    assert(state[0] === (0xd1310ba6 | 0) && state[sBoxWords - 1] === 0x3ac372e6, 'blowfish: S from pi is wrong');
    initial = state;
  }
  return initial;
}

/** Big-endian 32-bit words of bytes (a multiple of 4 long) into `into`. */
export function wordsOfBytes(bytes: Uint8Array, into: Int32Array): Int32Array {
  assert(bytes.length === into.length * 4, 'blowfish: word count');
  for (let i = 0; i < into.length; i++) {
    into[i] = (bytes[4 * i]! << 24) | (bytes[4 * i + 1]! << 16) | (bytes[4 * i + 2]! << 8) | bytes[4 * i + 3]!;
  }
  return into;
}

/**
 * Encrypts the block (block[at], block[at+1]) in place: 16 rounds, then the
 * halves swapped and whitened with P[16], P[17].
 */
export function encipher(s: Int32Array, block: Int32Array, at: number): void {
  let left = block[at]! ^ s[p]!;
  let right = block[at + 1]!;
  for (let round = 1; round <= 16; round += 2) {
    right ^= ((((s[left >>> 24]! + s[256 | ((left >>> 16) & 0xff)]!) ^ s[512 | ((left >>> 8) & 0xff)]!)
      + s[768 | (left & 0xff)]!) ^ s[p + round]!);
    left ^= ((((s[right >>> 24]! + s[256 | ((right >>> 16) & 0xff)]!) ^ s[512 | ((right >>> 8) & 0xff)]!)
      + s[768 | (right & 0xff)]!) ^ s[p + round + 1]!);
  }
  block[at] = right ^ s[p + 17]!;
  block[at + 1] = left;
}

/**
 * Fills P, then S0..S3, pair by pair with the encryption of the previous
 * pair, each pair first XORed with the next two salt words (salt = null: none,
 * the plain Blowfish key schedule).
 */
function refill(s: Int32Array, salt: Int32Array | null): void {
  let left = 0;
  let right = 0;
  let saltAt = 0;
  for (let pair = 0; pair < stateWords / 2; pair++) {
    // P first, then S0..S3.
    const i = pair < pWords / 2 ? p + 2 * pair : 2 * pair - pWords;
    if (salt !== null) {
      left ^= salt[saltAt]!;
      right ^= salt[saltAt + 1]!;
      saltAt = (saltAt + 2) & (digestWords - 1);
    }
    // encipher(), inlined: this loop is where bcrypt_pbkdf spends its time.
    left ^= s[p]!;
    for (let round = 1; round <= 16; round += 2) {
      right ^= ((((s[left >>> 24]! + s[256 | ((left >>> 16) & 0xff)]!) ^ s[512 | ((left >>> 8) & 0xff)]!)
        + s[768 | (left & 0xff)]!) ^ s[p + round]!);
      left ^= ((((s[right >>> 24]! + s[256 | ((right >>> 16) & 0xff)]!) ^ s[512 | ((right >>> 8) & 0xff)]!)
        + s[768 | (right & 0xff)]!) ^ s[p + round + 1]!);
    }
    const swapped = right ^ s[p + 17]!;
    right = left;
    left = swapped;
    s[i] = left;
    s[i + 1] = right;
  }
}

function mixKeyIntoP(s: Int32Array, key: Int32Array): void {
  assert(key.length === digestWords, 'blowfish: the key is a 16-word digest');
  for (let i = 0; i < pWords; i++) s[p + i] = s[p + i]! ^ key[i & (digestWords - 1)]!;
}

/** Blowfish_expandstate: P ^= key, then refill with the salt mixed in. */
export function expandState(s: Int32Array, salt: Int32Array, key: Int32Array): void {
  assert(salt.length === digestWords, 'blowfish: the salt is a 16-word digest');
  mixKeyIntoP(s, key);
  refill(s, salt);
}

/** Blowfish_expand0state: P ^= key, then refill. */
export function expand0State(s: Int32Array, key: Int32Array): void {
  mixKeyIntoP(s, key);
  refill(s, null);
}
