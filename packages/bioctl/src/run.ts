// bioctl's main(): parse, locate the device over the control socket, run
// the one function main() dispatches to, print bio_status as bio_status()
// does. This is the control-reply -> exit-status boundary: every failure
// becomes its output and exit status here, once.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseBioctlArgs, type BioctlInvocation } from './args.js';
import { FatalFailure, StatusFailure, UsageFailure } from './failures.js';
import { usageText } from './usage.js';
import { formatInquiry } from './inquiry-table.js';
import { bioStatusJson, inquiryJson, outputVersion } from './json-output.js';
import { parseLocator, strtonum } from './locator.js';
import { strerror } from './strerror.js';
import { ControlClient, ControlConnectError } from '@openbsd38/bio/control/client.js';
import { mdDeviceName } from './md-device.js';
import { ControlProtocolError } from '@openbsd38/bio/control/errors.js';
import { chunkCountMax, defaultControlSocketPath, deviceNameBytesMax } from '@openbsd38/bio/control/protocol.js';
import {
  decodeAlarmResult, decodeInquiryView, decodeKdfHintResult, decodeLocateResult, decodePatrolResult,
  type AlarmFunction, type ChunkReference, type PatrolFunction, type RequestBody, type Response,
} from '@openbsd38/bio/control/messages.js';
import { levelFromBioCode, levelTable, requestMinimumChunks } from '@openbsd38/bio/levels.js';
import { readPassphraseFile, type PassphraseReader } from './passphrase.js';

function nonEmpty(passphrase: Uint8Array): Uint8Array {
  if (passphrase.length === 0) throw new FatalFailure('invalid passphrase length');
  return passphrase;
}
import type { InquiryView } from '@openbsd38/bio/controller.js';

export interface BioctlIo {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Where passphrases come from (-s, the terminal); absent: none can be read. */
  passphrases?: PassphraseReader;
  /** The caller's uid, whom a passphrase file must belong to. */
  uid?: number;
}

const programName = 'bioctl';

/** How bioctl reaches a controller: softraidd's control socket, or a controller in-process (md). */
interface BioTransport {
  request(body: RequestBody): Promise<Response>;
  close(): void;
}

