import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, encodeModule, sleb, uleb, valType } from './wasm-encoder.js';
import { parityModuleBytes, syndromeUnrolledStripsMax } from './wasm-kernels.js';

test('wasm-encoder: LEB128 matches the specification examples', () => {
  assert.deepEqual(uleb(0), [0x00]);
  assert.deepEqual(uleb(127), [0x7f]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(uleb(0xffff_ffff), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.deepEqual(sleb(0), [0x00]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(sleb(-64), [0x40]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assert.throws(() => uleb(-1));
});

test('wasm-encoder: SIMD instructions encode as the opcode table says', () => {
  const code = new Code().localGet(0).v128Load(16).localGet(1).v128Load(0).v128Xor().v128Store(32)
    .i8x16Swizzle().i8x16Shl().i8x16ShrS().i8x16ShrU().v128And()
    .i8x16GtS().i8x16Add();
  assert.deepEqual(code.bytes, [
    0x20, 0x00, 0xfd, 0x00, 0x04, 0x10, // local.get 0; v128.load align=16 offset=16
    0x20, 0x01, 0xfd, 0x00, 0x04, 0x00, // local.get 1; v128.load offset=0
    0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x20, // v128.xor; v128.store offset=32
    0xfd, 0x0e, 0xfd, 0x6b, 0xfd, 0x6c, 0xfd, 0x6d, 0xfd, 0x4e, // swizzle shl shr_s shr_u and
    0xfd, 0x27, 0xfd, 0x6e, // i8x16.gt_s i8x16.add
  ]);
});

test('wasm-encoder: the wide lane shifts and the shuffle encode as the opcode table says', () => {
  const lanes = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
  const code = new Code().i64x2Shl().i32x4ShrS().i8x16Shuffle(lanes);
  // i64x2.shl is 203 and i32x4.shr_s 172: two-byte LEB128 sub-opcodes.
  assert.deepEqual(code.bytes, [0xfd, 0xcb, 0x01, 0xfd, 0xac, 0x01, 0xfd, 0x0d, ...lanes]);
  assert.throws(() => new Code().i8x16Shuffle([32, ...lanes.slice(1)]));
});

test('wasm-encoder: the relaxed SIMD instructions encode as the relaxed SIMD opcode table says', () => {
  // i8x16.relaxed_swizzle is 0x100 and i8x16.relaxed_laneselect 0x109: two-byte LEB128 sub-opcodes.
  assert.deepEqual(new Code().i8x16RelaxedSwizzle().i8x16RelaxedLaneselect().bytes, [0xfd, 0x80, 0x02, 0xfd, 0x89, 0x02]);
});

test('wasm-encoder: a one-function module equals hand-assembled bytes', () => {
  // (module (import "env" "memory" (memory 1 2 shared))
  //   (func (export "f") (param i32) (local v128)))
  const bytes = encodeModule({
    memory: { minimumPages: 1, maximumPages: 2, shared: true },
    functions: [{ name: 'f', params: [valType.i32], results: [], locals: [valType.v128], code: new Code() }],
  });
  const expected = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00, // type: (i32) -> ()
    0x02, 0x10, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x03, 0x01, 0x02,
    0x03, 0x02, 0x01, 0x00, // function 0 has type 0
    0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, // export "f" func 0
    0x0a, 0x06, 0x01, 0x04, 0x01, 0x01, 0x7b, 0x0b, // body: one v128 local, end
  ];
  assert.deepEqual(Array.from(bytes), expected);
  assert.equal(WebAssembly.validate(bytes), true);
});

for (const flavour of ['simd', 'relaxed-simd'] as const) {
  test(`wasm-encoder: the ${flavour} parity module validates and exports its kernels`, () => {
    const bytes = parityModuleBytes({ minimumPages: 1, maximumPages: 16, shared: true }, flavour);
    assert.equal(WebAssembly.validate(bytes), true);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const unrolled = Array.from({ length: syndromeUnrolledStripsMax }, (_v, i) => `syndrome${i + 1}`);
    assert.deepEqual(Object.keys(instance.exports).sort(), ['recover1', 'recover2', 'syndrome', ...unrolled, 'xor2', 'xorMany'].sort());
    // A corrupted opcode must not validate: the test above is not vacuous.
    const broken = Uint8Array.from(bytes);
    broken[broken.length - 2] = 0xff;
    assert.equal(WebAssembly.validate(broken), false);
  });
}
