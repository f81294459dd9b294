// A copy thread (see copy-threads.ts): takes jobs from its ring, runs each
// as a synchronous preadv/pwritev on the member's descriptor (descriptors
// belong to the process, not to a thread), and puts the result in the result
// ring. When the ring is empty it sleeps on the ring's tail until the event
// loop notifies it (spinning first was measured: no faster on two vCPUs, and
// it takes CPU from the loop). It never runs the loop's callbacks and never
// touches a buffer outside a job it was given.
//
// A ReadDecrypt job decrypts what it read before it reports, with the keys
// of the volume the job names (CRYPTO, RAID 1C): one hand-off per read
// instead of two (member -> loop -> cipher thread -> loop); an EncryptWrite
// encrypts its plaintext into the buffer it then writes (CRYPTO). The thread holds
// each such volume's keys from their registration until its ForgetKeys job.
import { readvSync, writevSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { VolumeCipher } from '../crypto/volume-cipher.js';
import {
  Control, Operation, jobKeysWord, jobSlotWords, jobSourceWord, nextIndex, resultSlotWords, slotOf, type RegistrationMessage, type RingMemory,
} from './copy-ring.js';
import { vectorsAfter } from './vectors.js';

interface CopyThreadData {
  ring: RingMemory;
  registrations: MessagePort;
}

const data = workerData as CopyThreadData;
const control = new Int32Array(data.ring.control);
const jobs = new Float64Array(data.ring.jobs);
const results = new Float64Array(data.ring.results);
const memories = new Map<number, Buffer>();
/** Volumes' data keys as ciphers, by the number the loop gave them. */
const ciphers = new Map<number, VolumeCipher>();
const doorbell = parentPort;
if (doorbell === null) throw new Error('copy-thread: not started as a worker thread');

/**
 * Takes registrations until `id` is in `known` (the loop registers a buffer
 * or a volume's keys before it names them in a job).
 */
function registered<T>(known: Map<number, T>, id: number, what: string): T {
  for (;;) {
    const found = known.get(id);
    if (found !== undefined) return found;
    const received = receiveMessageOnPort(data.registrations);
    if (received === undefined) throw new Error(`copy-thread: ${what} ${id} was never registered`);
    applyRegistration(received.message as RegistrationMessage);
  }
}

/** Forgets buffers the loop let go of (and learns new ones) while idle. */
function drainRegistrations(): void {
  for (let received = receiveMessageOnPort(data.registrations); received !== undefined; received = receiveMessageOnPort(data.registrations)) {
    applyRegistration(received.message as RegistrationMessage);
  }
}

function applyRegistration(message: RegistrationMessage): void {
  switch (message.kind) {
    case 'register':
      memories.set(message.id, Buffer.from(message.memory));
      return;
    case 'forget':
      memories.delete(message.id);
      return;
    case 'keys':
      ciphers.set(message.id, new VolumeCipher(message.dataKeys));
      message.dataKeys.fill(0);
  }
}

/** A ForgetKeys job: registrations still queued are applied first (the keys may be among them), then the cipher is destroyed. */
function forgetKeys(id: number): number {
  drainRegistrations();
  ciphers.get(id)?.destroy();
  ciphers.delete(id);
  return 0;
}

/** Decrypts a finished ReadDecrypt's buffers in place, in order, from the job's first sector. */
function decryptInPlace(base: number, vector: readonly Uint8Array[]): void {
  const cipher = registered(ciphers, jobs[base + jobKeysWord]!, 'keys');
  let sector = jobs[base + jobKeysWord + 1]!;
  for (const piece of vector) {
    cipher.decryptSectors(sector, piece, piece);
    sector += piece.length / 512;
  }
}

/** An EncryptWrite's plaintext encrypted into its one buffer, before the write. */
function encryptInto(base: number, target: Uint8Array): void {
  const cipher = registered(ciphers, jobs[base + jobKeysWord]!, 'keys');
  const memory = registered(memories, jobs[base + jobSourceWord]!, 'buffer');
  const offset = jobs[base + jobSourceWord + 1]!;
  const source = memory.subarray(offset, offset + jobs[base + jobSourceWord + 2]!);
  cipher.encryptSectors(jobs[base + jobKeysWord + 1]!, source, target);
}

/** Runs one job; bytes moved, or a negative errno. */
function run(base: number): number {
  const operation = jobs[base + 1]! as Operation;
  const fd = jobs[base + 2]!;
  let position = jobs[base + 3]!;
  const segments = jobs[base + 4]!;
  const whole: Uint8Array[] = [];
  let total = 0;
  for (let segment = 0; segment < segments; segment++) {
    const at = base + 5 + 3 * segment;
    const memory = registered(memories, jobs[at]!, 'buffer');
    const offset = jobs[at + 1]!;
    const length = jobs[at + 2]!;
    whole.push(memory.subarray(offset, offset + length));
    total += length;
  }
  const reading = operation === Operation.Read || operation === Operation.ReadDecrypt;
  if (operation === Operation.EncryptWrite) encryptInto(base, whole[0]!);
  let vector = whole;
  let done = 0;
  try {
    while (done < total) {
      const moved = reading ? readvSync(fd, vector, position) : writevSync(fd, vector, position);
      if (moved === 0) break;
      done += moved;
      position += moved;
      if (done < total) vector = vectorsAfter(vector, moved);
    }
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).errno;
    return typeof errno === 'number' && errno < 0 ? errno : -5;
  }
  // A short read (the member's end) is not decrypted: the loop fails it whole.
  if (operation === Operation.ReadDecrypt && done === total) decryptInPlace(base, whole);
  return done;
}

function publishResult(id: number, result: number): void {
  const tail = control[Control.ResultTail]!;
  const base = slotOf(tail) * resultSlotWords;
  results[base] = id;
  results[base + 1] = result;
  Atomics.store(control, Control.ResultTail, nextIndex(tail));
  if (Atomics.compareExchange(control, Control.LoopArmed, 1, 0) === 1) doorbell!.postMessage(0);
}

for (;;) {
  const head = control[Control.JobHead]!;
  if (head === Atomics.load(control, Control.JobTail)) {
    drainRegistrations();
    Atomics.store(control, Control.ThreadSleeping, 1);
    Atomics.wait(control, Control.JobTail, head);
    Atomics.store(control, Control.ThreadSleeping, 0);
    continue;
  }
  const base = slotOf(head) * jobSlotWords;
  if (jobs[base + 1] === Operation.Exit) break;
  const id = jobs[base]!;
  const result = jobs[base + 1] === Operation.ForgetKeys ? forgetKeys(jobs[base + 3]!) : run(base);
  Atomics.store(control, Control.JobHead, nextIndex(head));
  publishResult(id, result);
}
// Keys still queued are taken too, so that none outlives the thread unzeroed.
drainRegistrations();
for (const cipher of ciphers.values()) cipher.destroy();
data.registrations.close();
