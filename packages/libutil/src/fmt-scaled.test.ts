import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtScaled } from './fmt-scaled.js';

// The examples of fmt_scaled(3) and of the reference (§2.3), plus the edges
// of its rounding rules worked out by hand from the C source.
const cases: Array<[number | bigint, string]> = [
  [0, '0B'],
  [1, '1B'],
  [1023, '1023B'],
  [1024, '1.0K'],
  [1536, '1.5K'],
  [10483892, '10.0M'],
  [499558383104, '465G'],
  [2000396018176, '1.8T'],
  [106929586176, '99.6G'],
  [107331232727, '100G'], // 99.96G: the tenth carries, then >= 100 prints whole
  [1024 * 1024 - 1, '1024K'], // 1023.999K: the unit is chosen before rounding, so the carry gives 1024K
  [102400 + 512, '101K'], // 100.5K: >= 100 and tenth 5 rounds up
  [102400 + 409, '100K'], // 100.4K
  [-1536, '-1.5K'],
  [2n ** 60n, '1.0E'],
  [2n ** 63n - 1n, '8.0E'],
];

for (const [value, expected] of cases) {
  test(`fmt_scaled(${value}) = ${expected}`, () => {
    assert.equal(fmtScaled(value), expected);
  });
}

test('fmt_scaled refuses what C refuses (ERANGE)', () => {
  assert.equal(fmtScaled(-(2n ** 63n)), undefined);
});
