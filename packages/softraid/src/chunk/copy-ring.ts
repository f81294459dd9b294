// The shared memory between the event loop and one copy thread
// (copy-threads.ts, copy-thread.ts): a ring of jobs the loop writes and the
// thread reads, a ring of results the thread writes and the loop reads, and
// a few control words. Each ring has one writer and one reader, so a slot
// is published by storing the writer's index after the slot (Atomics are
// sequentially consistent) and freed by storing the reader's index after it.
//
// A job is one preadv or pwritev on a member's descriptor into or out of
// buffers that live in SharedArrayBuffers both threads know by number
// (registered once over the thread's message port). A read may also be
// decrypted where it lands (CRYPTO, RAID 1C), and a write encrypted just
// before it is written (CRYPTO): the job names the volume's data keys, which
// the thread was given the same way, and the sector the first byte is.

/** Jobs (and results) a ring holds: the loop never has more in flight per thread. */
export const ringSlots = 128;
/** Buffers one job may name; a longer vector goes through libuv's pool instead. */
export const jobSegmentsMax = 16;

/** Control words (Int32Array indexes). */
export const enum Control {
  /** Jobs written by the loop (wraps at 2^31). */
  JobTail = 0,
  /** Jobs taken by the thread. */
  JobHead = 1,
  /** 1 while the thread waits (or is about to) on JobTail: the loop must notify. */
  ThreadSleeping = 2,
  /** Results written by the thread. */
  ResultTail = 3,
  /** Results taken by the loop. */
  ResultHead = 4,
  /** 1 when the loop wants a message for the next result; the thread clears it and sends one. */
  LoopArmed = 5,
  Count = 8,
}

export const enum Operation {
  Read = 0,
  Write = 1,
  /** The last job: the thread exits without a result. */
  Exit = 2,
  /** A read, then every byte of it decrypted in place (AES-XTS over 512-byte sectors from the job's first sector). */
  ReadDecrypt = 3,
  /** Forget a volume's data keys, zeroing every copy (position word: the keys' number); result 0. */
  ForgetKeys = 4,
  /** The job's source encrypted into its one buffer (from the job's first sector), then that buffer written. */
  EncryptWrite = 5,
}

/**
 * Float64 words per job slot: id, operation, fd, position, segment count,
 * (buffer id, offset, length) per segment, then for ReadDecrypt and
 * EncryptWrite the keys' number and the first sector (at jobKeysWord), and
 * for EncryptWrite the plaintext's (buffer id, offset, length) (at
 * jobSourceWord).
 */
export const jobKeysWord = 5 + 3 * jobSegmentsMax;
export const jobSourceWord = jobKeysWord + 2;
export const jobSlotWords = jobSourceWord + 3;
/** Float64 words per result slot: id, then bytes moved (≥ 0) or a negative errno. */
export const resultSlotWords = 2;

export interface RingMemory {
  control: SharedArrayBuffer;
  jobs: SharedArrayBuffer;
  results: SharedArrayBuffer;
}

export function allocateRingMemory(): RingMemory {
  return {
    control: new SharedArrayBuffer(Control.Count * Int32Array.BYTES_PER_ELEMENT),
    jobs: new SharedArrayBuffer(ringSlots * jobSlotWords * Float64Array.BYTES_PER_ELEMENT),
    results: new SharedArrayBuffer(ringSlots * resultSlotWords * Float64Array.BYTES_PER_ELEMENT),
  };
}

/** Ring indexes count up and wrap at 2^31 so they stay small integers in an Int32Array. */
export function nextIndex(index: number): number {
  return (index + 1) & 0x7fffffff;
}

export function slotOf(index: number): number {
  return index % ringSlots;
}

/**
 * Messages on a copy thread's registration port. A volume's data keys
 * ("keys") come moved (transferred): the thread zeroes them once its cipher
 * holds its copy, and a ForgetKeys job, not a message, ends them, so that
 * they go after every job that names them and at once, even from a
 * sleeping thread.
 */
export type RegistrationMessage =
  | { kind: 'register'; id: number; memory: SharedArrayBuffer }
  | { kind: 'forget'; id: number }
  | { kind: 'keys'; id: number; dataKeys: Uint8Array };
