// The getcap(3) database format sensorsd.conf(5) is written in: one record
// per logical line (a backslash before the newline continues it), blank
// lines and lines starting with "#" are comments, fields separated by ":".
// The first field names the record (aliases separated by "|"); the others
// are capabilities: `name` (boolean), `name=string`, `name#number`, and
// `name@` (cancelled). String escapes: \E \e (escape), \n \r \t \b \f,
// \: \\ \^, three octal digits, and ^X for control characters.

export class CapabilityError extends Error {
  override name = 'CapabilityError';
  constructor(readonly line: number, message: string) {
    super(message);
  }
}

export type Capability =
  | { kind: 'flag' }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'cancelled' };

export interface CapabilityRecord {
  names: string[];
  /** First occurrence wins, as cgetent's lookups find the first. */
  capabilities: Map<string, Capability>;
  /** Line the record starts on (1-based). */
  line: number;
}

/** Splits at ":" not escaped by a backslash. */
function fields(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1]!;
      i++;
    } else if (c === ':') {
      out.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  out.push(current);
  return out;
}

function unescape(value: string, line: number): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '^' && i + 1 < value.length) {
      out += String.fromCharCode(value.charCodeAt(++i) & 0x1f);
    } else if (c === '\\') {
      const next = value[++i];
      if (next === undefined) throw new CapabilityError(line, 'a backslash ends the value');
      const simple: Record<string, string> = { E: '\x1b', e: '\x1b', n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };
      if (simple[next] !== undefined) out += simple[next];
      else if (/[0-7]/.test(next)) {
        const digits = value.slice(i, i + 3);
        if (!/^[0-7]{3}$/.test(digits)) throw new CapabilityError(line, `bad octal escape \\${digits}`);
        out += String.fromCharCode(parseInt(digits, 8));
        i += 2;
      } else out += next;
    } else {
      out += c;
    }
  }
  return out;
}

export function parseCapabilityDatabase(text: string): CapabilityRecord[] {
  const records: CapabilityRecord[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const startLine = index + 1;
    let logical = lines[index]!;
    while (logical.endsWith('\\') && index + 1 < lines.length) {
      logical = logical.slice(0, -1) + lines[++index]!;
    }
    if (logical.endsWith('\\')) throw new CapabilityError(startLine, 'the last line ends with a backslash');
    if (logical.trim() === '' || /^\s*#/.test(logical)) continue;
    const [head = '', ...rest] = fields(logical);
    const names = head.split('|').map((name) => name.trim());
    if (names.some((name) => name === '' || /\s/.test(name))) {
      throw new CapabilityError(startLine, `malformed record name ${JSON.stringify(head.trim())}`);
    }
    const capabilities = new Map<string, Capability>();
    for (const rawField of rest) {
      const field = rawField.trim();
      if (field === '') continue;
      const match = /^([^=#@]+)([=#@]?)(.*)$/s.exec(field);
      if (match === null) throw new CapabilityError(startLine, `malformed capability ${JSON.stringify(field)}`);
      const [, name = '', sigil, value = ''] = match;
      if (/\s/.test(name)) throw new CapabilityError(startLine, `malformed capability ${JSON.stringify(field)}`);
      let capability: Capability;
      if (sigil === '=') capability = { kind: 'string', value: unescape(value, startLine) };
      else if (sigil === '#') {
        const number = /^0x[0-9a-f]+$/i.test(value) ? parseInt(value, 16) : /^0[0-7]*$/.test(value) ? parseInt(value, 8) : /^\d+$/.test(value) ? Number(value) : NaN;
        if (!Number.isSafeInteger(number)) throw new CapabilityError(startLine, `capability ${name}: not a number: ${JSON.stringify(value)}`);
        capability = { kind: 'number', value: number };
      } else if (sigil === '@') {
        if (value !== '') throw new CapabilityError(startLine, `malformed capability ${JSON.stringify(field)}`);
        capability = { kind: 'cancelled' };
      } else {
        capability = { kind: 'flag' };
      }
      if (!capabilities.has(name)) capabilities.set(name, capability);
    }
    records.push({ names, capabilities, line: startLine });
  }
  return records;
}
