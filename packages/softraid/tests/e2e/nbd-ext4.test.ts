// End to end through the kernel: a RAID 1 volume whose member 0 is an
// nbdkit memory export under the error filter (an NBD URI member, through
// src/chunk/nbd.ts) and whose member 1 is a file, served by our NbdServer;
// nbdfuse exposes the export as a file, losetup + mkfs.ext4 + mount put a
// filesystem on it, files of random content are copied in, e2fsck -fn is
// clean. Then member 0 fails (the error file appears): the whole stack is
// rebuilt so no page cache can answer, the filesystem is mounted again and
// every file reads back with the same sha256, the volume is Degraded with
// member 0 Offline, and e2fsck is still clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { FileChunk } from '../../src/chunk/file.js';
import { NbdChunk } from '../../src/chunk/nbd.js';
import type { ChunkBackend } from '../../src/engine/chunk.js';
import { createVolume } from '../../src/engine/assembly/create.js';
import { saveVolumeMetadata } from '../../src/engine/metadata/io.js';
import { Volume } from '../../src/engine/volume/volume.js';
import type { Clock, VolumeEvent } from '../../src/engine/volume/events.js';
import { nbdUnixUri, run, startNbdkit, startProcess, startServer, stopProcess, type ServerFixture } from './nbd-helpers.js';

const MiB = 1024 * 1024;
const MEMBER_BYTES = 64 * MiB;
/** Sizes of the files copied in: a few MiB in all, odd sizes included. */
const FILE_SIZES_BYTES = [3 * MiB, MiB + 4095, 512 * 1024, 12345, 1, 0];
const TOOL_TIMEOUT_MS = 20_000;
const NBDFUSE_READY_TIMEOUT_MS = 10_000;

const realClock: Clock = {
  nowMs: () => Date.now(),
  sleepMs: (durationMs) => new Promise((resolve) => setTimeout(resolve, durationMs)),
};

