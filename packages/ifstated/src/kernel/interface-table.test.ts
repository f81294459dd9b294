import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededSource } from '@openbsd38/libutil/random.js';
import { InterfaceTable } from './interface-table.js';
import { linkStateFromOperstate } from './link-state.js';
import { parseMonitorLine } from './monitor-line.js';

// Lines as ip -o monitor link address printed them (iproute2 6.1, veth pair in a namespace).
const lines = {
  lowerDown: '3: veth0@veth1: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default \\    link/ether a6:ee:a7:1c:d7:6b brd ff:ff:ff:ff:ff:ff',
  up: '3: veth0@veth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether a6:ee:a7:1c:d7:6b brd ff:ff:ff:ff:ff:ff',
  address: '3: veth0    inet 10.9.0.1/24 scope global veth0\\       valid_lft forever preferred_lft forever',
  linkLocal: '3: veth0    inet6 fe80::a4ee:a7ff:fe1c:d76b/64 scope link \\       valid_lft forever preferred_lft forever',
  addressDeleted: 'Deleted 3: veth0    inet 10.9.0.1/24 scope global veth0\\       valid_lft forever preferred_lft forever',
  renamed: '3: wan0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether a6:ee:a7:1c:d7:6b brd ff:ff:ff:ff:ff:ff',
  deleted: 'Deleted 3: wan0@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether a6:ee:a7:1c:d7:6b brd ff:ff:ff:ff:ff:ff',
};

test('operstate as OpenBSD\'s link states', () => {
  assert.deepEqual(['up', 'down', 'lowerlayerdown', 'notpresent', 'unknown', 'dormant', 'UP\n'].map(linkStateFromOperstate),
    ['up', 'down', 'down', 'down', 'unknown', 'unknown', 'up']);
});

test('monitor lines: links, addresses, deletions; other lines are nothing', () => {
  assert.deepEqual(parseMonitorLine(lines.lowerDown), { kind: 'link', index: 3, name: 'veth0', state: 'down', deleted: false });
  assert.deepEqual(parseMonitorLine(lines.addressDeleted), { kind: 'address', index: 3, name: 'veth0', family: 'inet', address: '10.9.0.1/24', deleted: true });
  assert.equal(parseMonitorLine('10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1'), null);
  assert.equal(parseMonitorLine(''), null);
});

test('the table: changes only when the state or the emptiness of the address set changes; renames and deletions', () => {
  const table = new InterfaceTable();
  const apply = (line: string) => table.apply(parseMonitorLine(line)!);
  assert.deepEqual(apply(lines.lowerDown), [{ kind: 'link', name: 'veth0', state: 'down' }]);
  assert.deepEqual(apply(lines.lowerDown), []);
  assert.deepEqual(apply(lines.up), [{ kind: 'link', name: 'veth0', state: 'up' }]);
  assert.deepEqual(apply(lines.linkLocal), [], 'link-local addresses do not count');
  assert.deepEqual(apply(lines.address), [{ kind: 'address', name: 'veth0', present: true }]);
  assert.deepEqual(apply(lines.renamed), [{ kind: 'link', name: 'veth0', state: 'down' }, { kind: 'address', name: 'veth0', present: false }, { kind: 'link', name: 'wan0', state: 'up' }]);
  assert.deepEqual(apply(lines.deleted), [{ kind: 'link', name: 'wan0', state: 'down' }]);
  assert.deepEqual(apply(lines.addressDeleted), [], 'an address of an interface gone');
  assert.deepEqual([...table.views()], []);
});

test('resync: a fresh listing is applied as if reported, and what it lacks goes away', () => {
  const table = new InterfaceTable();
  table.apply(parseMonitorLine(lines.up)!);
  table.apply(parseMonitorLine(lines.address)!);
  table.apply({ kind: 'link', index: 9, name: 'gone0', state: 'up', deleted: false });
  assert.deepEqual(table.resync([parseMonitorLine(lines.lowerDown)!]), [
    { kind: 'link', name: 'gone0', state: 'down' }, { kind: 'link', name: 'veth0', state: 'down' }, { kind: 'address', name: 'veth0', present: false },
  ]);
});

// ip's lines cut, spliced and sprinkled with noise: the parser returns null or a well-formed
// event, never throws; the table, fed every result, keeps one name per index and never throws.
test('fuzz: 3000 seeded lines through the parser and the table', () => {
  const samples = Object.values(lines);
  const noise = [' ', ':', '@', '<', '>', 'state', 'inet', 'inet6', 'Deleted ', '\\', '0', '99999999999999999999', 'é', '\t', '/'];
  const table = new InterfaceTable();
  for (let seed = 1; seed <= 3000; seed++) {
    const random = seededSource(seed);
    let line = samples[random.below(samples.length)]!;
    for (let edits = random.below(4); edits > 0; edits--) {
      const at = random.below(line.length + 1);
      line = line.slice(0, at) + (random.below(2) === 0 ? noise[random.below(noise.length)]! : '') + line.slice(at + random.below(6));
    }
    const event = parseMonitorLine(line);
    if (event === null) continue;
    assert.ok(Number.isInteger(event.index) && event.index >= 0, `seed ${seed}: ${line}`);
    assert.ok(event.name.length > 0, `seed ${seed}`);
    if (event.kind === 'link') assert.ok(['up', 'down', 'unknown'].includes(event.state), `seed ${seed}`);
    for (const change of table.apply(event)) assert.ok(change.name.length > 0, `seed ${seed}`);
  }
  const names = [...table.views().keys()];
  assert.equal(new Set(names).size, names.length, 'one entry per name');
});
