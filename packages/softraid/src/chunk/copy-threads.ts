// Copy threads: large reads and writes of members in memory (tmpfs, ramfs),
// run as synchronous preadv/pwritev on worker threads of our own instead of
// libuv's thread pool.
//
// On a member in memory an I/O is a memcpy that never waits for a device.
// Through libuv's pool every such I/O costs the event loop a mutex, a
// condition-variable signal that wakes a sleeping pool thread, and later a
// completion through the loop: on this project's 2-vCPU guests, 19–37% of
// the loop's time at 1 MiB sequential I/O went to those wake-ups
// (docs/PERFORMANCE.md, round 6). Here a job is a slot in a ring shared
// with one copy thread (copy-ring.ts): the loop writes it and notifies the
// thread only if it sleeps, so a busy thread takes jobs without any system
// call; results come back in a second ring with one message per batch.
//
// Only jobs whose buffers all live in SharedArrayBuffers can go here (the
// NBD server's buffer pool allocates them so): memory the other thread can
// see. Anything else, and any job when the rings are full, returns
// undefined and the caller uses libuv's pool as before.
//
// An encrypted volume's reads may be decrypted here too (submitReadDecrypt),
// and its writes encrypted (submitEncryptWrite):
// the cipher registers the volume's data keys with every thread
// (registerKeys) and forgets them when it is destroyed (forgetKeys), which
// zeroes each thread's copies.
import { availableParallelism } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { assert } from '@openbsd38/libutil/assert.js';
import { allowFreeNow } from '../crypto/free-now.js';
import {
  Control, Operation, allocateRingMemory, jobKeysWord, jobSegmentsMax, jobSourceWord, jobSlotWords, nextIndex, resultSlotWords, ringSlots, slotOf,
  type RegistrationMessage,
} from './copy-ring.js';
import { SharedMemoryIds } from './shared-memory-ids.js';

/** More copy threads than this do not help: the copies contend for memory bandwidth. */
const COPY_THREADS_MAX = 4;

/**
 * The thread's module, beside this one once compiled. When this module runs
 * as TypeScript through tsx (the tests), tsx's loader does not reach worker
 * threads on Node 20, so the thread is the compiled one in dist/ (npm test
 * compiles first).
 */
const copyThreadScript = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/src/chunk/copy-thread.js', import.meta.url)
  : new URL('./copy-thread.js', import.meta.url);

interface PendingJob {
  resolve: (movedBytes: number) => void;
  reject: (error: Error) => void;
  /** The job's promise, settled either way. */
  settled: Promise<number>;
}

class CopyThread {
  readonly control: Int32Array;
  readonly jobs: Float64Array;
  readonly results: Float64Array;
  readonly pending = new Map<number, PendingJob>();
  readonly registrations: MessagePort;
  readonly worker: Worker;
  alive = true;

  constructor(onDoorbell: (thread: CopyThread) => void, onDeath: (thread: CopyThread, error: Error) => void) {
    const ring = allocateRingMemory();
    this.control = new Int32Array(ring.control);
    this.jobs = new Float64Array(ring.jobs);
    this.results = new Float64Array(ring.results);
    Atomics.store(this.control, Control.LoopArmed, 1);
    const channel = new MessageChannel();
    this.registrations = channel.port1;
    // The thread's context is made with ArrayBuffer.prototype.transfer, which XtsAes256 frees its outputs with.
    allowFreeNow();
    this.worker = new Worker(copyThreadScript, {
      // Nothing of the process's own flags (--input-type, --cpu-prof, a loader) applies to a copy thread.
      execArgv: [],
      workerData: { ring, registrations: channel.port2 },
      transferList: [channel.port2],
    });
    this.worker.on('message', () => onDoorbell(this));
    this.worker.on('error', (error) => onDeath(this, error));
    this.worker.on('exit', (code) => onDeath(this, new Error(`copy thread exited with code ${code}`)));
    // Referenced only while jobs are in flight: an idle copy thread keeps no process alive, a busy one does.
    // (After the listeners: adding a 'message' listener references the worker again.)
    this.worker.unref();
    this.registrations.unref();
  }

