// Before listening on the control socket: refuse when a live daemon answers
// on it, remove it when it is stale (nobody listening), refuse anything that
// is not a socket. The parent directory is created mode 0700.
import { createConnection } from 'node:net';
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';

export class SocketInUseError extends Error {
  override name = 'SocketInUseError';
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export async function prepareSocketPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) throw new SocketInUseError(`${path} exists and is not a socket`);
  if (await answers(path)) throw new SocketInUseError(`${path} is in use by a running softraidd`);
  unlinkSync(path);
}
