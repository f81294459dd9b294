// fmt_scaled(3) from OpenBSD's libutil, rounding included: divide by 1024
// per unit (B K M G T P E), keep the remainder as tenths rounded half up
// ((10 * rem + 512) / 1024), carry a tenth of 10 into the whole part, and
// print whole numbers for bytes and for values of 100 or more (rounding the
// tenth away). BigInt keeps the C integer arithmetic exact.

const scaleCharacters = 'BKMGTPE';
const scaleFactors = Array.from({ length: 7 }, (_, i) => 1024n ** BigInt(i));

/** Returns undefined where fmt_scaled fails with ERANGE (|n| >= 1024 EiB, or LLONG_MIN). */
export function fmtScaled(value: number | bigint): string | undefined {
  let number = BigInt(value);
  if (number <= -(2n ** 63n) || number >= 2n ** 63n) return undefined;
  const absolute = number < 0n ? -number : number;
  if (absolute / 1024n >= scaleFactors[6]!) return undefined;
  let unit = 0;
  let fraction = 0n;
  for (let i = 0; i < scaleFactors.length; i++) {
    const factor = scaleFactors[i]!;
    if (absolute / 1024n < factor) {
      unit = i;
      fraction = i === 0 ? 0n : absolute % factor;
      number /= factor; // BigInt division truncates toward zero, as C's does
      if (i > 0) fraction /= scaleFactors[i - 1]!;
      break;
    }
  }
  fraction = (10n * fraction + 512n) / 1024n;
  if (fraction >= 10n) {
    number += number >= 0n ? 1n : -1n;
    fraction = 0n;
  }
  const unitCharacter = scaleCharacters[unit]!;
  if (number === 0n) return '0B';
  if (unit === 0 || number >= 100n || number <= -100n) {
    if (fraction >= 5n) number += number >= 0n ? 1n : -1n;
    return `${number}${unitCharacter}`;
  }
  return `${number}.${fraction}${unitCharacter}`;
}
