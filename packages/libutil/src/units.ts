// Sizes and integer arithmetic whose rounding intent is visible at the call site.
import { assert } from './assert.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

/** Byte counts are plain numbers: exact up to 2^53 (8 PiB). */
export function assertSafeBytes(value: number, what: string): void {
  assert(Number.isSafeInteger(value) && value >= 0, `${what} must be a non-negative safe integer, got ${value}`);
}

export function divFloor(numerator: number, denominator: number): number {
  assert(denominator > 0, 'divFloor: denominator must be positive');
  return Math.floor(numerator / denominator);
}

export function divCeil(numerator: number, denominator: number): number {
  assert(denominator > 0, 'divCeil: denominator must be positive');
  return Math.ceil(numerator / denominator);
}

export function divExact(numerator: number, denominator: number): number {
  assert(denominator > 0 && numerator % denominator === 0, `divExact: ${numerator} is not a multiple of ${denominator}`);
  return numerator / denominator;
}

export function isPowerOfTwo(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0 && (value & (value - 1)) === 0 && value <= 2 ** 30;
}

export function alignDown(value: number, alignment: number): number {
  return divFloor(value, alignment) * alignment;
}

export function alignUp(value: number, alignment: number): number {
  return divCeil(value, alignment) * alignment;
}
