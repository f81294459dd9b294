// The parity kernels as a WebAssembly SIMD module, generated at start-up by
// the encoder in wasm-encoder.ts. Every kernel walks its buffers in blocks of
// kernelBlockBytes (unrolled: kernelUnrollVectors v128 lanes per block) and
// handles only whole blocks; callers finish the tail with the JS reference.
// Within a block (syndromeN: within each 16-byte lane of it) every load
// happens before any store, so an output may be the very same buffer (same
// address) as an input; partial overlap is not allowed.
//
// Exports (all pointers are byte addresses in the imported memory):
//   xor2(dst, src, lengthBytes)                 dst ^= src
//   xorMany(dst, table, count, lengthBytes)     dst = src[0] ^ ... ^ src[count-1]
//   syndrome(p, q, table, count, lengthBytes)   P = ⊕ D[i], Q = ⊕ g^i·D[i]   (Horner)
//   syndromeN(p, q, table, lengthBytes)         the same for exactly N strips, 1 ≤ N ≤ 16
//                                               (every kernel in two flavours: KernelFlavour)
//   recover2(dx, dy, p, q, tables, lengthBytes) pxy = P^Dx, qxy = Q^Dy;
//                                               Dx = A·pxy ^ B·qxy, Dy = pxy ^ Dx
//   recover1(dx, p, q, tables, lengthBytes)     d = C·(Q^Dx); Dx = d; P ^= d
// `table` holds `count` little-endian i32 pointers; `tables` holds nibble
// product tables (lo, hi) of 16 bytes each for A then B (or C alone).
// Multiplication by a constant c uses two 16-entry tables and swizzle:
// c·x = lo[x & 15] ^ hi[x >> 4], where lo[n] = c·n and hi[n] = c·(n << 4)
// (relaxed_swizzle in the relaxed flavour: see gfMultiply).
import { gfNibbleTables } from './gf256.js';
import { recover1Js, recover2Js, syndromeJs } from './raid6-js.js';
import { Code, encodeModule, valType, type FunctionDefinition } from './wasm-encoder.js';

export const kernelUnrollVectors = 4;
export const kernelBlockBytes = 16 * kernelUnrollVectors;
const vectorBytes = 16;
const { i32, v128 } = valType;

/** Emits `pos = 0; while (pos < length) { body(); pos += kernelBlockBytes }`. */
function blockLoop(code: Code, pos: number, length: number, body: () => void): void {
  code.i32Const(0).localSet(pos);
  code.block().loop();
  code.localGet(pos).localGet(length).i32GeU().brIf(1);
  body();
  code.localGet(pos).i32Const(kernelBlockBytes).i32Add().localSet(pos);
  code.br(0).end().end();
}

/** Emits `into = base + pos`. */
function address(code: Code, base: number, pos: number, into: number): void {
  code.localGet(base).localGet(pos).i32Add().localSet(into);
}

function lanes(byte: number): number[] {
  return new Array<number>(16).fill(byte);
}

function vectorRange(): number[] {
  return Array.from({ length: kernelUnrollVectors }, (_v, u) => u);
}

function xor2(): FunctionDefinition {
  const [dst, src, length, pos, a, b] = [0, 1, 2, 3, 4, 5];
  const code = new Code();
  blockLoop(code, pos, length, () => {
    address(code, dst, pos, a);
    address(code, src, pos, b);
    for (const u of vectorRange()) {
      const offset = u * vectorBytes;
      code.localGet(a).localGet(a).v128Load(offset).localGet(b).v128Load(offset).v128Xor().v128Store(offset);
    }
  });
  return { name: 'xor2', params: [i32, i32, i32], results: [], locals: [i32, i32, i32], code };
}

