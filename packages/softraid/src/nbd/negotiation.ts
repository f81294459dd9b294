// Fixed newstyle option haggling, as a state machine without I/O: each option
// frame goes in, the replies to write and what to do next come out. The
// connection performs the I/O (including the TLS upgrade).
import type { BlockDevice } from '@openbsd38/bio/block-device.js';
import { assert } from '@openbsd38/libutil/assert.js';
import { isPowerOfTwo } from '@openbsd38/libutil/units.js';
import type { ExportRegistry } from './export-registry.js';
import type { ExportInfo, OptionFrame } from './messages.js';
import { decodeInfoRequest, decodeMetaContextRequest } from './option-data.js';
import {
  BASE_ALLOCATION, BLOCK_SIZE_MIN_LIMIT_BYTES, NBD_FLAG_CAN_MULTI_CONN, NBD_FLAG_HAS_FLAGS, NBD_FLAG_READ_ONLY, NBD_FLAG_SEND_DF,
  NBD_FLAG_SEND_FLUSH, NBD_FLAG_SEND_FUA, NBD_FLAG_SEND_TRIM, NBD_FLAG_SEND_WRITE_ZEROES,
  NBD_INFO_DESCRIPTION, NBD_INFO_NAME, NBD_OPT_ABORT, NBD_OPT_EXPORT_NAME, NBD_OPT_GO, NBD_OPT_INFO, NBD_OPT_LIST,
  NBD_OPT_LIST_META_CONTEXT, NBD_OPT_SET_META_CONTEXT, NBD_OPT_STARTTLS, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK,
  NBD_REP_ERR_INVALID, NBD_REP_ERR_SHUTDOWN, NBD_REP_ERR_TLS_REQD, NBD_REP_ERR_TOO_BIG, NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP, STRING_BYTES_MAX,
} from './protocol.js';
import {
  exportNameReply, optionErrorReply, optionReply, repInfoBlockSize, repInfoExport, repInfoText, repMetaContext,
  repServer,
} from './serializer.js';

/** The one metadata context offered: every extent reported allocated with unknown contents. */
export const BASE_ALLOCATION_CONTEXT_ID = 1;
/** Exports listed in one NBD_OPT_LIST reply. */
export const LIST_EXPORTS_MAX = 4096;

export interface Transmission {
  exportName: string;
  device: BlockDevice;
  info: ExportInfo;
  structuredReplies: boolean;
  baseAllocation: boolean;
}

export type NegotiationStep =
  | { next: 'continue' }
  | { next: 'abort' }
  | { next: 'disconnect'; reason: string }
  | { next: 'starttls' }
  | { next: 'transmission'; transmission: Transmission };

export interface NegotiationConfig {
  registry: ExportRegistry;
  tlsAvailable: boolean;
  tlsRequired: boolean;
  /** Upper bound of the advertised maximum payload, whatever the device accepts. */
  payloadBytesMax: number;
  shuttingDown: () => boolean;
}

export function exportInfoOf(device: BlockDevice, structuredReplies: boolean, payloadBytesMax: number): ExportInfo {
  let transmissionFlags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
  if (device.readOnly) transmissionFlags |= NBD_FLAG_READ_ONLY;
  if (device.flushIsGlobal) transmissionFlags |= NBD_FLAG_CAN_MULTI_CONN;
  // Every READ is answered with one content chunk, so "don't fragment" always holds.
  if (structuredReplies) transmissionFlags |= NBD_FLAG_SEND_DF;
  const blockSizeMinBytes = device.blockSizeMinBytes;
  assert(isPowerOfTwo(blockSizeMinBytes) && blockSizeMinBytes <= BLOCK_SIZE_MIN_LIMIT_BYTES, `minimum block size ${blockSizeMinBytes} is not a power of two up to 64 KiB`);
  // The spec wants a power of two: a RAID 5 full stripe of 3 x 64 KiB is
  // advertised as its largest power-of-two divisor (the strip), so aligned
  // requests stay aligned to strips.
  const preferred = device.blockSizePreferredBytes;
  const blockSizePreferredBytes = Math.max(preferred & -preferred, blockSizeMinBytes, 512);
  const maxBytes = Math.min(device.requestBytesMax, payloadBytesMax);
  return {
    sizeBytes: device.sizeBytes,
    transmissionFlags,
    blockSizeMinBytes,
    blockSizePreferredBytes,
    payloadBytesMax: Math.max(maxBytes - (maxBytes % blockSizeMinBytes), blockSizePreferredBytes),
  };
}

