// md's scrub schedule (bioctl -t auto.N md, -t manual, -t disable): md
// scrubs only when asked, so the schedule is kept in a small file beside
// softraidd's state (SOFTRAID_STATE_DIR/md-scrub-schedule.json), written by
// bioctl (which runs the md controller in-process) and carried out by
// softraidd, which watches md arrays anyway: when a scrub is due it starts
// md's `check` on every redundant array in sync, then sets the next time.
// The file is replaced whole (write, fsync, rename), mode 0600; one that
// does not parse is an error naming the file, never a silent default.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { MdError } from './errors.js';

export const scrubScheduleFileName = 'md-scrub-schedule.json';
/** As softraid's patrol: a week. */
export const scrubIntervalSecondsDefault = 7 * 24 * 3600;
const scheduleBytesMax = 4096;

export interface MdScrubSchedule {
  mode: 'auto' | 'manual' | 'disabled';
  /** auto: seconds between scrubs. */
  intervalSeconds: number;
  /** auto: when the next scrub is due, ms since the epoch. */
  nextDueMs: number;
}

export const manualSchedule: MdScrubSchedule = { mode: 'manual', intervalSeconds: scrubIntervalSecondsDefault, nextDueMs: 0 };

/** The schedule in the file; manual when there is no file. */
export function readScrubSchedule(path: string): MdScrubSchedule {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return manualSchedule;
    throw new MdError(`${path}: ${(error as Error).message}`);
  }
  return parseScrubSchedule(text, path);
}

export function parseScrubSchedule(text: string, path: string): MdScrubSchedule {
  if (text.length > scheduleBytesMax) throw new MdError(`${path}: larger than ${scheduleBytesMax} bytes: not md's scrub schedule`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MdError(`${path}: not JSON (${(error as Error).message}): remove it, or set the schedule again with bioctl -t`);
  }
  const record = value as Record<string, unknown> | null;
  const mode = record?.mode;
  if (typeof record !== 'object' || record === null || (mode !== 'auto' && mode !== 'manual' && mode !== 'disabled')) {
    throw new MdError(`${path}: mode must be auto, manual or disabled`);
  }
  const intervalSeconds = record.interval_seconds;
  if (!Number.isSafeInteger(intervalSeconds) || (intervalSeconds as number) < 1) throw new MdError(`${path}: interval_seconds must be a whole number of seconds, at least 1`);
  const nextDue = typeof record.next_due_at === 'string' ? Date.parse(record.next_due_at) : Number.NaN;
  if (mode === 'auto' && Number.isNaN(nextDue)) throw new MdError(`${path}: next_due_at must be an ISO 8601 time`);
  return { mode, intervalSeconds: intervalSeconds as number, nextDueMs: Number.isNaN(nextDue) ? 0 : nextDue };
}

export function writeScrubSchedule(path: string, schedule: MdScrubSchedule): void {
  const text = `${JSON.stringify({
    mode: schedule.mode,
    interval_seconds: schedule.intervalSeconds,
    ...(schedule.mode === 'auto' ? { next_due_at: new Date(schedule.nextDueMs).toISOString() } : {}),
  })}\n`;
  const temporary = `${path}.new`;
  try {
    const descriptor = openSync(temporary, 'w', 0o600);
    try {
      writeSync(descriptor, text);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    renameSync(temporary, path);
  } catch (error) {
    throw new MdError(`${path}: ${(error as Error).message}`);
  }
}
