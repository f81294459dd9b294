// Hand-built sysfs trees for tests: files with the text md.rst documents,
// written as given (each value a test wrote out, not produced by the reader's
// own code), with dev-* directories, rdN links and /sys/block/mdN/size.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface FixtureMember {
  state: string;
  slot: string;
  /** KiB */
  size?: string;
  errors?: string;
  recovery_start?: string;
}

export interface FixtureArray {
  /** /sys/block/mdN/size, sectors. */
  size?: string;
  /** Attribute files under md/ (bitmap/location allowed). */
  md: Record<string, string>;
  members?: Record<string, FixtureMember>;
}

export class SysfsFixture {
  readonly root = mkdtempSync(join(tmpdir(), 'md-sysfs-'));

  write(relative: string, text: string): void {
    const file = join(this.root, relative);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }

  array(name: string, array: FixtureArray): this {
    const md = `block/${name}/md`;
    mkdirSync(join(this.root, md), { recursive: true });
    if (array.size !== undefined) this.write(`block/${name}/size`, `${array.size}\n`);
    for (const [attribute, text] of Object.entries(array.md)) this.write(`${md}/${attribute}`, `${text}\n`);
    for (const [kernelName, member] of Object.entries(array.members ?? {})) {
      for (const [attribute, text] of Object.entries(member)) this.write(`${md}/dev-${kernelName}/${attribute}`, `${text}\n`);
      // rdN names the slot's member; a replacement shares the slot and has no link of its own.
      if (/^[0-9]+$/.test(member.slot) && !member.state.split(',').includes('replacement')) symlinkSync(`dev-${kernelName}`, join(this.root, md, `rd${member.slot}`));
    }
    return this;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A clean two-disk RAID 1 with an internal bitmap, as a 6.1 kernel shows it (values from a real one). */
export function cleanRaid1(overrides: Record<string, string> = {}, members?: Record<string, FixtureMember>): FixtureArray {
  return {
    size: '126976',
    md: {
      array_state: 'clean', level: 'raid1', raid_disks: '2', degraded: '0', sync_action: 'idle', last_sync_action: 'resync',
      sync_completed: 'none', sync_speed: 'none', mismatch_cnt: '0', chunk_size: '0', component_size: '63488', layout: '0',
      resync_start: 'none', reshape_position: 'none', metadata_version: '1.2', uuid: '329ff775-ebf3-b74d-3e97-440fc1997bfe',
      'bitmap/location': '+8', 'bitmap/chunksize': '67108864',
      ...overrides,
    },
    members: members ?? {
      ubdb: { state: 'in_sync', slot: '0', size: '63488', errors: '0', recovery_start: 'none' },
      ubdc: { state: 'in_sync', slot: '1', size: '63488', errors: '0', recovery_start: 'none' },
    },
  };
}
