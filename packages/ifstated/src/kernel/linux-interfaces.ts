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
/**
 * The netlink receive buffer ip monitor asks for (ip -rcvbuf; the kernel caps it at
 * net.core.rmem_max): a link flapping fast sends thousands of messages of about a kilobyte.
 */
export const monitorReceiveBufferBytes = 16 * 1024 * 1024;
/** How long an exited ip monitor's stderr may take to reach its end before the exit is reported. */
const stderrDrainTimeoutMs = 1000;
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
export async function listInterfaces(sysfsRoot = '/sys', ipPath = 'ip'): Promise<MonitorEvent[]> {
  const events: MonitorEvent[] = [];
  const classNet = join(sysfsRoot, 'class/net');
  for (const name of readdirSync(classNet).sort()) {
    const index = Number(readTrimmed(join(classNet, name, 'ifindex')));
    const operstate = readTrimmed(join(classNet, name, 'operstate'));
    if (!Number.isInteger(index) || index <= 0 || operstate === null) continue;
    events.push({ kind: 'link', index, name, state: linkStateFromOperstate(operstate), deleted: false });
  }
  const listing = await runProgram(ipPath, ['-o', 'addr', 'show'], { timeoutMs: ipListTimeoutMs });
  if (listing.status !== 0) throw new Error(`ip -o addr show: ${listing.startError ?? (listing.stderr.trim() || `exit status ${listing.status}`)}`);
  for (const line of listing.stdout.split('\n')) {
    const event = parseMonitorLine(line);
    if (event?.kind === 'address') events.push(event);
  }
  return events;
}

/**
 * Whether process `pid` holds a netlink socket yet (ip opens and subscribes it before it reads):
 * one of its descriptors is a socket whose inode /proc/PID/net/netlink lists. (Its stdio, from
 * Node, are sockets too: hence the inode check.)
 */
export function holdsNetlinkSocket(pid: number): boolean {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match !== null) inodes.add(match[1]!);
      } catch {
        // The descriptor closed meanwhile.
      }
    }
    if (inodes.size === 0) return false;
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    return readFileSync(`/proc/${pid}/net/netlink`, 'utf8').split('\n').slice(1).some((line) => inodes.has(line.trim().split(/\s+/).at(-1) ?? ''));
  } catch {
    return false; // The process is gone.
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
  /** The ip program (default: ip on PATH). */
  ipPath?: string;
  /** How long to wait for ip's netlink socket (default monitorReadyTimeoutMs). */
  readyTimeoutMs?: number;
  /** Where the listing after a restart or a loss reads interfaces (default /sys). */
  sysfsRoot?: string;
}

/** What ip monitor prints when the kernel dropped messages for it (its socket's buffer overflowed). */
const messagesLostPattern = /No buffer space available|ENOBUFS/;

/** Start `ip -o monitor link address`; resolves once it listens, so a listing read afterwards misses nothing. */
export async function startKernelMonitor(options: KernelMonitorOptions): Promise<KernelMonitor> {
  let stopped = false;
  let child: ChildProcess | null = null;
  let restartTimer: NodeJS.Timeout | undefined;
  const ipPath = options.ipPath ?? 'ip';
  /** Events that arrived while a listing was read: handed over after it, in order (they may be newer). */
  let held: MonitorEvent[] | null = null;
  /** Read every interface afresh and hand the listing over (after a restart, or when messages were lost). */
  const resync = (): void => {
    if (held !== null || stopped) return;
    held = [];
    listInterfaces(options.sysfsRoot, ipPath).then((events) => { if (!stopped) options.onResync(events); },
      (error: unknown) => options.onProblem(`cannot read the interfaces: ${(error as Error).message}`)).finally(() => {
      const events = held ?? [];
      held = null;
      for (const event of events) if (!stopped) options.onEvent(event);
    });
  };

  let restartPending = false;
  const scheduleRestart = (): void => {
    if (restartPending || stopped) return;
    restartPending = true;
    restartTimer = setTimeout(() => {
      restartPending = false;
      if (stopped) return;
      launch().then(resync, (error: unknown) => {
        options.onProblem(`cannot restart ip monitor: ${(error as Error).message}; trying again`);
        scheduleRestart();
      });
    }, monitorRestartDelayMs);
  };

  const launch = async (): Promise<void> => {
    const started = spawn(ipPath, ['-rcvbuf', String(monitorReceiveBufferBytes), '-o', 'monitor', 'link', 'address'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let stderr = '';
    const stderrLines = createInterface({ input: started.stderr!, crlfDelay: Infinity });
    // 'exit' can come before the last of stderr is read: the report waits
    // for stderr's end (or a second, should a child of ip still hold it).
    const stderrRead = new Promise<void>((resolve) => {
      stderrLines.once('close', resolve);
      started.once('exit', () => setTimeout(resolve, stderrDrainTimeoutMs).unref());
    });
    stderrLines.on('line', (line) => {
      stderr = `${stderr}${line}\n`.slice(-1000);
      if (!messagesLostPattern.test(line) || stopped) return;
      options.onProblem(`kernel messages lost (${line.trim()}): reading the interfaces afresh`);
      resync();
    });
    createInterface({ input: started.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      const event = parseMonitorLine(line);
      if (event === null || stopped) return;
      if (held !== null) held.push(event);
      else options.onEvent(event);
    });
    const spawnFailed = new Promise<string>((resolve) => started.once('error', (error) => resolve(error.message)));
    started.once('exit', async (code, signal) => {
      await stderrRead;
      if (stopped) return;
      options.onProblem(`ip monitor exited (${signal ?? `status ${code}`})${stderr === '' ? '' : `: ${stderr.trim()}`}; restarting it`);
      scheduleRestart();
    });
    const deadline = Date.now() + (options.readyTimeoutMs ?? monitorReadyTimeoutMs);
    while (started.pid !== undefined && !holdsNetlinkSocket(started.pid) && Date.now() < deadline && started.exitCode === null) {
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