function xorMany(): FunctionDefinition {
  const [dst, table, count, length, pos, entry, tableEnd, src] = [0, 1, 2, 3, 4, 5, 6, 7];
  const acc = vectorRange().map((u) => 8 + u);
  const code = new Code();
  code.localGet(table).localGet(count).i32Const(2).i32Shl().i32Add().localSet(tableEnd);
  blockLoop(code, pos, length, () => {
    code.localGet(table).i32Load().localGet(pos).i32Add().localSet(src);
    for (const u of vectorRange()) code.localGet(src).v128Load(u * vectorBytes).localSet(acc[u]!);
    code.localGet(table).i32Const(4).i32Add().localSet(entry);
    code.block().loop();
    code.localGet(entry).localGet(tableEnd).i32GeU().brIf(1);
    code.localGet(entry).i32Load().localGet(pos).i32Add().localSet(src);
    for (const u of vectorRange()) {
      code.localGet(acc[u]!).localGet(src).v128Load(u * vectorBytes).v128Xor().localSet(acc[u]!);
    }
    code.localGet(entry).i32Const(4).i32Add().localSet(entry);
    code.br(0).end().end();
    address(code, dst, pos, src);
    for (const u of vectorRange()) code.localGet(src).localGet(acc[u]!).v128Store(u * vectorBytes);
  });
  return {
    name: 'xorMany', params: [i32, i32, i32, i32], results: [],
    locals: [i32, i32, i32, i32, ...acc.map(() => v128)], code,
  };
}

/**
 * The two builds of the module. 'simd': WebAssembly SIMD only. 'relaxed-simd':
 * two relaxed SIMD instructions, where the runtime has them.
 * - syndrome multiplies by g with one i8x16.relaxed_laneselect that picks
 *   0x1D or 0 by q's top bit itself, instead of a signed compare (0 > q)
 *   and-ed with 0x1D: 5 vector operations per strip instead of 6. That
 *   holds on x86, where the select is pblendvb; elsewhere a bitwise select
 *   gives a wrong Q, which the start-up self-test (kernelsAgree)
 *   catches before the module is used. P+Q of four 1 MiB strips: 12–19%
 *   faster in alternated pairs, 10.5–10.9 → 12.2–13.1 GB/s per strip on a
 *   quiet host (PERFORMANCE.md round 19).
 * - the recovery kernels look their nibble tables up with
 *   i8x16.relaxed_swizzle (see gfMultiply): rebuilding two of four data
 *   strips 8–18% faster in the same pairs.
 */
export type KernelFlavour = 'simd' | 'relaxed-simd';

/**
 * The flavours, fastest first: a process runs the first that validates and
 * passes the self-test. Node 20 has relaxed SIMD behind V8's
 * --experimental-wasm-relaxed-simd, which the programs turn on at start
 * (libutil's enable-wasm-relaxed-simd.ts); newer Nodes have it on.
 */
export const kernelFlavoursFastestFirst: readonly KernelFlavour[] = ['relaxed-simd', 'simd'];

/**
 * Emits q·g ^ d (leaves one v128 on the stack): double each byte (q + q),
 * add d, and fold the carried-out bit back as 0x1D where q's top bit was
 * set. x86 has no byte shifts, so V8 emulates i8x16.shl and i8x16.shr_s
 * with several instructions each; add, compare, and, xor, blend are one
 * each (bench/parity.ts: P+Q of four strips went from 3.0 to 5.9 GB/s).
 */
function multiplyByGeneratorAdd(code: Code, q: number, d: number, zero: number, poly: number, flavour: KernelFlavour): void {
  code.localGet(q).localGet(q).i8x16Add().localGet(d).v128Xor();
  if (flavour === 'relaxed-simd') code.localGet(poly).localGet(zero).localGet(q).i8x16RelaxedLaneselect();
  else code.localGet(zero).localGet(q).i8x16GtS().localGet(poly).v128And();
  code.v128Xor();
}

/** Data strips up to which syndrome has a kernel of its own with the strip loop unrolled. */
export const syndromeUnrolledStripsMax = 16;

/**
 * syndrome for exactly `count` data strips: the strip pointers are read from
 * the table once into locals, and for each 16-byte lane of a block Horner's
 * rule walks the strips from the last down with P and Q in registers (no
 * inner loop), then stores that lane's P and Q. Storing lane by lane keeps
 * TurboFan from hoisting every load of the block ahead of the arithmetic
 * (it spilled a third of the registers that way); an output may still be
 * the very same buffer as an input, since a lane's stores follow its loads
 * and no other lane reads those bytes.
 */
