import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandQueue } from './command-queue.js';

test('commands run one at a time in order, in the background; a failure and an overrun are said', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'ifstated-queue-'));
  try {
    const record = join(directory, 'record');
    const logged: string[] = [];
    const queue = new CommandQueue({ timeoutMs: 500, log: (line) => logged.push(line) });
    // The first sleeps: were they concurrent, the later ones would be recorded first.
    queue.enqueue(`sleep 0.2; echo first >> ${record}`);
    queue.enqueue(`echo second >> ${record}; exit 3`);
    queue.enqueue('sleep 30');
    queue.enqueue(`echo fourth >> ${record}`);
    assert.equal(queue.length, 4, 'enqueue returned at once');
    await queue.idle();
    assert.equal(readFileSync(record, 'utf8'), 'first\nsecond\nfourth\n');
    assert.deepEqual(logged, [`command echo second >> ${record}; exit 3: exit status 3`, 'command sleep 30: killed after its time limit (SIGTERM)']);
    queue.enqueue('sleep 0.3');
    queue.enqueue(`echo never >> ${record}`);
    assert.equal(await queue.close(), 1, 'close drops what waits, waits for what runs');
    queue.enqueue(`echo never >> ${record}`);
    await queue.idle();
    assert.equal(readFileSync(record, 'utf8'), 'first\nsecond\nfourth\n');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
