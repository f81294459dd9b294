// Flow of requests through one connection: replies out of order, FLUSH
// answered only once the device's flush resolved, the in-flight limit holding
// (the socket is not read beyond it), the connection limit, and close()
// finishing requests in flight before disconnecting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NbdClientConnection, NbdClientError } from '../../src/nbd/client.js';
import { NBD_CMD_FLUSH, NBD_CMD_READ, NBD_CMD_WRITE } from '../../src/nbd/protocol.js';
import { MemoryBlockDevice, startServer } from './nbd-helpers.js';

const OPTIONS = { connectTimeoutMs: 2000, requestTimeoutMs: 5000, requestsInFlightMax: 64 };

/** A device whose operations wait until the test releases them. */
class GatedDevice extends MemoryBlockDevice {
  private gates: (() => void)[] = [];
  gated = true;
  concurrent = 0;
  concurrentMax = 0;
  flushResolved = false;

  private async gate(): Promise<void> {
    this.concurrent++;
    this.concurrentMax = Math.max(this.concurrentMax, this.concurrent);
    if (this.gated) await new Promise<void>((resolve) => this.gates.push(resolve));
    this.concurrent--;
  }

  waiting(): number {
    return this.gates.length;
  }

  /** Releases the operation that arrived `index`-th among those waiting. */
  release(index = 0): void {
    const [resolve] = this.gates.splice(index, 1);
    assert(resolve !== undefined, 'nothing to release');
    resolve();
  }

  releaseAll(): void {
    this.gated = false;
    for (const resolve of this.gates.splice(0)) resolve();
  }

  override async read(offsetBytes: number, into: Uint8Array): Promise<void> {
    await this.gate();
    await super.read(offsetBytes, into);
  }

  override async flush(): Promise<void> {
    await this.gate();
    await super.flush();
    this.flushResolved = true;
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!condition()) {
    assert(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('out-of-order replies, durable FLUSH, in-flight limit, connection limit, orderly close', async () => {
  const fixture = await startServer({ limits: { requestsInFlightMax: 4, connectionsMax: 3 } });
  try {
    const device = new GatedDevice(1024 * 1024);
    device.data.fill(0x61, 0, 4096);
    device.data.fill(0x62, 4096, 8192);
    fixture.registry.set('sd0', device);
    const address = { kind: 'unix' as const, path: fixture.socketPath };
    const client = await NbdClientConnection.connect(address, 'sd0', OPTIONS);

    // Out of order: the second read completes (and is answered) first.
    const first = Buffer.alloc(4096);
    const second = Buffer.alloc(4096);
    const order: string[] = [];
    const firstDone = client.request(NBD_CMD_READ, 0, 0, 4096, undefined, first).then(() => order.push('first'));
    const secondDone = client.request(NBD_CMD_READ, 0, 4096, 4096, undefined, second).then(() => order.push('second'));
    await until(() => device.waiting() === 2, 'two reads at the device');
    device.release(1);
    await secondDone;
    device.release(0);
    await firstDone;
    assert.deepEqual(order, ['second', 'first']);
    assert(first.every((byte) => byte === 0x61) && second.every((byte) => byte === 0x62));

    // FLUSH: no reply before the device's flush resolved.
    await client.request(NBD_CMD_WRITE, 0, 0, 512, Buffer.alloc(512, 7));
    let flushReplied = false;
    const flushDone = client.request(NBD_CMD_FLUSH, 0, 0, 0).then(() => { flushReplied = true; });
    await until(() => device.waiting() === 1, 'flush at the device');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(flushReplied, false, 'FLUSH answered before the device flushed');
    device.release();
    await flushDone;
    assert.equal(device.flushResolved, true);
    assert.equal(device.unflushedWrites, 0);

    // In-flight limit: 12 reads sent, at most 4 reach the device at once.
    device.concurrentMax = 0;
    const reads = Array.from({ length: 12 }, (_, index) => client.request(NBD_CMD_READ, 0, index * 4096, 4096, undefined, Buffer.alloc(4096)));
    await until(() => device.waiting() === 4, 'four reads at the device');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(device.waiting(), 4, 'the server read past its in-flight limit');
    while (device.waiting() > 0 || device.concurrent > 0) {
      if (device.waiting() > 0) device.release();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(reads);
    assert.equal(device.concurrentMax, 4);

    // Connection limit: 3 connections in all; a 4th is closed at once.
    const second2 = await NbdClientConnection.connect(address, 'sd0', OPTIONS);
    const third = await NbdClientConnection.connect(address, 'sd0', OPTIONS);
    await assert.rejects(NbdClientConnection.connect(address, 'sd0', OPTIONS), (error: NbdClientError) => error.errno === 'EIO');
    await second2.close();
    await third.close();

    // close(): a read in flight still gets its data, then the client is disconnected.
    const pending = Buffer.alloc(4096);
    device.gated = true;
    const inFlight = client.request(NBD_CMD_READ, 0, 0, 4096, undefined, pending);
    await until(() => device.waiting() === 1, 'read in flight');
    const closed = fixture.server.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    device.releaseAll();
    await inFlight;
    assert(pending.every((byte, index) => byte === (index < 512 ? 7 : 0x61)));
    await closed;
    await until(() => !client.alive, 'client disconnected');
    await client.close();
  } finally {
    await fixture.cleanup();
  }
});
