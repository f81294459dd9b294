import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getopt } from './getopt.js';

const optstring = 'a:b:C:c:dH:hik:l:O:Pp:qr:R:st:u:v';
const longs = [{ name: 'json', hasArgument: false }, { name: 'socket', hasArgument: true }];

test('clusters, attached and separate arguments', () => {
  assert.deepEqual(getopt(['-hv', '-c5', '-l', 'a,b', 'softraid0'], optstring), {
    ok: true, options: [{ name: 'h' }, { name: 'v' }, { name: 'c', value: '5' }, { name: 'l', value: 'a,b' }], operands: ['softraid0'],
  });
  assert.deepEqual(getopt(['-hc', '1', 'x'], optstring), { ok: true, options: [{ name: 'h' }, { name: 'c', value: '1' }], operands: ['x'] });
  assert.deepEqual(getopt(['-ch', 'x'], optstring), { ok: true, options: [{ name: 'c', value: 'h' }], operands: ['x'] });
});

test('an argument may start with a dash', () => {
  assert.deepEqual(getopt(['-c', '-1', 'x'], optstring), { ok: true, options: [{ name: 'c', value: '-1' }], operands: ['x'] });
});

test('options stop at the first operand, at "--" (consumed) and at "-"', () => {
  assert.deepEqual(getopt(['sd0', '-i'], optstring), { ok: true, options: [], operands: ['sd0', '-i'] });
  assert.deepEqual(getopt(['-i', '--', '-v'], optstring), { ok: true, options: [{ name: 'i' }], operands: ['-v'] });
  assert.deepEqual(getopt(['-', '-i'], optstring), { ok: true, options: [], operands: ['-', '-i'] });
});

test('getopt diagnostics', () => {
  assert.deepEqual(getopt(['-x', 'sd0'], optstring), { ok: false, diagnostic: 'unknown option -- x' });
  assert.deepEqual(getopt(['-c'], optstring), { ok: false, diagnostic: 'option requires an argument -- c' });
  assert.deepEqual(getopt(['-hc'], optstring), { ok: false, diagnostic: 'option requires an argument -- c' });
  assert.deepEqual(getopt(['-:'], optstring), { ok: false, diagnostic: 'unknown option -- :' });
});

test('long options', () => {
  assert.deepEqual(getopt(['--json', '--socket=/s', 'x'], optstring, longs), { ok: true, options: [{ name: 'json' }, { name: 'socket', value: '/s' }], operands: ['x'] });
  assert.deepEqual(getopt(['--socket', '/s', 'x'], optstring, longs), { ok: true, options: [{ name: 'socket', value: '/s' }], operands: ['x'] });
  assert.deepEqual(getopt(['--nope'], optstring, longs), { ok: false, diagnostic: 'unknown option -- nope' });
  assert.deepEqual(getopt(['--json=1'], optstring, longs), { ok: false, diagnostic: "option doesn't take an argument -- json" });
  assert.deepEqual(getopt(['--socket'], optstring, longs), { ok: false, diagnostic: 'option requires an argument -- socket' });
});
