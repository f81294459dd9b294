// One line of `ip -o monitor link address` (or of `ip -o link` / `ip -o addr`):
//   [Deleted ]IDX: NAME[@PEER]: <FLAGS> mtu N ... state STATE ...        a link
//   [Deleted ]IDX: NAME    inet|inet6 ADDRESS/PREFIX ... scope SCOPE ...   an address
// Anything else (a route, a neighbour, a line ip prints for itself) is null.
import type { LinkState } from '../config/ast.js';
import { linkStateFromOperstate } from './link-state.js';

export type MonitorEvent =
  | { kind: 'link'; index: number; name: string; state: LinkState; deleted: boolean }
  | { kind: 'address'; index: number; name: string; family: 'inet' | 'inet6'; address: string; deleted: boolean };

const linkPattern = /^(Deleted )?(\d+): ([^\s:@]+)(?:@[^\s:]*)?: <[^>]*>.* state (\S+)/;
const addressPattern = /^(Deleted )?(\d+): (\S+)\s+(inet6?) ([0-9A-Fa-f.:]+(?:\/\d+)?)/;

export function parseMonitorLine(line: string): MonitorEvent | null {
  const link = linkPattern.exec(line);
  if (link !== null) {
    return { kind: 'link', index: Number(link[2]), name: link[3]!, state: linkStateFromOperstate(link[4]!), deleted: link[1] !== undefined };
  }
  const address = addressPattern.exec(line);
  if (address !== null) {
    return {
      kind: 'address', index: Number(address[2]), name: address[3]!, family: address[4] as 'inet' | 'inet6',
      address: address[5]!, deleted: address[1] !== undefined,
    };
  }
  return null;
}

/** Whether an address counts for `IF.addr.up`: any but IPv6 link-local ones, which every interface gets as it comes up. */
export function countsAsAddress(family: 'inet' | 'inet6', address: string): boolean {
  return !(family === 'inet6' && /^fe[89ab]/i.test(address));
}
