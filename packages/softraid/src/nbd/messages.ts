// What travels on an NBD connection, as typed values. The parsers produce
// these from bytes; the serializer turns replies into bytes.

/** The client's 32-bit flags after the server greeting. */
export interface ClientFlagsFrame {
  kind: 'clientFlags';
  flags: number;
}

/** One option during fixed newstyle haggling. */
export interface OptionFrame {
  kind: 'option';
  option: number;
  /** The option data; empty when `oversized` (the bytes were skipped, never stored). */
  data: Buffer;
  lengthBytes: number;
  oversized: boolean;
}

/** One transmission-phase request. */
export interface RequestFrame {
  kind: 'request';
  flags: number;
  type: number;
  /** The 64-bit cookie, kept as two opaque halves (no BigInt on the hot path). */
  cookieHi: number;
  cookieLo: number;
  /** Exact below 2^53; anything larger is still larger than any export. */
  offsetBytes: number;
  lengthBytes: number;
  /** WRITE data, when it was within the payload limit. */
  payload: Buffer | undefined;
  /** WRITE data over the payload limit: skipped without being stored. */
  payloadDiscarded: boolean;
}

export type ClientFrame = ClientFlagsFrame | OptionFrame | RequestFrame;

/** What the parser should expect next: the connection's phase decides. */
export type ParserPhase = 'clientFlags' | 'option' | 'request';

/** Data of NBD_OPT_INFO / NBD_OPT_GO. */
export interface InfoRequest {
  exportName: string;
  informationRequests: number[];
}

/** Data of NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT. */
export interface MetaContextRequest {
  exportName: string;
  queries: string[];
}

/** One export as NBD_INFO_EXPORT / NBD_INFO_BLOCK_SIZE describe it. */
export interface ExportInfo {
  sizeBytes: number;
  transmissionFlags: number;
  blockSizeMinBytes: number;
  blockSizePreferredBytes: number;
  payloadBytesMax: number;
}
