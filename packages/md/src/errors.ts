// The md controller's operating errors: a sysfs file it cannot make sense
// of (named), and a refusal or an mdadm failure (its exit status and stderr
// carried in the message). Each becomes a bio_status message in replyOf.
import { OperatingError } from '@openbsd38/libutil/errors.js';

export class MdError extends OperatingError {
  override name = 'MdError';
}

/** A sysfs attribute that exists but does not read as md.rst documents it. */
export class MdSysfsError extends MdError {
  override name = 'MdSysfsError';
  constructor(readonly file: string, readonly problem: string) {
    super(`${file}: ${problem}`);
  }
}
