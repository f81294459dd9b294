// softraidd's control protocol: constants and limits. Every frame on the
// control socket is a 4-byte big-endian body length followed by that many
// bytes of UTF-8 JSON (docs/control-protocol.md). The length is checked
// against frameBodyBytesMax before a byte of the body is buffered.

/** Bumped on any incompatible change of the messages. */
export const controlProtocolVersion = 2;

/** Frame header: the body length, a big-endian uint32. */
export const frameHeaderBytes = 4;

/** Largest body accepted in either direction (an inquiry of 256 volumes of 256 chunks fits). */
export const frameBodyBytesMax = 4 * 1024 * 1024;

/** Request ids are positive safe integers chosen by the client; replies echo them. */
export const requestIdMax = Number.MAX_SAFE_INTEGER;

/** bio_status: BIO_MSG_COUNT is 5 in bio(4); longer paths than BIO_MSG_LEN (128) are allowed here. */
export const bioMessageCountMax = 16;
export const bioMessageTextBytesMax = 1024;

/** A chunk list as long as bioctl accepts (BIOC_CRMAXLEN / sizeof(dev_t)). */
export const chunkCountMax = 256;

/** A chunk name: a path (PATH_MAX) or an NBD URI. */
export const chunkNameBytesMax = 4096;

/** Volume and controller names (bio(4)'s 16-byte device names). */
export const deviceNameBytesMax = 16;
/** A passphrase's bytes (bioctl reads one line; OpenBSD's readpassphrase buffer is 1024). */
export const passphraseBytesMax = 1024;

/** Default control socket; SOFTRAID_SOCKET overrides it. */
export const defaultControlSocketPath = '/run/softraid/control.sock';

/** Connections one daemon serves at once; more are closed at accept. */
export const connectionsMax = 64;

/**
 * A connection that sends no whole request for this long (after connecting,
 * or after its last reply) is closed: a client that never speaks (an NBD
 * client pointed here waits for a greeting forever) must not hold a slot.
 * SOFTRAID_CONTROL_TIMEOUT (seconds) sets it for softraidd.
 */
export const requestTimeoutMsDefault = 10_000;
