// ifstated -n in a namespace holding the interfaces OpenBSD's examples name
// (em0, em1, em2, urndis0, carp0, carp1 as veth ends): the examples pass;
// malformed files get OpenBSD's messages with their lines and exit 1; the
// flags behave as OpenBSD's; the manual pages are mandoc -T lint clean.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNamespace, ifstatedPath } from './namespace.js';

const names = ['em0', 'em1', 'em2', 'urndis0', 'carp0', 'carp1'];
const namespace = createNamespace('check', names.map((name) => [name, `${name}p`] as const));
after(() => namespace.remove());
const fixtures = join(import.meta.dirname, '..', 'fixtures');

function ifstated(...args: string[]) {
  return spawnSync('ip', ['netns', 'exec', namespace.name, process.execPath, ifstatedPath, ...args], { encoding: 'utf8' });
}
function file(name: string, text: string): string {
  const path = join(namespace.directory, name);
  writeFileSync(path, text);
  return path;
}

test('the examples of OpenBSD\'s ifstated.conf(5) and /etc/examples pass -n', () => {
  for (const name of readdirSync(fixtures)) {
    const result = ifstated('-n', '-f', join(fixtures, name));
    assert.equal(result.status, 0, `${name}: ${result.stderr}`);
    assert.equal(result.stderr, 'ifstated: configuration OK\n');
    assert.equal(result.stdout, '');
  }
});

test('malformed files: the message, the file and the line, exit 1', () => {
  const cases: [string, string, string[]][] = [
    ['unknown-state', 'state one {\n\tif em0.link.down\n\t\tset-state two\n}\n', ['3: state \'two\' not declared']],
    ['unknown-interface', '# veth9 is not in this namespace\nif veth9.link.up\n\trun "x"\n', ['2: unknown interface veth9']],
    ['unbalanced-open', 'state one {\n\tif em0.link.up {\n\t\trun "x"\n}\n', ['5: syntax error']],
    ['unbalanced-close', 'if em0.link.up {\n\trun "x"\n}\n}\n', ['4: syntax error']],
    ['undefined-macro', 'link_up = "em0.link.up"\nif $link_upp\n\trun "x"\n', ['2: macro \'link_upp\' not defined', '2: syntax error']],
    ['set-state-outside', 'state one {\n\trun "x"\n}\nif em0.link.up\n\tset-state one\n', ['5: set-state must be used inside \'if\'']],
    ['interval', 'if "true" every 0\n\trun "x"\n', ['1: invalid interval: 0']],
  ];
  for (const [name, text, messages] of cases) {
    const path = file(`${name}.conf`, text);
    const result = ifstated('-n', '-f', path);
    assert.equal(result.status, 1, name);
    assert.equal(result.stderr, messages.map((message) => `${path}:${message}\n`).join(''), name);
  }
  const missing = ifstated('-n', '-f', join(namespace.directory, 'absent.conf'));
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, `ifstated: ${join(namespace.directory, 'absent.conf')}: No such file or directory\n`);
});

test('-D defines a macro over the file\'s; -v prints the definitions, -vv the unused macros; -h and bad flags print the usage', () => {
  const path = file('macros.conf', 'iface = "em0"\nunused = "x"\nif $iface.link.up\n\trun "x"\n');
  const verbose = ifstated('-nvv', '-D', 'iface=em1', '-f', path);
  assert.equal(verbose.status, 0, verbose.stderr);
  assert.equal(verbose.stdout, 'iface = "em0"\nunused = "x"\n');
  assert.equal(verbose.stderr, 'warning: macro \'unused\' not used\nifstated: configuration OK\n');
  const wrong = ifstated('-n', '-D', 'iface=veth9', '-f', path);
  assert.equal(wrong.status, 1);
  assert.equal(wrong.stderr, `${path}:3: unknown interface veth9\n`, '-D wins over the file');
  const usage = 'usage: ifstated [-dhinv] [-D macro=value] [-f file]\n';
  const outcome = (...args: string[]) => {
    const result = ifstated(...args);
    return [result.status, result.stderr];
  };
  assert.deepEqual(outcome('-h'), [1, usage]);
  assert.deepEqual(outcome('-x'), [1, `ifstated: unknown option -- x\n${usage}`]);
  assert.deepEqual(outcome('-D', 'novalue'), [1, 'ifstated: could not parse macro definition novalue\n']);
  const daemonBadFile = ifstated('-d', '-f', file('bad.conf', 'state {\n'));
  assert.equal(daemonBadFile.status, 1);
  assert.equal(daemonBadFile.stderr, `${join(namespace.directory, 'bad.conf')}:1: syntax error\n`);
  assert.equal(daemonBadFile.stdout, 'ifstated: unable to load config\n');
});

test('the manual pages are mandoc -T lint clean', () => {
  const man = join(import.meta.dirname, '..', '..', 'man');
  const pages = readdirSync(man);
  assert.deepEqual(pages.sort(), ['ifstated.8', 'ifstated.conf.5']);
  for (const page of pages) {
    const lint = spawnSync('mandoc', ['-T', 'lint', '-W', 'warning', join(man, page)], { encoding: 'utf8' });
    assert.equal(lint.status, 0, `${page}: ${lint.stdout}${lint.stderr}`);
  }
});
