// The state machine of ifstated.c, without I/O: link and address events come
// in, commands and test runs go out through the host.
//   1. A term's value: a link term is true while the interface's last reported link state
//      is the term's; an address term while the interface has (up) or lacks (down) an
//      address; an external test while its last completed run exited 0. With -i the first
//      state reported for an interface (or the first result of a test) is only recorded:
//      nothing is true of it and nothing runs until it changes.
//   2. An event re-evaluates the global body if one of its terms changed, then the current
//      state's body if one of its terms changed (ifstated.c's scan_ifstate). Evaluating a
//      body runs every action whose conditions hold *now* — not only the ones that changed.
//   3. set-state takes effect after the whole body ran: "changing state to X", the old
//      state's tests are stopped (a running one is killed), the new state's tests start
//      (each runs at once, then every N seconds), its init block runs, then its body.
//   4. A body is not evaluated until every test of its state has completed once since the
//      state was entered (ifstated.c ran the first round synchronously; here nothing blocks:
//      the body waits for the round instead). A test killed for overrunning counts as done.
//   5. State changes caused by one event are bounded (stateChangesPerEventMax): a loop of
//      set-states is stopped and said, where ifstated.c would spin forever.
import { assert, assertNever } from '@openbsd38/libutil/assert.js';
import type { Action, IfstatedConfig, LinkState, StateBlock, Term } from '../config/ast.js';
import { evaluate, termsOf } from './expression.js';
import { LogLevel } from './log-level.js';

export const stateChangesPerEventMax = 64;

export type TestOutcome =
  | { kind: 'exited'; status: number }
  /** Killed by a signal ifstated did not send. */
  | { kind: 'abnormal' }
  /** Killed by ifstated because it was due again while still running. */
  | { kind: 'overrun' };

export interface TestHandle {
  stop(): void;
}

export interface MachineHost {
  log(level: LogLevel, line: string): void;
  /** A `run` action's command: queued, run in order, never waited for here. */
  run(command: string): void;
  /** Run `command` now and every `everySeconds`, reporting each run's outcome until stopped. */
  startTest(command: string, everySeconds: number, report: (outcome: TestOutcome) => void): TestHandle;
}

export interface InterfaceView {
  link: LinkState;
  addressPresent: boolean;
}

export interface MachineOptions {
  /** -i: the first state of each interface and the first result of each test are only recorded. */
  ignoreInitial: boolean;
}

/** A value as last reported, and the value terms see (null: never seen, or -i's first report). */
interface Observed<T> {
  reported: T | null;
  effective: T | null;
}

interface TestRuntime extends Observed<number> {
  command: string;
  everySeconds: number;
  completedSinceEntry: boolean;
  handle: TestHandle | null;
}

interface StateRuntime {
  /** null: the global ("always") block. */
  name: string | null;
  block: StateBlock;
  interfaces: ReadonlySet<string>;
  tests: Map<string, TestRuntime>;
  bodyPending: boolean;
}

const testKey = (command: string, everySeconds: number): string => `${everySeconds}\u0000${command}`;

function observe<T>(record: Observed<T>, value: T, ignoreInitial: boolean): boolean {
  if (record.reported === value) return false;
  const first = record.reported === null;
  record.reported = value;
  if (first && ignoreInitial) return false;
  record.effective = value;
  return true;
}

export class IfstatedMachine {
  private readonly global: StateRuntime;
  private readonly states = new Map<string, StateRuntime>();
  private readonly links = new Map<string, Observed<LinkState>>();
  private readonly addresses = new Map<string, Observed<boolean>>();
  private current: StateRuntime | null = null;
  private next: StateRuntime | null = null;
  private stopped = false;

  constructor(private readonly config: IfstatedConfig, private readonly host: MachineHost, private readonly options: MachineOptions) {
    this.global = this.runtime(null, config.global);
    for (const state of config.states) this.states.set(state.name, this.runtime(state.name, state));
  }

  get currentState(): string | null {
    return this.current?.name ?? null;
  }

  private runtime(name: string | null, block: StateBlock): StateRuntime {
    const terms = [...termsOf(block.init), ...termsOf(block.body)];
    const tests = new Map<string, TestRuntime>();
    for (const term of terms) {
      if (term.kind !== 'external') continue;
      const key = testKey(term.command, term.everySeconds);
      if (!tests.has(key)) {
        tests.set(key, { command: term.command, everySeconds: term.everySeconds, reported: null, effective: null, completedSinceEntry: false, handle: null });
      }
    }
    const interfaces = new Set(terms.flatMap((term) => (term.kind === 'external' ? [] : [term.interfaceName])));
    return { name, block, interfaces, tests, bodyPending: false };
  }

