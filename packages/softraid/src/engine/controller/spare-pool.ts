// softraid0's global hot-spare pool (softraid.c's sc_hotspare_list): the
// chunks that wait, with their one-chunk spare metadata, to replace a failed
// member of any redundant volume that fits. A spare is found by the storage
// it is (identity: another path to the same disk finds it) or by its name,
// and taken first fit, in the order spares were added, as softraid does.
import type { HotSpareView } from '@openbsd38/bio/controller.js';
import type { ChunkBackend } from '../chunk.js';
import type { VolumeRecord } from '../metadata/record.js';

export interface HotSpare {
  chunk: ChunkBackend;
  /** The spare's own metadata (kind 'hotspare'). */
  record: VolumeRecord;
}

export class SparePool {
  private readonly spares: HotSpare[] = [];

  get size(): number {
    return this.spares.length;
  }

  add(spare: HotSpare): void {
    this.spares.push(spare);
  }

  /** The spare on this storage, whatever path it was opened by. */
  byIdentity(identity: string): HotSpare | undefined {
    return this.spares.find((spare) => spare.chunk.identity === identity);
  }

  byName(name: string): HotSpare | undefined {
    return this.spares.find((spare) => spare.chunk.name === name);
  }

  /** Whether this very backend is a spare's (not another open of the same disk). */
  holds(chunk: ChunkBackend): boolean {
    return this.spares.some((spare) => spare.chunk === chunk);
  }

  /** Takes the spare out of the pool (it becomes a member, or leaves by request). */
  take(spare: HotSpare): void {
    const index = this.spares.indexOf(spare);
    if (index >= 0) this.spares.splice(index, 1);
  }

  /** The first spare of at least `neededBytes`, taken out of the pool; undefined when none fits. */
  takeFitting(neededBytes: number): HotSpare | undefined {
    const index = this.spares.findIndex((spare) => spare.chunk.sizeBytes >= neededBytes);
    return index < 0 ? undefined : this.spares.splice(index, 1)[0];
  }

  /** bio's view: spares numbered after the volumes, as bioctl lists them. */
  views(firstIndex: number): HotSpareView[] {
    return this.spares.map((spare, i) => ({
      volumeIndex: firstIndex + i,
      name: spare.chunk.name,
      sizeBytes: spare.record.chunks[0]!.usableSizeBytes,
    }));
  }

  /** Empties the pool and closes every spare (shutdown). */
  async closeAll(): Promise<void> {
    for (const spare of this.spares.splice(0)) await spare.chunk.close();
  }
}
