// The XTS whitening step as a WebAssembly SIMD kernel, built at start-up by
// the parity kernels' encoder (engine/parity/wasm-encoder.ts).
//
// XTS (IEEE 1619-2007 §5.3) encrypts block i of a data unit as
//   C_i = E_K1(P_i ⊕ T_i) ⊕ T_i,   T_0 = E_K2(data unit number),   T_{i+1} = T_i · α
// in GF(2^128). AES itself runs in OpenSSL (ECB, AES-NI); only "data ⊕= T_i"
// over every block is left, and a JS loop is the slow part there: the
// doubling chain is a 128-bit shift with a carry across 64-bit halves.
//
// Exports:
//   whiten(data, tweaks, sectorCount)
//     for each sector s: T = tweaks[16s .. 16s+16); for i in 0..31:
//       data[512s + 16i ..] ⊕= T;  expanded[512s + 16i ..] = T;  T = T·α
//   unwhiten(data, lengthBytes)
//     data[i] ⊕= expanded[i] for i < lengthBytes (a multiple of 64)
// expanded lies expandedDistanceBytes after data, so the second whitening
// (after AES) XORs the tweaks the first one computed instead of doubling
// them again. All addresses are byte offsets in the imported memory. The
// tweak is the 128-bit little-endian integer of its 16 bytes, so its two i64
// lanes are the low and high halves; T·α is T << 1, with the bit shifted out
// of the top fed back as 0x87 into the lowest byte (x^128 = x^7 + x^2 + x + 1).
import { assert } from '@openbsd38/libutil/assert.js';
import { Code, encodeModule, valType, type FunctionDefinition, type ValType } from '../engine/parity/wasm-encoder.js';

export const sectorBytes = 512;
export const tweakBytes = 16;
export const blocksPerSector = sectorBytes / tweakBytes;

const { i32, v128 } = valType;

/**
 * After i32x4.shr_s by 31 each 32-bit lane is all ones where its top bit was
 * set; this picks the top lane of the high half (bit 127) into the low half
 * and the top lane of the low half (bit 63) into the high half. (i32x4.shr_s
 * is one SSE instruction; i64x2.shr_s has none below AVX-512 and costs V8 a
 * sequence.)
 */
const crossedTopBits = [12, 13, 14, 15, 12, 13, 14, 15, 4, 5, 6, 7, 4, 5, 6, 7];
/** Per lane, what a set top bit of the other half adds: 0x87 into the low half, 1 into the high half. */
const carryFeedback = [0x87, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];

/** Sectors whose tweak chains one pass of the main loop runs side by side. */
const sectorsAbreast = 4;
/**
 * Sectors one kernel call covers: the chunk in which XtsAes256 walks a request.
 * 64 KiB keeps each OpenSSL update() output below glibc's 128 KiB mmap
 * threshold; larger outputs were measured 2-6x slower (an mmap, page faults and
 * an munmap per call).
 */
export const chunkSectorsMax = 128;
/** From a byte of the data region to its tweak in the expanded region. */
const expandedDistanceBytes = chunkSectorsMax * sectorBytes;

function whiten(): FunctionDefinition {
  const [data, tweaks, count, tweaksEnd, abreastEnd, signs, feedback] = [0, 1, 2, 3, 4, 5, 6];
  const firstTweak = 7;
  const code = new Code();
  /** tweak ← tweak·α: the 128-bit shift left by one, the bit shifted out of each half fed into the other. */
  const double = (tweak: number): void => {
    code.localGet(tweak).i32Const(1).i64x2Shl();
    code.localGet(tweak).i32Const(31).i32x4ShrS().localTee(signs).localGet(signs).i8x16Shuffle(crossedTopBits);
    code.localGet(feedback).v128And().v128Xor().localSet(tweak);
  };
  /** The XOR of one block of sector `sector` (of those at `data`) with that sector's tweak. */
  const xorBlock = (sector: number, block: number, tweak: number): void => {
    const offset = sector * sectorBytes + block * tweakBytes;
    code.localGet(data).localGet(data).v128Load(offset).localGet(tweak).v128Xor().v128Store(offset);
    code.localGet(data).localGet(tweak).v128Store(offset + expandedDistanceBytes);
  };
  code.v128Const(carryFeedback).localSet(feedback);
  code.localGet(tweaks).localGet(count).i32Const(4).i32Shl().i32Add().localSet(tweaksEnd);
  code.localGet(tweaks).localGet(count).i32Const(-sectorsAbreast).i32And().i32Const(4).i32Shl().i32Add().localSet(abreastEnd);
  // The main loop: four sectors at a time, their chains of doublings interleaved. One chain is a
  // run of dependent instructions (each doubling needs the last); four keep the vector units busy.
  code.block().loop();
  code.localGet(tweaks).localGet(abreastEnd).i32GeU().brIf(1);
  for (let sector = 0; sector < sectorsAbreast; sector++) code.localGet(tweaks).v128Load(sector * tweakBytes).localSet(firstTweak + sector);
  for (let block = 0; block < blocksPerSector; block++) {
    for (let sector = 0; sector < sectorsAbreast; sector++) xorBlock(sector, block, firstTweak + sector);
    if (block === blocksPerSector - 1) break;
    for (let sector = 0; sector < sectorsAbreast; sector++) double(firstTweak + sector);
  }
  code.localGet(data).i32Const(sectorsAbreast * sectorBytes).i32Add().localSet(data);
  code.localGet(tweaks).i32Const(sectorsAbreast * tweakBytes).i32Add().localSet(tweaks);
  code.br(0).end().end();
  // The rest (fewer than four sectors): one at a time, the 32 blocks unrolled.
  code.block().loop();
  code.localGet(tweaks).localGet(tweaksEnd).i32GeU().brIf(1);
  code.localGet(tweaks).v128Load().localSet(firstTweak);
  for (let block = 0; block < blocksPerSector; block++) {
    xorBlock(0, block, firstTweak);
    if (block === blocksPerSector - 1) break;
    double(firstTweak);
  }
  code.localGet(data).i32Const(sectorBytes).i32Add().localSet(data);
  code.localGet(tweaks).i32Const(tweakBytes).i32Add().localSet(tweaks);
  code.br(0).end().end();
  return {
    name: 'whiten', params: [i32, i32, i32], results: [],
    locals: [i32, i32, v128, v128, ...Array<ValType>(sectorsAbreast).fill(v128)], code,
  };
}

