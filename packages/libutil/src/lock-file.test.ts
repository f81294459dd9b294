import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimLockLink, isLive, markPid, ownMark, processMark } from './lock-file.js';

test('a claim is a link to this process; released once; claimed again by the same process', () => {
  const directory = mkdtempSync(join(tmpdir(), 'lock-file-'));
  try {
    const path = join(directory, 'x.lock');
    const first = claimLockLink(path);
    assert.ok(first.claimed);
    assert.equal(readlinkSync(path), ownMark);
    assert.equal(markPid(ownMark), String(process.pid));
    assert.ok(isLive(ownMark));
    const again = claimLockLink(path);
    assert.ok(again.claimed, 'a claim this process holds counts as claimed');
    first.release();
    assert.equal(existsSync(path), false);
    first.release();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('a live process holds its claim; a dead one, or a reused pid, leaves a stale claim that is broken', () => {
  const directory = mkdtempSync(join(tmpdir(), 'lock-file-'));
  try {
    const parent = processMark(process.ppid)!;
    const held = join(directory, 'held.lock');
    symlinkSync(parent, held);
    const refused = claimLockLink(held);
    assert.deepEqual(refused, { claimed: false, heldBy: parent, unsettled: false });
    // A process that has exited.
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const dead = join(directory, 'dead.lock');
    symlinkSync(`${child.stdout}:1`, dead);
    const taken = claimLockLink(dead);
    assert.ok(taken.claimed);
    assert.equal(readlinkSync(dead), ownMark);
    // This pid, but another start time: a reused pid is not the owner.
    const reused = join(directory, 'reused.lock');
    symlinkSync(`${process.pid}:1`, reused);
    assert.equal(isLive(`${process.pid}:1`), false);
    assert.ok(claimLockLink(reused).claimed);
    assert.equal(isLive('garbage'), false);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('errors other than "held" are thrown as they are', () => {
  assert.throws(() => claimLockLink('/nonexistent-directory/x.lock'), /ENOENT/);
});
