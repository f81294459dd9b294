// ParityArena: stripe buffers allocated INSIDE the WebAssembly memory, so the
// SIMD kernels XOR them in place — no copy into or out of the kernel.
//
// Memory map (one WebAssembly.Memory per arena):
//   [0, 4 KiB)          pointer table for the multi-source kernels
//   [4 KiB, +64 B)      GF(2^8) nibble tables for the recovery kernels
//   [64 KiB, size)      slabs: 4 KiB-aligned extents from a first-fit free list
// The memory is shared (a SharedArrayBuffer) and reserved at its full
// capacity up front, never grown. Shared, so that a member read or write of a
// strip in the arena goes to the copy threads (src/chunk/copy-threads.ts)
// like any other shared buffer, instead of libuv's small pool: a six-member
// RAID 6 wrote 990–1030 MiB/s sequentially with an unshared arena, 1450–1540
// with this one (npm run bench, builds alternated). The price is V8's slow
// copies and fills of shared memory (TypedArray.set at half of memcpy speed,
// fill(0) at 3 GB/s), so every hot copy or zeroing of an arena buffer goes
// through libutil's copyBytes and zeroBytes, which run at memcpy speed.
// Never grown, because growing would change the memory's size under every
// buffer handed out. Reserving is cheap: Linux backs the pages only when
// first touched, and first-fit reuses the lowest extents, so the resident
// part is the high-water mark of what was in use at once (highWaterBytes).
import { assert } from '@openbsd38/libutil/assert.js';
import { GiB, KiB } from '@openbsd38/libutil/units.js';
import { gfNibbleTables } from './gf256.js';
import { recover1Js, recover2Js, syndromeJs, xorManyJs } from './raid6-js.js';
import {
  kernelBlockBytes, kernelFlavoursFastestFirst, parityModuleOf, syndromeUnrolledStripsMax,
  type CompiledParityModule, type KernelFlavour,
} from './wasm-kernels.js';
import { xorIntoJs } from './xor-js.js';

export const wasmPageBytes = 64 * KiB;
/** Every slab starts on this boundary (the OS page: O_DIRECT-friendly). */
export const arenaAlignBytes = 4 * KiB;
export const arenaHeaderBytes = wasmPageBytes;
/** The largest arena anyone may ask for (wasm32 allows 4 GiB; we allow less). */
export const arenaCapacityBytesLimit = 1 * GiB;
/** Sources one multi-source kernel call may take (the pointer table's size). */
export const kernelSourcesMax = 1024;
const tableOffsetBytes = 0;
const gfTablesOffsetBytes = 4 * KiB;

export interface ParityArenaOptions {
  /** Hard limit on the arena's memory, header included; a multiple of 64 KiB. */
  capacityBytes: number;
  /** The kernels to run; by default the fastest this runtime runs correctly (wasm-kernels.ts). */
  flavour?: KernelFlavour;
}

interface Extent {
  offsetBytes: number;
  lengthBytes: number;
}

type Kernel = (...args: number[]) => unknown;
interface Kernels {
  xor2: Kernel;
  xorMany: Kernel;
  syndrome: Kernel;
  recover2: Kernel;
  recover1: Kernel;
  /** syndrome1 … syndrome16: exactly that many data strips (wasm-kernels.ts). */
  [unrolled: `syndrome${number}`]: Kernel;
}

const kernelMemory = { minimumPages: 1, maximumPages: 65536, shared: true };
const modulesByFlavour = new Map<KernelFlavour, CompiledParityModule | null>();

/** The module of that flavour, or by default the fastest this runtime runs correctly; each compiled once. */
function kernelModule(flavour: KernelFlavour | undefined): CompiledParityModule | null {
  if (flavour === undefined) {
    for (const fastest of kernelFlavoursFastestFirst) {
      const compiled = kernelModule(fastest);
      if (compiled !== null) return compiled;
    }
    return null;
  }
  if (!modulesByFlavour.has(flavour)) modulesByFlavour.set(flavour, parityModuleOf(kernelMemory, flavour));
  return modulesByFlavour.get(flavour)!;
}

function mainBytes(lengthBytes: number): number {
  return lengthBytes - (lengthBytes % kernelBlockBytes);
}

export class ParityArena {
  readonly capacityBytes: number;
  /** Which kernels this arena runs. */
  readonly flavour: KernelFlavour;
  private readonly memory: WebAssembly.Memory;
  private readonly kernels: Kernels;
  /** syndromeByCount[n]: the kernel for exactly n data strips (index 0 unused). */
  private readonly syndromeByCount: Kernel[];
  /** The memory's one ArrayBuffer (never detached: the memory never grows). */
  private readonly buffer: ArrayBufferLike;
  private readonly table: Uint32Array;
  private readonly gfTables: Uint8Array;
  private readonly freeExtents: Extent[] = [];
  private readonly allocations = new Map<number, number>();
  private allocatedBytesTotal = 0;
  private highWaterBytesTotal: number = arenaHeaderBytes;

