// md's scrub schedule: bioctl -t auto.N writes it, softraidd's looks carry
// it out (md's check on every redundant array in sync, then the next time),
// and a file that does not parse is an error naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { MdController } from './controller.js';
import { MdError } from './errors.js';
import { parseScrubSchedule, scrubScheduleFileName } from './scrub-schedule.js';
import { SysfsFixture, cleanRaid1 } from './testing/sysfs-fixture.test-helper.js';

function setup() {
  const fixture = new SysfsFixture().array('md0', cleanRaid1()).array('md1', cleanRaid1({ degraded: '1' }));
  const scheduleFile = join(fixture.root, scrubScheduleFileName);
  let now = Date.UTC(2026, 11, 2, 3, 0, 0);
  const controller = new MdController({ sysfsRoot: fixture.root, scheduleFile, nowMs: () => now, run: () => Promise.reject(new Error('no mdadm here')) });
  return { fixture, scheduleFile, controller, advance: (seconds: number) => { now += seconds * 1000; } };
}

test('-t auto.3600.10: kept in the file; due after 10 s, md0 checked, md1 (degraded) waits, the next one an hour later', () => {
  const { fixture, scheduleFile, controller, advance } = setup();
  try {
    const reply = controller.setScrubSchedule({ mode: 'auto', intervalSeconds: 3600, startSeconds: 10 });
    assert.equal(reply.ok, true);
    assert.match(reply.messages[0]!.text, /every 3600 seconds while softraidd runs/);
    assert.equal(statSync(scheduleFile).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(scheduleFile, 'utf8')), { mode: 'auto', interval_seconds: 3600, next_due_at: '2026-12-02T03:00:10.000Z' });
    assert.deepEqual(controller.patrolStatus(null).result, { mode: 'auto', intervalSeconds: 3600, nextSeconds: 10, status: 'ready' });

    assert.deepEqual(controller.runDueScrubs(), [], 'not due yet');
    assert.equal(readFileSync(join(fixture.root, 'block/md0/md/sync_action'), 'utf8').trim(), 'idle');
    advance(10);
    assert.deepEqual(controller.runDueScrubs(), [
      'md: scheduled scrub of md0 started',
      'md: scheduled scrub of md1 not started: md1 is degraded: md scrubs only an array in sync (sync_action is idle)',
    ]);
    assert.equal(readFileSync(join(fixture.root, 'block/md0/md/sync_action'), 'utf8'), 'check');
    assert.equal(readFileSync(join(fixture.root, 'block/md1/md/sync_action'), 'utf8').trim(), 'idle', 'nothing written to md1');
    assert.deepEqual(controller.runDueScrubs(), [], 'the next one is an hour away');
    assert.equal(controller.patrolStatus('md1').result?.nextSeconds, 3600);

    assert.equal(controller.setScrubSchedule({ mode: 'manual' }).ok, true);
    advance(7200);
    assert.deepEqual(controller.runDueScrubs(), []);
    assert.deepEqual(controller.patrolStatus(null).result, { mode: 'manual', intervalSeconds: 0, nextSeconds: 0, status: 'active' }, 'md0\'s check still runs');
    assert.equal(controller.setScrubSchedule({ mode: 'auto', intervalSeconds: 0, startSeconds: null }).messages[0]!.text, 'invalid patrol interval 0: at least 1 second');
    assert.equal(JSON.parse(readFileSync(scheduleFile, 'utf8')).mode, 'manual', 'a refused schedule changes nothing');
  } finally {
    fixture.remove();
  }
});

test('a schedule file that does not parse is an error naming it, everywhere, and nothing is started', () => {
  const { fixture, scheduleFile, controller, advance } = setup();
  try {
    writeFileSync(scheduleFile, '{"mode": "auto", "interval_seconds": "weekly"}');
    advance(1);
    assert.match(controller.patrolStatus(null).messages[0]!.text, new RegExp(`^${scheduleFile}: interval_seconds must be a whole number`));
    assert.deepEqual(controller.runDueScrubs(), [`md scrub schedule: ${scheduleFile}: interval_seconds must be a whole number of seconds, at least 1`]);
    assert.equal(readFileSync(join(fixture.root, 'block/md0/md/sync_action'), 'utf8').trim(), 'idle');
    assert.match(controller.setScrubSchedule({ mode: 'auto', intervalSeconds: 60, startSeconds: 0 }).messages[0]!.text, /interval_seconds must be/);
    writeFileSync(scheduleFile, 'auto 60');
    assert.match(controller.patrolStatus(null).messages[0]!.text, /not JSON .*: remove it, or set the schedule again with bioctl -t/);
  } finally {
    fixture.remove();
  }
});

test('fuzz: 2,000 mangled schedule files give a schedule or an MdError naming the file, nothing else', () => {
  const random = seededRandom(0x5c4ed);
  const good = '{"mode":"auto","interval_seconds":604800,"next_due_at":"2026-12-09T03:00:00.000Z"}';
  const alphabet = '{}[]":,0123456789-.TZaeiou ';
  for (let round = 0; round < 2000; round++) {
    const bytes = [...good];
    for (let edit = 0; edit < 1 + Math.floor(random() * 4); edit++) {
      const at = Math.floor(random() * bytes.length);
      const choice = random();
      if (choice < 0.4) bytes.splice(at, 1);
      else if (choice < 0.8) bytes[at] = alphabet[Math.floor(random() * alphabet.length)]!;
      else bytes.length = at;
    }
    try {
      const schedule = parseScrubSchedule(bytes.join(''), 'fuzz.json');
      assert.ok(['auto', 'manual', 'disabled'].includes(schedule.mode));
      assert.ok(Number.isSafeInteger(schedule.intervalSeconds) && schedule.intervalSeconds >= 1);
      assert.ok(schedule.mode !== 'auto' || Number.isFinite(schedule.nextDueMs));
    } catch (error) {
      assert.ok(error instanceof MdError, String(error));
      assert.match(error.message, /^fuzz\.json: /);
    }
  }
});
