// Control protocol messages: requests bioctl sends, replies softraidd sends,
// and their validation from untrusted JSON. A reply always carries
// bio_status (bio(4)'s envelope: controller, status, typed messages) and,
// on success, the result of the request.
import { ControlProtocolError } from './errors.js';
import { SecretClaims, splitSecretSection } from './secret-section.js';
import {
  bioMessageCountMax, bioMessageTextBytesMax, chunkCountMax, chunkNameBytesMax, controlProtocolVersion,
  deviceNameBytesMax, requestIdMax,
} from './protocol.js';
import { raidLevels, raid5Layouts, viewLevels, type RaidLevel, type Raid5Layout } from '../levels.js';
import type { BioMessage, BioMessageType, InquiryView, KdfHintView } from '../controller.js';

export type BioStatusCode = 'unknown' | 'success' | 'error';
export const bioStatusCodes: readonly BioStatusCode[] = ['unknown', 'success', 'error'];
export const bioMessageTypes: readonly BioMessageType[] = ['info', 'warning', 'error'];

export interface BioStatus {
  controller: string;
  status: BioStatusCode;
  messages: BioMessage[];
}

/** bioctl -c: create or assemble (BIOCCREATERAID). */
export interface CreateParams {
  level: RaidLevel;
  chunks: string[];
  force: boolean;
  noAutoAssemble: boolean;
  stripSizeBytes?: number;
  layout?: Raid5Layout;
  /** CRYPTO and RAID 1C (bioctl -p/-s, -k, -r): the passphrase travels in the frame's secret section (secret-section.ts), so the daemon can zero it. */
  crypto?: CryptoParams;
}

export interface CryptoParams {
  passphrase?: Uint8Array;
  keyDisk?: string;
  kdfRounds?: number;
}

/** bioctl -P. */
export interface PassphraseParams {
  device: string;
  oldPassphrase: Uint8Array;
  newPassphrase: Uint8Array;
  kdfRounds?: number;
}

/** BIOCSETSTATE opcodes as bioctl sends them. */
export const setStateOperations = ['hotspare', 'offline', 'rebuild'] as const;
export type SetStateOperation = (typeof setStateOperations)[number];

/** channel:target[.lun], bioctl's locator. */
export interface Locator {
  channel: number;
  target: number;
  lun: number;
}

/** A chunk named by path (stat() found it) or by locator (softraid refuses those). */
export type ChunkReference = { kind: 'name'; name: string } | ({ kind: 'locator' } & Locator);

export const alarmFunctions = ['silence', 'enable', 'disable', 'test', 'get'] as const;
export type AlarmFunction = (typeof alarmFunctions)[number];

export const blinkFunctions = ['blink', 'unblink'] as const;
export type BlinkFunction = (typeof blinkFunctions)[number];

/** BIOCPATROL's opcodes, plus `repair`: this port's addition (a scrub that rewrites what disagrees). */
export const patrolFunctions = ['auto', 'manual', 'disable', 'get', 'start', 'stop', 'repair'] as const;
export type PatrolFunction = (typeof patrolFunctions)[number];

export type RequestBody =
  | { op: 'ping' }
  | { op: 'locate'; name: string }
  | { op: 'inquire' }
  | ({ op: 'create' } & CreateParams)
  /** bioctl -c C/1C's first step: do these chunks hold an encrypted volume (KdfHintView)? */
  | { op: 'kdfhint'; chunks: string[] }
  | ({ op: 'passphrase' } & PassphraseParams)
  /** force: detach even with NBD clients connected (bioctl -C force -d). */
  | { op: 'delete'; device: string; force?: boolean }
  /** force: take offline even the last chunk a volume can serve from (bioctl -C force -O). */
  | { op: 'setstate'; operation: SetStateOperation; device: string | null; chunk: ChunkReference; force?: boolean }
  | { op: 'alarm'; function: AlarmFunction }
  | ({ op: 'blink'; function: BlinkFunction } & Locator)
  | {
    op: 'patrol'; function: PatrolFunction;
    /** The device bioctl located: a volume, or the controller (every volume; the schedule is controller-wide). */
    device?: string;
    /** auto: seconds between scrubs; absent = keep the current interval. */
    intervalSeconds?: number;
    /** auto: seconds until the first scrub; absent = one interval. */
    startSeconds?: number;
  };