export class Negotiation {
  tlsActive = false;
  private structuredReplies = false;
  /** Export name for which base:allocation was selected, if any. */
  private metaContextExport: string | undefined;

  constructor(private readonly config: NegotiationConfig) {}

  handle(frame: OptionFrame, write: (reply: Buffer) => void): NegotiationStep {
    const { option } = frame;
    const error = (type: number, message: string): NegotiationStep => {
      write(optionErrorReply(option, type, message));
      return { next: 'continue' };
    };
    if (option === NBD_OPT_ABORT) {
      write(optionReply(option, NBD_REP_ACK));
      return { next: 'abort' };
    }
    if (option === NBD_OPT_EXPORT_NAME) return this.exportName(frame, write);
    if (this.config.tlsRequired && !this.tlsActive && option !== NBD_OPT_STARTTLS) {
      return error(NBD_REP_ERR_TLS_REQD, 'TLS is required: use NBD_OPT_STARTTLS first');
    }
    if (frame.oversized) return error(NBD_REP_ERR_TOO_BIG, `option data of ${frame.lengthBytes} bytes is too long`);
    if (this.config.shuttingDown()) return error(NBD_REP_ERR_SHUTDOWN, 'server is shutting down');
    switch (option) {
      case NBD_OPT_LIST: {
        if (frame.data.length !== 0) return error(NBD_REP_ERR_INVALID, 'NBD_OPT_LIST takes no data');
        for (const entry of this.config.registry.list().slice(0, LIST_EXPORTS_MAX)) write(repServer(option, entry.name, entry.description));
        write(optionReply(option, NBD_REP_ACK));
        return { next: 'continue' };
      }
      case NBD_OPT_STARTTLS: {
        if (!this.config.tlsAvailable) return error(NBD_REP_ERR_UNSUP, 'TLS is not configured on this server');
        if (this.tlsActive) return error(NBD_REP_ERR_INVALID, 'TLS is already active');
        if (frame.data.length !== 0) return error(NBD_REP_ERR_INVALID, 'NBD_OPT_STARTTLS takes no data');
        write(optionReply(option, NBD_REP_ACK));
        // No negotiation state survives the upgrade.
        this.structuredReplies = false;
        this.metaContextExport = undefined;
        return { next: 'starttls' };
      }
      case NBD_OPT_STRUCTURED_REPLY: {
        if (frame.data.length !== 0) return error(NBD_REP_ERR_INVALID, 'NBD_OPT_STRUCTURED_REPLY takes no data');
        if (this.structuredReplies) return error(NBD_REP_ERR_INVALID, 'structured replies already negotiated');
        this.structuredReplies = true;
        write(optionReply(option, NBD_REP_ACK));
        return { next: 'continue' };
      }
      case NBD_OPT_INFO:
      case NBD_OPT_GO:
        return this.infoOrGo(frame, write, error);
      case NBD_OPT_LIST_META_CONTEXT:
      case NBD_OPT_SET_META_CONTEXT:
        return this.metaContext(frame, write, error);
      default:
        return error(NBD_REP_ERR_UNSUP, `option ${option} is not supported`);
    }
  }

