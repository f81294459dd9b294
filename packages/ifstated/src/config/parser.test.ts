import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededSource } from '@openbsd38/libutil/random.js';
import type { Action, IfstatedConfig } from './ast.js';
import { IfstatedConfigError } from './errors.js';
import { parseIfstatedConfig, parseMacroDefinition } from './parser.js';

const known = new Set(['em0', 'em1', 'em2', 'carp0', 'carp1', 'urndis0', 'lo', 'eth0.100']);
const parse = (text: string, macros: Record<string, string> = {}): IfstatedConfig =>
  parseIfstatedConfig(text, 'ifstated.conf', { interfaceExists: (name) => known.has(name), commandLineMacros: new Map(Object.entries(macros)) });
function problemsOf(text: string): string[] {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof IfstatedConfigError, String(error));
    return error.message.split('\n');
  }
  assert.fail('the file was accepted');
}
const fixtures = join(import.meta.dirname, '..', '..', 'tests', 'fixtures');

test('a state with init and body, nested ifs, a single-action block and a global body', () => {
  const config = parse([
    'state one {',
    '\tinit {',
    '\t\trun "echo in"',
    '\t}',
    '\tif em0.link.up && ! em1.link.down || "true" every 5 {',
    '\t\trun "a"',
    '\t\tif em0.addr.up',
    '\t\t\tset-state two',
    '\t}',
    '}',
    'state two {',
    '\tinit run "echo two"',
    '\tif ( em0.link.unknown )',
    '',
    '\t\tset-state one',
    '}',
    'if "eth0.100".link.up run "vlan"',
  ].join('\n'));
  assert.equal(config.initialState, 'one');
  assert.deepEqual(config.states.map((state) => state.name), ['one', 'two']);
  const one = config.states[0]!;
  assert.deepEqual(one.init, [{ kind: 'run', command: 'echo in', line: 3 }]);
  const condition = (one.body[0] as Extract<Action, { kind: 'if' }>).condition;
  // && and || have equal precedence and associate left; ! binds tightest.
  assert.deepEqual(condition, {
    kind: 'or',
    left: { kind: 'and', left: { kind: 'link', interfaceName: 'em0', state: 'up', line: 5 }, right: { kind: 'not', operand: { kind: 'link', interfaceName: 'em1', state: 'down', line: 5 } } },
    right: { kind: 'external', command: 'true', everySeconds: 5, line: 5 },
  });
  assert.deepEqual((one.body[0] as Extract<Action, { kind: 'if' }>).actions[1], {
    kind: 'if', line: 7, condition: { kind: 'address', interfaceName: 'em0', present: true, line: 7 }, actions: [{ kind: 'set-state', stateName: 'two', line: 8 }],
  });
  assert.deepEqual(config.global.body, [{ kind: 'if', line: 17, condition: { kind: 'link', interfaceName: 'eth0.100', state: 'up', line: 17 }, actions: [{ kind: 'run', command: 'vlan', line: 17 }] }]);
});

test('macros: adjacent strings joined by a space, a macro holding an expression, -D wins over the file', () => {
  // A macro's text is read again as tokens: a command in a macro carries its own quotes.
  const config = parse('cmd = \'"echo\' \'hi"\'\ntest = \'( em0.link.up || em1.link.up )\'\nif $test run $cmd\n');
  assert.deepEqual(config.global.body[0], {
    kind: 'if', line: 3, actions: [{ kind: 'run', command: 'echo hi', line: 3 }],
    condition: { kind: 'or', left: { kind: 'link', interfaceName: 'em0', state: 'up', line: 3 }, right: { kind: 'link', interfaceName: 'em1', state: 'up', line: 3 } },
  });
  const overridden = parse('cmd = \'"file"\'\nif em0.link.up run $cmd\n', { cmd: '"command line"' });
  assert.deepEqual((overridden.global.body[0] as Extract<Action, { kind: 'if' }>).actions, [{ kind: 'run', command: 'command line', line: 2 }]);
  assert.deepEqual(parseMacroDefinition('a=b=c'), { name: 'a=b', value: 'c' });
  assert.equal(parseMacroDefinition('nothing'), null);
});

test('init-state picks the first state; without it the first state defined; no state at all is allowed', () => {
  assert.equal(parse('state a {\nrun "x"\n}\nstate b {\nrun "y"\n}\ninit-state b\n').initialState, 'b');
  assert.equal(parse('if em0.link.up run "x"\n').initialState, null);
});

test('the examples of OpenBSD\'s manual and /etc/examples parse', () => {
  for (const name of ['manual-macros-and-state.conf', 'examples-ifstated.conf', 'carp-pair.conf']) {
    const config = parse(readFileSync(join(fixtures, name), 'utf8'));
    assert.ok(config.states.length >= 2, name);
  }
});