  /** An arena, or null when this runtime lacks WebAssembly SIMD (or the flavour asked for). */
  static create(options: ParityArenaOptions): ParityArena | null {
    const compiled = kernelModule(options.flavour);
    return compiled === null ? null : new ParityArena(compiled, options);
  }

  private constructor(compiled: CompiledParityModule, options: ParityArenaOptions) {
    const { capacityBytes } = options;
    const { module, flavour } = compiled;
    this.flavour = flavour;
    assert(Number.isInteger(capacityBytes) && capacityBytes % wasmPageBytes === 0,
      `ParityArena: capacityBytes ${capacityBytes} is not a multiple of 64 KiB`);
    assert(capacityBytes > arenaHeaderBytes && capacityBytes <= arenaCapacityBytesLimit,
      `ParityArena: capacityBytes ${capacityBytes} outside (${arenaHeaderBytes}, ${arenaCapacityBytesLimit}]`);
    this.capacityBytes = capacityBytes;
    const pages = capacityBytes / wasmPageBytes;
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.kernels = instance.exports as unknown as Kernels;
    this.syndromeByCount = [this.kernels.syndrome];
    for (let count = 1; count <= syndromeUnrolledStripsMax; count++) {
      const kernel = this.kernels[`syndrome${count}`];
      assert(kernel !== undefined, `ParityArena: the module has no syndrome${count}`);
      this.syndromeByCount.push(kernel);
    }
    this.buffer = this.memory.buffer;
    assert(this.buffer.byteLength === capacityBytes, 'ParityArena: memory not reserved at its capacity');
    this.table = new Uint32Array(this.buffer, tableOffsetBytes, kernelSourcesMax);
    this.gfTables = new Uint8Array(this.buffer, gfTablesOffsetBytes, 64);
    this.freeExtents.push({ offsetBytes: arenaHeaderBytes, lengthBytes: capacityBytes - arenaHeaderBytes });
  }

  /** The end of the highest extent ever handed out: what the arena may have made resident. */
  get highWaterBytes(): number {
    return this.highWaterBytesTotal;
  }

  get allocatedBytes(): number {
    return this.allocatedBytesTotal;
  }

  /**
   * A buffer of sizeBytes inside the arena, 4 KiB aligned, lowest free extent first;
   * null when the arena's capacity is exhausted (the caller waits or sheds).
   * Contents are NOT cleared between uses.
   */
  alloc(sizeBytes: number): Uint8Array | null {
    assert(Number.isInteger(sizeBytes) && sizeBytes > 0, `ParityArena.alloc: bad size ${sizeBytes}`);
    const lengthBytes = Math.ceil(sizeBytes / arenaAlignBytes) * arenaAlignBytes;
    const index = this.freeExtents.findIndex((extent) => extent.lengthBytes >= lengthBytes);
    if (index < 0) return null;
    const extent = this.freeExtents[index]!;
    const offsetBytes = extent.offsetBytes;
    extent.offsetBytes += lengthBytes;
    extent.lengthBytes -= lengthBytes;
    if (extent.lengthBytes === 0) this.freeExtents.splice(index, 1);
    this.allocations.set(offsetBytes, lengthBytes);
    this.allocatedBytesTotal += lengthBytes;
    this.highWaterBytesTotal = Math.max(this.highWaterBytesTotal, offsetBytes + lengthBytes);
    return new Uint8Array(this.buffer, offsetBytes, sizeBytes);
  }

  /** Returns a buffer from alloc() (the whole one, not a subarray). */
  free(view: Uint8Array): void {
    assert(this.owns(view), 'ParityArena.free: buffer not from this arena');
    const offsetBytes = view.byteOffset;
    const lengthBytes = this.allocations.get(offsetBytes);
    assert(lengthBytes !== undefined, `ParityArena.free: ${offsetBytes} not allocated (double free?)`);
    this.allocations.delete(offsetBytes);
    this.allocatedBytesTotal -= lengthBytes;
    let index = this.freeExtents.findIndex((extent) => extent.offsetBytes > offsetBytes);
    if (index < 0) index = this.freeExtents.length;
    this.freeExtents.splice(index, 0, { offsetBytes, lengthBytes });
    this.coalesce(index);
    if (index > 0) this.coalesce(index - 1);
  }

  /** True when view lies inside this arena's memory (kernels run in place). */
  owns(view: Uint8Array): boolean {
    return view.buffer === this.buffer && view.byteOffset >= arenaHeaderBytes;
  }

