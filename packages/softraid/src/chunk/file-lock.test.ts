// Member files held by one process at a time (file-lock.ts): a second
// process is refused and named, a claim left by a dead process is taken
// over, and one process may open a file twice (its controller decides).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readlinkSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileChunk } from './file.js';
import { SoftraidError } from '../engine/errors.js';

const fileModule = new URL('../../dist/src/chunk/file.js', import.meta.url).href;

/** A 4 MiB member file and a lock directory of its own (SOFTRAID_LOCK_DIR) for the test's length. */
async function withMember(body: (path: string, directory: string, lockDirectory: string) => Promise<void>): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'softraid-file-lock-'));
  const lockDirectory = join(directory, 'locks');
  const path = join(directory, 'member.img');
  writeFileSync(path, '');
  truncateSync(path, 4 << 20);
  const before = process.env.SOFTRAID_LOCK_DIR;
  process.env.SOFTRAID_LOCK_DIR = lockDirectory;
  try {
    await body(path, directory, lockDirectory);
  } finally {
    if (before === undefined) delete process.env.SOFTRAID_LOCK_DIR;
    else process.env.SOFTRAID_LOCK_DIR = before;
    rmSync(directory, { recursive: true, force: true });
  }
}

function claimPath(lockDirectory: string, path: string): string {
  const info = statSync(path);
  return join(lockDirectory, `file-${info.dev}-${info.ino}`);
}

/** Whether the member has a claim (lstat: a claim is a symbolic link to nowhere, which existsSync would follow). */
function claimed(lockDirectory: string, path: string): boolean {
  return lstatSync(claimPath(lockDirectory, path), { throwIfNoEntry: false }) !== undefined;
}

/** Node's arguments for another process that opens the member through FileChunk, then runs `then` (with `chunk` in scope). */
function openInChild(path: string, then: string): string[] {
  return ['--input-type=module', '-e', `
    const { FileChunk } = await import(${JSON.stringify(fileModule)});
    const chunk = await FileChunk.open(${JSON.stringify(path)});
    ${then}
  `];
}

test('file lock: a member file held by another process is refused with its pid; free again once that process closes it', async () => {
  await withMember(async (path, directory, lockDirectory) => {
    // Another process opens the member and holds it until told to close (a line on stdin).
    const holder = spawn(process.execPath, openInChild(path, `
      process.stdout.write('open\\n');
      process.stdin.once('data', async () => { await chunk.close(); process.stdout.write('closed\\n'); process.exit(0); });
    `), { env: { ...process.env, SOFTRAID_LOCK_DIR: lockDirectory }, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: string[] = [];
    const nextLine = (): Promise<string> => new Promise((resolve) => {
      const check = (): void => { if (lines.length > 0) resolve(lines.shift()!); else setTimeout(check, 10); };
      check();
    });
    holder.stdout!.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.trim().split('\n')));
    assert.equal(await nextLine(), 'open');
    assert.ok(lstatSync(claimPath(lockDirectory, path)).isSymbolicLink());
    assert.match(readlinkSync(claimPath(lockDirectory, path)), new RegExp(`^${holder.pid}:\\d+$`));

    await assert.rejects(FileChunk.open(path), (error: unknown) =>
      error instanceof SoftraidError && error.message === `chunk ${path} already in use (by process ${holder.pid})`);
    // Through another name (a symbolic link to it) it is the same file, and refused the same way.
    symlinkSync(path, join(directory, 'alias.img'));
    await assert.rejects(FileChunk.open(join(directory, 'alias.img')), /already in use \(by process/);

    holder.stdin!.write('close\n');
    assert.equal(await nextLine(), 'closed');
    assert.ok(!claimed(lockDirectory, path), 'the claim is gone with its holder');
    const chunk = await FileChunk.open(path);
    await chunk.close();
  });
});

test('file lock: a claim left by a process that died (kill -9) is taken over', async () => {
  await withMember(async (path, _directory, lockDirectory) => {
    const crashed = spawnSync(process.execPath, openInChild(path, "process.kill(process.pid, 'SIGKILL');"), { env: { ...process.env, SOFTRAID_LOCK_DIR: lockDirectory } });
    assert.equal(crashed.signal, 'SIGKILL');
    assert.match(readlinkSync(claimPath(lockDirectory, path)), new RegExp(`^${crashed.pid}:`), 'the dead process left its claim');
    const chunk = await FileChunk.open(path);
    assert.equal(readlinkSync(claimPath(lockDirectory, path)).split(':')[0], String(process.pid));
    await chunk.close();
    assert.ok(!claimed(lockDirectory, path));
  });
});

test('file lock: one process may open a member twice; the claim goes with the last close', async () => {
  await withMember(async (path, _directory, lockDirectory) => {
    const first = await FileChunk.open(path);
    const second = await FileChunk.open(path);
    assert.equal(first.identity, second.identity);
    await first.close();
    assert.ok(claimed(lockDirectory, path), 'still held by the second');
    await first.close();
    assert.ok(claimed(lockDirectory, path), 'a second close of the same chunk releases nothing more');
    await second.close();
    assert.ok(!claimed(lockDirectory, path));
  });
});
