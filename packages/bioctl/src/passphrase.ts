// Where bioctl gets a passphrase (readpassphrase(3) and bioctl's -p/-s):
// the terminal with echo off, standard input (-s: one line per prompt, no
// confirmation), or a passphrase file (-p: owned by the caller, mode 0600,
// its first line). A passphrase is bytes, never a string, held outside the
// JavaScript heap (libutil's secret-bytes.ts), so that bioctl can zero every
// copy once the request has gone.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { passphraseBytesMax } from '@openbsd38/bio/control/protocol.js';
import { secretBytes, secretCopy } from '@openbsd38/libutil/secret-bytes.js';
import { FatalFailure } from './failures.js';

export interface PassphraseReader {
  /** The next line of standard input, without its end (LF, CR or CR LF: RPP_STDIN). */
  fromStdin(): Promise<Uint8Array>;
  /** readpassphrase with RPP_REQUIRE_TTY: the prompt on the terminal, echo off. */
  fromTerminal(prompt: string): Promise<Uint8Array>;
  /** Gives the terminal back (echo on again) and drops whatever was typed ahead. */
  close(): void;
}

/** The first line of a passphrase file; refused unless owned by `uid` with mode exactly 0600 (bioctl's rule, for the caller). */
export function readPassphraseFile(path: string, uid: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new FatalFailure(`open passphrase file: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : String((error as Error).message)}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new FatalFailure(`passphrase file ${path} is not a regular file`);
    if (stat.uid !== uid) throw new FatalFailure(`passphrase file must be owned by the user running bioctl (uid ${uid}), not uid ${stat.uid}`);
    if ((stat.mode & 0o7777) !== 0o600) {
      throw new FatalFailure(`passphrase file has the wrong permissions: mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')}, it must be 0600`);
    }
    const buffer = new Uint8Array(passphraseBytesMax + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (buffer.subarray(0, length).includes(0x0a)) break;
    }
    const newline = buffer.subarray(0, length).indexOf(0x0a);
    // As OpenBSD: the first line, which must end in a newline.
    const passphrase = newline <= 0 ? null : secretCopy(buffer.subarray(0, newline));
    buffer.fill(0);
    if (passphrase === null) throw new FatalFailure('invalid passphrase length');
    return passphrase;
  } finally {
    closeSync(fd);
  }
}

/** The real process's reader: standard input read once, line by line; /dev/tty for prompts. */
export function processPassphraseReader(): PassphraseReader {
  let stdinLines: Uint8Array[] | null = null;
  let terminal: Terminal | null = null;
  return {
    async fromStdin() {
      stdinLines ??= await readStdinLines();
      const line = stdinLines.shift();
      if (line === undefined) throw new FatalFailure('unable to read passphrase: standard input ended');
      return line;
    },
    async fromTerminal(prompt) {
      terminal ??= new Terminal();
      try {
        return await terminal.readLine(prompt);
      } catch (error) {
        terminal.close();
        terminal = null;
        throw error;
      }
    },
    close() {
      terminal?.close();
      terminal = null;
      for (const line of stdinLines ?? []) line.fill(0);
    },
  };
}

/** Standard input's bytes bioctl reads at most (-s: a few lines). */
const stdinBytesMax = 16 * passphraseBytesMax;

/**
 * Standard input to its end, split into lines. Read with read(2) straight
 * into a buffer of bioctl's own, zeroed once the lines are copied out: not
 * through process.stdin, whose read buffers Node frees without zeroing.
 */
async function readStdinLines(): Promise<Uint8Array[]> {
  const all = secretBytes(stdinBytesMax + 1);
  let total = 0;
  try {
    for (;;) {
      let got: number;
      try {
        got = readSync(0, all, total, all.length - total, null);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          // Standard input left non-blocking by whoever started bioctl: wait for more.
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        throw new FatalFailure(`unable to read passphrase: ${(error as Error).message}`);
      }
      if (got === 0) break;
      total += got;
      if (total > stdinBytesMax) throw new FatalFailure('unable to read passphrase: standard input is too long');
    }
    // A line ends at LF or at CR, as readpassphrase(3) ends one; CR LF (a file edited on Windows) is one end, not two.
    const lines: Uint8Array[] = [];
    let start = 0;
    for (let at = 0; at <= total; at++) {
      if (at === total ? at > start : all[at] === 0x0a || all[at] === 0x0d) {
        lines.push(secretCopy(all.subarray(start, at)));
        if (all[at] === 0x0d && at + 1 < total && all[at + 1] === 0x0a) at++;
        start = at + 1;
      }
    }
    return lines;
  } finally {
    all.fill(0);
  }
}

