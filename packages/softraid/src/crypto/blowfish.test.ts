// Blowfish's initial state from pi (pi-words.ts) against words of the
// published tables (Schneier 1993; every Blowfish implementation's P and S
// arrays start and end with these), and the generator against pi's
// well-known leading hexadecimal digits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialState, pWords, sBoxWords, stateWords } from './blowfish.js';
import { piFractionWords } from './pi-words.js';

test('pi-words: pi = 3.243f6a8885a308d313198a2e03707344a4093822299f31d008 in hexadecimal', () => {
  const words = Array.from(piFractionWords(6), (word) => word.toString(16).padStart(8, '0')).join('');
  assert.equal(words, '243f6a8885a308d313198a2e03707344a4093822299f31d0');
});

test('pi-words: a longer run starts with the same words (the guard bits hold)', () => {
  assert.deepEqual(piFractionWords(stateWords).subarray(0, 100), piFractionWords(100));
});

test('blowfish: the initial P array and S-boxes hold the published words', () => {
  const state = initialState();
  const word = (index: number): number => state[index]! >>> 0;
  const p = sBoxWords;
  assert.equal(state.length, stateWords);
  assert.equal(word(p), 0x243f6a88);
  assert.equal(word(p + 1), 0x85a308d3);
  assert.equal(word(p + pWords - 1), 0x8979fb1b);
  assert.equal(word(0), 0xd1310ba6);
  assert.equal(word(256), 0x4b7a70e9);
  assert.equal(word(512), 0xe93d5a68);
  assert.equal(word(767), 0x406000e0);
  assert.equal(word(768), 0x3a39ce37);
  assert.equal(word(sBoxWords - 1), 0x3ac372e6);
  assert.equal(initialState(), state, 'generated once');
});
