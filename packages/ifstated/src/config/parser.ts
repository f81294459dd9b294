// ifstated.conf's grammar, as parse.y declares it (its BNF in ifstated.conf(5)):
//   grammar     = { [ "init-state" string | varset | action | state ] "\n" }
//   varset      = STRING "=" string                 string = STRING { STRING }  (joined by spaces)
//   action      = "run" STRING | "set-state" STRING | "if" expr action_block
//   action_block= optnl "{" optnl action nl { action nl } "}" | optnl action
//   state       = "state" string optnl "{" optnl stateopt { stateopt } "}"
//   stateopt    = ( "init" action_block | action ) nl
//   expr        = expr ( "&&" | "||" ) expr | "!" expr | term      (&& and || equal, left; ! binds tightest)
//   term        = IF "." "link" "." ( "up" | "down" | "unknown" )
//               | IF "." "addr" "." ( "up" | "down" )            (this port's addition)
//               | STRING "every" NUMBER | "(" expr ")"
// A recursive descent with one token of lookahead that accepts the same files. On an error
// it does what yacc's `grammar error '\n'` rule does: report, skip to the end of the line,
// go on at the top level — so every problem of a file is reported in one run, each with its
// line, and a file with any problem is refused as a whole.
import { assert } from '@openbsd38/libutil/assert.js';
import type { Action, Expression, IfstatedConfig, StateDefinition, Term } from './ast.js';
import { IfstatedConfigError, type ConfigProblem } from './errors.js';
import { Lexer, type Keyword, type Token } from './lexer.js';

export interface ParseOptions {
  /** Macros from -D: they win over the file's definitions. */
  commandLineMacros?: ReadonlyMap<string, string>;
  /** Whether an interface exists now (parse.y's if_nametoindex). */
  interfaceExists(name: string): boolean;
  /** -v: each macro definition is printed as `name = "value"`. */
  onMacro?(name: string, value: string): void;
  /** -vv: a macro defined and never used. */
  onUnusedMacro?(name: string): void;
}

/** The interval of an `every` test: more than 0, at most UINT_MAX. */
export const everySecondsMax = 4294967295;

class ParseAbort {
  constructor(readonly reported: boolean) {}
}

interface Macro {
  value: string;
  used: boolean;
  fromCommandLine: boolean;
}

/** "name=value" from -D (the last '=' splits, as cmdline_symset's strrchr). */
export function parseMacroDefinition(definition: string): { name: string; value: string } | null {
  const equals = definition.lastIndexOf('=');
  if (equals === -1) return null;
  return { name: definition.slice(0, equals), value: definition.slice(equals + 1) };
}