  /** load_config: the interfaces' states as they are (nothing runs for them), the global tests, then the initial state. */
  start(interfaces: ReadonlyMap<string, InterfaceView>): void {
    for (const [name, view] of interfaces) {
      observe(this.record(this.links, name), view.link, this.options.ignoreInitial);
      observe(this.record(this.addresses, name), view.addressPresent, this.options.ignoreInitial);
    }
    this.startTests(this.global);
    this.evaluateState(this.global);
    if (this.config.initialState !== null) {
      this.host.log(LogLevel.normal, `initial state: ${this.config.initialState}`);
      this.next = this.states.get(this.config.initialState) ?? null;
      assert(this.next !== null, 'the initial state exists');
      this.processStateChanges();
    }
  }

  linkChanged(interfaceName: string, state: LinkState): void {
    if (this.stopped || !observe(this.record(this.links, interfaceName), state, this.options.ignoreInitial)) return;
    this.interfaceChanged(interfaceName);
  }

  addressChanged(interfaceName: string, present: boolean): void {
    if (this.stopped || !observe(this.record(this.addresses, interfaceName), present, this.options.ignoreInitial)) return;
    this.interfaceChanged(interfaceName);
  }

  /** Stop every test (killing running ones); nothing runs afterwards. */
  stop(): void {
    this.stopped = true;
    this.stopTests(this.global);
    if (this.current !== null) this.stopTests(this.current);
  }

  private record<T>(table: Map<string, Observed<T>>, name: string): Observed<T> {
    let record = table.get(name);
    if (record === undefined) {
      record = { reported: null, effective: null };
      table.set(name, record);
    }
    return record;
  }

  private interfaceChanged(interfaceName: string): void {
    if (this.global.interfaces.has(interfaceName)) this.evaluateState(this.global);
    if (this.current !== null && this.current.interfaces.has(interfaceName)) this.evaluateState(this.current);
  }

  private termValue(state: StateRuntime, term: Term): boolean {
    switch (term.kind) {
      case 'link': return this.links.get(term.interfaceName)?.effective === term.state;
      case 'address': return this.addresses.get(term.interfaceName)?.effective === term.present;
      case 'external': {
        const test = state.tests.get(testKey(term.command, term.everySeconds));
        assert(test !== undefined, 'every external term has its test');
        return test.effective === 0;
      }
      default: return assertNever(term);
    }
  }

  private testsDone(state: StateRuntime): boolean {
    for (const test of state.tests.values()) if (!test.completedSinceEntry) return false;
    return true;
  }

  private evaluateState(state: StateRuntime): void {
    if (this.stopped || (state !== this.global && state !== this.current)) return;
    if (!this.testsDone(state)) {
      state.bodyPending = true;
      return;
    }
    state.bodyPending = false;
    this.perform(state, state.block.body);
    this.processStateChanges();
  }

  private perform(state: StateRuntime, actions: readonly Action[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case 'run':
          this.host.log(LogLevel.normal, `running ${action.command}`);
          this.host.run(action.command);
          break;
        case 'set-state':
          this.next = this.states.get(action.stateName) ?? null;
          assert(this.next !== null, `state ${action.stateName} was checked by the parser`);
          break;
        case 'if':
          if (evaluate(action.condition, (term) => this.termValue(state, term))) this.perform(state, action.actions);
          break;
        default: assertNever(action);
      }
    }
  }

  private processStateChanges(): void {
    let changes = 0;
    while (!this.stopped && this.next !== null) {
      const target = this.next;
      if (target === this.current) {
        this.next = null;
        break;
      }
      if (++changes > stateChangesPerEventMax) {
        this.host.log(LogLevel.quiet, `${stateChangesPerEventMax} state changes in one event: a set-state loop; staying in ${this.current?.name ?? ''}`);
        this.next = null;
        break;
      }
      this.next = null;
      this.host.log(LogLevel.normal, `changing state to ${target.name ?? ''}`);
      if (this.current !== null) {
        this.stopTests(this.current);
        this.current.bodyPending = false;
      }
      this.current = target;
      this.startTests(target);
      this.perform(target, target.block.init);
      if (!this.testsDone(target)) {
        // The body (and a set-state of the init block) waits for the first round of tests.
        target.bodyPending = true;
        break;
      }
      this.perform(target, target.block.body);
    }
  }

  private startTests(state: StateRuntime): void {
    for (const test of state.tests.values()) {
      test.completedSinceEntry = false;
      let live = true;
      const handle = this.host.startTest(test.command, test.everySeconds, (outcome) => {
        if (live) this.testFinished(state, test, outcome);
      });
      test.handle = {
        stop(): void {
          live = false;
          handle.stop();
        },
      };
    }
  }

  private stopTests(state: StateRuntime): void {
    for (const test of state.tests.values()) {
      test.handle?.stop();
      test.handle = null;
    }
  }

  private testFinished(state: StateRuntime, test: TestRuntime, outcome: TestOutcome): void {
    if (this.stopped) return;
    test.completedSinceEntry = true;
    let changed = false;
    if (outcome.kind === 'exited') changed = observe(test, outcome.status, this.options.ignoreInitial);
    else if (outcome.kind === 'abnormal') this.host.log(LogLevel.quiet, `${test.command} exited abnormally`);
    if (state.bodyPending ? this.testsDone(state) : changed) this.evaluateState(state);
  }
}
