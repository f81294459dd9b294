import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError } from '@openbsd38/libutil/assert.js';
import { arenaAlignBytes, arenaHeaderBytes, ParityArena, wasmPageBytes } from './arena.js';

const MiB = 1024 * 1024;

function arena(capacityBytes: number): ParityArena {
  const created = ParityArena.create({ capacityBytes });
  assert.ok(created !== null, 'this runtime has WebAssembly SIMD');
  return created;
}

test('arena: buffers are 4 KiB aligned, disjoint and inside the wasm memory', () => {
  const a = arena(4 * MiB);
  const sizes = [1, 4096, 4097, 10_000, 65_536, 100_000];
  const views = sizes.map((size) => a.alloc(size)!);
  views.forEach((view, i) => {
    assert.equal(view.length, sizes[i]);
    assert.equal(view.byteOffset % arenaAlignBytes, 0);
    assert.ok(view.byteOffset >= arenaHeaderBytes);
    assert.ok(a.owns(view));
    view.fill(i + 1);
  });
  views.forEach((view, i) => assert.ok(view.every((b) => b === i + 1), `buffer ${i} overwritten`));
  assert.equal(a.owns(new Uint8Array(16)), false);
});

test('arena: allocation is bounded by capacityBytes, alloc returns null past it, the high-water mark follows use', () => {
  const a = arena(MiB);
  assert.equal(a.highWaterBytes, arenaHeaderBytes);
  const big = a.alloc(MiB - wasmPageBytes);
  assert.ok(big !== null);
  assert.equal(a.highWaterBytes, MiB);
  assert.equal(a.alloc(1), null);
  a.free(big);
  assert.equal(a.allocatedBytes, 0);
  assert.ok(a.alloc(MiB - wasmPageBytes) !== null, 'freed extents coalesce back into one');
});

test('arena: freed low extents are reused first, so the resident part stays at what was in use at once', () => {
  const a = arena(8 * MiB);
  for (let round = 0; round < 50; round++) {
    const views = [a.alloc(64 * 1024)!, a.alloc(192 * 1024)!, a.alloc(4096)!];
    views.forEach((view, i) => view.fill(i + round));
    for (const view of views.reverse()) a.free(view);
  }
  assert.equal(a.highWaterBytes, arenaHeaderBytes + 64 * 1024 + 192 * 1024 + 4096);
  const early = a.alloc(4096)!;
  early.fill(0xab);
  const late = a.alloc(4 * MiB)!;
  late.fill(0xcd);
  assert.ok(early.every((b) => b === 0xab), 'views stay valid: the memory never grows');
  a.xorInto(late.subarray(0, 4096), early);
  assert.ok(late.subarray(0, 4096).every((b) => b === (0xab ^ 0xcd)));
});

test('arena: free list reuses and merges extents in any order', () => {
  const a = arena(4 * MiB);
  const views = Array.from({ length: 16 }, () => a.alloc(64 * 1024)!);
  const highWaterAfterFirstRound = a.highWaterBytes;
  for (const i of [3, 0, 15, 7, 1, 2, 8, 14, 4, 6, 5, 9, 13, 10, 12, 11]) a.free(views[i]!);
  assert.equal(a.allocatedBytes, 0);
  assert.ok(a.alloc(16 * 64 * 1024) !== null, 'all sixteen merged into one extent');
  assert.equal(a.highWaterBytes, highWaterAfterFirstRound, 'the merged extent is the same memory');
});

test('arena: double free, foreign buffers and bad capacities are assertion failures', () => {
  const a = arena(MiB);
  const view = a.alloc(100)!;
  a.free(view);
  assert.throws(() => a.free(view), AssertionError);
  assert.throws(() => a.free(new Uint8Array(100)), AssertionError);
  assert.throws(() => a.xorInto(new Uint8Array(64), new Uint8Array(64)), AssertionError);
  assert.throws(() => ParityArena.create({ capacityBytes: MiB + 1 }), AssertionError);
  assert.throws(() => ParityArena.create({ capacityBytes: 2 * 1024 * MiB }), AssertionError);
  const x = a.alloc(4096)!;
  assert.throws(() => a.xorMany(x.subarray(0, 128), [x.subarray(64, 192)]), AssertionError, 'partial overlap');
});
