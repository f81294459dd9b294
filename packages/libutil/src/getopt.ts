// getopt(3) as OpenBSD implements it (POSIX rules): options end at the
// first non-option argument or at "--" (which is consumed); "-" alone is an
// operand; flags cluster ("-hv"); an option's argument is the rest of its
// cluster ("-c5") or else the next argument, whatever it looks like
// ("-c -1"). A long-option extension in the getopt_long style ("--json",
// "--strip-size=64k" or "--strip-size 64k") sits beside it; OpenBSD's
// bioctl has none, so they are all additions of this port.

export interface LongOption {
  name: string;
  hasArgument: boolean;
}

export interface ParsedOption {
  /** The option letter, or the long option's name. */
  name: string;
  value?: string;
}

export type GetoptResult =
  | { ok: true; options: ParsedOption[]; operands: string[] }
  /** The diagnostic getopt prints (without the program name), before the caller's usage(). */
  | { ok: false; diagnostic: string };

/** Parse "a:b:cd" into letter -> takes an argument. */
function parseOptstring(optstring: string): Map<string, boolean> {
  const letters = new Map<string, boolean>();
  for (let i = 0; i < optstring.length; i++) {
    const letter = optstring[i]!;
    const takesArgument = optstring[i + 1] === ':';
    letters.set(letter, takesArgument);
    if (takesArgument) i++;
  }
  return letters;
}

export function getopt(argv: readonly string[], optstring: string, longOptions: readonly LongOption[] = []): GetoptResult {
  const letters = parseOptstring(optstring);
  const options: ParsedOption[] = [];
  let index = 0;
  while (index < argv.length) {
    const argument = argv[index]!;
    if (argument === '--') {
      index++;
      break;
    }
    if (argument.startsWith('--')) {
      const equals = argument.indexOf('=');
      const name = argument.slice(2, equals === -1 ? undefined : equals);
      const option = longOptions.find((candidate) => candidate.name === name);
      if (!option) return { ok: false, diagnostic: `unknown option -- ${name}` };
      if (!option.hasArgument) {
        if (equals !== -1) return { ok: false, diagnostic: `option doesn't take an argument -- ${name}` };
        options.push({ name });
        index++;
        continue;
      }
      if (equals !== -1) {
        options.push({ name, value: argument.slice(equals + 1) });
        index++;
        continue;
      }
      const value = argv[index + 1];
      if (value === undefined) return { ok: false, diagnostic: `option requires an argument -- ${name}` };
      options.push({ name, value });
      index += 2;
      continue;
    }
    if (!argument.startsWith('-') || argument === '-') break;
    // A cluster of letters: "-hv", "-c5", "-hc" "5".
    let position = 1;
    index++;
    while (position < argument.length) {
      const letter = argument[position]!;
      const takesArgument = letters.get(letter);
      if (takesArgument === undefined || letter === ':') return { ok: false, diagnostic: `unknown option -- ${letter}` };
      if (!takesArgument) {
        options.push({ name: letter });
        position++;
        continue;
      }
      if (position + 1 < argument.length) {
        options.push({ name: letter, value: argument.slice(position + 1) });
      } else {
        const value = argv[index];
        if (value === undefined) return { ok: false, diagnostic: `option requires an argument -- ${letter}` };
        options.push({ name: letter, value });
        index++;
      }
      break;
    }
  }
  return { ok: true, options, operands: argv.slice(index) };
}
