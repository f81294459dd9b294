import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gfDivide, gfExp, gfInverse, gfLog, gfMultiply, gfNibbleTables, gfPowGenerator } from './gf256.js';

/** Carry-less multiply then reduce by 0x11D: built without the tables. */
function slowMultiply(a: number, b: number): number {
  let product = 0;
  for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) product ^= a << bit;
  for (let bit = 15; bit >= 8; bit--) if (product & (1 << bit)) product ^= 0x11d << (bit - 8);
  return product;
}

test('gf256: table multiply equals shift-and-reduce for all 65536 pairs', () => {
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      if (gfMultiply(a, b) !== slowMultiply(a, b)) assert.fail(`${a}·${b}: ${gfMultiply(a, b)} != ${slowMultiply(a, b)}`);
    }
  }
});

test('gf256: hand-computed values', () => {
  assert.equal(gfMultiply(2, 0x80), 0x1d); // x·x^7 = x^8 = x^4+x^3+x^2+1
  assert.equal(gfMultiply(0x02, 0x02), 0x04);
  assert.equal(gfMultiply(0x53, 0x01), 0x53);
  assert.equal(gfMultiply(0x8e, 0x02), 0x01); // 0x8e·2 = 0x11c ^ 0x11d
  assert.equal(gfInverse(2), 0x8e);
  assert.equal(gfPowGenerator(8), 0x1d);
  assert.equal(gfPowGenerator(-1), 0x8e);
  assert.equal(gfPowGenerator(255), 1);
  assert.equal(gfExp[gfLog[0x37]!], 0x37);
});

test('gf256: every non-zero element has an inverse and division undoes multiplication', () => {
  for (let a = 1; a < 256; a++) {
    assert.equal(gfMultiply(a, gfInverse(a)), 1, `inverse of ${a}`);
    for (let b = 1; b < 256; b += 7) assert.equal(gfDivide(gfMultiply(a, b), b), a);
  }
  assert.throws(() => gfInverse(0));
});

test('gf256: nibble tables reproduce every product', () => {
  for (let c = 0; c < 256; c++) {
    const t = gfNibbleTables(c);
    for (let x = 0; x < 256; x++) {
      const viaTables = t[x & 15]! ^ t[16 + (x >> 4)]!;
      if (viaTables !== gfMultiply(c, x)) assert.fail(`c=${c} x=${x}`);
    }
  }
});
