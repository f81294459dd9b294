// Which devices bioctl answers in-process through the md controller rather
// than over softraidd's socket: the controller `md`, an array by its kernel
// name (md0, md127, md_home), or its node (/dev/md0, /dev/md/NAME, resolved
// to the kernel name through its symbolic links).
import { realpathSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { FatalFailure } from './failures.js';

const kernelName = /^md(?:[0-9]+|_[A-Za-z0-9_.-]+)$/;

/** The md device name for bioctl's device operand, or undefined when it is not md's. */
export function mdDeviceName(device: string, cwd: string): string | undefined {
  if (device === 'md' || kernelName.test(device)) return device;
  if (!device.startsWith('/dev/md')) return undefined;
  let real: string;
  try {
    real = realpathSync(resolve(cwd, device));
  } catch (error) {
    throw new FatalFailure(`Can't locate ${device} device: ${(error as NodeJS.ErrnoException).code ?? 'EIO'}`);
  }
  const name = basename(real);
  if (!kernelName.test(name)) throw new FatalFailure(`Can't locate ${device} device: ${real} is no md array`);
  return name;
}
