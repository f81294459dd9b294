// Parity kernels for the RAID disciplines, chosen once at start-up.
//
// API
//   xorInto(target, source)          target ^= source (over target's length)
//   xorMany(target, sources)         target = sources[0] ^ ... ^ sources[k-1], one pass;
//                                    target may BE one of the sources (same view start),
//                                    must not partially overlap any
//   raid6Syndrome(p, q, data)        P = ⊕ data[i], Q = ⊕ 2^i·data[i] in GF(2^8)/0x11D
//   raid6Recover(data, p, q, lost)   rebuild up to two lost strips in place; lost lists data
//                                    indices and/or 'p' / 'q' (see raid6.ts for the cases)
//   allocParityBuffer(sizeBytes)     a stripe buffer INSIDE the kernels' WebAssembly memory
//                                    when possible (else a plain Uint8Array)
//   freeParityBuffer(buffer)         return it (no-op for plain buffers)
//   parityArena                      the ParityArena behind those two, or null
//   parityKernel                     'wasm-relaxed-simd', 'wasm-simd' or 'js': what this process runs
//
// Where the bytes are decides the cost:
//   - all buffers from allocParityBuffer: the SIMD kernel works in place, no copy;
//   - any plain buffer, small (< parityStagingThresholdBytes) or many sources: the JS kernel;
//   - any plain buffer, large: copied through 16 KiB staging windows in the arena.
// Read chunk data straight into arena buffers (fs.read accepts them) to get the first case.
// Arena buffers are views of one ArrayBuffer reserved at the arena's capacity (it never grows).
import { KiB, MiB } from '@openbsd38/libutil/units.js';
import { ParityArena } from './arena.js';
import type { KernelFlavour } from './wasm-kernels.js';
import { raid6Recover as recoverWith, checkRaid6Strips, type Raid6Kernels, type Raid6Strip } from './raid6.js';
import { recover1Js, recover2Js, syndromeJs, xorManyJs } from './raid6-js.js';
import { StagingArea, stagingSourcesMax } from './staged.js';
import { xorIntoJs } from './xor-js.js';

export type { Raid6Strip } from './raid6.js';
export { ParityArena } from './arena.js';

/** The default arena's limit: stripe buffers of all volumes together. */
export const parityArenaCapacityBytes = 128 * MiB;
/** Below this many bytes, staging plain buffers costs more than JS XOR (measured: bench/parity.ts). */
export const parityStagingThresholdBytes = 32 * KiB;

export const parityArena: ParityArena | null = ParityArena.create({ capacityBytes: parityArenaCapacityBytes });
export const parityKernel: `wasm-${KernelFlavour}` | 'js' = parityArena === null ? 'js' : `wasm-${parityArena.flavour}`;

let staging: StagingArea | null | undefined;
function stagingArea(): StagingArea | null {
  if (staging === undefined) staging = parityArena === null ? null : StagingArea.create(parityArena);
  return staging;
}

function allOwned(arena: ParityArena, views: readonly Uint8Array[]): boolean {
  return views.every((view) => arena.owns(view));
}

/** target ^= source, byte for byte over target's length. */
export function xorInto(target: Uint8Array, source: Uint8Array): void {
  if (parityArena !== null) {
    if (parityArena.owns(target) && parityArena.owns(source)) {
      parityArena.xorInto(target, source);
      return;
    }
    if (target.length >= parityStagingThresholdBytes) {
      const stage = stagingArea();
      if (stage !== null) {
        stage.xorMany(target, [target, source]);
        return;
      }
    }
  }
  xorIntoJs(target, source);
}

/** target = sources[0] ^ ... ^ sources[k-1] in one pass. */
export function xorMany(target: Uint8Array, sources: readonly Uint8Array[]): void {
  if (parityArena !== null) {
    if (parityArena.owns(target) && allOwned(parityArena, sources)) {
      parityArena.xorMany(target, sources);
      return;
    }
    if (target.length >= parityStagingThresholdBytes && sources.length <= stagingSourcesMax) {
      const stage = stagingArea();
      if (stage !== null) {
        stage.xorMany(target, sources);
        return;
      }
    }
  }
  xorManyJs(target, sources);
}

const jsRaid6: Raid6Kernels = { xorMany: xorManyJs, syndrome: syndromeJs, recover2: recover2Js, recover1: recover1Js };

function raid6Kernels(views: readonly Uint8Array[]): Raid6Kernels {
  return parityArena !== null && allOwned(parityArena, views) ? parityArena : jsRaid6;
}

/** P and Q of a RAID 6 stripe (all strips of one length). */
export function raid6Syndrome(p: Uint8Array, q: Uint8Array, data: readonly Uint8Array[]): void {
  checkRaid6Strips(p, q, data);
  raid6Kernels([p, q, ...data]).syndrome(p, q, data);
}

/** Rebuilds the lost strips (at most two) of a RAID 6 stripe in place. */
export function raid6Recover(data: readonly Uint8Array[], p: Uint8Array, q: Uint8Array, lost: readonly Raid6Strip[]): void {
  recoverWith(raid6Kernels([p, q, ...data]), data, p, q, lost);
}

/** A stripe buffer in the arena when there is room, else a plain one. */
export function allocParityBuffer(sizeBytes: number): Uint8Array {
  return parityArena?.alloc(sizeBytes) ?? new Uint8Array(sizeBytes);
}

export function freeParityBuffer(buffer: Uint8Array): void {
  if (parityArena?.owns(buffer)) parityArena.free(buffer);
}