  /** target ^= source over target's length; both in the arena. */
  xorInto(target: Uint8Array, source: Uint8Array): void {
    assert(source.length >= target.length, 'xorInto: source shorter than target');
    assert(this.owns(target) && this.owns(source), 'ParityArena.xorInto: buffers outside the arena');
    const main = mainBytes(target.length);
    this.kernels.xor2(target.byteOffset, source.byteOffset, main);
    if (main < target.length) xorIntoJs(target.subarray(main), source.subarray(main));
  }

  /** target = ⊕ sources over target's length; all in the arena; target may be a source. */
  xorMany(target: Uint8Array, sources: readonly Uint8Array[]): void {
    this.checkSources(target, sources, 'xorMany');
    const main = mainBytes(target.length);
    this.writeTable(sources);
    this.kernels.xorMany(target.byteOffset, tableOffsetBytes, sources.length, main);
    if (main === target.length) return;
    // The tail in JS: an aliased source goes first, so copying it is a no-op.
    const aliased = sources.filter((s) => s.byteOffset === target.byteOffset);
    const others = sources.filter((s) => s.byteOffset !== target.byteOffset);
    xorManyJs(target.subarray(main), [...aliased, ...others].map((s) => s.subarray(main, target.length)));
  }

  /** P = ⊕ data[i], Q = ⊕ g^i·data[i]; all in the arena. */
  syndrome(p: Uint8Array, q: Uint8Array, data: readonly Uint8Array[]): void {
    this.checkSources(p, data, 'syndrome');
    assert(this.owns(q) && q.length === p.length, 'syndrome: Q outside the arena or of another length');
    const main = mainBytes(p.length);
    this.writeTable(data);
    const unrolled = this.syndromeByCount[data.length];
    if (unrolled !== undefined) unrolled(p.byteOffset, q.byteOffset, tableOffsetBytes, main);
    else this.kernels.syndrome(p.byteOffset, q.byteOffset, tableOffsetBytes, data.length, main);
    if (main < p.length) syndromeJs(p.subarray(main), q.subarray(main), data.map((d) => d.subarray(main, p.length)));
  }

  /** See wasm-kernels.ts recover2; all in the arena, equal lengths. */
  recover2(dx: Uint8Array, dy: Uint8Array, p: Uint8Array, q: Uint8Array, a: number, b: number): void {
    this.checkSources(dx, [dy, p, q], 'recover2');
    this.gfTables.set(gfNibbleTables(a), 0);
    this.gfTables.set(gfNibbleTables(b), 32);
    const main = mainBytes(dx.length);
    this.kernels.recover2(dx.byteOffset, dy.byteOffset, p.byteOffset, q.byteOffset, gfTablesOffsetBytes, main);
    if (main < dx.length) {
      recover2Js(dx.subarray(main), dy.subarray(main), p.subarray(main), q.subarray(main), a, b);
    }
  }

  /** See wasm-kernels.ts recover1; all in the arena, equal lengths. */
  recover1(dx: Uint8Array, p: Uint8Array, q: Uint8Array, c: number): void {
    this.checkSources(dx, [p, q], 'recover1');
    this.gfTables.set(gfNibbleTables(c), 0);
    const main = mainBytes(dx.length);
    this.kernels.recover1(dx.byteOffset, p.byteOffset, q.byteOffset, gfTablesOffsetBytes, main);
    if (main < dx.length) recover1Js(dx.subarray(main), p.subarray(main), q.subarray(main), c);
  }

  private checkSources(target: Uint8Array, sources: readonly Uint8Array[], what: string): void {
    assert(sources.length >= 1 && sources.length <= kernelSourcesMax, `${what}: ${sources.length} sources`);
    assert(this.owns(target), `${what}: target outside the arena`);
    for (const source of sources) {
      assert(this.owns(source), `${what}: source outside the arena`);
      assert(source.length >= target.length, `${what}: source shorter than target`);
      const same = source.byteOffset === target.byteOffset;
      assert(same || !overlaps(source, target, target.length), `${what}: source partially overlaps target`);
    }
  }

  private writeTable(sources: readonly Uint8Array[]): void {
    sources.forEach((source, index) => { this.table[index] = source.byteOffset; });
  }

  /** Merges freeExtents[index] with its successor when they touch. */
  private coalesce(index: number): void {
    const here = this.freeExtents[index];
    const next = this.freeExtents[index + 1];
    if (here === undefined || next === undefined) return;
    assert(here.offsetBytes + here.lengthBytes <= next.offsetBytes, 'ParityArena: free extents overlap');
    if (here.offsetBytes + here.lengthBytes === next.offsetBytes) {
      here.lengthBytes += next.lengthBytes;
      this.freeExtents.splice(index + 1, 1);
    }
  }
}

/** Both views in one arena: offsets are addresses in the same memory. */
function overlaps(a: Uint8Array, b: Uint8Array, lengthBytes: number): boolean {
  return a.byteOffset < b.byteOffset + lengthBytes && b.byteOffset < a.byteOffset + lengthBytes;
}