  private exportName(frame: OptionFrame, write: (reply: Buffer) => void): NegotiationStep {
    // This option cannot fail with a reply: every refusal is a disconnect.
    if (this.config.tlsRequired && !this.tlsActive) return { next: 'disconnect', reason: 'NBD_OPT_EXPORT_NAME before TLS' };
    if (frame.oversized || frame.data.length > STRING_BYTES_MAX) return { next: 'disconnect', reason: 'export name too long' };
    const exportName = frame.data.toString('utf8');
    const device = this.config.registry.get(exportName);
    if (device === undefined || this.config.shuttingDown()) return { next: 'disconnect', reason: `no export ${JSON.stringify(exportName)}` };
    const info = exportInfoOf(device, this.structuredReplies, this.config.payloadBytesMax);
    write(exportNameReply(info, this.noZeroes));
    return { next: 'transmission', transmission: this.transmission(exportName, device, info) };
  }

  /** Set by the connection from the client flags. */
  noZeroes = false;

  private infoOrGo(frame: OptionFrame, write: (reply: Buffer) => void, error: (type: number, message: string) => NegotiationStep): NegotiationStep {
    const option = frame.option;
    const request = decodeInfoRequest(frame.data);
    if (request === undefined) return error(NBD_REP_ERR_INVALID, 'malformed NBD_OPT_INFO/NBD_OPT_GO data');
    const device = this.config.registry.get(request.exportName);
    if (device === undefined) return error(NBD_REP_ERR_UNKNOWN, `no export named ${JSON.stringify(request.exportName)}`);
    const info = exportInfoOf(device, this.structuredReplies, this.config.payloadBytesMax);
    write(repInfoExport(option, info));
    // Block size constraints are always sent: they are never the defaults.
    write(repInfoBlockSize(option, info));
    if (request.informationRequests.includes(NBD_INFO_NAME)) write(repInfoText(option, NBD_INFO_NAME, request.exportName));
    if (request.informationRequests.includes(NBD_INFO_DESCRIPTION)) {
      const description = this.config.registry.list().find((entry) => entry.name === request.exportName)?.description;
      if (description !== undefined) write(repInfoText(option, NBD_INFO_DESCRIPTION, description));
    }
    write(optionReply(option, NBD_REP_ACK));
    if (option === NBD_OPT_INFO) return { next: 'continue' };
    return { next: 'transmission', transmission: this.transmission(request.exportName, device, info) };
  }

  private metaContext(frame: OptionFrame, write: (reply: Buffer) => void, error: (type: number, message: string) => NegotiationStep): NegotiationStep {
    const option = frame.option;
    const setting = option === NBD_OPT_SET_META_CONTEXT;
    if (setting) this.metaContextExport = undefined;
    if (!this.structuredReplies) return error(NBD_REP_ERR_INVALID, 'negotiate structured replies first');
    const request = decodeMetaContextRequest(frame.data);
    if (request === 'too-big') return error(NBD_REP_ERR_TOO_BIG, 'too many metadata context queries');
    if (request === undefined) return error(NBD_REP_ERR_INVALID, 'malformed metadata context request');
    if (this.config.registry.get(request.exportName) === undefined) {
      return error(NBD_REP_ERR_UNKNOWN, `no export named ${JSON.stringify(request.exportName)}`);
    }
    const matches = setting
      ? request.queries.some((query) => query === BASE_ALLOCATION)
      : request.queries.length === 0 || request.queries.some((query) => query === 'base:' || query === BASE_ALLOCATION);
    if (matches) write(repMetaContext(option, setting ? BASE_ALLOCATION_CONTEXT_ID : 0, BASE_ALLOCATION));
    if (setting && matches) this.metaContextExport = request.exportName;
    write(optionReply(option, NBD_REP_ACK));
    return { next: 'continue' };
  }

  private transmission(exportName: string, device: BlockDevice, info: ExportInfo): Transmission {
    return {
      exportName,
      device,
      info,
      structuredReplies: this.structuredReplies,
      baseAllocation: this.structuredReplies && this.metaContextExport === exportName,
    };
  }
}
