// Opens a member by the name an operator gives it: an NBD URI
// (nbd://host[:port]/export, nbd+unix:///export?socket=PATH) or a path to a
// regular file or block device. Every failure becomes a SoftraidError that
// names the member, which is what the controller reports.
import { ChunkIoError, SoftraidError } from '../engine/errors.js';
import type { ChunkBackend } from '../engine/chunk.js';
import { FileChunk } from './file.js';
import { NbdChunk, isNbdUri } from './nbd.js';

export async function openChunk(name: string): Promise<ChunkBackend> {
  if (name.length === 0) throw new SoftraidError('empty chunk name');
  if (!isNbdUri(name)) return FileChunk.open(name);
  try {
    return await NbdChunk.open(name);
  } catch (error) {
    if (error instanceof ChunkIoError) throw new SoftraidError(`chunk ${name}: ${error.detail ?? error.errno}`);
    throw error;
  }
}
