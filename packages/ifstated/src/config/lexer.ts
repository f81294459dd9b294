// ifstated.conf's tokens, as parse.y's yylex cuts them:
//   1. Blanks (space, tab) separate tokens; `#` starts a comment to the end of the line;
//      a backslash before a newline joins two lines (outside strings, too).
//   2. `$name` (letters, digits, `_`) is replaced by the macro's text, which is then read
//      as if it stood in the file — so a macro may hold a whole expression. A macro's text
//      is not expanded again, and an undefined macro is an error.
//   3. "..." or '...' is a STRING; inside, a backslash before the quote keeps the quote and
//      before a newline joins the lines; a newline inside a string is dropped.
//   4. A NUMBER is an optional `-` and digits, ended by a blank, `)`, `,`, `/`, `}` or `=`;
//      otherwise the characters are read again as a word.
//   5. A word starts with a letter, digit, `:`, `_`, `&` or `|` and continues over letters,
//      digits and punctuation other than ( ) { } ! = # , . — so `em0.link.up` is five
//      tokens. A word that is a keyword (&&, ||, if, state, ...) is that keyword.
//   6. Any other character is a token by itself: \n { } ( ) ! = . and the rest.
// Errors are reported through `report` with the line, as yyerror does, and the rest of the
// line is skipped (findeol) and returned as one ERROR token.
import type { ConfigProblem } from './errors.js';

export const keywords = [
  '&&', 'added', 'addr', 'down', 'every', 'if', 'init', 'init-state', 'link', 'removed', 'run', 'set-state', 'state', 'unknown', 'up', '||',
] as const;
export type Keyword = (typeof keywords)[number];

export type Token =
  | { type: 'keyword'; keyword: Keyword; line: number }
  | { type: 'string'; text: string; line: number }
  | { type: 'number'; value: bigint; line: number }
  /** One character: '\n', '{', '}', '(', ')', '!', '=', '.', or anything else. */
  | { type: 'char'; char: string; line: number }
  | { type: 'error'; line: number }
  | { type: 'eof'; line: number };

/** parse.y's token buffer is 8096 bytes: a longer string or word is an error. */
export const tokenLengthMax = 8094;
const numberMin = -(2n ** 63n);
const numberMax = 2n ** 63n - 1n;

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlnum = (c: string): boolean => isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isPunct = (c: string): boolean => c.length === 1 && c > ' ' && c <= '~' && !isAlnum(c);
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
const allowedToEndNumber = (c: string): boolean => isSpace(c) || c === ')' || c === ',' || c === '/' || c === '}' || c === '=';
const allowedInWord = (c: string): boolean => isAlnum(c) || (isPunct(c) && !'(){}!=#,.'.includes(c));
const startsWord = (c: string): boolean => isAlnum(c) || c === ':' || c === '_' || c === '&' || c === '|';
const keywordSet: ReadonlySet<string> = new Set(keywords);

const EOF = '';

export interface Macros {
  /** The macro's text (marking it used), or undefined. */
  lookup(name: string): string | undefined;
}

export class Lexer {
  private position = 0;
  /** The line the next character is on. */
  private line = 1;
  private readonly pushback: string[] = [];
  /** A macro's text being read in place of the file. */
  private expansion: { text: string; index: number } | null = null;

  constructor(private readonly text: string, private readonly macros: Macros, private readonly report: (problem: ConfigProblem) => void) {}

  private getc(inQuote: boolean): string {
    if (this.expansion !== null) {
      if (this.expansion.index < this.expansion.text.length) return this.expansion.text[this.expansion.index++]!;
      this.expansion = null;
    }
    if (this.pushback.length > 0) return this.pushback.pop()!;
    if (inQuote) return this.position < this.text.length ? this.text[this.position++]! : EOF;
    let c = this.position < this.text.length ? this.text[this.position++]! : EOF;
    while (c === '\\') {
      const next = this.position < this.text.length ? this.text[this.position++]! : EOF;
      if (next !== '\n') {
        c = next;
        break;
      }
      this.line++;
      c = this.position < this.text.length ? this.text[this.position++]! : EOF;
    }
    return c;
  }