export type Operation = RequestBody['op'];
export const operations: readonly Operation[] = [
  'ping', 'locate', 'inquire', 'create', 'kdfhint', 'passphrase', 'delete', 'setstate', 'alarm', 'blink', 'patrol',
];

export type Request = RequestBody & { version: number; id: number };

export interface Response {
  version: number;
  id: number;
  bio_status: BioStatus;
  /** Present on success for ping, locate, inquire, create, alarm. */
  result?: unknown;
}

/** locate's result: what a device name designates. */
export interface LocateResult {
  kind: 'controller' | 'volume';
}

/** patrol get's result (PatrolView): bioctl prints OpenBSD's two lines from it. */
export interface PatrolResult {
  mode: 'auto' | 'manual' | 'disabled';
  intervalSeconds: number;
  nextSeconds: number;
  status: 'stopped' | 'ready' | 'active' | 'aborted';
}

export function decodePatrolResult(value: unknown): PatrolResult {
  const json = object(value, 'result');
  return {
    mode: oneOf(json.mode, 'result.mode', ['auto', 'manual', 'disabled'] as const),
    intervalSeconds: integer(json.intervalSeconds, 'result.intervalSeconds', 0, 2 ** 31 - 1),
    nextSeconds: integer(json.nextSeconds, 'result.nextSeconds', 0, 2 ** 31 - 1),
    status: oneOf(json.status, 'result.status', ['stopped', 'ready', 'active', 'aborted'] as const),
  };
}

/** kdfhint's result (KdfHintView). */
export function decodeKdfHintResult(value: unknown): KdfHintView {
  const json = object(value, 'result');
  const existing = boolean(json.existing, 'result.existing');
  const unlock = json.unlock === null ? null : oneOf(json.unlock, 'result.unlock', ['passphrase', 'keydisk'] as const);
  const kdfRounds = json.kdfRounds === null ? null : integer(json.kdfRounds, 'result.kdfRounds', 1, 2 ** 31 - 1);
  return { existing, unlock, kdfRounds };
}

export interface AlarmResult {
  enabled: boolean;
}

export interface PingResult {
  daemon: string;
  pid: number;
}

// ---- validation of untrusted JSON ----

type Json = Record<string, unknown>;