  get inFlight(): number {
    return this.pending.size;
  }
}

export class CopyThreads {
  private readonly threads: CopyThread[] = [];
  private readonly memoryIds = new SharedMemoryIds(
    (id, memory) => this.broadcast({ kind: 'register', id, memory }), (id) => this.broadcast({ kind: 'forget', id }));
  private nextJobId = 1;
  /** Keys registered and not yet forgotten. */
  private readonly keys = new Set<number>();
  private nextKeysId = 1;
  private closed = false;
  private jobsFinished = 0;

  constructor(threadCount: number) {
    assert(Number.isSafeInteger(threadCount) && threadCount >= 1, `CopyThreads: ${threadCount} threads`);
    for (let index = 0; index < threadCount; index++) {
      this.threads.push(new CopyThread((thread) => this.drain(thread), (thread, error) => this.died(thread, error)));
    }
  }

  /**
   * Starts a preadv (read) or pwritev (write) of the whole vector at
   * `positionBytes`; resolves with the bytes moved (less only at the end of
   * the file), rejects with an errno error. Undefined when this job cannot
   * run here: the caller does it some other way.
   */
  submit(operation: 'read' | 'write', fd: number, buffers: readonly Uint8Array[], positionBytes: number): Promise<number> | undefined {
    return this.submitJob(operation === 'read' ? Operation.Read : Operation.Write, fd, buffers, positionBytes, 0, 0);
  }

  /**
   * A read as submit('read') makes, each buffer decrypted in place once it
   * is read in full, as the sectors from `firstSector` on under the keys
   * `keysId` (registerKeys). Every buffer must be whole sectors; a read cut
   * short by the member's end resolves with the bytes read, none of them
   * decrypted. Undefined when it cannot run here.
   */
  submitReadDecrypt(fd: number, buffers: readonly Uint8Array[], positionBytes: number, keysId: number, firstSector: number): Promise<number> | undefined {
    assert(this.keys.has(keysId), `CopyThreads: keys ${keysId} are not registered`);
    for (const buffer of buffers) assert(buffer.length % 512 === 0, 'CopyThreads: a decrypted read is whole sectors');
    return this.submitJob(Operation.ReadDecrypt, fd, buffers, positionBytes, keysId, firstSector);
  }

  /**
   * Encrypts `plain` into `sealed` (same length, whole sectors, not
   * overlapping) as the sectors from `firstSector` on under the keys
   * `keysId`, then writes `sealed` at `positionBytes`, on one thread;
   * resolves with the bytes written, after which `sealed` holds the whole
   * ciphertext. Undefined when it cannot run here.
   */
  submitEncryptWrite(fd: number, plain: Uint8Array, sealed: Uint8Array, positionBytes: number, keysId: number,
    firstSector: number): Promise<number> | undefined {
    assert(this.keys.has(keysId), `CopyThreads: keys ${keysId} are not registered`);
    assert(plain.length === sealed.length && plain.length % 512 === 0, 'CopyThreads: an encrypted write is whole sectors, as long as its ciphertext');
    if (!(plain.buffer instanceof SharedArrayBuffer)) return undefined;
    return this.submitJob(Operation.EncryptWrite, fd, [sealed], positionBytes, keysId, firstSector, plain);
  }

  /**
   * Gives every thread its own copy of a volume's data keys (moved, never
   * kept here); their number, for submitReadDecrypt and forgetKeys. The
   * caller still owns (and zeroes) `dataKeys`.
   */
  registerKeys(dataKeys: Uint8Array): number {
    assert(!this.closed, 'CopyThreads: keys registered after close');
    const id = this.nextKeysId++;
    this.keys.add(id);
    for (const thread of this.threads) {
      if (!thread.alive) continue;
      const copy = Uint8Array.from(dataKeys);
      thread.registrations.postMessage({ kind: 'keys', id, dataKeys: copy } satisfies RegistrationMessage, [copy.buffer]);
    }
    return id;
  }

