// RAID 6: hand-computed vectors, WASM syndrome == JS syndrome, and every
// recoverable loss (up to two of n+2 strips) rebuilt to the original bytes
// by both kernel sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParityArena } from './arena.js';
import { gfMultiply, gfPowGenerator } from './gf256.js';
import { raid6Recover, raid6Syndrome } from './index.js';
import { raid6Recover as recoverWith, type Raid6Kernels, type Raid6Strip } from './raid6.js';
import { recover1Js, recover2Js, syndromeJs, xorManyJs } from './raid6-js.js';
import { seededSource as seededRandom } from '@openbsd38/libutil/random.js';

const seed = Number(process.env.PARITY_SEED ?? Date.now() % 0x7fff_ffff);
console.log(`raid6.test.ts seed ${seed} (PARITY_SEED=${seed} replays it)`);
const jsKernels: Raid6Kernels = { xorMany: xorManyJs, syndrome: syndromeJs, recover2: recover2Js, recover1: recover1Js };

function arena(): ParityArena {
  const created = ParityArena.create({ capacityBytes: 64 * 1024 * 1024 });
  assert.ok(created !== null, 'this runtime has WebAssembly SIMD');
  return created;
}

type Alloc = (lengthBytes: number) => Uint8Array;

/** Per-byte definition, independent of every kernel: Q = ⊕ g^i·D[i]. */
function definitionSyndrome(data: readonly Uint8Array[], lengthBytes: number): [Uint8Array, Uint8Array] {
  const p = new Uint8Array(lengthBytes);
  const q = new Uint8Array(lengthBytes);
  data.forEach((strip, i) => {
    for (let b = 0; b < lengthBytes; b++) {
      p[b]! ^= strip[b]!;
      q[b]! ^= gfMultiply(gfPowGenerator(i), strip[b]!);
    }
  });
  return [p, q];
}

test('raid6: hand-computed syndrome (data 0x01, 0x01, 0x80 → P 0x80, Q 0x39)', () => {
  // Q = 1·0x01 ^ 2·0x01 ^ 4·0x80; 2·0x80 = 0x1d, 4·0x80 = 2·0x1d = 0x3a; 1 ^ 2 ^ 0x3a = 0x39.
  for (const alloc of [(n: number) => new Uint8Array(n), (n: number) => arena().alloc(n)!]) {
    const lengthBytes = 130; // two SIMD blocks and a JS tail
    const data = [0x01, 0x01, 0x80].map((byte) => alloc(lengthBytes).fill(byte));
    const p = alloc(lengthBytes);
    const q = alloc(lengthBytes);
    raid6Syndrome(p, q, data);
    assert.ok(p.every((b) => b === 0x80), `P ${p[0]}`);
    assert.ok(q.every((b) => b === 0x39), `Q ${q[0]}`);
  }
});

test('raid6: WASM syndrome equals the per-byte definition for random stripes', () => {
  const random = seededRandom(seed);
  const a = arena();
  for (const lengthBytes of [1, 15, 16, 17, 64, 65, 1000, 4096, 65_536 + 7]) {
    const count = 1 + random.below(12);
    const data = Array.from({ length: count }, () => random.fill(a.alloc(lengthBytes)!));
    const p = a.alloc(lengthBytes)!;
    const q = a.alloc(lengthBytes)!;
    raid6Syndrome(p, q, data);
    const [expectedP, expectedQ] = definitionSyndrome(data, lengthBytes);
    assert.deepEqual(p, expectedP, `P length ${lengthBytes} count ${count} seed ${seed}`);
    assert.deepEqual(q, expectedQ, `Q length ${lengthBytes} count ${count} seed ${seed}`);
    const pJs = new Uint8Array(lengthBytes);
    const qJs = new Uint8Array(lengthBytes);
    syndromeJs(pJs, qJs, data);
    assert.deepEqual(qJs, expectedQ, `JS Q length ${lengthBytes} seed ${seed}`);
  }
});

function lossPatterns(count: number): Raid6Strip[][] {
  const strips: Raid6Strip[] = [...Array.from({ length: count }, (_v, i) => i), 'p', 'q'];
  const patterns: Raid6Strip[][] = [[]];
  strips.forEach((first, i) => {
    patterns.push([first]);
    for (const second of strips.slice(i + 1)) patterns.push([second, first]);
  });
  return patterns;
}

function checkEveryLoss(name: string, kernelsFor: Raid6Kernels | null, alloc: Alloc, random: ReturnType<typeof seededRandom>): void {
  for (const count of [1, 2, 3, 4, 6]) {
    const lengthBytes = [1, 64, 200, 4096 + 13][random.below(4)]!;
    const original = Array.from({ length: count }, () => random.fill(new Uint8Array(lengthBytes)));
    const [originalP, originalQ] = definitionSyndrome(original, lengthBytes);
    for (const lost of lossPatterns(count)) {
      const data = original.map((strip) => { const b = alloc(lengthBytes); b.set(strip); return b; });
      const p = alloc(lengthBytes);
      const q = alloc(lengthBytes);
      p.set(originalP);
      q.set(originalQ);
      for (const strip of lost) {
        const buffer = strip === 'p' ? p : strip === 'q' ? q : data[strip]!;
        random.fill(buffer); // garbage where the lost strip was
      }
      if (kernelsFor === null) raid6Recover(data, p, q, lost);
      else recoverWith(kernelsFor, data, p, q, lost);
      const context = `${name} count ${count} lost ${lost.join(',')} length ${lengthBytes} seed ${seed}`;
      data.forEach((strip, i) => assert.deepEqual(strip, original[i], `data ${i}: ${context}`));
      assert.deepEqual(p, originalP, `P: ${context}`);
      assert.deepEqual(q, originalQ, `Q: ${context}`);
    }
  }
}

test('raid6: JS kernels rebuild every loss of up to two strips', () => {
  checkEveryLoss('js', jsKernels, (n) => new Uint8Array(n), seededRandom(seed + 1));
});

function arenaAlloc(a: ParityArena): Alloc {
  const views: Uint8Array[] = [];
  return (n) => {
    const view = a.alloc(n)!;
    views.push(view);
    if (views.length > 64) a.free(views.shift()!);
    return view;
  };
}

test('raid6: WASM kernels (arena buffers, through the index API) rebuild every loss of up to two strips', () => {
  checkEveryLoss('wasm', null, arenaAlloc(arena()), seededRandom(seed + 2));
});

for (const flavour of ['simd', 'relaxed-simd'] as const) {
  test(`raid6: ${flavour} WASM kernels rebuild every loss of up to two strips`, () => {
    const a = ParityArena.create({ capacityBytes: 64 * 1024 * 1024, flavour });
    assert.ok(a !== null && a.flavour === flavour, `this runtime runs the ${flavour} kernels`);
    checkEveryLoss(`wasm ${flavour}`, a, arenaAlloc(a), seededRandom(seed + 3));
  });
}

test('raid6: more than two losses or unknown strips are refused', () => {
  const data = [new Uint8Array(8), new Uint8Array(8), new Uint8Array(8)];
  const [p, q] = [new Uint8Array(8), new Uint8Array(8)];
  assert.throws(() => raid6Recover(data, p, q, [0, 1, 'p']));
  assert.throws(() => raid6Recover(data, p, q, [3]));
  assert.throws(() => raid6Recover(data, p, q, [1, 1]));
  assert.throws(() => raid6Syndrome(p, new Uint8Array(7), data));
});
