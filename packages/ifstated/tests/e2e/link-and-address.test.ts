// ifstated following a real veth pair in a namespace of its own: the peer
// taken down and up moves the machine between states, an address added and
// removed runs the address rules, each command recorded in order; a reload
// with a bad file keeps the running machine and says why with the line.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNamespace, readLines, startIfstated, until } from './namespace.js';

const namespace = createNamespace('link', [['veth0', 'veth1']]);
after(() => namespace.remove());

test('link down and up, address added and removed: the right commands in the right order; SIGHUP with a bad file changes nothing', async () => {
  const record = join(namespace.directory, 'record');
  const config = join(namespace.directory, 'ifstated.conf');
  const good = `
record = '">> ${record}"'
state online {
	init run "echo enter-online $record"
	if veth0.link.down
		set-state offline
}
state offline {
	init run "echo enter-offline $record"
	if veth0.link.up
		set-state online
}
if veth0.addr.up
	run "echo address-up $record"
if veth0.addr.down
	run "echo address-down $record"
`.replaceAll('$record', `>> ${record}`).replace(/^record = .*\n/m, '');
  writeFileSync(config, good);
  const daemon = await startIfstated(namespace, ['-vv', '-f', config]);
  try {
    await until('the initial state', () => readLines(record).includes('enter-online'));
    namespace.ip('link', 'set', 'veth1', 'down');
    await until('offline', () => readLines(record).includes('enter-offline'));
    namespace.ip('addr', 'add', '192.0.2.1/24', 'dev', 'veth0');
    await until('the address', () => readLines(record).includes('address-up'));
    namespace.ip('link', 'set', 'veth1', 'up');
    await until('online again', () => readLines(record).filter((line) => line === 'enter-online').length === 2);
    namespace.ip('addr', 'del', '192.0.2.1/24', 'dev', 'veth0');
    await until('the address gone', () => readLines(record).filter((line) => line === 'address-down').length === 3);
    // The global rules run on every change of veth0 (link or address): OpenBSD's semantics.
    assert.deepEqual(readLines(record), [
      'address-down', 'enter-online',
      'address-down', 'enter-offline',
      'address-up',
      'address-up', 'enter-online',
      'address-down',
    ]);
    assert.match(daemon.output(), /initial state: online\nifstated: changing state to online\n/);
    assert.match(daemon.output(), /ifstated: veth0: link down\n(.*\n)*ifstated: changing state to offline\n/);
    assert.match(daemon.output(), /ifstated: veth0: address up\n/);

    writeFileSync(config, `${good}\nif veth9.link.up\n\trun "never"\n`);
    daemon.child.kill('SIGHUP');
    await daemon.waitFor(/unable to reload config\n/);
    const badLine = good.split('\n').length + 1;
    assert.ok(daemon.output().includes(`reloading config\nifstated: ${config}:${badLine}: unknown interface veth9\nifstated: unable to reload config\n`), daemon.output());
    namespace.ip('link', 'set', 'veth1', 'down');
    await until('the old machine still running', () => readLines(record).filter((line) => line === 'enter-offline').length === 2);

    writeFileSync(config, good.replace('enter-offline', 'reloaded-offline'));
    daemon.child.kill('SIGHUP');
    // A good file starts the machine over in its initial state.
    await until('the new machine', () => readLines(record).includes('reloaded-offline'));
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
  assert.match(daemon.output(), /ifstated: stopped\n$/);
});
