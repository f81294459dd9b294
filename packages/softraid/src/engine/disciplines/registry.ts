// The disciplines by RAID level: one exhaustive switch.
import { assertNever } from '@openbsd38/libutil/assert.js';
import { SoftraidError } from '../errors.js';
import type { RaidLevel } from '@openbsd38/bio/levels.js';
import { concat } from './concat.js';
import { raid0 } from './raid0.js';
import { raid1 } from './raid1.js';
import { raid5 } from './raid5.js';
import { raid6 } from './raid6.js';
import type { Discipline } from './discipline.js';

/** The discipline serving a level; a level without one yet is refused with a SoftraidError. */
export function disciplineFor(level: RaidLevel): Discipline {
  switch (level) {
    case 'raid0': return raid0;
    case 'raid1': return raid1;
    case 'raid5': return raid5;
    case 'concat': return concat;
    case 'raid6': return raid6;
    case 'crypto': throw new SoftraidError('CRYPTO is not supported yet');
    case 'raid1c': throw new SoftraidError('RAID 1C is not supported yet');
    default: return assertNever(level, 'unknown RAID level');
  }
}
