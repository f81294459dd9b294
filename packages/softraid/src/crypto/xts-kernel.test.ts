// The whitening kernel against a BigInt reference of T·α^i (IEEE 1619-2007
// §5.2), for every sector count around its four-abreast loop: whiten XORs
// each block with its tweak, unwhiten undoes exactly that from the tweaks it
// kept, and clearTweaks leaves no tweak anywhere in the kernel's memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { blocksPerSector, chunkSectorsMax, instantiateXtsKernel, sectorBytes, tweakBytes } from './xts-kernel.js';

const mask128 = (1n << 128n) - 1n;

function readTweak(bytes: Uint8Array, at: number): bigint {
  let value = 0n;
  for (let i = tweakBytes - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[at + i]!);
  return value;
}

function writeTweak(value: bigint, into: Uint8Array, at: number): void {
  for (let i = 0; i < tweakBytes; i++) into[at + i] = Number((value >> BigInt(8 * i)) & 0xffn);
}

/** T·α: the 128-bit little-endian shift, x^128 fed back as 0x87. */
function timesAlpha(tweak: bigint): bigint {
  const carry = tweak >> 127n;
  return ((tweak << 1n) & mask128) ^ (carry * 0x87n);
}

function referenceWhitened(data: Uint8Array, tweaks: Uint8Array, sectorCount: number): Uint8Array {
  const out = data.slice(0, sectorCount * sectorBytes);
  const block = new Uint8Array(tweakBytes);
  for (let sector = 0; sector < sectorCount; sector++) {
    let tweak = readTweak(tweaks, sector * tweakBytes);
    for (let i = 0; i < blocksPerSector; i++) {
      writeTweak(tweak, block, 0);
      const at = sector * sectorBytes + i * tweakBytes;
      for (let b = 0; b < tweakBytes; b++) out[at + b]! ^= block[b]!;
      tweak = timesAlpha(tweak);
    }
  }
  return out;
}

test('xts kernel: whiten equals the BigInt reference, unwhiten restores the data, clearTweaks leaves only the data', () => {
  const kernel = instantiateXtsKernel();
  const memory = new Uint8Array(kernel.data.buffer);
  const dataStart = kernel.data.byteOffset;
  for (const sectorCount of [1, 2, 3, 4, 5, 7, 8, 9, 63, chunkSectorsMax - 1, chunkSectorsMax]) {
    randomFillSync(kernel.tweaks.subarray(0, sectorCount * tweakBytes));
    // The first sector's T_0 with bit 127 set, so that the feedback runs from its first doubling.
    kernel.tweaks[tweakBytes - 1] = kernel.tweaks[tweakBytes - 1]! | 0x80;
    randomFillSync(kernel.data);
    const original = kernel.data.slice(0, sectorCount * sectorBytes);
    const expected = referenceWhitened(kernel.data, kernel.tweaks, sectorCount);
    kernel.whiten(sectorCount);
    assert.ok(Buffer.from(kernel.data.subarray(0, sectorCount * sectorBytes)).equals(expected), `whiten, ${sectorCount} sectors`);
    kernel.unwhiten(sectorCount);
    assert.ok(Buffer.from(kernel.data.subarray(0, sectorCount * sectorBytes)).equals(original), `unwhiten, ${sectorCount} sectors`);
    kernel.clearTweaks(sectorCount);
    const outsideData = Buffer.concat([memory.subarray(0, dataStart), memory.subarray(dataStart + kernel.data.length)]);
    assert.equal(outsideData.findIndex((byte) => byte !== 0), -1, `a tweak byte left after clearTweaks, ${sectorCount} sectors`);
  }
  kernel.wipe();
  assert.equal(memory.findIndex((byte) => byte !== 0), -1);
});

test('xts kernel: sector counts outside [0, 128] are assertion failures', () => {
  const kernel = instantiateXtsKernel();
  for (const bad of [-1, chunkSectorsMax + 1, 1.5]) {
    assert.throws(() => kernel.whiten(bad), /whiten/);
    assert.throws(() => kernel.unwhiten(bad), /unwhiten/);
    assert.throws(() => kernel.clearTweaks(bad), /clearTweaks/);
  }
});