  private ungetc(c: string): void {
    if (c === EOF) return;
    if (this.expansion !== null && this.expansion.index > 0) {
      this.expansion.index--;
      return;
    }
    this.pushback.push(c);
  }

  /** findeol: drop the rest of the line (not its newline, which ends the erroneous line for the parser). */
  private skipLine(line: number): Token {
    this.expansion = null;
    for (;;) {
      const c = this.getc(false);
      if (c === '\n') {
        this.ungetc(c);
        break;
      }
      if (c === EOF) break;
    }
    return { type: 'error', line };
  }

  private error(line: number, message: string): Token {
    this.report({ line, message });
    return this.skipLine(line);
  }

  next(): Token {
    for (;;) {
      let c = this.getc(false);
      while (c === ' ' || c === '\t') c = this.getc(false);
      const line = this.line;
      if (c === '#') {
        do c = this.getc(false); while (c !== '\n' && c !== EOF);
      }
      if (c === '$' && this.expansion === null) {
        let name = '';
        for (;;) {
          c = this.getc(false);
          if (c === EOF) return { type: 'eof', line };
          if (name.length >= tokenLengthMax) return this.error(line, 'string too long');
          if (isAlnum(c) || c === '_') {
            name += c;
            continue;
          }
          this.ungetc(c);
          break;
        }
        const value = this.macros.lookup(name);
        if (value === undefined) return this.error(line, `macro '${name}' not defined`);
        this.expansion = { text: value, index: 0 };
        continue;
      }
      if (c === '"' || c === '\'') return this.quoted(c, line);
      if (c === '-' || isDigit(c)) {
        const number = this.number(c, line);
        if (number !== null) return number;
        c = this.getc(false);
        if (c === '-') return { type: 'char', char: c, line };
      }
      if (startsWord(c)) {
        let word = '';
        do {
          word += c;
          if (word.length > tokenLengthMax) return this.error(line, 'string too long');
          c = this.getc(false);
        } while (c !== EOF && allowedInWord(c));
        this.ungetc(c);
        if (keywordSet.has(word)) return { type: 'keyword', keyword: word as Keyword, line };
        return { type: 'string', text: word, line };
      }
      if (c === '\n') this.line++;
      if (c === EOF) return { type: 'eof', line };
      return { type: 'char', char: c, line };
    }
  }

  private quoted(quote: string, line: number): Token {
    let text = '';
    for (;;) {
      let c = this.getc(true);
      if (c === EOF) {
        this.report({ line: this.line, message: 'reached end of file while parsing quoted string' });
        return { type: 'eof', line: this.line };
      }
      if (c === '\n') {
        this.line++;
        continue;
      }
      if (c === '\\') {
        const next = this.getc(true);
        if (next === EOF) {
          this.report({ line: this.line, message: 'reached end of file while parsing quoted string' });
          return { type: 'eof', line: this.line };
        }
        if (next === quote) {
          c = next;
        } else if (next === '\n') {
          this.line++;
          continue;
        } else {
          this.ungetc(next);
        }
      } else if (c === quote) {
        return { type: 'string', text, line };
      }
      if (text.length >= tokenLengthMax) return this.error(line, 'string too long');
      text += c;
    }
  }

  /** A NUMBER, or null with the characters read put back (the caller reads them as a word or a '-'). */
  private number(first: string, line: number): Token | null {
    let digits = first;
    let c: string;
    for (;;) {
      c = this.getc(false);
      if (c === EOF || !isDigit(c)) break;
      digits += c;
      if (digits.length > tokenLengthMax) return this.error(line, 'string too long');
    }
    this.ungetc(c);
    if (digits !== '-' && (c === EOF || allowedToEndNumber(c))) {
      const value = BigInt(digits);
      if (value < numberMin) return this.error(line, `"${digits}" invalid number: too small`);
      if (value > numberMax) return this.error(line, `"${digits}" invalid number: too large`);
      return { type: 'number', value, line };
    }
    for (let i = digits.length - 1; i >= 0; i--) this.ungetc(digits[i]!);
    return null;
  }
}