async function must(command: string, args: string[]): Promise<string> {
  const result = await run(command, args, { timeoutMs: TOOL_TIMEOUT_MS });
  assert.equal(result.code, 0, `${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** nbdfuse + a loop device over its file: one attachment of the export to the kernel. */
class KernelAttachment {
  private nbdfuse: ChildProcess | undefined;
  private fuseMounted = false;
  loopDevice: string | undefined;
  private ext4Mounted = false;

  constructor(private readonly fuseDir: string, readonly mountDir: string, private readonly pidFile: string) {}

  async attach(uri: string): Promise<string> {
    await rm(this.pidFile, { force: true });
    this.nbdfuse = startProcess('nbdfuse', ['-P', this.pidFile, this.fuseDir, uri]);
    const deadline = Date.now() + NBDFUSE_READY_TIMEOUT_MS;
    while (!existsSync(this.pidFile)) {
      assert(this.nbdfuse.exitCode === null, `nbdfuse exited with ${this.nbdfuse.exitCode}`);
      assert(Date.now() < deadline, 'nbdfuse did not become ready');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.fuseMounted = true;
    this.loopDevice = (await must('losetup', ['--find', '--show', join(this.fuseDir, 'nbd')])).trim();
    assert.match(this.loopDevice, /^\/dev\/loop\d+$/);
    return this.loopDevice;
  }

  async mount(): Promise<void> {
    assert(this.loopDevice !== undefined);
    await must('mount', ['-t', 'ext4', this.loopDevice, this.mountDir]);
    this.ext4Mounted = true;
  }

  async unmount(): Promise<void> {
    await must('umount', [this.mountDir]);
    this.ext4Mounted = false;
  }

  /** Orderly when the test went well; lazy and forceful when it did not. Never throws. */
  async detach(): Promise<void> {
    if (this.ext4Mounted) await run('umount', ['-l', this.mountDir]).catch(() => undefined);
    this.ext4Mounted = false;
    if (this.loopDevice !== undefined) await run('losetup', ['-d', this.loopDevice]).catch(() => undefined);
    this.loopDevice = undefined;
    if (this.fuseMounted) {
      const unmounted = await run('fusermount3', ['-u', this.fuseDir]).catch(() => undefined);
      if (unmounted?.code !== 0) await run('fusermount3', ['-u', '-z', this.fuseDir]).catch(() => undefined);
    }
    this.fuseMounted = false;
    if (this.nbdfuse !== undefined) await stopProcess(this.nbdfuse);
    this.nbdfuse = undefined;
  }
}

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

test('ext4 on a RAID 1 over an nbdkit member and a file, through nbdfuse and a loop device, survives the member failing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbd-ext4-'));
  const errorFile = join(dir, 'member0-fails');
  const nbdkitSocket = join(dir, 'member0.sock');
  const fuseDir = join(dir, 'fuse');
  const mountDir = join(dir, 'ext4');
  const memberFile = join(dir, 'member1.img');
  await mkdir(fuseDir);
  await mkdir(mountDir);
  await writeFile(memberFile, '');
  await truncate(memberFile, MEMBER_BYTES);

  let nbdkit: ChildProcess | undefined;
  const members: ChunkBackend[] = [];
  let volume: Volume | undefined;
  const events: VolumeEvent[] = [];
  let fixture: ServerFixture | undefined;
  const kernel = new KernelAttachment(fuseDir, mountDir, join(dir, 'nbdfuse.pid'));
  try {
    nbdkit = await startNbdkit(nbdkitSocket, ['--filter=error', 'memory', `${MEMBER_BYTES}`, 'error=EIO', 'error-rate=100%', `error-file=${errorFile}`]);
    const memberUri = `nbd+unix:///?socket=${nbdkitSocket}`;
    members.push(await NbdChunk.open(memberUri, { requestTimeoutMs: 5000, connectTimeoutMs: 2000, reconnectAttemptsMax: 2, reconnectDelayMs: 50 }));
    members.push(await FileChunk.open(memberFile));
    const created = await createVolume({
      level: 'raid1', chunks: members, deviceName: 'sd0', noAutoAssemble: false, force: false,
      chunksInUse: () => false, random: (bytes) => randomFillSync(bytes),
    });
    volume = new Volume(created.record, created.members, { saveMetadata: saveVolumeMetadata, onEvent: (event) => events.push(event), clock: realClock });
    assert.equal(volume.state, 'Online');
    fixture = await startServer();
    fixture.registry.set('sd0', volume);
    const exportUri = nbdUnixUri(fixture.socketPath, 'sd0');

    // 1. A filesystem on the healthy volume, files copied in, checked clean.
    const loop = await kernel.attach(exportUri);
    await must('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', loop]);
    await kernel.mount();
    const expected = new Map<string, string>();
    await mkdir(join(mountDir, 'data', 'nested'), { recursive: true });
    for (const [index, sizeBytes] of FILE_SIZES_BYTES.entries()) {
      const name = join(index % 2 === 0 ? 'data' : 'data/nested', `file-${index}.bin`);
      const content = randomBytes(sizeBytes);
      await writeFile(join(mountDir, name), content);
      expected.set(name, createHash('sha256').update(content).digest('hex'));
    }
    await must('sync', ['-f', mountDir]);
    await kernel.unmount();
    await must('e2fsck', ['-fn', loop]);
    await kernel.detach();
    assert.equal(volume.state, 'Online', 'no member failed while writing');

    // 2. Member 0 fails. A fresh nbdfuse and loop device: every read reaches the volume.
    await writeFile(errorFile, '');
    const loopAgain = await kernel.attach(exportUri);
    await kernel.mount();
    for (const [name, sha256] of expected) {
      assert.equal(await sha256Of(join(mountDir, name)), sha256, `${name} reads back identical after member 0 failed`);
    }
    await kernel.unmount();
    await must('e2fsck', ['-fn', loopAgain]);
    assert.equal(volume.state, 'Degraded');
    const chunks = volume.info().chunks;
    assert.equal(chunks[0]?.state, 'Offline', 'the nbdkit member went Offline');
    assert.equal(chunks[1]?.state, 'Online');
    assert.deepEqual(events.filter((event) => event.name === 'Fail').map((event) => event.chunkIndex), [0]);
    assert.deepEqual(fixture.protocolErrors, []);
  } finally {
    await kernel.detach();
    await fixture?.cleanup().catch(() => undefined);
    if (volume !== undefined) await volume.close({ clean: true }).catch(() => undefined);
    for (const member of members) await member.close().catch(() => undefined);
    if (nbdkit !== undefined) await stopProcess(nbdkit);
    await rm(dir, { recursive: true, force: true });
  }
});
