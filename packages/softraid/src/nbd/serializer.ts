// Pure functions from values to bytes, for both directions of the protocol.
// Byte order is explicit (big-endian everywhere). Replies that carry data
// are written as header + payload into one buffer the caller provides (from
// its pool), so the device reads straight into the payload subarray and the
// reply goes out in one write.
import { assert } from '@openbsd38/libutil/assert.js';
import type { ExportInfo } from './messages.js';
import {
  IHAVEOPT_HI, IHAVEOPT_LO, NBD_INFO_BLOCK_SIZE, NBD_INFO_DESCRIPTION, NBD_INFO_EXPORT, NBD_INFO_NAME,
  NBD_MAGIC_HI, NBD_MAGIC_LO, NBD_REP_INFO, NBD_REP_META_CONTEXT, NBD_REP_SERVER, NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS, NBD_REPLY_TYPE_ERROR, NBD_REPLY_TYPE_NONE, NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REQUEST_MAGIC, NBD_SIMPLE_REPLY_MAGIC, NBD_STRUCTURED_REPLY_MAGIC, OPTION_REPLY_MAGIC_HI,
  OPTION_REPLY_MAGIC_LO, OPTION_HEADER_BYTES, OPTION_REPLY_HEADER_BYTES, REQUEST_HEADER_BYTES,
  SIMPLE_REPLY_HEADER_BYTES, STRING_BYTES_MAX, STRUCTURED_REPLY_HEADER_BYTES, EXPORT_NAME_REPLY_BYTES,
  EXPORT_NAME_ZERO_PAD_BYTES,
} from './protocol.js';

const TWO_POW_32 = 4294967296;

export function writeUInt64BE(into: Buffer, value: number, at: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, `writeUInt64BE: ${value}`);
  into.writeUInt32BE(Math.floor(value / TWO_POW_32), at);
  into.writeUInt32BE(value >>> 0, at + 4);
}

export function readUInt64BE(from: Buffer, at: number): number {
  return from.readUInt32BE(at) * TWO_POW_32 + from.readUInt32BE(at + 4);
}

function utf8(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  assert(bytes.length <= STRING_BYTES_MAX, `NBD string longer than ${STRING_BYTES_MAX} bytes`);
  return bytes;
}

// ---- Server to client: handshake ----

export function serverGreeting(handshakeFlags: number): Buffer {
  const out = Buffer.alloc(18);
  out.writeUInt32BE(NBD_MAGIC_HI, 0);
  out.writeUInt32BE(NBD_MAGIC_LO, 4);
  out.writeUInt32BE(IHAVEOPT_HI, 8);
  out.writeUInt32BE(IHAVEOPT_LO, 12);
  out.writeUInt16BE(handshakeFlags, 16);
  return out;
}

export function optionReply(option: number, replyType: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(OPTION_REPLY_HEADER_BYTES + data.length);
  out.writeUInt32BE(OPTION_REPLY_MAGIC_HI, 0);
  out.writeUInt32BE(OPTION_REPLY_MAGIC_LO, 4);
  out.writeUInt32BE(option, 8);
  out.writeUInt32BE(replyType, 12);
  out.writeUInt32BE(data.length, 16);
  data.copy(out, OPTION_REPLY_HEADER_BYTES);
  return out;
}

/** An error reply with a human-readable message, as the spec allows. */
export function optionErrorReply(option: number, errorType: number, message: string): Buffer {
  return optionReply(option, errorType, utf8(message));
}

export function repServer(option: number, name: string, description: string | undefined): Buffer {
  const nameBytes = utf8(name);
  const descriptionBytes = utf8(description ?? '');
  const data = Buffer.alloc(4 + nameBytes.length + descriptionBytes.length);
  data.writeUInt32BE(nameBytes.length, 0);
  nameBytes.copy(data, 4);
  descriptionBytes.copy(data, 4 + nameBytes.length);
  return optionReply(option, NBD_REP_SERVER, data);
}

export function repInfoExport(option: number, info: ExportInfo): Buffer {
  const data = Buffer.alloc(12);
  data.writeUInt16BE(NBD_INFO_EXPORT, 0);
  writeUInt64BE(data, info.sizeBytes, 2);
  data.writeUInt16BE(info.transmissionFlags, 10);
  return optionReply(option, NBD_REP_INFO, data);
}