function syndromeUnrolled(count: number, flavour: KernelFlavour): FunctionDefinition {
  const [p, q, table, length, pos, poly, zero, data, accP, accQ] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const strip = Array.from({ length: count }, (_v, i) => 10 + i);
  const code = new Code();
  code.v128Const(lanes(0x1d)).localSet(poly);
  code.v128Const(lanes(0)).localSet(zero);
  strip.forEach((local, i) => code.localGet(table).i32Load(4 * i).localSet(local));
  blockLoop(code, pos, length, () => {
    for (const u of vectorRange()) {
      const offset = u * vectorBytes;
      code.localGet(strip[count - 1]!).localGet(pos).i32Add().v128Load(offset).localTee(accP).localSet(accQ);
      for (let i = count - 2; i >= 0; i--) {
        code.localGet(strip[i]!).localGet(pos).i32Add().v128Load(offset).localSet(data);
        code.localGet(accP).localGet(data).v128Xor().localSet(accP);
        multiplyByGeneratorAdd(code, accQ, data, zero, poly, flavour);
        code.localSet(accQ);
      }
      code.localGet(p).localGet(pos).i32Add().localGet(accP).v128Store(offset);
      code.localGet(q).localGet(pos).i32Add().localGet(accQ).v128Store(offset);
    }
  });
  return {
    name: `syndrome${count}`, params: [i32, i32, i32, i32], results: [],
    locals: [i32, v128, v128, v128, v128, v128, ...strip.map(() => i32)],
    code,
  };
}

/** syndrome for any count: an inner loop over the table's strips, P and Q in registers. */
function syndrome(flavour: KernelFlavour): FunctionDefinition {
  const [p, q, table, count, length, pos, entry, src, poly, data, zero] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const accP = vectorRange().map((u) => 11 + u);
  const accQ = vectorRange().map((u) => 11 + kernelUnrollVectors + u);
  const code = new Code();
  code.v128Const(lanes(0x1d)).localSet(poly);
  code.v128Const(lanes(0)).localSet(zero);
  blockLoop(code, pos, length, () => {
    // Horner from the last data strip down: Q = (((D[n-1])·g ^ D[n-2])·g ...) ^ D[0].
    code.localGet(table).localGet(count).i32Const(1).i32Sub().i32Const(2).i32Shl().i32Add().localSet(entry);
    code.localGet(entry).i32Load().localGet(pos).i32Add().localSet(src);
    for (const u of vectorRange()) {
      code.localGet(src).v128Load(u * vectorBytes).localTee(accP[u]!).localSet(accQ[u]!);
    }
    code.block().loop();
    code.localGet(table).localGet(entry).i32GeU().brIf(1);
    code.localGet(entry).i32Const(4).i32Sub().localSet(entry);
    code.localGet(entry).i32Load().localGet(pos).i32Add().localSet(src);
    for (const u of vectorRange()) {
      code.localGet(src).v128Load(u * vectorBytes).localSet(data);
      code.localGet(accP[u]!).localGet(data).v128Xor().localSet(accP[u]!);
      multiplyByGeneratorAdd(code, accQ[u]!, data, zero, poly, flavour);
      code.localSet(accQ[u]!);
    }
    code.br(0).end().end();
    address(code, p, pos, src);
    for (const u of vectorRange()) code.localGet(src).localGet(accP[u]!).v128Store(u * vectorBytes);
    address(code, q, pos, src);
    for (const u of vectorRange()) code.localGet(src).localGet(accQ[u]!).v128Store(u * vectorBytes);
  });
  return {
    name: 'syndrome', params: [i32, i32, i32, i32, i32], results: [],
    locals: [i32, i32, i32, v128, v128, v128, ...accP.map(() => v128), ...accQ.map(() => v128)], code,
  };
}

/**
 * Emits c·x (leaves one v128 on the stack) from locals x, lo, hi, nibble
 * mask. Every table index is below 16, where i8x16.relaxed_swizzle is
 * defined to equal i8x16.swizzle on every runtime; V8 makes the plain one
 * two instructions on x86 (a saturating add that pushes indices of 16 and
 * up out of pshufb's range, then pshufb), the relaxed one a lone pshufb.
 */
