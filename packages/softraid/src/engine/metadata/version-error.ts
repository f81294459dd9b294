// A metadata copy written by a newer format version, refused with
// softraid's own wording (sr_meta_validate), which names the chunk itself.
import { MetadataError } from '../errors.js';

export class MetadataVersionError extends MetadataError {
  override name = 'MetadataVersionError';
  constructor(chunkName: string, readonly foundVersion: number, readonly supportedVersion: number) {
    super(chunkName, `cannot read metadata version ${foundVersion}`);
    this.message = `cannot read metadata version ${foundVersion} on ${chunkName}, expected version ${supportedVersion} or earlier`;
  }
}
