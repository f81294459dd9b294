// ifstated's entry point.
import { runIfstated } from '../main.js';

process.exitCode = await runIfstated(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
