// A link flapping 1,000 times, in bursts as fast as ip -batch can flap it (veth0 itself
// taken down and up: each of those the kernel reports at once, where a peer's
// carrier flaps would be folded together by linkwatch). An independent
// `ip monitor` started before the flapping is the reference: every transition
// it saw must have run its state's init command, in order, none lost, and the
// last state must be the link's state at the end.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { holdsNetlinkSocket } from '../../src/kernel/linux-interfaces.js';
import { parseMonitorLine } from '../../src/kernel/monitor-line.js';
import { createNamespace, readLines, startIfstated, until } from './namespace.js';

const namespace = createNamespace('flap', [['veth0', 'veth1']]);
after(() => namespace.remove());

const flapsPerBurst = 50;

/**
 * veth0 flapped `flaps` times while ifstated follows it. With `commands`, each state's init
 * records the state (a shell started per command: on this 2-core machine that, not the
 * machine, bounds how many a test can afford).
 */
async function flapping(flaps: number, commands: boolean): Promise<void> {
  const record = join(namespace.directory, `record-${flaps}`);
  const config = join(namespace.directory, `ifstated-${flaps}.conf`);
  const init = (word: string): string => (commands ? `\tinit run "echo ${word} >> ${record}"\n` : '');
  writeFileSync(config, `
state online {
${init('up')}\tif veth0.link.down
		set-state offline
}
state offline {
${init('down')}\tif veth0.link.up
		set-state online
}
`);
  const daemon = await startIfstated(namespace, ['-f', config]);
  const reference = spawn('ip', ['-n', namespace.name, '-o', 'monitor', 'link', 'dev', 'veth0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let seen = '';
  reference.stdout.on('data', (data: Buffer) => { seen += data.toString('utf8'); });
  const stateChanges = (): string[] => [...daemon.output().matchAll(/changing state to (\w+)/g)].map((match) => (match[1] === 'online' ? 'up' : 'down'));
  try {
    await until('the initial state', () => stateChanges().length === 1);
    await until('the reference monitor', () => holdsNetlinkSocket(reference.pid!));
    // Bursts of flapsPerBurst flaps at ip -batch's full speed (thousands of kernel messages in a
    // fraction of a second); between bursts, the daemon catches up.
    const batch = join(namespace.directory, 'flap.batch');
    writeFileSync(batch, 'link set veth0 down\nlink set veth0 up\n'.repeat(flapsPerBurst));
    for (let burst = 1; burst * flapsPerBurst <= flaps; burst++) {
      // Not spawnSync: this process must keep reading the reference's pipe meanwhile.
      const flapper = spawn('ip', ['-n', namespace.name, '-batch', batch], { stdio: 'ignore' });
      assert.equal(await new Promise((resolve) => flapper.once('exit', resolve)), 0);
      await until(`burst ${burst} followed`, () => stateChanges().length >= 2 * burst * flapsPerBurst + 1 || /messages lost/.test(daemon.output()), 20_000)
        .catch((error: Error) => { throw new Error(`${error.message}: ${stateChanges().length} state changes`); });
      assert.doesNotMatch(daemon.output(), /messages lost/, 'the kernel dropped messages for ip monitor');
    }
    const transitions = (): string[] => {
      const states: string[] = ['up'];
      for (const line of seen.split('\n')) {
        const event = parseMonitorLine(line);
        if (event?.kind === 'link' && event.state !== states.at(-1)) states.push(event.state);
      }
      return states;
    };
    await until('the reference to see every flap', () => transitions().length === 2 * flaps + 1, 20_000)
      .catch((error: Error) => { throw new Error(`${error.message}: ${transitions().length - 1} transitions of ${2 * flaps}`); });
    const expected = transitions();
    await until('every state change', () => stateChanges().length >= expected.length, 20_000)
      .catch((error: Error) => { throw new Error(`${error.message}: ${stateChanges().length} of ${expected.length}`); });
    assert.deepEqual(stateChanges(), expected, 'one state change per transition, in order');
    assert.equal(stateChanges().at(-1), 'up', 'the final state follows the link');
    if (commands) {
      await until('every command', () => readLines(record).length >= expected.length, 180_000)
        .catch((error: Error) => { throw new Error(`${error.message}: ${readLines(record).length} of ${expected.length}`); });
      assert.deepEqual(readLines(record), expected, 'each transition\'s command, in order, none lost');
    }
  } finally {
    reference.kill();
    assert.equal(await daemon.stop(), 0);
  }
}

test('a link flapping 1,000 times: 2,000 state changes, each in order, none lost, the final state right', () => flapping(1000, false));

test('a link flapping 1,000 times with commands: all 2,001 recorded in order, none lost', () => flapping(1000, true));