function gfMultiply(code: Code, x: number, lo: number, hi: number, nibbleMask: number, flavour: KernelFlavour): void {
  const swizzle = (): Code => (flavour === 'relaxed-simd' ? code.i8x16RelaxedSwizzle() : code.i8x16Swizzle());
  code.localGet(lo).localGet(x).localGet(nibbleMask).v128And();
  swizzle();
  code.localGet(hi).localGet(x).i32Const(4).i8x16ShrU();
  swizzle();
  code.v128Xor();
}

function recover2(flavour: KernelFlavour): FunctionDefinition {
  const [dx, dy, p, q, tables, length, pos] = [0, 1, 2, 3, 4, 5, 6];
  const [addrDx, addrDy, addrP, addrQ] = [7, 8, 9, 10];
  const [loA, hiA, loB, hiB, nibbleMask, pxy, qxy, d] = [11, 12, 13, 14, 15, 16, 17, 18];
  const code = new Code();
  [loA, hiA, loB, hiB].forEach((local, i) => code.localGet(tables).v128Load(i * vectorBytes).localSet(local));
  code.v128Const(lanes(0x0f)).localSet(nibbleMask);
  blockLoop(code, pos, length, () => {
    address(code, dx, pos, addrDx);
    address(code, dy, pos, addrDy);
    address(code, p, pos, addrP);
    address(code, q, pos, addrQ);
    for (const u of vectorRange()) {
      const offset = u * vectorBytes;
      code.localGet(addrP).v128Load(offset).localGet(addrDx).v128Load(offset).v128Xor().localSet(pxy);
      code.localGet(addrQ).v128Load(offset).localGet(addrDy).v128Load(offset).v128Xor().localSet(qxy);
      gfMultiply(code, pxy, loA, hiA, nibbleMask, flavour);
      gfMultiply(code, qxy, loB, hiB, nibbleMask, flavour);
      code.v128Xor().localSet(d);
      code.localGet(addrDx).localGet(d).v128Store(offset);
      code.localGet(addrDy).localGet(pxy).localGet(d).v128Xor().v128Store(offset);
    }
  });
  return {
    name: 'recover2', params: [i32, i32, i32, i32, i32, i32], results: [],
    locals: [i32, i32, i32, i32, i32, v128, v128, v128, v128, v128, v128, v128, v128], code,
  };
}

function recover1(flavour: KernelFlavour): FunctionDefinition {
  const [dx, p, q, tables, length, pos] = [0, 1, 2, 3, 4, 5];
  const [addrDx, addrP, addrQ] = [6, 7, 8];
  const [lo, hi, nibbleMask, qx, d] = [9, 10, 11, 12, 13];
  const code = new Code();
  code.localGet(tables).v128Load(0).localSet(lo);
  code.localGet(tables).v128Load(vectorBytes).localSet(hi);
  code.v128Const(lanes(0x0f)).localSet(nibbleMask);
  blockLoop(code, pos, length, () => {
    address(code, dx, pos, addrDx);
    address(code, p, pos, addrP);
    address(code, q, pos, addrQ);
    for (const u of vectorRange()) {
      const offset = u * vectorBytes;
      code.localGet(addrQ).v128Load(offset).localGet(addrDx).v128Load(offset).v128Xor().localSet(qx);
      gfMultiply(code, qx, lo, hi, nibbleMask, flavour);
      code.localSet(d);
      code.localGet(addrDx).localGet(d).v128Store(offset);
      code.localGet(addrP).localGet(addrP).v128Load(offset).localGet(d).v128Xor().v128Store(offset);
    }
  });
  return {
    name: 'recover1', params: [i32, i32, i32, i32, i32], results: [],
    locals: [i32, i32, i32, i32, v128, v128, v128, v128, v128], code,
  };
}

const syndromeUnrolledCounts = Array.from({ length: syndromeUnrolledStripsMax }, (_v, i) => i + 1);

export interface KernelMemory { minimumPages: number; maximumPages: number; shared: boolean }

/** The kernel module's bytes for a memory of the given page limits. */
export function parityModuleBytes(memory: KernelMemory, flavour: KernelFlavour): Uint8Array {
  return encodeModule({ memory, functions: [xor2(), xorMany(), syndrome(flavour), recover2(flavour), recover1(flavour),
    ...syndromeUnrolledCounts.map((count) => syndromeUnrolled(count, flavour))] });
}

