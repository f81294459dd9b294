// usage() as OpenBSD's bioctl prints it (reference §2.1), with this port's
// long options on a third line.
export const usageText =
  'usage: bioctl [-hiqv] [-a alarm-function] [-b channel:target[.lun]]\n' +
  '\t[-H channel:target[.lun]] [-R chunk | channel:target[.lun]]\n' +
  '\t[-t patrol-function] [-u channel:target[.lun]] device\n' +
  '       bioctl [-dhiPqsv] [-C flag[,...]] [-c raidlevel] [-k keydisk]\n' +
  '\t[-l chunk[,...]] [-O device | channel:target[.lun]] [-p passfile]\n' +
  '\t[-R chunk | channel:target[.lun]] [-r rounds] device\n' +
  '       bioctl [--json] [--socket=path] [--strip-size=size] [--layout=layout] ...\n';
