import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededSource } from '@openbsd38/libutil/random.js';
import { parseIfstatedConfig } from '../config/parser.js';
import { IfstatedMachine, stateChangesPerEventMax, type InterfaceView, type TestOutcome } from './machine.js';

/** A host that records what the machine does, with tests the test case finishes by hand. */
function harness(text: string, options = { ignoreInitial: false }) {
  const config = parseIfstatedConfig(text, 't.conf', { interfaceExists: () => true });
  const trace: string[] = [];
  const tests = new Map<string, { report: (outcome: TestOutcome) => void; stopped: boolean; runs: number }>();
  const machine = new IfstatedMachine(config, {
    log: (_level, line) => trace.push(line),
    run: (command) => trace.push(`$ ${command}`),
    startTest(command, everySeconds, report) {
      const handle = { report, stopped: false, runs: 1 };
      tests.set(`${command}/${everySeconds}`, handle);
      return { stop: () => { handle.stopped = true; } };
    },
  }, options);
  const finish = (key: string, outcome: TestOutcome): void => {
    const handle = tests.get(key);
    assert.ok(handle !== undefined && !handle.stopped, `${key} runs`);
    handle.report(outcome);
  };
  const take = (): string[] => trace.splice(0);
  return { machine, trace, tests, finish, take };
}
const views = (entries: Record<string, Partial<InterfaceView>>): Map<string, InterfaceView> =>
  new Map(Object.entries(entries).map(([name, view]) => [name, { link: 'down', addressPresent: false, ...view }]));

const failover = `
state primary {
	init run "promote"
	if em0.link.down
		set-state backup
}
state backup {
	init run "demote"
	if em0.link.up {
		run "recovered"
		set-state primary
	}
}
if em0.link.up
	run "global up"
`;

test('start: the initial state is entered (init, then body), then events move the machine', () => {
  const { machine, take } = harness(failover);
  machine.start(views({ em0: { link: 'up' } }));
  assert.deepEqual(take(), ['running global up', '$ global up', 'initial state: primary', 'changing state to primary', 'running promote', '$ promote']);
  assert.equal(machine.currentState, 'primary');
  machine.linkChanged('em0', 'down');
  assert.deepEqual(take(), ['changing state to backup', 'running demote', '$ demote']);
  machine.linkChanged('em0', 'down');
  machine.linkChanged('em1', 'up');
  assert.deepEqual(take(), [], 'nothing changed for em0; em1 is not referenced');
  machine.linkChanged('em0', 'up');
  // The global body first, then the state's body; set-state after the whole body.
  assert.deepEqual(take(), ['running global up', '$ global up', 'running recovered', '$ recovered', 'changing state to primary', 'running promote', '$ promote']);
});

test('a body runs every action whose condition holds now, on any change of its terms', () => {
  const { machine, take } = harness('state s {\nif em0.link.up run "a"\nif em1.link.unknown run "b"\nif em0.addr.up run "c"\n}\n');
  machine.start(views({ em0: { link: 'up' }, em1: { link: 'unknown' } }));
  assert.deepEqual(take().filter((line) => line.startsWith('$')), ['$ a', '$ b']);
  machine.addressChanged('em0', true);
  assert.deepEqual(take().filter((line) => line.startsWith('$')), ['$ a', '$ b', '$ c']);
  machine.linkChanged('em1', 'down');
  assert.deepEqual(take().filter((line) => line.startsWith('$')), ['$ a', '$ c']);
});

test('external tests: the body waits for the first round; a flip re-evaluates; leaving the state stops them', () => {
  const { machine, take, finish, tests } = harness(`
state checking {
	init run "entered"
	if "ping a" every 10 && ! "ping b" every 5
		set-state bad
}
state bad {
	if ! "ping a" every 10
		set-state checking
}`);
  machine.start(new Map());
  assert.deepEqual(take(), ['initial state: checking', 'changing state to checking', 'running entered', '$ entered']);
  finish('ping a/10', { kind: 'exited', status: 0 });
  assert.deepEqual(take(), [], 'ping b has not completed yet');
  finish('ping b/5', { kind: 'overrun' });
  assert.deepEqual(take(), ['changing state to bad'], 'a killed test counts as done; its value stays false');
  assert.equal(tests.get('ping a/10')!.stopped, false, 'bad has its own ping a');
  assert.equal(tests.get('ping b/5')!.stopped, true);
  finish('ping a/10', { kind: 'exited', status: 0 });
  assert.deepEqual(take(), []);
  finish('ping a/10', { kind: 'exited', status: 1 });
  assert.deepEqual(take(), ['changing state to checking', 'running entered', '$ entered']);
  finish('ping b/5', { kind: 'abnormal' });
  assert.deepEqual(take(), ['ping b exited abnormally']);
});

test('-i: the first state of an interface is only recorded; its next change acts', () => {
  const { machine, take } = harness('if em0.link.up run "up"\nif em0.link.down run "down"\n', { ignoreInitial: true });
  machine.start(views({ em0: { link: 'up' } }));
  assert.deepEqual(take(), []);
  machine.linkChanged('em1', 'up');
  machine.linkChanged('em0', 'down');
  assert.deepEqual(take(), ['running down', '$ down']);
});

test('a set-state loop is stopped after stateChangesPerEventMax changes and said', () => {
  const { machine, take } = harness('state a {\ninit set-state b\n}\nstate b {\ninit set-state a\n}\n');
  machine.start(new Map());
  const trace = take();
  assert.equal(trace.filter((line) => line.startsWith('changing state to')).length, stateChangesPerEventMax);
  assert.match(trace.at(-1)!, /state changes in one event: a set-state loop/);
});

test('stop: the tests are stopped and nothing runs afterwards', () => {
  const { machine, take, tests } = harness('if "t" every 1 run "x"\nif em0.link.up run "y"\n');
  machine.start(new Map());
  machine.stop();
  assert.equal(tests.get('t/1')!.stopped, true);
  machine.linkChanged('em0', 'up');
  assert.deepEqual(take(), []);
});

// Model-based: random link and address events against the failover configuration; the model
// says, after each event, which state the machine is in and which commands it ran.
test('seeded random events: the machine agrees with a model of the failover configuration', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = seededSource(seed);
    const { machine, take } = harness(failover);
    let link: 'up' | 'down' | 'unknown' = (['up', 'down', 'unknown'] as const)[random.below(3)]!;
    machine.start(views({ em0: { link } }));
    // Model of start: the global body, then primary's init; primary's body may leave at once.
    let state = 'primary';
    const expectedStart = [...(link === 'up' ? ['$ global up'] : []), '$ promote'];
    if (link === 'down') { state = 'backup'; expectedStart.push('$ demote'); }
    assert.deepEqual(take().filter((line) => line.startsWith('$')), expectedStart, `seed ${seed} start`);
    for (let step = 0; step < 50; step++) {
      const next = (['up', 'down', 'unknown'] as const)[random.below(3)]!;
      const changed = next !== link;
      link = next;
      machine.linkChanged('em0', link);
      const expected: string[] = [];
      if (changed) {
        if (link === 'up') expected.push('$ global up');
        if (state === 'primary' && link === 'down') { state = 'backup'; expected.push('$ demote'); }
        else if (state === 'backup' && link === 'up') { state = 'primary'; expected.push('$ recovered', '$ promote'); }
      }
      assert.deepEqual(take().filter((line) => line.startsWith('$')), expected, `seed ${seed} step ${step}: em0 ${link}`);
      assert.equal(machine.currentState, state, `seed ${seed} step ${step}`);
    }
  }
});