export function parseIfstatedConfig(text: string, file: string, options: ParseOptions): IfstatedConfig {
  const problems: ConfigProblem[] = [];
  const report = (problem: ConfigProblem): void => { problems.push(problem); };
  const macros = new Map<string, Macro>();
  for (const [name, value] of options.commandLineMacros ?? []) macros.set(name, { value, used: false, fromCommandLine: true });
  const lexer = new Lexer(text, {
    lookup(name) {
      const macro = macros.get(name);
      if (macro === undefined) return undefined;
      macro.used = true;
      return macro.value;
    },
  }, report);

  let lookahead: Token = lexer.next();
  const advance = (): Token => {
    const token = lookahead;
    lookahead = lexer.next();
    return token;
  };
  const isChar = (char: string): boolean => lookahead.type === 'char' && lookahead.char === char;
  const isKeyword = (keyword: Keyword): boolean => lookahead.type === 'keyword' && lookahead.keyword === keyword;
  /** A newline, or the end of the file (parse.y wants a newline; a last line without one is accepted here). */
  const atLineEnd = (): boolean => isChar('\n') || lookahead.type === 'eof';
  const syntaxError = (): never => {
    report({ line: lookahead.line, message: 'syntax error' });
    throw new ParseAbort(true);
  };
  /** A semantic error (yacc's YYERROR): the message, then the same recovery as a syntax error. */
  const fail = (line: number, message: string): never => {
    report({ line, message });
    throw new ParseAbort(true);
  };
  const expectChar = (char: string): void => {
    if (!isChar(char)) syntaxError();
    advance();
  };
  const expectKeyword = (keyword: Keyword): void => {
    if (!isKeyword(keyword)) syntaxError();
    advance();
  };
  const expectString = (): { text: string; line: number } => {
    if (lookahead.type !== 'string') return syntaxError();
    const token = advance() as Extract<Token, { type: 'string' }>;
    return { text: token.text, line: token.line };
  };
  const optionalNewlines = (): void => {
    while (isChar('\n')) advance();
  };
  const newlines = (): void => {
    expectChar('\n');
    optionalNewlines();
  };
  /** string: one STRING or more, joined by a space. */
  const strings = (): { text: string; line: number } => {
    const first = expectString();
    let text = first.text;
    while (lookahead.type === 'string') text += ` ${(advance() as Extract<Token, { type: 'string' }>).text}`;
    return { text, line: first.line };
  };

  const states: StateDefinition[] = [];
  const stateNames = new Set<string>();
  const global: IfstatedConfig['global'] = { init: [], body: [] };
  let currentState: StateDefinition | null = null;
  let initStateName: { name: string; line: number } | null = null;
  const setStates: { stateName: string; line: number }[] = [];

  const term = (): Expression => {
    if (isChar('(')) {
      advance();
      const inner = expression();
      expectChar(')');
      return inner;
    }
    const subject = expectString();
    if (isKeyword('every')) {
      advance();
      if (lookahead.type !== 'number') return syntaxError();
      const number = advance() as Extract<Token, { type: 'number' }>;
      if (number.value <= 0n || number.value > BigInt(everySecondsMax)) fail(number.line, `invalid interval: ${number.value}`);
      return { kind: 'external', command: subject.text, everySeconds: Number(number.value), line: subject.line };
    }
    if (!isChar('.')) return syntaxError();
    if (!options.interfaceExists(subject.text)) fail(lookahead.line, `unknown interface ${subject.text}`);
    advance();
    let found: Term;
    if (isKeyword('link')) {
      advance();
      expectChar('.');
      if (lookahead.type !== 'keyword' || !['up', 'down', 'unknown'].includes(lookahead.keyword)) return syntaxError();
      const state = (advance() as Extract<Token, { type: 'keyword' }>).keyword as 'up' | 'down' | 'unknown';
      found = { kind: 'link', interfaceName: subject.text, state, line: subject.line };
    } else if (isKeyword('addr')) {
      advance();
      expectChar('.');
      if (!isKeyword('up') && !isKeyword('down')) return syntaxError();
      const present = (advance() as Extract<Token, { type: 'keyword' }>).keyword === 'up';
      found = { kind: 'address', interfaceName: subject.text, present, line: subject.line };
    } else {
      return syntaxError();
    }
    return found;
  };
  const unary = (): Expression => {
    if (isChar('!')) {
      advance();
      return { kind: 'not', operand: unary() };
    }
    return term();
  };
  function expression(): Expression {
    let left = unary();
    while (isKeyword('&&') || isKeyword('||')) {
      const kind = (advance() as Extract<Token, { type: 'keyword' }>).keyword === '&&' ? 'and' : 'or';
      left = { kind, left, right: unary() };
    }
    return left;
  }

  const actionBlock = (): Action[] => {
    optionalNewlines();
    if (!isChar('{')) return [action()];
    advance();
    optionalNewlines();
    const actions: Action[] = [];
    do {
      actions.push(action());
      newlines();
    } while (!isChar('}'));
    advance();
    return actions;
  };
  function action(): Action {
    const token = lookahead;
    if (isKeyword('run')) {
      advance();
      return { kind: 'run', command: expectString().text, line: token.line };
    }
    if (isKeyword('set-state')) {
      advance();
      const target = expectString();
      if (currentState === null) fail(target.line, 'set-state must be used inside \'if\'');
      setStates.push({ stateName: target.text, line: target.line });
      return { kind: 'set-state', stateName: target.text, line: token.line };
    }
    if (isKeyword('if')) {
      advance();
      const condition = expression();
      return { kind: 'if', condition, actions: actionBlock(), line: token.line };
    }
    return syntaxError();
  }

  const state = (): void => {
    expectKeyword('state');
    const name = strings();
    if (stateNames.has(name.text)) fail(name.line, `state ${name.text} already exists`);
    const definition: StateDefinition = { name: name.text, line: name.line, init: [], body: [] };
    currentState = definition;
    optionalNewlines();
    expectChar('{');
    optionalNewlines();
    do {
      if (isKeyword('init')) {
        advance();
        definition.init.push(...actionBlock());
      } else {
        definition.body.push(action());
      }
      newlines();
    } while (!isChar('}'));
    advance();
    currentState = null;
    states.push(definition);
    stateNames.add(definition.name);
  };

  const entry = (): void => {
    if (isKeyword('init-state')) {
      advance();
      const name = expectString();
      initStateName = { name: name.text, line: name.line };
    } else if (isKeyword('state')) {
      state();
    } else if (lookahead.type === 'string') {
      const name = expectString();
      expectChar('=');
      const value = strings();
      options.onMacro?.(name.text, value.text);
      if (macros.get(name.text)?.fromCommandLine !== true) macros.set(name.text, { value: value.text, used: false, fromCommandLine: false });
    } else {
      global.body.push(action());
    }
  };

  while (lookahead.type !== 'eof') {
    if (isChar('\n')) {
      advance();
      continue;
    }
    try {
      entry();
      if (!atLineEnd()) syntaxError();
    } catch (error) {
      if (!(error instanceof ParseAbort)) throw error;
      currentState = null;
      while (!atLineEnd()) advance();
    }
  }

  for (const reference of setStates) {
    if (!stateNames.has(reference.stateName)) report({ line: reference.line, message: `state '${reference.stateName}' not declared` });
  }
  let initialState: string | null = states[0]?.name ?? null;
  if (initStateName !== null) {
    const { name, line } = initStateName;
    if (stateNames.has(name)) initialState = name;
    else report({ line, message: `invalid start state ${name}` });
  }
  for (const [name, macro] of macros) if (!macro.used) options.onUnusedMacro?.(name);
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line);
    throw new IfstatedConfigError(file, problems);
  }
  assert(initialState === null || stateNames.has(initialState), 'the initial state is declared');
  return { global, states, initialState };
}
