// What the kernel said of each interface, by name — ifstated.conf names
// interfaces — turned into the changes the state machine sees: a link state,
// or an address set becoming empty or not. An interface that goes away (or is
// renamed away) is down and without addresses under its old name; one that
// appears, or takes a name, is seen under it from then on.
import type { LinkState } from '../config/ast.js';
import { countsAsAddress, type MonitorEvent } from './monitor-line.js';

export type InterfaceChange =
  | { kind: 'link'; name: string; state: LinkState }
  | { kind: 'address'; name: string; present: boolean };

interface Entry {
  name: string;
  link: LinkState;
  addresses: Set<string>;
}

export class InterfaceTable {
  private readonly byIndex = new Map<number, Entry>();

  /** The interfaces known now, by name. */
  views(): Map<string, { link: LinkState; addressPresent: boolean }> {
    return new Map([...this.byIndex.values()].map((entry) => [entry.name, { link: entry.link, addressPresent: entry.addresses.size > 0 }]));
  }

  apply(event: MonitorEvent): InterfaceChange[] {
    const changes: InterfaceChange[] = [];
    let entry = this.byIndex.get(event.index);
    if (event.kind === 'link') {
      if (event.deleted) {
        if (entry !== undefined) this.remove(event.index, entry, changes);
        return changes;
      }
      if (entry !== undefined && entry.name !== event.name) {
        this.remove(event.index, entry, changes);
        entry = undefined;
      }
      if (entry === undefined) {
        entry = { name: event.name, link: event.state, addresses: new Set() };
        this.byIndex.set(event.index, entry);
        changes.push({ kind: 'link', name: event.name, state: event.state });
      } else if (entry.link !== event.state) {
        entry.link = event.state;
        changes.push({ kind: 'link', name: entry.name, state: event.state });
      }
      return changes;
    }
    if (!countsAsAddress(event.family, event.address)) return changes;
    if (entry === undefined) {
      if (event.deleted) return changes;
      // An address reported before its link (ip -o addr lists no link state): unknown until told.
      entry = { name: event.name, link: 'unknown', addresses: new Set() };
      this.byIndex.set(event.index, entry);
    }
    const before = entry.addresses.size > 0;
    const key = `${event.family} ${event.address}`;
    if (event.deleted) entry.addresses.delete(key);
    else entry.addresses.add(key);
    const after = entry.addresses.size > 0;
    if (before !== after) changes.push({ kind: 'address', name: entry.name, present: after });
    return changes;
  }

  /**
   * A fresh listing of every interface (after the monitor was restarted): whatever differs
   * from the table is applied as if reported, and interfaces no longer listed go away.
   */
  resync(events: readonly MonitorEvent[]): InterfaceChange[] {
    const changes: InterfaceChange[] = [];
    const listedIndexes = new Set(events.map((event) => event.index));
    for (const [index, entry] of [...this.byIndex]) if (!listedIndexes.has(index)) this.remove(index, entry, changes);
    const listedAddresses = new Map<number, Set<string>>();
    for (const event of events) {
      if (event.kind === 'address' && countsAsAddress(event.family, event.address)) {
        const set = listedAddresses.get(event.index) ?? new Set<string>();
        set.add(`${event.family} ${event.address}`);
        listedAddresses.set(event.index, set);
      }
    }
    for (const event of events) changes.push(...this.apply(event));
    for (const [index, entry] of this.byIndex) {
      const listed = listedAddresses.get(index) ?? new Set<string>();
      const before = entry.addresses.size > 0;
      for (const key of [...entry.addresses]) if (!listed.has(key)) entry.addresses.delete(key);
      if (before && entry.addresses.size === 0) changes.push({ kind: 'address', name: entry.name, present: false });
    }
    return changes;
  }

  private remove(index: number, entry: Entry, changes: InterfaceChange[]): void {
    this.byIndex.delete(index);
    if (entry.link !== 'down') changes.push({ kind: 'link', name: entry.name, state: 'down' });
    if (entry.addresses.size > 0) changes.push({ kind: 'address', name: entry.name, present: false });
  }
}
