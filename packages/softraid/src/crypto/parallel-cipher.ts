// A volume's cipher spread over threads: AES-XTS costs about a CPU-second
// per GB here, and softraidd's event loop also serves NBD, so large requests
// are cut into pieces that threads of a small pool encrypt or decrypt in
// place in shared memory, in parallel with each other and with the event
// loop; small ones (where posting a message would cost more than the work)
// are done on the spot. Every thread holds its own copy of the keys, wiped
// when the volume's cipher is destroyed.
//
// A large read or write of a member in memory skips the pool
// (readDecrypted, writeEncrypted): the copy thread that reads it decrypts
// it, the one that writes it encrypts it, with the keys given to the
// process's copy threads at the first such I/O and taken back (zeroed) on
// destroy.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { assert } from '@openbsd38/libutil/assert.js';
import { copyBytes } from '@openbsd38/libutil/copy-bytes.js';
import type { SectorCipher } from '../engine/crypto/sector-cipher.js';
import type { ChunkBackend } from '../engine/chunk.js';
import { FileChunk, type CopyThreadKeys } from '../chunk/file.js';
import type { CipherJob, CipherJobDone, CipherThreadData } from './cipher-thread.js';
import { SharedMemoryIds } from '../chunk/shared-memory-ids.js';
import { BufferPool } from '../nbd/buffer-pool.js';
import { startCryptoThread } from './thread-start.js';
import { VolumeCipher } from './volume-cipher.js';

const sectorBytes = 512;
/** Requests below this are done on the event loop: a message round trip costs about what 32 KiB of XTS does. */
export const inlineBytesMax = 64 * 1024;
/** The piece a thread takes at a time (and the size of each staging buffer). */
export const pieceBytes = 512 * 1024;
/** Staging buffers kept for reuse once freed; more are made when more pieces are in flight. */
const spareBuffersMax = 64;
/** What freed ciphertext buffers (allocCiphertextBuffer) may keep, in all: beyond it they are left to the collector. */
const ciphertextSpareBytesMax = 32 * 1024 * 1024;

interface Pending {
  resolve(): void;
  reject(error: Error): void;
  thread: PoolThread;
}

interface PoolThread {
  worker: Worker;
  /** False once the thread has failed or exited: no job goes to it again. */
  alive: boolean;
}