export async function runBioctl(argv: readonly string[], io: BioctlIo): Promise<number> {
  let client: BioTransport | undefined;
  try {
    const invocation = parseBioctlArgs(argv);
    if (invocation.socketPath === '') throw new FatalFailure('--socket needs the path of softraidd\'s control socket');
    // md needs no daemon: the kernel keeps the arrays, and bioctl asks the md controller itself.
    const mdDevice = invocation.socketPath === undefined ? mdDeviceName(invocation.device, io.cwd) : undefined;
    if (mdDevice !== undefined) {
      // Loaded only for md, so bioctl for softraid needs none of it.
      const [{ MdController }, { InProcessClient }] = await Promise.all([import('@openbsd38/md/controller.js'), import('@openbsd38/bio/server/in-process-client.js')]);
      const controller = MdController.fromEnvironment(io.env);
      client = new InProcessClient(controller);
      await new Session(client, { ...invocation, device: mdDevice }, io, `${controller.sysfsRoot}/block`).run();
      return 0;
    }
    // An empty SOFTRAID_SOCKET is as good as unset (the shell's SOFTRAID_SOCKET= clears it).
    const socketPath = invocation.socketPath ?? (io.env.SOFTRAID_SOCKET || undefined) ?? defaultControlSocketPath;
    try {
      client = await ControlClient.connect(socketPath);
    } catch (error) {
      if (!(error instanceof ControlConnectError)) throw error;
      throw new FatalFailure(`Can't open ${socketPath}: ${strerror(error.code)}`);
    }
    await new Session(client, invocation, io, socketPath).run();
    return 0;
  } catch (error) {
    if (error instanceof UsageFailure) {
      if (error.diagnostic !== undefined) io.stderr(`${programName}: ${error.diagnostic}\n`);
      io.stderr(usageText);
      return 1;
    }
    if (error instanceof FatalFailure) {
      io.stderr(`${programName}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof StatusFailure) return 1;
    if (error instanceof ControlProtocolError) {
      io.stderr(`${programName}: control socket: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    client?.close();
    io.passphrases?.close();
  }
}

class Session {
  /** The device is the bio controller (softraid0), not a volume. */
  private bioDevice = false;

  constructor(
    private readonly client: BioTransport,
    private readonly invocation: BioctlInvocation,
    private readonly io: BioctlIo,
    private readonly socketPath: string,
  ) {}

  async run(): Promise<void> {
    const invocation = this.invocation;
    const device = invocation.device;
    const functions = invocation.functions;
    const only = (flag: string): boolean => functions.size === 1 && functions.has(flag as never);
    // bioctl -d SPARE (not OpenBSD's): a path or URI instead of a device takes a hot spare out of the pool.
    if (only('deleteraid') && (device.includes('/') || device.includes('://'))) {
      const name = device.includes('://') ? device : resolve(this.io.cwd, device);
      return this.simple('bioctl -d', { op: 'delete', device: name });
    }
    // bio(4) device names are short: anything longer is no device (and would be refused as a malformed request).
    if (Buffer.byteLength(device, 'utf8') > deviceNameBytesMax) throw new FatalFailure(`Can't locate ${device} device via ${this.socketPath}`);
    const located = await this.client.request({ op: 'locate', name: device });
    if (located.bio_status.status !== 'success') throw new FatalFailure(`Can't locate ${device} device via ${this.socketPath}`);
    this.bioDevice = decodeLocateResult(located.result).kind === 'controller';

    if (invocation.diskInquiry) return this.diskInquiry();
    if (invocation.changePassphrase) {
      if (this.bioDevice) throw new FatalFailure(`-P changes the passphrase of a volume (sdN), not of ${device}`);
      return this.changePassphrase();
    }
    if (functions.has('inq')) return this.inquire();
    if (only('alarm')) return this.alarm(invocation.functionArgument ?? '');
    if (only('blink')) return this.blink(invocation.blinkArgument ?? '');
    if (only('patrol')) return this.patrol(invocation.functionArgument ?? '');
    if (only('setstate')) return this.setState(invocation.functionArgument ?? '');
    if (only('deleteraid')) {
      // OpenBSD silently does nothing for -d on the bio device; say why instead.
      if (this.bioDevice) throw new FatalFailure(`invalid device ${device}`);
      return this.simple('bioctl -d', { op: 'delete', device, ...(invocation.force ? { force: true } : {}) });
    }
    if (functions.has('createraid') || functions.has('devlist')) {
      if (!functions.has('createraid')) throw new FatalFailure('need -c parameter');
      if (!functions.has('devlist')) throw new FatalFailure('need -l parameter');
      if (!this.bioDevice) throw new FatalFailure('must use bio device');
      return this.createRaid();
    }
    // OpenBSD exits 0 having done nothing here (e.g. -a with -b); say why instead.
    throw new FatalFailure('conflicting options: only one of -a, -b/-u, -d, -H/-O/-R, -t at a time');
  }

  /** bio_status(): messages with the controller prefix, exit 1 on error. */
  private printStatus(response: Response): void {
    const status = response.bio_status;
    const prefix = status.controller.length > 0 ? status.controller : programName;
    for (const message of status.messages) {
      const line = `${prefix}: ${message.text}\n`;
      if (message.type === 'info') this.io.stdout(line);
      else this.io.stderr(line);
    }
    if (status.status === 'error') {
      if (status.messages.length === 0) throw new FatalFailure('unknown error');
      throw new StatusFailure();
    }
  }

  private printJson(value: unknown): void {
    this.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A write command: bio_status as text, or as JSON with --json. */
  private async simple(command: string, body: RequestBody): Promise<void> {
    const response = await this.client.request(body);
    if (!this.invocation.json) return this.printStatus(response);
    this.printJson({ output_version: outputVersion(command), bio_status: bioStatusJson(response.bio_status), result: response.result ?? null });
    if (response.bio_status.status === 'error') throw new StatusFailure();
  }

  private async fetchInquiry(): Promise<InquiryView> {
    const response = await this.client.request({ op: 'inquire' });
    this.printStatus(response);
    return decodeInquiryView(response.result);
  }

  private async inquire(): Promise<void> {
    const view = await this.fetchInquiry();
    const filter = this.bioDevice ? undefined : this.invocation.device;
    // A volume the controller could not read is shown Invalid; why goes to stderr, naming the file.
    for (const volume of view.volumes) {
      if (volume.problem !== undefined && (filter === undefined || filter === volume.deviceName)) this.io.stderr(`${programName}: ${volume.deviceName}: ${volume.problem}\n`);
    }
    if (this.invocation.json) return this.printJson(inquiryJson(view, filter, 'bioctl -i'));
    this.io.stdout(formatInquiry(view, { volumeFilter: filter, human: this.invocation.human, verbose: this.invocation.verbose }));
  }

  /** -q: DIOCINQ. The bio device has no SCSI inquiry (ENOTTY, as on OpenBSD). */
  private async diskInquiry(): Promise<void> {
    if (this.bioDevice) throw new FatalFailure(`DIOCINQ: ${strerror('ENOTTY')}`);
    const view = await this.fetchInquiry();
    const volume = view.volumes.find((candidate) => candidate.deviceName === this.invocation.device);
    if (!volume) throw new FatalFailure(`invalid device ${this.invocation.device}`);
    // softraid's volumes answer as OpenBSD's SCSI emulation does; an md array as what it is.
    const md = view.controllerName === 'md';
    const vendor = md ? 'Linux' : 'OPENBSD';
    const product = `${md ? 'md' : 'SR'} ${levelTable[volume.level].displayName}`;
    const revision = md ? String(volume.extras?.metadata_version ?? 'none') : '006';
    const serial = volume.uuid.replace(/-/g, '');
    if (this.invocation.json) {
      return this.printJson({ output_version: outputVersion('bioctl -q'), device: volume.deviceName, vendor, product, revision, serial });
    }
    this.io.stdout(`${volume.deviceName}: <${vendor}, ${product}, ${revision}>, serial ${serial}\n`);
  }

  private async alarm(argument: string): Promise<void> {
    const functions: Record<string, AlarmFunction> = { q: 'silence', s: 'silence', e: 'enable', d: 'disable', t: 'test', g: 'get' };
    const alarmFunction = functions[argument.charAt(0)];
    if (alarmFunction === undefined) throw new FatalFailure(`invalid alarm function: ${argument}`);
    const response = await this.client.request({ op: 'alarm', function: alarmFunction });
    if (this.invocation.json) {
      const result = response.bio_status.status === 'error' ? null : decodeAlarmResult(response.result);
      this.printJson({ output_version: outputVersion('bioctl -a'), bio_status: bioStatusJson(response.bio_status), alarm: result });
      if (response.bio_status.status === 'error') throw new StatusFailure();
      return;
    }
    this.printStatus(response);
    if (alarmFunction === 'get') this.io.stdout(`alarm is currently ${decodeAlarmResult(response.result).enabled ? 'enabled' : 'disabled'}\n`);
  }

  private async blink(argument: string): Promise<void> {
    const location = parseLocator(argument);
    if ('error' in location) throw new FatalFailure(`Target ${argument}: ${location.error}`);
    return this.simple(this.invocation.blink === 'blink' ? 'bioctl -b' : 'bioctl -u', { op: 'blink', function: this.invocation.blink, ...location });
  }

  /**
   * -t: parsed as bio_patrol() does, plus `repair` (this port's addition).
   * The daemon runs a scrub for it (docs/scrub.md): start and repair scrub
   * the volume, or every redundant volume when the device is softraid0;
   * auto/manual/disable set the controller-wide schedule; get prints
   * OpenBSD's two lines.
   */
  private async patrol(argument: string): Promise<void> {
    let patrolFunction: PatrolFunction;
    let intervalSeconds: number | undefined;
    let startSeconds: number | undefined;
    switch (argument.charAt(0)) {
      case 'a': {
        patrolFunction = 'auto';
        const dot = argument.indexOf('.');
        if (dot !== -1) {
          const [intervalText = '', startText] = argument.slice(dot + 1).split('.');
          const interval = strtonum(intervalText, -1, 2 ** 31 - 1);
          if ('error' in interval) throw new FatalFailure(`Patrol ${argument}: interval is ${interval.error}`);
          intervalSeconds = interval.value;
          if (startText !== undefined) {
            const start = strtonum(startText, 0, 2 ** 31 - 1);
            if ('error' in start) throw new FatalFailure(`Patrol ${argument}: start is ${start.error}`);
            startSeconds = start.value;
          }
        }
        break;
      }
      case 'm': patrolFunction = 'manual'; break;
      case 'd': patrolFunction = 'disable'; break;
      case 'g': patrolFunction = 'get'; break;
      case 's': patrolFunction = argument.startsWith('sta') ? 'start' : 'stop'; break;
      case 'r': patrolFunction = 'repair'; break;
      default: throw new FatalFailure(`invalid patrol function: ${argument}`);
    }
    const body: RequestBody = { op: 'patrol', function: patrolFunction, device: this.invocation.device };
    if (intervalSeconds !== undefined) body.intervalSeconds = intervalSeconds;
    if (startSeconds !== undefined) body.startSeconds = startSeconds;
    if (patrolFunction !== 'get') return this.simple('bioctl -t', body);
    const response = await this.client.request(body);
    const failed = response.bio_status.status === 'error';
    if (this.invocation.json) {
      const result = failed ? null : decodePatrolResult(response.result);
      this.printJson({
        output_version: outputVersion('bioctl -t'), bio_status: bioStatusJson(response.bio_status),
        patrol: result && { mode: result.mode, interval_seconds: result.intervalSeconds, next_seconds: result.nextSeconds, status: result.status },
      });
      if (failed) throw new StatusFailure();
      return;
    }
    this.printStatus(response);
    const result = decodePatrolResult(response.result);
    const interval = result.mode === 'auto' ? ` interval=${result.intervalSeconds} next=${result.nextSeconds}` : '';
    this.io.stdout(`patrol mode: ${result.mode}${interval}\npatrol status: ${result.status}\n`);
  }

  /** A chunk argument: an existing path (made absolute for the daemon), an NBD URI, or a locator. */
  private chunkReference(argument: string): ChunkReference {
    if (argument.includes('://')) return { kind: 'name', name: argument };
    try {
      statSync(resolve(this.io.cwd, argument));
      return { kind: 'name', name: resolve(this.io.cwd, argument) };
    } catch (error) {
      // OpenBSD tries a channel:target locator for anything that is not a file, and a
      // mistyped path then reads "Target /dev/lop3: target not specified". A path says so.
      if (argument.includes('/') || !argument.includes(':')) {
        throw new FatalFailure(`could not open ${argument}: ${strerror((error as NodeJS.ErrnoException).code ?? 'EIO')}`);
      }
      const location = parseLocator(argument);
      if ('error' in location) throw new FatalFailure(`Target ${argument}: ${location.error}`);
      return { kind: 'locator', ...location };
    }
  }

  private async setState(argument: string): Promise<void> {
    const chunk = this.chunkReference(argument);
    const operation = this.invocation.setStateOperation;
    // -H on a volume names it (md's spares belong to an array); softraid's pool ignores it.
    let device: string | null = this.bioDevice ? null : this.invocation.device;
    if (operation !== 'hotspare') {
      // bio_getvolbyname(): the device must be a volume.
      if (this.bioDevice) throw new FatalFailure(`invalid device ${this.invocation.device}`);
      device = this.invocation.device;
    }
    const letter = { hotspare: 'H', offline: 'O', rebuild: 'R' }[operation];
    const force = operation === 'offline' && this.invocation.force ? { force: true } : {};
    return this.simple(`bioctl -${letter}`, { op: 'setstate', operation, device, chunk, ...force });
  }

  /** bio_parse_devlist(): comma-separated, empty words skipped, at most 256, no duplicates. */
  private parseDeviceList(list: string): string[] {
    const names: string[] = [];
    const identities: string[] = [];
    for (const word of list.split(',')) {
      if (word.length === 0) continue;
      if (names.length >= chunkCountMax) throw new FatalFailure('too many devices on device list');
      const { name, identity } = this.device(word);
      names.push(name);
      identities.push(identity);
    }
    if (new Set(identities).size !== identities.length) throw new FatalFailure('duplicate device in list');
    return names;
  }

  private async createRaid(): Promise<void> {
    const invocation = this.invocation;
    const chunks = this.parseDeviceList(invocation.deviceList ?? '');
    const code = invocation.createLevel;
    // The levels softraid creates (OpenBSD's bioctl's, and RAID 6, this port's addition) and bio_createraid's
    // minimum counts, from bio's level table: RAID 1C may be assembled from one chunk, CRYPTO takes exactly one.
    const level = levelFromBioCode(code);
    if (level === undefined) throw new FatalFailure('unsupported RAID level');
    if (chunks.length < requestMinimumChunks(level)) throw new FatalFailure('not enough disks');
    if (level === 'crypto' && chunks.length !== levelTable.crypto.maximumChunks) throw new FatalFailure('not exactly one partition');
    const body: RequestBody = { op: 'create', level, chunks, force: invocation.force, noAutoAssemble: invocation.noAutoAssemble };
    if (invocation.stripSizeBytes !== undefined) body.stripSizeBytes = invocation.stripSizeBytes;
    if (invocation.layout !== undefined) body.layout = invocation.layout;
    if (code !== 0x43 && code !== 0x1c) {
      if (invocation.keyDisk !== undefined || invocation.passFile !== undefined) throw new FatalFailure('-k and -p apply to CRYPTO (-c C) and RAID 1C (-c 1C) only');
      return this.simple('bioctl -c', body);
    }
    // CRYPTO, RAID 1C (bio_createraid): a key disk, or a passphrase for the volume these chunks hold or a new one.
    if (invocation.keyDisk !== undefined) {
      if (invocation.passFile !== undefined) throw new FatalFailure('-k and -p are exclusive: a volume is unlocked by a key disk or by a passphrase');
      body.crypto = { keyDisk: this.device(invocation.keyDisk).name };
      return this.simple('bioctl -c', body);
    }
    const hint = await this.client.request({ op: 'kdfhint', chunks });
    this.printStatus(hint);
    const existing = decodeKdfHintResult(hint.result);
    if (existing.existing && existing.unlock === 'keydisk') throw new FatalFailure('the volume is unlocked by a key disk: name it with -k');
    // bioctl -v's line, when the rounds are known here (an existing volume's, or -r's; auto ones are tuned by softraidd).
    const rounds = existing.existing ? existing.kdfRounds : invocation.kdfRounds ?? null;
    if (invocation.verbose && rounds !== null) this.io.stdout(`Deriving key using bcrypt PBKDF with ${rounds} rounds...\n`);
    const passphrase = existing.existing ? await this.passphrase('Passphrase: ', false) : await this.passphrase('New passphrase: ', true);
    body.crypto = { passphrase, ...(invocation.kdfRounds === undefined ? {} : { kdfRounds: invocation.kdfRounds }) };
    try {
      return await this.simple('bioctl -c', body);
    } finally {
      passphrase.fill(0);
    }
  }

  /**
   * A device of -l or -k (opendev in OpenBSD): an NBD URI as given, a path
   * made absolute, with what makes two names the same device.
   */
  private device(word: string): { name: string; identity: string } {
    if (word.includes('://')) return { name: word, identity: word };
    const path = resolve(this.io.cwd, word);
    try {
      const stats = statSync(path, { bigint: true });
      return { name: path, identity: stats.isBlockDevice() ? `rdev:${stats.rdev}` : `ino:${stats.dev}:${stats.ino}` };
    } catch (error) {
      throw new FatalFailure(`could not open ${word}: ${strerror((error as NodeJS.ErrnoException).code ?? 'EIO')}`);
    }
  }

  /**
   * One passphrase as derive_key() reads it: from -p's file, -s's standard
   * input, or the terminal, where a new one is asked twice ("Passphrases
   * did not match, try again"). An empty one is refused.
   */
  private async passphrase(prompt: string, confirm: boolean): Promise<Uint8Array> {
    const invocation = this.invocation;
    if (invocation.passFile !== undefined) return nonEmpty(readPassphraseFile(resolve(this.io.cwd, invocation.passFile), this.io.uid ?? process.getuid?.() ?? 0));
    const reader = this.io.passphrases;
    if (reader === undefined) throw new FatalFailure('unable to read passphrase');
    if (invocation.stdinPassphrase) return nonEmpty(await reader.fromStdin());
    for (;;) {
      const first = nonEmpty(await reader.fromTerminal(prompt));
      if (!confirm) return first;
      const second = await reader.fromTerminal('Re-type passphrase: ');
      const same = first.length === second.length && first.every((byte, i) => byte === second[i]);
      second.fill(0);
      if (same) return first;
      first.fill(0);
      this.io.stderr('Passphrases did not match, try again\n');
    }
  }

  /** -P (bio_changepass): the old passphrase, the new one (asked twice on a terminal), and -r's rounds. */
  private async changePassphrase(): Promise<void> {
    const invocation = this.invocation;
    if (invocation.passFile !== undefined) throw new FatalFailure('-P reads both passphrases from the terminal, or with -s from standard input: -p does not apply');
    const oldPassphrase = await this.passphrase('Old passphrase: ', false);
    const newPassphrase = await this.passphrase('New passphrase: ', true);
    const body: Extract<RequestBody, { op: 'passphrase' }> = {
      op: 'passphrase', device: invocation.device, oldPassphrase, newPassphrase,
      ...(invocation.kdfRounds === undefined ? {} : { kdfRounds: invocation.kdfRounds }),
    };
    try {
      return await this.simple('bioctl -P', body);
    } finally {
      body.oldPassphrase.fill(0);
      body.newPassphrase.fill(0);
    }
  }
}
