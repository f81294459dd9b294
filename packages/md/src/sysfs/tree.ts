// Reading sysfs under an injected root (SOFTRAID_SYSFS_ROOT, default /sys),
// so the same code runs on the machine and on a captured or hand-built tree.
// Synchronous on purpose: sysfs attributes are small kernel buffers, and
// bio's inquire() answers at once.
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MdSysfsError } from '../errors.js';

/** The largest attribute read: sysfs attributes are at most a page. */
export const attributeBytesMax = 4096;

export const sysfsRootDefault = '/sys';

export class SysfsTree {
  constructor(readonly root: string = sysfsRootDefault) {}

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /**
   * An attribute's text without its trailing newline; undefined when the file
   * does not exist (an attribute this kernel or this level does not have).
   * Any other failure, or a file larger than a page, names the file.
   */
  read(relative: string): string | undefined {
    const file = this.path(relative);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new MdSysfsError(file, `cannot be read: ${code ?? (error as Error).message}`);
    }
    if (bytes.length > attributeBytesMax) throw new MdSysfsError(file, `${bytes.length} bytes, more than a sysfs attribute's ${attributeBytesMax}`);
    return bytes.toString('utf8').replace(/\n$/, '');
  }

  /** Entries of a directory; [] when it does not exist. */
  list(relative: string): string[] {
    try {
      return readdirSync(this.path(relative)).sort();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw new MdSysfsError(this.path(relative), `cannot be listed: ${code ?? (error as Error).message}`);
    }
  }

  /** A symbolic link's target; undefined when it is missing or no link. */
  readLink(relative: string): string | undefined {
    try {
      return readlinkSync(this.path(relative));
    } catch {
      return undefined;
    }
  }
}

/** Writes an md attribute (sync_action, sync_speed_min); a refusal by the kernel names the file and its errno. */
export function writeAttribute(tree: SysfsTree, relative: string, text: string): void {
  const file = tree.path(relative);
  try {
    writeFileSync(file, text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MdSysfsError(file, `writing "${text}" failed: ${code ?? (error as Error).message}`);
  }
}
