// Assertions stay on in production (TigerBeetle's rule): a failed assertion
// is a bug in this program, never an operating error, and is never caught
// and turned into an error reply.

export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertNever(value: never, message = 'unexpected value'): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}

export function unreachable(message = 'unreachable code reached'): never {
  throw new AssertionError(message);
}
