// How bioctl ends when it cannot go on, mirroring the C calls it replaces.
// run.ts maps each to output and exit status, once.

/** usage(): the synopsis on stderr, exit 1. `diagnostic` is getopt's own line, if any. */
export class UsageFailure extends Error {
  override name = 'UsageFailure';
  constructor(readonly diagnostic?: string) {
    super(diagnostic ?? 'usage');
  }
}

/** errx(1, ...) or err(1, ...): "bioctl: message" on stderr, exit 1. */
export class FatalFailure extends Error {
  override name = 'FatalFailure';
}

/** exit(1) after bio_status() already printed the controller's messages. */
export class StatusFailure extends Error {
  override name = 'StatusFailure';
}
