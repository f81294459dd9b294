// Decoding of option data the server receives. Returns undefined for
// syntactically invalid data (the caller replies NBD_REP_ERR_INVALID).
import type { InfoRequest, MetaContextRequest } from './messages.js';
import { STRING_BYTES_MAX } from './protocol.js';

/** Queries kept from one meta-context option (more get NBD_REP_ERR_TOO_BIG). */
export const META_QUERIES_MAX = 64;

function text(bytes: Buffer): string | undefined {
  if (bytes.length > STRING_BYTES_MAX || bytes.includes(0)) return undefined;
  const decoded = bytes.toString('utf8');
  return Buffer.byteLength(decoded, 'utf8') === bytes.length ? decoded : undefined;
}

export function decodeInfoRequest(data: Buffer): InfoRequest | undefined {
  if (data.length < 6) return undefined;
  const nameBytes = data.readUInt32BE(0);
  if (nameBytes > data.length - 6) return undefined;
  const exportName = text(data.subarray(4, 4 + nameBytes));
  if (exportName === undefined) return undefined;
  const count = data.readUInt16BE(4 + nameBytes);
  if (data.length !== 6 + nameBytes + 2 * count) return undefined;
  const informationRequests: number[] = [];
  for (let index = 0; index < count; index++) informationRequests.push(data.readUInt16BE(6 + nameBytes + 2 * index));
  return { exportName, informationRequests };
}

export function decodeMetaContextRequest(data: Buffer): MetaContextRequest | 'too-big' | undefined {
  if (data.length < 8) return undefined;
  const nameBytes = data.readUInt32BE(0);
  if (nameBytes > data.length - 8) return undefined;
  const exportName = text(data.subarray(4, 4 + nameBytes));
  if (exportName === undefined) return undefined;
  const count = data.readUInt32BE(4 + nameBytes);
  if (count > META_QUERIES_MAX) return 'too-big';
  let at = 8 + nameBytes;
  const queries: string[] = [];
  for (let index = 0; index < count; index++) {
    if (at + 4 > data.length) return undefined;
    const queryBytes = data.readUInt32BE(at);
    if (queryBytes > data.length - at - 4) return undefined;
    const query = text(data.subarray(at + 4, at + 4 + queryBytes));
    if (query === undefined) return undefined;
    queries.push(query);
    at += 4 + queryBytes;
  }
  return at === data.length ? { exportName, queries } : undefined;
}
