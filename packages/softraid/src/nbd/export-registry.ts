// What the server serves: the daemon owns the set of volumes and the server
// consults it at every handshake and every request, so a volume added or
// removed while the server runs appears or disappears without a restart.
import type { BlockDevice } from '@openbsd38/bio/block-device.js';

export interface ExportListing {
  name: string;
  description?: string;
}

export interface ExportRegistry {
  list(): ExportListing[];
  get(name: string): BlockDevice | undefined;
}

/** A plain map-backed registry (tests, and a daemon that needs nothing more). */
export class MapExportRegistry implements ExportRegistry {
  private readonly exports = new Map<string, { device: BlockDevice; description: string | undefined }>();

  set(name: string, device: BlockDevice, description?: string): void {
    this.exports.set(name, { device, description });
  }

  delete(name: string): boolean {
    return this.exports.delete(name);
  }

  list(): ExportListing[] {
    return [...this.exports].map(([name, entry]) => (entry.description === undefined ? { name } : { name, description: entry.description }));
  }

  get(name: string): BlockDevice | undefined {
    return this.exports.get(name)?.device;
  }
}
