// A chunk on a regular file or a block device (a disk, a partition, a loop
// device): positional I/O through libuv's thread pool, durable flush with
// fdatasync. Block devices are opened O_EXCL, so Linux refuses a device
// that is mounted or claimed by md, LVM or another softraidd.
//
// I/O goes through fs.read/fs.write with callbacks on the raw descriptor:
// measured here, FileHandle's promise API peaks near 30,000 4 KiB reads/s,
// the callback API near 75,000 (docs/PERFORMANCE.md). readv/writev take
// several buffers that are adjacent on the chunk in one preadv/pwritev: a
// RAID 0 request over 16 strips of 4 members is 4 calls, not 16.
//
// A member on tmpfs or ramfs is memory: pread there is a copy that never
// waits for a device, and the thread-pool round trip (submit, wake a
// thread, wake the loop: ~2 futex calls per I/O) costs more than the copy.
// Up to syncIoBytesMax per call such a member does its I/O synchronously on
// the loop (measured: 4 KiB random reads through a RAID 0 over NBD, 27–35k
// IOPS through the pool, 50–53k synchronous; docs/PERFORMANCE.md). Larger
// I/O still goes to the pool, so a 1 MiB copy never holds the loop and two
// cores copy in parallel. The one way such a read can wait is a tmpfs page
// swapped out: then the loop waits for one swap-in of at most
// syncIoBytesMax. Members on anything else (disks, NBD, network file
// systems) never do synchronous I/O.
//
// On such a member an encrypted volume's large reads are decrypted by the
// copy thread that reads them (readDecrypted), and its large writes
// encrypted by the one that writes them (writeEncrypted): one hand-off
// instead of two.
import { stat, statfs, readFile } from 'node:fs/promises';
import {
  constants, open as openCallback, read as readCallback, write as writeCallback, readv as readvCallback, writev as writevCallback,
  readSync, writeSync, readvSync, writevSync, fdatasync, close as closeCallback,
} from 'node:fs';
import { errnoFromCode } from '@openbsd38/libutil/errors.js';
import { ChunkIoError, SoftraidError } from '../engine/errors.js';
import { assert } from '@openbsd38/libutil/assert.js';
import { KiB } from '@openbsd38/libutil/units.js';
import { chunkIoVectorsMax, type ChunkBackend } from '../engine/chunk.js';
import { sharedCopyThreads, type CopyThreads } from './copy-threads.js';
import { vectorsAfter } from './vectors.js';
import { claimMemberFile } from './file-lock.js';

export { vectorsAfter };

/** statfs f_type of the file systems whose files are memory (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
/** Synchronous I/O size limit for members in memory (see the header). */
export const memorySyncIoBytesMax = 64 * KiB;

/** A volume's data keys as copy threads hold them (CopyThreads.registerKeys). */
export interface CopyThreadKeys {
  threads: CopyThreads;
  id: number;
}

export interface FileChunkOptions {
  /**
   * Reads and writes up to this many bytes run synchronously on the event
   * loop. Default: memorySyncIoBytesMax for a regular file on tmpfs or
   * ramfs, 0 (never) for anything else.
   */
  syncIoBytesMax?: number;
  /**
   * Larger I/O on buffers in shared memory runs on these threads instead of
   * libuv's pool (copy-threads.ts). Default: the process's copy threads for
   * a regular file on tmpfs or ramfs, none for anything else; null: none.
   */
  copyThreads?: CopyThreads | null;
}

/** Linux's encoding of dev_t (glibc gnu_dev_major/minor). */
function deviceNumbers(rdev: number): { major: number; minor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev >>> 0;
  return {
    major: ((low >>> 8) & 0xfff) | ((high & 0xfffff000) >>> 0),
    minor: (low & 0xff) | ((low >>> 12) & 0xfff00),
  };
}

