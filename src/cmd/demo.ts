// `npm start`: softraidd on an embedded default. State lives in ./state
// (git-ignored): on the first run four sparse 1 GiB member files and a
// spare are created, then `bioctl -c 5` builds a RAID 5 volume over them and
// `bioctl -H` adds the spare. Every run prints bioctl's view and how to
// attach the volume; Ctrl-C stops the daemon cleanly. It drives the real
// binaries, exactly as an operator would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, ftruncateSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repository = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const stateDirectory = resolve(process.env.SOFTRAID_DEMO_DIR ?? join(repository, 'state'));
const disksDirectory = join(stateDirectory, 'disks');
const controlSocket = join(stateDirectory, 'run', 'control.sock');
const nbdSocket = join(stateDirectory, 'run', 'nbd.sock');
const memberBytes = 1024 ** 3;
const env = {
  ...process.env,
  SOFTRAID_SOCKET: controlSocket,
  SOFTRAID_NBD: nbdSocket,
  SOFTRAID_STATE_DIR: join(stateDirectory, 'lib'),
};

function bioctl(...args: string[]): number {
  console.log(`$ bioctl ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [join(repository, 'bin', 'bioctl'), ...args], { env, stdio: 'inherit' });
  return result.status ?? 1;
}

function sparseFile(path: string, sizeBytes: number): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, sizeBytes);
  closeSync(fd);
}

async function waitForSocket(path: string, daemon: ChildProcess, timeoutMs: number): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (daemon.exitCode !== null) throw new Error(`softraidd exited with status ${daemon.exitCode}`);
    const up = await new Promise<boolean>((done) => {
      const socket = connect(path, () => { socket.end(); done(true); });
      socket.on('error', () => done(false));
    });
    if (up) return;
    if (Date.now() - start > timeoutMs) throw new Error(`softraidd did not open ${path} within ${timeoutMs} ms`);
    await new Promise((wake) => setTimeout(wake, 100));
  }
}

async function main(): Promise<void> {
  const firstRun = !existsSync(disksDirectory);
  mkdirSync(disksDirectory, { recursive: true });
  const members = ['disk0', 'disk1', 'disk2', 'disk3'].map((name) => join(disksDirectory, `${name}.img`));
  const spare = join(disksDirectory, 'spare.img');
  if (firstRun) for (const path of [...members, spare]) sparseFile(path, memberBytes);

  const daemon = spawn(process.execPath, [join(repository, 'bin', 'softraidd')], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const stopped = new Promise<number>((done) => daemon.on('exit', (code) => done(code ?? 1)));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping softraidd (flush, metadata marked clean) ...');
    daemon.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  await waitForSocket(controlSocket, daemon, 15_000);
  if (firstRun) {
    bioctl('-c', '5', '-l', members.join(','), 'softraid0');
    bioctl('-H', spare, 'softraid0');
  }
  bioctl('softraid0');
  bioctl('-h', 'sd0');
  const uri = `nbd+unix:///sd0?socket=${nbdSocket}`;
  console.log(`
softraidd is serving sd0 over NBD on ${nbdSocket}. In another terminal:

  # size, block sizes and flags
  nbdinfo '${uri}'
  # the volume as the file /tmp/sd0/nbd (then mkfs.ext4, mount -o loop, ...)
  mkdir -p /tmp/sd0 && nbdfuse /tmp/sd0 '${uri}' &
  # a kernel block device
  modprobe nbd && nbd-client -unix ${nbdSocket} -N sd0 /dev/nbd0
  # a VM disk
  qemu-system-x86_64 -drive file=nbd:unix:${nbdSocket}:exportname=sd0,format=raw ...

  # pull a disk: the hot spare takes over and rebuilds; watch "Rebuild NN% done"
  SOFTRAID_SOCKET=${controlSocket} ./bin/bioctl -O ${members[1]} sd0
  SOFTRAID_SOCKET=${controlSocket} ./bin/bioctl sd0

Press Ctrl-C to stop.`);
  process.exitCode = await stopped;
}

main().catch((error: unknown) => {
  console.error(`npm start: ${(error as Error).message}`);
  process.exitCode = 1;
});
