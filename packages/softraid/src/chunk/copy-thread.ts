// A copy thread (see copy-threads.ts): takes jobs from its ring, runs each
// as a synchronous preadv/pwritev on the member's descriptor (descriptors
// belong to the process, not to a thread), and puts the result in the result
// ring. When the ring is empty it sleeps on the ring's tail until the event
// loop notifies it (spinning first was measured: no faster on two vCPUs, and
// it takes CPU from the loop). It never runs the loop's callbacks and never
// touches a buffer outside a job it was given.
import { readvSync, writevSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import {
  Control, Operation, jobSlotWords, nextIndex, resultSlotWords, slotOf, type RegistrationMessage, type RingMemory,
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
const doorbell = parentPort;
if (doorbell === null) throw new Error('copy-thread: not started as a worker thread');

/** Takes registrations until `id` is known (the loop registers a buffer before it names it in a job). */
function memoryFor(id: number): Buffer {
  for (;;) {
    const known = memories.get(id);
    if (known !== undefined) return known;
    const received = receiveMessageOnPort(data.registrations);
    if (received === undefined) throw new Error(`copy-thread: buffer ${id} was never registered`);
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
  if (message.kind === 'register') memories.set(message.id, Buffer.from(message.memory));
  else memories.delete(message.id);
}

/** Runs one job; bytes moved, or a negative errno. */
function run(base: number): number {
  const operation = jobs[base + 1]! as Operation;
  const fd = jobs[base + 2]!;
  let position = jobs[base + 3]!;
  const segments = jobs[base + 4]!;
  let vector: Uint8Array[] = [];
  let total = 0;
  for (let segment = 0; segment < segments; segment++) {
    const at = base + 5 + 3 * segment;
    const memory = memoryFor(jobs[at]!);
    const offset = jobs[at + 1]!;
    const length = jobs[at + 2]!;
    vector.push(memory.subarray(offset, offset + length));
    total += length;
  }
  let done = 0;
  try {
    while (done < total) {
      const moved = operation === Operation.Read ? readvSync(fd, vector, position) : writevSync(fd, vector, position);
      if (moved === 0) break;
      done += moved;
      position += moved;
      if (done < total) vector = vectorsAfter(vector, moved);
    }
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).errno;
    return typeof errno === 'number' && errno < 0 ? errno : -5;
  }
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
  const result = run(base);
  Atomics.store(control, Control.JobHead, nextIndex(head));
  publishResult(id, result);
}
data.registrations.close();
