// What the engine asks of encryption (CRYPTO, RAID 1C): the engine is
// platform-free, so the cipher and the key scheme come from its owner
// (src/crypto/ on Node) through these two interfaces. The engine decides
// when to encrypt and what to store; the vault does the arithmetic.
import { assert } from '@openbsd38/libutil/assert.js';
import type { ChunkBackend } from '../chunk.js';
import { allocParityBuffer, freeParityBuffer } from '../parity/index.js';

/**
 * A volume's open data keys: AES-XTS-256 over 512-byte sectors, the
 * volume-relative sector number as the tweak (softraid_crypto.c, dm-crypt's
 * aes-xts-plain64). Lengths are whole sectors; target may be source.
 * Asynchronous, so that an owner may spread the work over threads; source
 * and target stay the caller's until the promise settles.
 */
export interface SectorCipher {
  encryptSectors(firstSector: number, source: Uint8Array, target: Uint8Array): Promise<void>;
  decryptSectors(firstSector: number, source: Uint8Array, target: Uint8Array): Promise<void>;
  /**
   * Zeroes every copy of the keys the cipher holds; it may not be used
   * again. A promise when some copies live elsewhere (other threads): it
   * resolves once those are zeroed too.
   */
  destroy(): void | Promise<void>;
  /**
   * Optional: reads `into.length` bytes of `member` at `memberOffsetBytes`
   * and decrypts them in place as the sectors from `firstSector` on, in one
   * step where the owner's member I/O can decrypt what it reads (on Node,
   * the copy threads of a member in memory hold the keys: one hand-off per
   * read instead of two). Undefined when it cannot for this member or
   * buffer: the core reads, then decrypts. Rejects as the member's read
   * does (ChunkIoError), and `into` then holds nothing to be trusted.
   */
  readDecrypted?(member: ChunkBackend, memberOffsetBytes: number, into: Uint8Array, firstSector: number): Promise<void> | undefined;
  /**
   * Optional, the same for a write: encrypts `plain` into `sealed` (a
   * ciphertext buffer of the same length) and writes `sealed` to `member`
   * at `memberOffsetBytes`, in one step. Undefined when it cannot: the core
   * encrypts, then writes. Rejects as the member's write does.
   */
  writeEncrypted?(member: ChunkBackend, memberOffsetBytes: number, plain: Uint8Array, sealed: Uint8Array, firstSector: number): Promise<void> | undefined;
  /**
   * Optional: a buffer of `lengthBytes` for a write's ciphertext, one the
   * owner's cipher writes and its member I/O reads best (on Node, shared
   * memory: the cipher threads encrypt straight into it and the copy threads
   * write it out). Without it the core uses a parity-arena buffer. Given back
   * with freeCiphertextBuffer once the write is done; it only ever holds
   * ciphertext, so it is not wiped.
   */
  allocCiphertextBuffer?(lengthBytes: number): Uint8Array;
  freeCiphertextBuffer?(buffer: Uint8Array): void;
}

/** softraid's key scheme and its KDF, as the owner implements them. */
export interface KeyVault {
  /** Fills `bytes` from a cryptographic random source (keys, salts: never a seeded one). */
  randomBytes(bytes: Uint8Array): void;
  /** bcrypt_pbkdf of the passphrase into a 32-byte mask key, off the I/O path (a worker). */
  deriveMaskKey(passphrase: Uint8Array, salt: Uint8Array, rounds: number): Promise<Uint8Array>;
  /** bcrypt_pbkdf rounds that take about a second here, at least 16 (bcrypt_pbkdf_autorounds). */
  autoRounds(): Promise<number>;
  /** 32 random data keys of 64 bytes. */
  newDataKeys(): Uint8Array;
  /** AES-256-ECB of the keys under the mask key, and HMAC-SHA1(SHA1(mask key), keys). */
  maskDataKeys(dataKeys: Uint8Array, maskKey: Uint8Array): { maskedKeys: Uint8Array; checkMac: Uint8Array };
  /** The keys, or null when the check value says the mask key is wrong. */
  unmaskDataKeys(maskedKeys: Uint8Array, checkMac: Uint8Array, maskKey: Uint8Array): Uint8Array | null;
  /** A cipher over the keys (it keeps its own copy: the caller zeroes `dataKeys`). */
  cipher(dataKeys: Uint8Array): SectorCipher;
}

/** Sectors one data key covers: 2^30 (512 GiB), so 32 keys cover 16 TiB, softraid's limit. */
export const sectorsPerDataKey = 2 ** 30;
export const encryptedVolumeBytesMax = 32 * sectorsPerDataKey * 512;
export const cipherSectorBytes = 512;

/**
 * Runs `body` with a buffer of `lengthBytes` for ciphertext: the cipher's
 * own if it has them (allocCiphertextBuffer), else a parity-arena buffer (a
 * fresh megabyte per write was a fresh mapping to fault in); given back
 * afterwards either way.
 */
export async function withCiphertextBuffer<T>(cipher: SectorCipher, lengthBytes: number, body: (sealed: Uint8Array) => Promise<T>): Promise<T> {
  const ownBuffers = cipher.allocCiphertextBuffer !== undefined && cipher.freeCiphertextBuffer !== undefined;
  const sealed = ownBuffers ? cipher.allocCiphertextBuffer!(lengthBytes) : allocParityBuffer(lengthBytes);
  assert(sealed.length === lengthBytes, `a ciphertext buffer of ${sealed.length} bytes for ${lengthBytes}`);
  try {
    return await body(sealed);
  } finally {
    if (ownBuffers) cipher.freeCiphertextBuffer!(sealed);
    else freeParityBuffer(sealed);
  }
}
