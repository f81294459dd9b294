// Interfaces that go away and come back, and -i: a veth pair deleted while
// ifstated follows it is down (and without addresses) under its name, and is
// followed again when a new pair takes the name; with -i the states found at
// start run nothing until they change.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNamespace, readLines, startIfstated, until } from './namespace.js';

const namespace = createNamespace('life', [['wan0', 'wan0p']]);
after(() => namespace.remove());

test('an interface deleted is down under its name; one created under the name is followed', async () => {
  const record = join(namespace.directory, 'record');
  const config = join(namespace.directory, 'life.conf');
  writeFileSync(config, `
state present {
	init run "echo present >> ${record}"
	if wan0.link.down
		set-state absent
}
state absent {
	init run "echo absent >> ${record}"
	if wan0.link.up
		set-state present
}
`);
  const daemon = await startIfstated(namespace, ['-vv', '-f', config]);
  try {
    await until('present', () => readLines(record).length === 1);
    namespace.ip('link', 'del', 'wan0');
    await until('absent', () => readLines(record).length === 2);
    namespace.ip('link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'wan0p');
    namespace.ip('link', 'set', 'wan0p', 'up');
    namespace.ip('link', 'set', 'wan0', 'up');
    await until('present again', () => readLines(record).length === 3);
    assert.deepEqual(readLines(record), ['present', 'absent', 'present']);
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
});

test('-i: nothing runs for the initial states; the first change does', async () => {
  const record = join(namespace.directory, 'inhibit');
  const config = join(namespace.directory, 'inhibit.conf');
  writeFileSync(config, `if wan0.link.up\n\trun "echo up >> ${record}"\nif wan0.link.down\n\trun "echo down >> ${record}"\n`);
  const daemon = await startIfstated(namespace, ['-i', '-vv', '-f', config]);
  try {
    namespace.ip('link', 'set', 'wan0p', 'down');
    await until('the first change', () => readLines(record).length === 1);
    assert.deepEqual(readLines(record), ['down'], 'the up found at start ran nothing');
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.output() + daemon.errors());
  }
  const plain = await startIfstated(namespace, ['-f', config]);
  try {
    await until('the initial state acted upon without -i', () => readLines(record).length === 2);
    assert.deepEqual(readLines(record), ['down', 'down']);
  } finally {
    assert.equal(await plain.stop(), 0, plain.output() + plain.errors());
  }
});