export class ParallelVolumeCipher implements SectorCipher {
  private readonly inline: VolumeCipher;
  /** @internal The pool's threads (the tests stop one). */
  readonly threads: PoolThread[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly spareBuffers: SharedArrayBuffer[] = [];
  /** Write ciphertext buffers: the NBD server's kind of pool, shared memory in power-of-two classes. */
  private readonly ciphertextBuffers = new BufferPool(ciphertextSpareBytesMax);
  /** The number each thread knows a piece of shared memory by (cipher-thread.ts's "register"). */
  private readonly memoryIds = new SharedMemoryIds(
    (memoryId, memory) => this.broadcast({ op: 'register', memoryId, memory }), (memoryId) => this.broadcast({ op: 'forget', memoryId }));
  private nextId = 1;
  private nextThread = 0;
  private destroyed = false;
  /** The keys as the members' copy threads hold them, once a read has gone that way. */
  private copyThreadKeys: CopyThreadKeys | null = null;

  constructor(dataKeys: Uint8Array, threadCount = Math.max(1, Math.min(4, availableParallelism()))) {
    assert(Number.isSafeInteger(threadCount) && threadCount >= 1, `ParallelVolumeCipher: ${threadCount} threads`);
    this.inline = new VolumeCipher(dataKeys);
    for (let i = 0; i < threadCount; i++) {
      const data: CipherThreadData = { dataKeys: Uint8Array.from(dataKeys) };
      const worker = startCryptoThread('cipher-thread', { workerData: data, transferList: [data.dataKeys.buffer as ArrayBuffer] });
      // The pool never keeps softraidd alive by itself.
      worker.unref();
      const thread: PoolThread = { worker, alive: true };
      worker.on('message', (done: CipherJobDone) => this.finished(thread, done));
      worker.on('error', (error) => this.died(thread, error));
      worker.on('exit', (code) => this.died(thread, new Error(`cipher thread exited with code ${code}`)));
      this.threads.push(thread);
    }
  }

  encryptSectors(firstSector: number, source: Uint8Array, target: Uint8Array): Promise<void> {
    return this.run('encrypt', firstSector, source, target);
  }

  decryptSectors(firstSector: number, source: Uint8Array, target: Uint8Array): Promise<void> {
    return this.run('decrypt', firstSector, source, target);
  }

  /**
   * Shared memory, so that a write is encrypted by a thread straight from the
   * NBD server's buffer into it, and the copy threads can write it to the
   * members (a parity-arena buffer needed a staging copy and libuv's pool).
   */
  allocCiphertextBuffer(lengthBytes: number): Uint8Array {
    return this.ciphertextBuffers.acquire(lengthBytes);
  }

  freeCiphertextBuffer(buffer: Uint8Array): void {
    assert(Buffer.isBuffer(buffer), 'ParallelVolumeCipher: not a ciphertext buffer of its own');
    if (!this.destroyed) this.ciphertextBuffers.release(buffer);
  }

  /**
   * A read of a member in memory, decrypted by the copy thread that reads
   * it (FileChunk.readDecrypted); undefined for any other member, or a read
   * that cannot go that way. The first such read or write gives the copy
   * threads the keys.
   */
  readDecrypted(member: ChunkBackend, memberOffsetBytes: number, into: Uint8Array, firstSector: number): Promise<void> | undefined {
    const inMemory = this.memberInMemory(member);
    return inMemory?.chunk.readDecrypted(into, memberOffsetBytes, inMemory.keys, firstSector);
  }

  /** A write to a member in memory, encrypted by the copy thread that writes it (FileChunk.writeEncrypted); as readDecrypted. */
  writeEncrypted(member: ChunkBackend, memberOffsetBytes: number, plain: Uint8Array, sealed: Uint8Array, firstSector: number): Promise<void> | undefined {
    const inMemory = this.memberInMemory(member);
    return inMemory?.chunk.writeEncrypted(plain, sealed, memberOffsetBytes, inMemory.keys, firstSector);
  }

  /** The member as a file chunk with copy threads, and the keys as those threads hold them (given at the first call); undefined for any other member. */
  private memberInMemory(member: ChunkBackend): { chunk: FileChunk; keys: CopyThreadKeys } | undefined {
    assert(!this.destroyed, 'ParallelVolumeCipher used after destroy');
    if (!(member instanceof FileChunk)) return undefined;
    const threads = member.copyThreadPool;
    if (threads === undefined) return undefined;
    this.copyThreadKeys ??= { threads, id: this.inline.registerWith(threads) };
    return { chunk: member, keys: this.copyThreadKeys };
  }

  /** Resolves once the copy threads' copies of the keys are zeroed too (the pool's and the loop's are at once). */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.inline.destroy();
    for (const thread of this.threads) if (thread.alive) thread.worker.postMessage({ op: 'destroy' } satisfies CipherJob);
    for (const buffer of this.spareBuffers) new Uint8Array(buffer).fill(0);
    this.spareBuffers.length = 0;
    const copyThreadKeys = this.copyThreadKeys;
    this.copyThreadKeys = null;
    if (copyThreadKeys !== null) await copyThreadKeys.threads.forgetKeys(copyThreadKeys.id);
  }

  private async run(op: 'encrypt' | 'decrypt', firstSector: number, source: Uint8Array, target: Uint8Array): Promise<void> {
    assert(!this.destroyed, 'ParallelVolumeCipher used after destroy');
    assert(source.length === target.length && source.length % sectorBytes === 0, 'ParallelVolumeCipher: whole sectors, same lengths');
    if (source.length < inlineBytesMax) {
      if (op === 'encrypt') this.inline.encryptSectors(firstSector, source, target);
      else this.inline.decryptSectors(firstSector, source, target);
      return;
    }
    const pieces: Promise<void>[] = [];
    for (let at = 0; at < source.length; at += pieceBytes) {
      const length = Math.min(pieceBytes, source.length - at);
      pieces.push(this.piece(op, firstSector + at / sectorBytes, source.subarray(at, at + length), target.subarray(at, at + length)));
    }
    const outcomes = await Promise.allSettled(pieces);
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  }

