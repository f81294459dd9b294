// bioctl(8): thin entry point; everything is in src/bioctl/run.ts.
import { runBioctl } from './run.js';
import { processPassphraseReader } from './passphrase.js';

process.exitCode = await runBioctl(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  passphrases: processPassphraseReader(),
  uid: process.getuid?.() ?? 0,
});