/** One read from the terminal: a paste of a whole passphrase fits. */
const terminalReadBytes = passphraseBytesMax + 2;
/** Typed ahead of the prompts: two whole passphrases and their ends of line. */
const pendingBytesMax = 2 * (passphraseBytesMax + 2);

/**
 * /dev/tty in raw mode (no echo) for as long as bioctl asks: bytes typed
 * ahead of a prompt are kept for it, as a terminal's line discipline would.
 * Ctrl-C or Ctrl-D gives up; backspace takes back a byte.
 */
class Terminal {
  private readonly fd: number;
  private readonly input: ReadStream;
  /** What the terminal sent, read straight into this buffer (net.Socket's onread) and zeroed after each read. */
  private readonly readBuffer = secretBytes(terminalReadBytes);
  /** Bytes typed ahead of a prompt: pendingBytes of them, from the start. */
  private readonly pending = secretBytes(pendingBytesMax);
  private pendingBytes = 0;
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;

  constructor() {
    try {
      this.fd = openSync('/dev/tty', 'r+');
    } catch {
      throw new FatalFailure('unable to read passphrase: no terminal (use -s to read it from standard input, or -p FILE)');
    }
    // onread: libuv reads into readBuffer, not into an allocation Node would free without zeroing.
    this.input = new ReadStream(this.fd, { onread: { buffer: this.readBuffer, callback: (bytes: number) => this.received(bytes) } } as object);
    this.input.setRawMode(true);
    this.input.on('error', (error) => {
      this.failure = error;
      this.waiter?.();
    });
    this.input.resume();
  }

  private received(bytes: number): boolean {
    // More typed ahead than two whole passphrases is dropped, as a full tty input queue drops it.
    const kept = Math.min(bytes, this.pending.length - this.pendingBytes);
    this.pending.set(this.readBuffer.subarray(0, kept), this.pendingBytes);
    this.pendingBytes += kept;
    this.readBuffer.fill(0, 0, bytes);
    this.waiter?.();
    return true;
  }

  /** The next byte typed, or undefined when none is waiting. */
  private nextByte(): number | undefined {
    if (this.pendingBytes === 0) return undefined;
    const byte = this.pending[0]!;
    this.pending.copyWithin(0, 1, this.pendingBytes);
    this.pending[--this.pendingBytes] = 0;
    return byte;
  }

  async readLine(prompt: string): Promise<Uint8Array> {
    writeSync(this.fd, prompt);
    const typed = new Uint8Array(passphraseBytesMax);
    let length = 0;
    try {
      for (;;) {
        for (let byte = this.nextByte(); byte !== undefined; byte = this.nextByte()) {
          if (byte === 0x0d || byte === 0x0a) {
            // A CR LF pair is one end of line.
            if (byte === 0x0d && this.pendingBytes > 0 && this.pending[0] === 0x0a) this.nextByte();
            return secretCopy(typed.subarray(0, length));
          }
          if (byte === 0x03 || byte === 0x04) throw new FatalFailure('unable to read passphrase');
          if (byte === 0x7f || byte === 0x08) length = Math.max(0, length - 1);
          else if (length < typed.length) typed[length++] = byte;
        }
        if (this.failure !== null) throw new FatalFailure(`unable to read passphrase: ${this.failure.message}`);
        await new Promise<void>((resolve) => { this.waiter = resolve; });
        this.waiter = null;
      }
    } finally {
      typed.fill(0);
      writeSync(this.fd, '\n');
    }
  }

  close(): void {
    this.pending.fill(0);
    this.readBuffer.fill(0);
    this.pendingBytes = 0;
    this.input.setRawMode(false);
    this.input.destroy();
  }
}
