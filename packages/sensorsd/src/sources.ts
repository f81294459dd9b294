// Where sensorsd's sensors come from: the machine's hwmon chips and thermal
// zones under the sysfs root (SOFTRAID_SYSFS_ROOT, default /sys), and every
// volume and member disk of softraidd's controller, asked over its control
// socket (SOFTRAID_SOCKET). softraidd not running is no error: its sensors
// are left out, and the caller is told why.
import { ControlClient, ControlConnectError } from '@openbsd38/bio/control/client.js';
import { ControlProtocolError } from '@openbsd38/bio/control/errors.js';
import { decodeInquiryView } from '@openbsd38/bio/control/messages.js';
import { bioSensors } from '@openbsd38/sensors/bio-sensors.js';
import { machineSensors } from '@openbsd38/sensors/hwmon.js';
import { sortSensors, type Sensor } from '@openbsd38/sensors/sensor.js';

export interface SensorSources {
  sysfsRoot: string;
  controlSocketPath: string;
}

export interface SensorReading {
  sensors: Sensor[];
  /** Why a source gave nothing (softraidd not reachable), one line each. */
  problems: string[];
}

async function controllerSensors(socketPath: string): Promise<Sensor[]> {
  const client = await ControlClient.connect(socketPath);
  try {
    const response = await client.request({ op: 'inquire' });
    if (response.bio_status.status !== 'success') {
      throw new ControlProtocolError(response.bio_status.messages.map((message) => message.text).join('; ') || 'inquiry failed');
    }
    return bioSensors(decodeInquiryView(response.result));
  } finally {
    client.close();
  }
}

export async function readSensors(sources: SensorSources): Promise<SensorReading> {
  const problems: string[] = [];
  const machine = await machineSensors(sources.sysfsRoot);
  let volumes: Sensor[] = [];
  try {
    volumes = await controllerSensors(sources.controlSocketPath);
  } catch (error) {
    if (!(error instanceof ControlConnectError) && !(error instanceof ControlProtocolError)) throw error;
    problems.push(`softraidd not reachable at ${sources.controlSocketPath} (${error instanceof ControlConnectError ? error.code : error.message}): its volumes are left out`);
  }
  return { sensors: sortSensors([...machine, ...volumes]), problems };
}
