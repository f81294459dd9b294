// The disciplines by RAID level: one exhaustive switch.
import { assertNever } from '@openbsd38/libutil/assert.js';
import type { RaidLevel } from '@openbsd38/bio/levels.js';
import { concat } from './concat.js';
import { raid0 } from './raid0.js';
import { raid1 } from './raid1.js';
import { raid5 } from './raid5.js';
import { raid6 } from './raid6.js';
import { crypto } from './crypto.js';
import { raid1c } from './raid1c.js';
import type { Discipline } from './discipline.js';

/** The discipline serving a level. */
export function disciplineFor(level: RaidLevel): Discipline {
  switch (level) {
    case 'raid0': return raid0;
    case 'raid1': return raid1;
    case 'raid5': return raid5;
    case 'concat': return concat;
    case 'raid6': return raid6;
    case 'crypto': return crypto;
    case 'raid1c': return raid1c;
    default: return assertNever(level, 'unknown RAID level');
  }
}