async function readSysNumber(path: string): Promise<number | undefined> {
  try {
    const value = Number((await readFile(path, 'utf8')).trim());
    return Number.isSafeInteger(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

async function blockDeviceGeometry(rdev: number): Promise<{ sizeBytes: number; sectorSizeBytes: number }> {
  const { major, minor } = deviceNumbers(rdev);
  const sysDir = `/sys/dev/block/${major}:${minor}`;
  // /sys reports size in 512-byte units whatever the logical sector size.
  const sectors512 = await readSysNumber(`${sysDir}/size`);
  if (sectors512 === undefined) throw new SoftraidError(`cannot read the size of block device ${major}:${minor} from ${sysDir}/size`);
  const sectorSizeBytes = (await readSysNumber(`${sysDir}/queue/logical_block_size`))
    ?? (await readSysNumber(`${sysDir}/../queue/logical_block_size`)) ?? 512;
  return { sizeBytes: sectors512 * 512, sectorSizeBytes };
}

export class FileChunk implements ChunkBackend {
  private closed = false;

  private constructor(
    readonly name: string,
    readonly identity: string,
    readonly sizeBytes: number,
    readonly sectorSizeBytes: number,
    readonly isBlockDevice: boolean,
    private readonly fd: number,
    /** I/O of at most this many bytes is synchronous (0: none); see the header. */
    readonly syncIoBytesMax: number,
    private readonly copyThreads: CopyThreads | undefined,
    /** Gives up the claim on a member file (file-lock.ts); nothing for a block device. */
    private readonly releaseClaim: () => void = () => undefined,
  ) {}

  /** Opens a member read-write. Refuses anything but a regular file or a block device. */
  static async open(path: string, options: FileChunkOptions = {}): Promise<FileChunk> {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new SoftraidError(`chunk ${path}: ${describe(error)}`);
    }
    if (!info.isFile() && !info.isBlockDevice()) throw new SoftraidError(`chunk ${path} is not a regular file or a block device`);
    const flags = constants.O_RDWR | (info.isBlockDevice() ? constants.O_EXCL : 0);
    let fd: number;
    try {
      fd = await openFd(path, flags);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EBUSY') throw new SoftraidError(`chunk ${path} already in use (device busy)`);
      throw new SoftraidError(`chunk ${path}: ${describe(error)}`);
    }
    try {
      if (info.isBlockDevice()) {
        const geometry = await blockDeviceGeometry(info.rdev);
        return new FileChunk(path, `blk:${info.rdev}`, geometry.sizeBytes, geometry.sectorSizeBytes, true, fd, options.syncIoBytesMax ?? 0,
          options.copyThreads ?? undefined);
      }
      const identity = `file:${info.dev}:${info.ino}`;
      // No O_EXCL for regular files: another process using this member is refused by a claim (file-lock.ts).
      const release = claimMemberFile(identity, path);
      try {
        const inMemory = await inMemoryFileSystem(path);
        const syncIoBytesMax = options.syncIoBytesMax ?? (inMemory ? memorySyncIoBytesMax : 0);
        const copyThreads = options.copyThreads === undefined ? (inMemory ? sharedCopyThreads() : undefined) : (options.copyThreads ?? undefined);
        return new FileChunk(path, identity, info.size, 512, false, fd, syncIoBytesMax, copyThreads, release);
      } catch (error) {
        release();
        throw error;
      }
    } catch (error) {
      await closeFd(fd);
      throw error;
    }
  }

  async read(buffer: Uint8Array, offsetBytes: number): Promise<void> {
    this.checkRange('read', offsetBytes, buffer.length);
    return this.transfer('read', [buffer], offsetBytes, buffer.length);
  }

  async write(buffer: Uint8Array, offsetBytes: number): Promise<void> {
    this.checkRange('write', offsetBytes, buffer.length);
    return this.transfer('write', [buffer], offsetBytes, buffer.length);
  }

  /** The copy threads this chunk's large I/O goes to, if any. */
  get copyThreadPool(): CopyThreads | undefined {
    return this.copyThreads;
  }

  /**
   * Reads `buffer` at `offsetBytes` and decrypts it in place as the sectors
   * from `firstSector` on, on a copy thread that holds the volume's keys
   * (`keys`, registered with this chunk's copy threads). Undefined when this
   * read cannot go that way (a small read, a buffer not in shared memory,
   * other copy threads, none, or a full ring): the caller reads, then
   * decrypts. Rejects with ChunkIoError; nothing is decrypted then.
   */
  readDecrypted(buffer: Uint8Array, offsetBytes: number, keys: CopyThreadKeys, firstSector: number): Promise<void> | undefined {
    this.checkRange('read', offsetBytes, buffer.length);
    const threaded = this.threadsFor(keys, buffer.length)?.submitReadDecrypt(this.fd, [buffer], offsetBytes, keys.id, firstSector);
    if (threaded === undefined) return undefined;
    return threaded.then(
      (moved) => {
        // The thread resumes short reads itself: less than asked is the member's end.
        if (moved < buffer.length) {
          throw new ChunkIoError('read', this.name, offsetBytes + moved, buffer.length - moved, 'EIO', 'unexpected end of device');
        }
      },
      (error: unknown) => {
        throw this.ioError('read', offsetBytes, buffer.length, error);
      });
  }

  /**
   * Encrypts `plain` into `sealed` as the sectors from `firstSector` on and
   * writes `sealed` at `offsetBytes`, on a copy thread that holds the keys.
   * Undefined when this write cannot go that way (as readDecrypted); the
   * caller encrypts, then writes. Rejects with ChunkIoError.
   */
  writeEncrypted(plain: Uint8Array, sealed: Uint8Array, offsetBytes: number, keys: CopyThreadKeys, firstSector: number): Promise<void> | undefined {
    this.checkRange('write', offsetBytes, sealed.length);
    const threaded = this.threadsFor(keys, sealed.length)?.submitEncryptWrite(this.fd, plain, sealed, offsetBytes, keys.id, firstSector);
    if (threaded === undefined) return undefined;
    return threaded.then(
      // The whole ciphertext is in `sealed` by now: a short write's rest is an ordinary one.
      (moved) => (moved < sealed.length ? this.write(sealed.subarray(moved), offsetBytes + moved) : undefined),
      (error: unknown) => {
        throw this.ioError('write', offsetBytes, sealed.length, error);
      });
  }

  /** This chunk's copy threads, when an I/O of `lengthBytes` goes to them and they are the ones that hold `keys`. */
  private threadsFor(keys: CopyThreadKeys, lengthBytes: number): CopyThreads | undefined {
    return lengthBytes > this.syncIoBytesMax && keys.threads === this.copyThreads ? this.copyThreads : undefined;
  }

  async readv(buffers: readonly Uint8Array[], offsetBytes: number): Promise<void> {
    if (buffers.length === 1) return this.read(buffers[0]!, offsetBytes);
    return this.transfer('read', buffers, offsetBytes, this.checkVectors('readv', buffers, offsetBytes));
  }

  async writev(buffers: readonly Uint8Array[], offsetBytes: number): Promise<void> {
    if (buffers.length === 1) return this.write(buffers[0]!, offsetBytes);
    return this.transfer('write', buffers, offsetBytes, this.checkVectors('writev', buffers, offsetBytes));
  }

  /**
   * Moves a checked range between the buffers and the member, resuming short
   * transfers: synchronously for small I/O on a member in memory
   * (syncIoBytesMax), through the thread pool otherwise; one buffer with
   * pread/pwrite, several with preadv/pwritev.
   */
  private async transfer(operation: 'read' | 'write', buffers: readonly Uint8Array[], offsetBytes: number, lengthBytes: number): Promise<void> {
    const now = lengthBytes <= this.syncIoBytesMax;
    let pending = buffers;
    let done = 0;
    while (done < lengthBytes) {
      const positionBytes = offsetBytes + done;
      let moved: number;
      try {
        const threaded = now ? undefined : this.copyThreads?.submit(operation, this.fd, pending, positionBytes);
        if (threaded !== undefined) {
          moved = await threaded;
        } else if (operation === 'read') {
          moved = pending.length === 1
            ? (now ? readSync(this.fd, pending[0]!, 0, pending[0]!.length, positionBytes) : await readAt(this.fd, pending[0]!, 0, pending[0]!.length, positionBytes))
            : (now ? readvSync(this.fd, pending, positionBytes) : await readvAt(this.fd, pending, positionBytes));
        } else {
          moved = pending.length === 1
            ? (now ? writeSync(this.fd, pending[0]!, 0, pending[0]!.length, positionBytes) : await writeAt(this.fd, pending[0]!, 0, pending[0]!.length, positionBytes))
            : (now ? writevSync(this.fd, pending, positionBytes) : await writevAt(this.fd, pending, positionBytes));
        }
      } catch (error) {
        throw this.ioError(operation, offsetBytes, lengthBytes, error);
      }
      if (moved === 0 && operation === 'read') {
        throw new ChunkIoError('read', this.name, positionBytes, lengthBytes - done, 'EIO', 'unexpected end of device');
      }
      done += moved;
      if (done < lengthBytes) pending = vectorsAfter(pending, moved);
    }
  }

  async flush(): Promise<void> {
    assert(!this.closed, `${this.name}: flush after close`);
    try {
      await new Promise<void>((resolve, reject) => fdatasync(this.fd, (error) => (error ? reject(error) : resolve())));
    } catch (error) {
      throw this.ioError('flush', 0, 0, error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await closeFd(this.fd);
    } finally {
      this.releaseClaim();
    }
  }

  private checkRange(operation: string, offsetBytes: number, lengthBytes: number): void {
    assert(!this.closed, `${this.name}: ${operation} after close`);
    assert(Number.isSafeInteger(offsetBytes) && offsetBytes >= 0 && offsetBytes + lengthBytes <= this.sizeBytes,
      `${this.name}: ${operation} out of range ${offsetBytes}+${lengthBytes} > ${this.sizeBytes}`);
  }

  /** Asserts a vectored request as checkRange does; returns its total length. */
  private checkVectors(operation: string, buffers: readonly Uint8Array[], offsetBytes: number): number {
    assert(buffers.length >= 1 && buffers.length <= chunkIoVectorsMax, `${this.name}: ${operation} of ${buffers.length} buffers`);
    let lengthBytes = 0;
    for (const buffer of buffers) {
      assert(buffer.length > 0, `${this.name}: ${operation} with an empty buffer`);
      lengthBytes += buffer.length;
    }
    this.checkRange(operation, offsetBytes, lengthBytes);
    return lengthBytes;
  }

  private ioError(operation: 'read' | 'write' | 'flush', offsetBytes: number, lengthBytes: number, error: unknown): ChunkIoError {
    const code = (error as NodeJS.ErrnoException).code;
    return new ChunkIoError(operation, this.name, offsetBytes, lengthBytes, errnoFromCode(code), describe(error));
  }
}

/** True for a file on tmpfs or ramfs: its I/O is a memory copy. */
async function inMemoryFileSystem(path: string): Promise<boolean> {
  try {
    const { type } = await statfs(path);
    return type === TMPFS_MAGIC || type === RAMFS_MAGIC;
  } catch {
    return false;
  }
}

function openFd(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => {
    openCallback(path, flags, (error, fd) => (error ? reject(error) : resolve(fd)));
  });
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    closeCallback(fd, (error) => (error ? reject(error) : resolve()));
  });
}

function readAt(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    readCallback(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

function writeAt(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    writeCallback(fd, buffer, offset, length, position, (error, bytesWritten) => (error ? reject(error) : resolve(bytesWritten)));
  });
}

function readvAt(fd: number, buffers: readonly Uint8Array[], position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    readvCallback(fd, buffers, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

function writevAt(fd: number, buffers: readonly Uint8Array[], position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    writevCallback(fd, buffers, position, (error, bytesWritten) => (error ? reject(error) : resolve(bytesWritten)));
  });
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'Permission denied';
  return error instanceof Error ? error.message : String(error);
}