  /**
   * One piece on the next live thread, which reads and writes shared memory
   * (the NBD server's buffers are shared): in place where the request is (a
   * read decrypted into the NBD buffer); straight from source to target when
   * both are shared (a write from the NBD buffer into a ciphertext buffer of
   * allocCiphertextBuffer); else through a staging buffer, copied out to the
   * target afterwards, a source not in shared memory staged first. With no
   * thread left, on the event loop.
   */
  private async piece(op: 'encrypt' | 'decrypt', firstSector: number, source: Uint8Array, target: Uint8Array): Promise<void> {
    const thread = this.nextLiveThread();
    if (thread === undefined) {
      // Every thread has died: the event loop does the work, slower but right.
      if (op === 'encrypt') this.inline.encryptSectors(firstSector, source, target);
      else this.inline.decryptSectors(firstSector, source, target);
      return;
    }
    const id = this.nextId++;
    const post = (from: SharedArrayBuffer, fromOffset: number, to: SharedArrayBuffer, toOffset: number): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        this.pending.set(id, { resolve, reject, thread });
        thread.worker.postMessage({
          op, id, lengthBytes: source.length, firstSector,
          sourceMemory: this.memoryIds.idOf(from), sourceOffsetBytes: fromOffset, targetMemory: this.memoryIds.idOf(to), targetOffsetBytes: toOffset,
        } satisfies CipherJob);
      });
    // Shared to shared (a read in place in the NBD buffer, a write into a ciphertext buffer): straight, no staging.
    if (source.buffer instanceof SharedArrayBuffer && target.buffer instanceof SharedArrayBuffer) {
      return post(source.buffer, source.byteOffset, target.buffer, target.byteOffset);
    }
    const buffer = this.spareBuffers.pop() ?? new SharedArrayBuffer(pieceBytes);
    const staging = new Uint8Array(buffer, 0, source.length);
    const sourceShared = source.buffer instanceof SharedArrayBuffer;
    try {
      if (sourceShared) {
        await post(source.buffer, source.byteOffset, buffer, 0);
      } else {
        copyBytes(staging, source);
        await post(buffer, 0, buffer, 0);
      }
      copyBytes(target, staging);
    } finally {
      // What a decryption left in the staging buffer is plaintext, and so is a source staged for encryption:
      // neither waits in a spare buffer (Buffer's fill is a memset; a shared view's fill is not).
      if (op === 'decrypt' || !sourceShared) Buffer.from(buffer, 0, source.length).fill(0);
      if (!this.destroyed && this.spareBuffers.length < spareBuffersMax) this.spareBuffers.push(buffer);
    }
  }

  private finished(thread: PoolThread, done: CipherJobDone): void {
    // A dead thread's jobs were failed when it died.
    if (!thread.alive) return;
    const pending = this.pending.get(done.id);
    assert(pending !== undefined, `ParallelVolumeCipher: an answer to no job (${done.id})`);
    this.pending.delete(done.id);
    if (done.error === undefined) pending.resolve();
    else pending.reject(new Error(`cipher thread: ${done.error}`));
  }

  private broadcast(message: CipherJob): void {
    if (this.destroyed) return;
    for (const thread of this.threads) if (thread.alive) thread.worker.postMessage(message);
  }

  private nextLiveThread(): PoolThread | undefined {
    for (let tried = 0; tried < this.threads.length; tried++) {
      const thread = this.threads[this.nextThread]!;
      this.nextThread = (this.nextThread + 1) % this.threads.length;
      if (thread.alive) return thread;
    }
    return undefined;
  }

  /**
   * A thread that failed or exited (not after destroy): its jobs in flight
   * fail (what it wrote of them is unknown), and later pieces go to the
   * threads left, or to the event loop when none is.
   */
  private died(thread: PoolThread, error: Error): void {
    if (!thread.alive) return;
    thread.alive = false;
    if (this.destroyed) return;
    for (const [id, pending] of this.pending) {
      if (pending.thread !== thread) continue;
      this.pending.delete(id);
      pending.reject(new Error(`cipher thread died: ${error.message}`));
    }
  }
}