test('malformed files: OpenBSD\'s messages, each with its line, all of them in one run', () => {
  assert.deepEqual(problemsOf('state one {\n\tif em0.link.up\n\t\tset-state nowhere\n}\n'), ['ifstated.conf:3: state \'nowhere\' not declared']);
  assert.deepEqual(problemsOf('\nif bogus0.link.up run "x"\n'), ['ifstated.conf:2: unknown interface bogus0']);
  assert.deepEqual(problemsOf('state one {\n\trun "x"\n'), ['ifstated.conf:3: syntax error']);
  assert.deepEqual(problemsOf('state one {\n\trun "x"\n}\n}\n'), ['ifstated.conf:4: syntax error']);
  assert.deepEqual(problemsOf('if em0.link.up run $nothing\n'), ['ifstated.conf:1: macro \'nothing\' not defined', 'ifstated.conf:1: syntax error']);
  assert.deepEqual(problemsOf('\n\nset-state one\nstate one {\nrun "x"\n}\n'), ['ifstated.conf:3: set-state must be used inside \'if\'']);
  assert.deepEqual(problemsOf('if "true" every 0 run "x"\nif "true" every 4294967296 run "x"\n'), ['ifstated.conf:1: invalid interval: 0', 'ifstated.conf:2: invalid interval: 4294967296']);
  assert.deepEqual(problemsOf('state a {\nrun "x"\n}\nstate a {\nrun "y"\n}\n'), ['ifstated.conf:4: state a already exists', 'ifstated.conf:6: syntax error']);
  assert.deepEqual(problemsOf('init-state b\nstate a {\nrun "x"\n}\n'), ['ifstated.conf:1: invalid start state b']);
  assert.deepEqual(problemsOf('state a {\n}\n'), ['ifstated.conf:2: syntax error'], 'a state needs one statement at least');
  assert.deepEqual(problemsOf('init { run "x" }\n'), ['ifstated.conf:1: syntax error'], 'no init outside a state');
  assert.deepEqual(problemsOf('if em0.link.sideways run "x"\nif em0.link.up else run "y"\n'), ['ifstated.conf:1: syntax error', 'ifstated.conf:2: syntax error']);
  assert.deepEqual(problemsOf('state down {\nrun "x"\n}\n'), ['ifstated.conf:1: syntax error', 'ifstated.conf:3: syntax error'], 'a keyword is no name');
});

// A file of random pieces of the language (and some noise): the parser returns a
// configuration whose set-states all name its states, or an IfstatedConfigError whose every
// problem has a line of the file — never anything else, never a hang.
test('fuzz: 4000 seeded files, each a configuration or errors with lines', () => {
  const pieces = [
    'state', 'init', 'init-state', 'if', 'run', 'set-state', 'every', '&&', '||', '!', '(', ')', '{', '}', '=', '.', 'link', 'addr',
    'up', 'down', 'unknown', 'added', 'em0', 'em1', 'bogus9', 's1', 's2', '"cmd"', '\'x y\'', '10', '0', '-3', '$m', '$undefined', '#c',
    '\\\n', '\n', '\n', '\n', ' ', '"unterminated', '99999999999999999999', 'em0.link.up', '"true" every 1', 'é', '\t',
  ];
  const templates = [
    'm = "em0.link.up"\nstate s1 {\ninit run "a"\nif $m set-state s2\n}\nstate s2 {\nif ! $m\nset-state s1\n}\n',
    'if em0.link.up && ( "t" every 5 || em1.addr.down ) {\nrun "x"\n}\n',
  ];
  for (let seed = 1; seed <= 4000; seed++) {
    const random = seededSource(seed);
    let text: string;
    if (seed % 3 === 0) {
      // A valid file with a few random edits.
      text = templates[random.below(templates.length)]!;
      for (let edits = 1 + random.below(3); edits > 0; edits--) {
        const at = random.below(text.length + 1);
        const cut = random.below(4);
        text = text.slice(0, at) + (random.below(2) === 0 ? pieces[random.below(pieces.length)]! : '') + text.slice(at + cut);
      }
    } else {
      const count = random.below(40);
      text = Array.from({ length: count }, () => pieces[random.below(pieces.length)]!).join(random.below(2) === 0 ? ' ' : '');
    }
    const lines = text.split('\n').length;
    try {
      const config = parseIfstatedConfig(text, 'f', { interfaceExists: (name) => known.has(name), commandLineMacros: new Map([['m', 'em0.link.up']]) });
      const names = new Set(config.states.map((state) => state.name));
      const visit = (actions: readonly Action[]): void => {
        for (const action of actions) {
          if (action.kind === 'set-state') assert.ok(names.has(action.stateName), `seed ${seed}: set-state ${action.stateName}`);
          if (action.kind === 'if') visit(action.actions);
        }
      };
      for (const state of config.states) { visit(state.init); visit(state.body); }
      assert.ok(config.initialState === null || names.has(config.initialState), `seed ${seed}`);
    } catch (error) {
      assert.ok(error instanceof IfstatedConfigError, `seed ${seed}: ${String(error)} for ${JSON.stringify(text)}`);
      assert.ok(error.problems.length > 0, `seed ${seed}`);
      for (const problem of error.problems) {
        assert.ok(problem.line >= 1 && problem.line <= lines + 1, `seed ${seed}: line ${problem.line} of ${lines} for ${JSON.stringify(text)}`);
        assert.ok(problem.message.length > 0);
      }
    }
  }
});
