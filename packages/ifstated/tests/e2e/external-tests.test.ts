// `"command" every N` tests driven by a script whose exit status follows a
// flag file: the machine moves when the script flips; a test that hangs is
// killed when it is due again (its process gone), and started afresh.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNamespace, readLines, startIfstated, until } from './namespace.js';

const namespace = createNamespace('every', [['veth0', 'veth1']]);
after(() => namespace.remove());

test('a test script that flips moves the machine; the body waits for the first run', async () => {
  const flag = join(namespace.directory, 'reachable');
  const record = join(namespace.directory, 'record');
  const script = join(namespace.directory, 'check.sh');
  writeFileSync(script, `#!/bin/sh\necho run >> ${record}.runs\ntest -e ${flag}\n`, { mode: 0o755 });
  const config = join(namespace.directory, 'every.conf');
  writeFileSync(config, `
check = '"${script}" every 1'
state reachable {
	init run "echo reachable >> ${record}"
	if ! $check
		set-state unreachable
}
state unreachable {
	init run "echo unreachable >> ${record}"
	if $check && veth0.link.up
		set-state reachable
}
`);
  writeFileSync(flag, '');
  const daemon = await startIfstated(namespace, ['-v', '-f', config]);
  try {
    await until('the first state', () => readLines(record).length === 1);
    assert.deepEqual(readLines(record), ['reachable']);
    rmSync(flag);
    await until('unreachable', () => readLines(record).length === 2);
    writeFileSync(flag, '');
    await until('reachable again', () => readLines(record).length === 3);
    assert.deepEqual(readLines(record), ['reachable', 'unreachable', 'reachable']);
    assert.match(daemon.output(), new RegExp(`ifstated: running ${script}\n`), '-v logs each run of a test');
    assert.ok(readLines(`${record}.runs`).length >= 3);
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
});

test('a hung test is killed when it is due again, and its state\'s body still runs', async () => {
  const record = join(namespace.directory, 'hung-record');
  const pids = join(namespace.directory, 'hung-pids');
  const config = join(namespace.directory, 'hung.conf');
  // The test records its shell's pid, then hangs; the state's body needs its first round.
  writeFileSync(config, `
state waiting {
	if ! "echo $$ >> ${pids}; exec sleep 60" every 1
		run "echo body >> ${record}"
}
`);
  const daemon = await startIfstated(namespace, ['-f', config]);
  try {
    await daemon.waitFor(/previous command echo .* \[\d+\] still running, killing it\n/, 10_000);
    await until('the body, after the killed round', () => readLines(record).length >= 1);
    const first = Number(readLines(pids)[0]);
    assert.ok(first > 0);
    await until(`the hung test ${first} gone`, () => !existsSync(`/proc/${first}`), 5000);
    assert.match(daemon.output(), new RegExp(`still running, killing it`));
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
});