export function repInfoText(option: number, infoType: typeof NBD_INFO_NAME | typeof NBD_INFO_DESCRIPTION, text: string): Buffer {
  const bytes = utf8(text);
  const data = Buffer.alloc(2 + bytes.length);
  data.writeUInt16BE(infoType, 0);
  bytes.copy(data, 2);
  return optionReply(option, NBD_REP_INFO, data);
}

export function repInfoBlockSize(option: number, info: ExportInfo): Buffer {
  const data = Buffer.alloc(14);
  data.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 0);
  data.writeUInt32BE(info.blockSizeMinBytes, 2);
  data.writeUInt32BE(info.blockSizePreferredBytes, 6);
  data.writeUInt32BE(info.payloadBytesMax, 10);
  return optionReply(option, NBD_REP_INFO, data);
}

export function repMetaContext(option: number, contextId: number, name: string): Buffer {
  const nameBytes = utf8(name);
  const data = Buffer.alloc(4 + nameBytes.length);
  data.writeUInt32BE(contextId, 0);
  nameBytes.copy(data, 4);
  return optionReply(option, NBD_REP_META_CONTEXT, data);
}

/** The reply to NBD_OPT_EXPORT_NAME (no option-reply framing: that option cannot fail). */
export function exportNameReply(info: ExportInfo, noZeroes: boolean): Buffer {
  const out = Buffer.alloc(EXPORT_NAME_REPLY_BYTES + (noZeroes ? 0 : EXPORT_NAME_ZERO_PAD_BYTES));
  writeUInt64BE(out, info.sizeBytes, 0);
  out.writeUInt16BE(info.transmissionFlags, 8);
  return out;
}

// ---- Server to client: transmission ----

export function writeSimpleReplyHeader(into: Buffer, error: number, cookieHi: number, cookieLo: number): void {
  into.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
  into.writeUInt32BE(error, 4);
  into.writeUInt32BE(cookieHi, 8);
  into.writeUInt32BE(cookieLo, 12);
}

export function simpleReply(error: number, cookieHi: number, cookieLo: number): Buffer {
  const out = Buffer.allocUnsafe(SIMPLE_REPLY_HEADER_BYTES);
  writeSimpleReplyHeader(out, error, cookieHi, cookieLo);
  return out;
}

function writeStructuredHeader(into: Buffer, at: number, flags: number, chunkType: number, cookieHi: number, cookieLo: number, lengthBytes: number): void {
  into.writeUInt32BE(NBD_STRUCTURED_REPLY_MAGIC, at);
  into.writeUInt16BE(flags, at + 4);
  into.writeUInt16BE(chunkType, at + 6);
  into.writeUInt32BE(cookieHi, at + 8);
  into.writeUInt32BE(cookieLo, at + 12);
  into.writeUInt32BE(lengthBytes, at + 16);
}

/** Bytes in front of a successful READ reply's data: simple header, or structured header + offset. */
export function readReplyHeaderBytes(structured: boolean): number {
  return structured ? STRUCTURED_REPLY_HEADER_BYTES + 8 : SIMPLE_REPLY_HEADER_BYTES;
}

/**
 * Writes the header of a successful READ reply at the start of `reply`,
 * which has room for the data after it (readReplyHeaderBytes + lengthBytes),
 * so the device reads straight into the reply and it goes out in one write.
 * Simple: header + data. Structured: one OFFSET_DATA chunk flagged DONE (the
 * data is complete before it is sent).
 */
export function writeReadReplyHeader(reply: Buffer, structured: boolean, cookieHi: number, cookieLo: number, offsetBytes: number, lengthBytes: number): void {
  assert(reply.length === readReplyHeaderBytes(structured) + lengthBytes, 'writeReadReplyHeader: reply size');
  if (!structured) {
    writeSimpleReplyHeader(reply, 0, cookieHi, cookieLo);
    return;
  }
  writeStructuredHeader(reply, 0, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, cookieHi, cookieLo, 8 + lengthBytes);
  writeUInt64BE(reply, offsetBytes, STRUCTURED_REPLY_HEADER_BYTES);
}

export function structuredNone(cookieHi: number, cookieLo: number): Buffer {
  const out = Buffer.allocUnsafe(STRUCTURED_REPLY_HEADER_BYTES);
  writeStructuredHeader(out, 0, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, cookieHi, cookieLo, 0);
  return out;
}

