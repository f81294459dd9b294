// `npm start` as a newcomer meets it: the first run builds a RAID 5 and a
// hot spare and suggests pulling a disk; after the disk is pulled and the
// spare has rebuilt, Ctrl-C stops the daemon once (one signal, one
// shutdown), and the next run says what is true now: the pulled disk is no
// member to pull again, no spare is left, and the pulled disk can become
// the new spare.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bioctlPath, repositoryRoot } from '../../src/daemon/testing/softraidd-process.js';

const demoPath = join(repositoryRoot, 'packages', 'softraid', 'dist', 'src', 'cmd', 'demo.js');

interface DemoRun {
  child: ChildProcess;
  output(): string;
  /** Ctrl-C: SIGINT to the demo's process group, as a terminal sends it. */
  interrupt(): Promise<number | null>;
}

async function startDemo(directory: string): Promise<DemoRun> {
  const child = spawn(process.execPath, [demoPath], {
    env: { ...process.env, SOFTRAID_DEMO_DIR: directory, SOFTRAID_CONFIG: '/dev/null' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  let output = '';
  child.stdout!.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  child.stderr!.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!output.includes('Press Ctrl-C to stop.')) {
    assert.ok(Date.now() < deadline && child.exitCode === null, `the demo did not come up:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    child,
    output: () => output,
    interrupt: async () => {
      process.kill(-child.pid!, 'SIGINT');
      return exited;
    },
  };
}

function bioctl(directory: string, args: string[]): { status: number | null; stdout: string } {
  const result = spawnSync(process.execPath, [bioctlPath, ...args], {
    env: { ...process.env, SOFTRAID_SOCKET: join(directory, 'run', 'control.sock') }, encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout };
}

test('npm start: pull the disk it suggests, Ctrl-C stops once, and the next run tells what is true now', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'demo-'));
  const disk = (name: string): string => join(directory, 'disks', `${name}.img`);
  try {
    const first = await startDemo(directory);
    let exitCode: number | null;
    try {
      const suggested = new RegExp(`bioctl -O (\\S+) sd0`).exec(first.output())?.[1];
      assert.equal(suggested, disk('disk3'), first.output());
      assert.match(first.output(), new RegExp(`the hot spare \\(${disk('spare')}\\) takes over`));
      // The metrics URL it prints serves the volume, and the sensors command it prints lists it.
      const metrics = /curl -s (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(first.output())?.[1];
      assert.ok(metrics !== undefined, first.output());
      assert.match(await (await fetch(metrics)).text(), /^node_md_state\{device="sd0",state="active"\} 1$/m);
      assert.match(first.output(), /\.\/bin\/sensorsd -l\n/);
      assert.equal(bioctl(directory, ['-O', suggested!, 'sd0']).status, 0);
      const deadline = Date.now() + 120_000;
      while (!/softraid0 0 Online/.test(bioctl(directory, ['sd0']).stdout)) {
        assert.ok(Date.now() < deadline, 'the spare never finished rebuilding');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      exitCode = await first.interrupt();
    }
    assert.equal(exitCode, 0);
    const shutdowns = first.output().match(/softraidd: SIG[A-Z]+: shutting down/g) ?? [];
    assert.deepEqual(shutdowns, ['softraidd: SIGTERM: shutting down'], `one signal reaches the daemon:\n${first.output()}`);

    const second = await startDemo(directory);
    try {
      const text = second.output();
      assert.doesNotMatch(text, new RegExp(`-O ${disk('disk3')} sd0`), 'the pulled disk is no member to pull again');
      assert.match(text, new RegExp(`-O ${disk('spare')} sd0`), 'the spare is a member now: it is the one to pull');
      assert.match(text, /with no hot spare left, sd0 runs degraded until a disk is added with -R/);
      assert.match(text, new RegExp(`${disk('disk3')} is in no volume now: make it the new hot spare\\n.*bioctl -H ${disk('disk3')} softraid0`));
    } finally {
      assert.equal(await second.interrupt(), 0);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
