// Constants of the NBD protocol, as doc/proto.md of the NetworkBlockDevice
// project defines them. Every value here is on the wire in network byte order
// (big-endian); the serializer and the parsers write/read them explicitly.

// Handshake magics. 'NBDMAGIC' and 'IHAVEOPT' as 64-bit values, split in
// 32-bit halves so that no BigInt is needed on the hot path.
export const NBD_MAGIC_HI = 0x4e42444d; // 'NBDM'
export const NBD_MAGIC_LO = 0x41474943; // 'AGIC'
export const IHAVEOPT_HI = 0x49484156; // 'IHAV'
export const IHAVEOPT_LO = 0x454f5054; // 'EOPT'
/** Magic of fixed newstyle option replies: 0x0003e889045565a9. */
export const OPTION_REPLY_MAGIC_HI = 0x0003e889;
export const OPTION_REPLY_MAGIC_LO = 0x045565a9;

export const NBD_REQUEST_MAGIC = 0x25609513;
export const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
export const NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;

// Handshake flags (server, 16 bits).
export const NBD_FLAG_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_NO_ZEROES = 1 << 1;

// Client flags (32 bits).
export const NBD_FLAG_C_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_C_NO_ZEROES = 1 << 1;
export const CLIENT_FLAGS_KNOWN = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;

// Transmission flags (16 bits).
export const NBD_FLAG_HAS_FLAGS = 1 << 0;
export const NBD_FLAG_READ_ONLY = 1 << 1;
export const NBD_FLAG_SEND_FLUSH = 1 << 2;
export const NBD_FLAG_SEND_FUA = 1 << 3;
export const NBD_FLAG_ROTATIONAL = 1 << 4;
export const NBD_FLAG_SEND_TRIM = 1 << 5;
export const NBD_FLAG_SEND_WRITE_ZEROES = 1 << 6;
export const NBD_FLAG_SEND_DF = 1 << 7;
export const NBD_FLAG_CAN_MULTI_CONN = 1 << 8;
export const NBD_FLAG_SEND_CACHE = 1 << 10;
export const NBD_FLAG_SEND_FAST_ZERO = 1 << 11;

// Options.
export const NBD_OPT_EXPORT_NAME = 1;
export const NBD_OPT_ABORT = 2;
export const NBD_OPT_LIST = 3;
export const NBD_OPT_STARTTLS = 5;
export const NBD_OPT_INFO = 6;
export const NBD_OPT_GO = 7;
export const NBD_OPT_STRUCTURED_REPLY = 8;
export const NBD_OPT_LIST_META_CONTEXT = 9;
export const NBD_OPT_SET_META_CONTEXT = 10;

// Option reply types.
export const NBD_REP_ACK = 1;
export const NBD_REP_SERVER = 2;
export const NBD_REP_INFO = 3;
export const NBD_REP_META_CONTEXT = 4;
const REP_ERR = 0x80000000;
export const NBD_REP_ERR_UNSUP = REP_ERR + 1;
export const NBD_REP_ERR_POLICY = REP_ERR + 2;
export const NBD_REP_ERR_INVALID = REP_ERR + 3;
export const NBD_REP_ERR_PLATFORM = REP_ERR + 4;
export const NBD_REP_ERR_TLS_REQD = REP_ERR + 5;
export const NBD_REP_ERR_UNKNOWN = REP_ERR + 6;
export const NBD_REP_ERR_SHUTDOWN = REP_ERR + 7;
export const NBD_REP_ERR_BLOCK_SIZE_REQD = REP_ERR + 8;
export const NBD_REP_ERR_TOO_BIG = REP_ERR + 9;

export function isOptionReplyError(replyType: number): boolean {
  return (replyType & REP_ERR) !== 0;
}

// Information types (NBD_REP_INFO).
export const NBD_INFO_EXPORT = 0;
export const NBD_INFO_NAME = 1;
export const NBD_INFO_DESCRIPTION = 2;
export const NBD_INFO_BLOCK_SIZE = 3;

// Commands.
export const NBD_CMD_READ = 0;
export const NBD_CMD_WRITE = 1;
export const NBD_CMD_DISC = 2;
export const NBD_CMD_FLUSH = 3;
export const NBD_CMD_TRIM = 4;
export const NBD_CMD_CACHE = 5;
export const NBD_CMD_WRITE_ZEROES = 6;
export const NBD_CMD_BLOCK_STATUS = 7;

// Command flags.
export const NBD_CMD_FLAG_FUA = 1 << 0;
export const NBD_CMD_FLAG_NO_HOLE = 1 << 1;
export const NBD_CMD_FLAG_DF = 1 << 2;
export const NBD_CMD_FLAG_REQ_ONE = 1 << 3;
export const NBD_CMD_FLAG_FAST_ZERO = 1 << 4;

// Structured replies.
export const NBD_REPLY_FLAG_DONE = 1 << 0;
export const NBD_REPLY_TYPE_NONE = 0;
export const NBD_REPLY_TYPE_OFFSET_DATA = 1;
export const NBD_REPLY_TYPE_OFFSET_HOLE = 2;
export const NBD_REPLY_TYPE_BLOCK_STATUS = 5;
export const NBD_REPLY_TYPE_ERROR = (1 << 15) + 1;
export const NBD_REPLY_TYPE_ERROR_OFFSET = (1 << 15) + 2;

export function isStructuredReplyError(chunkType: number): boolean {
  return (chunkType & (1 << 15)) !== 0;
}

// base:allocation metadata context.
export const NBD_STATE_HOLE = 1 << 0;
export const NBD_STATE_ZERO = 1 << 1;
export const BASE_ALLOCATION = 'base:allocation';

// Error values (the protocol's own set, not the host's errno numbers).
export const NBD_EPERM = 1;
export const NBD_EIO = 5;
export const NBD_ENOMEM = 12;
export const NBD_EINVAL = 22;
export const NBD_ENOSPC = 28;
export const NBD_EOVERFLOW = 75;
export const NBD_ENOTSUP = 95;
export const NBD_ESHUTDOWN = 108;

// Wire sizes.
export const SERVER_GREETING_BYTES = 18; // NBDMAGIC + IHAVEOPT + 16-bit flags
export const CLIENT_FLAGS_BYTES = 4;
export const OPTION_HEADER_BYTES = 16; // IHAVEOPT + option + length
export const OPTION_REPLY_HEADER_BYTES = 20; // magic + option + type + length
export const REQUEST_HEADER_BYTES = 28;
export const SIMPLE_REPLY_HEADER_BYTES = 16;
export const STRUCTURED_REPLY_HEADER_BYTES = 20;
export const EXPORT_NAME_REPLY_BYTES = 10; // size + flags (+124 zero bytes unless NO_ZEROES)
export const EXPORT_NAME_ZERO_PAD_BYTES = 124;

/** Longest string (export name, description, query) the spec allows. */
export const STRING_BYTES_MAX = 4096;
/** Minimum block size may not exceed 64 KiB. */
export const BLOCK_SIZE_MIN_LIMIT_BYTES = 65536;
/** Payload the spec says is never a denial of service. */
export const PAYLOAD_INTEROP_BYTES = 1 << 25;
/** Default IANA TCP port. */
export const NBD_DEFAULT_PORT = 10809;
