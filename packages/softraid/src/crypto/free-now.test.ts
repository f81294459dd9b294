// freeNow: in a thread started after allowFreeNow (as the cipher threads
// are), an update() output is emptied and its memory given back; a slice of
// Buffer's pool and a view of shared memory are left whole, as is anything
// in a context without ArrayBuffer.prototype.transfer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { allowFreeNow, freeNow } from './free-now.js';

interface ThreadReport {
  transfer: string;
  outputLengthAfter: number;
  outputMemoryAfter: number;
  ownLengthAfter: number;
  pooledText: string;
  pooledLengthAfter: number;
  sharedLengthAfter: number;
}

/** Runs the checks in a new thread that imports free-now.ts the way thread-start.ts starts the crypto threads from source. */
function reportFromThread(): Promise<ThreadReport> {
  const fromSource = import.meta.url.endsWith('.ts');
  const module = new URL(`./free-now.${fromSource ? 'ts' : 'js'}`, import.meta.url).href;
  const load = fromSource
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return import(${JSON.stringify(module)}); })`
    : `import(${JSON.stringify(module)})`;
  const checks = `
    const { parentPort } = await import('node:worker_threads');
    const { createCipheriv, randomBytes } = await import('node:crypto');
    const cipher = createCipheriv('aes-256-ecb', randomBytes(32), null);
    cipher.setAutoPadding(false);
    const output = cipher.update(new Uint8Array(65536));
    freeNow(output);
    const own = Buffer.alloc(4096, 1);
    freeNow(own);
    const pooled = Buffer.from('still here');
    freeNow(pooled);
    const shared = new Uint8Array(new SharedArrayBuffer(4096));
    freeNow(shared);
    parentPort.postMessage({
      transfer: typeof ArrayBuffer.prototype.transfer, outputLengthAfter: output.length, outputMemoryAfter: output.buffer.byteLength,
      ownLengthAfter: own.length, pooledText: pooled.toString(), pooledLengthAfter: pooled.length, sharedLengthAfter: shared.length,
    });`;
  const code = `${load}.then(async ({ freeNow }) => { ${checks} });`;
  const worker = new Worker(code, { eval: true, execArgv: fromSource ? ['--conditions=source'] : [] });
  return new Promise((resolve, reject) => {
    worker.once('message', (report: ThreadReport) => {
      resolve(report);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

test('freeNow: after allowFreeNow, a thread empties an update() output and a whole buffer, and leaves pool slices and shared memory', async () => {
  allowFreeNow();
  const report = await reportFromThread();
  assert.equal(report.transfer, 'function');
  assert.equal(report.outputLengthAfter, 0);
  assert.equal(report.outputMemoryAfter, 0);
  assert.equal(report.ownLengthAfter, 0);
  assert.equal(report.pooledText, 'still here');
  assert.equal(report.pooledLengthAfter, 'still here'.length);
  assert.equal(report.sharedLengthAfter, 4096);
});

test('freeNow: in a context made without transfer() (the event loop\'s on Node 20) it leaves the buffer as it was', () => {
  const buffer = Buffer.alloc(4096, 7);
  freeNow(buffer);
  if (typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function') {
    assert.equal(buffer.length, 0);
  } else {
    assert.equal(buffer.length, 4096);
    assert.equal(buffer[4095], 7);
  }
});
