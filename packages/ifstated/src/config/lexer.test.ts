import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigProblem } from './errors.js';
import { Lexer, type Token } from './lexer.js';

function tokens(text: string, macros: Record<string, string> = {}): { tokens: string[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const lexer = new Lexer(text, { lookup: (name) => macros[name] }, (problem) => problems.push(problem));
  const out: string[] = [];
  for (let token: Token = lexer.next(); ; token = lexer.next()) {
    const shown = token.type === 'keyword' ? token.keyword : token.type === 'string' ? `S(${token.text})` : token.type === 'number' ? `N(${token.value})`
      : token.type === 'char' ? (token.char === '\n' ? 'NL' : token.char) : token.type.toUpperCase();
    out.push(`${token.line}:${shown}`);
    if (token.type === 'eof') break;
  }
  return { tokens: out, problems };
}

test('em0.link.up is five tokens; && and || are keywords; punctuation stands alone', () => {
  assert.deepEqual(tokens('if ! em0.link.up && (a-b.addr.down || "x y" every 10)\n').tokens, [
    '1:if', '1:!', '1:S(em0)', '1:.', '1:link', '1:.', '1:up', '1:&&', '1:(', '1:S(a-b)', '1:.', '1:addr', '1:.', '1:down', '1:||',
    '1:S(x y)', '1:every', '1:N(10)', '1:)', '1:NL', '2:EOF',
  ]);
});

test('comments, continuation lines and newlines inside strings keep the line count', () => {
  assert.deepEqual(tokens('# a comment\nrun \\\n "a\nb" # trailing\n\nstate').tokens, [
    '1:NL', '2:run', '3:S(ab)', '4:NL', '5:NL', '6:state', '6:EOF',
  ]);
});

test('quotes: either kind, a backslash keeps the quote, other backslashes stay', () => {
  assert.deepEqual(tokens(`'it''s' "say \\"hi\\"" "a\\nb"`).tokens, ['1:S(it)', '1:S(s)', '1:S(say "hi")', '1:S(a\\nb)', '1:EOF']);
});

test('numbers end at a blank ) , / } =, otherwise they are words; a lone - is a character', () => {
  assert.deepEqual(tokens('10 -5 10) 10abc 007 - x').tokens, ['1:N(10)', '1:N(-5)', '1:N(10)', '1:)', '1:S(10abc)', '1:N(7)', '1:-', '1:S(x)', '1:EOF']);
  const big = tokens('99999999999999999999\n');
  assert.deepEqual(big.problems, [{ line: 1, message: '"99999999999999999999" invalid number: too large' }]);
  assert.deepEqual(big.tokens, ['1:ERROR', '1:NL', '2:EOF']);
});

test('macros expand in place and may hold a whole expression; their text is not expanded again', () => {
  const expanded = tokens('if $up run "x"\n', { up: '( em0.link.up && "ping" every 5 )' });
  assert.deepEqual(expanded.tokens, [
    '1:if', '1:(', '1:S(em0)', '1:.', '1:link', '1:.', '1:up', '1:&&', '1:S(ping)', '1:every', '1:N(5)', '1:)', '1:run', '1:S(x)', '1:NL', '2:EOF',
  ]);
  assert.deepEqual(tokens('$a\n', { a: '$b' }).tokens, ['1:$', '1:S(b)', '1:NL', '2:EOF']);
});

test('an undefined macro, an unterminated string and an overlong word are errors with their line', () => {
  const undefinedMacro = tokens('\nif $nope && x\nrun "y"\n');
  assert.deepEqual(undefinedMacro.problems, [{ line: 2, message: 'macro \'nope\' not defined' }]);
  assert.deepEqual(undefinedMacro.tokens, ['1:NL', '2:if', '2:ERROR', '2:NL', '3:run', '3:S(y)', '3:NL', '4:EOF']);
  assert.deepEqual(tokens('run "abc\n\n').problems, [{ line: 3, message: 'reached end of file while parsing quoted string' }]);
  assert.deepEqual(tokens(`${'w'.repeat(9000)}\n`).problems, [{ line: 1, message: 'string too long' }]);
});
