// What an ifstated.conf declares, as parse.y builds it: a global ("always")
// body, named states each with an init block and a body, and the state to
// start in. Every node keeps its line for messages.

/** OpenBSD's three link states (for carp(4): master, backup, init). */
export const linkStates = ['up', 'down', 'unknown'] as const;
export type LinkState = (typeof linkStates)[number];

export type Term =
  | { kind: 'link'; interfaceName: string; state: LinkState; line: number }
  /** This port's addition: `IF.addr.up` (the interface has an address) and `IF.addr.down` (it has none). */
  | { kind: 'address'; interfaceName: string; present: boolean; line: number }
  /** `"command" every N`: true while the command's last completed run exited 0. */
  | { kind: 'external'; command: string; everySeconds: number; line: number };

export type Expression =
  | Term
  | { kind: 'not'; operand: Expression }
  | { kind: 'and' | 'or'; left: Expression; right: Expression };

export type Action =
  | { kind: 'run'; command: string; line: number }
  | { kind: 'set-state'; stateName: string; line: number }
  | { kind: 'if'; condition: Expression; actions: Action[]; line: number };

export interface StateBlock {
  init: Action[];
  body: Action[];
}

export interface StateDefinition extends StateBlock {
  name: string;
  line: number;
}

export interface IfstatedConfig {
  /** The global actions, evaluated on every event alongside the current state's body (no init: parse.y allows none). */
  global: StateBlock;
  states: StateDefinition[];
  /** init-state's state, else the first state defined; null when the file defines no state. */
  initialState: string | null;
}
