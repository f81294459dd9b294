// bioctl(8): thin entry point; everything is in src/bioctl/run.ts.
import { runBioctl } from './run.js';

process.exitCode = await runBioctl(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