export function structuredError(cookieHi: number, cookieLo: number, error: number, message: string): Buffer {
  assert(error !== 0, 'structuredError: error must be nonzero');
  const text = utf8(message);
  const out = Buffer.allocUnsafe(STRUCTURED_REPLY_HEADER_BYTES + 6 + text.length);
  writeStructuredHeader(out, 0, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, cookieHi, cookieLo, 6 + text.length);
  out.writeUInt32BE(error, STRUCTURED_REPLY_HEADER_BYTES);
  out.writeUInt16BE(text.length, STRUCTURED_REPLY_HEADER_BYTES + 4);
  text.copy(out, STRUCTURED_REPLY_HEADER_BYTES + 6);
  return out;
}

export interface Extent {
  lengthBytes: number;
  statusFlags: number;
}

export function blockStatusReply(cookieHi: number, cookieLo: number, contextId: number, extents: Extent[]): Buffer {
  assert(extents.length > 0, 'blockStatusReply: at least one extent');
  const payloadBytes = 4 + 8 * extents.length;
  const out = Buffer.allocUnsafe(STRUCTURED_REPLY_HEADER_BYTES + payloadBytes);
  writeStructuredHeader(out, 0, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, cookieHi, cookieLo, payloadBytes);
  out.writeUInt32BE(contextId, STRUCTURED_REPLY_HEADER_BYTES);
  extents.forEach((extent, index) => {
    assert(extent.lengthBytes > 0 && extent.lengthBytes <= 0xffffffff, 'extent length');
    out.writeUInt32BE(extent.lengthBytes, STRUCTURED_REPLY_HEADER_BYTES + 4 + 8 * index);
    out.writeUInt32BE(extent.statusFlags, STRUCTURED_REPLY_HEADER_BYTES + 8 + 8 * index);
  });
  return out;
}

// ---- Client to server ----

export function clientFlags(flags: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(flags, 0);
  return out;
}

export function option(optionType: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(OPTION_HEADER_BYTES + data.length);
  out.writeUInt32BE(IHAVEOPT_HI, 0);
  out.writeUInt32BE(IHAVEOPT_LO, 4);
  out.writeUInt32BE(optionType, 8);
  out.writeUInt32BE(data.length, 12);
  data.copy(out, OPTION_HEADER_BYTES);
  return out;
}

/** Data of NBD_OPT_INFO / NBD_OPT_GO. */
export function infoRequestData(exportName: string, informationRequests: number[]): Buffer {
  const name = utf8(exportName);
  const out = Buffer.alloc(4 + name.length + 2 + 2 * informationRequests.length);
  out.writeUInt32BE(name.length, 0);
  name.copy(out, 4);
  out.writeUInt16BE(informationRequests.length, 4 + name.length);
  informationRequests.forEach((info, index) => out.writeUInt16BE(info, 6 + name.length + 2 * index));
  return out;
}

/** Data of NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT. */
export function metaContextData(exportName: string, queries: string[]): Buffer {
  const parts = [utf8(exportName), ...queries.map(utf8)];
  const out = Buffer.alloc(8 + parts.reduce((sum, part) => sum + 4 + part.length, 0) - 4);
  let at = 0;
  parts.forEach((part, index) => {
    out.writeUInt32BE(part.length, at);
    part.copy(out, at + 4);
    at += 4 + part.length;
    if (index === 0) {
      out.writeUInt32BE(queries.length, at);
      at += 4;
    }
  });
  assert(at === out.length, 'metaContextData length');
  return out;
}

/** A request header; a WRITE's payload is sent after it (or copied in by the caller). */
export function writeRequestHeader(into: Buffer, at: number, type: number, flags: number, cookieHi: number, cookieLo: number, offsetBytes: number, lengthBytes: number): void {
  into.writeUInt32BE(NBD_REQUEST_MAGIC, at);
  into.writeUInt16BE(flags, at + 4);
  into.writeUInt16BE(type, at + 6);
  into.writeUInt32BE(cookieHi, at + 8);
  into.writeUInt32BE(cookieLo, at + 12);
  writeUInt64BE(into, offsetBytes, at + 16);
  into.writeUInt32BE(lengthBytes, at + 24);
}

export function request(type: number, flags: number, cookieHi: number, cookieLo: number, offsetBytes: number, lengthBytes: number): Buffer {
  const out = Buffer.allocUnsafe(REQUEST_HEADER_BYTES);
  writeRequestHeader(out, 0, type, flags, cookieHi, cookieLo, offsetBytes, lengthBytes);
  return out;
}
