// The monitor's recovery paths, which the kernel cannot be made to take on
// demand: a stand-in ip (a shell script) that reports lost messages, or dies.
// (It opens no netlink socket: the wait for one is cut short.) The real ip
// and kernel are exercised by tests/e2e.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MonitorEvent } from './monitor-line.js';
import { interfaceExists, listInterfaces, startKernelMonitor } from './linux-interfaces.js';

const directory = mkdtempSync(join(tmpdir(), 'ifstated-monitor-'));
after(() => rmSync(directory, { recursive: true, force: true }));
const sysfs = join(directory, 'sys');
for (const [name, index, operstate] of [['veth0', 3, 'up'], ['lo', 1, 'unknown']] as const) {
  mkdirSync(join(sysfs, 'class/net', name), { recursive: true });
  writeFileSync(join(sysfs, 'class/net', name, 'ifindex'), `${index}\n`);
  writeFileSync(join(sysfs, 'class/net', name, 'operstate'), `${operstate}\n`);
}

/** An ip that lists one address, and whose monitor prints `monitorScript`'s output. */
function fakeIp(name: string, monitorScript: string): string {
  const path = join(directory, name);
  writeFileSync(path, `#!/bin/sh
case "$*" in
"-o addr show") echo '3: veth0    inet 10.0.0.1/24 scope global veth0\\       valid_lft forever preferred_lft forever' ;;
"-rcvbuf 16777216 -o monitor link address") ${monitorScript} ;;
*) echo "unexpected: $*" >&2; exit 2 ;;
esac
`, { mode: 0o755 });
  return path;
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, 'timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('the listing: /sys/class/net for links, ip -o addr for addresses; names are checked before the file system', async () => {
  const events = await listInterfaces(sysfs, fakeIp('ip-list', 'exit 0'));
  assert.deepEqual(events, [
    { kind: 'link', index: 1, name: 'lo', state: 'unknown', deleted: false },
    { kind: 'link', index: 3, name: 'veth0', state: 'up', deleted: false },
    { kind: 'address', index: 3, name: 'veth0', family: 'inet', address: '10.0.0.1/24', deleted: false },
  ]);
  assert.equal(interfaceExists('veth0', sysfs), true);
  assert.equal(interfaceExists('veth9', sysfs), false);
  assert.equal(interfaceExists('..', sysfs), false);
  assert.equal(interfaceExists('../net', sysfs), false);
});

test('messages lost (ENOBUFS): said, and the interfaces read afresh', async () => {
  const ip = fakeIp('ip-enobufs', `echo '3: veth0@veth1: <BROADCAST,UP> mtu 1500 qdisc noqueue state DOWN group default'; sleep 0.3; echo 'netlink receive error No buffer space available (105)' >&2; exec sleep 60`);
  const events: MonitorEvent[] = [];
  const problems: string[] = [];
  const resyncs: MonitorEvent[][] = [];
  const monitor = await startKernelMonitor({ ipPath: ip, sysfsRoot: sysfs, readyTimeoutMs: 100, onEvent: (event) => events.push(event), onResync: (listing) => resyncs.push(listing), onProblem: (problem) => problems.push(problem) });
  try {
    await until(() => resyncs.length === 1);
    assert.deepEqual(events, [{ kind: 'link', index: 3, name: 'veth0', state: 'down', deleted: false }]);
    assert.deepEqual(problems, ['kernel messages lost (netlink receive error No buffer space available (105)): reading the interfaces afresh']);
    assert.equal(resyncs[0]!.length, 3);
  } finally {
    monitor.stop();
  }
});

test('ip monitor dying: said, restarted, and the interfaces read afresh', async () => {
  const counter = join(directory, 'starts');
  const ip = fakeIp('ip-dies', `echo x >> ${counter}; if [ "$(wc -l < ${counter})" -eq 1 ]; then echo 'Cannot talk to the kernel' >&2; exit 1; fi; exec sleep 60`);
  const problems: string[] = [];
  const resyncs: MonitorEvent[][] = [];
  const monitor = await startKernelMonitor({ ipPath: ip, sysfsRoot: sysfs, readyTimeoutMs: 100, onEvent: () => {}, onResync: (listing) => resyncs.push(listing), onProblem: (problem) => problems.push(problem) });
  try {
    await until(() => resyncs.length === 1);
    assert.deepEqual(problems, ['ip monitor exited (status 1): Cannot talk to the kernel; restarting it']);
  } finally {
    monitor.stop();
  }
});
