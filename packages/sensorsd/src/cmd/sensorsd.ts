// sensorsd's entry point.
import { runSensorsd } from '../main.js';

process.exitCode = await runSensorsd(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