function fail(message: string): never {
  throw new ControlProtocolError(message);
}

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} must be an object`);
  return value as Json;
}

function string(value: unknown, what: string, bytesMax: number): string {
  if (typeof value !== 'string') fail(`${what} must be a string`);
  if (Buffer.byteLength(value, 'utf8') > bytesMax) fail(`${what} is longer than ${bytesMax} bytes`);
  return value;
}

function nonEmptyString(value: unknown, what: string, bytesMax: number): string {
  const text = string(value, what, bytesMax);
  if (text.length === 0 || text.includes('\0')) fail(`${what} must be a non-empty string without NUL`);
  return text;
}

function boolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') fail(`${what} must be a boolean`);
  return value;
}

function integer(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(`${what} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, what: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) fail(`${what} must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** Requests carry ids from 1; a reply to a request whose id could not be read carries 0. */
function header(json: Json, idMin: 0 | 1): { version: number; id: number } {
  const version = integer(json.version, 'version', 0, 0xffff);
  if (version !== controlProtocolVersion) fail(`unsupported protocol version ${version}, this side speaks ${controlProtocolVersion}`);
  return { version, id: integer(json.id, 'id', idMin, requestIdMax) };
}

function parseJson(body: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    fail('frame body is not UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch {
    fail('frame body is not JSON');
  }
}

/** The request id, if a malformed request still has one (so the error reply can echo it). */
export function peekRequestId(body: Uint8Array): number | undefined {
  try {
    const end = body.indexOf(0);
    const json = parseJson(end < 0 ? body : body.subarray(0, end));
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) {
      const id = (json as Json).id;
      if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 1) return id;
    }
  } catch (error) {
    if (!(error instanceof ControlProtocolError)) throw error;
  }
  return undefined;
}

function locator(json: Json, what: string): Locator {
  return {
    channel: integer(json.channel, `${what}.channel`, 0, 256),
    target: integer(json.target, `${what}.target`, 0, 256),
    lun: integer(json.lun, `${what}.lun`, 0, 256),
  };
}

function chunkReference(value: unknown): ChunkReference {
  const json = object(value, 'chunk');
  const kind = oneOf(json.kind, 'chunk.kind', ['name', 'locator'] as const);
  if (kind === 'name') return { kind, name: nonEmptyString(json.name, 'chunk.name', chunkNameBytesMax) };
  return { kind, ...locator(json, 'chunk') };
}

function createParams(json: Json, secrets: SecretClaims): CreateParams {
  const params: CreateParams = {
    level: oneOf(json.level, 'level', raidLevels),
    chunks: chunkNames(json.chunks),
    force: boolean(json.force, 'force'),
    noAutoAssemble: boolean(json.noAutoAssemble, 'noAutoAssemble'),
  };
  if (json.stripSizeBytes !== undefined) params.stripSizeBytes = integer(json.stripSizeBytes, 'stripSizeBytes', 1, 2 ** 30);
  if (json.layout !== undefined) params.layout = oneOf(json.layout, 'layout', raid5Layouts);
  if (json.crypto !== undefined) {
    const crypto = object(json.crypto, 'crypto');
    params.crypto = {};
    if (crypto.passphrase !== undefined) params.crypto.passphrase = secrets.claim(crypto.passphrase, 'crypto.passphrase');
    if (crypto.keyDisk !== undefined) params.crypto.keyDisk = nonEmptyString(crypto.keyDisk, 'crypto.keyDisk', chunkNameBytesMax);
    if (crypto.kdfRounds !== undefined) params.crypto.kdfRounds = integer(crypto.kdfRounds, 'crypto.kdfRounds', 1, 2 ** 31 - 1);
  }
  return params;
}

function chunkNames(value: unknown): string[] {
  if (!Array.isArray(value)) fail('chunks must be an array');
  if (value.length > chunkCountMax) fail(`more than ${chunkCountMax} chunks`);
  return value.map((chunk, index) => nonEmptyString(chunk, `chunks[${index}]`, chunkNameBytesMax));
}

/**
 * Validate a request body received by the daemon. Throws ControlProtocolError.
 * Its secrets (passphrases) come out as copies outside the JavaScript heap,
 * zeroed here if the request is refused; the caller zeroes `body`.
 */
export function decodeRequest(body: Uint8Array): Request {
  const { json: text, secrets } = splitSecretSection(body);
  const claims = new SecretClaims(secrets);
  try {
    const request = decodeRequestJson(object(parseJson(text), 'request'), claims);
    claims.assertAllClaimed();
    return request;
  } catch (error) {
    claims.wipe();
    throw error;
  }
}

function decodeRequestJson(json: Json, secrets: SecretClaims): Request {
  const head = header(json, 1);
  const op = oneOf(json.op, 'op', operations);
  switch (op) {
    case 'ping': return { ...head, op };
    case 'inquire': return { ...head, op };
    case 'locate': return { ...head, op, name: nonEmptyString(json.name, 'name', deviceNameBytesMax) };
    case 'create': return { ...head, op, ...createParams(json, secrets) };
    case 'kdfhint': return { ...head, op, chunks: chunkNames(json.chunks) };
    case 'passphrase': {
      const request: Request = {
        ...head, op, device: nonEmptyString(json.device, 'device', deviceNameBytesMax),
        oldPassphrase: secrets.claim(json.oldPassphrase, 'oldPassphrase'), newPassphrase: secrets.claim(json.newPassphrase, 'newPassphrase'),
      };
      if (json.kdfRounds !== undefined) request.kdfRounds = integer(json.kdfRounds, 'kdfRounds', 1, 2 ** 31 - 1);
      return request;
    }
    case 'delete': {
      // A volume's device name, or the path of a hot spare to take out of the pool.
      const request: Request = { ...head, op, device: nonEmptyString(json.device, 'device', chunkNameBytesMax) };
      if (json.force !== undefined) request.force = boolean(json.force, 'force');
      return request;
    }
    case 'setstate': {
      const request: Request = {
        ...head, op,
        operation: oneOf(json.operation, 'operation', setStateOperations),
        device: json.device === null ? null : nonEmptyString(json.device, 'device', deviceNameBytesMax),
        chunk: chunkReference(json.chunk),
      };
      if (json.force !== undefined) request.force = boolean(json.force, 'force');
      return request;
    }
    case 'alarm': return { ...head, op, function: oneOf(json.function, 'function', alarmFunctions) };
    case 'blink': return { ...head, op, function: oneOf(json.function, 'function', blinkFunctions), ...locator(json, 'blink') };
    case 'patrol': {
      const request: Request = { ...head, op, function: oneOf(json.function, 'function', patrolFunctions) };
      if (json.device !== undefined) request.device = nonEmptyString(json.device, 'device', deviceNameBytesMax);
      if (json.intervalSeconds !== undefined) request.intervalSeconds = integer(json.intervalSeconds, 'intervalSeconds', -1, 2 ** 31 - 1);
      if (json.startSeconds !== undefined) request.startSeconds = integer(json.startSeconds, 'startSeconds', 0, 2 ** 31 - 1);
      return request;
    }
  }
}

function bioStatus(value: unknown): BioStatus {
  const json = object(value, 'bio_status');
  if (!Array.isArray(json.messages)) fail('bio_status.messages must be an array');
  if (json.messages.length > bioMessageCountMax) fail(`more than ${bioMessageCountMax} messages`);
  return {
    controller: string(json.controller, 'bio_status.controller', deviceNameBytesMax),
    status: oneOf(json.status, 'bio_status.status', bioStatusCodes),
    messages: json.messages.map((message, index) => {
      const entry = object(message, `messages[${index}]`);
      return {
        type: oneOf(entry.type, `messages[${index}].type`, bioMessageTypes),
        text: string(entry.text, `messages[${index}].text`, bioMessageTextBytesMax),
      };
    }),
  };
}

/** Validate a reply received by bioctl. Throws ControlProtocolError. */
export function decodeResponse(body: Uint8Array): Response {
  const json = object(parseJson(body), 'response');
  const response: Response = { ...header(json, 0), bio_status: bioStatus(json.bio_status) };
  if (json.result !== undefined) response.result = json.result;
  return response;
}

export function decodeLocateResult(value: unknown): LocateResult {
  const json = object(value, 'result');
  return { kind: oneOf(json.kind, 'result.kind', ['controller', 'volume'] as const) };
}

export function decodeAlarmResult(value: unknown): AlarmResult {
  return { enabled: boolean(object(value, 'result').enabled, 'result.enabled') };
}

/**
 * Structural check of an inquiry: the fields bioctl prints must have the
 * right types. (The daemon builds it from the engine's InquiryView.)
 */
export function decodeInquiryView(value: unknown): InquiryView {
  const json = object(value, 'inquiry');
  string(json.controllerName, 'controllerName', deviceNameBytesMax);
  if (!Array.isArray(json.volumes) || !Array.isArray(json.hotSpares)) fail('inquiry needs volumes and hotSpares arrays');
  for (const [index, volumeValue] of json.volumes.entries()) {
    const volume = object(volumeValue, `volumes[${index}]`);
    integer(volume.volumeIndex, 'volumeIndex', 0, 0xffff);
    string(volume.deviceName, 'deviceName', deviceNameBytesMax);
    oneOf(volume.level, 'level', viewLevels);
    string(volume.state, 'state', 64);
    integer(volume.sizeBytes, 'sizeBytes', 0, Number.MAX_SAFE_INTEGER);
    if (!Array.isArray(volume.chunks)) fail('chunks must be an array');
    for (const chunkValue of volume.chunks) {
      const chunk = object(chunkValue, 'chunk');
      integer(chunk.chunkIndex, 'chunkIndex', 0, 0xffff);
      string(chunk.name, 'chunk name', chunkNameBytesMax);
      string(chunk.state, 'chunk state', 64);
      integer(chunk.sizeBytes, 'chunk sizeBytes', 0, Number.MAX_SAFE_INTEGER);
    }
    if (volume.progress !== null && volume.progress !== undefined) {
      const progress = object(volume.progress, 'progress');
      integer(progress.percent, 'percent', 0, 100);
    }
  }
  for (const [index, spareValue] of json.hotSpares.entries()) {
    const spare = object(spareValue, `hotSpares[${index}]`);
    integer(spare.volumeIndex, 'volumeIndex', 0, 0xffff);
    string(spare.name, 'name', chunkNameBytesMax);
    integer(spare.sizeBytes, 'sizeBytes', 0, Number.MAX_SAFE_INTEGER);
  }
  return json as unknown as InquiryView;
}
