// A tiny WebAssembly binary encoder: just the sections and opcodes the parity
// kernels need, so the module is built from TypeScript at start-up with no
// toolchain, no network and no committed binary. Reference: the WebAssembly
// core specification, chapter 5 (binary format) and the SIMD proposal's
// opcode table (prefix 0xFD, LEB128 sub-opcode), and the relaxed SIMD
// proposal's for i8x16.relaxed_swizzle and i8x16.relaxed_laneselect.
import { assert } from '@openbsd38/libutil/assert.js';

export const valType = { i32: 0x7f, v128: 0x7b } as const;
export type ValType = (typeof valType)[keyof typeof valType];

/** Unsigned LEB128 of a u32. */
export function uleb(value: number): number[] {
  assert(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff, `uleb: bad value ${value}`);
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}

/** Signed LEB128 of an i32. */
export function sleb(value: number): number[] {
  assert(Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7fff_ffff, `sleb: bad value ${value}`);
  const out: number[] = [];
  let rest = value;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    const signBitSet = (byte & 0x40) !== 0;
    if ((rest === 0 && !signBitSet) || (rest === -1 && signBitSet)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function utf8Name(name: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(name));
  return [...uleb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/**
 * Instruction emitter for one function body. Each method appends one
 * instruction; names follow the text format (`local.get` → localGet).
 */
export class Code {
  readonly bytes: number[] = [];

  private op(...bytes: number[]): this {
    this.bytes.push(...bytes);
    return this;
  }
  private simd(subOpcode: number, ...immediates: number[]): this {
    return this.op(0xfd, ...uleb(subOpcode), ...immediates);
  }
  private memarg(alignLog2: number, offsetBytes: number): number[] {
    return [...uleb(alignLog2), ...uleb(offsetBytes)];
  }

  block(): this { return this.op(0x02, 0x40); }
  loop(): this { return this.op(0x03, 0x40); }
  ifThen(): this { return this.op(0x04, 0x40); }
  end(): this { return this.op(0x0b); }
  br(depth: number): this { return this.op(0x0c, ...uleb(depth)); }
  brIf(depth: number): this { return this.op(0x0d, ...uleb(depth)); }
  localGet(index: number): this { return this.op(0x20, ...uleb(index)); }
  localSet(index: number): this { return this.op(0x21, ...uleb(index)); }
  localTee(index: number): this { return this.op(0x22, ...uleb(index)); }
  i32Load(offsetBytes = 0): this { return this.op(0x28, ...this.memarg(2, offsetBytes)); }
  i32Const(value: number): this { return this.op(0x41, ...sleb(value)); }
  i32Eqz(): this { return this.op(0x45); }
  i32GeU(): this { return this.op(0x4f); }
  i32LtS(): this { return this.op(0x48); }
  i32Add(): this { return this.op(0x6a); }
  i32And(): this { return this.op(0x71); }
  i32Sub(): this { return this.op(0x6b); }
  i32Shl(): this { return this.op(0x74); }
  v128Load(offsetBytes = 0): this { return this.simd(0x00, ...this.memarg(4, offsetBytes)); }
  v128Store(offsetBytes = 0): this { return this.simd(0x0b, ...this.memarg(4, offsetBytes)); }
  v128Const(lanes: readonly number[]): this {
    assert(lanes.length === 16 && lanes.every((b) => b >= 0 && b <= 255), 'v128Const: 16 bytes');
    return this.simd(0x0c, ...lanes);
  }
  /** Lane i of the result is byte lanes[i] of the 32 bytes a‖b (a, b popped in that order). */
  i8x16Shuffle(lanes: readonly number[]): this {
    assert(lanes.length === 16 && lanes.every((b) => Number.isInteger(b) && b >= 0 && b < 32),
      'i8x16Shuffle: 16 lanes, each below 32');
    return this.simd(0x0d, ...lanes);
  }
  i8x16Swizzle(): this { return this.simd(0x0e); }
  /** Relaxed SIMD (0xFD 0x100): as i8x16.swizzle for indices below 16; above, implementation-defined. */
  i8x16RelaxedSwizzle(): this { return this.simd(0x100); }
  v128And(): this { return this.simd(0x4e); }
  v128Xor(): this { return this.simd(0x51); }
  i8x16GtS(): this { return this.simd(0x27); }
  i8x16Add(): this { return this.simd(0x6e); }
  i8x16Shl(): this { return this.simd(0x6b); }
  i8x16ShrS(): this { return this.simd(0x6c); }
  i8x16ShrU(): this { return this.simd(0x6d); }
  /**
   * Relaxed SIMD (0xFD 0x109): lanes of a where the mask lane m is set, of b
   * where clear (a, b, m popped in that order). A mask lane that is neither
   * all ones nor all zeros is implementation-defined: x86 (pblendvb) reads
   * only its top bit, Arm (bsl) selects bit by bit. Validates only where
   * the runtime has relaxed SIMD.
   */
  i8x16RelaxedLaneselect(): this { return this.simd(0x109); }
  i32x4ShrS(): this { return this.simd(0xac); }
  i64x2Shl(): this { return this.simd(0xcb); }
}

export interface FunctionDefinition {
  name: string;
  params: ValType[];
  results: ValType[];
  locals: ValType[];
  code: Code;
}

export interface ModuleDefinition {
  /** Imported as env.memory; shared memories need a maximum. */
  memory: { minimumPages: number; maximumPages: number; shared: boolean };
  functions: FunctionDefinition[];
}

/** Encodes a module: one imported memory, functions all exported by name. */
export function encodeModule(definition: ModuleDefinition): Uint8Array {
  const { memory, functions } = definition;
  assert(memory.minimumPages <= memory.maximumPages, 'encodeModule: minimum above maximum');
  const types = functions.map((f) => [0x60, ...vector(f.params.map((t) => [t])), ...vector(f.results.map((t) => [t]))]);
  const limitsFlags = memory.shared ? 0x03 : 0x01;
  const memoryImport = [...utf8Name('env'), ...utf8Name('memory'), 0x02,
    limitsFlags, ...uleb(memory.minimumPages), ...uleb(memory.maximumPages)];
  const exports = functions.map((f, index) => [...utf8Name(f.name), 0x00, ...uleb(index)]);
  const bodies = functions.map((f) => {
    // Locals as one (count, type) run per local: simple and valid.
    const body = [...vector(f.locals.map((t) => [1, t])), ...f.code.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, vector([memoryImport])),
    ...section(3, vector(functions.map((_f, index) => uleb(index)))),
    ...section(7, vector(exports)),
    ...section(10, vector(bodies)),
  ]);
}
