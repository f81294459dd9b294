// Who may read softraidd's HTTP listener (the status page and /metrics).
//
// Loopback by default, and then anyone on the machine may read it, as they
// may read /proc/mdstat. Any other address is refused at start unless
// --http-auth names a credentials file: one `user:password` line, owned by
// the user softraidd runs as and readable by nobody else. Then every request
// needs HTTP basic auth with those credentials, or the password as a bearer
// token (Prometheus' `authorization: credentials_file:`). Only a digest of
// the credentials is kept; requests are compared in constant time.
//
// A loopback listener without credentials checks the Host header: a page on
// another site that resolves its own name to 127.0.0.1 (DNS rebinding)
// must not be able to read the status of this machine's disks.
import { createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

export class HttpAccessError extends Error {
  override name = 'HttpAccessError';
}

export const credentialsFileBytesMax = 4096;

/** The digest of the one accepted `user:password`; the password alone is the bearer token. */
export interface HttpCredentials {
  readonly basicDigest: Buffer;
  readonly bearerDigest: Buffer;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Parses a credentials file's text; the path is only for messages. */
export function parseCredentials(text: string, path: string): HttpCredentials {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, '')).filter((line) => line.trim() !== '' && !line.startsWith('#'));
  if (lines.length !== 1) throw new HttpAccessError(`${path}: expected one user:password line, found ${lines.length}`);
  const line = lines[0]!;
  const colon = line.indexOf(':');
  if (colon <= 0) throw new HttpAccessError(`${path}: expected user:password (the user name before the first colon)`);
  const password = line.slice(colon + 1);
  if (password.length < 8) throw new HttpAccessError(`${path}: the password must be at least 8 characters`);
  return { basicDigest: digest(line), bearerDigest: digest(password) };
}

/** Reads the credentials file: refused unless it is a regular file of this user's that nobody else may read or write. */
export function loadCredentials(path: string, uid: number = process.getuid?.() ?? 0): HttpCredentials {
  let descriptor: number;
  try {
    descriptor = openSync(path, 'r');
  } catch (error) {
    throw new HttpAccessError(`${path}: ${(error as Error).message}`);
  }
  try {
    const stat = fstatSync(descriptor);
    if (!stat.isFile()) throw new HttpAccessError(`${path}: not a regular file`);
    if (stat.uid !== uid) throw new HttpAccessError(`${path}: owned by uid ${stat.uid}, not by softraidd's user (uid ${uid})`);
    if ((stat.mode & 0o077) !== 0) throw new HttpAccessError(`${path}: mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')} lets others read it; chmod 600 it`);
    if (stat.size > credentialsFileBytesMax) throw new HttpAccessError(`${path}: larger than ${credentialsFileBytesMax} bytes`);
    const bytes = Buffer.alloc(stat.size);
    try {
      const read = readSync(descriptor, bytes, 0, bytes.length, 0);
      return parseCredentials(bytes.subarray(0, read).toString('utf8'), path);
    } finally {
      bytes.fill(0);
    }
  } finally {
    closeSync(descriptor);
  }
}

/** A configuration the listener can start with: a non-loopback address needs credentials. */
export function checkListenAccess(host: string, port: number, credentials: HttpCredentials | null): void {
  if (credentials === null && !isLoopbackHost(host)) {
    const shown = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    throw new HttpAccessError(`--http ${shown} is not a loopback address: serving the status page and metrics there needs --http-auth FILE (one user:password line, mode 0600)`);
  }
}

export type AccessDecision = { allowed: true } | { allowed: false; status: 401 | 403; message: string; headers: Record<string, string> };

function sameDigest(expected: Buffer, text: string): boolean {
  return timingSafeEqual(expected, digest(text));
}

/** The host part of a Host header ("127.0.0.1:9797", "[::1]:9797", "localhost"). */
function hostOf(header: string): string {
  const bracketed = /^\[([^\]]+)\](?::[0-9]+)?$/.exec(header);
  if (bracketed) return bracketed[1]!;
  return header.replace(/:[0-9]+$/, '');
}

export function decideAccess(request: Pick<IncomingMessage, 'headers'>, credentials: HttpCredentials | null): AccessDecision {
  if (credentials === null) {
    const host = request.headers.host;
    if (host === undefined || !isLoopbackHost(hostOf(host.toLowerCase()))) {
      return { allowed: false, status: 403, message: `forbidden: this loopback listener answers only to Host 127.0.0.1, localhost or [::1], not ${host ?? '(none)'}\n`, headers: {} };
    }
    return { allowed: true };
  }
  const authorization = request.headers.authorization ?? '';
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (basic && sameDigest(credentials.basicDigest, Buffer.from(basic[1]!, 'base64').toString('utf8'))) return { allowed: true };
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (bearer && sameDigest(credentials.bearerDigest, bearer[1]!)) return { allowed: true };
  return { allowed: false, status: 401, message: 'authentication required\n', headers: { 'www-authenticate': 'Basic realm="softraidd", charset="UTF-8"' } };
}