const selfTestStripBytes = 4 * kernelBlockBytes;

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Runs every syndrome kernel of an instance once, in a memory of its own,
 * against the JS reference: each strip count with the unrolled kernel and
 * with the looping one, over strips whose bytes take every value (so every
 * Q lane sees both top bits at every step); then both recovery kernels, with
 * constants whose nibble tables have every entry distinct. True when all of
 * them agree.
 */
export function kernelsAgree(module: WebAssembly.Module, shared: boolean): boolean {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared });
  const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const bytes = new Uint8Array(memory.buffer);
  const tableOffset = 0;
  const gfTablesOffset = 512;
  const stripOffset = (i: number): number => 1024 + i * selfTestStripBytes;
  const [pOffset, qOffset] = [stripOffset(syndromeUnrolledStripsMax), stripOffset(syndromeUnrolledStripsMax + 1)];
  const data: Uint8Array[] = [];
  for (let i = 0; i < syndromeUnrolledStripsMax; i++) {
    const strip = bytes.subarray(stripOffset(i), stripOffset(i) + selfTestStripBytes);
    for (let b = 0; b < strip.length; b++) strip[b] = (b * 167 + i * 59) & 0xff; // odd multiplier: every value once
    new DataView(memory.buffer).setUint32(tableOffset + 4 * i, stripOffset(i), true);
    data.push(strip);
  }
  const p = bytes.subarray(pOffset, pOffset + selfTestStripBytes);
  const q = bytes.subarray(qOffset, qOffset + selfTestStripBytes);
  const [expectedP, expectedQ] = [new Uint8Array(selfTestStripBytes), new Uint8Array(selfTestStripBytes)];
  for (let count = 1; count <= syndromeUnrolledStripsMax; count++) {
    syndromeJs(expectedP, expectedQ, data.slice(0, count));
    for (const run of [
      () => kernels[`syndrome${count}`]!(pOffset, qOffset, tableOffset, selfTestStripBytes),
      () => kernels['syndrome']!(pOffset, qOffset, tableOffset, count, selfTestStripBytes),
    ]) {
      p.fill(0);
      q.fill(0);
      run();
      if (!equalBytes(p, expectedP) || !equalBytes(q, expectedQ)) return false;
    }
  }
  // Recovery: the kernels' own contracts (recover2Js, recover1Js) on strips 0–3, any constants.
  const [a, b] = [0x53, 0xca];
  bytes.set([...gfNibbleTables(a), ...gfNibbleTables(b)], gfTablesOffset);
  const strips = data.slice(0, 4) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const [dx, dy, sp, sq] = strips;
  const expected = strips.map((strip) => Uint8Array.from(strip)) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const [ex, ey, ep, eq] = expected;
  const allAgree = (): boolean => strips.every((strip, i) => equalBytes(strip, expected[i]!));
  recover2Js(ex, ey, ep, eq, a, b);
  kernels['recover2']!(dx.byteOffset, dy.byteOffset, sp.byteOffset, sq.byteOffset, gfTablesOffset, selfTestStripBytes);
  if (!allAgree()) return false;
  recover1Js(ex, ep, eq, a);
  kernels['recover1']!(dx.byteOffset, sp.byteOffset, sq.byteOffset, gfTablesOffset, selfTestStripBytes);
  return allAgree();
}

export interface CompiledParityModule {
  module: WebAssembly.Module;
  flavour: KernelFlavour;
}

/**
 * The compiled kernel module of the given flavour, or null when this runtime
 * cannot validate it (no WebAssembly, no SIMD, no relaxed SIMD) or its
 * kernels disagree with the JS reference here.
 */
export function parityModuleOf(memory: KernelMemory, flavour: KernelFlavour): CompiledParityModule | null {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') return null;
  try {
    const bytes = parityModuleBytes(memory, flavour);
    if (!WebAssembly.validate(bytes)) return null;
    const module = new WebAssembly.Module(bytes);
    return kernelsAgree(module, memory.shared) ? { module, flavour } : null;
  } catch {
    return null;
  }
}