  /**
   * Each thread destroys its copy of the keys after the jobs it already has
   * (a job in its ring, so a sleeping thread wakes for it); resolves once
   * every live thread has.
   */
  async forgetKeys(keysId: number): Promise<void> {
    if (!this.keys.delete(keysId)) return;
    await Promise.all(this.threads.map(async (thread) => {
      // Once closed, the threads destroy every cipher as they exit.
      while (thread.alive && !this.closed) {
        const forgotten = this.post(thread, Operation.ForgetKeys, 0, [], keysId, 0, 0);
        if (forgotten !== undefined) {
          await forgotten.catch(() => undefined);
          return;
        }
        // A full ring: room comes as its jobs finish.
        await Promise.race([...thread.pending.values()].map((job) => job.settled.catch(() => 0)));
      }
    }));
  }

  private submitJob(operation: Operation, fd: number, buffers: readonly Uint8Array[], positionBytes: number,
    keysId: number, firstSector: number, source?: Uint8Array): Promise<number> | undefined {
    if (this.closed || buffers.length > jobSegmentsMax) return undefined;
    for (const buffer of buffers) if (!(buffer.buffer instanceof SharedArrayBuffer)) return undefined;
    const thread = this.leastBusy();
    if (thread === undefined) return undefined;
    return this.post(thread, operation, fd, buffers, positionBytes, keysId, firstSector, source);
  }

  /** Writes a job into the thread's ring (undefined when the ring is full) and wakes the thread if it sleeps. */
  private post(thread: CopyThread, operation: Operation, fd: number, buffers: readonly Uint8Array[], positionBytes: number,
    keysId: number, firstSector: number, source?: Uint8Array): Promise<number> | undefined {
    if (thread.inFlight >= ringSlots) return undefined;
    const id = this.nextJobId;
    this.nextJobId = this.nextJobId >= Number.MAX_SAFE_INTEGER ? 1 : this.nextJobId + 1;
    const tail = thread.control[Control.JobTail]!;
    const base = slotOf(tail) * jobSlotWords;
    const jobs = thread.jobs;
    jobs[base] = id;
    jobs[base + 1] = operation;
    jobs[base + 2] = fd;
    jobs[base + 3] = positionBytes;
    jobs[base + 4] = buffers.length;
    jobs[base + jobKeysWord] = keysId;
    jobs[base + jobKeysWord + 1] = firstSector;
    if (source !== undefined) {
      jobs[base + jobSourceWord] = this.memoryIds.idOf(source.buffer as SharedArrayBuffer);
      jobs[base + jobSourceWord + 1] = source.byteOffset;
      jobs[base + jobSourceWord + 2] = source.byteLength;
    }
    for (let segment = 0; segment < buffers.length; segment++) {
      const buffer = buffers[segment]!;
      const at = base + 5 + 3 * segment;
      jobs[at] = this.memoryIds.idOf(buffer.buffer as SharedArrayBuffer);
      jobs[at + 1] = buffer.byteOffset;
      jobs[at + 2] = buffer.byteLength;
    }
    let resolve!: PendingJob['resolve'];
    let reject!: PendingJob['reject'];
    const promise = new Promise<number>((resolveJob, rejectJob) => { resolve = resolveJob; reject = rejectJob; });
    if (thread.pending.size === 0) thread.worker.ref();
    thread.pending.set(id, { resolve, reject, settled: promise });
    Atomics.store(thread.control, Control.JobTail, nextIndex(tail));
    if (Atomics.load(thread.control, Control.ThreadSleeping) === 1) Atomics.notify(thread.control, Control.JobTail, 1);
    return promise;
  }

