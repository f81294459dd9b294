// usage() in OpenBSD's shape (reference §2.1), with what this port takes:
// -H and -R name the disk to add by its path (softraid has no channel:target
// for a disk not yet in a volume), -O a member by path or by the
// channel:target bioctl prints; this port's long options on a third line.
// docs/man/bioctl.8's synopsis says the same.
export const usageText =
  'usage: bioctl [-hiqv] [-a alarm-function] [-b channel:target[.lun]]\n' +
  '\t[-H chunk] [-R chunk] [-t patrol-function]\n' +
  '\t[-u channel:target[.lun]] device\n' +
  '       bioctl [-dhiPqsv] [-C flag[,...]] [-c raidlevel] [-k keydisk]\n' +
  '\t[-l chunk[,...]] [-O chunk | channel:target[.lun]] [-p passfile]\n' +
  '\t[-R chunk] [-r rounds] device\n' +
  '       bioctl [--json] [--socket=path] [--strip-size=size] [--layout=layout] ...\n';
