// Linux's operational state (RFC 2863, /sys/class/net/IF/operstate and the
// "state" of `ip link`) as OpenBSD's three link states. An interface whose
// driver says nothing of its link (lo, tun, wireguard) reports "unknown", as
// such drivers do on OpenBSD.
import type { LinkState } from '../config/ast.js';

export function linkStateFromOperstate(operstate: string): LinkState {
  switch (operstate.trim().toLowerCase()) {
    case 'up': return 'up';
    case 'down': case 'lowerlayerdown': case 'notpresent': return 'down';
    default: return 'unknown'; // unknown, dormant, testing
  }
}

/** A name Linux accepts for an interface (IFNAMSIZ 16 with its NUL; no '/', no blank, not . or ..). */
export function isInterfaceName(name: string): boolean {
  return name.length > 0 && name.length < 16 && name !== '.' && name !== '..' && !/[/\s:]/.test(name);
}
