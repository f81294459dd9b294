// Expands member patterns for assembly by scanning, e.g. "/dev/loop*" or
// "/srv/raid/disk[0-3].img": shell-style * ? [...] in any path component
// below a literal root. NBD URIs and plain paths pass through unchanged.
// Node 20 has no fs.glob, and this is all softraidd needs of one.
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { isNbdUri } from './nbd.js';

/** Directory entries examined per pattern at most: a pattern never walks a whole filesystem. */
export const globEntriesMax = 100_000;

function hasMagic(component: string): boolean {
  return /[*?[]/.test(component);
}

/** A shell pattern component as an anchored regular expression ("*" does not match a leading dot). */
export function componentPattern(component: string): RegExp {
  let source = '';
  for (let i = 0; i < component.length; i++) {
    const c = component[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = component.indexOf(']', i + 2);
      if (close < 0) { source += '\\['; continue; }
      let set = component.slice(i + 1, close);
      if (set.startsWith('!')) set = `^${set.slice(1)}`;
      source += `[${set.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  const leadingDot = component.startsWith('.') ? '' : '(?!\\.)';
  return new RegExp(`^${leadingDot}${source}$`);
}

/** Every existing path matching `pattern`, sorted; [] when nothing matches. */
export async function expandGlob(pattern: string): Promise<string[]> {
  if (!hasMagic(pattern)) return [pattern];
  const absolute = isAbsolute(pattern) ? pattern : resolve(pattern);
  const components = absolute.split('/').filter((part) => part.length > 0);
  let candidates = ['/'];
  let examined = 0;
  for (const component of components) {
    if (!hasMagic(component)) {
      candidates = candidates.map((dir) => join(dir, component));
      continue;
    }
    const matcher = componentPattern(component);
    const next: string[] = [];
    for (const dir of candidates) {
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch {
        continue;
      }
      examined += entries.length;
      if (examined > globEntriesMax) throw new Error(`pattern ${pattern} examines more than ${globEntriesMax} directory entries`);
      for (const entry of entries) if (matcher.test(entry)) next.push(join(dir, entry));
    }
    candidates = next;
  }
  // What a pattern finds is a member only if it can hold one: /dev/loop* also matches
  // /dev/loop-control, a character device, and a directory is no member either.
  const members: string[] = [];
  for (const candidate of candidates) {
    const found = await stat(candidate).catch(() => null);
    if (found !== null && (found.isFile() || found.isBlockDevice())) members.push(candidate);
  }
  return members.sort();
}

/** Expands each name that is a pattern; keeps NBD URIs and plain names; drops duplicates, keeps order. */
export async function expandChunkNames(names: readonly string[]): Promise<string[]> {
  const expanded: string[] = [];
  for (const name of names) {
    if (isNbdUri(name)) expanded.push(name);
    else expanded.push(...await expandGlob(name));
  }
  return [...new Set(expanded)];
}
