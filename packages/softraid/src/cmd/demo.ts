// `npm start`: softraidd on an embedded default. State lives in ./state
// (git-ignored): on the first run four sparse 1 GiB member files and a
// spare are created, then `bioctl -c 5` builds a RAID 5 volume over them and
// `bioctl -H` adds the spare. Every run prints bioctl's view, how to attach
// the volume, and what to try next as things stand now (which disk to pull,
// whether a spare is left, which disk can become the new spare); Ctrl-C
// stops the daemon cleanly. It drives the real binaries, exactly as an
// operator would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, ftruncateSync, readdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { resolve, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// packages/softraid/dist/src/cmd -> the checkout's root, where ./bin/bioctl and ./bin/softraidd are.
const repository = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');
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

interface VolumeNow {
  state: string;
  members: { name: string; state: string }[];
  spares: string[];
}

/** sd0 and the spare pool as softraidd reports them now (bioctl --json), or null when sd0 is not there. */
function volumeNow(): VolumeNow | null {
  const result = spawnSync(process.execPath, [join(repository, 'bin', 'bioctl'), '--json', 'softraid0'], { env, encoding: 'utf8' });
  if (result.status !== 0) return null;
  const json = JSON.parse(result.stdout) as {
    volumes: Record<string, { status: string; chunks: { name: string; status: string }[] }>;
    hot_spares: { name: string }[];
  };
  const sd0 = json.volumes['sd0'];
  if (sd0 === undefined) return null;
  return { state: sd0.status, members: sd0.chunks.map((chunk) => ({ name: chunk.name, state: chunk.status })), spares: json.hot_spares.map((spare) => spare.name) };
}

/** What to try next, true to what sd0 and the pool are now (after a pulled disk, a rebuild, a restart). */
function nextSteps(now: VolumeNow | null): string {
  const bioctlLine = (args: string): string => `  SOFTRAID_SOCKET=${controlSocket} ./bin/bioctl ${args}`;
  if (now === null) return '  sd0 is not assembled: the log above says why.';
  const lines: string[] = [];
  const online = now.members.filter((member) => member.state === 'Online');
  const inUse = new Set([...now.members.map((member) => member.name), ...now.spares]);
  const unused = readdirSync(disksDirectory).map((name) => join(disksDirectory, name)).filter((path) => path.endsWith('.img') && !inUse.has(path));
  if (now.state === 'Online' && online.length > 0) {
    const victim = online.at(-1)!.name;
    lines.push(now.spares.length > 0
      ? `  # pull a disk: the hot spare (${now.spares[0]}) takes over and rebuilds; watch "Rebuild NN% done"`
      : '  # pull a disk: with no hot spare left, sd0 runs degraded until a disk is added with -R');
    lines.push(bioctlLine(`-O ${victim} sd0`), bioctlLine('sd0'));
  } else if (now.state === 'Rebuild') {
    lines.push('  # sd0 is rebuilding: watch "Rebuild NN% done"', bioctlLine('sd0'));
  } else if (now.state === 'Degraded') {
    lines.push('  # sd0 is degraded: rebuild it onto a disk', bioctlLine(`-R ${unused[0] ?? join(disksDirectory, 'new.img')} sd0`));
  }
  if (unused.length > 0 && now.state !== 'Degraded') {
    lines.push(`  # ${unused[0]} is in no volume now: make it the new hot spare`, bioctlLine(`-H ${unused[0]} softraid0`));
  }
  return lines.join('\n');
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

/** A free loopback port for /metrics, so the demo never collides with a softraidd already serving it. */
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 9797;
}

async function main(): Promise<void> {
  const http = process.env.SOFTRAID_HTTP ?? `127.0.0.1:${await freeLoopbackPort()}`;
  (env as NodeJS.ProcessEnv).SOFTRAID_HTTP = http;
  const firstRun = !existsSync(disksDirectory);
  mkdirSync(disksDirectory, { recursive: true });
  const members = ['disk0', 'disk1', 'disk2', 'disk3'].map((name) => join(disksDirectory, `${name}.img`));
  const spare = join(disksDirectory, 'spare.img');
  if (firstRun) for (const path of [...members, spare]) sparseFile(path, memberBytes);

  // Its own process group: Ctrl-C reaches this process only, which stops the daemon once (SIGTERM),
  // instead of the terminal's SIGINT and this process's SIGTERM both arriving.
  const daemon = spawn(process.execPath, [join(repository, 'bin', 'softraidd')], { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  const stopped = new Promise<number>((done) => daemon.on('exit', (code) => done(code ?? 1)));
  process.on('exit', () => {
    if (daemon.exitCode === null) daemon.kill('SIGTERM');
  });
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
  # its sensors, as OpenBSD's sysctl hw.sensors shows them
  SOFTRAID_SOCKET=${controlSocket} ./bin/sensorsd -l${http === 'off' ? '' : `
  # the status page: volumes, disks, rebuilds, I/O and events, live (from another machine: ssh -L ${http.split(':').at(-1)}:${http} this-host)
  xdg-open http://${http}/
  # Prometheus metrics (node_exporter's md names, rebuild progress, members, I/O)
  curl -s http://${http}/metrics | grep -E '^(node_md_state|node_md_disks|softraid_volume_progress)'`}

${nextSteps(volumeNow())}

Press Ctrl-C to stop.`);
  process.exitCode = await stopped;
}

main().catch((error: unknown) => {
  console.error(`npm start: ${(error as Error).message}`);
  process.exitCode = 1;
});
