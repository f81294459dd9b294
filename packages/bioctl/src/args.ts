// bioctl's option loop (main() in bioctl.c): getopt over
// "a:b:C:c:dH:hik:l:O:Pp:qr:R:st:u:v", the same immediate checks (RAID
// level, -C flags, -r rounds) in the same order, then "exactly one device".
// Pure: nothing here touches the socket or the file system.
import { getopt } from '@openbsd38/libutil/getopt.js';
import { FatalFailure, UsageFailure } from './failures.js';
import { raid5Layouts, stripSizeBytesMax, stripSizeBytesMin, type Raid5Layout } from '@openbsd38/bio/levels.js';
import { isPowerOfTwo } from '@openbsd38/libutil/units.js';
import type { SetStateOperation } from '@openbsd38/bio/control/messages.js';

export const bioctlOptstring = 'a:b:C:c:dH:hik:l:O:Pp:qr:R:st:u:v';
export const bioctlLongOptions = [
  { name: 'json', hasArgument: false },
  { name: 'socket', hasArgument: true },
  { name: 'strip-size', hasArgument: true },
  { name: 'layout', hasArgument: true },
] as const;

/** bioctl's func bits (BIOC_*), the ones main() dispatches on. */
export type FunctionFlag = 'inq' | 'alarm' | 'blink' | 'setstate' | 'createraid' | 'deleteraid' | 'patrol' | 'devlist';

export interface BioctlInvocation {
  functions: Set<FunctionFlag>;
  /** al_arg: shared by -a, -H, -O, -R and -t (the last one given wins, as in C). */
  functionArgument: string | undefined;
  blinkArgument: string | undefined;
  blink: 'blink' | 'unblink';
  setStateOperation: SetStateOperation;
  /** -c: bio(4) level code (0, 1, 5, 0x1C, or a character code). */
  createLevel: number;
  force: boolean;
  noAutoAssemble: boolean;
  deviceList: string | undefined;
  keyDisk: string | undefined;
  human: boolean;
  verbose: boolean;
  diskInquiry: boolean;
  changePassphrase: boolean;
  /** -p: the passphrase file. */
  passFile: string | undefined;
  /** -s: passphrases from standard input, no confirmation. */
  stdinPassphrase: boolean;
  /** -r: bcrypt_pbkdf rounds; undefined = auto. */
  kdfRounds: number | undefined;
  json: boolean;
  socketPath: string | undefined;
  stripSizeBytes: number | undefined;
  layout: Raid5Layout | undefined;
  device: string;
}

/** bio_createflags(): only the first letter of each comma-separated word counts. */
export function parseCreateFlags(list: string): { force: boolean; noAutoAssemble: boolean } {
  const flags = { force: false, noAutoAssemble: false };
  for (const word of list.split(',')) {
    if (word.length === 0) continue;
    if (word.startsWith('f')) flags.force = true;
    else if (word.startsWith('n')) flags.noAutoAssemble = true;
    else throw new FatalFailure(`invalid flag ${word}`);
  }
  return flags;
}

/** -c: "1C", a number 0..10, or a single character. */
export function parseRaidLevel(argument: string): number {
  if (argument === '1C') return 0x1c;
  if (/^[0-9]/.test(argument)) {
    // strtonum(optarg, 0, 10): the whole argument must be a decimal number.
    if (!/^[0-9]+$/.test(argument) || Number(argument) > 10) throw new FatalFailure('Invalid RAID level');
    return Number(argument);
  }
  if (argument.length === 1) return argument.charCodeAt(0);
  throw new FatalFailure('Invalid RAID level');
}

/** --strip-size: bytes with an optional k/m suffix; a power of two from 4k to 1m. */
export function parseStripSize(argument: string): number {
  const match = /^([0-9]+)([kKmM]?)$/.exec(argument);
  const multiplier = match?.[2] === '' ? 1 : match?.[2]?.toLowerCase() === 'k' ? 1024 : 1024 * 1024;
  const bytes = match ? Number(match[1]) * multiplier : NaN;
  if (!isPowerOfTwo(bytes) || bytes < stripSizeBytesMin || bytes > stripSizeBytesMax) {
    throw new FatalFailure(`invalid strip size ${argument}: a power of two from 4k to 1m`);
  }
  return bytes;
}