/** The second whitening: data ⊕= the tweaks the first one stored, 64 bytes a pass. */
function unwhiten(): FunctionDefinition {
  const [data, lengthBytes, end] = [0, 1, 2];
  const blocksAPass = 4;
  const code = new Code();
  code.localGet(data).localGet(lengthBytes).i32Add().localSet(end);
  code.block().loop();
  code.localGet(data).localGet(end).i32GeU().brIf(1);
  for (let block = 0; block < blocksAPass; block++) {
    const offset = block * tweakBytes;
    code.localGet(data).localGet(data).v128Load(offset).localGet(data).v128Load(offset + expandedDistanceBytes).v128Xor().v128Store(offset);
  }
  code.localGet(data).i32Const(blocksAPass * tweakBytes).i32Add().localSet(data);
  code.br(0).end().end();
  return { name: 'unwhiten', params: [i32, i32], results: [], locals: [i32], code };
}

const tweaksRegionBytes = chunkSectorsMax * tweakBytes;
const dataRegionBytes = chunkSectorsMax * sectorBytes;
const wasmPageBytes = 65536;
// Tweaks, then data, then the expanded tweaks at expandedDistanceBytes from the data.
const kernelPages = Math.ceil((tweaksRegionBytes + dataRegionBytes + expandedDistanceBytes) / wasmPageBytes);

export interface XtsKernel {
  /** One tweak T_0 per sector of the chunk, 16 bytes each (in the kernel's memory). */
  readonly tweaks: Uint8Array;
  /** The chunk's sectors (in the kernel's memory). */
  readonly data: Uint8Array;
  /** data[sector] ⊕= T·α^i for every block i of the first sectorCount sectors, each T·α^i kept for unwhiten. */
  whiten(sectorCount: number): void;
  /** The same XOR again, from the tweaks the last whiten() kept: the first sectorCount sectors of it. */
  unwhiten(sectorCount: number): void;
  /** Zeroes what the first sectorCount sectors of the last whiten() left (T_0 and the expanded tweaks). */
  clearTweaks(sectorCount: number): void;
  /** Zeroes the kernel's whole memory (it held tweaks). */
  wipe(): void;
}

let compiledModule: WebAssembly.Module | undefined;

/** A kernel instance with a memory of its own, fixed in size so that views of it stay valid. */
export function instantiateXtsKernel(): XtsKernel {
  const memory = { minimumPages: kernelPages, maximumPages: kernelPages, shared: false };
  compiledModule ??= new WebAssembly.Module(encodeModule({ memory, functions: [whiten(), unwhiten()] }));
  const wasmMemory = new WebAssembly.Memory({ initial: kernelPages, maximum: kernelPages, shared: false });
  const instance = new WebAssembly.Instance(compiledModule, { env: { memory: wasmMemory } });
  const runWhiten = instance.exports.whiten!;
  const runUnwhiten = instance.exports.unwhiten!;
  const bytes = new Uint8Array(wasmMemory.buffer);
  const dataAddress = tweaksRegionBytes;
  const expanded = bytes.subarray(dataAddress + expandedDistanceBytes, dataAddress + expandedDistanceBytes + dataRegionBytes);
  const checkCount = (sectorCount: number, what: string): void => {
    assert(Number.isInteger(sectorCount) && sectorCount >= 0 && sectorCount <= chunkSectorsMax, `xts ${what}: ${sectorCount} sectors`);
  };
  return {
    tweaks: bytes.subarray(0, tweaksRegionBytes),
    data: bytes.subarray(dataAddress, dataAddress + dataRegionBytes),
    whiten: (sectorCount) => {
      checkCount(sectorCount, 'whiten');
      runWhiten(dataAddress, 0, sectorCount);
    },
    unwhiten: (sectorCount) => {
      checkCount(sectorCount, 'unwhiten');
      runUnwhiten(dataAddress, sectorCount * sectorBytes);
    },
    clearTweaks: (sectorCount) => {
      checkCount(sectorCount, 'clearTweaks');
      bytes.fill(0, 0, sectorCount * tweakBytes);
      expanded.fill(0, 0, sectorCount * sectorBytes);
    },
    wipe: () => { bytes.fill(0); },
  };
}
