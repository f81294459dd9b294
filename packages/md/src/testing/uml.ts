// A real Linux md driver for end-to-end tests: user-mode Linux (Debian's
// user-mode-linux, Linux 6.1 as an ordinary process) booted with the host's
// own file system as its root (hostfs), so node and the checkout are simply
// there; the member disks are ubd files on tmpfs. The guest's init (written
// here) mounts /proc, /sys and /dev, insmods md and its personalities in
// modules.dep's order, runs one command with MDADM_NO_UDEV=1, writes its
// exit status to the results directory and powers off. The host reads the
// status and the command's output from there.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const umlKernel = '/usr/bin/linux';
export const umlModulesRoot = '/usr/lib/uml/modules';
/** md, the personalities the tests use, and their dependencies come from modules.dep. */
export const mdModules = ['kernel/drivers/md/md-mod.ko', 'kernel/drivers/md/linear.ko', 'kernel/drivers/md/raid0.ko',
  'kernel/drivers/md/raid1.ko', 'kernel/drivers/md/raid456.ko'];
const guestMemory = '512M';
/** tmpfs is used for the disks when it has room for them and twice as much again. */
const tmpfsDirectory = '/dev/shm';

/** What is missing to boot a guest, in words a test can fail with; null when nothing is. */
export function umlMissing(): string | null {
  const needs: Array<[string, string]> = [[umlKernel, 'user-mode-linux'], ['/usr/sbin/mdadm', 'mdadm'], ['/usr/sbin/insmod', 'kmod']];
  const missing = needs.filter(([path]) => !existsSync(path)).map(([path, pkg]) => `${path} (Debian package ${pkg})`);
  if (!existsSync(umlModulesRoot) || readdirSync(umlModulesRoot).length === 0) missing.push(`${umlModulesRoot} (Debian package user-mode-linux)`);
  return missing.length === 0 ? null : `requires ${missing.join(', ')}`;
}

/** The modules to insmod, each after the modules it depends on (modules.dep lists a module's dependencies). */
export function moduleLoadOrder(modulesDirectory: string, wanted: readonly string[]): string[] {
  const dependencies = new Map<string, string[]>();
  for (const line of readFileSync(join(modulesDirectory, 'modules.dep'), 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) dependencies.set(line.slice(0, colon), line.slice(colon + 1).trim().split(/\s+/).filter((word) => word.length > 0));
  }
  const order: string[] = [];
  const visit = (module: string, depth: number): void => {
    if (order.includes(module)) return;
    if (depth > 32) throw new Error(`modules.dep: dependency chain too deep at ${module}`);
    const needed = dependencies.get(module);
    if (needed === undefined) throw new Error(`modules.dep of ${modulesDirectory} has no ${module}`);
    for (const dependency of needed) visit(dependency, depth + 1);
    order.push(module);
  };
  for (const module of wanted) visit(module, 0);
  return order.map((module) => join(modulesDirectory, module));
}

export interface GuestRun {
  /** The guest command's exit status (null: it never reported one: the guest died or timed out). */
  status: number | null;
  /** The command's standard output and error, as written in the guest. */
  output: string;
  /** The kernel's console, for diagnosis. */
  console: string;
  durationMs: number;
}

export interface GuestOptions {
  /** Member disks: ubd files of this size, /dev/ubda, /dev/ubdb … in the guest. */
  diskCount: number;
  diskBytes: number;
  /** The command the guest runs (argv), from `cwd`, with `env` added to a minimal environment. */
  command: readonly string[];
  cwd: string;
  env?: Record<string, string>;
  timeoutMs: number;
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export async function runGuest(options: GuestOptions): Promise<GuestRun> {
  const started = Date.now();
  const release = readdirSync(umlModulesRoot).sort().at(-1)!;
  const modules = moduleLoadOrder(join(umlModulesRoot, release), mdModules);
  // The results and the init script live where the guest sees them (hostfs), not under /dev (the guest's devtmpfs hides it).
  const results = mkdtempSync(join(tmpdir(), 'uml-md-'));
  const diskBytesTotal = options.diskCount * options.diskBytes;
  const shm = statfsSync(tmpfsDirectory, { bigint: false });
  const disksDirectory = mkdtempSync(join(shm.bavail * shm.bsize > 3 * diskBytesTotal ? tmpfsDirectory : tmpdir(), 'uml-md-disks-'));
  try {
    const disks = Array.from({ length: options.diskCount }, (_, index) => join(disksDirectory, `disk${index}.img`));
    for (const disk of disks) {
      writeFileSync(disk, '');
      truncateSync(disk, options.diskBytes);
    }
    const environment = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', MDADM_NO_UDEV: '1', ...options.env };
    const init = join(results, 'init');
    writeFileSync(init, [
      '#!/bin/sh',
      'mount -t proc proc /proc',
      'mount -t sysfs sysfs /sys',
      // The kernel mounts devtmpfs itself when built so; mount it otherwise.
      'grep -q " /dev devtmpfs" /proc/mounts || mount -t devtmpfs devtmpfs /dev',
      ...modules.map((module) => `insmod ${shellQuote(module)} || echo "init: insmod ${module} failed" >> ${shellQuote(join(results, 'output'))}`),
      `cd ${shellQuote(options.cwd)}`,
      `env -i ${Object.entries(environment).map(([key, value]) => shellQuote(`${key}=${value}`)).join(' ')} ${options.command.map(shellQuote).join(' ')} >> ${shellQuote(join(results, 'output'))} 2>&1`,
      `echo $? > ${shellQuote(join(results, 'status'))}`,
      'sync',
      'poweroff -f',
      '',
    ].join('\n'));
    chmodSync(init, 0o755);
    const args = [
      ...disks.map((disk, index) => `ubd${index}=${disk}`),
      'root=/dev/root', 'rootfstype=hostfs', 'rootflags=/', 'rw', `init=${init}`, `mem=${guestMemory}`, 'con=null', 'con0=null,fd:1', 'quiet',
    ];
    const consoleText = await new Promise<string>((resolve, reject) => {
      const child = spawn(umlKernel, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true,
        // UML keeps its mconsole socket under $HOME/.uml and its memory file under TMPDIR: both go with the disks.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: disksDirectory, HOME: disksDirectory } });
      let text = '';
      const keep = (data: Buffer): void => {
        text = (text + data.toString('utf8')).slice(-64 * 1024);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const timer = setTimeout(() => {
        text += `\n[host: guest killed after ${options.timeoutMs} ms]\n`;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, options.timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', () => {
        clearTimeout(timer);
        // UML's helper processes share its group: none may outlive the guest.
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
        resolve(text);
      });
    });
    const statusFile = join(results, 'status');
    const outputFile = join(results, 'output');
    return {
      status: existsSync(statusFile) ? Number(readFileSync(statusFile, 'utf8').trim()) : null,
      output: existsSync(outputFile) ? readFileSync(outputFile, 'utf8') : '',
      console: consoleText,
      durationMs: Date.now() - started,
    };
  } finally {
    rmSync(results, { recursive: true, force: true });
    rmSync(disksDirectory, { recursive: true, force: true });
  }
}
