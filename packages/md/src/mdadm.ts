// Changes to md arrays go through mdadm (SOFTRAID_MDADM, default mdadm on
// PATH), as an administrator's would: one argument vector, no shell, a time
// limit, and a failure carried whole into the bio_status message — the
// command line, its exit status and its stderr.
import { runProgram, type CommandResult } from '@openbsd38/libutil/run-command.js';
import { MdError } from './errors.js';

export const mdadmDefault = 'mdadm';
/** mdadm --create zeroes a bitmap and writes superblocks: seconds on slow disks. */
export const mdadmTimeoutMs = 120_000;
/** Bytes of mdadm's stderr carried into a message. */
export const mdadmStderrBytesMax = 600;

export type MdadmRun = (args: readonly string[]) => Promise<CommandResult>;

export function mdadmRunner(program: string, env: NodeJS.ProcessEnv = process.env): MdadmRun {
  return (args) => runProgram(program, args, { timeoutMs: mdadmTimeoutMs, env, outputBytesMax: 16 * 1024 });
}

function how(result: CommandResult): string {
  if (result.startError !== null) return `could not be run: ${result.startError}`;
  if (result.timedOut) return `timed out after ${mdadmTimeoutMs / 1000} s`;
  if (result.signal !== null) return `was killed by ${result.signal}`;
  return `exited with status ${result.status}`;
}

/** Runs mdadm; anything but exit status 0 is an MdError with the command, how it ended and its stderr. */
export async function mdadm(run: MdadmRun, program: string, args: readonly string[]): Promise<CommandResult> {
  const result = await run(args);
  if (result.status === 0) return result;
  const stderr = result.stderr.trim().replace(/\s*\n\s*/g, '; ');
  const clipped = stderr.length > mdadmStderrBytesMax ? `${stderr.slice(0, mdadmStderrBytesMax)}…` : stderr;
  throw new MdError(`${program} ${args.join(' ')} ${how(result)}${clipped.length > 0 ? `: ${clipped}` : ''}`);
}