  /** Jobs that have completed (successfully or not) since the start. */
  get jobsDone(): number {
    return this.jobsFinished;
  }

  /** Stops the threads after the jobs in flight; later submissions return undefined. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.threads.map(async (thread) => {
      await Promise.allSettled([...thread.pending.values()].map((job) => job.settled));
      if (!thread.alive) return;
      const exited = new Promise<void>((resolve) => thread.worker.once('exit', () => resolve()));
      thread.worker.ref();
      const tail = thread.control[Control.JobTail]!;
      thread.jobs[slotOf(tail) * jobSlotWords + 1] = Operation.Exit;
      Atomics.store(thread.control, Control.JobTail, nextIndex(tail));
      Atomics.notify(thread.control, Control.JobTail, 1);
      await exited;
    }));
  }

  private leastBusy(): CopyThread | undefined {
    let best: CopyThread | undefined;
    for (const thread of this.threads) {
      if (!thread.alive || thread.inFlight >= ringSlots) continue;
      if (best === undefined || thread.inFlight < best.inFlight) best = thread;
    }
    return best;
  }

  private broadcast(message: RegistrationMessage): void {
    for (const thread of this.threads) if (thread.alive) thread.registrations.postMessage(message);
  }

  /** Takes every result the thread published, then re-arms its doorbell and looks once more. */
  private drain(thread: CopyThread): void {
    this.takeResults(thread);
    Atomics.store(thread.control, Control.LoopArmed, 1);
    this.takeResults(thread);
  }

  private takeResults(thread: CopyThread): void {
    const control = thread.control;
    let head = control[Control.ResultHead]!;
    const tail = Atomics.load(control, Control.ResultTail);
    while (head !== tail) {
      const base = slotOf(head) * resultSlotWords;
      const id = thread.results[base]!;
      const result = thread.results[base + 1]!;
      head = nextIndex(head);
      const job = thread.pending.get(id);
      assert(job !== undefined, `copy thread returned unknown job ${id}`);
      thread.pending.delete(id);
      this.jobsFinished++;
      if (thread.pending.size === 0) thread.worker.unref();
      if (result >= 0) job.resolve(result);
      else job.reject(errnoError(result));
    }
    Atomics.store(control, Control.ResultHead, head);
  }

  /** A thread that dies fails its jobs (the volume's failure policy takes it from there); no new job goes to it. */
  private died(thread: CopyThread, error: Error): void {
    if (!thread.alive) return;
    thread.alive = false;
    this.takeResults(thread);
    for (const job of thread.pending.values()) job.reject(Object.assign(new Error(`copy thread failed: ${error.message}`), { code: 'EIO' }));
    thread.pending.clear();
  }
}

function errnoError(negativeErrno: number): NodeJS.ErrnoException {
  let code = 'EIO';
  try {
    code = getSystemErrorName(negativeErrno);
  } catch {
    // Not an errno this Node knows: EIO.
  }
  return Object.assign(new Error(`${code}: copy thread I/O failed`), { code, errno: negativeErrno });
}

let shared: CopyThreads | undefined;

/**
 * The process's copy threads, started on first use: one per CPU up to
 * COPY_THREADS_MAX; SOFTRAID_COPY_THREADS sets the number, 0 turns them off.
 */
export function sharedCopyThreads(): CopyThreads | undefined {
  if (shared !== undefined) return shared;
  const configured = process.env.SOFTRAID_COPY_THREADS;
  const count = configured === undefined || configured === '' ? Math.min(availableParallelism(), COPY_THREADS_MAX) : Number(configured);
  if (!Number.isSafeInteger(count) || count < 0) throw new Error(`SOFTRAID_COPY_THREADS=${configured}: expected a whole number ≥ 0`);
  if (count === 0) return undefined;
  shared = new CopyThreads(count);
  return shared;
}
