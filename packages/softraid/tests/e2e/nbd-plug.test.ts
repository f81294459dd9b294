// BlockDevice.plug/unplug from a real NBD connection: while a request is
// half received the device is told more is coming (the RAID 5 row gatherer
// may then hold a partial row for it); once input stops at a frame
// boundary, or the client goes away, it is told nothing more is known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { MemoryBlockDevice, startServer } from './nbd-helpers.js';

class PluggedDevice extends MemoryBlockDevice {
  plugged = 0;
  readonly events: string[] = [];
  plug(): void {
    this.plugged++;
    this.events.push('plug');
  }
  unplug(): void {
    this.plugged--;
    this.events.push('unplug');
  }
}

function be32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

function writeHeader(offsetBytes: number, lengthBytes: number, cookie: number): Buffer {
  const out = Buffer.alloc(28);
  out.writeUInt32BE(0x25609513, 0);
  out.writeUInt16BE(1, 6); // NBD_CMD_WRITE
  out.writeUInt32BE(cookie, 12);
  out.writeUInt32BE(offsetBytes, 20);
  out.writeUInt32BE(lengthBytes, 24);
  return out;
}

/** Fixed newstyle, no zeroes, NBD_OPT_GO for `exportName`. */
function handshake(exportName: string): Buffer {
  const name = Buffer.from(exportName);
  const goData = Buffer.concat([be32(name.length), name, Buffer.from([0, 0])]);
  return Buffer.concat([be32(3), Buffer.from('IHAVEOPT'), be32(7), be32(goData.length), goData]);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('a half-received WRITE plugs the device; the rest of it, then silence, unplugs it; a client gone mid-frame unplugs it too', async () => {
  const fixture = await startServer();
  const device = new PluggedDevice(1024 * 1024);
  fixture.registry.set('sd0', device);
  const sockets: Socket[] = [];
  const open = async (): Promise<Socket> => {
    const socket = connect(fixture.socketPath);
    sockets.push(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(handshake('sd0'));
    return socket;
  };
  try {
    const socket = await open();
    const payload = Buffer.alloc(128 * 1024, 0x5a);
    socket.write(Buffer.concat([writeHeader(0, payload.length, 1), payload.subarray(0, 1000)]));
    await until(() => device.plugged === 1, 'plug while the payload is half received');
    assert.equal(device.counters.writes, 0);
    socket.write(payload.subarray(1000));
    await until(() => device.counters.writes === 1 && device.plugged === 0, 'the write, then unplug');
    assert(device.data.subarray(0, payload.length).every((byte) => byte === 0x5a));
    assert.deepEqual(device.events, ['plug', 'unplug']);

    // A client that disconnects in the middle of a frame leaves the device unplugged.
    const second = await open();
    second.write(Buffer.concat([writeHeader(4096, 4096, 2), Buffer.alloc(100)]));
    await until(() => device.plugged === 1, 'plug from the second client');
    second.destroy();
    await until(() => device.plugged === 0, 'unplug when the client is gone');
    assert.equal(device.counters.writes, 1, 'the half-sent write never reached the device');
    assert.deepEqual(fixture.protocolErrors, []);
  } finally {
    for (const socket of sockets) socket.destroy();
    await fixture.cleanup();
  }
});
