// bioctl -b/-u: softraid accepts BIOCBLINK and does nothing. Here a member
// that is a SCSI disk in an SES enclosure gets its slot's locate LED set
// through /sys/class/enclosure (the kernel's ses driver links the disk to its
// slot as device/enclosure_device:*), or through ledctl(8) when installed.
// Otherwise the reply is a warning saying why, with success status, so
// bioctl's exit status stays OpenBSD's (0).
import { execFile } from 'node:child_process';
import { readdirSync, realpathSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BioMessage } from '../controller.js';

export const ledctlTimeoutMilliseconds = 5000;

/** /dev/sda1 -> "sda"; undefined when the name is not a block device. */
function blockDeviceDisk(name: string): string | undefined {
  try {
    if (!statSync(name).isBlockDevice()) return undefined;
    const sysPath = realpathSync(join('/sys/class/block', basename(realpathSync(name))));
    return existsSync(join(sysPath, 'partition')) ? basename(join(sysPath, '..')) : basename(sysPath);
  } catch {
    return undefined;
  }
}

function enclosureLocateFile(disk: string): string | undefined {
  const deviceDirectory = join('/sys/class/block', disk, 'device');
  try {
    const link = readdirSync(deviceDirectory).find((entry) => entry.startsWith('enclosure_device:'));
    return link === undefined ? undefined : join(deviceDirectory, link, 'locate');
  } catch {
    return undefined;
  }
}

function ledctl(argument: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('ledctl', [argument], { timeout: ledctlTimeoutMilliseconds }, (error, _stdout, stderr) => {
      resolve(error ? (stderr.trim() || error.message) : undefined);
    });
  });
}

export async function blinkChunk(chunkName: string, on: boolean): Promise<BioMessage[]> {
  const disk = blockDeviceDisk(chunkName);
  if (disk === undefined) return [{ type: 'warning', text: `blink not supported on ${chunkName}: not a block device` }];
  const locateFile = enclosureLocateFile(disk);
  if (locateFile !== undefined) {
    try {
      writeFileSync(locateFile, on ? '1' : '0');
      return [];
    } catch (error) {
      return [{ type: 'warning', text: `blink of ${chunkName} failed: ${locateFile}: ${(error as Error).message}` }];
    }
  }
  const problem = await ledctl(`${on ? 'locate' : 'locate_off'}=/dev/${disk}`);
  if (problem === undefined) return [];
  if (/ENOENT/.test(problem)) return [{ type: 'warning', text: `blink not supported on ${chunkName}: not in an enclosure (no /sys/class/enclosure slot, no ledctl)` }];
  return [{ type: 'warning', text: `blink not supported on ${chunkName}: ledctl: ${problem.slice(0, 200)}` }];
}