export function parseLayout(argument: string): Raid5Layout {
  const layout = raid5Layouts.find((candidate) => candidate === argument);
  if (!layout) throw new FatalFailure(`invalid layout ${argument}: ${raid5Layouts.join(' or ')}`);
  return layout;
}

export function parseBioctlArgs(argv: readonly string[]): BioctlInvocation {
  if (argv.length < 1) throw new UsageFailure(); // argc < 2 in C
  const parsed = getopt(argv, bioctlOptstring, bioctlLongOptions);
  if (!parsed.ok) throw new UsageFailure(parsed.diagnostic);
  const invocation: BioctlInvocation = {
    functions: new Set(), functionArgument: undefined, blinkArgument: undefined, blink: 'blink', setStateOperation: 'hotspare',
    createLevel: 0, force: false, noAutoAssemble: false, deviceList: undefined, keyDisk: undefined, human: false,
    verbose: false, diskInquiry: false, changePassphrase: false, passFile: undefined, stdinPassphrase: false, kdfRounds: undefined,
    json: false, socketPath: undefined,
    stripSizeBytes: undefined, layout: undefined, device: '',
  };
  const f = invocation.functions;
  for (const { name, value = '' } of parsed.options) {
    switch (name) {
      case 'a': f.add('alarm'); invocation.functionArgument = value; break;
      case 'b': f.add('blink'); invocation.blink = 'blink'; invocation.blinkArgument = value; break;
      case 'u': f.add('blink'); invocation.blink = 'unblink'; invocation.blinkArgument = value; break;
      case 'C': Object.assign(invocation, parseCreateFlags(value)); break;
      case 'c': f.add('createraid'); invocation.createLevel = parseRaidLevel(value); break;
      case 'd': f.add('deleteraid'); break;
      case 'H': f.add('setstate'); invocation.setStateOperation = 'hotspare'; invocation.functionArgument = value; break;
      case 'O': f.add('setstate'); invocation.setStateOperation = 'offline'; invocation.functionArgument = value; break;
      case 'R': f.add('setstate'); invocation.setStateOperation = 'rebuild'; invocation.functionArgument = value; break;
      case 'h': invocation.human = true; break;
      case 'i': f.add('inq'); break;
      case 'k': invocation.keyDisk = value; break;
      case 'l': f.add('devlist'); invocation.deviceList = value; break;
      case 'P': invocation.changePassphrase = true; break;
      case 'p': invocation.passFile = value; break;
      case 'r':
        if (value !== 'auto' && !(/^[0-9]+$/.test(value) && Number(value) >= 16 && Number(value) <= 2 ** 30)) {
          const problem = /^-?[0-9]+$/.test(value) ? (Number(value) < 16 ? 'too small' : 'too large') : 'invalid';
          throw new FatalFailure(`number of KDF rounds is ${problem}: ${value}`);
        }
        invocation.kdfRounds = value === 'auto' ? undefined : Number(value);
        break;
      case 's': invocation.stdinPassphrase = true; break;
      case 't': f.add('patrol'); invocation.functionArgument = value; break;
      case 'v': invocation.verbose = true; break;
      case 'q': invocation.diskInquiry = true; break;
      case 'json': invocation.json = true; break;
      case 'socket': invocation.socketPath = value; break;
      case 'strip-size': invocation.stripSizeBytes = parseStripSize(value); break;
      case 'layout': invocation.layout = parseLayout(value); break;
      default: throw new UsageFailure();
    }
  }
  if (parsed.operands.length !== 1 || (invocation.changePassphrase && f.size !== 0)) throw new UsageFailure();
  if (f.size === 0) f.add('inq');
  invocation.device = parsed.operands[0]!;
  return invocation;
}
