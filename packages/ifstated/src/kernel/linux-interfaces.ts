// The kernel's interfaces on Linux: a listing (names, index and operstate from
// /sys/class/net, addresses from `ip -o addr`), and the rtnetlink events that
// follow, read from `ip -o monitor link address` (Node has no netlink socket).
// ip is restarted if it dies, and the table resynchronised from a new listing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runProgram } from '@openbsd38/libutil/run-command.js';
import { isInterfaceName, linkStateFromOperstate } from './link-state.js';
import { parseMonitorLine, type MonitorEvent } from './monitor-line.js';

/** How long the monitor gets to open its netlink socket before the listing is read anyway. */
export const monitorReadyTimeoutMs = 3000;
/** Pause before restarting an ip monitor that exited. */
export const monitorRestartDelayMs = 1000;
const ipListTimeoutMs = 10_000;

export function interfaceExists(name: string, sysfsRoot = '/sys'): boolean {
  return isInterfaceName(name) && existsSync(join(sysfsRoot, 'class/net', name));
}

function readTrimmed(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null; // The interface went away while it was listed.
  }
}

/** Every interface and address now, as the monitor's events would say them. */
export async function listInterfaces(sysfsRoot = '/sys'): Promise<MonitorEvent[]> {
  const events: MonitorEvent[] = [];
  const classNet = join(sysfsRoot, 'class/net');
  for (const name of readdirSync(classNet).sort()) {
    const index = Number(readTrimmed(join(classNet, name, 'ifindex')));
    const operstate = readTrimmed(join(classNet, name, 'operstate'));
    if (!Number.isInteger(index) || index <= 0 || operstate === null) continue;
    events.push({ kind: 'link', index, name, state: linkStateFromOperstate(operstate), deleted: false });
  }
  const listing = await runProgram('ip', ['-o', 'addr', 'show'], { timeoutMs: ipListTimeoutMs });
  if (listing.status !== 0) throw new Error(`ip -o addr show: ${listing.startError ?? (listing.stderr.trim() || `exit status ${listing.status}`)}`);
  for (const line of listing.stdout.split('\n')) {
    const event = parseMonitorLine(line);
    if (event?.kind === 'address') events.push(event);
  }
  return events;
}

/** Whether process `pid` holds a socket yet (ip opens its netlink socket before it reads). */
export function holdsSocket(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

export interface KernelMonitor {
  stop(): void;
}

export interface KernelMonitorOptions {
  onEvent(event: MonitorEvent): void;
  /** After a restart: the fresh listing, to resynchronise from. */
  onResync(events: MonitorEvent[]): void;
  onProblem(message: string): void;
}

/** Start `ip -o monitor link address`; resolves once it listens, so a listing read afterwards misses nothing. */
export async function startKernelMonitor(options: KernelMonitorOptions): Promise<KernelMonitor> {
  let stopped = false;
  let child: ChildProcess | null = null;
  let restartTimer: NodeJS.Timeout | undefined;

  const launch = async (): Promise<void> => {
    const started = spawn('ip', ['-o', 'monitor', 'link', 'address'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let stderr = '';
    started.stderr!.on('data', (data: Buffer) => { stderr = (stderr + data.toString('utf8')).slice(-1000); });
    createInterface({ input: started.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      const event = parseMonitorLine(line);
      if (event !== null && !stopped) options.onEvent(event);
    });
    const spawnFailed = new Promise<string>((resolve) => started.once('error', (error) => resolve(error.message)));
    started.once('exit', (code, signal) => {
      if (stopped) return;
      options.onProblem(`ip monitor exited (${signal ?? `status ${code}`})${stderr === '' ? '' : `: ${stderr.trim()}`}; restarting it`);
      restartTimer = setTimeout(() => {
        void launch().then(() => listInterfaces()).then((events) => { if (!stopped) options.onResync(events); },
          (error: unknown) => options.onProblem(`cannot resynchronise: ${(error as Error).message}`));
      }, monitorRestartDelayMs);
    });
    const deadline = Date.now() + monitorReadyTimeoutMs;
    while (started.pid !== undefined && !holdsSocket(started.pid) && Date.now() < deadline && started.exitCode === null) {
      const failure = await Promise.race([spawnFailed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 10))]);
      if (failure !== null) throw new Error(`cannot run ip: ${failure}`);
    }
    if (started.pid === undefined) throw new Error(`cannot run ip: ${await spawnFailed}`);
  };

  await launch();
  return {
    stop(): void {
      stopped = true;
      clearTimeout(restartTimer);
      child?.kill('SIGTERM');
    },
  };
}
