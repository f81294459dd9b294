// Fixed-width text fields: UTF-8, NUL padded, no NUL inside, no control
// characters. Decoding validates; encoding asserts (a name that does not fit
// is the caller's bug: use fitName first).
import { assert } from '@openbsd38/libutil/assert.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Why `text` cannot be stored in a field of `fieldBytes`, or undefined. */
export function textProblem(text: string, fieldBytes: number): string | undefined {
  const bytes = encoder.encode(text);
  if (bytes.length > fieldBytes) return `is ${bytes.length} bytes, at most ${fieldBytes} allowed`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'contains a control character';
  return undefined;
}

export function writeText(target: Uint8Array, offsetBytes: number, fieldBytes: number, text: string): void {
  const problem = textProblem(text, fieldBytes);
  assert(problem === undefined, `text field ${JSON.stringify(text)} ${problem}`);
  const bytes = encoder.encode(text);
  target.fill(0, offsetBytes, offsetBytes + fieldBytes);
  target.set(bytes, offsetBytes);
}

/** The field's text, or a problem string (never throws). */
export function readText(source: Uint8Array, offsetBytes: number, fieldBytes: number): { text: string } | { problem: string } {
  const field = source.subarray(offsetBytes, offsetBytes + fieldBytes);
  let length = field.indexOf(0);
  if (length < 0) length = fieldBytes;
  if (field.subarray(length).some((byte) => byte !== 0)) return { problem: 'has bytes after its terminating NUL' };
  let text: string;
  try {
    text = decoder.decode(field.subarray(0, length));
  } catch {
    return { problem: 'is not valid UTF-8' };
  }
  const problem = textProblem(text, fieldBytes);
  return problem === undefined ? { text } : { problem };
}

/**
 * A name that fits `fieldBytes`: unchanged when it fits, otherwise its tail
 * (the distinctive end of a long path) behind "...", cut on a character boundary.
 */
export function fitName(name: string, fieldBytes: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '?');
  if (encoder.encode(clean).length <= fieldBytes) return clean;
  const characters = [...clean];
  let tail = '';
  for (let i = characters.length - 1; i >= 0; i--) {
    const candidate = characters[i]! + tail;
    if (encoder.encode('...' + candidate).length > fieldBytes) break;
    tail = candidate;
  }
  return '...' + tail;
}
