// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven: the
// checksum of every metadata copy. Chosen over MD5 (softraid) because it is
// what md's v1 superblock-adjacent formats, SPDK's raid superblock and iSCSI
// use, and it detects every burst error up to 32 bits.

const polynomialReflected = 0x82f63b78;

const table: Uint32Array = (() => {
  const built = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ polynomialReflected : crc >>> 1;
    built[byte] = crc >>> 0;
  }
  return built;
})();

/** CRC32C of `bytes`, as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc = (table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)) >>> 0;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
